//! Passphrase-encrypted secrets for the file keystore: PKCS#8
//! `EncryptedPrivateKeyInfo` DER with PBES2 (scrypt, AES-256-CBC). For the two
//! private keys the plaintext is their PKCS#8 `PrivateKeyInfo`, so the files
//! are standard encrypted PKCS#8 (`openssl pkcs8 -in enc_key.p8 -inform DER`
//! opens them).

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

/// Encrypts `plaintext` under `passphrase` (scrypt log2 N = 14, r = 8, p = 1,
/// 16-byte salt: the `pkcs5` defaults, which OpenSSL 3 also reads; pinned by
/// `chatd/tests/threats.rs`).
pub fn encrypt<R: CryptoRng>(
    passphrase: &[u8],
    plaintext: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>, PassphraseError> {
    let params = pbes2::Parameters::generate_scrypt(rng).map_err(|_| PassphraseError::Encrypt)?;
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

/// Decrypts what [`encrypt`] made.
pub fn decrypt(passphrase: &[u8], der: &[u8]) -> Result<SecretBytes, PassphraseError> {
    let info = EncryptedPrivateKeyInfoRef::from_der(der).map_err(|_| PassphraseError::Format)?;
    info.encryption_algorithm
        .decrypt(passphrase, info.encrypted_data.as_bytes())
        .map(SecretBytes::new)
        .map_err(|_| PassphraseError::Decrypt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_passphrase() {
        let der = encrypt(b"correct horse", b"secret bytes", &mut rand::rng()).unwrap();
        assert_eq!(
            decrypt(b"correct horse", &der).unwrap().expose_secret(),
            b"secret bytes"
        );
        assert!(matches!(
            decrypt(b"wrong", &der),
            Err(PassphraseError::Decrypt)
        ));
        assert!(matches!(
            decrypt(b"x", b"garbage"),
            Err(PassphraseError::Format)
        ));
    }
}
