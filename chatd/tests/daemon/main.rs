//! chatd run in process (`chatd::run::start` with an in-memory keystore)
//! against a real relay (`relay_server::run` on 127.0.0.1:0) or a hostile
//! one (`mock_relay`), driven through the real IPC client: the outbox, its
//! backoff, receipts, replays and session renewal, without D-Bus.

mod helper;
mod mock_relay;

mod backup;
mod devices;
mod events;
mod failover;
mod files;
mod groups;
mod history;
mod outbox;
mod session;
mod sync;
mod tls;
