//! End-to-end tests through real parts: relay process, chatd processes,
//! gnome-keyring on a private session bus, dbusmock notifications, chat-ctl.

mod argv;
mod basics;
mod big_texts;
mod changes;
mod crash;
mod ctl;
mod devices;
mod failover;
mod files;
mod forged;
mod groups;
mod hostile_text;
mod instances;
mod keys;
mod link;
mod notify;
mod offline;
mod outbox;
mod restart;
mod socket;
mod threats;
mod tls;
mod tui;
mod watch;
