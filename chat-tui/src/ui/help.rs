//! The help overlay (`?`): every key, from the same table the key map documents,
//! with the keys configured in `[keys]` filled in.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::app::AppState;
use crate::app::keys::{HELP, help_rows};
use crate::layout::help_max_scroll;

/// Draws the help window centred over `area`.
pub fn draw(frame: &mut Frame, state: &AppState, area: Rect) {
    let t = &state.theme;
    let rows = help_rows(&state.keys);
    let key_w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0) as u16;
    let lines: Vec<Line> = rows
        .into_iter()
        .skip(usize::from(state.help_scroll))
        .map(|(keys, what)| {
            if keys.is_empty() {
                Line::styled(what, Style::new().add_modifier(Modifier::BOLD))
            } else {
                Line::from(vec![
                    Span::styled(format!("  {keys:<w$}  ", w = key_w as usize), t.unread),
                    Span::raw(what),
                ])
            }
        })
        .collect();
    let width = (key_w + 48).min(area.width);
    let height = (HELP.len() as u16 + 2).min(area.height);
    let title = if help_max_scroll(area, HELP.len()) > 0 {
        " Keys — j/k scroll, Esc closes "
    } else {
        " Keys — Esc closes "
    };
    let [popup] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(popup);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().border_style(t.border_focus).title(title)),
        popup,
    );
}
