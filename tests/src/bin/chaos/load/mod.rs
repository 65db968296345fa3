//! The load on the system while the monkey works: the users chatting
//! through `chat-ctl`, the garbage flood and the probes.

mod flood;
mod probe;
mod users;

pub use flood::{Flood, flooder};
pub use probe::{Probe, prober};
pub use users::{SenderLog, Sent, sender};
