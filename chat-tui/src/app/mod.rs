//! The application core: state, actions, the pure `update`, and key mapping.

pub mod action;
pub mod composer;
pub mod contacts;
pub mod keymap;
pub mod keys;
pub mod lists;
pub mod members;
pub mod picker;
pub mod state;
pub mod update;

pub use action::{Action, ContactDone, ContactFailed, Effect};
pub use composer::{Composer, Edit};
pub use state::{
    AppState, ContactPrompt, ContactsView, DaemonLink, OpenConversation, Overlay, Pane, Picker,
};
pub use update::update;
