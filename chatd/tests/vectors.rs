//! Frozen envelope v1 vectors (chatd/tests/vectors/envelope-v1.json).
//!
//! The file was produced once by `regenerate_vectors` below from keys made
//! with a seeded RNG; these tests check that every valid vector opens to its
//! payload, every invalid one fails with its named error, and that sealing the
//! same inputs with the same seed still yields the file byte for byte.
//!
//! To rewrite the file after a deliberate protocol change (never otherwise):
//! `CHAT_REGEN_VECTORS=1 cargo test -p chatd --test vectors -- --ignored`

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chatd::crypto::envelope::{SealParts, pad, seal_bytes, seal_padded};
use chatd::crypto::primitives;
use chatd::crypto::{Card, Identity, KeyBits, open_json};
use common::{Book, identity, load_vectors, vectors_path};
use ipc_schema::{Envelope, Payload, ReceiptKind};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

const SEAL_SEED: [u8; 32] = [0x5e; 32];
const TS: u64 = 1_764_000_000_123;

/// The exact bytes chatd writes for `payload`.
fn encoded(payload: Payload) -> String {
    String::from_utf8(payload.to_json().unwrap()).unwrap()
}

fn text_payload(body: &str) -> String {
    encoded(Payload::text(body))
}

/// A text payload of exactly `len` bytes.
fn text_payload_of_len(len: usize) -> String {
    let overhead = text_payload("").len();
    text_payload(&"x".repeat(len - overhead))
}

fn env_value(env: &Envelope) -> Value {
    serde_json::to_value(env).unwrap()
}

fn flip_b64(value: &mut Value, field: &str) {
    let mut bytes = B64.decode(value[field].as_str().unwrap()).unwrap();
    bytes[0] ^= 0x01;
    value[field] = Value::String(B64.encode(bytes));
}

