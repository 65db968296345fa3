//! chat's relay: a small store-and-forward server for envelopes it cannot read
//! (docs/RELAY.md). Accounts with Argon2id passwords and hashed session tokens, a
//! card directory, and per-user mailboxes with long-poll delivery, on SQLite.
//!
//! Tests and embedders start it with [`run`] on their own listener, or call
//! [`router`] directly with `oneshot`.

pub mod auth;
pub mod blobs;
pub mod cli;
pub mod config;
pub mod error;
pub mod mailbox;
pub mod metrics;
pub mod polls;
pub mod proxy;
pub mod routes;
pub mod serve;
pub mod server;
pub mod store;

pub use config::{Config, RegistrationPolicy, TlsFiles};
pub use server::{AppState, Relay, router, run};
