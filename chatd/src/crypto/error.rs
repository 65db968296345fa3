//! Typed errors, one per failed step. They are for tests and local logs only:
//! nothing here is ever sent to a peer or the relay (no error oracle).

use ipc_schema::envelope::{PayloadError, ShapeError};
use ipc_schema::methods::DropReason;

/// Why a key could not be generated, decoded or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The DER is not a PKCS#8 / SPKI RSA key.
    #[error("not a valid RSA key in DER form")]
    Der,
    /// A modulus size other than 2048, 3072 or 4096 bits.
    #[error("RSA modulus of {0} bits; only 2048, 3072 and 4096 are allowed")]
    Size(usize),
    /// A public exponent other than 65537.
    #[error("RSA public exponent is not 65537")]
    Exponent,
    /// The DER decodes but is not the canonical encoding of the key.
    #[error("key DER is not in canonical form")]
    NonCanonical,
    /// Key generation failed.
    #[error("RSA key generation failed")]
    Generate,
}

/// Why a contact card was refused.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    /// Not JSON of the exact card shape.
    #[error("card is not JSON of the shape {{\"v\":1,\"user\",\"enc\",\"sig\"}}: {0}")]
    Json(String),
    /// `v` is not 1.
    #[error("unsupported card version {0}")]
    Version(u32),
    /// The username does not match `^[a-z0-9][a-z0-9_.-]{{2,31}}$`.
    #[error("invalid username in card")]
    User,
    /// `enc` or `sig` is not canonical padded base64.
    #[error("card field `{0}` is not canonical base64")]
    Base64(&'static str),
    /// `enc` or `sig` is not an acceptable RSA public key.
    #[error("card field `{field}`: {source}")]
    Key {
        /// Which key.
        field: &'static str,
        /// What is wrong with it.
        source: KeyError,
    },
    /// The card is larger than any real card.
    #[error("card is over the size cap")]
    TooLarge,
}

/// Why sealing failed. These are local failures (bad input or a broken key).
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The payload could not be encoded (e.g. a body over 4 MiB).
    #[error("payload refused: {0}")]
    Payload(#[from] PayloadError),
    /// The encoded payload does not fit in one envelope.
    #[error("payload of {0} bytes is too large for one envelope")]
    TooLarge(usize),
    /// The sender's or recipient's username is invalid.
    #[error("invalid username")]
    User,
    /// RSA-OAEP encryption of the keys failed.
    #[error("key wrap failed")]
    Wrap,
    /// RSA-PSS signing failed.
    #[error("signing failed")]
    Sign,
    /// A v2 envelope needs 1 to 1,000 recipients.
    #[error("{0} recipients; an envelope takes 1 to 1,000")]
    Recipients(usize),
    /// A v2 envelope names each recipient once.
    #[error("a recipient is listed twice")]
    RepeatedRecipient,
}

/// Why opening an envelope failed, one variant per step of docs/PROTOCOL.md §6.3, in order.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    /// Strict parsing refused it (size caps, shape, field forms).
    #[error("malformed envelope: {0}")]
    Malformed(ShapeError),
    /// `v` is not the version of the envelope's members (1 or 2).
    #[error("unsupported envelope version")]
    UnsupportedVersion,
    /// `to` is not this identity.
    #[error("envelope is addressed to someone else")]
    WrongRecipient,
    /// `from` is not a contact: dropped without any private-key operation.
    #[error("sender is not a contact")]
    UnknownSender,
    /// The signature does not verify with the contact's pinned signing key.
    #[error("signature does not verify")]
    BadSignature,
    /// This (`from`, `id`) was already accepted.
    #[error("replayed envelope")]
    Replay,
    /// RSA-OAEP decryption of `wk` failed.
    #[error("key unwrap failed")]
    KeyUnwrap,
    /// The unwrapped key material is not 64 bytes.
    #[error("unwrapped key material has the wrong length")]
    KeyLength,
    /// v2: the unwrapped key material is not the one the sender committed to.
    #[error("key commitment does not match")]
    KeyCommit,
    /// The HMAC tag does not match.
    #[error("MAC does not match")]
    BadMac,
    /// AES-CBC decryption or PKCS#7 unpadding failed.
    #[error("decryption failed")]
    Decrypt,
    /// The 0x80 length-hiding padding is missing or wrong.
    #[error("length-hiding padding is invalid")]
    Padding,
    /// The plaintext is not a valid payload.
    #[error("payload invalid: {0}")]
    Payload(PayloadError),
}

impl OpenError {
    /// Stable snake_case name, used in test vectors and logs.
    pub fn name(&self) -> &'static str {
        match self {
            OpenError::Malformed(_) => "malformed",
            OpenError::UnsupportedVersion => "unsupported_version",
            OpenError::WrongRecipient => "wrong_recipient",
            OpenError::UnknownSender => "unknown_sender",
            OpenError::BadSignature => "bad_signature",
            OpenError::Replay => "replay",
            OpenError::KeyUnwrap => "key_unwrap",
            OpenError::KeyLength => "key_length",
            OpenError::KeyCommit => "key_commit",
            OpenError::BadMac => "bad_mac",
            OpenError::Decrypt => "decrypt",
            OpenError::Padding => "padding",
            OpenError::Payload(_) => "payload",
        }
    }

    /// The counter this failure is recorded under (docs/IPC.md, `status`):
    /// shape failures are `malformed`; anything before decryption is
    /// `bad_signature`; anything after a good signature is `undecryptable`.
    pub fn drop_reason(&self) -> DropReason {
        match self {
            OpenError::Malformed(_) => DropReason::Malformed,
            OpenError::UnknownSender => DropReason::UnknownSender,
            OpenError::Replay => DropReason::Replay,
            OpenError::UnsupportedVersion | OpenError::WrongRecipient | OpenError::BadSignature => {
                DropReason::BadSignature
            }
            OpenError::KeyUnwrap
            | OpenError::KeyLength
            | OpenError::KeyCommit
            | OpenError::BadMac
            | OpenError::Decrypt
            | OpenError::Padding
            | OpenError::Payload(_) => DropReason::Undecryptable,
        }
    }
}
