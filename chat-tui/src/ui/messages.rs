//! The message pane, drawn from the bottom up: only the messages that show
//! are laid out ([`crate::layout::MessageRows`]), so a conversation of any
//! length costs the same per frame.

use ipc_schema::methods::{Direction, MessageState, MessageView};
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::app::keymap::Bound;
use crate::app::message_changes::{hints, is_mine};
use crate::app::{AppState, DaemonLink, Pane};
use crate::layout::{
    BodyKind, FilePart, INDENT, MessageRows, REACTION_GAP, TOMBSTONE, file_row, reaction_chip,
};
use crate::text::{drawable, truncate};

/// The delivery mark of an outgoing message.
pub fn tick(state: MessageState) -> &'static str {
    match state {
        MessageState::Queued => "◷",
        MessageState::Sent => "✓",
        MessageState::Delivered | MessageState::Read => "✓✓",
        MessageState::Failed => "✗ failed",
    }
}

/// The row quoting the message `m` answers, from the loaded ones:
/// `↪ bob: its first line…`, or `↪ earlier message` when it is not loaded.
fn reply_quote(state: &AppState, m: &MessageView, width: usize) -> String {
    let answered = m.reply_to.as_deref().and_then(|id| {
        let open = state.open.as_ref()?;
        open.messages.iter().rev().find(|q| q.id == id)
    });
    let Some(q) = answered else {
        return truncate("↪ earlier message", width);
    };
    let line = match (&q.body, q.deleted) {
        (_, true) => TOMBSTONE,
        (Some(body), false) => body.split('\n').next().unwrap_or_default(),
        (None, false) => "…",
    };
    truncate(&format!("↪ {}: {line}", q.from), width)
}

/// The rows of one message at `width` columns, styled: a header, then the
/// rows of [`MessageRows`]. `index` is its place among the loaded messages.
pub fn message_lines(
    state: &AppState,
    m: &MessageView,
    index: Option<usize>,
    width: usize,
) -> Vec<Line<'static>> {
    let t = &state.theme;
    let outgoing = m.direction == Direction::Out;
    if m.kind == "system" {
        // A group's history line ("alice added carol"): one dim row.
        let text = format!(
            "· {} {}",
            state.tz.civil(m.ts).hh_mm(),
            m.body.as_deref().unwrap_or_default()
        );
        return vec![Line::from(Span::styled(
            truncate(&text, width),
            t.dim.add_modifier(Modifier::ITALIC),
        ))];
    }
    let selected = index.is_some()
        && state
            .open
            .as_ref()
            .and_then(|o| o.selected.as_ref())
            .is_some_and(|k| k.names(m));
    let mut header = vec![
        Span::styled(
            truncate(&m.from, width.saturating_sub(12)),
            if outgoing { t.me } else { t.peer },
        ),
        Span::styled(format!(" {}", state.tz.civil(m.ts).hh_mm()), t.dim),
    ];
    if selected {
        header.insert(0, Span::raw("▶ "));
    }
    if m.edited && !m.deleted {
        header.push(Span::styled(" (edited)", t.dim));
    }
    if outgoing {
        let style = match m.state {
            MessageState::Read => t.read.add_modifier(Modifier::BOLD),
            MessageState::Failed => t.error,
            _ => t.dim,
        };
        header.push(Span::styled(format!(" {}", tick(m.state)), style));
        if let Some((have, of)) = m.delivered_of() {
            // Per member: "2/3" have it.
            header.push(Span::styled(format!(" {have}/{of}"), t.dim));
        }
    }
    let mut header = Line::from(header);
    if selected {
        header = header.style(t.selected);
    }
    let rows = MessageRows::new(m, width);
    let pad = " ".repeat(INDENT.min(width.saturating_sub(1)));
    let body_w = width.saturating_sub(INDENT).max(1);
    let body_style = match rows.kind {
        BodyKind::Text | BodyKind::File => Style::new(),
        BodyKind::Unsupported | BodyKind::Deleted => t.dim.add_modifier(Modifier::ITALIC),
    };
    let mut lines = Vec::with_capacity(rows.height());
    lines.push(header);
    if rows.reply {
        lines.push(Line::from(vec![
            Span::raw(pad.clone()),
            Span::styled(reply_quote(state, m, body_w), t.dim),
        ]));
    }
    match (&m.file, rows.kind) {
        // The same one row, in pieces: the state dim, a failure in red.
        (Some(f), BodyKind::File) => {
            let save = state.keys.key(Bound::SaveFile).to_string();
            let mut spans = vec![Span::raw(pad.clone())];
            for (text, part) in file_row(f, &save, body_w) {
                let style = match part {
                    FilePart::Name => Style::new(),
                    FilePart::Size | FilePart::Moving => t.dim,
                    FilePart::Failed => t.error,
                };
                spans.push(Span::styled(text, style));
            }
            lines.push(Line::from(spans));
        }
        _ => {
            for row in rows.body {
                lines.push(Line::from(vec![
                    Span::raw(pad.clone()),
                    Span::styled(row, body_style),
                ]));
            }
        }
    }
    if let Some(cut) = rows.cut {
        lines.push(Line::from(vec![
            Span::raw(pad.clone()),
            Span::styled(cut, t.dim.add_modifier(Modifier::ITALIC)),
        ]));
    }
    for row in rows.failure {
        lines.push(Line::from(vec![
            Span::raw(pad.clone()),
            Span::styled(row, t.error),
        ]));
    }
    for row in rows.reactions {
        let mut spans = vec![Span::raw(pad.clone())];
        for (n, i) in row.into_iter().enumerate() {
            let r = &m.reactions[i];
            if n > 0 {
                spans.push(Span::raw(" ".repeat(REACTION_GAP)));
            }
            let style = if is_mine(state, r) {
                t.highlight
            } else {
                Style::new()
            };
            spans.push(Span::styled(reaction_chip(r), style));
        }
        lines.push(Line::from(spans));
    }
    lines
}

