//! `hello`, `status` and `subscribe`.

use ipc_schema::jsonrpc::{ErrorObject, code};
use ipc_schema::methods::{
    HelloParams, HelloResult, PROTOCOL_VERSION, StatusResult, SubscribeParams, SubscribeResult,
};

use super::Outcome;
use crate::daemon::{Daemon, DaemonError};

pub(super) fn hello(d: &Daemon, p: HelloParams) -> Outcome {
    if p.protocol != PROTOCOL_VERSION {
        return Outcome::Error(ErrorObject::new(
            code::PROTOCOL_MISMATCH,
            format!(
                "this chatd speaks protocol {PROTOCOL_VERSION}, the client {} speaks {}; upgrade the older one",
                p.client, p.protocol
            ),
        ));
    }
    Outcome::Reply(
        HelloResult {
            protocol: PROTOCOL_VERSION,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            user: d.account().ok().map(|a| a.user),
        }
        .into(),
    )
}

pub(super) fn status(d: &Daemon) -> Result<StatusResult, DaemonError> {
    d.status()
}

/// Answers with the newest seq; the connection then replays the events
/// after `after` (default: none) and streams live ones.
pub(super) fn subscribe(d: &Daemon, p: SubscribeParams) -> Outcome {
    let last_seq = match d.last_event_seq() {
        Ok(s) => s,
        Err(e) => return Outcome::Error(e.into()),
    };
    let after = p.after.unwrap_or(last_seq);
    // A seq chatd never wrote (its database was recreated under a client
    // that kept its place): replaying from there would skip every event up
    // to it, a silent gap.
    if after > last_seq {
        return Outcome::Error(
            ErrorObject::new(
                code::EVENTS_EXPIRED,
                format!(
                    "no events after {after}: this chatd's newest is {last_seq} (its database was started afresh); reload and subscribe without `after`"
                ),
            )
            .with_data(serde_json::json!({"oldest_seq": last_seq + 1})),
        );
    }
    // Refused here, before the stream starts, when the replay would have a gap.
    if let Err(e) = d.events_after(after, 0) {
        return Outcome::Error(e.into());
    }
    Outcome::Subscribe {
        result: SubscribeResult {
            subscribed: true,
            last_seq,
        }
        .into(),
        after,
    }
}
