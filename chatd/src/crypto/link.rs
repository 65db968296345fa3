//! Device links (docs/PROTOCOL.md §12): a one-time code of 160 bits, a
//! handle the relay finds the link by and a key it never sees, both derived
//! from the code with HKDF-SHA256; the link is the contents of §10.1 (and
//! optionally the history) sealed with AES-256-CBC and HMAC-SHA256.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::SecretBytes;
use super::primitives::{aes256_cbc_decrypt, aes256_cbc_encrypt, hmac_sha256, hmac_sha256_verify};

/// Random bytes in a code (160 bits).
pub const CODE_BYTES: usize = 20;
/// Crockford's base32: no I, L, O or U.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const SALT: &[u8] = b"chat-link-v1";
const AD_LABEL: &[u8] = b"chat-link-v1\0";
/// The longest link text read (the relay keeps at most 16 MiB).
pub const MAX_LINK_TEXT: usize = ipc_schema::relay::MAX_LINK_BYTES;

/// Why a link does not open (docs/PROTOCOL.md §12.4, in the order checked).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The code is not 32 characters of the code alphabet.
    #[error("bad_code: {0}")]
    BadCode(String),
    /// Not a link: truncated, not the JSON of §12.3, or bad sizes.
    #[error("malformed: {0}")]
    Malformed(String),
    /// Another version.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The tag does not match: a wrong code, or the link was changed.
    #[error("wrong_code_or_tampered: the code is wrong, or the link was changed")]
    WrongCodeOrTampered,
    /// The relay has no link by the code's handle.
    #[error(
        "no_such_link: the relay has no link for this code: it is mistyped, was used, or expired (10 minutes)"
    )]
    NoSuchLink,
}

impl LinkError {
    /// The step's name of docs/PROTOCOL.md §12.4.
    pub fn name(&self) -> &'static str {
        match self {
            LinkError::BadCode(_) => "bad_code",
            LinkError::Malformed(_) => "malformed",
            LinkError::Unsupported(_) => "unsupported",
            LinkError::WrongCodeOrTampered => "wrong_code_or_tampered",
            LinkError::NoSuchLink => "no_such_link",
        }
    }
}

/// A link code: its bytes, and what derives from them.
pub struct LinkCode {
    bytes: Zeroizing<[u8; CODE_BYTES]>,
}

impl std::fmt::Debug for LinkCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkCode(…)")
    }
}

impl LinkCode {
    /// A fresh code.
    pub fn generate<R: CryptoRng>(rng: &mut R) -> LinkCode {
        let mut bytes = Zeroizing::new([0u8; CODE_BYTES]);
        rng.fill_bytes(&mut bytes[..]);
        LinkCode { bytes }
    }

    /// A code of these bytes (the vectors).
    pub fn from_bytes(bytes: [u8; CODE_BYTES]) -> LinkCode {
        LinkCode {
            bytes: Zeroizing::new(bytes),
        }
    }

    /// Reads a code as a person typed it (§12.1): case, spaces and hyphens
    /// do not matter, and O, I and L read as 0, 1 and 1.
    pub fn parse(text: &str) -> Result<LinkCode, LinkError> {
        let mut acc: u64 = 0;
        let mut bits = 0u32;
        let mut out = Vec::with_capacity(CODE_BYTES);
        let mut chars = 0usize;
        for c in text.chars() {
            if c == '-' || c.is_whitespace() {
                continue;
            }
            let c = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            let Some(value) = ALPHABET.iter().position(|&a| char::from(a) == c) else {
                return Err(LinkError::BadCode(
                    "a link code has only digits and letters (no U), in groups".into(),
                ));
            };
            chars += 1;
            if chars > 32 {
                break;
            }
            acc = (acc << 5) | value as u64;
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
        if chars != 32 {
            return Err(LinkError::BadCode(format!(
                "a link code has 32 characters, this one {chars}"
            )));
        }
        let bytes: [u8; CODE_BYTES] = out.try_into().expect("32 × 5 bits are 20 bytes");
        Ok(LinkCode::from_bytes(bytes))
    }

    /// The code as shown: 32 characters in 8 groups of 4.
    pub fn text(&self) -> String {
        let mut chars = String::with_capacity(39);
        let (mut acc, mut bits) = (0u64, 0u32);
        for &b in self.bytes.iter() {
            acc = (acc << 8) | u64::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                if !chars.is_empty() && chars.len() % 5 == 4 {
                    chars.push('-');
                }
                chars.push(char::from(ALPHABET[((acc >> bits) & 31) as usize]));
            }
            acc &= (1 << bits) - 1;
        }
        chars
    }

