//! `chat-ctl watch`: one event per line, for people and as JSON.

use ipc_schema::methods::{
    ContactChange, Direction, Event, EventEnvelope, MessageChangeKind, MessageState,
};
use serde::Serialize;

use super::log::{message_text, reactions_text};
use super::status::connection_name;
use super::{Clock, json_line, ticks};

/// One line of `watch --json`: the notification's params with the event name
/// added, `{"seq":…,"ts":…,"event":"message.received",…fields}`.
pub fn event_json(env: &EventEnvelope) -> String {
    #[derive(Serialize)]
    struct Line<'a, E> {
        seq: u64,
        ts: u64,
        event: &'static str,
        #[serde(flatten)]
        fields: &'a E,
    }
    fn line<E: Serialize>(env: &EventEnvelope, fields: &E) -> String {
        json_line(&Line {
            seq: env.seq,
            ts: env.ts,
            event: env.event.name(),
            fields,
        })
    }
    match &env.event {
        Event::MessageReceived(e) => line(env, e),
        Event::MessageState(e) => line(env, e),
        Event::ContactChanged(e) => line(env, e),
        Event::ConnectionChanged(e) => line(env, e),
        Event::GroupUpdated(e) => line(env, e),
        Event::GroupRemoved(e) => line(env, e),
        Event::DeviceAdded(e) => line(env, e),
        Event::DeviceGone(e) => line(env, e),
        Event::MessageChanged(e) => line(env, e),
    }
}

/// One event for humans, prefixed with its sequence number and time:
///
/// ```text
/// #42 14:03  bob → you: build finished ✅
/// #43 14:04  you → bob: thanks!
/// #44 14:04  to bob 0b7e4d2c: delivered ✓✓
/// #45 14:05  contact bob verified
/// #46 14:05  relay offline (retrying): connection refused
/// ```
pub fn event_human(env: &EventEnvelope, clock: &Clock) -> String {
    let head = format!("#{} {}  ", env.seq, clock.short(env.ts));
    let body = match &env.event {
        Event::MessageReceived(e) => {
            let m = &e.message;
            let (from, to) = match m.direction {
                Direction::In => (m.from.as_str(), "you"),
                Direction::Out => ("you", m.to.as_str()),
            };
            let indent = " ".repeat(head.chars().count() + 2);
            let text = message_text(m).replace('\n', &format!("\n{indent}"));
            format!("{from} → {to}: {text}")
        }
        Event::MessageState(e) => {
            let short_id: String = e.id.chars().take(8).collect();
            let what = match e.state {
                MessageState::Failed => ticks(e.state, e.failure.as_deref()),
                state => format!("{state} {}", ticks(state, None)),
            };
            format!("to {} {short_id}: {what}", e.peer)
        }
        Event::ContactChanged(e) => match (e.change, &e.old_fingerprint, &e.new_fingerprint) {
            (ContactChange::KeyChanged, Some(old), Some(new)) => format!(
                "contact {}: KEY CHANGED from {old} to {new}; their messages wait until you compare it and accept it (chat-ctl contact accept-key) or refuse it",
                e.contact.user
            ),
            _ => format!("contact {} {}", e.contact.user, e.change),
        },
        Event::ConnectionChanged(e) => match &e.error {
            Some(why) => format!("relay {}: {why}", connection_name(e.connection)),
            None => format!("relay {}", connection_name(e.connection)),
        },
        Event::GroupUpdated(e) => format!("group {}: {}", e.group.name, e.changes.join("; ")),
        Event::GroupRemoved(e) => format!(
            "group {}: you are no longer a member ({})",
            e.group.name, e.group.state
        ),
        Event::DeviceGone(e) => format!("device '{}' ({}) {}", e.name, e.id, e.gone),
        Event::MessageChanged(e) => {
            let short_id: String = e.message.id.chars().take(8).collect();
            let indent = " ".repeat(head.chars().count() + 2);
            match e.change {
                MessageChangeKind::Edited => format!(
                    "{} edited {short_id} in {}: {}",
                    e.by,
                    e.peer,
                    message_text(&e.message).replace('\n', &format!("\n{indent}"))
                ),
                MessageChangeKind::Deleted => {
                    format!("{} deleted {short_id} in {} for everyone", e.by, e.peer)
                }
                MessageChangeKind::File => {
                    format!("{short_id} in {}: {}", e.peer, message_text(&e.message))
                }
                MessageChangeKind::Reacted => format!(
                    "{} reacted to {short_id} in {}: {}",
                    e.by,
                    e.peer,
                    match reactions_text(&e.message) {
                        r if r.is_empty() => "(no reactions now)".to_owned(),
                        r => r,
                    }
                ),
            }
        }
        Event::DeviceAdded(e) => format!(
            "new device '{}' added at {}; if this wasn't you, revoke it (chat-ctl device revoke) and change your password",
            e.name,
            clock.short(e.added_at)
        ),
    };
    head + &body
}