/// Builds the whole vectors document from the two identities and the fixed seed.
fn build_vectors(alice: &Identity, bob: &Identity) -> Value {
    let mut rng = ChaCha20Rng::from_seed(SEAL_SEED);
    let mut ts = TS;
    let mut next_ts = || {
        ts += 1000;
        ts
    };

    let emoji = "👍🏽 ship it 🚀 👩‍👩‍👧 🇳🇴";
    let multibyte = "grüße · привет · 日本語 · ελληνικά · עברית";
    let large: String = (0..64 * 1024)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    let cases: Vec<(&str, &Identity, &Identity, String)> = vec![
        ("text_empty_body", alice, bob, text_payload("")),
        ("text_one_byte_body", alice, bob, text_payload("a")),
        ("payload_255_bytes", alice, bob, text_payload_of_len(255)),
        ("payload_256_bytes", alice, bob, text_payload_of_len(256)),
        ("payload_257_bytes", alice, bob, text_payload_of_len(257)),
        ("text_multibyte_utf8", alice, bob, text_payload(multibyte)),
        ("text_emoji", alice, bob, text_payload(emoji)),
        (
            "text_json_escapes",
            alice,
            bob,
            text_payload("quote \" backslash \\ newline \n tab \t nul \u{0}"),
        ),
        ("text_64_kib_body", alice, bob, text_payload(&large)),
        (
            "text_with_reply_to",
            alice,
            bob,
            encoded(Payload::Text {
                body: "yes".into(),
                reply_to: Some("00112233445566778899aabbccddeeff".into()),
                to: None,
            }),
        ),
        (
            "receipt_delivered",
            alice,
            bob,
            encoded(Payload::Receipt {
                ids: vec![
                    "00112233445566778899aabbccddeeff".into(),
                    "ffeeddccbbaa99887766554433221100".into(),
                ],
                kind: ReceiptKind::Delivered,
            }),
        ),
        (
            "unsupported_type_kept",
            alice,
            bob,
            r#"{"type":"reaction","to":"00112233445566778899aabbccddeeff","emoji":"🎉"}"#
                .to_owned(),
        ),
        (
            "bob_to_alice_2048_signer_3072_recipient",
            bob,
            alice,
            text_payload("hello from a 2048-bit key"),
        ),
    ];

    let mut valid = Vec::new();
    let mut sealed = Vec::new();
    for (name, from, to, payload) in cases {
        let env = seal_bytes(from, to.card(), payload.as_bytes(), next_ts(), &mut rng).unwrap();
        valid.push(json!({
            "name": name, "from": from.user(), "to": to.user(),
            "payload": payload, "envelope": env_value(&env),
        }));
        sealed.push(env);
    }

    let base = env_value(&sealed[1]);
    let mut invalid = Vec::new();
    let mut push = |name: &str, to: &str, envelope: Value, error: &str| {
        invalid.push(json!({"name": name, "to": to, "envelope": envelope, "error": error}));
    };

    // Each field tampered in turn, on an envelope alice -> bob.
    let mut v = base.clone();
    let id = v["id"].as_str().unwrap().to_owned();
    let flipped = if id.starts_with('0') { "1" } else { "0" };
    v["id"] = Value::String(format!("{flipped}{}", &id[1..]));
    push("tampered_id", "bob", v, "bad_signature");
    let mut v = base.clone();
    v["from"] = json!("alicf");
    push("tampered_from", "bob", v, "unknown_sender");
    let mut v = base.clone();
    v["to"] = json!("bobby");
    push("tampered_to", "bob", v, "wrong_recipient");
    let mut v = base.clone();
    v["ts"] = json!(base["ts"].as_u64().unwrap() + 1);
    push("tampered_ts", "bob", v, "bad_signature");
    for field in ["wk", "iv", "ct", "tag", "sig"] {
        let mut v = base.clone();
        flip_b64(&mut v, field);
        push(&format!("tampered_{field}"), "bob", v, "bad_signature");
    }
    let ct = B64.decode(base["ct"].as_str().unwrap()).unwrap();
    let mut v = base.clone();
    v["ct"] = json!(B64.encode(&ct[..ct.len() - 16]));
    push("truncated_ct_whole_block", "bob", v, "bad_signature");
    let mut v = base.clone();
    v["ct"] = json!(B64.encode(&ct[..ct.len() - 1]));
    push("truncated_ct_partial_block", "bob", v, "malformed");
    let mut v = base.clone();
    v["v"] = json!(2);
    push("version_2", "bob", v, "unsupported_version");
    let mut v = base.clone();
    v["extra"] = json!(true);
    push("unknown_field", "bob", v, "malformed");
    let mut v = base.clone();
    v.as_object_mut().unwrap().remove("tag");
    push("missing_tag", "bob", v, "malformed");
    let mut v = base.clone();
    v["iv"] = json!(B64.encode([0u8; 15]));
    push("short_iv", "bob", v, "malformed");

    // Valid envelope alice -> bob, handed to... bob? No: one addressed to alice, opened by bob.
    push(
        "wrong_recipient",
        "bob",
        env_value(&sealed[sealed.len() - 1]),
        "wrong_recipient",
    );

    // A name bob has no card for; the envelope is otherwise well formed
    // (signed by bob's key, since no third key is in this file).
    let padded = pad(text_payload("hi bob, it's carol").as_bytes());
    let carol = custom(
        bob,
        "carol",
        bob.card(),
        &padded,
        Wrap::Normal,
        next_ts(),
        &mut rng,
    );
    push("unknown_sender", "bob", env_value(&carol), "unknown_sender");

    // Claims to be from alice but is signed with bob's signing key.
    let forged = custom(
        bob,
        "alice",
        bob.card(),
        &padded,
        Wrap::Normal,
        next_ts(),
        &mut rng,
    );
    push(
        "signature_by_other_key",
        "bob",
        env_value(&forged),
        "bad_signature",
    );

    // Correctly signed by alice, broken after the signature check. These only
    // a key holder can produce; they pin the order of the later checks.
    let padded = pad(text_payload("signed but broken").as_bytes());
    let e = custom(
        alice,
        "alice",
        bob.card(),
        &padded,
        Wrap::WrongMac,
        next_ts(),
        &mut rng,
    );
    push("signed_bad_mac", "bob", env_value(&e), "bad_mac");
    let e = custom(
        alice,
        "alice",
        bob.card(),
        &padded,
        Wrap::KeyBytes(48),
        next_ts(),
        &mut rng,
    );
    push(
        "signed_wrapped_key_48_bytes",
        "bob",
        env_value(&e),
        "key_length",
    );
    let e = custom(
        alice,
        "alice",
        bob.card(),
        &padded,
        Wrap::ToOther(alice.card()),
        next_ts(),
        &mut rng,
    );
    push(
        "signed_key_wrapped_for_someone_else",
        "bob",
        env_value(&e),
        "key_unwrap",
    );
    let e = custom(
        alice,
        "alice",
        bob.card(),
        &padded,
        Wrap::BadPkcs7,
        next_ts(),
        &mut rng,
    );
    push("signed_bad_pkcs7", "bob", env_value(&e), "decrypt");
    let mut no_marker = padded.to_vec();
    no_marker
        .iter_mut()
        .skip(text_payload("signed but broken").len())
        .for_each(|b| *b = 0);
    let e = seal_padded(alice, bob.card(), &no_marker, next_ts(), &mut rng).unwrap();
    push(
        "signed_padding_without_marker",
        "bob",
        env_value(&e),
        "padding",
    );
    let short = &padded[..240];
    let e = seal_padded(alice, bob.card(), short, next_ts(), &mut rng).unwrap();
    push(
        "signed_padding_not_a_whole_bucket",
        "bob",
        env_value(&e),
        "padding",
    );
    let e = seal_bytes(alice, bob.card(), b"this is not json", next_ts(), &mut rng).unwrap();
    push("signed_payload_not_json", "bob", env_value(&e), "payload");
    let e = seal_bytes(
        alice,
        bob.card(),
        br#"{"type":"text"}"#,
        next_ts(),
        &mut rng,
    )
    .unwrap();
    push("signed_text_without_body", "bob", env_value(&e), "payload");

    // Added after the first freeze; appended so that every earlier vector
    // (and the RNG stream that made it) stays byte for byte the same.
    let mut v = base.clone();
    v["id"] = json!(v["id"].as_str().unwrap().to_uppercase());
    push("uppercase_id", "bob", v, "malformed");
    let mut v = base.clone();
    let iv = v["iv"].as_str().unwrap().to_owned();
    // Same 16 bytes plus non-zero trailing bits: decodes leniently, not canonically.
    let last = iv.as_bytes()[21];
    let bumped = if last == b'A' { 'B' } else { 'A' };
    v["iv"] = json!(format!("{}{}{}", &iv[..21], bumped, &iv[22..]));
    push("non_canonical_base64_iv", "bob", v, "malformed");
    let mut v = base.clone();
    v["iv"] = json!(iv.replace('=', ""));
    push("unpadded_base64_iv", "bob", v, "malformed");
    let mut v = base.clone();
    v["ts"] = json!(1.5);
    push("fractional_ts", "bob", v, "malformed");
    let mut v = base.clone();
    let sig = B64.decode(v["sig"].as_str().unwrap()).unwrap();
    v["sig"] = json!(B64.encode(&sig[..300]));
    push("sig_not_an_rsa_size", "bob", v, "malformed");
    // Right length for bob's key, but not an OAEP encoding of anything.
    let e = custom(
        alice,
        "alice",
        bob.card(),
        &padded,
        Wrap::Garbage,
        next_ts(),
        &mut rng,
    );
    push("signed_wk_not_oaep", "bob", env_value(&e), "key_unwrap");
    // A whole-block PKCS#7 pad is the only one chat writes; a one-byte pad
    // leaves 271 bytes, not a whole number of 256-byte buckets.
    let e = custom(
        alice,
        "alice",
        bob.card(),
        &padded,
        Wrap::ShortPkcs7,
        next_ts(),
        &mut rng,
    );
    push("signed_short_pkcs7_pad", "bob", env_value(&e), "padding");

    let key_entry = |id: &Identity| {
        json!({
            "card": id.card().to_value(),
            "fingerprint": id.card().fingerprint().to_hex(),
            "enc_private_pkcs8": B64.encode(id.enc_private_pkcs8().expose_secret()),
            "sig_private_pkcs8": B64.encode(id.sig_private_pkcs8().expose_secret()),
        })
    };
    json!({
        "version": 1,
        "keys": {"alice": key_entry(alice), "bob": key_entry(bob)},
        "valid": valid,
        "invalid": invalid,
    })
}

