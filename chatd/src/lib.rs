//! chatd: the per-user daemon of chat (docs/ARCHITECTURE.md). It keeps the private keys
//! in the OS keyring, seals and opens envelopes, syncs with the relay, keeps
//! history in SQLite, raises desktop notifications, and serves frontends over
//! a local socket.

pub mod cli;
pub mod config;
pub mod crypto;
pub mod daemon;
pub mod files;
pub mod groups;
pub mod ipc;
pub mod keystore;
pub mod notify;
pub mod relay_client;
pub mod run;
pub mod store;
