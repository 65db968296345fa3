//! The `file` payload (docs/PROTOCOL.md §15.4): a message naming a blob on
//! the relay, with what opens it. Shape and sizes only; the chunk format is
//! chatd's `crypto::file`, and the name a peer gives is shown and saved only
//! as [`shown_name`] makes it.

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::envelope::{PayloadError, is_valid_message_id, is_valid_username};

/// Largest `size` a payload may state: JSON's exact integers (2^53 − 1).
pub const MAX_FILE_SIZE: u64 = (1 << 53) - 1;

/// Longest `name`, in bytes of UTF-8.
pub const MAX_NAME: usize = 255;

/// Longest `media_type`.
pub const MAX_MEDIA_TYPE: usize = 127;

/// A file sent as a blob (docs/PROTOCOL.md §15.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileOffer {
    /// The blob's id on the relay (32 lowercase hex digits; also the id
    /// its chunks' tags bind, §15.2).
    pub blob: String,
    /// The file's size in bytes.
    pub size: u64,
    /// The name the sender gave; hostile until [`shown_name`].
    pub name: String,
    /// The media type the sender gave (`type/subtype`).
    pub media_type: String,
    /// The file's 64-byte key (ke || km), standard base64.
    pub key: String,
    /// SHA-256 of the file, 64 lowercase hex digits.
    pub sha256: String,
    /// Id of the message this one answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// The group, for a group's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The conversation, when sent to the sender's own other devices
    /// (docs/PROTOCOL.md §11.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// Writes the payload with its `type` first (the order of §15.4's table).
#[derive(Serialize)]
struct Tagged<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    offer: &'a FileOffer,
}

/// True for `type/subtype`: RFC 6838's restricted names (letters, digits
/// and `!#$&-^_.+`, starting with a letter or digit), at most
/// [`MAX_MEDIA_TYPE`] bytes, with no parameters.
pub fn is_valid_media_type(t: &str) -> bool {
    let name = |s: &str| {
        let b = s.as_bytes();
        (1..=63).contains(&b.len())
            && b[0].is_ascii_alphanumeric()
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(c))
    };
    t.len() <= MAX_MEDIA_TYPE
        && t.split_once('/')
            .is_some_and(|(ty, sub)| name(ty) && name(sub))
}

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The key's 64 bytes, if `key` is their standard base64 (with padding).
pub fn key_bytes(key: &str) -> Option<[u8; 64]> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(key).ok()?;
    bytes.try_into().ok()
}

/// The name a reader shows and saves a file under (docs/PROTOCOL.md
/// §15.4): never a path. What follows the last `/` or `\`, without control
/// characters, bidirectional controls and U+FFFD, trimmed of white space
/// and dots at both ends, at most [`MAX_NAME`] bytes; `file` when nothing
/// is left.
pub fn shown_name(given: &str) -> String {
    let last = given.rsplit(['/', '\\']).next().unwrap_or(given);
    let kept: String = last
        .chars()
        .filter(|c| {
            !c.is_control()
                && !matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FFFD}')
        })
        .collect();
    let trimmed = kept.trim_matches(|c: char| c.is_whitespace() || c == '.');
    let mut end = trimmed.len().min(MAX_NAME);
    while !trimmed.is_char_boundary(end) {
        end -= 1;
    }
    let name = trimmed[..end].trim_end_matches(|c: char| c.is_whitespace() || c == '.');
    if name.is_empty() {
        "file".to_owned()
    } else {
        name.to_owned()
    }
}

