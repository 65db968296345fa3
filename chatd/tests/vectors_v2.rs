//! Frozen envelope v2 vectors (chatd/tests/vectors/envelope-v2.json,
//! docs/PROTOCOL.md §8.7).
//!
//! alice and bob are the keys of the v1 file; carol's were made once with a
//! seeded RNG. The tests check that every sealed vector splits into exactly
//! its delivered forms, that each of those opens for its recipient to the
//! payload, that every invalid envelope fails with its named error, that every
//! invalid sealed form is refused, and that sealing again with the same seed
//! still gives the file byte for byte.
//!
//! To rewrite the file after a deliberate protocol change (never otherwise):
//! `CHAT_REGEN_VECTORS=1 cargo test -p chatd --test vectors_v2 -- --ignored`

mod common;

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chatd::crypto::envelope::pad;
use chatd::crypto::envelope_v2::{SealPartsV2, key_commitment, seal_v2_bytes};
use chatd::crypto::primitives;
use chatd::crypto::{Card, Identity, KeyBits, open_json};
use common::{Book, identity, load_vectors};
use ipc_schema::envelope_v2::{MAX_RECIPIENTS, SealedV2};
use ipc_schema::{Payload, ReceiptKind};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

const SEAL_SEED: [u8; 32] = [0x2e; 32];
/// The stream of the several-devices vectors (§11), apart from the others'.
const DEVICES_SEED: [u8; 32] = [0x5d; 32];
const TS: u64 = 1_764_100_000_000;
const USERS: [&str; 3] = ["alice", "bob", "carol"];

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/envelope-v2.json")
}

fn load() -> Value {
    let text = std::fs::read_to_string(path()).expect("v2 vectors file is committed");
    serde_json::from_str(&text).expect("v2 vectors file is JSON")
}

fn encoded(payload: Payload) -> String {
    String::from_utf8(payload.to_json().unwrap()).unwrap()
}

fn text(body: &str) -> String {
    encoded(Payload::text(body))
}

fn value<T: serde::Serialize>(x: &T) -> Value {
    serde_json::to_value(x).unwrap()
}

fn flip_b64(v: &mut Value, field: &str) {
    let mut bytes = B64.decode(v[field].as_str().unwrap()).unwrap();
    bytes[0] ^= 1;
    v[field] = json!(B64.encode(bytes));
}

/// The delivered form of `sealed` for `user`.
fn delivered_for(sealed: &SealedV2, user: &str) -> Value {
    let all = sealed.split().unwrap();
    value(all.iter().find(|d| d.to.user == user).unwrap())
}

/// How `custom` breaks bob's entry or the whole envelope, after the signature.
#[derive(Clone, Copy)]
enum Break {
    None,
    WrongMac,
    KeyBytes(usize),
    Garbage,
    BadPkcs7,
    CommitToOtherKeys,
    Equivocate,
}

/// Seals by hand: recipients in the given order (`None` cards get a
/// well-sized wrapped key nobody can open), one step possibly broken, still
/// signed by `signer` under the name `from`.
fn custom(
    signer: &Identity,
    from: &str,
    to: &[(&str, Option<&Card>)],
    padded: &[u8],
    brk: Break,
    ts: u64,
    rng: &mut ChaCha20Rng,
) -> SealedV2 {
    let mut id = [0u8; 16];
    rng.fill_bytes(&mut id);
    let mut keys = [0u8; 64];
    rng.fill_bytes(&mut keys);
    let mut iv = [0u8; 16];
    rng.fill_bytes(&mut iv);
    let enc_key: [u8; 32] = keys[..32].try_into().unwrap();
    let ct = match brk {
        Break::BadPkcs7 => {
            let mut data = padded.to_vec();
            data.extend_from_slice(&[0u8; 16]);
            let full = primitives::aes256_cbc_encrypt(&enc_key, &iv, &data);
            full[..full.len() - 16].to_vec()
        }
        _ => primitives::aes256_cbc_encrypt(&enc_key, &iv, padded),
    };
    let mut entries = Vec::new();
    for (user, card) in to {
        let wk = match (card, brk, *user == "bob") {
            (None, _, _) | (Some(_), Break::Garbage, true) => {
                let mut wk = vec![0u8; 256];
                rng.fill_bytes(&mut wk[1..]);
                wk
            }
            (Some(c), Break::KeyBytes(n), true) => {
                primitives::oaep_encrypt(c.enc_key(), &keys[..n], rng).unwrap()
            }
            (Some(c), Break::Equivocate, true) => {
                let mut other = keys;
                other[0] ^= 1;
                primitives::oaep_encrypt(c.enc_key(), &other, rng).unwrap()
            }
            (Some(c), _, _) => primitives::oaep_encrypt(c.enc_key(), &keys, rng).unwrap(),
        };
        entries.push(((*user).to_owned(), wk));
    }
    let mut kc = key_commitment(&keys);
    if let Break::CommitToOtherKeys = brk {
        kc = key_commitment(&[7u8; 64]);
    }
    let mut mac_key = keys[32..].to_vec();
    if let Break::WrongMac = brk {
        mac_key[0] ^= 1;
    }
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    SealPartsV2 {
        id: hex,
        from,
        ts,
        to: entries,
        kc,
        iv,
        ct,
    }
    .finish(signer, &mac_key, rng)
    .unwrap()
}

