//! Local JSON-RPC over NDJSON (docs/IPC.md): the socket server, its
//! directory check, and the handlers.

pub mod discover;
pub mod handlers;
pub mod server;
pub mod socket_dir;

pub use server::{bind, serve};
