//! The contacts view: every pinned contact with its fingerprint in groups, a
//! verified mark, a changed key or a frozen one, what waits and what was
//! lost; the highlighted contact's changed key (or its two fingerprints,
//! frozen) in detail; and the add / verify / remove / accept / choose /
//! refuse prompts over it.
//!
//! Usernames and fingerprints are chatd's text, which peers and the relay
//! chose: every one goes through [`truncate`], [`wrap`], [`drawable`] or
//! [`fingerprint_rows`].

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Position, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use ipc_schema::methods::Contact;

use crate::app::key_change::waiting;
use crate::app::keymap::Bound;
use crate::app::{AppState, Composer, ContactPrompt, ContactsView};
use crate::text::{drawable, truncate, wrap};

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
    let key = |b: Bound| state.keys.key(b).to_string();
    let title = format!(
        " Contacts — {} add · {} verify · {} remove · Esc back ",
        key(Bound::ContactAdd),
        key(Bound::ContactVerify),
        key(Bound::ContactRemove)
    );
    let block = Block::bordered()
        .border_style(t.border_focus)
        .title(truncate(&title, usize::from(area.width.saturating_sub(2))));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let detail = state
        .contacts
        .get(view.selected)
        .map(|c| detail_lines(state, c, usize::from(inner.width)))
        .unwrap_or_default();
    // The list keeps at least one contact (a name and two rows) in sight.
    let detail_h = (detail.len() as u16).min(inner.height.saturating_sub(4));
    let [list_area, detail_area, footer] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(detail_h),
        Constraint::Length(1),
    ])
    .areas(inner);
    draw_list(frame, state, view, list_area);
    frame.render_widget(Paragraph::new(detail), detail_area);
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

/// The marks on a contact's row, left to right: a frozen or changed key,
/// what waits, what was lost, and whether the pinned key is verified.
fn marks<'a>(state: &AppState, c: &Contact, base: Style) -> Vec<Span<'a>> {
    let t = &state.theme;
    let mut marks = Vec::new();
    if c.frozen {
        marks.push(Span::styled(" FROZEN ", t.warning));
    } else if c.pending_fingerprint.is_some() {
        marks.push(Span::styled(" KEY CHANGED ", t.warning));
    }
    if c.quarantined > 0 {
        marks.push(Span::styled(
            format!("{} waiting", c.quarantined),
            base.patch(t.unread),
        ));
    }
    if c.dropped > 0 {
        marks.push(Span::styled(
            format!("{} dropped", c.dropped),
            base.patch(t.error),
        ));
    }
    marks.push(match (c.verified, c.rotated) {
        // The key a signed rotation moved to is not the one verified.
        (true, true) => Span::styled(
            "✓ verified, continued by signed rotation",
            base.patch(t.warning),
        ),
        (false, true) => Span::styled("continued by signed rotation", base.patch(t.warning)),
        (true, false) => Span::styled("✓ verified", base.patch(t.verified)),
        (false, false) => Span::styled("not verified", base.patch(t.dim)),
    });
    let mut spaced = Vec::new();
    for (i, m) in marks.into_iter().enumerate() {
        if i > 0 {
            spaced.push(Span::styled("  ", base));
        }
        spaced.push(m);
    }
    spaced
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
        let marks = marks(state, c, base);
        let marks_w: usize = marks.iter().map(|m| m.content.width()).sum();
        let name = truncate(&c.user, width.saturating_sub(marks_w + 3));
        let pad = width.saturating_sub(2 + name.width() + marks_w);
        let mut spans = vec![
            Span::styled(if i == view.selected { "▶ " } else { "  " }, base),
            Span::styled(name, base.add_modifier(Modifier::BOLD)),
            Span::styled(" ".repeat(pad), base),
        ];
        spans.extend(marks);
        lines.push(Line::from(spans).style(base));
        for row in fingerprint_rows(&c.fingerprint, fp_w) {
            lines.push(Line::from(vec![
                Span::raw("    "),
                Span::styled(row, t.dim),
            ]));
        }
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// A fingerprint's rows indented by 4, in `style`.
fn fingerprint_lines(fp: &str, width: usize, style: Style) -> Vec<Line<'static>> {
    fingerprint_rows(fp, width.saturating_sub(4))
        .into_iter()
        .map(|row| Line::from(vec![Span::raw("    "), Span::styled(row, style)]))
        .collect()
}

