//! Frozen vectors of the payloads that change a message (docs/PROTOCOL.md
//! §14.1), `vectors/changes.json`: each valid payload reads as its fields
//! and is written back as `written` (chatd's compact form, §14.1's member
//! order); each invalid one is refused with the named error.
//! tests/interop/check_vectors.py checks the same file from an independent
//! Python reading of §14. The payloads are the envelopes' plaintext; how
//! they are sealed is §6 and §8, unchanged.
//!
//! Regenerate (only on purpose, a format change):
//! `CHAT_REGEN_VECTORS=1 cargo test -p chatd --test vectors_changes -- --ignored`

use std::path::PathBuf;

use ipc_schema::MessageChange;
use ipc_schema::envelope::PayloadError;
use serde_json::{Value, json};

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/changes.json")
}

const ID: &str = "4f9c2e1ab3d04c7e8a61f05d2b9e7c13";
const GROUP: &str = "0123456789abcdef0123456789abcdef";

/// The error's name in the vectors.
fn name(e: &PayloadError) -> &'static str {
    match e {
        PayloadError::NotAnObject => "malformed",
        PayloadError::BadFields(_) => "bad_fields",
        PayloadError::BodyTooLarge(_) => "body_too_large",
        PayloadError::BadId => "bad_id",
        PayloadError::BadGroup => "bad_group",
    }
}

/// What a valid payload reads as: every member of §14.1, absent ones null.
fn fields(c: &MessageChange) -> Value {
    let (body, author, emoji) = match c {
        MessageChange::Edit { body, .. } => (Some(body.as_str()), None, None),
        MessageChange::Delete { .. } => (None, None, None),
        MessageChange::Reaction { author, emoji, .. } => {
            (None, Some(author.as_str()), emoji.as_deref())
        }
    };
    json!({"type": c.kind(), "target": c.target(), "body": body, "author": author,
           "emoji": emoji, "group": c.group(), "to": c.to()})
}

