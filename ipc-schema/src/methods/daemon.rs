//! The connection and the daemon itself: `hello`, `status`, `subscribe`,
//! `daemon.shutdown` and `rpc.discover`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::views::{ConnectionState, DroppedCounters, RelayTrustView, RelayUrlView};

// ---------------------------------------------------------------------------
// hello

/// Params of `hello`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HelloParams {
    /// The protocol the frontend speaks; [`PROTOCOL_VERSION`](super::PROTOCOL_VERSION).
    pub protocol: u32,
    /// The frontend's name and version, e.g. `chat-ctl/0.1.0`, for logs.
    pub client: String,
}

/// Result of `hello`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloResult {
    /// The protocol chatd speaks (equal to the one asked for, or the call fails).
    pub protocol: u32,
    /// chatd's version.
    pub version: String,
    /// The logged-in or registered user, if any.
    pub user: Option<String>,
}

// ---------------------------------------------------------------------------
// status

/// Params of `status` (none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusParams {}

/// Result of `status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusResult {
    /// chatd's version.
    pub version: String,
    /// The registered user, if any.
    pub user: Option<String>,
    /// Own fingerprint, if registered.
    pub fingerprint: Option<String>,
    /// The relay URL requests go to now, if registered (with several URLs,
    /// the one in use; see `relays`).
    pub relay_url: Option<String>,
    /// The link to the relay.
    pub connection: ConnectionState,
    /// Incoming messages not yet read, over all conversations.
    pub unread: u64,
    /// Outgoing messages not yet accepted by the relay.
    pub outbox_pending: u64,
    /// Envelopes dropped since the account was created.
    pub dropped: DroppedCounters,
    /// How the relay's certificate is checked, if registered.
    #[serde(default)]
    pub relay_trust: Option<RelayTrustView>,
    /// The proxy requests to the relay go through (from `HTTPS_PROXY`,
    /// `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`), without credentials;
    /// `null` when they go direct (always, to a loopback relay).
    #[serde(default)]
    pub proxy: Option<String>,
    /// Every URL of the account's relay in the order they are tried, the
    /// one in use marked (empty before `register`).
    #[serde(default)]
    pub relays: Vec<RelayUrlView>,
}

// ---------------------------------------------------------------------------
// subscribe, daemon.shutdown, rpc.discover

/// Params of `subscribe`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscribeParams {
    /// Replay stored events with `seq > after` first; only new events when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
}

/// Result of `subscribe`; the events follow it on the same connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscribeResult {
    /// Always true.
    pub subscribed: bool,
    /// The newest event's `seq` at the time of subscribing (0 when none); resume from it.
    pub last_seq: u64,
}

/// Params of `daemon.shutdown` (none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonShutdownParams {}

/// Result of `daemon.shutdown` (empty); sent before the daemon stops.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonShutdownResult {}

/// Params of `rpc.discover` (none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RpcDiscoverParams {}

/// Result of `rpc.discover`: the OpenRPC document itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RpcDiscoverResult(pub Value);