/// A fingerprint's rows indented by 2, bold: how a prompt shows the one it
/// asks about.
fn prompt_fingerprint(fp: &str, width: usize) -> Vec<Line<'static>> {
    fingerprint_rows(fp, width.saturating_sub(2))
        .into_iter()
        .map(|row| {
            Line::from(vec![
                Span::raw("  "),
                Span::styled(row, Style::new().add_modifier(Modifier::BOLD)),
            ])
        })
        .collect()
}

/// `text` wrapped to `width`, one line per row.
fn wrapped(text: &str, width: usize) -> Vec<Line<'static>> {
    wrap(text, width).into_iter().map(Line::raw).collect()
}

/// What the detail area says about a frozen contact: why, what is held,
/// its two fingerprints drawn alike (neither is known to be the right one),
/// and what to do.
fn frozen_lines(state: &AppState, c: &Contact, width: usize) -> Vec<Line<'static>> {
    let t = &state.theme;
    let key = |b: Bound| state.keys.key(b).to_string();
    let user = drawable(&c.user).into_owned();
    let held = match c.quarantined {
        0 => "nothing held yet".to_owned(),
        n => format!("{} held unopened", waiting(n)),
    };
    let both = Style::new().add_modifier(Modifier::BOLD);
    let mut lines = vec![
        Line::styled("─".repeat(width), t.dim),
        Line::from(vec![
            Span::styled(" FROZEN ", t.warning),
            Span::raw(truncate(
                &format!(" {user} — {held}"),
                width.saturating_sub(8),
            )),
        ]),
    ];
    lines.extend(wrapped(
        &format!(
            "Two different key rotations came from {user}'s previous key: someone else \
             may hold it. Nothing is sent to {user} or opened until you choose one."
        ),
        width,
    ));
    lines.push(Line::raw(
        "Choice 1 — the card rotated to first (pinned until you choose):",
    ));
    lines.extend(fingerprint_lines(&c.fingerprint, width, both));
    lines.push(Line::raw("Choice 2 — the other card:"));
    let second = c.pending_fingerprint.as_deref().unwrap_or("?");
    lines.extend(fingerprint_lines(second, width, both));
    lines.extend(wrapped(
        &format!(
            "Either may be whoever else holds the key: compare both with {user} out of \
             band (in person or on a call) and accept only the one {user} confirms."
        ),
        width,
    ));
    lines.push(Line::styled(
        truncate(
            &format!(
                "{} choose 1 or 2, then accept it · {} does nothing: refusing is no choice",
                key(Bound::ContactAcceptKey),
                key(Bound::ContactRefuseKey)
            ),
            width,
        ),
        t.unread,
    ));
    lines
}