/// Draws the message pane into `area`.
pub fn draw(frame: &mut Frame, state: &AppState, area: Rect) {
    let t = &state.theme;
    let border = if state.focus == Pane::Messages {
        t.border_focus
    } else {
        t.border
    };
    let mut block = Block::bordered().border_style(border);
    let Some(open) = &state.open else {
        let inner = block.inner(area);
        frame.render_widget(block, area);
        draw_placeholder(frame, state, inner);
        return;
    };
    let mut title = vec![Span::styled(
        format!(" {}", drawable(&state.peer_label(&open.peer))),
        Style::new().add_modifier(Modifier::BOLD),
    )];
    if let Some(g) = state.group_of(&open.peer) {
        let standing = match g.state {
            ipc_schema::methods::GroupState::Member => String::new(),
            other => format!(
                " · you {}",
                if other == ipc_schema::methods::GroupState::Left {
                    "left"
                } else {
                    "were removed"
                }
            ),
        };
        title.push(Span::styled(
            format!(" · {} members{standing}", g.members),
            t.dim,
        ));
    } else if state.is_verified(&open.peer) {
        title.push(Span::styled(" ✓ verified", t.verified));
    }
    title.push(Span::raw(" "));
    block = block.title(Line::from(title));
    if open.scroll > 0 {
        block = block.title_bottom(
            Line::from(format!(" ↓ {} more rows · G to jump ", open.scroll))
                .alignment(Alignment::Right),
        );
    }
    // Where the last search's hit is, then what the keys do to the
    // selected message, or, with none selected, the key that sends a file.
    let mut hint = String::new();
    if let Some(text) = hit_hint(state, &open.peer) {
        hint.push_str(&text);
    }
    if state.focus == Pane::Messages && open.selected.is_some() {
        for (key, what) in hints(state) {
            hint.push_str(&format!(" {key} {what} ·"));
        }
    } else if state.focus == Pane::Messages {
        hint.push_str(&format!(" {} attach ·", state.keys.key(Bound::AttachFile)));
    }
    if !hint.is_empty() {
        hint.push_str(" Esc ");
        block = block.title_bottom(Line::styled(hint, t.dim).alignment(Alignment::Left));
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let height = usize::from(inner.height);
    if width == 0 || height == 0 {
        return;
    }
    let mut rows: Vec<Line> = Vec::with_capacity(height);
    let mut skip = open.scroll;
    'outer: for (i, m) in open.messages.iter().enumerate().rev() {
        for line in message_lines(state, m, Some(i), width).into_iter().rev() {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            rows.push(line);
            if rows.len() == height {
                break 'outer;
            }
        }
    }
    if rows.len() < height && skip == 0 {
        let marker = if open.loading {
            "loading…".to_owned()
        } else if open.has_more {
            "PageUp: older messages".to_owned()
        } else {
            format!(
                "start of your conversation with {}",
                state.peer_label(&open.peer)
            )
        };
        rows.push(Line::styled(truncate(&marker, width), t.dim).alignment(Alignment::Center));
    }
    rows.reverse();
    let top = inner.y + (inner.height - rows.len() as u16);
    let area = Rect::new(inner.x, top, inner.width, rows.len() as u16);
    frame.render_widget(Paragraph::new(rows), area);
}

/// ` /words 2/20+ · n older · N newer ·` when the hit last jumped to is
/// in `peer`'s conversation and the search window is closed.
fn hit_hint(state: &AppState, peer: &str) -> Option<String> {
    let search = state.search.as_ref().filter(|_| state.overlay.is_none())?;
    let i = search.current?;
    if search.hits.get(i)?.peer != peer {
        return None;
    }
    let words = search.searched.as_ref()?.query.as_str();
    Some(format!(
        " /{} {}/{}{} · {} older · {} newer ·",
        drawable(words),
        i + 1,
        search.hits.len(),
        if search.has_more { "+" } else { "" },
        state.keys.key(Bound::SearchNext),
        state.keys.key(Bound::SearchPrev),
    ))
}

fn draw_placeholder(frame: &mut Frame, state: &AppState, inner: Rect) {
    let t = &state.theme;
    let lines = match &state.daemon {
        DaemonLink::Offline { reason } => vec![
            Line::styled("daemon offline — retrying", t.error),
            Line::raw(""),
            Line::styled(drawable(reason).into_owned(), t.dim),
            Line::raw(""),
            Line::raw("Start it with `chatd` (or `chatd --socket PATH`);"),
            Line::raw("this screen reconnects by itself every second."),
        ],
        DaemonLink::Connecting => vec![Line::styled(
            format!("connecting to {}…", state.socket),
            t.dim,
        )],
        DaemonLink::Online => vec![
            Line::raw("Select a conversation and press Enter."),
            Line::styled("? shows every key", t.dim),
        ],
    };
    let top = inner.height.saturating_sub(lines.len() as u16) / 2;
    let area = Rect::new(inner.x, inner.y + top, inner.width, inner.height - top);
    frame.render_widget(
        Paragraph::new(lines)
            .alignment(Alignment::Center)
            .wrap(ratatui::widgets::Wrap { trim: true }),
        area,
    );
}
