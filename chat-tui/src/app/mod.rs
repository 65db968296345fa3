//! The application core: state, actions, the pure `update`, and key mapping.

pub mod action;
pub mod composer;
pub mod contacts;
pub mod devices;
pub mod files;
pub mod key_change;
pub mod keymap;
pub mod keys;
pub mod lists;
pub mod masked;
pub mod members;
pub mod message_changes;
pub mod picker;
pub mod search;
pub mod selection;
pub mod state;
pub mod update;
pub mod upload;

pub use action::{Action, ContactDone, ContactFailed, DeviceFailed, Effect};
pub use composer::{Composer, Edit};
pub use state::{
    AppState, ComposeMode, ContactPrompt, ContactsView, DaemonLink, DevicePrompt, DevicesView,
    KeyChoice, MessageKey, MessagePrompt, OpenConversation, Overlay, Pane, Picker, Revoke,
    RevokeStep, Search, SearchQuery,
};
pub use update::update;
