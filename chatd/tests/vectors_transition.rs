//! Frozen key-transition vectors (docs/PROTOCOL.md §13),
//! `vectors/transition.json`: each valid transition passes every check of
//! §13.3 for its sender and pinned card and moves to its new card; each
//! invalid one fails at the named step. tests/interop/check_vectors.py
//! checks the same file from an independent Python reading of §13.
//!
//! alice's old keys are hers of `envelope-v2.json`; her new keys are bob's
//! keys of that file under her name, and carol's keys under her name play a
//! key that is not pinned. The
//! signatures come from a seeded generator, so the file rebuilds exactly.
//! Regenerate (only on purpose, a format change):
//! `CHAT_REGEN_VECTORS=1 cargo test -p chatd --test vectors_transition -- --ignored`

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chatd::crypto::transition::{self, TransitionError};
use chatd::crypto::{Card, Identity};
use rand_core::SeedableRng;
use serde_json::{Value, json};

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/transition.json")
}

fn v1_keys() -> Value {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/envelope-v2.json"),
    )
    .unwrap();
    serde_json::from_str::<Value>(&text).unwrap()["keys"].clone()
}

fn identity(keys: &Value, whose: &str, user: &str) -> Identity {
    let der = |field: &str| B64.decode(keys[whose][field].as_str().unwrap()).unwrap();
    Identity::from_pkcs8(user, &der("enc_private_pkcs8"), &der("sig_private_pkcs8")).unwrap()
}

fn build() -> Value {
    let keys = v1_keys();
    let old = identity(&keys, "alice", "alice");
    let new = identity(&keys, "bob", "alice");
    let carol_keys_as_alice = identity(&keys, "carol", "alice");
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([0x7a; 32]);
    let first = transition::make(&old, &new, 1, 1_764_000_000_000, &mut rng).unwrap();
    let back = transition::make(&new, &old, 2, 1_764_100_000_000, &mut rng).unwrap();
    let valid = vec![
        json!({"name": "first rotation", "sender": "alice", "pinned": old.card().to_value(),
               "transition": first, "card": new.card().to_value(), "counter": 1}),
        json!({"name": "a second rotation, from the key the first moved to", "sender": "alice",
               "pinned": new.card().to_value(), "transition": back,
               "card": old.card().to_value(), "counter": 2}),
    ];
    let good: Value = serde_json::from_str(&first).unwrap();
    let changed = |f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        v.to_string()
    };
    // Signed by carol's keys as the "old" one, then claimed to be from
    // alice's pinned key: the old signature does not verify.
    // Claims alice's pinned key as the old one, but carol's keys made the
    // old signature: the new signature is good, the old one is not.
    let forged = transition::make_claiming(
        &carol_keys_as_alice,
        &old.card().fingerprint(),
        &new,
        1,
        1_764_000_000_000,
        &mut rng,
    )
    .unwrap();
    // Both keys the same: refused before any signature.
    let same = transition::make(&old, &old, 1, 1, &mut rng).unwrap();
    let pinned = old.card().to_value();
    let invalid = [
        ("another sender", "bob", first.clone(), "wrong_user"),
        ("from a key that is not pinned", "alice", transition::make(&carol_keys_as_alice, &new, 1, 1, &mut rng).unwrap(), "not_pinned"),
        ("forged: the old key did not sign", "alice", forged, "bad_signature"),
        ("counter changed", "alice", changed(&|v| v["counter"] = 9.into()), "bad_signature"),
        ("time changed", "alice", changed(&|v| v["at"] = 1.into()), "bad_signature"),
        ("sig_new made by the old key", "alice", changed(&|v| v["sig_new"] = good["sig_old"].clone()), "bad_signature"),
        ("the new card is the old key", "alice", same, "bad_card"),
        ("a card of someone else", "alice", changed(&|v| v["card"] = identity(&keys, "bob", "bob").card().to_json().into()), "bad_card"),
        ("unknown member", "alice", changed(&|v| v["x"] = 1.into()), "malformed"),
        ("old in uppercase", "alice", changed(&|v| v["old"] = v["old"].as_str().unwrap().to_uppercase().into()), "malformed"),
        ("version 2", "alice", changed(&|v| v["v"] = 2.into()), "unsupported"),
        ("truncated", "alice", first[..first.len() / 2].to_owned(), "malformed"),
    ]
    .map(|(name, sender, text, error)| {
        json!({"name": name, "sender": sender, "pinned": pinned, "transition": text, "error": error})
    });
    json!({
        "version": 1,
        "description": "Key transitions (docs/PROTOCOL.md §13). valid: from `sender` whose pinned card is `pinned`, `transition` passes §13.3 and moves to `card` with `counter`. invalid: it fails at the named step.",
        "valid": valid,
        "invalid": invalid,
    })
}

fn load() -> Value {
    serde_json::from_str(&std::fs::read_to_string(path()).unwrap()).unwrap()
}

fn check(v: &Value) -> Result<transition::Transition, TransitionError> {
    let pinned = Card::from_value(&v["pinned"]).unwrap();
    transition::check(
        v["transition"].as_str().unwrap().as_bytes(),
        v["sender"].as_str().unwrap(),
        &pinned,
    )
}

#[test]
fn every_valid_transition_moves_to_its_card() {
    for v in load()["valid"].as_array().unwrap() {
        let t = check(v).unwrap_or_else(|e| panic!("{}: {e}", v["name"]));
        assert_eq!(t.card.to_value(), v["card"], "{}", v["name"]);
        assert_eq!(t.counter, v["counter"].as_u64().unwrap());
    }
}

#[test]
fn every_invalid_transition_fails_at_its_named_step() {
    let doc = load();
    let invalid = doc["invalid"].as_array().unwrap();
    assert!(invalid.len() >= 10);
    for v in invalid {
        let err = check(v).unwrap_err();
        assert_eq!(err.name(), v["error"].as_str().unwrap(), "{}", v["name"]);
    }
}

#[test]
fn the_frozen_file_is_what_building_it_gives() {
    assert_eq!(
        load(),
        build(),
        "transition.json changed; regenerate only on purpose"
    );
}

#[test]
#[ignore = "rewrites the frozen vectors; run by hand with CHAT_REGEN_VECTORS=1"]
fn regenerate_transition_vectors() {
    if std::env::var_os("CHAT_REGEN_VECTORS").is_none() {
        return;
    }
    let text = serde_json::to_string_pretty(&build()).unwrap() + "\n";
    std::fs::write(path(), text).unwrap();
}
