//! Passphrase-encrypted secrets for the file keystore: PKCS#8
//! `EncryptedPrivateKeyInfo` DER with PBES2 (scrypt, AES-256-CBC). For the two
//! private keys the plaintext is their PKCS#8 `PrivateKeyInfo`, so the files
//! are standard encrypted PKCS#8. The KDF is scrypt with N = 2^17, r = 8,
//! p = 1 (128 MiB and a few hundred milliseconds per unlock): files are
//! stolen with laptops, and the passphrase is all that guards them
//! (docs/SECURITY.md §2.5). Files an older chatd wrote with N = 2^14 are
//! read and rewritten with today's cost (`FileStore::get`).

use pkcs5::EncryptionScheme;
use pkcs5::pbes2;
use pkcs8::EncryptedPrivateKeyInfoRef;
use pkcs8::der::asn1::OctetStringRef;
use pkcs8::der::{Decode, Encode};
use rand_core::CryptoRng;

use super::SecretBytes;

/// Why a passphrase-encrypted secret could not be opened or made.
#[derive(Debug, thiserror::Error)]
pub enum PassphraseError {
    /// Not an encrypted PKCS#8 document.
    #[error("not an encrypted PKCS#8 file")]
    Format,
    /// Wrong passphrase or damaged file (indistinguishable by design).
    #[error("wrong passphrase, or the file is damaged")]
    Decrypt,
    /// Encryption failed.
    #[error("encryption failed")]
    Encrypt,
}

/// scrypt's cost, log2 N: 2^17 (pinned by `chatd/tests/threats.rs`).
pub const SCRYPT_LOG_N: u8 = 17;
/// scrypt's block size r.
pub const SCRYPT_R: u32 = 8;
/// scrypt's parallelism p.
pub const SCRYPT_P: u32 = 1;

/// A decrypted secret, and whether its file used a weaker KDF than
/// [`encrypt`] does today (the file keystore then rewrites it).
pub struct Opened {
    /// The plaintext.
    pub secret: SecretBytes,
    /// True when the file's KDF is cheaper than today's.
    pub weak: bool,
}

/// Encrypts `plaintext` under `passphrase`: PBES2 with scrypt
/// (N = 2^[`SCRYPT_LOG_N`], r = 8, p = 1, 16-byte salt) and AES-256-CBC.
pub fn encrypt<R: CryptoRng>(
    passphrase: &[u8],
    plaintext: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>, PassphraseError> {
    encrypt_with(passphrase, plaintext, SCRYPT_LOG_N, rng)
}

/// [`encrypt`] with another scrypt cost; tests make old, weak files with it.
pub fn encrypt_with<R: CryptoRng>(
    passphrase: &[u8],
    plaintext: &[u8],
    log_n: u8,
    rng: &mut R,
) -> Result<Vec<u8>, PassphraseError> {
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    let mut iv = [0u8; 16];
    rng.fill_bytes(&mut iv);
    let cost = pkcs5::scrypt::Params::new(log_n, SCRYPT_R, SCRYPT_P)
        .map_err(|_| PassphraseError::Encrypt)?;
    let params = pbes2::Parameters::generate_scrypt_aes256cbc(cost, &salt, iv)
        .map_err(|_| PassphraseError::Encrypt)?;
    let scheme = EncryptionScheme::from(params);
    let ct = scheme
        .encrypt(passphrase, plaintext)
        .map_err(|_| PassphraseError::Encrypt)?;
    let info = EncryptedPrivateKeyInfoRef {
        encryption_algorithm: scheme,
        encrypted_data: OctetStringRef::new(&ct).map_err(|_| PassphraseError::Encrypt)?,
    };
    info.to_der().map_err(|_| PassphraseError::Encrypt)
}

/// Decrypts what [`encrypt`] (or an older chatd) made. Files whose scrypt
/// cost is above today's are refused: reading them would let a planted
/// file make chatd spend unbounded memory.
pub fn decrypt(passphrase: &[u8], der: &[u8]) -> Result<Opened, PassphraseError> {
    let info = EncryptedPrivateKeyInfoRef::from_der(der).map_err(|_| PassphraseError::Format)?;
    let pbes2 = info
        .encryption_algorithm
        .pbes2()
        .ok_or(PassphraseError::Format)?;
    let scrypt = pbes2.kdf.scrypt().ok_or(PassphraseError::Format)?;
    let today = (1u64 << SCRYPT_LOG_N, SCRYPT_R as u64, SCRYPT_P as u64);
    let file = (
        scrypt.cost_parameter,
        u64::from(scrypt.block_size),
        u64::from(scrypt.parallelization),
    );
    if file.0 > today.0 || file.1 > today.1 || file.2 > today.2 {
        return Err(PassphraseError::Format);
    }
    let secret = info
        .encryption_algorithm
        .decrypt(passphrase, info.encrypted_data.as_bytes())
        .map(SecretBytes::new)
        .map_err(|_| PassphraseError::Decrypt)?;
    Ok(Opened {
        secret,
        weak: file != today,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_passphrase() {
        // A fixed RNG: PBES2 has no integrity check, so one wrong
        // passphrase in 256 ends in valid padding (the file keystore adds
        // its own check, `FileStore::check_passphrase`).
        let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(7);
        let der = encrypt_with(b"correct horse", b"secret bytes", 10, &mut rng).unwrap();
        let opened = decrypt(b"correct horse", &der).unwrap();
        assert_eq!(opened.secret.expose_secret(), b"secret bytes");
        assert!(opened.weak, "2^10 is below today's cost");
        assert!(matches!(
            decrypt(b"wrong", &der),
            Err(PassphraseError::Decrypt)
        ));
        assert!(matches!(
            decrypt(b"x", b"garbage"),
            Err(PassphraseError::Format)
        ));
    }

    #[test]
    fn a_file_asking_for_more_than_todays_cost_is_refused_not_obeyed() {
        // N = 2^16 is the DER INTEGER 02 03 01 00 00; patched to 2^18 it
        // would make chatd spend 256 MiB on a planted file.
        let der = encrypt_with(b"pw", b"secret", 16, &mut rand::rng()).unwrap();
        assert!(decrypt(b"pw", &der).unwrap().weak);
        let at = der
            .windows(5)
            .position(|w| w == [0x02, 0x03, 0x01, 0x00, 0x00])
            .expect("the cost is in the file");
        let mut heavy = der.clone();
        heavy[at + 2] = 0x04;
        assert!(matches!(
            decrypt(b"pw", &heavy),
            Err(PassphraseError::Format)
        ));
    }
}