fn build(ids: &[&Identity; 3]) -> Value {
    let [alice, bob, carol] = ids;
    let mut rng = ChaCha20Rng::from_seed(SEAL_SEED);
    let mut ts = TS;
    let mut next_ts = || {
        ts += 1000;
        ts
    };
    let mut valid = Vec::new();
    let mut sealed_list = Vec::new();
    let mut add =
        |name: &str, from: &Identity, to: &[&Identity], payload: String, sealed: SealedV2| {
            let delivered: serde_json::Map<String, Value> = sealed
                .split()
                .unwrap()
                .iter()
                .filter(|d| to.iter().any(|t| t.user() == d.to.user))
                .map(|d| (d.to.user.clone(), value(d)))
                .collect();
            valid.push(json!({
                "name": name, "from": from.user(),
                "to": to.iter().map(|t| t.user()).collect::<Vec<_>>(),
                "payload": payload, "sealed": value(&sealed), "delivered": delivered,
            }));
            sealed_list.push(sealed);
        };
    let cases: Vec<(&str, &Identity, Vec<&Identity>, String)> = vec![
        ("text_to_two", alice, vec![bob, carol], text("hi both")),
        ("text_to_one", alice, vec![bob], text("just you")),
        (
            "text_multibyte_from_bob",
            bob,
            vec![carol, alice],
            text("grüße · привет · 日本語 👩‍👩‍👧"),
        ),
        (
            "receipt_from_carol",
            carol,
            vec![alice, bob],
            encoded(Payload::Receipt {
                ids: vec!["00112233445566778899aabbccddeeff".into()],
                kind: ReceiptKind::Delivered,
            }),
        ),
        (
            "text_with_reply_to",
            alice,
            vec![bob, carol],
            encoded(Payload::Text {
                body: "agreed".into(),
                reply_to: Some("ffeeddccbbaa99887766554433221100".into()),
                to: None,
            }),
        ),
        (
            "payload_256_bytes",
            bob,
            vec![alice, carol],
            text(&"y".repeat(256 - text("").len())),
        ),
        (
            "unsupported_type_kept",
            carol,
            vec![alice, bob],
            r#"{"type":"reaction","to":"00112233445566778899aabbccddeeff","emoji":"🎉"}"#
                .to_owned(),
        ),
    ];
    for (name, from, to, payload) in cases {
        let cards: Vec<&Card> = to.iter().map(|t| t.card()).collect();
        let sealed = seal_v2_bytes(from, &cards, payload.as_bytes(), next_ts(), &mut rng).unwrap();
        add(name, from, &to, payload, sealed);
    }
    // Seven recipients, five of them strangers to this file: bob sits at index
    // 5, carol at 6, whose hash moves up a level unchanged.
    let payload = text("a bigger room");
    let to: Vec<(&str, Option<&Card>)> = vec![
        ("aaron", None),
        ("abby", None),
        ("adam", None),
        ("bea", None),
        ("bill", None),
        ("bob", Some(bob.card())),
        ("carol", Some(carol.card())),
    ];
    let sealed = custom(
        alice,
        "alice",
        &to,
        &pad(payload.as_bytes()),
        Break::None,
        next_ts(),
        &mut rng,
    );
    add("seven_recipients", alice, &[bob, carol], payload, sealed);
    // One account on several devices (docs/PROTOCOL.md §11): sealed with a
    // stream and times of their own, so the vectors above stay as they were.
    let mut own_rng = ChaCha20Rng::from_seed(DEVICES_SEED);
    let own: Vec<(&str, Vec<&Identity>, String, u64)> = vec![
        (
            "sent_copy_to_own_devices",
            vec![bob, alice],
            encoded(Payload::Text {
                body: "deploy done".into(),
                reply_to: None,
                to: Some("bob".into()),
            }),
            TS + 500_000,
        ),
        (
            "read_state_to_own_devices",
            vec![alice],
            encoded(Payload::Receipt {
                ids: vec!["00112233445566778899aabbccddeeff".into()],
                kind: ReceiptKind::Read,
            }),
            TS + 501_000,
        ),
        (
            "device_added",
            vec![alice],
            encoded(Payload::DeviceAdded {
                name: "laptop".into(),
            }),
            TS + 502_000,
        ),
        (
            "contact_sync",
            vec![alice],
            encoded(Payload::Contact {
                user: "bob".into(),
                state: ipc_schema::ContactSyncState::Verified,
                card: Some(bob.card().to_json()),
                at: TS + 503_000,
                device: "5be0c1d7a4f29e36".into(),
            }),
            TS + 503_000,
        ),
    ];
    for (name, to, payload, at) in own {
        let cards: Vec<&Card> = to.iter().map(|t| t.card()).collect();
        let sealed = seal_v2_bytes(alice, &cards, payload.as_bytes(), at, &mut own_rng).unwrap();
        add(name, alice, &to, payload, sealed);
    }

    let base_sealed = sealed_list[0].clone();
    let base = delivered_for(&base_sealed, "bob");
    let mut invalid = Vec::new();
    let mut push = |name: &str, to: &str, envelope: Value, error: &str| {
        invalid.push(json!({"name": name, "to": to, "envelope": envelope, "error": error}));
    };
    let mut v = base.clone();
    let id = v["id"].as_str().unwrap().to_owned();
    v["id"] = json!(format!(
        "{}{}",
        if id.starts_with('0') { "1" } else { "0" },
        &id[1..]
    ));
    push("tampered_id", "bob", v, "bad_signature");
    let mut v = base.clone();
    v["from"] = json!("alicf");
    push("tampered_from", "bob", v, "unknown_sender");
    let mut v = base.clone();
    v["ts"] = json!(base["ts"].as_u64().unwrap() + 1);
    push("tampered_ts", "bob", v, "bad_signature");
    for field in ["kc", "iv", "ct", "tag", "sig"] {
        let mut v = base.clone();
        flip_b64(&mut v, field);
        push(&format!("tampered_{field}"), "bob", v, "bad_signature");
    }
    let mut v = base.clone();
    flip_b64(&mut v["to"], "wk");
    push("tampered_wk", "bob", v, "bad_signature");
    let mut v = base.clone();
    let mut p0 = B64.decode(v["to"]["path"][0].as_str().unwrap()).unwrap();
    p0[31] ^= 0x80;
    v["to"]["path"][0] = json!(B64.encode(p0));
    push("tampered_path", "bob", v, "bad_signature");
    let mut v = base.clone();
    v["to"]["i"] = json!(1);
    push("index_moved_same_path_length", "bob", v, "bad_signature");
    // carol's entry handed to bob under his name: he is not in the signed list.
    let mut v = delivered_for(&base_sealed, "carol");
    v["to"]["user"] = json!("bob");
    push("not_a_signed_recipient", "bob", v, "bad_signature");
    push(
        "delivered_to_someone_else",
        "bob",
        delivered_for(&base_sealed, "carol"),
        "wrong_recipient",
    );
    let mut v = base.clone();
    v["to"]["user"] = json!("bobby");
    push("tampered_recipient_name", "bob", v, "wrong_recipient");
    let mut v = base.clone();
    v["n"] = json!(3);
    push("n_does_not_fit_the_path", "bob", v, "malformed");
    let mut v = base.clone();
    v["n"] = json!(0);
    v["to"]["path"] = json!([]);
    push("n_zero", "bob", v, "malformed");
    let mut v = base.clone();
    v["n"] = json!(MAX_RECIPIENTS + 1);
    push("n_over_1000", "bob", v, "malformed");
    let mut v = base.clone();
    v["to"]["i"] = json!(2);
    push("index_not_below_n", "bob", v, "malformed");
    let mut v = base.clone();
    v["to"]["path"] = json!([]);
    push("path_too_short", "bob", v, "malformed");
    let mut v = base.clone();
    let p = v["to"]["path"][0].clone();
    v["to"]["path"] = json!([p.clone(), p]);
    push("path_too_long", "bob", v, "malformed");
    let mut v = base.clone();
    v["to"]["path"] = json!([B64.encode([0u8; 31])]);
    push("path_hash_31_bytes", "bob", v, "malformed");
    let mut v = base.clone();
    v["extra"] = json!(1);
    push("unknown_member", "bob", v, "malformed");
    let mut v = base.clone();
    v["to"]["extra"] = json!(1);
    push("unknown_member_in_to", "bob", v, "malformed");
    let mut v = base.clone();
    v.as_object_mut().unwrap().remove("kc");
    push("missing_kc", "bob", v, "malformed");
    let mut v = base.clone();
    v["kc"] = json!(B64.encode([0u8; 31]));
    push("short_kc", "bob", v, "malformed");
    let mut v = base.clone();
    v["v"] = json!(1);
    push("version_1_with_v2_members", "bob", v, "unsupported_version");
    let mut v = base.clone();
    v["v"] = json!(3);
    push("version_3", "bob", v, "unsupported_version");
    push(
        "sealed_form_is_not_delivered",
        "bob",
        value(&base_sealed),
        "malformed",
    );

    // Signed, broken after the signature: only a key holder makes these.
    let padded = pad(text("signed but broken").as_bytes());
    let two = |b: &Identity, c: &Identity| {
        vec![
            ("bob", Some(b.card().clone())),
            ("carol", Some(c.card().clone())),
        ]
    };
    let recips = two(bob, carol);
    let to: Vec<(&str, Option<&Card>)> = recips.iter().map(|(u, c)| (*u, c.as_ref())).collect();
    let mut signed = |name: &str,
                      from: &str,
                      signer: &Identity,
                      brk: Break,
                      error: &str,
                      rng: &mut ChaCha20Rng,
                      ts: u64| {
        let s = custom(signer, from, &to, &padded, brk, ts, rng);
        push(name, "bob", delivered_for(&s, "bob"), error);
    };
    signed(
        "unknown_sender",
        "dave",
        carol,
        Break::None,
        "unknown_sender",
        &mut rng,
        next_ts(),
    );
    signed(
        "signature_by_other_key",
        "alice",
        carol,
        Break::None,
        "bad_signature",
        &mut rng,
        next_ts(),
    );
    signed(
        "signed_wk_not_oaep",
        "alice",
        alice,
        Break::Garbage,
        "key_unwrap",
        &mut rng,
        next_ts(),
    );
    signed(
        "signed_wrapped_key_48_bytes",
        "alice",
        alice,
        Break::KeyBytes(48),
        "key_length",
        &mut rng,
        next_ts(),
    );
    signed(
        "signed_commitment_to_other_keys",
        "alice",
        alice,
        Break::CommitToOtherKeys,
        "key_commit",
        &mut rng,
        next_ts(),
    );
    signed(
        "signed_equivocating_keys",
        "alice",
        alice,
        Break::Equivocate,
        "key_commit",
        &mut rng,
        next_ts(),
    );
    signed(
        "signed_bad_mac",
        "alice",
        alice,
        Break::WrongMac,
        "bad_mac",
        &mut rng,
        next_ts(),
    );
    signed(
        "signed_bad_pkcs7",
        "alice",
        alice,
        Break::BadPkcs7,
        "decrypt",
        &mut rng,
        next_ts(),
    );
    let no_marker = vec![0u8; 256];
    let s = custom(
        alice,
        "alice",
        &to,
        &no_marker,
        Break::None,
        next_ts(),
        &mut rng,
    );
    push(
        "signed_padding_without_marker",
        "bob",
        delivered_for(&s, "bob"),
        "padding",
    );
    let s = custom(
        alice,
        "alice",
        &to,
        &pad(b"not json"),
        Break::None,
        next_ts(),
        &mut rng,
    );
    push(
        "signed_payload_not_json",
        "bob",
        delivered_for(&s, "bob"),
        "payload",
    );

    // Sealed forms a relay refuses (§8.2).
    let sealed = value(&base_sealed);
    let mut invalid_sealed = Vec::new();
    let mut refuse = |name: &str, v: Value| invalid_sealed.push(json!({"name": name, "sealed": v}));
    let mut v = sealed.clone();
    let list = v["to"].as_array_mut().unwrap();
    list.reverse();
    refuse("recipients_out_of_order", v);
    let mut v = sealed.clone();
    let first = v["to"][0].clone();
    v["to"] = json!([first.clone(), first]);
    refuse("recipient_twice", v);
    let mut v = sealed.clone();
    v["to"] = json!([]);
    refuse("no_recipients", v);
    let mut v = sealed.clone();
    let wk = sealed["to"][0]["wk"].clone();
    v["to"] = Value::Array(
        (0..=MAX_RECIPIENTS)
            .map(|i| json!({"user": format!("user{i:05}"), "wk": wk}))
            .collect(),
    );
    refuse("recipients_1001", v);
    let mut v = sealed.clone();
    v["to"][0]["user"] = json!("Bob");
    refuse("recipient_not_a_username", v);
    let mut v = sealed.clone();
    v["to"][0]["wk"] = json!(B64.encode([1u8; 200]));
    refuse("wk_not_an_rsa_size", v);
    let mut v = sealed.clone();
    v["to"][0]["i"] = json!(0);
    refuse("unknown_member_in_entry", v);
    let mut v = sealed.clone();
    v["n"] = json!(2);
    refuse("delivered_member_n", v);
    let mut v = sealed.clone();
    v["v"] = json!(1);
    refuse("version_1", v);
    let mut v = sealed;
    v.as_object_mut().unwrap().remove("kc");
    refuse("missing_kc", v);

    let key_entry = |id: &Identity| {
        json!({
            "card": id.card().to_value(),
            "fingerprint": id.card().fingerprint().to_hex(),
            "enc_private_pkcs8": B64.encode(id.enc_private_pkcs8().expose_secret()),
            "sig_private_pkcs8": B64.encode(id.sig_private_pkcs8().expose_secret()),
        })
    };
    json!({
        "version": 2,
        "keys": {"alice": key_entry(alice), "bob": key_entry(bob), "carol": key_entry(carol)},
        "valid": valid,
        "invalid": invalid,
        "invalid_sealed": invalid_sealed,
    })
}

