//! End-to-end tests through real parts: relay process, chatd processes,
//! gnome-keyring on a private session bus, dbusmock notifications, chat-ctl.

mod basics;