#[cfg(test)]
mod tests {
    use super::super::samples::{FP, T0, message};
    use super::*;
    use ipc_schema::methods::{
        ConnectionChangedEvent, ConnectionState, Contact, ContactChange, ContactChangedEvent,
        MessageReceivedEvent, MessageStateEvent,
    };
    use serde_json::Value;

    fn env(seq: u64, event: Event) -> EventEnvelope {
        EventEnvelope { seq, ts: T0, event }
    }

    #[test]
    fn watch_json_is_the_params_with_the_event_name_first_fields_in_order() {
        let e = env(
            43,
            Event::MessageState(MessageStateEvent {
                id: "0b7e".into(),
                peer: "bob".into(),
                state: MessageState::Delivered,
                failure: None,
                deliveries: Vec::new(),
            }),
        );
        assert_eq!(
            event_json(&e),
            r#"{"seq":43,"ts":1764000000123,"event":"message.state","id":"0b7e","peer":"bob","state":"delivered","failure":null,"deliveries":[]}"#
        );
        let e = env(
            42,
            Event::MessageReceived(MessageReceivedEvent {
                message: message("aa", Direction::In, Some("hi"), MessageState::Delivered),
            }),
        );
        let v: Value = serde_json::from_str(&event_json(&e)).unwrap();
        assert_eq!(v["event"], "message.received");
        assert_eq!(v["message"]["body"], "hi");
        assert_eq!(v["seq"], 42);
    }

    #[test]
    fn watch_human_names_every_event() {
        let clock = Clock::utc_at(T0);
        let got = |event| event_human(&env(7, event), &clock);
        assert_eq!(
            got(Event::MessageReceived(MessageReceivedEvent {
                message: message(
                    "aa",
                    Direction::In,
                    Some("two\nlines"),
                    MessageState::Delivered
                ),
            })),
            "#7 16:00  bob → you: two\n            lines"
        );
        assert_eq!(
            got(Event::MessageReceived(MessageReceivedEvent {
                message: message("aa", Direction::Out, Some("hi"), MessageState::Queued),
            })),
            "#7 16:00  you → bob: hi"
        );
        assert_eq!(
            got(Event::MessageState(MessageStateEvent {
                id: "0b7e4d2c9a1f48e6b3c5d7e9f1a2b4c6".into(),
                peer: "bob".into(),
                state: MessageState::Delivered,
                failure: None,
                deliveries: Vec::new(),
            })),
            "#7 16:00  to bob 0b7e4d2c: delivered ✓✓"
        );
        assert_eq!(
            got(Event::ContactChanged(ContactChangedEvent {
                change: ContactChange::Verified,
                contact: Contact {
                    user: "bob".into(),
                    fingerprint: FP.into(),
                    verified: true,
                    added_at: T0,
                    pending_fingerprint: None,
                    quarantined: 0,
                    dropped: 0,
                    rotated: false,
                    frozen: false,
                },
                old_fingerprint: None,
                new_fingerprint: None,
            })),
            "#7 16:00  contact bob verified"
        );
        assert_eq!(
            got(Event::ConnectionChanged(ConnectionChangedEvent {
                connection: ConnectionState::Offline,
                error: Some("connection refused".into()),
            })),
            "#7 16:00  relay offline (retrying): connection refused"
        );
    }
}
