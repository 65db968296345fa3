//! The conversation list: two rows per conversation, most recent first.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use unicode_width::UnicodeWidthStr;

use crate::app::{AppState, Pane};
use crate::text::{sanitize, truncate};

const ROWS_PER_ENTRY: u16 = 2;

/// The first entry shown, so that the selected one is visible.
fn offset(state: &AppState, inner_height: u16) -> usize {
    let visible = usize::from((inner_height / ROWS_PER_ENTRY).max(1));
    state.selected.saturating_sub(visible - 1)
}

/// The list entry under screen row `row`, if any.
pub fn entry_at(state: &AppState, area: Rect, row: u16) -> Option<usize> {
    let inner = Block::bordered().inner(area);
    if row < inner.y || row >= inner.bottom() {
        return None;
    }
    let i = offset(state, inner.height) + usize::from((row - inner.y) / ROWS_PER_ENTRY);
    (i < state.conversations.len()).then_some(i)
}

/// Draws the list into `area`.
pub fn draw(frame: &mut Frame, state: &AppState, area: Rect) {
    let t = &state.theme;
    let border = if state.focus == Pane::List {
        t.border_focus
    } else {
        t.border
    };
    let block = Block::bordered()
        .border_style(border)
        .title(" Conversations ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if state.conversations.is_empty() {
        let text = match state.daemon {
            crate::app::DaemonLink::Online => {
                "No conversations yet.\nAdd a contact with\nchat-ctl contact add"
            }
            _ => "",
        };
        frame.render_widget(Paragraph::new(text).style(t.dim), inner);
        return;
    }
    let width = usize::from(inner.width);
    let first = offset(state, inner.height);
    let visible = usize::from(inner.height / ROWS_PER_ENTRY);
    let mut lines = Vec::with_capacity(visible * 2);
    for (i, c) in state
        .conversations
        .iter()
        .enumerate()
        .skip(first)
        .take(visible)
    {
        let selected = i == state.selected;
        let base = if selected { t.selected } else { Style::new() };
        let time = c
            .last_ts
            .map(|ts| state.tz.short(ts, state.now_ms))
            .unwrap_or_default();
        let mark = if c.verified { " ✓" } else { "" };
        let name_w = width.saturating_sub(time.width() + mark.width() + 1);
        let name = truncate(&c.peer, name_w);
        let name_style = if c.unread > 0 {
            base.patch(t.unread)
        } else {
            base.patch(Style::new().add_modifier(ratatui::style::Modifier::BOLD))
        };
        let pad = width.saturating_sub(name.width() + mark.width() + time.width());
        lines.push(
            Line::from(vec![
                Span::styled(name, name_style),
                Span::styled(mark, base.patch(t.verified)),
                Span::styled(" ".repeat(pad), base),
                Span::styled(time, base.patch(t.dim)),
            ])
            .style(base),
        );
        let badge = if c.unread > 0 {
            format!(" {}", c.unread)
        } else {
            String::new()
        };
        let preview = match &c.last_message {
            Some(p) => sanitize(p).replace('\n', " "),
            None => "no messages yet".to_owned(),
        };
        let preview = truncate(&preview, width.saturating_sub(badge.width()));
        let pad = width.saturating_sub(preview.width() + badge.width());
        lines.push(
            Line::from(vec![
                Span::styled(preview, base.patch(t.dim)),
                Span::styled(" ".repeat(pad), base),
                Span::styled(badge, base.patch(t.unread)),
            ])
            .style(base),
        );
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
