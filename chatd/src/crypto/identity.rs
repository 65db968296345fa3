//! A user's own identity: an encryption key pair and a signing key pair.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use rand_core::CryptoRng;
use rsa::PrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};

use super::card::{Card, check_public_key};
use super::error::{CardError, KeyError};
use super::primitives::{self, PrimitiveError};
use super::secret::SecretBytes;

/// RSA modulus size chosen at key generation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeyBits {
    /// 2048 bits: fastest, the minimum accepted.
    B2048,
    /// 3072 bits: the default (about 128-bit security).
    #[default]
    B3072,
    /// 4096 bits.
    B4096,
}

impl KeyBits {
    /// The modulus size in bits.
    pub fn bits(self) -> usize {
        match self {
            KeyBits::B2048 => 2048,
            KeyBits::B3072 => 3072,
            KeyBits::B4096 => 4096,
        }
    }

    /// The size for `bits`, if it is one chat allows.
    pub fn from_bits(bits: usize) -> Option<KeyBits> {
        match bits {
            2048 => Some(KeyBits::B2048),
            3072 => Some(KeyBits::B3072),
            4096 => Some(KeyBits::B4096),
            _ => None,
        }
    }
}

/// The private half of a user: both key pairs and the matching card.
///
/// No `Serialize`, a `Debug` that shows only the name and fingerprint; the
/// RSA keys zeroize themselves on drop. Every private-key operation is counted,
/// so tests can prove that some inputs cause none.
pub struct Identity {
    enc: PrivateKey,
    sig: PrivateKey,
    card: Card,
    private_ops: AtomicU64,
}

impl Identity {
    /// Generates fresh encryption and signing key pairs for `user`.
    pub fn generate<R: CryptoRng + ?Sized>(
        user: &str,
        bits: KeyBits,
        rng: &mut R,
    ) -> Result<Identity, CardError> {
        let enc = PrivateKey::new(rng, bits.bits()).map_err(|_| CardError::Key {
            field: "enc",
            source: KeyError::Generate,
        })?;
        let sig = PrivateKey::new(rng, bits.bits()).map_err(|_| CardError::Key {
            field: "sig",
            source: KeyError::Generate,
        })?;
        Identity::from_keys(user, enc, sig)
    }

    /// Rebuilds an identity from the two PKCS#8 DER private keys.
    pub fn from_pkcs8(user: &str, enc_der: &[u8], sig_der: &[u8]) -> Result<Identity, CardError> {
        let decode = |field, der| {
            PrivateKey::from_pkcs8_der(der).map_err(|_| CardError::Key {
                field,
                source: KeyError::Der,
            })
        };
        Identity::from_keys(user, decode("enc", enc_der)?, decode("sig", sig_der)?)
    }

    fn from_keys(user: &str, enc: PrivateKey, sig: PrivateKey) -> Result<Identity, CardError> {
        for (field, key) in [("enc", &enc), ("sig", &sig)] {
            check_public_key(key.as_public_key())
                .map_err(|source| CardError::Key { field, source })?;
        }
        let card = Card::new(user, enc.to_public_key(), sig.to_public_key())?;
        Ok(Identity {
            enc,
            sig,
            card,
            private_ops: AtomicU64::new(0),
        })
    }

    /// PKCS#8 DER of the encryption private key, for the keystore.
    pub fn enc_private_pkcs8(&self) -> SecretBytes {
        pkcs8_of(&self.enc)
    }

    /// PKCS#8 DER of the signing private key, for the keystore.
    pub fn sig_private_pkcs8(&self) -> SecretBytes {
        pkcs8_of(&self.sig)
    }

    /// The public card.
    pub fn card(&self) -> &Card {
        &self.card
    }

    /// The username.
    pub fn user(&self) -> &str {
        self.card.user()
    }

    /// Modulus size of the keys (both keys have the same).
    pub fn key_bits(&self) -> usize {
        rsa::traits::PublicKeyParts::n(self.enc.as_public_key()).bit_width() as usize
    }

    /// How many RSA private-key operations (unwraps and signatures) this identity has done.
    pub fn private_key_operations(&self) -> u64 {
        self.private_ops.load(Ordering::Relaxed)
    }

    /// Blinded RSA-OAEP unwrap of an envelope's `wk`.
    pub(crate) fn unwrap_key<R: CryptoRng + ?Sized>(
        &self,
        wk: &[u8],
        rng: &mut R,
    ) -> Result<SecretBytes, PrimitiveError> {
        self.private_ops.fetch_add(1, Ordering::Relaxed);
        primitives::oaep_decrypt(&self.enc, &[], wk, rng)
    }

    /// RSA-PSS signature with the signing key.
    pub(crate) fn sign<R: CryptoRng + ?Sized>(
        &self,
        msg: &[u8],
        rng: &mut R,
    ) -> Result<Vec<u8>, PrimitiveError> {
        self.private_ops.fetch_add(1, Ordering::Relaxed);
        primitives::pss_sign(&self.sig, msg, rng)
    }
}

fn pkcs8_of(key: &PrivateKey) -> SecretBytes {
    let doc = key
        .to_pkcs8_der()
        .expect("an RSA private key always encodes");
    SecretBytes::new(doc.as_bytes().to_vec())
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("user", &self.user())
            .field("fingerprint", &self.card.fingerprint())
            .field("private_keys", &"[redacted]")
            .finish()
    }
}
