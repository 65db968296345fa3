//! All of chat's cryptography, and the only place it lives (docs/PROTOCOL.md).
//!
//! - [`primitives`]: thin, fixed-parameter wrappers over RustCrypto (RSA-OAEP,
//!   RSA-PSS, HMAC-SHA256, AES-256-CBC) that everything else goes through and
//!   that the Wycheproof suite checks.
//! - [`identity`]: a user's two key pairs, generation and PKCS#8 codecs.
//! - [`card`]: the public contact card, SPKI codecs and the fingerprint.
//! - [`envelope`]: sealing and opening envelope v1, opening either version.
//! - [`envelope_v2`]: sealing and opening envelope v2 (several recipients).
//! - [`secret`]: byte buffers that are redacted in `Debug` and zeroized on drop.

pub mod backup;
pub mod card;
pub mod envelope;
pub mod envelope_v2;
pub mod error;
pub mod file;
pub mod identity;
pub mod link;
pub mod passphrase;
pub mod primitives;
pub mod secret;
pub mod transition;

pub use card::{Card, Fingerprint};
pub use envelope::{
    Opened, Peers, open, open_json, open_parsed, seal, seal_as, sealable, shape_error,
};
pub use envelope_v2::{seal_v2_as, seal_v2_bytes};
pub use error::{CardError, KeyError, OpenError, SealError};
pub use identity::{Identity, KeyBits};
pub use secret::SecretBytes;

/// Appends `lp(x)`: the length of `x` as 4 bytes big-endian, then `x`.
pub(crate) fn put_lp(out: &mut Vec<u8>, x: &[u8]) {
    let len = u32::try_from(x.len()).expect("fields are far below 4 GiB");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(x);
}

pub(crate) use ipc_schema::fingerprint::to_hex;
