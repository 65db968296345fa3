//! Fixed-parameter wrappers over RustCrypto. Envelope code calls only these,
//! and the Wycheproof conformance tests check exactly these.
//!
//! - RSA-OAEP: SHA-256, MGF1-SHA-256; decryption always blinded.
//! - RSA-PSS: SHA-256, MGF1-SHA-256, 32-byte salt; signing blinded.
//! - HMAC-SHA256 with a constant-time comparison.
//! - AES-256-CBC with PKCS#7 padding.

use aes::Aes256;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use hmac::{Hmac, KeyInit, Mac};
use rand_core::CryptoRng;
use rsa::traits::PublicKeyParts;
use rsa::{BoxedUint, PrivateKey, PublicKey, hazmat};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use super::SecretBytes;

/// A primitive refused its input. Deliberately without detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cryptographic operation failed")]
pub struct PrimitiveError;

/// RSA-OAEP-SHA256 encryption with an empty label.
pub fn oaep_encrypt<R: CryptoRng + ?Sized>(
    key: &PublicKey,
    msg: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>, PrimitiveError> {
    key.oaep_encrypt_with_rng::<Sha256, R>(rng, msg)
        .map_err(|_| PrimitiveError)
}

/// Blinded RSA-OAEP-SHA256 decryption (RFC 8017 §7.1.2). `label` is empty for
/// envelopes; it is a parameter only so that the conformance suite can run
/// labelled vectors.
///
/// The EME-OAEP decoding is done here rather than by `rsa`, because rsa 0.10
/// ignores the leading octet `Y` that RFC 8017 requires to be zero (Wycheproof
/// "First byte is 1"). Every check runs in constant time and all of them
/// collapse into one error.
pub fn oaep_decrypt<R: CryptoRng + ?Sized>(
    key: &PrivateKey,
    label: &[u8],
    ct: &[u8],
    rng: &mut R,
) -> Result<SecretBytes, PrimitiveError> {
    let k = key.size();
    let h = 32;
    if ct.len() != k || k < 2 * h + 2 {
        return Err(PrimitiveError);
    }
    let c = BoxedUint::from_be_slice(ct, key.n_bits_precision()).map_err(|_| PrimitiveError)?;
    // Blinded RSADP; it refuses c >= n and checks the CRT result against c.
    let m = Zeroizing::new(
        hazmat::rsa_decrypt_and_check(key, Some(rng), &c).map_err(|_| PrimitiveError)?,
    );
    let m_bytes = Zeroizing::new(m.to_be_bytes());
    if m_bytes.len() < k {
        return Err(PrimitiveError);
    }
    // I2OSP(m, k): m < n, so everything before the last k bytes is zero.
    let mut em = Zeroizing::new(m_bytes[m_bytes.len() - k..].to_vec());
    let (y, rest) = em.split_at_mut(1);
    let (seed, db) = rest.split_at_mut(h);
    mgf1_sha256_xor(seed, db);
    mgf1_sha256_xor(db, seed);
    let l_hash = Sha256::digest(label);
    let mut valid = y[0].ct_eq(&0) & db[..h].ct_eq(&l_hash[..]);
    // After lHash: zero or more 0x00, one 0x01, then the message.
    let mut looking = Choice::from(1);
    let mut start = 0u32;
    let mut junk = Choice::from(0);
    for (i, byte) in db[h..].iter().enumerate() {
        let is_one = byte.ct_eq(&1);
        let is_zero = byte.ct_eq(&0);
        start.conditional_assign(&(i as u32 + 1), looking & is_one);
        junk |= looking & !is_zero & !is_one;
        looking &= !is_one;
    }
    valid &= !looking & !junk;
    if !bool::from(valid) {
        return Err(PrimitiveError);
    }
    Ok(SecretBytes::new(db[h + start as usize..].to_vec()))
}

/// `out ^= MGF1-SHA256(seed, out.len())`.
fn mgf1_sha256_xor(out: &mut [u8], seed: &[u8]) {
    for (counter, chunk) in out.chunks_mut(32).enumerate() {
        let mut hash = Sha256::new();
        hash.update(seed);
        hash.update((counter as u32).to_be_bytes());
        let mask = hash.finalize();
        for (o, m) in chunk.iter_mut().zip(mask.iter()) {
            *o ^= m;
        }
    }
}

/// RSA-PSS-SHA256 signature (salt 32 bytes), blinded.
pub fn pss_sign<R: CryptoRng + ?Sized>(
    key: &PrivateKey,
    msg: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>, PrimitiveError> {
    key.pss_sign_with_rng::<Sha256, R>(rng, msg)
        .map_err(|_| PrimitiveError)
}

/// Verifies an RSA-PSS-SHA256 signature with a 32-byte salt.
pub fn pss_verify(key: &PublicKey, msg: &[u8], sig: &[u8]) -> Result<(), PrimitiveError> {
    key.pss_verify::<Sha256>(msg, sig)
        .map_err(|_| PrimitiveError)
}

fn hmac_over(key: &[u8], parts: &[&[u8]]) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        mac.update(p);
    }
    mac
}

/// HMAC-SHA256 over the concatenation of `parts`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    hmac_over(key, parts).finalize().into_bytes().into()
}

/// Checks an HMAC-SHA256 tag in constant time. Only full 32-byte tags match.
pub fn hmac_sha256_verify(key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
    let expected = hmac_sha256(key, parts);
    tag.len() == expected.len() && bool::from(expected.ct_eq(tag))
}

/// AES-256-CBC encryption with PKCS#7 padding.
pub fn aes256_cbc_encrypt(key: &[u8; 32], iv: &[u8; 16], pt: &[u8]) -> Vec<u8> {
    cbc::Encryptor::<Aes256>::new(key.into(), iv.into()).encrypt_padded_vec::<Pkcs7>(pt)
}

/// AES-256-CBC decryption and PKCS#7 unpadding.
pub fn aes256_cbc_decrypt(
    key: &[u8; 32],
    iv: &[u8; 16],
    ct: &[u8],
) -> Result<SecretBytes, PrimitiveError> {
    cbc::Decryptor::<Aes256>::new(key.into(), iv.into())
        .decrypt_padded_vec::<Pkcs7>(ct)
        .map(SecretBytes::new)
        .map_err(|_| PrimitiveError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_verify_refuses_truncated_and_altered_tags() {
        let tag = hmac_sha256(b"k", &[b"a", b"b"]);
        assert_eq!(tag, hmac_sha256(b"k", &[b"ab"]));
        assert!(hmac_sha256_verify(b"k", &[b"ab"], &tag));
        assert!(!hmac_sha256_verify(b"k", &[b"ab"], &tag[..31]));
        let mut bad = tag;
        bad[31] ^= 1;
        assert!(!hmac_sha256_verify(b"k", &[b"ab"], &bad));
    }

    #[test]
    fn aes_cbc_round_trips_and_always_pads() {
        let (key, iv) = ([1u8; 32], [2u8; 16]);
        for len in [0, 1, 15, 16, 17, 256] {
            let pt = vec![9u8; len];
            let ct = aes256_cbc_encrypt(&key, &iv, &pt);
            assert_eq!(ct.len(), (len / 16 + 1) * 16);
            assert_eq!(
                aes256_cbc_decrypt(&key, &iv, &ct).unwrap().expose_secret(),
                &pt[..]
            );
        }
    }
}