    /// The handle the relay keeps the link under: 64 hex digits.
    pub fn handle(&self) -> String {
        super::to_hex(&hkdf::<32>(&self.bytes[..], b"handle"))
    }

    /// `ke || km` (§12.2): the vectors show them.
    pub fn keys(&self) -> Zeroizing<[u8; 64]> {
        Zeroizing::new(hkdf::<64>(&self.bytes[..], b"keys"))
    }
}

/// HKDF-SHA256 (RFC 5869) with §12.2's salt.
fn hkdf<const N: usize>(ikm: &[u8], info: &[u8]) -> [u8; N] {
    hkdf_salted(SALT, ikm, info)
}

/// HKDF-SHA256 (RFC 5869), `N` ≤ 255 × 32 bytes.
fn hkdf_salted<const N: usize>(salt: &[u8], ikm: &[u8], info: &[u8]) -> [u8; N] {
    let prk = Zeroizing::new(hmac_sha256(salt, &[ikm]));
    let mut out = [0u8; N];
    let mut previous: Vec<u8> = Vec::new();
    for (i, chunk) in out.chunks_mut(32).enumerate() {
        let counter = [i as u8 + 1];
        let block = hmac_sha256(&prk[..], &[&previous, info, &counter]);
        chunk.copy_from_slice(&block[..chunk.len()]);
        previous = block.to_vec();
    }
    out
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Outer {
    v: u32,
    iv: String,
    ct: String,
    tag: String,
}

fn ad(handle: &[u8]) -> Vec<u8> {
    let mut ad = AD_LABEL.to_vec();
    ad.extend_from_slice(handle);
    ad
}

/// Seals `plaintext` under `code` with this `iv` (§12.3).
pub fn seal_with(code: &LinkCode, plaintext: &[u8], iv: [u8; 16]) -> String {
    let keys = code.keys();
    let mut ke = Zeroizing::new([0u8; 32]);
    ke.copy_from_slice(&keys[..32]);
    let handle = hkdf::<32>(&code.bytes[..], b"handle");
    let ct = aes256_cbc_encrypt(&ke, &iv, plaintext);
    let tag = hmac_sha256(&keys[32..], &[&ad(&handle), &iv, &ct]);
    serde_json::to_string(&Outer {
        v: 1,
        iv: B64.encode(iv),
        ct: B64.encode(&ct),
        tag: B64.encode(tag),
    })
    .expect("JSON of strings and numbers")
}

/// Seals `plaintext` under `code` with a random iv.
pub fn seal<R: CryptoRng>(code: &LinkCode, plaintext: &[u8], rng: &mut R) -> String {
    let mut iv = [0u8; 16];
    rng.fill_bytes(&mut iv);
    seal_with(code, plaintext, iv)
}

fn b64_exact<const N: usize>(text: &str, what: &str) -> Result<[u8; N], LinkError> {
    let bytes = B64
        .decode(text)
        .map_err(|_| LinkError::Malformed(format!("`{what}` is not base64")))?;
    bytes
        .try_into()
        .map_err(|_| LinkError::Malformed(format!("`{what}` is not {N} bytes")))
}

/// Opens a link (§12.4 steps 1 to 5): the plaintext of §10.1, not yet
/// checked (that is [`super::backup::BackupContents::parse`]).
pub fn open(code: &LinkCode, text: &[u8]) -> Result<SecretBytes, LinkError> {
    if text.len() > MAX_LINK_TEXT {
        return Err(LinkError::Malformed("over 16 MiB".into()));
    }
    #[derive(Deserialize)]
    struct Version {
        v: u32,
    }
    let Version { v } = serde_json::from_slice(text)
        .map_err(|e| LinkError::Malformed(format!("not a device link ({e})")))?;
    if v != 1 {
        return Err(LinkError::Unsupported(format!("version {v}")));
    }
    let outer: Outer = serde_json::from_slice(text)
        .map_err(|e| LinkError::Malformed(format!("not a device link ({e})")))?;
    let iv: [u8; 16] = b64_exact(&outer.iv, "iv")?;
    let tag: [u8; 32] = b64_exact(&outer.tag, "tag")?;
    let ct = B64
        .decode(&outer.ct)
        .map_err(|_| LinkError::Malformed("`ct` is not base64".into()))?;
    if ct.is_empty() || ct.len() % 16 != 0 {
        return Err(LinkError::Malformed("`ct` is not whole AES blocks".into()));
    }
    let keys = code.keys();
    let handle = hkdf::<32>(&code.bytes[..], b"handle");
    if !hmac_sha256_verify(&keys[32..], &[&ad(&handle), &iv, &ct], &tag) {
        return Err(LinkError::WrongCodeOrTampered);
    }
    let mut ke = Zeroizing::new([0u8; 32]);
    ke.copy_from_slice(&keys[..32]);
    aes256_cbc_decrypt(&ke, &iv, &ct).map_err(|_| LinkError::WrongCodeOrTampered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_reads_back_as_typed_in_any_case_with_look_alikes() {
        let code = LinkCode::from_bytes(
            *b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\xfa\xfb\xfc\xfd\xfe\xff\x10\x20\x30\x40",
        );
        let text = code.text();
        assert_eq!(text.len(), 39);
        assert_eq!(text.split('-').count(), 8);
        assert!(text.split('-').all(|g| g.len() == 4));
        let again = LinkCode::parse(&text).unwrap();
        assert_eq!(*again.bytes, *code.bytes);
        let typed = text
            .to_lowercase()
            .replace('-', " ")
            .replace('0', "o")
            .replace('1', "l");
        assert_eq!(*LinkCode::parse(&typed).unwrap().bytes, *code.bytes);
        assert_eq!(LinkCode::parse(&text[..38]).unwrap_err().name(), "bad_code");
        assert_eq!(
            LinkCode::parse(&format!("{text}A")).unwrap_err().name(),
            "bad_code"
        );
        assert_eq!(
            LinkCode::parse(&text.replacen(|c: char| c.is_ascii_alphanumeric(), "U", 1))
                .unwrap_err()
                .name(),
            "bad_code"
        );
        assert_eq!(code.handle().len(), 64);
    }

    #[test]
    fn hkdf_gives_rfc_5869_test_case_1() {
        let okm = hkdf_salted::<42>(
            &(0u8..=0x0c).collect::<Vec<_>>(),
            &[0x0b; 22],
            &(0xf0u8..=0xf9).collect::<Vec<_>>(),
        );
        assert_eq!(
            super::super::to_hex(&okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
    }

    #[test]
    fn a_link_opens_with_its_code_only_and_every_field_is_bound() {
        let code = LinkCode::generate(&mut rand::rng());
        let text = seal(&code, b"the contents", &mut rand::rng());
        assert_eq!(
            open(&code, text.as_bytes()).unwrap().expose_secret(),
            b"the contents"
        );
        let other = LinkCode::generate(&mut rand::rng());
        assert_eq!(
            open(&other, text.as_bytes()).unwrap_err(),
            LinkError::WrongCodeOrTampered
        );
        let outer: serde_json::Value = serde_json::from_str(&text).unwrap();
        for field in ["iv", "ct", "tag"] {
            let mut changed = outer.clone();
            let mut bytes = B64.decode(changed[field].as_str().unwrap()).unwrap();
            bytes[0] ^= 1;
            changed[field] = B64.encode(bytes).into();
            assert_eq!(
                open(&code, changed.to_string().as_bytes()).unwrap_err(),
                LinkError::WrongCodeOrTampered,
                "{field}"
            );
        }
        for cut in [0, 1, text.len() / 2, text.len() - 1] {
            assert_eq!(
                open(&code, &text.as_bytes()[..cut]).unwrap_err().name(),
                "malformed"
            );
        }
        let mut v2 = outer.clone();
        v2["v"] = 2.into();
        assert_eq!(
            open(&code, v2.to_string().as_bytes()).unwrap_err().name(),
            "unsupported"
        );
    }
}
