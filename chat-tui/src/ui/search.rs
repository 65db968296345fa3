//! The search window over the panes: the words being typed, then one row
//! per hit (conversation, time, sender, the snippet with the words found
//! marked). Names and snippets are peers' text: each piece goes through
//! [`drawable`] or [`truncate`], and the marks are placed only where
//! chatd's offsets fall on the snippet's characters.

use ratatui::Frame;
use ratatui::layout::{Alignment, Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use unicode_width::UnicodeWidthStr;

use ipc_schema::methods::{Direction, SearchHit};

use crate::app::search::segments;
use crate::app::{AppState, Search};
use crate::text::{drawable, list_time, truncate};

/// Columns of the conversation's name in a hit's row.
const NAME_W: usize = 12;
/// Columns of the sender's name in a hit's row.
const SENDER_W: usize = 10;

/// Draws `search` over `area` (the panes, above the status bar).
pub fn draw(frame: &mut Frame, state: &AppState, search: &Search, area: Rect) {
    let t = &state.theme;
    frame.render_widget(Clear, area);
    let title = match &search.scope {
        Some(peer) => format!(" Search {} ", state.peer_label(peer)),
        None => " Search all conversations ".to_owned(),
    };
    let count = match (search.hits.len(), search.has_more) {
        _ if search.loading && search.hits.is_empty() => " searching… ".to_owned(),
        _ if search.searched.is_none() => String::new(),
        (1, false) => " 1 hit ".to_owned(),
        (n, false) => format!(" {n} hits "),
        (n, true) => format!(" {n}+ hits "),
    };
    let block = Block::bordered()
        .border_style(t.border_focus)
        .title(truncate(&title, usize::from(area.width.saturating_sub(14))))
        .title(Line::from(count).alignment(Alignment::Right));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let w = usize::from(inner.width);
    if w == 0 || inner.height == 0 {
        return;
    }
    let mut lines = vec![
        Line::from(vec![
            Span::styled("> ", t.unread),
            Span::raw(truncate(&search.input.text, w.saturating_sub(3))),
        ]),
        Line::styled(truncate(&hint(state, search), w), t.dim),
    ];
    let shown = usize::from(inner.height.saturating_sub(2));
    let first = search.selected.saturating_sub(shown.saturating_sub(1));
    for (i, hit) in search.hits.iter().enumerate().skip(first).take(shown) {
        lines.push(hit_line(state, hit, i == search.selected, w));
    }
    let note = if search.loading && search.hits.is_empty() {
        Some("searching…")
    } else if search.loading {
        Some("loading older hits…")
    } else if search.searched.is_some() && search.hits.is_empty() {
        Some("no message has all of these words")
    } else if search.searched.is_none() {
        Some("type words and press Enter: chatd searches the whole history")
    } else {
        None
    };
    if let Some(note) = note.filter(|_| lines.len() < usize::from(inner.height)) {
        lines.push(Line::styled(truncate(note, w), t.dim));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    let before = search.input.text[..search.input.cursor].width();
    frame.set_cursor_position(Position::new(
        inner.x + 2 + before.min(w.saturating_sub(3)) as u16,
        inner.y,
    ));
}

/// The keys that mean something now.
fn hint(state: &AppState, search: &Search) -> String {
    let searched = search.searched.as_ref().is_some_and(|q| {
        q.query == search.input.text.trim() && q.peer == search.scope && !search.hits.is_empty()
    });
    let mut hint = if searched {
        "Enter opens the hit · ↑ ↓ select".to_owned()
    } else {
        "Enter searches".to_owned()
    };
    match (&search.scope, &state.open) {
        (Some(_), _) => hint.push_str(" · Tab: all conversations"),
        (None, Some(open)) => {
            hint.push_str(&format!(" · Tab: only {}", state.peer_label(&open.peer)));
        }
        (None, None) => {}
    }
    hint.push_str(" · Esc closes");
    hint
}

/// One hit's row: `▶ name  time sender: snippet`, the snippet's words
/// found marked.
fn hit_line(state: &AppState, hit: &SearchHit, selected: bool, width: usize) -> Line<'static> {
    let t = &state.theme;
    let base = if selected { t.selected } else { Style::new() };
    let m = &hit.message;
    let name = truncate(&state.peer_label(&hit.peer), NAME_W);
    let time = list_time(state.tz, m.ts, state.now_ms);
    let sender = truncate(&m.from, SENDER_W);
    let mut spans = vec![
        Span::styled(if selected { "▶ " } else { "  " }, base),
        Span::styled(
            format!("{name}{} ", " ".repeat(NAME_W.saturating_sub(name.width()))),
            base.patch(t.unread),
        ),
        Span::styled(format!("{time:>5} "), base.patch(t.dim)),
        Span::styled(
            sender,
            base.patch(if m.direction == Direction::Out {
                t.me
            } else {
                t.peer
            }),
        ),
        Span::styled(": ", base),
    ];
    let used: usize = spans.iter().map(|s| s.content.width()).sum();
    let mut room = width.saturating_sub(used);
    for (piece, found) in segments(&hit.snippet, &hit.highlights) {
        let text = drawable(piece).replace('\n', " ");
        let style = if found { base.patch(t.highlight) } else { base };
        if text.width() > room {
            spans.push(Span::styled(truncate(&text, room), style));
            break;
        }
        room -= text.width();
        spans.push(Span::styled(text, style));
    }
    Line::from(spans).style(base)
}