fn identities(doc: &Value) -> [Identity; 3] {
    USERS.map(|u| identity(doc, u))
}

/// The cards `me` opens envelopes with: its contacts, and its own (what its
/// own account's other devices send, docs/PROTOCOL.md §11).
fn book_of(me: &str, ids: &[Identity; 3]) -> Book {
    let cards: Vec<&Card> = ids.iter().map(|i| i.card()).collect();
    debug_assert!(cards.iter().any(|c| c.user() == me));
    Book::with(&cards)
}

fn find<'a>(ids: &'a [Identity; 3], user: &str) -> &'a Identity {
    ids.iter().find(|i| i.user() == user).unwrap()
}

#[test]
fn every_sealed_vector_splits_into_its_delivered_forms_and_each_opens() {
    let doc = load();
    let ids = identities(&doc);
    let valid = doc["valid"].as_array().unwrap();
    assert!(valid.len() >= 8);
    for v in valid {
        let name = v["name"].as_str().unwrap();
        let sealed: SealedV2 = serde_json::from_value(v["sealed"].clone()).unwrap();
        let split = sealed.split().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(split.len(), v["sealed"]["to"].as_array().unwrap().len());
        for (user, delivered) in v["delivered"].as_object().unwrap() {
            let ours = split.iter().find(|d| &d.to.user == user).unwrap();
            assert_eq!(&value(ours), delivered, "{name}: split for {user}");
            let me = find(&ids, user);
            let json = serde_json::to_vec(delivered).unwrap();
            let opened = open_json(me, &json, &book_of(user, &ids), &mut rand::rng())
                .unwrap_or_else(|e| panic!("{name} for {user}: {e}"));
            assert_eq!(opened.from, v["from"].as_str().unwrap());
            assert_eq!(
                opened.payload.to_json().unwrap(),
                v["payload"].as_str().unwrap().as_bytes(),
                "{name}"
            );
        }
    }
}

