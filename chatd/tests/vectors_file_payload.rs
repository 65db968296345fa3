//! Frozen vectors of the `file` payload (docs/PROTOCOL.md §15.4),
//! `vectors/file_payload.json`: each valid payload reads as its fields,
//! shows under its shown name, and is written back as `written` (chatd's
//! form: `type` first, the table's members in order); each invalid one is
//! refused with the named error; and `names` gives the shown name of
//! hostile names. tests/interop/check_vectors.py checks the same file from
//! an independent Python reading of §15.4.
//!
//! Regenerate (only on purpose, a format change):
//! `CHAT_REGEN_VECTORS=1 cargo test -p chatd --test vectors_file_payload -- --ignored`

use std::path::PathBuf;

use ipc_schema::FileOffer;
use ipc_schema::envelope::PayloadError;
use ipc_schema::files::shown_name;
use serde_json::{Value, json};

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/file_payload.json")
}

const BLOB: &str = "4f9c2e1ab3d04c7e8a61f05d2b9e7c13";
const GROUP: &str = "0123456789abcdef0123456789abcdef";
/// 64 bytes 0x00..0x3f, standard base64.
const KEY: &str =
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";
const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn name(e: &PayloadError) -> &'static str {
    match e {
        PayloadError::NotAnObject => "malformed",
        PayloadError::BadFields(_) => "bad_fields",
        PayloadError::BodyTooLarge(_) => "body_too_large",
        PayloadError::BadId => "bad_id",
        PayloadError::BadGroup => "bad_group",
    }
}

/// What a valid payload reads as: every member of §15.4, absent ones null,
/// and the name it shows under.
fn fields(f: &FileOffer) -> Value {
    json!({"blob": f.blob, "size": f.size, "name": f.name, "media_type": f.media_type,
           "key": f.key, "sha256": f.sha256, "reply_to": f.reply_to, "group": f.group,
           "to": f.to, "shown_name": shown_name(&f.name)})
}

/// A payload with the given members after `type`, the rest standard.
fn with(extra: &str) -> String {
    format!(
        r#"{{"type":"file","blob":"{BLOB}","size":2300000,"name":"build.log","media_type":"text/plain","key":"{KEY}","sha256":"{SHA}"{extra}}}"#
    )
}

/// The standard payload with `member`'s value replaced by `value` (JSON).
fn replaced(member: &str, value: &str) -> String {
    let mut v: serde_json::Map<String, Value> = serde_json::from_str(&with("")).unwrap();
    v.insert(member.into(), serde_json::from_str(value).unwrap());
    serde_json::to_string(&v).unwrap()
}

/// The standard payload without `member`.
fn without(member: &str) -> String {
    let mut v: serde_json::Map<String, Value> = serde_json::from_str(&with("")).unwrap();
    v.remove(member);
    serde_json::to_string(&v).unwrap()
}

