//! Where each pane goes; `update` uses the same rectangles for mouse and paging.

use ratatui::layout::{Constraint, Layout, Rect};

use crate::app::AppState;
use crate::ui::composer;

/// The screen's regions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Areas {
    /// The conversation list (with its border).
    pub list: Rect,
    /// The message pane (with its border).
    pub messages: Rect,
    /// The composer (with its border).
    pub composer: Rect,
    /// The one-line status bar.
    pub status: Rect,
}

impl Areas {
    /// Splits `area` for `state`.
    pub fn new(area: Rect, state: &AppState) -> Areas {
        let [main, status] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
        let list_w = (main.width / 4).clamp(22, 34).min(main.width / 2);
        let [list, right] =
            Layout::horizontal([Constraint::Length(list_w), Constraint::Min(1)]).areas(main);
        let rows = composer::rows_needed(state, right.width.saturating_sub(2));
        let composer_h = (rows.clamp(1, 6) + 2).min(right.height.saturating_sub(3));
        let [messages, composer] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(composer_h)]).areas(right);
        Areas {
            list,
            messages,
            composer,
            status,
        }
    }
}