/// Media types by file extension, for what senders do not say.
const KNOWN_TYPES: &[(&str, &str)] = &[
    ("txt", "text/plain"),
    ("log", "text/plain"),
    ("md", "text/markdown"),
    ("csv", "text/csv"),
    ("json", "application/json"),
    ("toml", "application/toml"),
    ("yaml", "application/yaml"),
    ("yml", "application/yaml"),
    ("pdf", "application/pdf"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("mp3", "audio/mpeg"),
    ("ogg", "audio/ogg"),
    ("mp4", "video/mp4"),
    ("webm", "video/webm"),
    ("gz", "application/gzip"),
    ("zst", "application/zstd"),
    ("zip", "application/zip"),
    ("tar", "application/x-tar"),
];

/// The media type a file named `name` most likely has, by its extension;
/// `application/octet-stream` when unknown.
pub fn guess_media_type(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    KNOWN_TYPES
        .iter()
        .find(|(e, _)| *e == ext)
        .map_or("application/octet-stream", |(_, t)| t)
}

/// True when opening a file with the desktop's opener needs the user's
/// confirmation first: its name's type is unknown, does not match the
/// media type the sender gave, or is not a plain document, picture or
/// sound (a script, a program, an installer, HTML, SVG…).
pub fn opening_is_risky(name: &str, media_type: &str) -> bool {
    const SAFE: &[&str] = &[
        "text/plain",
        "text/markdown",
        "text/csv",
        "application/json",
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "audio/mpeg",
        "audio/ogg",
        "video/mp4",
        "video/webm",
    ];
    let guessed = guess_media_type(name);
    !(SAFE.contains(&guessed) && guessed == media_type)
}

impl FileOffer {
    /// Checks the shape, refusing with §15.4's first failure in order.
    pub fn check(&self) -> Result<(), PayloadError> {
        let bad = || PayloadError::BadFields("file".into());
        if !is_valid_message_id(&self.blob)
            || self
                .reply_to
                .as_deref()
                .is_some_and(|r| !is_valid_message_id(r))
        {
            return Err(PayloadError::BadId);
        }
        if self
            .group
            .as_deref()
            .is_some_and(|g| !is_valid_message_id(g))
        {
            return Err(PayloadError::BadGroup);
        }
        if self.to.as_deref().is_some_and(|t| !is_valid_username(t))
            || self.to.is_some() && self.group.is_some()
        {
            return Err(bad());
        }
        if self.size > MAX_FILE_SIZE
            || key_bytes(&self.key).is_none()
            || !is_lower_hex(&self.sha256, 64)
            || self.name.is_empty()
            || self.name.len() > MAX_NAME
            || !is_valid_media_type(&self.media_type)
        {
            return Err(bad());
        }
        Ok(())
    }

    /// Reads payload JSON whose `type` is `file`.
    pub fn from_json(bytes: &[u8]) -> Result<Self, PayloadError> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|_| PayloadError::NotAnObject)?;
        let offer: FileOffer =
            serde_json::from_value(value).map_err(|_| PayloadError::BadFields("file".into()))?;
        offer.check()?;
        Ok(offer)
    }

    /// The JSON written: `type` first, then §15.4's members in order.
    pub fn to_json(&self) -> Result<Vec<u8>, PayloadError> {
        self.check()?;
        Ok(serde_json::to_vec(&Tagged {
            kind: "file",
            offer: self,
        })
        .expect("file payloads serialize"))
    }

    /// The SHA-256's 32 bytes.
    pub fn sha256_bytes(&self) -> Option<[u8; 32]> {
        if !is_lower_hex(&self.sha256, 64) {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&self.sha256[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef";

    fn offer() -> FileOffer {
        FileOffer {
            blob: ID.into(),
            size: 2_300_000,
            name: "build.log".into(),
            media_type: "text/plain".into(),
            key: base64::engine::general_purpose::STANDARD.encode([7u8; 64]),
            sha256: "ab".repeat(32),
            reply_to: None,
            group: None,
            to: None,
        }
    }

    #[test]
    fn a_file_payload_is_written_in_order_and_read_back() {
        let o = offer();
        let text = String::from_utf8(o.to_json().unwrap()).unwrap();
        assert!(
            text.starts_with(&format!(
                r#"{{"type":"file","blob":"{ID}","size":2300000,"name""#
            )),
            "{text}"
        );
        assert_eq!(FileOffer::from_json(text.as_bytes()).unwrap(), o);
        assert_eq!(o.sha256_bytes(), Some([0xab; 32]));
    }

    #[test]
    fn bad_file_payloads_are_refused() {
        let cases: Vec<(FileOffer, PayloadError)> = vec![
            (
                FileOffer {
                    blob: "XY".into(),
                    ..offer()
                },
                PayloadError::BadId,
            ),
            (
                FileOffer {
                    group: Some("nope".into()),
                    ..offer()
                },
                PayloadError::BadGroup,
            ),
            (
                FileOffer {
                    key: "AAAA".into(),
                    ..offer()
                },
                PayloadError::BadFields("file".into()),
            ),
            (
                FileOffer {
                    size: MAX_FILE_SIZE + 1,
                    ..offer()
                },
                PayloadError::BadFields("file".into()),
            ),
            (
                FileOffer {
                    media_type: "text/plain; charset=utf-8".into(),
                    ..offer()
                },
                PayloadError::BadFields("file".into()),
            ),
            (
                FileOffer {
                    name: String::new(),
                    ..offer()
                },
                PayloadError::BadFields("file".into()),
            ),
        ];
        for (o, e) in cases {
            assert_eq!(o.to_json(), Err(e));
        }
        let negative = format!(
            r#"{{"type":"file","blob":"{ID}","size":-1,"name":"a","media_type":"a/b","key":"","sha256":""}}"#
        );
        assert_eq!(
            FileOffer::from_json(negative.as_bytes()),
            Err(PayloadError::BadFields("file".into()))
        );
    }

    #[test]
    fn only_known_documents_open_without_asking() {
        assert_eq!(guess_media_type("Build.LOG"), "text/plain");
        assert_eq!(guess_media_type("core"), "application/octet-stream");
        assert!(!opening_is_risky("shot.png", "image/png"));
        assert!(opening_is_risky("shot.png", "application/x-sh"));
        assert!(opening_is_risky("run.sh", "text/plain"));
        assert!(opening_is_risky("setup.exe", "application/octet-stream"));
        assert!(opening_is_risky("page.html", "text/html"));
        assert!(opening_is_risky("core", "application/octet-stream"));
    }

    #[test]
    fn names_from_peers_never_become_paths() {
        for (given, shown) in [
            ("build.log", "build.log"),
            ("../../.bashrc", "bashrc"),
            ("/etc/passwd", "passwd"),
            ("C:\\Windows\\evil.exe", "evil.exe"),
            ("..", "file"),
            ("a\u{1b}[2Jb\nc.txt", "a[2Jbc.txt"),
            ("report\u{202E}fdp.exe", "reportfdp.exe"),
            ("  .hidden  ", "hidden"),
            ("dir/", "file"),
        ] {
            assert_eq!(shown_name(given), shown, "{given:?}");
        }
        let long = "é".repeat(200);
        let cut = shown_name(&long);
        assert!(cut.len() <= MAX_NAME && cut.chars().all(|c| c == 'é'));
    }
}
