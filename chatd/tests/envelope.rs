//! Envelope behaviour beyond the frozen vectors: the opening order's promise
//! that hostile input costs no private-key operation, replay refusal, the
//! size caps, and property tests over random payloads and random tampering.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chatd::crypto::{Identity, OpenError, open, open_json, seal};
use common::{Book, identity, load_vectors};
use ipc_schema::envelope::MAX_BODY;
use ipc_schema::{Envelope, Payload};
use proptest::prelude::*;
use serde_json::Value;
use std::sync::LazyLock;

struct Keys {
    alice: Identity,
    bob: Identity,
}

/// alice (3072-bit) and bob (2048-bit) from the vectors file: loading is
/// instant, generating would cost seconds per test.
static KEYS: LazyLock<Keys> = LazyLock::new(|| {
    let v = load_vectors();
    Keys {
        alice: identity(&v, "alice"),
        bob: identity(&v, "bob"),
    }
});

/// A fresh copy of bob, so that his private-operation counter starts at zero.
fn fresh_bob() -> Identity {
    identity(&load_vectors(), "bob")
}

fn sealed(body: &str) -> Envelope {
    seal(
        &KEYS.alice,
        KEYS.bob.card(),
        &Payload::text(body),
        1_764_000_000_000,
        &mut rand::rng(),
    )
    .unwrap()
}

#[test]
fn a_valid_envelope_costs_exactly_one_private_key_operation() {
    let bob = fresh_bob();
    let env = sealed("hello");
    let opened = open(
        &bob,
        &env,
        &Book::with(&[KEYS.alice.card()]),
        &mut rand::rng(),
    )
    .unwrap();
    assert_eq!(opened.payload, Payload::text("hello"));
    assert_eq!(bob.private_key_operations(), 1);
}

#[test]
fn envelopes_from_non_contacts_cause_zero_private_key_operations() {
    let bob = fresh_bob();
    let env = sealed("hello");
    let strangers_only = Book::default();
    for _ in 0..5 {
        let err = open(&bob, &env, &strangers_only, &mut rand::rng()).unwrap_err();
        assert_eq!(err, OpenError::UnknownSender);
    }
    assert_eq!(bob.private_key_operations(), 0);
}

#[test]
fn bad_signatures_cause_zero_private_key_operations() {
    let bob = fresh_bob();
    let book = Book::with(&[KEYS.alice.card()]);
    let mut forged = sealed("hello");
    // Re-sign nothing: just alter the ciphertext an attacker would aim at.
    let mut ct = B64.decode(&forged.ct).unwrap();
    ct[0] ^= 0x80;
    forged.ct = B64.encode(ct);
    assert_eq!(
        open(&bob, &forged, &book, &mut rand::rng()),
        Err(OpenError::BadSignature)
    );
    // A signature by a key other than alice's pinned one.
    let mallory = seal(
        &KEYS.bob,
        KEYS.bob.card(),
        &Payload::text("hi"),
        1,
        &mut rand::rng(),
    )
    .unwrap();
    let as_alice = Envelope {
        from: "alice".into(),
        ..mallory
    };
    assert_eq!(
        open(&bob, &as_alice, &book, &mut rand::rng()),
        Err(OpenError::BadSignature)
    );
    assert_eq!(bob.private_key_operations(), 0);
}

#[test]
fn replays_and_misaddressed_envelopes_cause_zero_private_key_operations() {
    let bob = fresh_bob();
    let env = sealed("once");
    let mut book = Book::with(&[KEYS.alice.card()]);
    book.seen.insert(("alice".into(), env.id.clone()));
    assert_eq!(
        open(&bob, &env, &book, &mut rand::rng()),
        Err(OpenError::Replay)
    );
    let to_alice = seal(
        &KEYS.bob,
        KEYS.alice.card(),
        &Payload::text("x"),
        1,
        &mut rand::rng(),
    )
    .unwrap();
    assert_eq!(
        open(&bob, &to_alice, &book, &mut rand::rng()),
        Err(OpenError::WrongRecipient)
    );
    assert_eq!(bob.private_key_operations(), 0);
}