fn build() -> Value {
    let thirty_two = "🏳️‍🌈🏳️‍🌈"; // 2 × 14 bytes, and 4 more below
    let emoji_32 = format!("{thirty_two}👍");
    assert_eq!(emoji_32.len(), 32);
    let valid: Vec<(&str, String)> = vec![
        (
            "edit",
            format!(r#"{{"type":"edit","target":"{ID}","body":"deploy at 13:00"}}"#),
        ),
        (
            "edit of a group's message",
            format!(
                r#"{{"type":"edit","target":"{ID}","body":"lunch at 12:30?","group":"{GROUP}"}}"#
            ),
        ),
        (
            "edit for the sender's own other devices",
            format!(r#"{{"type":"edit","target":"{ID}","body":"ok","to":"bob"}}"#),
        ),
        (
            "edit, members in another order, escapes read and written as chatd writes",
            format!(
                r#"{{"body":"caf\u00e9\n\"quoted\"\ttab \u001b[0m","target":"{ID}","type":"edit"}}"#
            ),
        ),
        (
            "edit with a member §14.1 does not define (ignored)",
            format!(r#"{{"type":"edit","target":"{ID}","body":"x","reason":"typo"}}"#),
        ),
        ("delete", format!(r#"{{"type":"delete","target":"{ID}"}}"#)),
        (
            "delete of a group's message",
            format!(r#"{{"type":"delete","target":"{ID}","group":"{GROUP}"}}"#),
        ),
        (
            "react",
            format!(r#"{{"type":"react","target":"{ID}","author":"bob","emoji":"👍"}}"#),
        ),
        (
            "react taken back",
            format!(r#"{{"type":"react","target":"{ID}","author":"bob","emoji":null}}"#),
        ),
        (
            "react with modifiers and joiners, in a group",
            format!(
                r#"{{"type":"react","target":"{ID}","author":"carol","emoji":"👩🏽‍💻","group":"{GROUP}"}}"#
            ),
        ),
        (
            "react of 32 bytes",
            format!(r#"{{"type":"react","target":"{ID}","author":"bob","emoji":"{emoji_32}"}}"#),
        ),
    ];
    let invalid: Vec<(&str, String)> = vec![
        (
            "target in upper case",
            format!(r#"{{"type":"delete","target":"{}"}}"#, ID.to_uppercase()),
        ),
        (
            "target of 31 digits",
            format!(r#"{{"type":"delete","target":"{}"}}"#, &ID[1..]),
        ),
        (
            "target a number",
            r#"{"type":"delete","target":12}"#.to_owned(),
        ),
        (
            "edit without body",
            format!(r#"{{"type":"edit","target":"{ID}"}}"#),
        ),
        (
            "body not a string",
            format!(r#"{{"type":"edit","target":"{ID}","body":["x"]}}"#),
        ),
        (
            "group not 32 hex digits",
            format!(r#"{{"type":"delete","target":"{ID}","group":"ops"}}"#),
        ),
        (
            "both group and to",
            format!(r#"{{"type":"delete","target":"{ID}","group":"{GROUP}","to":"bob"}}"#),
        ),
        (
            "to not a username",
            format!(r#"{{"type":"delete","target":"{ID}","to":"Bob"}}"#),
        ),
        (
            "react without author",
            format!(r#"{{"type":"react","target":"{ID}","emoji":"👍"}}"#),
        ),
        (
            "react without emoji",
            format!(r#"{{"type":"react","target":"{ID}","author":"bob"}}"#),
        ),
        (
            "author not a username",
            format!(r#"{{"type":"react","target":"{ID}","author":"b","emoji":"👍"}}"#),
        ),
        (
            "emoji empty",
            format!(r#"{{"type":"react","target":"{ID}","author":"bob","emoji":""}}"#),
        ),
        (
            "emoji with a space",
            format!(r#"{{"type":"react","target":"{ID}","author":"bob","emoji":"👍 👍"}}"#),
        ),
        (
            "emoji with a control character",
            format!(r#"{{"type":"react","target":"{ID}","author":"bob","emoji":"\u001b[2J"}}"#),
        ),
        (
            "emoji of 33 bytes",
            format!(r#"{{"type":"react","target":"{ID}","author":"bob","emoji":"{emoji_32}x"}}"#),
        ),
        (
            "emoji a number",
            format!(r#"{{"type":"react","target":"{ID}","author":"bob","emoji":1}}"#),
        ),
        (
            "a lone surrogate in the body",
            format!(r#"{{"type":"edit","target":"{ID}","body":"\ud800"}}"#),
        ),
        ("not JSON", r#"{"type":"edit","target":"#.to_owned()),
    ];
    let valid: Vec<Value> = valid
        .into_iter()
        .map(|(name, payload)| {
            let c = MessageChange::from_json(payload.as_bytes())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let written = String::from_utf8(c.to_json().unwrap()).unwrap();
            json!({"name": name, "payload": payload, "fields": fields(&c), "written": written})
        })
        .collect();
    let invalid: Vec<Value> = invalid
        .into_iter()
        .map(|(name, payload)| {
            let e = MessageChange::from_json(payload.as_bytes())
                .err()
                .unwrap_or_else(|| panic!("{name} was read"));
            json!({"name": name, "payload": payload, "error": self::name(&e)})
        })
        .collect();
    json!({"version": 1, "valid": valid, "invalid": invalid})
}

#[test]
fn the_frozen_vectors_are_what_chatd_reads_and_writes() {
    let text = std::fs::read_to_string(path()).expect("changes.json is committed");
    let file: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        file,
        build(),
        "the reader changed: regenerate on purpose only"
    );
    for v in file["valid"].as_array().unwrap() {
        let payload = v["payload"].as_str().unwrap();
        // Also through the payload reader every envelope's plaintext goes through.
        let p = ipc_schema::Payload::from_json(payload.as_bytes()).unwrap();
        let ipc_schema::Payload::Change(c) = p else {
            panic!("{}: not a change", v["name"]);
        };
        assert_eq!(fields(&c), v["fields"]);
        assert_eq!(
            String::from_utf8(c.to_json().unwrap()).unwrap(),
            v["written"]
        );
    }
    for v in file["invalid"].as_array().unwrap() {
        let payload = v["payload"].as_str().unwrap();
        let e = ipc_schema::Payload::from_json(payload.as_bytes()).unwrap_err();
        assert_eq!(name(&e), v["error"], "{}", v["name"]);
    }
}

#[test]
#[ignore = "writes vectors/changes.json"]
fn regenerate() {
    if std::env::var_os("CHAT_REGEN_VECTORS").is_none() {
        return;
    }
    let text = serde_json::to_string_pretty(&build()).unwrap() + "\n";
    std::fs::write(path(), text).unwrap();
}