#[test]
fn every_invalid_v2_vector_fails_with_its_named_error() {
    let doc = load();
    let ids = identities(&doc);
    let invalid = doc["invalid"].as_array().unwrap();
    assert!(invalid.len() >= 35);
    let mut names = std::collections::HashSet::new();
    for v in invalid {
        let name = v["name"].as_str().unwrap();
        let user = v["to"].as_str().unwrap();
        let json = serde_json::to_vec(&v["envelope"]).unwrap();
        let err = open_json(
            find(&ids, user),
            &json,
            &book_of(user, &ids),
            &mut rand::rng(),
        )
        .expect_err(name);
        assert_eq!(err.name(), v["error"].as_str().unwrap(), "{name}: {err}");
        names.insert(err.name());
    }
    for step in [
        "malformed",
        "unsupported_version",
        "wrong_recipient",
        "unknown_sender",
        "bad_signature",
        "key_unwrap",
        "key_length",
        "key_commit",
        "bad_mac",
        "decrypt",
        "padding",
        "payload",
    ] {
        assert!(names.contains(step), "no vector fails at {step}");
    }
}

#[test]
fn every_invalid_sealed_form_is_refused() {
    let doc = load();
    for v in doc["invalid_sealed"].as_array().unwrap() {
        let json = serde_json::to_vec(&v["sealed"]).unwrap();
        assert!(
            SealedV2::parse(&json).is_err(),
            "{} was accepted",
            v["name"]
        );
    }
}

