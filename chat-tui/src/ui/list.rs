//! The conversation list: two rows per conversation, most recent first.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use unicode_width::UnicodeWidthStr;

use crate::app::{AppState, Pane};
use crate::layout::{LIST_ROWS_PER_ENTRY, list_offset};
use crate::text::{list_time, truncate};

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
    let first = list_offset(state.selected, inner.height);
    let visible = usize::from(inner.height / LIST_ROWS_PER_ENTRY);
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
            .map(|ts| list_time(state.tz, ts, state.now_ms))
            .unwrap_or_default();
        let group = state.group_of(&c.peer);
        let mark = match group {
            Some(g) if g.state != ipc_schema::methods::GroupState::Member => " (left)",
            Some(_) => "",
            None if c.verified => " ✓",
            None => "",
        };
        let name_w = width.saturating_sub(time.width() + mark.width() + 1);
        let name = truncate(&state.peer_label(&c.peer), name_w);
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
            // A first line already (app::lists::preview).
            Some(p) => p.clone(),
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
