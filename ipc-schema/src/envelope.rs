//! Envelope v1 as it travels between daemons through the relay (docs/PROTOCOL.md §6),
//! and the payloads it carries once opened.
//!
//! This module only checks shape and sizes. Everything cryptographic (the
//! signature, the key unwrap, the MAC) is `chatd::crypto`'s job.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

/// Largest envelope JSON text anyone accepts (relay body cap, daemon parse cap).
pub const MAX_ENVELOPE_JSON: usize = 6 * 1024 * 1024;
/// Largest text body, in bytes of UTF-8.
pub const MAX_BODY: usize = 4 * 1024 * 1024;
/// Largest padded payload: a 4 MiB body plus room for its JSON wrapping.
pub const MAX_PADDED_PAYLOAD: usize = MAX_BODY + 64 * 1024;
/// Largest `ct`: the padded payload plus the one PKCS#7 block it always gets.
pub const MAX_CT: usize = MAX_PADDED_PAYLOAD + 16;
/// Sizes in bytes of the RSA moduli chat allows (2048, 3072, 4096 bits): the
/// only lengths `wk` and `sig` can have.
pub const RSA_BLOCK_BYTES: [usize; 3] = [256, 384, 512];
/// The largest of [`RSA_BLOCK_BYTES`].
pub const MAX_RSA_BYTES: usize = 512;

/// Envelope v1, field for field as on the wire. Unknown fields are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Envelope {
    /// Format version; only 1 exists.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1))]
    pub v: u32,
    /// 32 lowercase hex digits (128 random bits), unique per sender.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{32}$"))]
    pub id: String,
    /// Sender's username.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z0-9][a-z0-9_.-]{2,31}$"))]
    pub from: String,
    /// Recipient's username.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z0-9][a-z0-9_.-]{2,31}$"))]
    pub to: String,
    /// Sender's clock when sealing, milliseconds since the Unix epoch.
    pub ts: u64,
    /// RSA-OAEP-wrapped `enc_key || mac_key`, base64 of 256, 384 or 512 bytes.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 344,
            max_length = 684,
            pattern = "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
        )
    )]
    pub wk: String,
    /// AES-CBC IV, base64 of 16 bytes.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 24,
            max_length = 24,
            pattern = "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
        )
    )]
    pub iv: String,
    /// AES-256-CBC ciphertext of the padded payload, base64 of a whole number of 16-byte blocks.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 24,
            pattern = "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
        )
    )]
    pub ct: String,
    /// HMAC-SHA256 tag, base64 of 32 bytes.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 44,
            max_length = 44,
            pattern = "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
        )
    )]
    pub tag: String,
    /// RSA-PSS signature by the sender's signing key, base64 of 256, 384 or 512 bytes.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 344,
            max_length = 684,
            pattern = "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
        )
    )]
    pub sig: String,
}

/// An envelope whose fields passed the strict shape checks, with binary fields decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedEnvelope {
    /// Message id, 32 lowercase hex digits.
    pub id: String,
    /// Sender's username.
    pub from: String,
    /// Recipient's username.
    pub to: String,
    /// Sender timestamp (ms).
    pub ts: u64,
    /// Wrapped keys, raw bytes.
    pub wk: Vec<u8>,
    /// IV, 16 bytes.
    pub iv: [u8; 16],
    /// Ciphertext, raw bytes.
    pub ct: Vec<u8>,
    /// MAC tag, 32 bytes.
    pub tag: [u8; 32],
    /// Signature, raw bytes.
    pub sig: Vec<u8>,
}

/// Why an envelope's shape was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    /// The JSON text is over [`MAX_ENVELOPE_JSON`].
    #[error("envelope of {0} bytes is over the {MAX_ENVELOPE_JSON}-byte cap")]
    TooLarge(usize),
    /// Not JSON, or not the envelope's fields and types.
    #[error("envelope is not valid JSON of an envelope's shape: {0}")]
    Json(String),
    /// `v` is not the version the members are those of.
    #[error("unsupported envelope version {0}")]
    Version(u32),
    /// A field has the wrong form or size.
    #[error("field `{field}` is malformed: {why}")]
    Field {
        /// Which field.
        field: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
}

