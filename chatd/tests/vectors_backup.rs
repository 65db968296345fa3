//! Frozen backup vectors (docs/PROTOCOL.md §10), `vectors/backup.json`:
//! sealing with the stated inputs gives exactly the stored text, each valid
//! backup opens to its contents, and each invalid one fails with the named
//! step. tests/interop/check_vectors.py checks the same file from an
//! independent Python reading of §10.
//!
//! The identity inside is alice's of `envelope-v1.json`, with bob as a
//! verified contact. Regenerate (only on purpose, a format change):
//! `CHAT_REGEN_VECTORS=1 cargo test -p chatd --test vectors_backup -- --ignored`

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chatd::crypto::Card;
use chatd::crypto::backup::{self, BackupContact, BackupContents, KdfParams};
use serde_json::{Value, json};

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/backup.json")
}

fn v1_keys() -> Value {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/envelope-v1.json"),
    )
    .unwrap();
    serde_json::from_str::<Value>(&text).unwrap()["keys"].clone()
}

/// alice's contents: her two keys, bob verified; members in the order of
/// §10.1, bob's card as chatd writes cards (§2).
fn contents(keys: &Value) -> String {
    let alice = &keys["alice"];
    let bob = Card::from_value(&keys["bob"]["card"]).unwrap();
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    serde_json::to_string(&BackupContents {
        v: 1,
        user: "alice".into(),
        enc: text(&alice["enc_private_pkcs8"]),
        sig: text(&alice["sig_private_pkcs8"]),
        contacts: vec![BackupContact {
            card: serde_json::value::RawValue::from_string(bob.to_json()).unwrap(),
            verified: true,
        }],
        groups: Vec::new(),
        history: Vec::new(),
        created_at: 1_764_000_000_000,
    })
    .unwrap()
}

const PASSPHRASE: &str = "Seven-horses Quietly Ate 41 lemons!";

fn build() -> Value {
    let keys = v1_keys();
    let plaintext = contents(&keys);
    let mut valid = Vec::new();
    for (name, params, salt, iv) in [
        (
            "chatd's parameters",
            KdfParams::DEFAULT,
            [0x11u8; 16],
            [0x22u8; 16],
        ),
        (
            "two lanes, more passes",
            KdfParams {
                m: 65_536,
                t: 4,
                p: 2,
            },
            *b"salt-0123456789!",
            *b"iv-fedcba987654?",
        ),
    ] {
        let text = backup::seal_with(
            PASSPHRASE.as_bytes(),
            plaintext.as_bytes(),
            params,
            salt,
            iv,
        )
        .unwrap();
        valid.push(json!({
            "name": name, "user": "alice", "passphrase": PASSPHRASE,
            "m": params.m, "t": params.t, "p": params.p,
            "salt": B64.encode(salt), "iv": B64.encode(iv),
            "plaintext": plaintext, "backup": text,
        }));
    }
    let good: Value = serde_json::from_str(valid[0]["backup"].as_str().unwrap()).unwrap();
    let good_text = valid[0]["backup"].as_str().unwrap().to_owned();
    let changed = |f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        v.to_string()
    };
    let flip = |v: &mut Value, ptr: &str| {
        let field = v.pointer_mut(ptr).unwrap();
        let mut bytes = B64.decode(field.as_str().unwrap()).unwrap();
        bytes[0] ^= 0x01;
        *field = Value::String(B64.encode(bytes));
    };
    let sealed_contents = |text: &str| {
        backup::seal_with(
            PASSPHRASE.as_bytes(),
            text.as_bytes(),
            KdfParams::DEFAULT,
            [0x33; 16],
            [0x44; 16],
        )
        .unwrap()
    };
    let mut other_user: Value = serde_json::from_str(&plaintext).unwrap();
    other_user["user"] = "mallory".into();
    let mut extra_member: Value = serde_json::from_str(&plaintext).unwrap();
    extra_member["note"] = "hi".into();
    let mut bad_key: Value = serde_json::from_str(&plaintext).unwrap();
    bad_key["enc"] = B64.encode(b"not a key").into();
    let invalid = [
        ("wrong passphrase", PASSPHRASE.replace("41", "42"), good_text.clone(), "wrong_passphrase_or_tampered"),
        ("truncated", PASSPHRASE.into(), good_text[..good_text.len() / 2].to_owned(), "malformed"),
        ("not JSON", PASSPHRASE.into(), "-----BEGIN BACKUP-----".into(), "malformed"),
        ("unknown member", PASSPHRASE.into(), changed(&|v| v["x"] = 1.into()), "malformed"),
        ("iv of 15 bytes", PASSPHRASE.into(), changed(&|v| v["iv"] = B64.encode([0u8; 15]).into()), "malformed"),
        ("ct not whole blocks", PASSPHRASE.into(), changed(&|v| v["ct"] = B64.encode([0u8; 17]).into()), "malformed"),
        ("version 2", PASSPHRASE.into(), changed(&|v| v["v"] = 2.into()), "unsupported"),
        (
            "version 2 of another shape",
            PASSPHRASE.into(),
            json!({"v": 2, "sealed": "…"}).to_string(),
            "unsupported",
        ),
        ("no version", PASSPHRASE.into(), changed(&|v| { v.as_object_mut().unwrap().remove("v"); }), "malformed"),
        ("m over 32 bits", PASSPHRASE.into(), changed(&|v| v["kdf"]["m"] = 4_294_967_296u64.into()), "malformed"),
        ("scrypt", PASSPHRASE.into(), changed(&|v| v["kdf"]["alg"] = "scrypt".into()), "unsupported"),
        ("32 MiB", PASSPHRASE.into(), changed(&|v| v["kdf"]["m"] = 32_768.into()), "weak_or_costly"),
        ("2 GiB", PASSPHRASE.into(), changed(&|v| v["kdf"]["m"] = 2_097_152.into()), "weak_or_costly"),
        ("17 passes", PASSPHRASE.into(), changed(&|v| v["kdf"]["t"] = 17.into()), "weak_or_costly"),
        ("9 lanes", PASSPHRASE.into(), changed(&|v| v["kdf"]["p"] = 9.into()), "weak_or_costly"),
        ("ct changed", PASSPHRASE.into(), changed(&|v| flip(v, "/ct")), "wrong_passphrase_or_tampered"),
        ("iv changed", PASSPHRASE.into(), changed(&|v| flip(v, "/iv")), "wrong_passphrase_or_tampered"),
        ("salt changed", PASSPHRASE.into(), changed(&|v| flip(v, "/kdf/salt")), "wrong_passphrase_or_tampered"),
        ("tag changed", PASSPHRASE.into(), changed(&|v| flip(v, "/tag")), "wrong_passphrase_or_tampered"),
        ("passes changed", PASSPHRASE.into(), changed(&|v| v["kdf"]["t"] = 4.into()), "wrong_passphrase_or_tampered"),
        ("another account", PASSPHRASE.into(), sealed_contents(&other_user.to_string()), "bad_contents"),
        ("unknown contents member", PASSPHRASE.into(), sealed_contents(&extra_member.to_string()), "bad_contents"),
        ("a key that does not load", PASSPHRASE.into(), sealed_contents(&bad_key.to_string()), "bad_contents"),
    ]
    .map(|(name, passphrase, text, error)| {
        json!({"name": name, "user": "alice", "passphrase": passphrase, "backup": text, "error": error})
    });
    json!({
        "version": 1,
        "description": "Backups of an identity (docs/PROTOCOL.md §10). valid: seal with the inputs to get `backup` exactly; open it with `passphrase` for `user` to get `plaintext`. invalid: opening fails at the named step of §10.3.",
        "valid": valid,
        "invalid": invalid,
    })
}

