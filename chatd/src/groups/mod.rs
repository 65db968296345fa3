//! Group conversations (docs/PROTOCOL.md §9): rosters, the rules a change
//! follows, and how members who saw the same changes agree on one roster.
//!
//! - [`roster`]: a roster's text, hash and checks; the edits an admin makes.
//! - [`log`]: one member's knowledge of a group's rosters and the roster it
//!   follows.

pub mod log;
pub mod roster;

pub use log::{GroupLog, Offered};
pub use roster::{Edit, Member, Roster, RosterError, RosterHash};
