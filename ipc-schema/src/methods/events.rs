//! The events chatd pushes to subscribers (docs/IPC.md §6), and
//! [`ServerMessage`], anything chatd writes to a frontend.

use serde::de::{self, Deserializer};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::group::{DeliveryView, GroupRemovedEvent, GroupUpdatedEvent};
use super::views::{ConnectionState, Contact, MessageState, MessageView};
use crate::jsonrpc::{JsonRpc2, Notification, Response};

/// Payload of `message.received`: a new message in the store.
///
/// Sent for outgoing messages too (`direction: "out"`), so that every frontend
/// sees what another one sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageReceivedEvent {
    /// The message.
    pub message: MessageView,
}

wire_enum! {
    /// How a message changed after it was sent (docs/PROTOCOL.md §14).
    pub enum MessageChangeKind {
        /// Its author edited it.
        Edited = "edited",
        /// Its author deleted it for everyone.
        Deleted = "deleted",
        /// Someone reacted to it, or took a reaction back.
        Reacted = "reacted",
        /// Its file moved: went up, came down (or part of it), or failed.
        File = "file",
    }
}

/// Payload of `message.changed`: an edit, a delete or a reaction, with the
/// message as it is now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageChangedEvent {
    /// What happened.
    pub change: MessageChangeKind,
    /// Who did it.
    pub by: String,
    /// The conversation it belongs to.
    pub peer: String,
    /// The message now (boxed: events stay small).
    pub message: Box<MessageView>,
}

/// Payload of `message.state`: a message moved to another state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageStateEvent {
    /// The message's id.
    pub id: String,
    /// The conversation it belongs to.
    pub peer: String,
    /// Its new state.
    pub state: MessageState,
    /// Why it failed, when `state` is `failed`.
    pub failure: Option<String>,
    /// For an outgoing group message: each member's delivery (empty otherwise).
    #[serde(default)]
    pub deliveries: Vec<DeliveryView>,
}

wire_enum! {
    /// What happened to a contact.
    pub enum ContactChange {
        /// Newly pinned.
        Added = "added",
        /// Forgotten.
        Removed = "removed",
        /// Marked verified.
        Verified = "verified",
        /// Envelopes from the contact stopped verifying and the relay's
        /// directory has another key for them: nothing is accepted until the
        /// user compares fingerprints (`old_fingerprint`, `new_fingerprint`).
        KeyChanged = "key_changed",
        /// The user accepted the contact's new key; the envelopes that waited
        /// were opened.
        KeyAccepted = "key_accepted",
        /// The user refused the contact's new key; the envelopes that waited
        /// were deleted.
        KeyRefused = "key_refused",
        /// The contact rotated their keys with a transition signed by the
        /// pinned key (docs/PROTOCOL.md §13): now pinned to the new card,
        /// marked `rotated` until the user verifies its fingerprint.
        KeyRotated = "key_rotated",
    }
}

/// Payload of `contact.changed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactChangedEvent {
    /// What happened.
    pub change: ContactChange,
    /// The contact after the change (as it was, for `removed`).
    pub contact: Contact,
    /// For key changes: the fingerprint pinned before (grouped hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_fingerprint: Option<String>,
    /// For key changes: the fingerprint the directory has now (grouped hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_fingerprint: Option<String>,
}

/// Payload of `connection.changed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionChangedEvent {
    /// The new state of the relay link.
    pub connection: ConnectionState,
    /// Why the link went down, when it did.
    pub error: Option<String>,
}

/// Payload of `device.added`: another device joined this account, as that
/// device announced it end to end (docs/PROTOCOL.md §11.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceAddedEvent {
    /// The new device's name (chosen on that device; sanitize before display).
    pub name: String,
    /// When it was added (ms, the announcement's own time).
    pub added_at: u64,
}

/// Payload of `device.gone`: a device of this account was revoked or
/// expired, as the relay's device list showed it (docs/RELAY.md §5.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceGoneEvent {
    /// The device's id.
    pub id: String,
    /// Its name (sanitize before display).
    pub name: String,
    /// `revoked` or `expired`.
    pub gone: String,
    /// When (ms).
    pub gone_at: u64,
}

/// Something that happened in chatd, pushed to subscribers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// `message.received`
    MessageReceived(MessageReceivedEvent),
    /// `message.state`
    MessageState(MessageStateEvent),
    /// `contact.changed`
    ContactChanged(ContactChangedEvent),
    /// `connection.changed`
    ConnectionChanged(ConnectionChangedEvent),
    /// `group.updated`
    GroupUpdated(GroupUpdatedEvent),
    /// `group.removed`
    GroupRemoved(GroupRemovedEvent),
    /// `device.added`
    DeviceAdded(DeviceAddedEvent),
    /// `device.gone`
    DeviceGone(DeviceGoneEvent),
    /// `message.changed`
    MessageChanged(MessageChangedEvent),
}

impl Event {
    /// Every event name.
    pub const NAMES: &'static [&'static str] = &[
        "message.received",
        "message.state",
        "contact.changed",
        "connection.changed",
        "group.updated",
        "group.removed",
        "device.added",
        "device.gone",
        "message.changed",
    ];

    /// This event's name, which is the notification's `method`.
    pub fn name(&self) -> &'static str {
        match self {
            Event::MessageReceived(_) => "message.received",
            Event::MessageState(_) => "message.state",
            Event::ContactChanged(_) => "contact.changed",
            Event::ConnectionChanged(_) => "connection.changed",
            Event::GroupUpdated(_) => "group.updated",
            Event::GroupRemoved(_) => "group.removed",
            Event::DeviceAdded(_) => "device.added",
            Event::DeviceGone(_) => "device.gone",
            Event::MessageChanged(_) => "message.changed",
        }
    }
}