fn load() -> Value {
    serde_json::from_str(&std::fs::read_to_string(path()).unwrap()).unwrap()
}

/// Opens a backup through every step of §10.3, naming the one that fails.
fn open_named(passphrase: &str, text: &str, user: &str) -> Result<Vec<u8>, &'static str> {
    let plaintext = backup::open(passphrase.as_bytes(), text.as_bytes()).map_err(|e| e.name())?;
    BackupContents::parse(plaintext.expose_secret(), user).map_err(|e| e.name())?;
    Ok(plaintext.expose_secret().to_vec())
}

#[test]
fn every_valid_backup_reseals_exactly_and_opens_to_its_contents() {
    let doc = load();
    for v in doc["valid"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let salt: [u8; 16] = B64
            .decode(v["salt"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let iv: [u8; 16] = B64
            .decode(v["iv"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let params = KdfParams {
            m: v["m"].as_u64().unwrap() as u32,
            t: v["t"].as_u64().unwrap() as u32,
            p: v["p"].as_u64().unwrap() as u32,
        };
        let pass = v["passphrase"].as_str().unwrap();
        let plaintext = v["plaintext"].as_str().unwrap();
        let sealed =
            backup::seal_with(pass.as_bytes(), plaintext.as_bytes(), params, salt, iv).unwrap();
        assert_eq!(sealed, v["backup"].as_str().unwrap(), "{name}");
        let opened = open_named(pass, &sealed, v["user"].as_str().unwrap()).unwrap();
        assert_eq!(opened, plaintext.as_bytes(), "{name}");
    }
}

#[test]
fn every_invalid_backup_fails_at_its_named_step() {
    let doc = load();
    let invalid = doc["invalid"].as_array().unwrap();
    assert!(invalid.len() >= 20);
    for v in invalid {
        let got = open_named(
            v["passphrase"].as_str().unwrap(),
            v["backup"].as_str().unwrap(),
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
        "backup.json changed; regenerate only on purpose"
    );
}

#[test]
#[ignore = "rewrites the frozen vectors; run by hand with CHAT_REGEN_VECTORS=1"]
fn regenerate_backup_vectors() {
    if std::env::var_os("CHAT_REGEN_VECTORS").is_none() {
        return;
    }
    let text = serde_json::to_string_pretty(&build()).unwrap() + "\n";
    std::fs::write(path(), text).unwrap();
}
