//! The composer at the bottom: wrapped by character so the cursor is easy to place.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};
use unicode_width::UnicodeWidthChar;

use crate::app::{AppState, Pane};

/// Splits `text` into rows of at most `width` columns; returns the rows and the
/// (row, column) of the byte index `cursor`.
pub fn layout(text: &str, cursor: usize, width: u16) -> (Vec<String>, (usize, usize)) {
    let width = usize::from(width.max(2));
    let mut rows = vec![String::new()];
    let mut col = 0;
    let mut at = (0, 0);
    for (i, c) in text.char_indices() {
        if i == cursor {
            at = (rows.len() - 1, col);
        }
        if c == '\n' {
            rows.push(String::new());
            col = 0;
            continue;
        }
        let c = if c.is_control() { '\u{fffd}' } else { c };
        let w = c.width().unwrap_or(0);
        if col + w > width {
            rows.push(String::new());
            col = 0;
        }
        rows.last_mut().expect("never empty").push(c);
        col += w;
    }
    if cursor >= text.len() {
        // The cursor after the last character needs a cell of its own.
        if col >= width {
            rows.push(String::new());
            col = 0;
        }
        at = (rows.len() - 1, col);
    }
    (rows, at)
}

/// How many text rows the open composer needs at `width`.
pub fn rows_needed(state: &AppState, width: u16) -> u16 {
    match state.composer() {
        Some(c) => layout(&c.text, c.cursor, width).0.len() as u16,
        None => 1,
    }
}

/// Draws the composer into `area` and places the terminal cursor when it has the keyboard.
pub fn draw(frame: &mut Frame, state: &AppState, area: Rect) {
    let t = &state.theme;
    let focused = state.focus == Pane::Composer && state.overlay.is_none();
    let border = if focused { t.border_focus } else { t.border };
    let title = match &state.open {
        Some(o) => format!(" Message {} ", o.peer),
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
    let (rows, (row, col)) = layout(&composer.text, composer.cursor, inner.width);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_positions_follow_wrapping_and_wide_characters() {
        assert_eq!(layout("", 0, 10), (vec![String::new()], (0, 0)));
        let (rows, at) = layout("ab\ncd", 4, 10);
        assert_eq!((rows, at), (vec!["ab".into(), "cd".into()], (1, 1)));
        let (rows, at) = layout("日本語", 9, 4);
        assert_eq!(rows, vec!["日本", "語"]);
        assert_eq!(at, (1, 2));
        let (rows, at) = layout("abcd", 4, 4);
        assert_eq!(rows, vec!["abcd", ""]);
        assert_eq!(at, (1, 0));
    }
}
