//! Envelopes sealed by the independent Python implementation of
//! docs/PROTOCOL.md (`tests/interop/protocol_v1.py`) open in chatd, to exactly
//! the payload bytes Python sealed, in both directions.
//!
//! The file is written by
//! `python3 tests/interop/check_vectors.py --write-sealed tests/interop/python-sealed.json`;
//! `scripts/test` also runs the Python side against the Rust-made vectors.

mod common;

use chatd::crypto::open_json;
use common::{Book, identity, load_vectors};
use serde_json::Value;

#[test]
fn python_sealed_envelopes_open_in_chatd() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/interop/python-sealed.json"
    );
    let sealed: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let vectors = load_vectors();
    let (alice, bob) = (identity(&vectors, "alice"), identity(&vectors, "bob"));
    let list = sealed["sealed"].as_array().unwrap();
    assert!(list.len() >= 8);
    let mut directions = std::collections::HashSet::new();
    for entry in list {
        let name = entry["name"].as_str().unwrap();
        let (me, other) = if entry["to"] == "alice" {
            (&alice, &bob)
        } else {
            (&bob, &alice)
        };
        let json = serde_json::to_vec(&entry["envelope"]).unwrap();
        let opened = open_json(me, &json, &Book::with(&[other.card()]), &mut rand::rng())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(opened.from, other.user(), "{name}");
        let payload = entry["payload"].as_str().unwrap();
        let ours = opened.payload.to_json().unwrap();
        // chatd re-encodes known payloads canonically; compare as JSON values
        // so that Python's member order and escaping are free, as the spec says.
        let theirs: Value = serde_json::from_str(payload).unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&ours).unwrap(),
            theirs,
            "{name}"
        );
        directions.insert((opened.from.clone(), me.user().to_owned()));
    }
    assert_eq!(directions.len(), 2, "both directions are covered");
}
