//! Harness for the end-to-end tests: every test gets its own D-Bus session,
//! unlocked gnome-keyring, notification server (python3-dbusmock), relay
//! process and daemon processes in a temp dir, and drives them through the
//! real `chat-ctl` binary and the IPC client. Helpers read like sentences:
//!
//! ```ignore
//! let world = World::start();
//! let alice = world.daemon("alice");
//! alice.ctl(&["status", "--json"]).success();
//! ```
//!
//! Besides `chat-ctl` ([`Daemon::ctl`]), tests reach the parts directly: the
//! IPC client ([`Daemon::client`], [`Daemon::events_after`]), a running
//! `chat-ctl watch` ([`Daemon::watch`]), the relay's HTTP API as a user
//! without a daemon ([`Relay::api`]), and chatd's own command line for
//! start-up failures ([`Daemon::command`], [`run_to_exit`]).

mod ctl;
mod daemon;
mod process;
mod relay;
mod relay_api;
mod tmux;
mod watch;
mod world;

pub use ctl::Ctl;
pub use daemon::Daemon;
pub use process::{bin, cpu_time, eventually, run_to_exit, signal, status_kib, wait_exit};
pub use relay::Relay;
pub use relay_api::{HttpReply, RelayApi};
pub use tmux::Tmux;
pub use watch::{Watch, watch_shape};
pub use world::{PrepareDir, Setup, World, pair, second_device};

/// A current-thread tokio runtime, for the async IPC and HTTP clients.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}
