//! Pure drawing: `draw(frame, &state)` paints the whole screen, for any backend.

pub mod composer;
pub mod contacts;
pub mod device_link;
pub mod devices;
pub mod help;
pub mod identity;
pub mod list;
pub mod members;
pub mod message_prompt;
pub mod messages;
pub mod picker;
pub mod search;
pub mod status;

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::app::{AppState, Overlay};
use crate::layout::Areas;

/// Paints `state` into `frame`.
pub fn draw(frame: &mut Frame, state: &AppState) {
    let areas = Areas::new(frame.area(), state.draft());
    list::draw(frame, state, areas.list);
    messages::draw(frame, state, areas.messages);
    composer::draw(frame, state, areas.composer);
    status::draw(frame, state, areas.status);
    match &state.overlay {
        Some(Overlay::Help) => help::draw(frame, state, frame.area()),
        Some(Overlay::Contacts(view)) => {
            let main = Rect {
                height: areas.status.y.saturating_sub(frame.area().y),
                ..frame.area()
            };
            contacts::draw(frame, state, view, main);
        }
        Some(Overlay::Identity) => {
            let main = Rect {
                height: areas.status.y.saturating_sub(frame.area().y),
                ..frame.area()
            };
            identity::draw(frame, state, main);
        }
        Some(Overlay::Members(view)) => {
            let main = Rect {
                height: areas.status.y.saturating_sub(frame.area().y),
                ..frame.area()
            };
            members::draw(frame, state, view, main);
        }
        Some(Overlay::Devices(view)) => {
            let main = Rect {
                height: areas.status.y.saturating_sub(frame.area().y),
                ..frame.area()
            };
            devices::draw(frame, state, view, main);
        }
        Some(Overlay::Picker(p)) => picker::draw(frame, state, p, frame.area()),
        Some(Overlay::Message(prompt)) => {
            message_prompt::draw(frame, state, prompt, areas.messages)
        }
        Some(Overlay::Search) => {
            if let Some(search) = &state.search {
                let main = Rect {
                    height: areas.status.y.saturating_sub(frame.area().y),
                    ..frame.area()
                };
                search::draw(frame, state, search, main);
            }
        }
        None => {}
    }
}
