//! The application core: state, actions, the pure `update`, and key mapping.

pub mod action;
pub mod composer;
pub mod contacts;
pub mod devices;
pub mod key_change;
pub mod keymap;
pub mod keys;
pub mod lists;
pub mod masked;
pub mod members;
pub mod picker;
pub mod state;
pub mod update;

pub use action::{Action, ContactDone, ContactFailed, DeviceFailed, Effect};
pub use composer::{Composer, Edit};
pub use state::{
    AppState, ContactPrompt, ContactsView, DaemonLink, DevicePrompt, DevicesView, KeyChoice,
    OpenConversation, Overlay, Pane, Picker, Revoke, RevokeStep,
};
pub use update::update;
