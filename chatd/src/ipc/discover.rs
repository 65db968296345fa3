//! `rpc.discover`: an OpenRPC document of the local API.

use ipc_schema::methods::{Event, Method, PROTOCOL_VERSION};
use serde_json::{Value, json};

/// One line per method, in the order of [`Method::NAMES`].
const SUMMARIES: &[(&str, &str, &[&str])] = &[
    (
        "hello",
        "Handshake; must be the first call on a connection.",
        &["protocol", "client"],
    ),
    (
        "status",
        "Account, relay connection, unread and outbox counts, dropped-envelope counters.",
        &[],
    ),
    (
        "account.register",
        "Create keys if none, register on a relay, and log in.",
        &[
            "relay_url",
            "username",
            "password",
            "invite",
            "key_bits",
            "insecure_http",
            "relay_ca",
            "relay_pin",
            "device_name",
        ],
    ),
    (
        "account.login",
        "Get a fresh relay session for the registered account.",
        &["password"],
    ),
    (
        "account.logout",
        "Revoke the relay session and forget it.",
        &[],
    ),
    (
        "account.delete",
        "Delete the account on the relay, then the local keys.",
        &["password"],
    ),
    (
        "relay.trust",
        "Change how the relay's certificate is checked: an extra CA (PEM), a pin of its key, or the system's roots.",
        &["ca", "pin", "insecure_http"],
    ),
    (
        "relay.urls",
        "Change the URLs the relay is reached at: instances of the same relay, tried in order; the one that answers stays in use.",
        &["urls"],
    ),
    (
        "account.password",
        "Change the relay password; sessions stay, and the new one is kept for renewal.",
        &["password", "new_password"],
    ),
    (
        "device.list",
        "The account's devices on the relay, this one marked `current`; revoked and expired ones for 30 days.",
        &[],
    ),
    (
        "device.revoke",
        "Revoke a device (its tokens die, nothing more reaches it) and change the relay password in the same step.",
        &["id", "password", "new_password"],
    ),
    (
        "device.rename",
        "Rename a device of the account (1 to 32 bytes, no control characters).",
        &["id", "name"],
    ),
    (
        "device.link",
        "Seal the identity, contacts, groups (and with_history, the newest history) under a new one-time code and leave it on the relay for 10 minutes (docs/PROTOCOL.md §12).",
        &["with_history"],
    ),
    (
        "backup.export",
        "The identity's private keys and the pinned contacts, sealed under a passphrase (docs/PROTOCOL.md §10).",
        &["passphrase"],
    ),
    (
        "backup.enable",
        "Keep a backup on the relay, sealed under a passphrase and sealed again when contacts change.",
        &["passphrase"],
    ),
    (
        "backup.disable",
        "Stop keeping a backup on the relay, and delete it there.",
        &[],
    ),
    (
        "account.restore",
        "Restore a backup on a machine with no account and join the account as a new device, same fingerprint.",
        &[
            "relay_url",
            "username",
            "password",
            "backup",
            "passphrase",
            "device_name",
            "insecure_http",
            "relay_ca",
            "relay_pin",
        ],
    ),
    (
        "account.join",
        "On a machine with no account: claim the device link a code names and join the account as a new device, same fingerprint.",
        &[
            "relay_url",
            "username",
            "password",
            "code",
            "device_name",
            "insecure_http",
            "relay_ca",
            "relay_pin",
        ],
    ),
    (
        "identity.show",
        "Own username, fingerprint and key size.",
        &[],
    ),
    ("identity.card", "Own contact card, to hand to others.", &[]),
    (
        "identity.rotate",
        "New key pairs: the relay's directory card is replaced (password asked) and every contact is sent a transition signed by the old and the new keys (docs/PROTOCOL.md §13).",
        &["password"],
    ),
    (
        "contact.add",
        "Pin a contact from a card, or from the relay directory checked against a fingerprint.",
        &["card", "user", "fingerprint"],
    ),
    ("contact.list", "All contacts.", &[]),
    (
        "contact.remove",
        "Forget a contact (history stays).",
        &["user"],
    ),
    (
        "contact.verify",
        "Mark a contact verified after comparing fingerprints out of band.",
        &["user", "fingerprint"],
    ),
    (
        "contact.accept_key",
        "Accept a contact's changed key after comparing its fingerprint; what waited in quarantine opens, in order.",
        &["user", "fingerprint"],
    ),
    (
        "contact.refuse_key",
        "Refuse a contact's changed key; what waited in quarantine is deleted and counted.",
        &["user"],
    ),
    (
        "message.send",
        "Commit a text locally and queue it (to a contact, or to a group as `#` and its id); returns its id at once.",
        &["to", "body", "reply_to"],
    ),
    (
        "message.list",
        "A page of one conversation, oldest first by local sequence; long bodies cut and marked truncated.",
        &["peer", "before", "limit"],
    ),
    (
        "message.get",
        "One message with its whole body.",
        &["peer", "id", "direction"],
    ),
    (
        "message.edit",
        "Edit one of your messages, for everyone; earlier versions are kept.",
        &["id", "body"],
    ),
    (
        "message.delete",
        "Delete one of your messages for everyone; only a tombstone is left.",
        &["id"],
    ),
    (
        "message.react",
        "React to a message with one emoji, or take the reaction back (emoji null).",
        &["id", "peer", "emoji"],
    ),
    (
        "message.search",
        "Search all history for plain words, newest first, with snippets.",
        &["query", "peer", "before", "limit"],
    ),
    (
        "file.upload_start",
        "Start streaming a file in to send it (to a contact or #group); returns an upload id.",
        &["to", "name", "size", "media_type", "reply_to"],
    ),
    (
        "file.upload_chunk",
        "The next 1 MiB piece (base64) of a file being streamed in; the last one shorter.",
        &["upload", "data"],
    ),
    (
        "file.upload_finish",
        "Commit the file message; its blob goes up to the relay, then the message is sent.",
        &["upload"],
    ),
    (
        "file.upload_cancel",
        "Give up a file being streamed in.",
        &["upload"],
    ),
    (
        "file.download",
        "Fetch a received file now, whatever its size (one that failed is tried again).",
        &["peer", "id"],
    ),
    (
        "file.read",
        "Read a kept file back, at most 1 MiB (base64) per call.",
        &["peer", "id", "offset", "length"],
    ),
    (
        "group.create",
        "Create a group with contacts; returns it (its id is 32 hex digits).",
        &["name", "members"],
    ),
    (
        "group.add",
        "Add contacts to a group (admins only).",
        &["group", "users"],
    ),
    (
        "group.remove",
        "Remove members from a group (admins only); they are told.",
        &["group", "users"],
    ),
    (
        "group.admin",
        "Make a member an admin, or with `revoke` a member again (admins only).",
        &["group", "user", "revoke"],
    ),
    (
        "group.rename",
        "Rename a group (admins only).",
        &["group", "name"],
    ),
    (
        "group.leave",
        "Leave a group; its history stays.",
        &["group"],
    ),
    ("group.list", "Every group this user is or was in.", &[]),
    (
        "group.info",
        "A group and its members, with who introduced unverified ones.",
        &["group"],
    ),
    (
        "conversation.list",
        "All conversations, most recent first.",
        &[],
    ),
    (
        "conversation.mark_read",
        "Mark a conversation read (and send read receipts if enabled).",
        &["peer"],
    ),
    (
        "conversation.focus",
        "Tell chatd which conversation this frontend shows (no notifications for it).",
        &["peer"],
    ),
    (
        "subscribe",
        "Turn this connection into an event stream, replaying events after `after` first.",
        &["after"],
    ),
    ("daemon.shutdown", "Stop the daemon cleanly.", &[]),
    ("rpc.discover", "This document.", &[]),
];

/// The OpenRPC document.
pub fn document() -> Value {
    debug_assert_eq!(SUMMARIES.len(), Method::NAMES.len());
    let methods: Vec<Value> = SUMMARIES
        .iter()
        .map(|(name, summary, params)| {
            json!({
                "name": name,
                "summary": summary,
                "paramStructure": "by-name",
                "params": params.iter().map(|p| json!({"name": p, "schema": {}})).collect::<Vec<_>>(),
                "result": {"name": "result", "schema": {"type": "object"}},
            })
        })
        .collect();
    json!({
        "openrpc": "1.3.2",
        "info": {
            "title": "chatd local API",
            "version": format!("{PROTOCOL_VERSION}"),
            "description": "JSON-RPC 2.0, one JSON object per line (NDJSON), over chatd's local socket. See docs/IPC.md.",
        },
        "methods": methods,
        "x-events": Event::NAMES,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_is_described_once_in_order() {
        let names: Vec<&str> = SUMMARIES.iter().map(|s| s.0).collect();
        assert_eq!(names, Method::NAMES);
        assert_eq!(
            document()["methods"].as_array().unwrap().len(),
            Method::NAMES.len()
        );
    }
}
