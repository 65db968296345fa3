//! A question about the selected message, over the bottom of the message
//! pane: delete it for everyone (y/n), which emoji to react with, where to
//! save a file, or whether to open a risky one (y/N); or the path of a
//! file to send. The quote, the emoji and the names are peers' text: each
//! goes through [`truncate`] or [`wrap`].

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use unicode_width::UnicodeWidthStr;

use crate::app::message_changes::{QUICK, is_mine};
use crate::app::{AppState, ComposeMode, MessageKey, MessagePrompt};
use crate::layout::{FilePart, file_row};
use crate::text::{drawable, truncate, wrap};

/// Draws `prompt` over the bottom of the message pane `area`.
pub fn draw(frame: &mut Frame, state: &AppState, prompt: &MessagePrompt, area: Rect) {
    let t = &state.theme;
    let width = usize::from(area.width.saturating_sub(4));
    let (title, lines) = match prompt {
        MessagePrompt::Delete { quote, .. } => (
            " Delete for everyone? ",
            vec![
                Line::raw(truncate(&format!("“{quote}”"), width)),
                Line::styled(
                    truncate("y deletes it for everyone · n or Esc keeps it", width),
                    t.dim,
                ),
            ],
        ),
        MessagePrompt::React { key, input, error } => (
            " React ",
            react_lines(state, key, input.text.as_str(), error.as_deref(), width),
        ),
        MessagePrompt::SaveFile { key, input, error } => {
            let (path, _) = window(&input.text, input.cursor, width.saturating_sub(2));
            let note = match error {
                Some(e) => Line::styled(truncate(e, width), t.error),
                None => Line::styled(
                    truncate("Enter saves (never over a file) · Esc cancels", width),
                    t.dim,
                ),
            };
            (
                " Save file ",
                vec![
                    file_line(state, key, width),
                    Line::from(vec![Span::styled("> ", t.unread), Span::raw(path)]),
                    note,
                ],
            )
        }
        MessagePrompt::SendFile { input, error } => {
            let (path, _) = window(&input.text, input.cursor, width.saturating_sub(2));
            let note = match error {
                Some(e) => Line::styled(truncate(e, width), t.error),
                None => Line::styled(
                    truncate("Enter sends it · ~/ is your home · Esc cancels", width),
                    t.dim,
                ),
            };
            (
                " Send file ",
                vec![
                    recipient_line(state, width),
                    Line::from(vec![Span::styled("> ", t.unread), Span::raw(path)]),
                    note,
                ],
            )
        }
        MessagePrompt::OpenRisky {
            name, media_type, ..
        } => {
            let question = format!(
                "\"{name}\" is {media_type} — an unknown or executable type. Open it anyway? y/N"
            );
            let mut lines: Vec<Line> = wrap(&question, width).into_iter().map(Line::raw).collect();
            lines.push(Line::styled(
                truncate("y opens it · any other key does not", width),
                t.dim,
            ));
            (" Open? ", lines)
        }
    };
    let height = (lines.len() as u16 + 2).min(area.height);
    let popup = Rect {
        x: area.x + 1,
        y: area.bottom().saturating_sub(height + 1).max(area.y),
        width: area.width.saturating_sub(2),
        height,
    };
    frame.render_widget(Clear, popup);
    let block = Block::bordered().border_style(t.border_focus).title(title);
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    frame.render_widget(Paragraph::new(lines), inner);
    // The typed emoji's row is the third; a tiny pane may not show it.
    if let MessagePrompt::React { input, .. } = prompt
        && inner.height > 2
    {
        let before = input.text[..input.cursor].width();
        let room = usize::from(inner.width.saturating_sub(3));
        frame.set_cursor_position(Position::new(
            inner.x + 2 + before.min(room) as u16,
            inner.y + 2,
        ));
    }
    // The path's row is the second.
    if let MessagePrompt::SaveFile { input, .. } | MessagePrompt::SendFile { input, .. } = prompt
        && inner.height > 1
    {
        let (_, at) = window(&input.text, input.cursor, width.saturating_sub(2));
        frame.set_cursor_position(Position::new(inner.x + 2 + at as u16, inner.y + 1));
    }
}

