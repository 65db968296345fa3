//! Frozen device-link vectors (docs/PROTOCOL.md §12), `vectors/link.json`:
//! each code reads back from its typed forms and derives its handle and
//! keys; sealing with the stated iv gives exactly the stored link; each
//! valid link opens to its contents; each invalid one fails at the named
//! step. tests/interop/check_vectors.py checks the same file from an
//! independent Python reading of §12.
//!
//! The identity inside is alice's of `envelope-v1.json`, with bob as a
//! contact, one group and a short history. Regenerate (only on purpose, a
//! format change):
//! `CHAT_REGEN_VECTORS=1 cargo test -p chatd --test vectors_link -- --ignored`

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chatd::crypto::Card;
use chatd::crypto::backup::{
    BackupContact, BackupContents, BackupGroup, BackupRoster, HistoryItem,
};
use chatd::crypto::link::{self, LinkCode};
use chatd::groups::Roster;
use serde_json::{Value, json};

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/link.json")
}

fn v1_keys() -> Value {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/envelope-v1.json"),
    )
    .unwrap();
    serde_json::from_str::<Value>(&text).unwrap()["keys"].clone()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

const GROUP: &str = "0123456789abcdef0123456789abcdef";

/// alice's contents with a group and a history, members in §10.1's order.
fn contents(keys: &Value, with_history: bool) -> String {
    let alice = &keys["alice"];
    let alice_card = Card::from_value(&alice["card"]).unwrap();
    let bob = Card::from_value(&keys["bob"]["card"]).unwrap();
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    let roster = Roster::genesis(GROUP, "ops", &alice_card, std::slice::from_ref(&bob)).to_text();
    let item = |id: &str, dir: &str, from: &str, to: &str, body: &str, state: &str| HistoryItem {
        id: id.into(),
        peer: "bob".into(),
        dir: dir.into(),
        from: from.into(),
        to: to.into(),
        ts: 1_764_000_000_000,
        kind: "text".into(),
        body: Some(body.into()),
        reply_to: None,
        state: state.into(),
    };
    let history = if with_history {
        vec![
            item(
                "0aa1c3d5e7f90b2d4f6a8c0e1b3d5f7a",
                "in",
                "bob",
                "alice",
                "deploy at 18:00?",
                "read",
            ),
            item(
                "0aa2c4e6f8a0b2d4f6a8c0e1b3d5f7a9",
                "out",
                "alice",
                "bob",
                "yes — après le café ☕",
                "delivered",
            ),
        ]
    } else {
        Vec::new()
    };
    serde_json::to_string(&BackupContents {
        v: 1,
        user: "alice".into(),
        enc: text(&alice["enc_private_pkcs8"]),
        sig: text(&alice["sig_private_pkcs8"]),
        contacts: vec![BackupContact {
            card: serde_json::value::RawValue::from_string(bob.to_json()).unwrap(),
            verified: false,
        }],
        groups: vec![BackupGroup {
            id: GROUP.into(),
            rosters: vec![BackupRoster {
                text: roster,
                sender: "alice".into(),
            }],
        }],
        history,
        created_at: 1_764_000_000_000,
    })
    .unwrap()
}