/// A persisted event as one notification: the event name is the `method`, and
/// `params` holds `seq` and `ts` followed by the event's own fields:
///
/// `{"jsonrpc":"2.0","method":"message.state","params":{"seq":7,"ts":…,"id":…,…}}`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventEnvelope {
    /// Position in chatd's event log, strictly increasing; resume with `subscribe {after: seq}`.
    pub seq: u64,
    /// When chatd recorded the event (ms).
    pub ts: u64,
    /// What happened.
    pub event: Event,
}

#[derive(Serialize)]
struct EventParams<'a, E> {
    seq: u64,
    ts: u64,
    #[serde(flatten)]
    event: &'a E,
}

impl Serialize for EventEnvelope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        fn out<S: Serializer, E: Serialize>(
            serializer: S,
            env: &EventEnvelope,
            event: &E,
        ) -> Result<S::Ok, S::Error> {
            let mut st = serializer.serialize_struct("Notification", 3)?;
            st.serialize_field("jsonrpc", &JsonRpc2)?;
            st.serialize_field("method", env.event.name())?;
            st.serialize_field(
                "params",
                &EventParams {
                    seq: env.seq,
                    ts: env.ts,
                    event,
                },
            )?;
            st.end()
        }
        match &self.event {
            Event::MessageReceived(e) => out(serializer, self, e),
            Event::MessageState(e) => out(serializer, self, e),
            Event::ContactChanged(e) => out(serializer, self, e),
            Event::ConnectionChanged(e) => out(serializer, self, e),
            Event::GroupUpdated(e) => out(serializer, self, e),
            Event::GroupRemoved(e) => out(serializer, self, e),
            Event::DeviceAdded(e) => out(serializer, self, e),
            Event::DeviceGone(e) => out(serializer, self, e),
            Event::MessageChanged(e) => out(serializer, self, e),
        }
    }
}

impl EventEnvelope {
    /// Reads an event out of a notification; refuses unknown event names.
    pub fn from_notification(
        notification: Notification<Map<String, Value>>,
    ) -> Result<Self, serde_json::Error> {
        let Notification {
            method, mut params, ..
        } = notification;
        let mut take_u64 = |key: &str| {
            params.remove(key).and_then(|v| v.as_u64()).ok_or_else(|| {
                <serde_json::Error as de::Error>::custom(format!(
                    "event `{method}` needs an integer `{key}`"
                ))
            })
        };
        let seq = take_u64("seq")?;
        let ts = take_u64("ts")?;
        let params = Value::Object(params);
        let event = match method.as_str() {
            "message.received" => Event::MessageReceived(serde_json::from_value(params)?),
            "message.state" => Event::MessageState(serde_json::from_value(params)?),
            "contact.changed" => Event::ContactChanged(serde_json::from_value(params)?),
            "connection.changed" => Event::ConnectionChanged(serde_json::from_value(params)?),
            "group.updated" => Event::GroupUpdated(serde_json::from_value(params)?),
            "group.removed" => Event::GroupRemoved(serde_json::from_value(params)?),
            "device.added" => Event::DeviceAdded(serde_json::from_value(params)?),
            "device.gone" => Event::DeviceGone(serde_json::from_value(params)?),
            "message.changed" => Event::MessageChanged(serde_json::from_value(params)?),
            other => return Err(de::Error::custom(format!("unknown event `{other}`"))),
        };
        Ok(EventEnvelope { seq, ts, event })
    }
}

impl<'de> Deserialize<'de> for EventEnvelope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let notification = Notification::<Map<String, Value>>::deserialize(deserializer)?;
        EventEnvelope::from_notification(notification).map_err(de::Error::custom)
    }
}

/// Anything chatd writes to a frontend: a response, an event, or a notification
/// this version does not know (a frontend should skip it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerMessage {
    /// The answer to a call.
    Response(Response),
    /// An event, on a subscribed connection.
    Event(EventEnvelope),
    /// A notification with a method this version does not know.
    Unknown(Notification),
}

impl ServerMessage {
    /// Parses one frame from chatd: objects with an `id` are responses, the rest notifications.
    pub fn from_slice(frame: &[u8]) -> Result<Self, serde_json::Error> {
        let value: Value = serde_json::from_slice(frame)?;
        if value.get("id").is_some() {
            return serde_json::from_value(value).map(ServerMessage::Response);
        }
        let notification: Notification<Map<String, Value>> = serde_json::from_value(value)?;
        if Event::NAMES.contains(&notification.method.as_str()) {
            EventEnvelope::from_notification(notification).map(ServerMessage::Event)
        } else {
            let Notification { method, params, .. } = notification;
            Ok(ServerMessage::Unknown(Notification::new(
                method,
                Value::Object(params),
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_refuse_missing_seq_and_unknown_names_are_skippable() {
        let no_seq = br#"{"jsonrpc":"2.0","method":"connection.changed","params":{"ts":1,"connection":"online","error":null}}"#;
        assert!(ServerMessage::from_slice(no_seq).is_err());
        let future = br#"{"jsonrpc":"2.0","method":"typing.started","params":{"seq":1}}"#;
        assert!(matches!(
            ServerMessage::from_slice(future).unwrap(),
            ServerMessage::Unknown(n) if n.method == "typing.started"
        ));
        assert!(serde_json::from_slice::<EventEnvelope>(future).is_err());
        let response = br#"{"jsonrpc":"2.0","id":1,"result":{}}"#;
        assert!(matches!(
            ServerMessage::from_slice(response).unwrap(),
            ServerMessage::Response(_)
        ));
    }
}