fn build() -> Value {
    let valid: Vec<(&str, String)> = vec![
        ("a file", with("")),
        ("an empty file", replaced("size", "0")),
        ("the largest size", replaced("size", "9007199254740991")),
        (
            "answering a message",
            with(&format!(r#","reply_to":"{GROUP}""#)),
        ),
        ("a group's file", with(&format!(r#","group":"{GROUP}""#))),
        ("for the sender's own other devices", with(r#","to":"bob""#)),
        (
            "null optional members read as absent",
            with(r#","reply_to":null,"group":null,"to":null"#),
        ),
        (
            "a member §15.4 does not define (ignored)",
            with(r#","thumbnail":"x""#),
        ),
        (
            "a name that is a path (read; shown without it)",
            replaced("name", r#""../../.bashrc""#),
        ),
        (
            "a name with controls and bidi marks",
            replaced("name", r#""a\u001b[2Jb\u202etxt.exe""#),
        ),
        (
            "a name of 255 bytes",
            replaced("name", &format!("\"{}\"", "n".repeat(255))),
        ),
        (
            "a media type with + and .",
            replaced("media_type", r#""application/vnd.api+json""#),
        ),
        (
            "members in another order",
            format!(
                r#"{{"sha256":"{SHA}","key":"{KEY}","media_type":"image/png","name":"shot.png","size":5,"blob":"{BLOB}","type":"file"}}"#
            ),
        ),
    ];
    let invalid: Vec<(&str, String)> = vec![
        ("not JSON", r#"{"type":"file","blob":"#.to_owned()),
        (
            "a lone surrogate in the name",
            with("").replace("build.log", "\\ud800.txt"),
        ),
        ("blob missing", without("blob")),
        ("size missing", without("size")),
        ("name missing", without("name")),
        ("media_type missing", without("media_type")),
        ("key missing", without("key")),
        ("sha256 missing", without("sha256")),
        ("size negative", replaced("size", "-1")),
        ("size written -0", with("").replace("2300000", "-0")),
        ("size with a fraction", replaced("size", "5.5")),
        ("size a string", replaced("size", r#""5""#)),
        ("name a number", replaced("name", "5")),
        (
            "blob not an id",
            replaced("blob", r#""4F9C2E1AB3D04C7E8A61F05D2B9E7C13""#),
        ),
        ("reply_to not an id", with(r#","reply_to":"x""#)),
        ("group not an id", with(r#","group":"0123""#)),
        ("to not a username", with(r#","to":"Bob""#)),
        (
            "both group and to",
            with(&format!(r#","group":"{GROUP}","to":"bob""#)),
        ),
        ("size over 2^53 - 1", replaced("size", "9007199254740992")),
        (
            "size of 2^64 (a wrong type, step 2) with a blob that is not an id",
            with("")
                .replace("2300000", "18446744073709551616")
                .replace(BLOB, "nope"),
        ),
        (
            "key of 63 bytes",
            replaced("key", &format!("\"{}\"", base64_of(63))),
        ),
        (
            "key not base64",
            replaced("key", &format!("\"{}\"", "!".repeat(88))),
        ),
        (
            "sha256 in capitals",
            replaced("sha256", &format!("\"{}\"", SHA.to_uppercase())),
        ),
        (
            "sha256 too short",
            replaced("sha256", &format!("\"{}\"", &SHA[..62])),
        ),
        ("name empty", replaced("name", r#""""#)),
        (
            "name of 256 bytes",
            replaced("name", &format!("\"{}\"", "n".repeat(256))),
        ),
        (
            "media type without subtype",
            replaced("media_type", r#""text""#),
        ),
        (
            "media type with parameters",
            replaced("media_type", r#""text/plain; charset=utf-8""#),
        ),
        (
            "media type starting with +",
            replaced("media_type", r#""+x/y""#),
        ),
    ];
    let valid: Vec<Value> = valid
        .into_iter()
        .map(|(name, payload)| {
            let f =
                FileOffer::from_json(payload.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
            let written = String::from_utf8(f.to_json().unwrap()).unwrap();
            json!({"name": name, "payload": payload, "fields": fields(&f), "written": written})
        })
        .collect();
    let invalid: Vec<Value> = invalid
        .into_iter()
        .map(|(name, payload)| {
            let e = FileOffer::from_json(payload.as_bytes())
                .err()
                .unwrap_or_else(|| panic!("{name} was read"));
            json!({"name": name, "payload": payload, "error": self::name(&e)})
        })
        .collect();
    let names: Vec<Value> = [
        "build.log",
        "../../.bashrc",
        "/etc/passwd",
        "C:\\Windows\\evil.exe",
        "..",
        "dir/",
        "  .hidden  ",
        "a\u{1b}[2Jb\nc.txt",
        "report\u{202e}fdp.exe",
        "\u{200f}\u{2066}x\u{2069}.txt",
        "bad\u{fffd}char",
        "naïve café.txt",
        "trailing. . .",
    ]
    .iter()
    .map(|n| json!({"name": n, "shown": shown_name(n)}))
    .chain(std::iter::once({
        let long = "é".repeat(200);
        json!({"name": long, "shown": shown_name(&long)})
    }))
    .collect();
    json!({"version": 1, "valid": valid, "invalid": invalid, "names": names})
}

/// Standard base64 of `n` zero bytes.
fn base64_of(n: usize) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(vec![0u8; n])
}

#[test]
fn the_frozen_vectors_are_what_chatd_reads_and_writes() {
    let text = std::fs::read_to_string(path()).expect("file_payload.json is committed");
    let file: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        file,
        build(),
        "the reader changed: regenerate on purpose only"
    );
    for v in file["valid"].as_array().unwrap() {
        let payload = v["payload"].as_str().unwrap();
        // Also through the payload reader every envelope's plaintext goes through.
        let ipc_schema::Payload::File(f) =
            ipc_schema::Payload::from_json(payload.as_bytes()).unwrap()
        else {
            panic!("{}: not a file", v["name"]);
        };
        assert_eq!(fields(&f), v["fields"]);
        assert_eq!(
            String::from_utf8(f.to_json().unwrap()).unwrap(),
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
#[ignore = "writes vectors/file_payload.json"]
fn regenerate() {
    if std::env::var_os("CHAT_REGEN_VECTORS").is_none() {
        return;
    }
    let text = serde_json::to_string_pretty(&build()).unwrap() + "\n";
    std::fs::write(path(), text).unwrap();
}