/// How `custom` wraps (or breaks) the key material.
enum Wrap<'a> {
    Normal,
    WrongMac,
    KeyBytes(usize),
    ToOther(&'a Card),
    BadPkcs7,
    Garbage,
    ShortPkcs7,
}

/// Seals by hand so that one step can be broken while the envelope is still
/// signed by `signer` under the name `from`.
fn custom(
    signer: &Identity,
    from: &str,
    to: &Card,
    padded: &[u8],
    wrap: Wrap<'_>,
    ts: u64,
    rng: &mut ChaCha20Rng,
) -> Envelope {
    use rand_chacha::rand_core::Rng;
    let mut id = [0u8; 16];
    rng.fill_bytes(&mut id);
    let mut keys = [0u8; 64];
    rng.fill_bytes(&mut keys);
    let mut iv = [0u8; 16];
    rng.fill_bytes(&mut iv);
    let enc_key: [u8; 32] = keys[..32].try_into().unwrap();
    let ct = match wrap {
        Wrap::BadPkcs7 => {
            // Encrypt one extra all-zero block, then drop the PKCS#7 block:
            // the last plaintext block now ends in 0x00, which is no padding.
            let mut data = padded.to_vec();
            data.extend_from_slice(&[0u8; 16]);
            let full = primitives::aes256_cbc_encrypt(&enc_key, &iv, &data);
            full[..full.len() - 16].to_vec()
        }
        Wrap::ShortPkcs7 => {
            // padded[..255] plus PKCS#7 gives one 0x01 byte of padding.
            primitives::aes256_cbc_encrypt(&enc_key, &iv, &padded[..padded.len() - 1])
        }
        _ => primitives::aes256_cbc_encrypt(&enc_key, &iv, padded),
    };
    let wk = match wrap {
        Wrap::KeyBytes(n) => primitives::oaep_encrypt(to.enc_key(), &keys[..n], rng).unwrap(),
        Wrap::ToOther(card) => primitives::oaep_encrypt(card.enc_key(), &keys, rng).unwrap(),
        Wrap::Garbage => {
            let mut wk = vec![0u8; to.enc_key().size()];
            rng.fill_bytes(&mut wk[1..]);
            wk
        }
        _ => primitives::oaep_encrypt(to.enc_key(), &keys, rng).unwrap(),
    };
    let mut mac_key = keys[32..].to_vec();
    if let Wrap::WrongMac = wrap {
        mac_key[0] ^= 1;
    }
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    SealParts {
        id: hex,
        from,
        to: to.user(),
        ts,
        wk,
        iv,
        ct,
    }
    .finish(signer, &mac_key, rng)
    .unwrap()
}

