//! Envelopes sealed by the independent Python implementation of
//! docs/PROTOCOL.md (`tests/interop/protocol_v1.py`) open in chatd, to exactly
//! the payload bytes Python sealed, in both directions.
//!
//! The file is written by
//! `python3 tests/interop/check_vectors.py --write-sealed tests/interop/python-sealed.json`;
//! `scripts/test` also runs the Python side against the Rust-made vectors.
//! The v2 file (`tests/interop/protocol_v2.py`, docs/PROTOCOL.md §8) is written by
//! `python3 tests/interop/check_vectors.py --write-sealed-v2 tests/interop/python-sealed-v2.json`.

mod common;

use chatd::crypto::{Card, open_json};
use common::{Book, identity, load_vectors, load_vectors_v2};
use ipc_schema::SealedV2;
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

#[test]
fn python_sealed_v2_envelopes_split_and_open_in_chatd() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/interop/python-sealed-v2.json"
    );
    let sealed: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let vectors = load_vectors_v2();
    let ids = ["alice", "bob", "carol"].map(|u| identity(&vectors, u));
    let list = sealed["sealed"].as_array().unwrap();
    assert!(list.len() >= 9);
    let mut opened_by = std::collections::HashSet::new();
    for entry in list {
        let name = entry["name"].as_str().unwrap();
        let env: SealedV2 = serde_json::from_value(entry["sealed"].clone()).unwrap();
        let delivered = env
            .split()
            .unwrap_or_else(|e| panic!("{name}: chatd's split: {e}"));
        let to: Vec<&str> = entry["to"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u.as_str().unwrap())
            .collect();
        assert_eq!(delivered.len(), to.len(), "{name}");
        for d in delivered {
            let me = ids.iter().find(|i| i.user() == d.to.user).unwrap();
            let others: Vec<&Card> = ids
                .iter()
                .filter(|i| i.user() != me.user())
                .map(|i| i.card())
                .collect();
            let json = serde_json::to_vec(&d).unwrap();
            let opened = open_json(me, &json, &Book::with(&others), &mut rand::rng())
                .unwrap_or_else(|e| panic!("{name} for {}: {e}", me.user()));
            assert_eq!(opened.from, entry["from"].as_str().unwrap(), "{name}");
            let theirs: Value = serde_json::from_str(entry["payload"].as_str().unwrap()).unwrap();
            let ours: Value = serde_json::from_slice(&opened.payload.to_json().unwrap()).unwrap();
            assert_eq!(ours, theirs, "{name}");
            opened_by.insert(me.user().to_owned());
        }
    }
    assert_eq!(opened_by.len(), 3, "every user opened some");
}
