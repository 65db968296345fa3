//! Contact cards, SPKI codecs and fingerprints (docs/PROTOCOL.md §2–§3).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ipc_schema::envelope::is_valid_username;
use rsa::PublicKey;
use rsa::pkcs8::{DecodePublicKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::{CardError, KeyError};
use super::{put_lp, to_hex};

/// Domain separator of the fingerprint hash.
const FINGERPRINT_DOMAIN: &[u8] = b"chat-card-v1\0";
/// No real card (two 4096-bit SPKIs in base64 and a name) comes near this.
const MAX_CARD_JSON: usize = 8 * 1024;

/// Modulus sizes chat accepts, in bits.
pub const ALLOWED_BITS: [usize; 3] = [2048, 3072, 4096];

/// Decodes a DER SubjectPublicKeyInfo and applies chat's key policy:
/// RSA, modulus 2048/3072/4096 bits, e = 65537, canonical DER.
pub fn public_key_from_spki(der: &[u8]) -> Result<PublicKey, KeyError> {
    let key = PublicKey::from_public_key_der(der).map_err(|_| KeyError::Der)?;
    check_public_key(&key)?;
    let again = key.to_public_key_der().map_err(|_| KeyError::Der)?;
    if again.as_bytes() != der {
        return Err(KeyError::NonCanonical);
    }
    Ok(key)
}

/// Encodes a public key as DER SubjectPublicKeyInfo.
pub fn public_key_to_spki(key: &PublicKey) -> Vec<u8> {
    key.to_public_key_der()
        .expect("an RSA public key always encodes")
        .as_bytes()
        .to_vec()
}

/// Checks modulus size and exponent against chat's key policy.
pub(crate) fn check_public_key(key: &PublicKey) -> Result<(), KeyError> {
    let bits = key.n().bit_width() as usize;
    if !ALLOWED_BITS.contains(&bits) {
        return Err(KeyError::Size(bits));
    }
    if key.e_bytes().as_ref() != [0x01, 0x00, 0x01] {
        return Err(KeyError::Exponent);
    }
    Ok(())
}

/// SHA-256 identity fingerprint of a card.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The 32 hash bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// 64 lowercase hex digits, no spaces.
    pub fn to_hex(&self) -> String {
        to_hex(&self.0)
    }

    /// 16 groups of 4 lowercase hex digits separated by spaces, for people to compare.
    pub fn grouped(&self) -> String {
        ipc_schema::fingerprint::grouped(&self.0)
    }

    /// Parses what a person typed (`ipc_schema::fingerprint::parse`: 64 hex
    /// digits, any case, spaces, tabs, colons and dashes ignored).
    pub fn parse(text: &str) -> Option<Fingerprint> {
        ipc_schema::fingerprint::parse(text).map(Fingerprint)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.grouped())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.to_hex())
    }
}

/// The card exactly as it is written: `{"v":1,"user":…,"enc":…,"sig":…}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CardJson {
    v: u32,
    user: String,
    enc: String,
    sig: String,
}

/// A user's public identity: name, encryption key and signing key.
#[derive(Clone, PartialEq, Eq)]
pub struct Card {
    user: String,
    enc: PublicKey,
    sig: PublicKey,
    enc_der: Vec<u8>,
    sig_der: Vec<u8>,
    fingerprint: Fingerprint,
}

impl Card {
    /// Builds a card from public keys, checking the name and the key policy.
    pub fn new(user: &str, enc: PublicKey, sig: PublicKey) -> Result<Card, CardError> {
        let enc_der = public_key_to_spki(&enc);
        let sig_der = public_key_to_spki(&sig);
        Card::from_der(user, &enc_der, &sig_der)
    }

    /// Builds a card from DER SubjectPublicKeyInfo bytes.
    pub fn from_der(user: &str, enc_der: &[u8], sig_der: &[u8]) -> Result<Card, CardError> {
        if !is_valid_username(user) {
            return Err(CardError::User);
        }
        let enc = public_key_from_spki(enc_der).map_err(|source| CardError::Key {
            field: "enc",
            source,
        })?;
        let sig = public_key_from_spki(sig_der).map_err(|source| CardError::Key {
            field: "sig",
            source,
        })?;
        let fingerprint = fingerprint_of(user, enc_der, sig_der);
        Ok(Card {
            user: user.to_owned(),
            enc,
            sig,
            enc_der: enc_der.to_vec(),
            sig_der: sig_der.to_vec(),
            fingerprint,
        })
    }

