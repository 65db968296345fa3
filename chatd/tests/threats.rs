//! Threat-model checks at the library level (docs/SECURITY.md): every RSA
//! private-key operation draws a fresh blinding factor, strangers cost no
//! randomness at all, private keys never show in `Debug`, and the file
//! keystore writes passphrase-encrypted PKCS#8 with the parameters the
//! security notes name.

mod common;

use std::convert::Infallible;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chatd::crypto::primitives::{oaep_decrypt, oaep_encrypt, pss_sign, pss_verify};
use chatd::crypto::{OpenError, open, seal};
use chatd::keystore::{FileStore, Keystore, names};
use common::{Book, identity, load_vectors};
use ipc_schema::Payload;
use pkcs8::der::Decode;
use rand_core::{TryCryptoRng, TryRng};
use rsa::pkcs8::DecodePrivateKey;

/// A CSPRNG wrapper that counts the bytes drawn from it.
struct Counting<R> {
    inner: R,
    bytes: usize,
}

impl<R> Counting<R> {
    fn new(inner: R) -> Self {
        Counting { inner, bytes: 0 }
    }
}

impl<R: TryRng<Error = Infallible>> TryRng for Counting<R> {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        self.bytes += 4;
        self.inner.try_next_u32()
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        self.bytes += 8;
        self.inner.try_next_u64()
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.bytes += dst.len();
        self.inner.try_fill_bytes(dst)
    }
}

impl<R: TryCryptoRng<Error = Infallible>> TryCryptoRng for Counting<R> {}

/// bob's private keys from the vectors file (2048 bits), as PKCS#8 DER.
fn bob_der(field: &str) -> Vec<u8> {
    let v = load_vectors();
    B64.decode(v["keys"]["bob"][field].as_str().unwrap())
        .unwrap()
}

#[test]
fn oaep_decryption_draws_a_fresh_blinding_factor_the_size_of_the_modulus() {
    let key = rsa::PrivateKey::from_pkcs8_der(&bob_der("enc_private_pkcs8")).unwrap();
    let public = key.as_public_key().clone();
    let k = 2048 / 8;
    let ct = oaep_encrypt(&public, b"64 bytes of wrapped keys, say", &mut rand::rng()).unwrap();
    for _ in 0..3 {
        let mut rng = Counting::new(rand::rng());
        let pt = oaep_decrypt(&key, &[], &ct, &mut rng).unwrap();
        assert_eq!(pt.expose_secret(), b"64 bytes of wrapped keys, say");
        // The blinding factor r is drawn uniformly below n: at least k bytes
        // per decryption, every time (no cached factor).
        assert!(rng.bytes >= k, "drew {} bytes, want >= {k}", rng.bytes);
    }
    // A failing decryption is blinded too (the attacker's chosen ciphertext
    // is exactly what RUSTSEC-2023-0071 is about).
    let mut bad = ct.clone();
    bad[k / 2] ^= 1;
    let mut rng = Counting::new(rand::rng());
    assert!(oaep_decrypt(&key, &[], &bad, &mut rng).is_err());
    assert!(rng.bytes >= k, "drew {} bytes, want >= {k}", rng.bytes);
}

#[test]
fn pss_signing_draws_a_blinding_factor_beyond_its_salt() {
    let key = rsa::PrivateKey::from_pkcs8_der(&bob_der("sig_private_pkcs8")).unwrap();
    let k = 2048 / 8;
    let mut rng = Counting::new(rand::rng());
    let sig = pss_sign(&key, b"chat-sig-v1\0...", &mut rng).unwrap();
    pss_verify(key.as_public_key(), b"chat-sig-v1\0...", &sig).unwrap();
    // 32 bytes of salt, plus the blinding factor (at least k bytes).
    assert!(rng.bytes >= 32 + k, "drew {} bytes", rng.bytes);
}

