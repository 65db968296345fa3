//! The composer at the bottom, laid out by [`crate::layout::composer_rows`].

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};
use unicode_width::UnicodeWidthStr;

use crate::app::upload::{Typed, parse};
use crate::app::{AppState, ComposeMode, Pane};
use crate::layout::composer_rows;
use crate::text::truncate;

/// Draws the composer into `area` and places the terminal cursor when it has the keyboard.
pub fn draw(frame: &mut Frame, state: &AppState, area: Rect) {
    let t = &state.theme;
    let focused = state.focus == Pane::Composer && state.overlay.is_none();
    let border = if focused { t.border_focus } else { t.border };
    let room = usize::from(area.width.saturating_sub(2));
    // The quote and the names are peers' text: all of it goes through `truncate`.
    let title = match (&state.open, state.compose_mode()) {
        (Some(_), Some(ComposeMode::Reply { to, quote })) => {
            // The quote gives way first: how to cancel stays in sight.
            let cancel = " · Esc cancels ";
            let what = format!(" replying to {}: {quote}", to.from);
            let what = truncate(&what, room.saturating_sub(cancel.width()));
            truncate(&format!("{what}{cancel}"), room)
        }
        (Some(_), Some(ComposeMode::Edit { .. })) => {
            truncate(" editing your message · Enter saves · Esc cancels ", room)
        }
        // `/file PATH`: Enter sends that file, not the text.
        (Some(o), None) if state.composer().is_some_and(|c| is_file(&c.text)) => truncate(
            &format!(
                " File for {} · Enter sends it · // for a text ",
                state.peer_label(&o.peer)
            ),
            room,
        ),
        (Some(o), None) => truncate(&format!(" Message {} ", state.peer_label(&o.peer)), room),
        (None, _) => " Message ".to_owned(),
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
            Paragraph::new(
                "i or Tab writes · Enter sends · /file PATH sends a file · Alt+Enter new line",
            )
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

/// Whether Enter sends `draft` as a file (`/file PATH`).
fn is_file(draft: &str) -> bool {
    matches!(parse(draft), Typed::File(_))
}
