//! The composer at the bottom, laid out by [`crate::layout::composer_rows`].

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};

use crate::app::{AppState, Pane};
use crate::layout::composer_rows;

/// Draws the composer into `area` and places the terminal cursor when it has the keyboard.
pub fn draw(frame: &mut Frame, state: &AppState, area: Rect) {
    let t = &state.theme;
    let focused = state.focus == Pane::Composer && state.overlay.is_none();
    let border = if focused { t.border_focus } else { t.border };
    let title = match &state.open {
        Some(o) => format!(
            " Message {} ",
            crate::text::drawable(&state.peer_label(&o.peer))
        ),
        None => " Message ".to_owned(),
    };
    let block = Block::bordered().border_style(border).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(composer) = state.composer() else {
        frame.render_widget(
            Paragraph::new("open a conversation to write").style(t.dim),
            inner,
        );
        return;
    };
    if composer.text.is_empty() && !focused {
        frame.render_widget(
            Paragraph::new("press i or Tab to write · Enter sends · Alt+Enter new line")
                .style(t.dim),
            inner,
        );
        return;
    }
    let (rows, (row, col)) = composer_rows(&composer.text, composer.cursor, inner.width);
    let height = usize::from(inner.height.max(1));
    let first = (row + 1).saturating_sub(height);
    let lines: Vec<Line> = rows
        .into_iter()
        .skip(first)
        .take(height)
        .map(Line::from)
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
    if focused {
        frame.set_cursor_position(Position::new(
            inner.x + col as u16,
            inner.y + (row - first) as u16,
        ));
    }
}