/// What the detail area says about the highlighted contact: for a frozen
/// one, [`frozen_lines`]; for a changed key, both fingerprints and what to
/// do; else what waits or was lost. Nothing for a contact with none of
/// these.
fn detail_lines(state: &AppState, c: &Contact, width: usize) -> Vec<Line<'static>> {
    let t = &state.theme;
    let user = drawable(&c.user).into_owned();
    let mut lines = Vec::new();
    if c.frozen {
        lines = frozen_lines(state, c, width);
    } else if let Some(new) = &c.pending_fingerprint {
        let key = |b: Bound| state.keys.key(b).to_string();
        let held = match c.quarantined {
            0 => "their messages no longer verify".to_owned(),
            n => format!("{} held unopened", waiting(n)),
        };
        lines.push(Line::styled("─".repeat(width), t.dim));
        lines.push(Line::from(vec![
            Span::styled(" KEY CHANGED ", t.warning),
            Span::raw(truncate(
                &format!(" {user} — {held}"),
                width.saturating_sub(13),
            )),
        ]));
        lines.push(Line::raw("Pinned (old) fingerprint:"));
        lines.extend(fingerprint_lines(&c.fingerprint, width, t.dim));
        lines.push(Line::raw(
            "New fingerprint, from the relay's directory (not accepted):",
        ));
        let bold = Style::new().add_modifier(Modifier::BOLD);
        lines.extend(fingerprint_lines(new, width, bold));
        lines.extend(wrapped(
            &format!(
                "Compare the new fingerprint with {user} out of band (in person or on a call) \
                 before accepting it: whoever runs the relay could have put it there."
            ),
            width,
        ));
        lines.push(Line::styled(
            truncate(
                &format!(
                    "{} accept the new key · {} refuse it and keep the old one",
                    key(Bound::ContactAcceptKey),
                    key(Bound::ContactRefuseKey)
                ),
                width,
            ),
            t.unread,
        ));
    } else if c.quarantined > 0 {
        lines.push(Line::styled("─".repeat(width), t.dim));
        lines.extend(wrapped(
            &format!(
                "{} from {user} do not verify with the pinned key; \
                 chatd is looking its card up in the relay's directory.",
                waiting(c.quarantined)
            ),
            width,
        ));
    }
    if c.dropped > 0 {
        if lines.is_empty() {
            lines.push(Line::styled("─".repeat(width), t.dim));
        }
        lines.extend(wrapped(
            &format!(
                "{} from {user} dropped so far: signed by a key neither pinned nor \
                 accepted (forged, refused, expired, or over the quarantine's limits).",
                match c.dropped {
                    1 => "1 message".to_owned(),
                    n => format!("{n} messages"),
                }
            ),
            width,
        ));
    }
    lines
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
            lines.extend(prompt_fingerprint(pinned, inner_w));
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
        // Both alike, in the list's order: neither is known to be right.
        ContactPrompt::ChooseKey {
            user,
            first,
            second,
        } => {
            let user = drawable(user);
            lines.extend(wrapped(
                &format!(
                    "Two rotations came from one key of {user}: choose the fingerprint \
                     {user} confirmed to you out of band (in person or on a call)."
                ),
                inner_w,
            ));
            lines.push(Line::raw("1 — the card rotated to first:"));
            lines.extend(prompt_fingerprint(first, inner_w));
            lines.push(Line::raw("2 — the other card:"));
            lines.extend(prompt_fingerprint(second, inner_w));
            lines.push(Line::styled("1 or 2 choose · Esc not now", t.unread));
            " Choose a frozen contact's key "
        }
        // The fingerprint drawn is the prompt's own: the one `y` sends.
        ContactPrompt::AcceptKey {
            user,
            fingerprint,
            choice,
        } => {
            let waits = waiting_for(state, user);
            let user = drawable(user);
            lines.push(Line::raw(match choice {
                None => format!("New fingerprint of {user}:"),
                Some(c) => format!("Choice {} for {user}, frozen:", c.number()),
            }));
            lines.extend(prompt_fingerprint(fingerprint, inner_w));
            lines.extend(wrapped(
                &format!(
                    "Accept it only if {user} confirmed this fingerprint to you \
                     out of band (in person or on a call)."
                ),
                inner_w,
            ));
            let text = match (choice, waits) {
                (None, 0) => "The new key will be pinned, not verified.".to_owned(),
                (None, n) => format!(
                    "The new key will be pinned, not verified; {} will open.",
                    waiting(n)
                ),
                (Some(_), 0) => format!(
                    "This key will be pinned, not verified, and {user} no longer frozen; \
                     neither the other key nor the previous one will count any more."
                ),
                (Some(_), n) => format!(
                    "This key will be pinned, not verified, and {user} no longer frozen; \
                     neither the other key nor the previous one will count any more. \
                     Of {}, those this key signed will open, the rest are dropped.",
                    waiting(n)
                ),
            };
            lines.extend(wrapped(&text, inner_w));
            lines.push(Line::styled("y accept · n not now", t.unread));
            match choice {
                None => " Accept a changed key ",
                Some(_) => " Accept one of two keys ",
            }
        }
        ContactPrompt::RefuseKey { user } => {
            let waits = waiting(waiting_for(state, user));
            lines.extend(wrapped(
                &format!(
                    "Refuse {}'s new key: keep the old key; {waits} will be deleted.",
                    drawable(user)
                ),
                inner_w,
            ));
            lines.push(Line::styled("y refuse · n not now", t.unread));
            " Refuse a changed key "
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

/// How many of `user`'s messages wait in the quarantine.
fn waiting_for(state: &AppState, user: &str) -> u64 {
    state
        .contacts
        .iter()
        .find(|c| c.user == user)
        .map_or(0, |c| c.quarantined)
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