    /// Parses card JSON strictly (exact fields, v = 1, canonical base64 and DER).
    pub fn from_json(json: &[u8]) -> Result<Card, CardError> {
        if json.len() > MAX_CARD_JSON {
            return Err(CardError::TooLarge);
        }
        let card: CardJson =
            serde_json::from_slice(json).map_err(|e| CardError::Json(e.to_string()))?;
        Card::from_card_json(card)
    }

    /// Parses a card that arrived inside another JSON document.
    pub fn from_value(value: &serde_json::Value) -> Result<Card, CardError> {
        let card: CardJson =
            serde_json::from_value(value.clone()).map_err(|e| CardError::Json(e.to_string()))?;
        Card::from_card_json(card)
    }

    fn from_card_json(card: CardJson) -> Result<Card, CardError> {
        if card.v != 1 {
            return Err(CardError::Version(card.v));
        }
        let enc = B64
            .decode(&card.enc)
            .map_err(|_| CardError::Base64("enc"))?;
        let sig = B64
            .decode(&card.sig)
            .map_err(|_| CardError::Base64("sig"))?;
        Card::from_der(&card.user, &enc, &sig)
    }

    /// The card as compact JSON, fields in the order `v, user, enc, sig`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.to_card_json()).expect("cards always serialize")
    }

    /// The card as a JSON value, for embedding in requests.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self.to_card_json()).expect("cards always serialize")
    }

    fn to_card_json(&self) -> CardJson {
        CardJson {
            v: 1,
            user: self.user.clone(),
            enc: B64.encode(&self.enc_der),
            sig: B64.encode(&self.sig_der),
        }
    }

    /// The username the card names.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The encryption (RSA-OAEP) public key.
    pub fn enc_key(&self) -> &PublicKey {
        &self.enc
    }

    /// The signing (RSA-PSS) public key.
    pub fn sig_key(&self) -> &PublicKey {
        &self.sig
    }

    /// DER SPKI of the encryption key.
    pub fn enc_der(&self) -> &[u8] {
        &self.enc_der
    }

    /// DER SPKI of the signing key.
    pub fn sig_der(&self) -> &[u8] {
        &self.sig_der
    }

    /// The card's fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }
}

impl fmt::Debug for Card {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Card")
            .field("user", &self.user)
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

/// SHA-256 of `"chat-card-v1\0" || lp(user) || lp(enc_der) || lp(sig_der)`.
fn fingerprint_of(user: &str, enc_der: &[u8], sig_der: &[u8]) -> Fingerprint {
    let mut data = Vec::with_capacity(
        FINGERPRINT_DOMAIN.len() + user.len() + enc_der.len() + sig_der.len() + 12,
    );
    data.extend_from_slice(FINGERPRINT_DOMAIN);
    put_lp(&mut data, user.as_bytes());
    put_lp(&mut data, enc_der);
    put_lp(&mut data, sig_der);
    Fingerprint(Sha256::digest(&data).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_parses_what_people_type() {
        let fp = Fingerprint([0xab; 32]);
        assert_eq!(fp.grouped().len(), 64 + 15);
        assert_eq!(Fingerprint::parse(&fp.grouped()), Some(fp));
        assert_eq!(Fingerprint::parse(&fp.to_hex().to_uppercase()), Some(fp));
        assert_eq!(Fingerprint::parse(&fp.to_hex()[..62]), None);
        assert_eq!(Fingerprint::parse(&"zz".repeat(32)), None);
    }

    #[test]
    fn card_json_is_strict() {
        for bad in [
            &b"not json"[..],
            br#"{"v":1,"user":"alice","enc":"","sig":"","x":1}"#,
            br#"{"v":2,"user":"alice","enc":"","sig":""}"#,
            br#"{"v":1,"user":"Alice","enc":"","sig":""}"#,
            br#"{"v":1,"user":"alice","enc":"!!","sig":""}"#,
            br#"{"v":1,"user":"alice","enc":"AAAA","sig":"AAAA"}"#,
        ] {
            assert!(
                Card::from_json(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(matches!(
            Card::from_json(&vec![b' '; MAX_CARD_JSON + 1]),
            Err(CardError::TooLarge)
        ));
    }
}
