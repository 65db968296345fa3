//! The contacts view: every pinned contact with its fingerprint in groups and
//! a verified mark, and the add / verify / remove prompts over it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Position, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use crate::app::{AppState, Composer, ContactPrompt, ContactsView};
use crate::text::{drawable, truncate};

/// A fingerprint in rows of whole groups, as many groups per row as fit in
/// `width` (16, 8 or 4); anything that is not a fingerprint, as it is.
pub fn fingerprint_rows(fp: &str, width: usize) -> Vec<String> {
    let Some(grouped) = ipc_schema::fingerprint::normalize(fp) else {
        return vec![drawable(fp).into_owned()];
    };
    let groups: Vec<&str> = grouped.split(' ').collect();
    let per_row = [16, 8, 4]
        .into_iter()
        .find(|n| n * 5 - 1 <= width)
        .unwrap_or(4);
    groups.chunks(per_row).map(|c| c.join(" ")).collect()
}

/// Draws the view over `area` (everything but the status bar).
pub fn draw(frame: &mut Frame, state: &AppState, view: &ContactsView, area: Rect) {
    let t = &state.theme;
    frame.render_widget(Clear, area);
    let block = Block::bordered()
        .border_style(t.border_focus)
        .title(" Contacts — a add · v verify · d remove · Esc back ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [list_area, footer] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    draw_list(frame, state, view, list_area);
    if let Some(msg) = view.message.as_ref().filter(|_| view.prompt.is_none()) {
        let (text, style) = match msg {
            Ok(m) => (m.as_str(), t.verified),
            Err(e) => (e.as_str(), t.error),
        };
        frame.render_widget(
            Paragraph::new(truncate(text, usize::from(footer.width))).style(style),
            footer,
        );
    } else if view.busy {
        frame.render_widget(Paragraph::new("asking chatd…").style(t.dim), footer);
    }
    if let Some(prompt) = &view.prompt {
        draw_prompt(frame, state, view, prompt, inner);
    }
}

fn draw_list(frame: &mut Frame, state: &AppState, view: &ContactsView, area: Rect) {
    let t = &state.theme;
    if state.contacts.is_empty() {
        frame.render_widget(
            Paragraph::new(
                "No contacts yet. Press a to add one from a card file or the directory.",
            )
            .style(t.dim)
            .wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let width = usize::from(area.width);
    // Fingerprint rows under a name row, indented by 4.
    let fp_w = width.saturating_sub(4);
    let per = 1 + fingerprint_rows(&state.contacts[0].fingerprint, fp_w).len();
    let visible = (usize::from(area.height) / per).max(1);
    let first = view.selected.saturating_sub(visible - 1);
    let mut lines = Vec::new();
    for (i, c) in state.contacts.iter().enumerate().skip(first).take(visible) {
        let base = if i == view.selected {
            t.selected
        } else {
            Style::new()
        };
        let (mark, mark_style) = if c.verified {
            ("✓ verified", t.verified)
        } else {
            ("not verified", t.dim)
        };
        let name = truncate(&c.user, width.saturating_sub(mark.width() + 3));
        let pad = width.saturating_sub(2 + name.width() + mark.width());
        lines.push(
            Line::from(vec![
                Span::styled(if i == view.selected { "▶ " } else { "  " }, base),
                Span::styled(name, base.add_modifier(Modifier::BOLD)),
                Span::styled(" ".repeat(pad), base),
                Span::styled(mark, base.patch(mark_style)),
            ])
            .style(base),
        );
        for row in fingerprint_rows(&c.fingerprint, fp_w) {
            lines.push(Line::from(vec![
                Span::raw("    "),
                Span::styled(row, t.dim),
            ]));
        }
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn draw_prompt(
    frame: &mut Frame,
    state: &AppState,
    view: &ContactsView,
    prompt: &ContactPrompt,
    area: Rect,
) {
    let t = &state.theme;
    let width = area.width.min(84);
    let inner_w = usize::from(width.saturating_sub(2));
    let mut lines: Vec<Line> = Vec::new();
    let mut input: Option<&Composer> = None;
    let title = match prompt {
        ContactPrompt::Add(c) => {
            lines.push(Line::raw("A card file path (e.g. ~/bob.card), or"));
            lines.push(Line::raw(
                "USER FINGERPRINT to fetch from the relay directory:",
            ));
            input = Some(c);
            " Add a contact "
        }
        ContactPrompt::Verify { user, input: c } => {
            let pinned = state
                .contacts
                .iter()
                .find(|x| &x.user == user)
                .map(|x| x.fingerprint.as_str())
                .unwrap_or("");
            lines.push(Line::raw(format!(
                "Pinned fingerprint of {}:",
                drawable(user)
            )));
            for row in fingerprint_rows(pinned, inner_w.saturating_sub(2)) {
                lines.push(Line::from(vec![
                    Span::raw("  "),
                    Span::styled(row, Style::new().add_modifier(Modifier::BOLD)),
                ]));
            }
            lines.push(Line::raw(
                "Type or paste the one they gave you out of band; Enter compares:",
            ));
            input = Some(c);
            " Verify "
        }
        ContactPrompt::Remove { user } => {
            lines.push(Line::raw(format!(
                "Remove {}? The history is kept.",
                drawable(user)
            )));
            lines.push(Line::styled("y remove · n keep", t.unread));
            " Remove contact "
        }
    };
    let extra = u16::from(input.is_some()) + u16::from(view.message.is_some());
    let height = (lines.len() as u16 + extra + 2).min(area.height);
    let [popup] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(popup);
    frame.render_widget(Clear, popup);
    let block = Block::bordered().border_style(t.border_focus).title(title);
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let mut cursor = None;
    if let Some(c) = input {
        let row = inner.y + lines.len() as u16;
        let prefix = "> ";
        let before = c.text[..c.cursor].width();
        let avail = inner_w.saturating_sub(prefix.len() + 1);
        // Scroll the line so the cursor shows.
        let skip = before.saturating_sub(avail);
        let shown: String = skip_cols(&c.text, skip);
        lines.push(Line::from(vec![
            Span::styled(prefix, t.unread),
            Span::raw(truncate(&shown, avail + 1)),
        ]));
        cursor = Some(Position::new(
            inner.x + (prefix.len() + before - skip) as u16,
            row,
        ));
    }
    if let Some(msg) = &view.message {
        let (text, style) = match msg {
            Ok(m) => (m.clone(), t.verified),
            Err(e) => (e.clone(), t.error),
        };
        lines.push(Line::styled(truncate(&text, inner_w), style));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    if let Some(pos) = cursor.filter(|p| p.y < inner.bottom()) {
        frame.set_cursor_position(pos);
    }
}

/// `text` without its first `cols` columns.
pub(crate) fn skip_cols(text: &str, cols: usize) -> String {
    let mut w = 0;
    text.chars()
        .skip_while(|c| {
            let skip = w < cols;
            w += unicode_width::UnicodeWidthChar::width(*c).unwrap_or(0);
            skip
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_wrap_by_whole_groups() {
        let fp = "c7e1 0d59 a8f3 6b2e 94c0 1f7a 3e85 d26b 5a09 e7c4 82f1 4d3b b06e 19a7 f5c2 6e80";
        assert_eq!(fingerprint_rows(fp, 80), vec![fp.to_owned()]);
        assert_eq!(fingerprint_rows(&fp.replace(' ', ""), 50).len(), 2);
        assert_eq!(fingerprint_rows(fp, 20).len(), 4);
        assert_eq!(fingerprint_rows("odd", 20), vec!["odd".to_owned()]);
    }
}