pub(crate) fn bad(field: &'static str, why: &'static str) -> ShapeError {
    ShapeError::Field { field, why }
}

/// True for a valid username: `^[a-z0-9][a-z0-9_.-]{2,31}$`.
pub fn is_valid_username(name: &str) -> bool {
    let b = name.as_bytes();
    (3..=32).contains(&b.len())
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_.-".contains(c))
}

/// True for a valid message id: 32 lowercase hex digits.
pub fn is_valid_message_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// Decodes standard, padded base64, refusing anything longer than `max` decoded bytes
/// before decoding it.
fn decode_field(field: &'static str, text: &str, max: usize) -> Result<Vec<u8>, ShapeError> {
    if text.len() > max.div_ceil(3) * 4 {
        return Err(bad(field, "too long"));
    }
    B64.decode(text)
        .map_err(|_| bad(field, "not canonical padded base64"))
}

/// A b64 field of exactly `N` bytes.
pub(crate) fn fixed<const N: usize>(
    field: &'static str,
    text: &str,
) -> Result<[u8; N], ShapeError> {
    decode_field(field, text, N)?
        .try_into()
        .map_err(|_| bad(field, "not of its fixed size"))
}

/// A b64 field the size of a 2048, 3072 or 4096-bit RSA block (`wk`, `sig`).
pub(crate) fn rsa_block(field: &'static str, text: &str) -> Result<Vec<u8>, ShapeError> {
    let bytes = decode_field(field, text, MAX_RSA_BYTES)?;
    if !RSA_BLOCK_BYTES.contains(&bytes.len()) {
        return Err(bad(
            field,
            "not the size of a 2048, 3072 or 4096-bit RSA block",
        ));
    }
    Ok(bytes)
}

/// `ct`: a non-empty whole number of AES blocks, at most [`MAX_CT`] bytes.
pub(crate) fn ciphertext(text: &str) -> Result<Vec<u8>, ShapeError> {
    let ct = decode_field("ct", text, MAX_CT)?;
    if ct.is_empty() || !ct.len().is_multiple_of(16) {
        return Err(bad("ct", "not a whole number of AES blocks"));
    }
    Ok(ct)
}

impl Envelope {
    /// Parses envelope JSON strictly: size cap first, then the exact v1 shape.
    pub fn parse(json: &[u8]) -> Result<CheckedEnvelope, ShapeError> {
        if json.len() > MAX_ENVELOPE_JSON {
            return Err(ShapeError::TooLarge(json.len()));
        }
        let env: Envelope =
            serde_json::from_slice(json).map_err(|e| ShapeError::Json(e.to_string()))?;
        env.check()
    }

    /// Checks every field's form and size and decodes the binary ones.
    pub fn check(&self) -> Result<CheckedEnvelope, ShapeError> {
        if self.v != 1 {
            return Err(ShapeError::Version(self.v));
        }
        if !is_valid_message_id(&self.id) {
            return Err(bad("id", "not 32 lowercase hex digits"));
        }
        if !is_valid_username(&self.from) {
            return Err(bad("from", "not a valid username"));
        }
        if !is_valid_username(&self.to) {
            return Err(bad("to", "not a valid username"));
        }
        let wk = rsa_block("wk", &self.wk)?;
        let iv = fixed::<16>("iv", &self.iv)?;
        let ct = ciphertext(&self.ct)?;
        let tag = fixed::<32>("tag", &self.tag)?;
        let sig = rsa_block("sig", &self.sig)?;
        Ok(CheckedEnvelope {
            id: self.id.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            ts: self.ts,
            wk,
            iv,
            ct,
            tag,
            sig,
        })
    }
}

impl CheckedEnvelope {
    /// Encodes back to the wire form.
    pub fn to_wire(&self) -> Envelope {
        Envelope {
            v: 1,
            id: self.id.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            ts: self.ts,
            wk: B64.encode(&self.wk),
            iv: B64.encode(self.iv),
            ct: B64.encode(&self.ct),
            tag: B64.encode(self.tag),
            sig: B64.encode(&self.sig),
        }
    }
}

