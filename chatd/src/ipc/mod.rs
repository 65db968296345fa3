//! Local JSON-RPC over NDJSON (DESIGN §6): the socket server and the handlers.

pub mod discover;
pub mod handlers;
pub mod server;

pub use server::{bind, serve};