#[test]
fn opening_blinds_for_contacts_and_draws_nothing_for_strangers() {
    let v = load_vectors();
    let (alice, bob) = (identity(&v, "alice"), identity(&v, "bob"));
    let env = seal(
        &alice,
        bob.card(),
        &Payload::text("hello"),
        1_764_000_000_000,
        &mut rand::rng(),
    )
    .unwrap();
    let mut rng = Counting::new(rand::rng());
    let err = open(&bob, &env, &Book::default(), &mut rng).unwrap_err();
    assert_eq!(err, OpenError::UnknownSender);
    assert_eq!(rng.bytes, 0, "a stranger's envelope draws no randomness");
    assert_eq!(bob.private_key_operations(), 0);

    let mut rng = Counting::new(rand::rng());
    let opened = open(&bob, &env, &Book::with(&[alice.card()]), &mut rng).unwrap();
    assert_eq!(opened.payload, Payload::text("hello"));
    assert_eq!(bob.private_key_operations(), 1);
    assert!(rng.bytes >= 2048 / 8, "drew {} bytes", rng.bytes);
}

#[test]
fn identity_debug_never_shows_private_key_material() {
    let v = load_vectors();
    let bob = identity(&v, "bob");
    let shown = format!(
        "{bob:?} {:?} {:?}",
        bob.enc_private_pkcs8(),
        bob.sig_private_pkcs8()
    );
    assert!(shown.contains("redacted"), "{shown}");
    for field in ["enc_private_pkcs8", "sig_private_pkcs8"] {
        let der = bob_der(field);
        let b64 = B64.encode(&der);
        let hex: String = der.iter().map(|b| format!("{b:02x}")).collect();
        // Any 24-character stretch from the middle of the key, in either
        // encoding, and the raw bytes as Rust's `Debug` of a slice prints them.
        assert!(!shown.contains(&b64[400..424]), "{shown}");
        assert!(!shown.contains(&hex[400..424]), "{shown}");
        assert!(!shown.contains(&format!("{:?}", &der[200..208])), "{shown}");
    }
    assert!(shown.len() < 600, "short, fixed-size output: {shown}");
}

#[test]
fn the_file_keystore_writes_scrypt_encrypted_pkcs8_never_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("pass");
    std::fs::write(&pass, "correct horse battery staple\n").unwrap();
    let store = FileStore::open(dir.path(), &pass).unwrap();
    let der = bob_der("enc_private_pkcs8");
    store.set(names::ENC_KEY, &der).unwrap();
    store.set(names::PASSWORD, b"bob relay password").unwrap();

    let path = dir.path().join("keys/enc_key.p8");
    let file = std::fs::read(&path).unwrap();
    // No 16-byte stretch of the plaintext key is in the file.
    for chunk in der.chunks(16).filter(|c| c.len() == 16) {
        assert!(!file.windows(16).any(|w| w == chunk), "plaintext key bytes");
    }
    assert!(!file.windows(7).any(|w| w == b"correct"), "passphrase");
    let password = std::fs::read(dir.path().join("keys/relay_password.p8")).unwrap();
    assert!(!password.windows(8).any(|w| w == b"password"));

    // Standard EncryptedPrivateKeyInfo: PBES2, scrypt (N = 2^17, r = 8,
    // p = 1, 16-byte salt), AES-256-CBC.
    let info = pkcs8::EncryptedPrivateKeyInfoRef::from_der(&file).unwrap();
    let pbes2 = info.encryption_algorithm.pbes2().expect("PBES2");
    let scrypt = pbes2.kdf.scrypt().expect("scrypt");
    assert_eq!(scrypt.cost_parameter, 1 << 17);
    assert_eq!(scrypt.block_size, 8);
    assert_eq!(scrypt.parallelization, 1);
    assert_eq!(scrypt.salt.as_bytes().len(), 16);
    assert!(
        matches!(
            pbes2.encryption,
            pkcs5::pbes2::EncryptionScheme::Aes256Cbc { .. }
        ),
        "{:?}",
        pbes2.encryption
    );
    // Two writes of the same secret differ (fresh salt and IV).
    store.set(names::ENC_KEY, &der).unwrap();
    assert_ne!(std::fs::read(&path).unwrap(), file);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("keys")), 0o700);
    }
}