/// Whether a receipt says "arrived" or "was read".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptKind {
    /// The recipient's daemon committed the message.
    Delivered,
    /// The recipient read it (opt-in).
    Read,
}

/// The decrypted content of an envelope (docs/PROTOCOL.md §4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// A chat message.
    Text {
        /// The text, at most [`MAX_BODY`] bytes.
        body: String,
        /// Id of the message this one answers.
        reply_to: Option<String>,
        /// The recipient, when the sender also sends it to its own other
        /// devices (docs/PROTOCOL.md §11.1): which conversation it belongs
        /// to there. Absent otherwise.
        to: Option<String>,
    },
    /// Delivery or read receipt for earlier messages.
    Receipt {
        /// The acknowledged message ids.
        ids: Vec<String>,
        /// Delivered or read.
        kind: ReceiptKind,
    },
    /// A message to a group (docs/PROTOCOL.md §9.1).
    GroupText {
        /// The group's id, 32 lowercase hex digits.
        group: String,
        /// The text, at most [`MAX_BODY`] bytes.
        body: String,
        /// Id of the message this one answers.
        reply_to: Option<String>,
    },
    /// A group's roster: its first, or a change (docs/PROTOCOL.md §9.2).
    Roster {
        /// The group's id.
        group: String,
        /// The roster's JSON text, exactly as hashed.
        roster: String,
        /// The parent roster's text, for members the change adds.
        parent_roster: Option<String>,
    },
    /// A new device of the sender's own account announces itself to the
    /// account's other devices (docs/PROTOCOL.md §11.3).
    DeviceAdded {
        /// The new device's name.
        name: String,
    },
    /// A contact pinned, verified or removed on another device of the
    /// sender's own account (docs/PROTOCOL.md §11.4).
    Contact {
        /// The contact's username.
        user: String,
        /// `pinned`, `verified` or `removed`.
        state: ContactSyncState,
        /// The contact's card (JSON text), unless removed.
        card: Option<String>,
        /// When the change was made on that device (ms).
        at: u64,
        /// That device's relay id (16 hex digits): the tie-break.
        device: String,
    },
    /// The sender's keys changed (docs/PROTOCOL.md §13): a transition text,
    /// checked by chatd against the pinned card.
    KeyTransition {
        /// The transition's text (§13.1).
        transition: String,
    },
    /// This account's keys were rotated on another of its devices
    /// (docs/PROTOCOL.md §13.5): the transition, and the new private keys
    /// (PKCS#8 DER, b64) for this device to take.
    KeysRotated {
        /// The transition's text (§13.1).
        transition: String,
        /// The new encryption private key.
        enc: String,
        /// The new signing private key.
        sig: String,
    },
    /// An edit, delete or reaction (docs/PROTOCOL.md §14).
    Change(crate::changes::MessageChange),
    /// A file sent as a blob (docs/PROTOCOL.md §15.4).
    File(crate::files::FileOffer),
    /// A `type` this version does not know; kept as received and shown as unsupported.
    Unsupported {
        /// The payload's `type` field.
        kind: String,
        /// The payload JSON text exactly as received.
        raw: String,
    },
}

/// What a `contact` payload says of a contact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactSyncState {
    /// Pinned, not verified.
    Pinned,
    /// Pinned and verified.
    Verified,
    /// Forgotten.
    Removed,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum KnownPayload {
    Text {
        body: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
    },
    Receipt {
        ids: Vec<String>,
        kind: ReceiptKind,
    },
    GroupText {
        group: String,
        body: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<String>,
    },
    Roster {
        group: String,
        roster: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent_roster: Option<String>,
    },
    DeviceAdded {
        name: String,
    },
    KeyTransition {
        transition: String,
    },
    KeysRotated {
        transition: String,
        enc: String,
        sig: String,
    },
}

