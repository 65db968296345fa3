//! The application core: state, actions, the pure `update`, and key mapping.

pub mod action;
pub mod composer;
pub mod keys;
pub mod state;
pub mod update;

pub use action::{Action, Effect};
pub use composer::{Composer, Edit};
pub use state::{AppState, DaemonLink, OpenConversation, Overlay, Pane};
pub use update::update;
