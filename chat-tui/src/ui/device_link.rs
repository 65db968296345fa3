//! A one-time link code for a new machine, in the devices view: the code
//! spaced out to read aloud or type, a QR code of it, when it expires, what
//! the link carries, and the command to run on the new machine.
//!
//! The QR code is made here, at each draw, from the [`Secret`] the view
//! holds, so that no second copy of the code outlives the view.
//!
//! [`Secret`]: ipc_schema::Secret

use ipc_schema::methods::DeviceLinkResult;
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

use crate::app::AppState;
use crate::qr::Qr;
use crate::text::{drawable, wrap};

/// Columns between the QR code and the text beside it.
const GAP: u16 = 2;
/// Fewest columns the text beside the QR code needs.
const TEXT_MIN: u16 = 40;

/// Draws the link over `area`: the QR code on the left and the text on its
/// right when both fit, else the text over the QR code, else the text alone.
pub fn draw(frame: &mut Frame, state: &AppState, link: &DeviceLinkResult, area: Rect) {
    let t = &state.theme;
    let qr = Qr::encode(link.code.expose().as_bytes());
    let (qr_w, qr_h) = qr.as_ref().map_or((0, 0), |q| q.size());
    let (qr_w, qr_h) = (qr_w as u16, qr_h as u16);
    let beside = qr.is_ok() && area.width >= qr_w + GAP + TEXT_MIN && area.height >= qr_h;
    let text_area = if beside {
        Rect {
            x: area.x + qr_w + GAP,
            width: area.width - qr_w - GAP,
            ..area
        }
    } else {
        area
    };
    let (mut lines, note_at) = text(state, link, usize::from(text_area.width));
    let below = !beside && qr.is_ok() && area.height >= lines.len() as u16 + 1 + qr_h;
    // Under the code, where even a short terminal shows it.
    let note = match &qr {
        Ok(_) if beside || below => None,
        Ok(_) => Some((
            format!("(a QR code of it needs {qr_w}×{qr_h}: enlarge the terminal)"),
            t.dim,
        )),
        Err(e) => Some((e.clone(), t.error)),
    };
    if let Some((note, style)) = note {
        let rows = wrap(&note, usize::from(text_area.width));
        let rows = rows.into_iter().map(|r| Line::styled(r, style));
        lines.splice(note_at..note_at, rows);
    }
    let text_h = lines.len() as u16;
    frame.render_widget(Paragraph::new(lines), text_area);
    let Ok(qr) = qr else { return };
    let qr_area = if beside {
        Rect {
            width: qr_w,
            height: qr_h,
            ..area
        }
    } else if below {
        Rect {
            y: area.y + text_h + 1,
            height: qr_h,
            ..area
        }
    } else {
        return;
    };
    let qr_lines: Vec<Line> = qr.lines().into_iter().map(Line::raw).collect();
    frame.render_widget(
        Paragraph::new(qr_lines).alignment(if beside {
            Alignment::Left
        } else {
            Alignment::Center
        }),
        qr_area,
    );
}

/// The lines beside the QR code, `width` columns wide, and where a note
/// about the QR code goes (right under the code).
fn text(state: &AppState, link: &DeviceLinkResult, width: usize) -> (Vec<Line<'static>>, usize) {
    let t = &state.theme;
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let code = drawable(link.code.expose());
    let mut lines = vec![
        Line::styled("One-time code for a new machine:", bold),
        Line::default(),
    ];
    for row in spaced(&code, width) {
        lines.push(Line::styled(format!("  {row}"), bold));
    }
    let note_at = lines.len();
    lines.push(Line::default());
    let left_ms = link.expires_at.saturating_sub(state.now_ms);
    let until = state.tz.civil(link.expires_at).hh_mm();
    let mut para = |text: &str, style: Style| {
        lines.extend(
            wrap(text, width)
                .into_iter()
                .map(|r| Line::styled(r, style)),
        );
    };
    para(
        &format!(
            "single use, valid until {until} ({} min left)",
            left_ms.div_ceil(60_000)
        ),
        Style::new(),
    );
    para(&carries(link), t.dim);
    para("", Style::new());
    para("On the new machine, run:", Style::new());
    let mut command = format!("chat-ctl device join {code}");
    for relay in &state.status.relay_urls {
        command.push_str(&format!(" --relay {relay}"));
    }
    if let Some(user) = &state.status.user {
        command.push_str(&format!(" --user {user}"));
    }
    para(&command, t.unread);
    para("", Style::new());
    para(
        "With this code and the password, anyone can add a device to the account: \
         keep it to yourself.",
        t.dim,
    );
    (lines, note_at)
}

/// The code in rows of letter-spaced groups, to read aloud or type: as many
/// groups a row as fit in `width` (4, 2 or 1); a code of another shape as it is.
fn spaced(code: &str, width: usize) -> Vec<String> {
    let groups: Vec<String> = code
        .split('-')
        .map(|g| g.chars().map(String::from).collect::<Vec<_>>().join(" "))
        .collect();
    let group_w = groups.iter().map(|g| g.width()).max().unwrap_or(0);
    if groups.len() < 2 {
        return vec![code.to_owned()];
    }
    let per_row = [4, 2, 1]
        .into_iter()
        .find(|n| 2 + n * group_w + (n - 1) * 3 <= width)
        .unwrap_or(1);
    groups.chunks(per_row).map(|c| c.join("   ")).collect()
}

/// What the link carries, in words.
fn carries(link: &DeviceLinkResult) -> String {
    let n = |count: u64, what: &str| {
        let s = if count == 1 { "" } else { "s" };
        format!("{count} {what}{s}")
    };
    let mut text = format!(
        "It carries the keys, {} and {}",
        n(link.contacts.into(), "contact"),
        n(link.groups.into(), "group")
    );
    if link.messages > 0 || link.messages_left > 0 {
        text.push_str(&format!(", with {}", n(link.messages.into(), "message")));
        if link.messages_left > 0 {
            text.push_str(&format!(
                " ({} did not fit)",
                n(link.messages_left, "older message")
            ));
        }
    }
    text.push('.');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_is_spaced_in_rows_of_whole_groups() {
        let code = "HW1D-847K-J0Z4-835V-DMMK-J05C-7J4D-MZG0";
        assert_eq!(
            spaced(code, 80),
            vec![
                "H W 1 D   8 4 7 K   J 0 Z 4   8 3 5 V",
                "D M M K   J 0 5 C   7 J 4 D   M Z G 0"
            ]
        );
        assert_eq!(spaced(code, 30).len(), 4);
        assert_eq!(spaced(code, 10).len(), 8);
        assert_eq!(spaced("ODD", 80), vec!["ODD"]);
    }
}