fn build() -> Value {
    let keys = v1_keys();
    let mut codes = Vec::new();
    for bytes in [
        [0u8; 20],
        *b"\x8f\x02\xd4\x11\xa7\x5c\x90\x3e\xe1\x44\x07\xbb\x6d\x29\xf0\x15\xc3\x88\x5a\x7e",
    ] {
        let code = LinkCode::from_bytes(bytes);
        let text = code.text();
        let typed = vec![
            text.to_lowercase(),
            text.replace('-', " "),
            text.replace('-', "").replace('0', "O").replace('1', "I"),
        ];
        let keys = code.keys();
        codes.push(json!({
            "bytes": hex(&bytes), "text": text, "typed": typed,
            "handle": code.handle(), "ke": hex(&keys[..32]), "km": hex(&keys[32..]),
        }));
    }
    let code_text = codes[1]["text"].as_str().unwrap().to_owned();
    let code = LinkCode::parse(&code_text).unwrap();
    let mut valid = Vec::new();
    for (name, with_history, iv) in [
        ("keys, contacts and a group", false, [0x5au8; 16]),
        ("with history", true, *b"iv-link-history!"),
    ] {
        let plaintext = contents(&keys, with_history);
        let sealed = link::seal_with(&code, plaintext.as_bytes(), iv);
        valid.push(json!({
            "name": name, "code": code_text, "user": "alice", "iv": B64.encode(iv),
            "plaintext": plaintext, "link": sealed,
        }));
    }
    let good: Value = serde_json::from_str(valid[0]["link"].as_str().unwrap()).unwrap();
    let good_text = valid[0]["link"].as_str().unwrap().to_owned();
    let changed = |f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        v.to_string()
    };
    let flip = |v: &mut Value, field: &str| {
        let mut bytes = B64.decode(v[field].as_str().unwrap()).unwrap();
        bytes[0] ^= 0x01;
        v[field] = Value::String(B64.encode(bytes));
    };
    let other_code = codes[0]["text"].as_str().unwrap().to_owned();
    let sealed_contents = |text: &str| link::seal_with(&code, text.as_bytes(), [0x66; 16]);
    let mut other_user: Value = serde_json::from_str(&contents(&keys, true)).unwrap();
    other_user["user"] = "mallory".into();
    let mut bad_item: Value = serde_json::from_str(&contents(&keys, true)).unwrap();
    bad_item["history"][0]["colour"] = "red".into();
    let mut bad_id: Value = serde_json::from_str(&contents(&keys, true)).unwrap();
    bad_id["history"][0]["id"] = "0aa1".into();
    let invalid = [
        ("another code", other_code.clone(), good_text.clone(), "wrong_code_or_tampered"),
        ("truncated", code_text.clone(), good_text[..good_text.len() / 2].to_owned(), "malformed"),
        ("unknown member", code_text.clone(), changed(&|v| v["x"] = 1.into()), "malformed"),
        ("a backup, not a link", code_text.clone(), changed(&|v| v["kdf"] = json!({"alg": "argon2id"})), "malformed"),
        ("iv of 15 bytes", code_text.clone(), changed(&|v| v["iv"] = B64.encode([0u8; 15]).into()), "malformed"),
        ("ct not whole blocks", code_text.clone(), changed(&|v| v["ct"] = B64.encode([0u8; 17]).into()), "malformed"),
        ("version 2", code_text.clone(), changed(&|v| v["v"] = 2.into()), "unsupported"),
        ("ct changed", code_text.clone(), changed(&|v| flip(v, "ct")), "wrong_code_or_tampered"),
        ("iv changed", code_text.clone(), changed(&|v| flip(v, "iv")), "wrong_code_or_tampered"),
        ("tag changed", code_text.clone(), changed(&|v| flip(v, "tag")), "wrong_code_or_tampered"),
        ("another account", code_text.clone(), sealed_contents(&other_user.to_string()), "bad_contents"),
        ("unknown history member", code_text.clone(), sealed_contents(&bad_item.to_string()), "bad_contents"),
        ("a history id that is not a message id", code_text.clone(), sealed_contents(&bad_id.to_string()), "bad_contents"),
    ]
    .map(|(name, code, text, error)| {
        json!({"name": name, "code": code, "user": "alice", "link": text, "error": error})
    });
    let bad_codes = [
        code_text[..code_text.len() - 1].to_owned(),
        format!("{code_text}-A"),
        code_text.replacen(|c: char| c.is_ascii_alphanumeric(), "U", 1),
        String::new(),
    ];
    json!({
        "version": 1,
        "description": "Device links (docs/PROTOCOL.md §12). codes: `text` is how `bytes` is shown, each of `typed` reads back to `bytes`, and the code derives `handle`, `ke` and `km` (§12.2). valid: seal `plaintext` under `code` with `iv` to get `link` exactly; open it for `user` to get `plaintext`. invalid: opening fails at the named step of §12.4. bad_codes: each fails to read (`bad_code`).",
        "codes": codes,
        "valid": valid,
        "invalid": invalid,
        "bad_codes": bad_codes,
    })
}