fn contacts_of<'a>(name: &str, alice: &'a Identity, bob: &'a Identity) -> Book {
    match name {
        "alice" => Book::with(&[bob.card()]),
        _ => Book::with(&[alice.card()]),
    }
}

#[test]
fn every_valid_vector_opens_to_its_payload() {
    let vectors = load_vectors();
    let (alice, bob) = (identity(&vectors, "alice"), identity(&vectors, "bob"));
    let valid = vectors["valid"].as_array().unwrap();
    assert!(valid.len() >= 13);
    for v in valid {
        let name = v["name"].as_str().unwrap();
        let me = if v["to"] == "alice" { &alice } else { &bob };
        let book = contacts_of(me.user(), &alice, &bob);
        let json = serde_json::to_vec(&v["envelope"]).unwrap();
        let opened =
            open_json(me, &json, &book, &mut rand::rng()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(opened.from, v["from"].as_str().unwrap(), "{name}");
        assert_eq!(opened.id, v["envelope"]["id"].as_str().unwrap(), "{name}");
        let payload = opened.payload.to_json().unwrap();
        assert_eq!(payload, v["payload"].as_str().unwrap().as_bytes(), "{name}");
    }
}

#[test]
fn every_invalid_vector_fails_with_its_named_error() {
    let vectors = load_vectors();
    let (alice, bob) = (identity(&vectors, "alice"), identity(&vectors, "bob"));
    let invalid = vectors["invalid"].as_array().unwrap();
    assert!(invalid.len() >= 30);
    for v in invalid {
        let name = v["name"].as_str().unwrap();
        let me = if v["to"] == "alice" { &alice } else { &bob };
        let book = contacts_of(me.user(), &alice, &bob);
        let json = serde_json::to_vec(&v["envelope"]).unwrap();
        let err = open_json(me, &json, &book, &mut rand::rng()).expect_err(name);
        assert_eq!(err.name(), v["error"].as_str().unwrap(), "{name}: {err}");
    }
}

#[test]
fn keys_in_the_file_match_their_cards_and_fingerprints() {
    let vectors = load_vectors();
    for name in ["alice", "bob"] {
        let id = identity(&vectors, name);
        let entry = &vectors["keys"][name];
        assert_eq!(id.card().to_value(), entry["card"]);
        assert_eq!(
            id.card().fingerprint().to_hex(),
            entry["fingerprint"].as_str().unwrap()
        );
        let card = Card::from_value(&entry["card"]).unwrap();
        assert_eq!(card.fingerprint(), id.card().fingerprint());
    }
    assert_eq!(identity(&vectors, "alice").key_bits(), 3072);
    assert_eq!(identity(&vectors, "bob").key_bits(), 2048);
}

#[test]
fn sealing_still_reproduces_the_frozen_file() {
    let vectors = load_vectors();
    let (alice, bob) = (identity(&vectors, "alice"), identity(&vectors, "bob"));
    let rebuilt = build_vectors(&alice, &bob);
    for section in ["valid", "invalid"] {
        let (old, new) = (
            vectors[section].as_array().unwrap(),
            rebuilt[section].as_array().unwrap(),
        );
        assert_eq!(old.len(), new.len(), "{section}: vector count changed");
        for (a, b) in old.iter().zip(new) {
            assert_eq!(a, b, "{section} vector {} changed", a["name"]);
        }
    }
    assert_eq!(vectors, rebuilt);
}

/// Writes the vectors file. Run only on a deliberate protocol change.
#[test]
#[ignore = "rewrites the frozen vectors; run by hand with CHAT_REGEN_VECTORS=1"]
fn regenerate_vectors() {
    if std::env::var_os("CHAT_REGEN_VECTORS").is_none() {
        return;
    }
    let alice = Identity::generate(
        "alice",
        KeyBits::B3072,
        &mut ChaCha20Rng::from_seed([0xa1; 32]),
    )
    .unwrap();
    let bob = Identity::generate(
        "bob",
        KeyBits::B2048,
        &mut ChaCha20Rng::from_seed([0xb0; 32]),
    )
    .unwrap();
    let doc = build_vectors(&alice, &bob);
    let mut text = serde_json::to_string_pretty(&doc).unwrap();
    text.push('\n');
    std::fs::write(vectors_path(), text).unwrap();
}
