//! relay-server's integration tests: each test starts the relay in-process on
//! a loopback port with its own data dir (or runs the binary) and talks real
//! HTTP to it, like chatd and `curl` do.

#[path = "api/helper.rs"]
mod helper;

#[path = "api/accounts.rs"]
mod accounts;
#[path = "api/blobs.rs"]
mod blobs;
#[path = "api/cli.rs"]
mod cli;
#[path = "api/devices.rs"]
mod devices;
#[path = "api/directory.rs"]
mod directory;
#[path = "api/durability.rs"]
mod durability;
#[path = "api/hostile.rs"]
mod hostile;
#[path = "api/idor.rs"]
mod idor;
#[path = "api/limits.rs"]
mod limits;
#[path = "api/links.rs"]
mod links;
#[path = "api/longpoll.rs"]
mod longpoll;
#[path = "api/messages.rs"]
mod messages;
#[path = "api/observe.rs"]
mod observe;
#[path = "api/openapi.rs"]
mod openapi;
#[path = "api/sessions.rs"]
mod sessions;
#[path = "api/shared.rs"]
mod shared;
#[path = "api/shutdown.rs"]
mod shutdown;
#[path = "api/threats.rs"]
mod threats;
#[path = "api/tls.rs"]
mod tls;