/// The KDF cost of a file keystore file (scrypt N).
fn scrypt_cost(path: &std::path::Path) -> u64 {
    let file = std::fs::read(path).unwrap();
    let info = pkcs8::EncryptedPrivateKeyInfoRef::from_der(&file).unwrap();
    let pbes2 = info.encryption_algorithm.pbes2().expect("PBES2");
    pbes2.kdf.scrypt().expect("scrypt").cost_parameter
}

#[test]
fn files_an_older_chatd_wrote_with_a_weaker_kdf_are_rewritten_on_unlock() {
    use chatd::crypto::passphrase;
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("pass");
    std::fs::write(&pass, "correct horse battery staple").unwrap();
    let store = FileStore::open(dir.path(), &pass).unwrap();
    // What chatd wrote before: scrypt N = 2^14.
    let old = passphrase::encrypt_with(
        b"correct horse battery staple",
        b"bob relay password",
        14,
        &mut rand::rng(),
    )
    .unwrap();
    let path = dir.path().join("keys/relay_password.p8");
    std::fs::write(&path, &old).unwrap();
    assert_eq!(scrypt_cost(&path), 1 << 14);

    let secret = store.get(names::PASSWORD).unwrap().unwrap();
    assert_eq!(secret.expose_secret(), b"bob relay password");
    assert_eq!(scrypt_cost(&path), 1 << 17, "migrated on the first unlock");
    assert_eq!(
        store.get(names::PASSWORD).unwrap().unwrap().expose_secret(),
        b"bob relay password"
    );
}

/// A keystore from before the passphrase check file, opened with wrong
/// passphrases: about one in 256 ends in valid padding and "decrypts" to
/// garbage. That must never be written back over the key (the old file is
/// weak, and `get` rewrites weak files): the key file stays byte for byte.
#[test]
fn wrong_passphrases_never_rewrite_an_old_keystores_key() {
    use chatd::crypto::passphrase;
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let der = bob_der("enc_private_pkcs8");
    // Cheap to open (2^10), so enough wrong guesses hit valid padding.
    let old = passphrase::encrypt_with(b"the right one", &der, 10, &mut rand::rng()).unwrap();
    std::fs::write(keys.join("enc_key.p8"), &old).unwrap();
    let pass = dir.path().join("pass");
    for i in 0..2000 {
        std::fs::write(&pass, format!("wrong guess {i}")).unwrap();
        assert!(FileStore::open(dir.path(), &pass).is_err(), "guess {i}");
        assert!(
            std::fs::read(keys.join("enc_key.p8")).unwrap() == old,
            "guess {i} rewrote the key file"
        );
    }
    assert!(!keys.join("passphrase_check.p8").exists());
    // The right one opens it, upgrades the file and writes the check.
    std::fs::write(&pass, "the right one").unwrap();
    let store = FileStore::open(dir.path(), &pass).unwrap();
    assert_eq!(
        store.get(names::ENC_KEY).unwrap().unwrap().expose_secret(),
        der.as_slice()
    );
    assert!(keys.join("passphrase_check.p8").exists());
}

#[test]
fn envelopes_reveal_the_payload_length_only_to_a_256_byte_bucket() {
    let v = load_vectors();
    let (alice, bob) = (identity(&v, "alice"), identity(&v, "bob"));
    let sizes = |n: usize| {
        let env = seal(
            &alice,
            bob.card(),
            &Payload::text("x".repeat(n)),
            1_764_000_000_000,
            &mut rand::rng(),
        )
        .unwrap();
        let ct = B64.decode(&env.ct).unwrap().len();
        (ct, serde_json::to_string(&env).unwrap().len())
    };
    // `{"type":"text","body":""}` is 25 bytes and at least one byte of
    // padding follows: bodies of 0 to 230 bytes fill one 256-byte bucket
    // (plus AES-CBC's full PKCS#7 block).
    let one = sizes(0);
    assert_eq!(one.0, 256 + 16);
    for n in [1, 57, 200, 230] {
        assert_eq!(sizes(n), one, "a {n}-byte body looks like an empty one");
    }
    let two = sizes(231);
    assert_eq!(two.0, 512 + 16);
    assert_eq!(sizes(486), two);
    assert_eq!(sizes(487).0, 768 + 16);
}