fn load() -> Value {
    serde_json::from_str(&std::fs::read_to_string(path()).unwrap()).unwrap()
}

fn open_named(code: &str, text: &str, user: &str) -> Result<Vec<u8>, &'static str> {
    let code = LinkCode::parse(code).map_err(|e| e.name())?;
    let plaintext = link::open(&code, text.as_bytes()).map_err(|e| e.name())?;
    BackupContents::parse(plaintext.expose_secret(), user).map_err(|e| e.name())?;
    Ok(plaintext.expose_secret().to_vec())
}

#[test]
fn every_code_reads_back_and_derives_its_handle_and_keys() {
    let doc = load();
    for c in doc["codes"].as_array().unwrap() {
        let bytes: [u8; 20] = unhex(c["bytes"].as_str().unwrap()).try_into().unwrap();
        let code = LinkCode::from_bytes(bytes);
        assert_eq!(code.text(), c["text"].as_str().unwrap());
        for typed in c["typed"].as_array().unwrap() {
            let read = LinkCode::parse(typed.as_str().unwrap()).unwrap();
            assert_eq!(read.handle(), c["handle"].as_str().unwrap(), "{typed}");
        }
        assert_eq!(code.handle(), c["handle"].as_str().unwrap());
        let keys = code.keys();
        assert_eq!(hex(&keys[..32]), c["ke"].as_str().unwrap());
        assert_eq!(hex(&keys[32..]), c["km"].as_str().unwrap());
    }
    for bad in doc["bad_codes"].as_array().unwrap() {
        assert_eq!(
            LinkCode::parse(bad.as_str().unwrap()).unwrap_err().name(),
            "bad_code",
            "{bad}"
        );
    }
}

#[test]
fn every_valid_link_reseals_exactly_and_opens_to_its_contents() {
    let doc = load();
    for v in doc["valid"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let iv: [u8; 16] = B64
            .decode(v["iv"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let code = LinkCode::parse(v["code"].as_str().unwrap()).unwrap();
        let plaintext = v["plaintext"].as_str().unwrap();
        let sealed = link::seal_with(&code, plaintext.as_bytes(), iv);
        assert_eq!(sealed, v["link"].as_str().unwrap(), "{name}");
        let opened = open_named(
            v["code"].as_str().unwrap(),
            &sealed,
            v["user"].as_str().unwrap(),
        )
        .unwrap();
        assert_eq!(opened, plaintext.as_bytes(), "{name}");
    }
}

#[test]
fn every_invalid_link_fails_at_its_named_step() {
    let doc = load();
    let invalid = doc["invalid"].as_array().unwrap();
    assert!(invalid.len() >= 10);
    for v in invalid {
        let got = open_named(
            v["code"].as_str().unwrap(),
            v["link"].as_str().unwrap(),
            v["user"].as_str().unwrap(),
        )
        .unwrap_err();
        assert_eq!(got, v["error"].as_str().unwrap(), "{}", v["name"]);
    }
}

#[test]
fn the_frozen_file_is_what_building_it_gives() {
    assert_eq!(
        load(),
        build(),
        "link.json changed; regenerate only on purpose"
    );
}

#[test]
#[ignore = "rewrites the frozen vectors; run by hand with CHAT_REGEN_VECTORS=1"]
fn regenerate_link_vectors() {
    if std::env::var_os("CHAT_REGEN_VECTORS").is_none() {
        return;
    }
    let text = serde_json::to_string_pretty(&build()).unwrap() + "\n";
    std::fs::write(path(), text).unwrap();
}
