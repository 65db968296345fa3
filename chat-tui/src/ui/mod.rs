//! Pure drawing: `draw(frame, &state)` paints the whole screen, for any backend.

pub mod composer;
pub mod help;
pub mod layout;
pub mod list;
pub mod messages;
pub mod status;
pub mod theme;

use ratatui::Frame;

use crate::app::{AppState, Overlay};
use layout::Areas;

/// Paints `state` into `frame`.
pub fn draw(frame: &mut Frame, state: &AppState) {
    let areas = Areas::new(frame.area(), state);
    list::draw(frame, state, areas.list);
    messages::draw(frame, state, areas.messages);
    composer::draw(frame, state, areas.composer);
    status::draw(frame, state, areas.status);
    if let Some(Overlay::Help) = state.overlay {
        help::draw(frame, state, frame.area());
    }
}