#[test]
fn alice_and_bob_are_the_v1_keys_and_sizes_are_as_documented() {
    let doc = load();
    let v1 = load_vectors();
    for user in ["alice", "bob"] {
        assert_eq!(doc["keys"][user], v1["keys"][user], "{user}");
    }
    let ids = identities(&doc);
    for (id, bits) in ids.iter().zip([3072, 2048, 2048]) {
        assert_eq!(id.key_bits(), bits);
        assert_eq!(id.card().to_value(), doc["keys"][id.user()]["card"]);
        assert_eq!(
            id.card().fingerprint().to_hex(),
            doc["keys"][id.user()]["fingerprint"].as_str().unwrap()
        );
        assert_eq!(id.card().enc_key().size() * 8, bits);
    }
}

#[test]
fn sealing_still_reproduces_the_frozen_v2_file() {
    let doc = load();
    let ids = identities(&doc);
    let rebuilt = build(&[&ids[0], &ids[1], &ids[2]]);
    for section in ["valid", "invalid", "invalid_sealed"] {
        let (old, new) = (
            doc[section].as_array().unwrap(),
            rebuilt[section].as_array().unwrap(),
        );
        assert_eq!(old.len(), new.len(), "{section}: vector count changed");
        for (a, b) in old.iter().zip(new) {
            assert_eq!(a, b, "{section} vector {} changed", a["name"]);
        }
    }
    assert_eq!(doc, rebuilt);
}

/// Writes the v2 vectors file. Run only on a deliberate protocol change.
#[test]
#[ignore = "rewrites the frozen vectors; run by hand with CHAT_REGEN_VECTORS=1"]
fn regenerate_v2_vectors() {
    if std::env::var_os("CHAT_REGEN_VECTORS").is_none() {
        return;
    }
    let v1 = load_vectors();
    let (alice, bob) = (identity(&v1, "alice"), identity(&v1, "bob"));
    let carol = Identity::generate(
        "carol",
        KeyBits::B2048,
        &mut ChaCha20Rng::from_seed([0xc0; 32]),
    )
    .unwrap();
    let doc = build(&[&alice, &bob, &carol]);
    let mut text = serde_json::to_string_pretty(&doc).unwrap();
    text.push('\n');
    std::fs::write(path(), text).unwrap();
}