/// What of a one-line `text` shows in `room` columns so that the cursor
/// (a byte index) is in sight, and the cursor's column in it: the start,
/// or `…` and the part before the cursor when that is too wide.
fn window(text: &str, cursor: usize, room: usize) -> (String, usize) {
    let cursor = cursor.min(text.len());
    // Made drawable in two halves, so the cursor stays between them.
    let head = drawable(&text[..cursor]);
    let text = format!("{head}{}", drawable(&text[cursor..]));
    let cursor = head.len();
    let before = head.width();
    if before < room {
        return (truncate(&text, room), before);
    }
    // Drop characters from the start until what is left before the
    // cursor fits after the `…`.
    let mut start = 0;
    let mut width = before;
    for (i, c) in text[..cursor].char_indices() {
        if width + 1 < room {
            break;
        }
        width -= c.to_string().width();
        start = i + c.len_utf8();
    }
    let shown = truncate(&format!("…{}", &text[start..]), room);
    (shown, (width + 1).min(room.saturating_sub(1)))
}

/// The file of the message `key` names, as its row shows it.
fn file_line(state: &AppState, key: &MessageKey, width: usize) -> Line<'static> {
    let file = state
        .open
        .as_ref()
        .and_then(|o| o.messages.iter().rev().find(|m| key.names(m)))
        .and_then(|m| m.file.as_ref());
    let Some(file) = file else {
        return Line::raw("");
    };
    // Its name and size; where it is does not matter here.
    let row: String = file_row(file, "", width)
        .into_iter()
        .filter(|(_, part)| matches!(part, FilePart::Name | FilePart::Size))
        .map(|(text, _)| text)
        .collect();
    Line::raw(row)
}

/// Whom a file goes to: the open conversation, and the message it
/// answers when the composer is replying.
fn recipient_line(state: &AppState, width: usize) -> Line<'static> {
    let Some(open) = &state.open else {
        return Line::raw("");
    };
    let to = state.peer_label(&open.peer);
    let text = match state.compose_mode() {
        Some(ComposeMode::Reply {
            to: answered,
            quote,
        }) => {
            format!("to {to}, replying to {}: {quote}", answered.from)
        }
        _ => format!("to {to}"),
    };
    Line::raw(truncate(&text, width))
}

/// The message, the quick choices, the emoji being typed, and this user's
/// reaction now.
fn react_lines(
    state: &AppState,
    key: &MessageKey,
    typed: &str,
    error: Option<&str>,
    width: usize,
) -> Vec<Line<'static>> {
    let t = &state.theme;
    let message = state
        .open
        .as_ref()
        .and_then(|o| o.messages.iter().rev().find(|m| key.names(m)));
    let quote = message.and_then(|m| m.body.as_deref()).unwrap_or_default();
    let quote = quote.split('\n').next().unwrap_or_default();
    let mut quick = Vec::new();
    for (i, emoji) in QUICK.iter().enumerate() {
        if i > 0 {
            quick.push(Span::raw("  "));
        }
        quick.push(Span::styled(format!("{}", i + 1), t.unread));
        quick.push(Span::raw(format!(" {emoji}")));
    }
    let mut lines = vec![
        Line::raw(truncate(&format!("{}: {quote}", key.from), width)),
        Line::from(quick),
        Line::from(vec![
            Span::styled("> ", t.unread),
            Span::raw(truncate(typed, width.saturating_sub(2))),
        ]),
    ];
    let mine = message.and_then(|m| m.reactions.iter().find(|r| is_mine(state, r)));
    let note = match (error, mine) {
        (Some(e), _) => Line::styled(truncate(e, width), t.error),
        (None, Some(r)) => Line::styled(
            truncate(
                &format!("yours is {}; choosing it again takes it back", r.emoji),
                width,
            ),
            t.dim,
        ),
        (None, None) => Line::styled(
            truncate("a number, or type an emoji and Enter · Esc", width),
            t.dim,
        ),
    };
    lines.push(note);
    lines
}
