//! The fuzzy conversation picker window.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use unicode_width::UnicodeWidthStr;

use crate::app::picker::matches;
use crate::app::{AppState, Picker};
use crate::text::truncate;

/// Draws the picker centred in the upper part of `area`.
pub fn draw(frame: &mut Frame, state: &AppState, picker: &Picker, area: Rect) {
    let t = &state.theme;
    let hits = matches(state, &picker.query.text);
    let width = area.width.min(60);
    let rows = (area.height.saturating_sub(4) / 2).clamp(1, 12);
    let height = (rows + 3).min(area.height);
    let [popup] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(area);
    let popup = Rect {
        y: area.y + (area.height.saturating_sub(height)) / 4,
        height,
        ..popup
    };
    frame.render_widget(Clear, popup);
    let block = Block::bordered()
        .border_style(t.border_focus)
        .title(format!(
            " Go to — {} of {} ",
            hits.len(),
            state.conversations.len()
        ));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let w = usize::from(inner.width);
    let query = truncate(&picker.query.text, w.saturating_sub(3));
    let mut lines = vec![Line::from(vec![
        Span::styled("> ", t.unread),
        Span::raw(query.clone()),
    ])];
    let shown = usize::from(inner.height.saturating_sub(1));
    let first = picker.selected.saturating_sub(shown.saturating_sub(1));
    for (n, &i) in hits.iter().enumerate().skip(first).take(shown) {
        let c = &state.conversations[i];
        let base = if n == picker.selected {
            t.selected
        } else {
            Style::new()
        };
        let mark = if c.verified { " ✓" } else { "" };
        let badge = if c.unread > 0 {
            format!(" {}", c.unread)
        } else {
            String::new()
        };
        let name = truncate(
            &state.peer_label(&c.peer),
            w.saturating_sub(2 + mark.width() + badge.width()),
        );
        let pad = w.saturating_sub(2 + name.width() + mark.width() + badge.width());
        lines.push(
            Line::from(vec![
                Span::styled(if n == picker.selected { "▶ " } else { "  " }, base),
                Span::styled(name, base),
                Span::styled(mark, base.patch(t.verified)),
                Span::styled(" ".repeat(pad), base),
                Span::styled(badge, base.patch(t.unread)),
            ])
            .style(base),
        );
    }
    if let Some((name, members)) = crate::app::picker::create_request(&picker.query.text) {
        lines.push(Line::styled(
            truncate(
                &format!("  Enter creates #{name} with {}", members.join(", ")),
                w,
            ),
            t.unread,
        ));
    } else if hits.is_empty() {
        lines.push(Line::styled(
            "  no match · +NAME USER… creates a group",
            t.dim,
        ));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    let before = picker.query.text[..picker.query.cursor].width();
    frame.set_cursor_position(Position::new(
        inner.x + 2 + before.min(w.saturating_sub(3)) as u16,
        inner.y,
    ));
}