/// Largest roster text a payload carries (docs/PROTOCOL.md §9.2).
pub const MAX_ROSTER_TEXT: usize = 1_800_000;

/// Why payload JSON was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// Not a JSON object with a string `type`.
    #[error("payload is not a JSON object with a string `type`")]
    NotAnObject,
    /// A known type with missing or wrong fields.
    #[error("payload of type `{0}` has wrong fields")]
    BadFields(String),
    /// A text body over [`MAX_BODY`].
    #[error("text body of {0} bytes is over the {MAX_BODY}-byte cap")]
    BodyTooLarge(usize),
    /// A receipt naming an id that is not 32 lowercase hex digits.
    #[error("receipt names an invalid message id")]
    BadId,
    /// A group id that is not 32 lowercase hex digits, or a roster text over its cap.
    #[error("invalid group id or roster")]
    BadGroup,
}

impl Payload {
    /// A plain text message.
    pub fn text(body: impl Into<String>) -> Self {
        Payload::Text {
            body: body.into(),
            reply_to: None,
            to: None,
        }
    }

    /// The exact JSON bytes that get padded and encrypted.
    pub fn to_json(&self) -> Result<Vec<u8>, PayloadError> {
        let known = match self {
            Payload::Text { body, reply_to, to } => {
                if body.len() > MAX_BODY {
                    return Err(PayloadError::BodyTooLarge(body.len()));
                }
                KnownPayload::Text {
                    body: body.clone(),
                    reply_to: reply_to.clone(),
                    to: to.clone(),
                }
            }
            Payload::DeviceAdded { name } => KnownPayload::DeviceAdded { name: name.clone() },
            Payload::KeyTransition { transition } => KnownPayload::KeyTransition {
                transition: transition.clone(),
            },
            Payload::KeysRotated {
                transition,
                enc,
                sig,
            } => KnownPayload::KeysRotated {
                transition: transition.clone(),
                enc: enc.clone(),
                sig: sig.clone(),
            },
            Payload::Contact {
                user,
                state,
                card,
                at,
                device,
            } => {
                // Written by hand so that the card keeps its text (§2's
                // member order); reading goes through `KnownPayload`.
                #[derive(Serialize)]
                struct ContactOut<'a> {
                    #[serde(rename = "type")]
                    kind: &'static str,
                    user: &'a str,
                    state: ContactSyncState,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    card: Option<&'a serde_json::value::RawValue>,
                    at: u64,
                    device: &'a str,
                }
                let raw = match card {
                    Some(text) => Some(
                        serde_json::value::RawValue::from_string(text.clone())
                            .map_err(|_| PayloadError::BadFields("contact".into()))?,
                    ),
                    None => None,
                };
                let out = ContactOut {
                    kind: "contact",
                    user,
                    state: *state,
                    card: raw.as_deref(),
                    at: *at,
                    device,
                };
                return Ok(serde_json::to_vec(&out).expect("payload types always serialize"));
            }
            Payload::Receipt { ids, kind } => KnownPayload::Receipt {
                ids: ids.clone(),
                kind: *kind,
            },
            Payload::GroupText {
                group,
                body,
                reply_to,
            } => {
                if body.len() > MAX_BODY {
                    return Err(PayloadError::BodyTooLarge(body.len()));
                }
                KnownPayload::GroupText {
                    group: group.clone(),
                    body: body.clone(),
                    reply_to: reply_to.clone(),
                }
            }
            Payload::Roster {
                group,
                roster,
                parent_roster,
            } => KnownPayload::Roster {
                group: group.clone(),
                roster: roster.clone(),
                parent_roster: parent_roster.clone(),
            },
            Payload::Unsupported { raw, .. } => return Ok(raw.as_bytes().to_vec()),
            Payload::Change(change) => return change.to_json(),
            Payload::File(offer) => return offer.to_json(),
        };
        Ok(serde_json::to_vec(&known).expect("payload types always serialize"))
    }

    /// Parses decrypted payload JSON. Unknown types are kept, not dropped.
    pub fn from_json(bytes: &[u8]) -> Result<Self, PayloadError> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|_| PayloadError::NotAnObject)?;
        let kind = value
            .get("type")
            .and_then(|t| t.as_str())
            .ok_or(PayloadError::NotAnObject)?
            .to_owned();
        if ![
            "text",
            "receipt",
            "group_text",
            "roster",
            "device_added",
            "contact",
            "key_transition",
            "keys_rotated",
            "edit",
            "delete",
            "react",
            "file",
        ]
        .contains(&kind.as_str())
        {
            let raw = String::from_utf8(bytes.to_vec()).map_err(|_| PayloadError::NotAnObject)?;
            return Ok(Payload::Unsupported { kind, raw });
        }
        if kind == "contact" {
            return contact::contact_from_json(bytes);
        }
        if kind == "file" {
            return crate::files::FileOffer::from_json(bytes).map(Payload::File);
        }
        if crate::changes::CHANGE_TYPES.contains(&kind.as_str()) {
            return crate::changes::MessageChange::from_json(bytes).map(Payload::Change);
        }
        let known: KnownPayload =
            serde_json::from_value(value).map_err(|_| PayloadError::BadFields(kind))?;
        match known {
            KnownPayload::Text { body, reply_to, to } => {
                if body.len() > MAX_BODY {
                    return Err(PayloadError::BodyTooLarge(body.len()));
                }
                if reply_to.as_deref().is_some_and(|r| !is_valid_message_id(r)) {
                    return Err(PayloadError::BadId);
                }
                if to.as_deref().is_some_and(|t| !is_valid_username(t)) {
                    return Err(PayloadError::BadFields("text".into()));
                }
                Ok(Payload::Text { body, reply_to, to })
            }
            KnownPayload::KeysRotated {
                transition,
                enc,
                sig,
            } => {
                if transition.len() > 16 * 1024 || enc.len() > 8 * 1024 || sig.len() > 8 * 1024 {
                    return Err(PayloadError::BadFields("keys_rotated".into()));
                }
                Ok(Payload::KeysRotated {
                    transition,
                    enc,
                    sig,
                })
            }
            KnownPayload::KeyTransition { transition } => {
                // 16 KiB: docs/PROTOCOL.md §13.1; the rest is chatd's check.
                if transition.len() > 16 * 1024 {
                    return Err(PayloadError::BadFields("key_transition".into()));
                }
                Ok(Payload::KeyTransition { transition })
            }
            KnownPayload::DeviceAdded { name } => {
                if !crate::relay::is_valid_device_name(&name) {
                    return Err(PayloadError::BadFields("device_added".into()));
                }
                Ok(Payload::DeviceAdded { name })
            }
            KnownPayload::Receipt { ids, kind } => {
                if ids.is_empty() || !ids.iter().all(|i| is_valid_message_id(i)) {
                    return Err(PayloadError::BadId);
                }
                Ok(Payload::Receipt { ids, kind })
            }
            KnownPayload::GroupText {
                group,
                body,
                reply_to,
            } => {
                if !is_valid_message_id(&group) {
                    return Err(PayloadError::BadGroup);
                }
                if body.len() > MAX_BODY {
                    return Err(PayloadError::BodyTooLarge(body.len()));
                }
                if reply_to.as_deref().is_some_and(|r| !is_valid_message_id(r)) {
                    return Err(PayloadError::BadId);
                }
                Ok(Payload::GroupText {
                    group,
                    body,
                    reply_to,
                })
            }
            KnownPayload::Roster {
                group,
                roster,
                parent_roster,
            } => {
                let too_long = |t: &str| t.len() > MAX_ROSTER_TEXT;
                if !is_valid_message_id(&group)
                    || too_long(&roster)
                    || parent_roster.as_deref().is_some_and(too_long)
                {
                    return Err(PayloadError::BadGroup);
                }
                Ok(Payload::Roster {
                    group,
                    roster,
                    parent_roster,
                })
            }
        }
    }
}

mod contact;
#[cfg(test)]
mod tests;