#[test]
fn size_caps_hold_on_both_sides() {
    let too_big = "x".repeat(MAX_BODY + 1);
    assert!(
        seal(
            &KEYS.alice,
            KEYS.bob.card(),
            &Payload::text(too_big),
            1,
            &mut rand::rng()
        )
        .is_err()
    );
    let at_cap = "x".repeat(MAX_BODY);
    let env = seal(
        &KEYS.alice,
        KEYS.bob.card(),
        &Payload::text(at_cap.clone()),
        1,
        &mut rand::rng(),
    )
    .unwrap();
    let json = serde_json::to_vec(&env).unwrap();
    assert!(json.len() <= ipc_schema::envelope::MAX_ENVELOPE_JSON);
    let opened = open_json(
        &KEYS.bob,
        &json,
        &Book::with(&[KEYS.alice.card()]),
        &mut rand::rng(),
    )
    .unwrap();
    assert_eq!(opened.payload, Payload::text(at_cap));
}

#[test]
fn garbage_is_malformed_not_a_panic() {
    let book = Book::with(&[KEYS.alice.card()]);
    for junk in [
        &b""[..],
        b"{}",
        b"null",
        b"[]",
        b"{\"v\":1}",
        &[0xff, 0xfe, 0x00],
    ] {
        let err = open_json(&KEYS.bob, junk, &book, &mut rand::rng()).unwrap_err();
        assert_eq!(err.name(), "malformed", "{}", String::from_utf8_lossy(junk));
    }
}

const FIELDS_B64: [&str; 5] = ["wk", "iv", "ct", "tag", "sig"];
const FIELDS_ALL: [&str; 9] = ["id", "from", "to", "ts", "wk", "iv", "ct", "tag", "sig"];

/// A fixed envelope alice -> bob as a JSON value, sealed once.
static BASE: LazyLock<Value> =
    LazyLock::new(|| serde_json::to_value(sealed("tamper with me")).unwrap());

/// Opens `value` as bob with a fresh counter; returns the result and the count
/// of private-key operations it cost.
fn open_value(value: &Value) -> (Result<(), OpenError>, u64) {
    let bob = fresh_bob();
    let json = serde_json::to_vec(value).unwrap();
    let r = open_json(
        &bob,
        &json,
        &Book::with(&[KEYS.alice.card()]),
        &mut rand::rng(),
    )
    .map(|_| ());
    (r, bob.private_key_operations())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn random_payloads_round_trip(body in proptest::collection::vec(any::<char>(), 0..2048), repeat in 1usize..32) {
        // Up to ~64 KiB of arbitrary Unicode (chars are up to 4 bytes).
        let body: String = body.iter().collect::<String>().repeat(repeat);
        let env = sealed(&body);
        let opened = open(&KEYS.bob, &env, &Book::with(&[KEYS.alice.card()]), &mut rand::rng()).unwrap();
        prop_assert_eq!(opened.payload, Payload::text(body));
        prop_assert_eq!(opened.from, "alice");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn flipping_any_bit_of_a_binary_field_is_rejected(field in 0..FIELDS_B64.len(), pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let field = FIELDS_B64[field];
        let mut v = BASE.clone();
        let mut bytes = B64.decode(v[field].as_str().unwrap()).unwrap();
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        v[field] = Value::String(B64.encode(&bytes));
        let (result, ops) = open_value(&v);
        prop_assert_eq!(result, Err(OpenError::BadSignature));
        prop_assert_eq!(ops, 0);
    }

    #[test]
    fn flipping_any_bit_of_the_json_text_is_rejected(pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut json = serde_json::to_vec(&*BASE).unwrap();
        let i = pos.index(json.len());
        json[i] ^= 1 << bit;
        let bob = fresh_bob();
        let r = open_json(&bob, &json, &Book::with(&[KEYS.alice.card()]), &mut rand::rng());
        // Flips inside JSON syntax may still give the same value (e.g. a
        // changed whitespace byte); only then may it open, and to the original.
        match r {
            Ok(opened) => {
                let reparsed: Value = serde_json::from_slice(&json).unwrap();
                prop_assert_eq!(&reparsed, &*BASE);
                prop_assert_eq!(opened.payload, Payload::text("tamper with me"));
            }
            Err(_) => prop_assert_eq!(bob.private_key_operations(), 0),
        }
    }

    #[test]
    fn truncating_any_field_is_rejected(field in 0..FIELDS_ALL.len(), keep in any::<prop::sample::Index>()) {
        let field = FIELDS_ALL[field];
        let mut v = BASE.clone();
        let text = match &v[field] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let cut = &text[..keep.index(text.len())];
        v[field] = if field == "ts" {
            cut.parse::<u64>().map(Value::from).unwrap_or(Value::String(cut.to_owned()))
        } else {
            Value::String(cut.to_owned())
        };
        let (result, ops) = open_value(&v);
        prop_assert!(result.is_err());
        prop_assert_eq!(ops, 0);
    }
}
