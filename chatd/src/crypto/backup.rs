//! Backups of an identity (docs/PROTOCOL.md §10): the private keys and the
//! pinned contacts, sealed under a passphrase with Argon2id, AES-256-CBC and
//! HMAC-SHA256. This module seals and opens the outer form; what goes inside
//! is [`BackupContents`].

use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::SecretBytes;
use super::primitives::{aes256_cbc_decrypt, aes256_cbc_encrypt, hmac_sha256, hmac_sha256_verify};

/// Argon2id memory chatd seals with, KiB (64 MiB).
pub const BACKUP_M_KIB: u32 = 64 * 1024;
/// Argon2id passes chatd seals with.
pub const BACKUP_T: u32 = 3;
/// Argon2id lanes chatd seals with.
pub const BACKUP_P: u32 = 1;
/// The most memory a backup may ask for, KiB (1 GiB).
pub const MAX_M_KIB: u32 = 1024 * 1024;
/// The longest backup text read.
pub const MAX_BACKUP_BYTES: usize = 64 * 1024 * 1024;
/// The weakest passphrase sealed under, by [`passphrase_bits`].
pub const MIN_PASSPHRASE_BITS: f64 = 80.0;

const AD_LABEL: &[u8] = b"chat-backup-v1\0";

/// Why a backup does not open (docs/PROTOCOL.md §10.3, in the order checked).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackupError {
    /// Not a backup: truncated, not the JSON of §10.2, or bad sizes.
    #[error("malformed: {0}")]
    Malformed(String),
    /// Another version or KDF.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Argon2 parameters outside the bounds (too weak, or too costly).
    #[error("weak_or_costly: {0}")]
    WeakOrCostly(String),
    /// The passphrase is wrong or the backup was changed (not told apart).
    #[error("wrong_passphrase_or_tampered: the passphrase is wrong, or the backup was changed")]
    WrongPassphraseOrTampered,
    /// The plaintext is not a backup's contents, or its keys do not load.
    #[error("bad_contents: {0}")]
    BadContents(String),
    /// Sealing was refused (a weak passphrase).
    #[error("{0}")]
    Refused(String),
}

impl BackupError {
    /// The step's name of docs/PROTOCOL.md §10.3.
    pub fn name(&self) -> &'static str {
        match self {
            BackupError::Malformed(_) => "malformed",
            BackupError::Unsupported(_) => "unsupported",
            BackupError::WeakOrCostly(_) => "weak_or_costly",
            BackupError::WrongPassphraseOrTampered => "wrong_passphrase_or_tampered",
            BackupError::BadContents(_) => "bad_contents",
            BackupError::Refused(_) => "refused",
        }
    }
}

/// Argon2id parameters of a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory, KiB.
    pub m: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// What chatd seals with.
    pub const DEFAULT: KdfParams = KdfParams {
        m: BACKUP_M_KIB,
        t: BACKUP_T,
        p: BACKUP_P,
    };

    /// The bounds of §10.3 step 3.
    fn check(&self) -> Result<(), BackupError> {
        if !(BACKUP_M_KIB..=MAX_M_KIB).contains(&self.m) {
            return Err(BackupError::WeakOrCostly(format!(
                "Argon2 memory {} KiB is outside {BACKUP_M_KIB}..={MAX_M_KIB}",
                self.m
            )));
        }
        if !(1..=16).contains(&self.t) || !(1..=8).contains(&self.p) {
            return Err(BackupError::WeakOrCostly(format!(
                "Argon2 passes {} or lanes {} out of bounds (1..=16, 1..=8)",
                self.t, self.p
            )));
        }
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Kdf {
    alg: String,
    m: u32,
    t: u32,
    p: u32,
    salt: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Outer {
    v: u32,
    kdf: Kdf,
    iv: String,
    ct: String,
    tag: String,
}

/// K = Argon2id(P, salt, m, t, p): its first half encrypts, its second
/// authenticates (§10.2 step 1).
pub fn derive(
    passphrase: &[u8],
    salt: &[u8; 16],
    params: KdfParams,
) -> Result<Zeroizing<[u8; 64]>, BackupError> {
    let argon = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(params.m, params.t, params.p, Some(64))
            .map_err(|e| BackupError::WeakOrCostly(e.to_string()))?,
    );
    let mut key = Zeroizing::new([0u8; 64]);
    argon
        .hash_password_into(passphrase, salt, &mut key[..])
        .map_err(|e| BackupError::WeakOrCostly(e.to_string()))?;
    Ok(key)
}

fn ad(params: KdfParams, salt: &[u8; 16]) -> Vec<u8> {
    let mut ad = AD_LABEL.to_vec();
    ad.extend_from_slice(&params.m.to_be_bytes());
    ad.extend_from_slice(&params.t.to_be_bytes());
    ad.extend_from_slice(&params.p.to_be_bytes());
    ad.extend_from_slice(salt);
    ad
}

fn halves(key: &[u8; 64]) -> ([u8; 32], &[u8]) {
    let mut ke = [0u8; 32];
    ke.copy_from_slice(&key[..32]);
    (ke, &key[32..])
}

/// Seals `plaintext` with explicit parameters, salt and iv (the vectors use
/// this; [`seal`] draws salt and iv at random).
pub fn seal_with(
    passphrase: &[u8],
    plaintext: &[u8],
    params: KdfParams,
    salt: [u8; 16],
    iv: [u8; 16],
) -> Result<String, BackupError> {
    params.check()?;
    let key = derive(passphrase, &salt, params)?;
    Ok(seal_with_key(&key, plaintext, params, salt, iv))
}

/// Seals `plaintext` with a key [`derive`] made from the passphrase with
/// `params` and `salt` (a backup sealed again keeps its salt).
pub fn seal_with_key(
    key: &[u8; 64],
    plaintext: &[u8],
    params: KdfParams,
    salt: [u8; 16],
    iv: [u8; 16],
) -> String {
    let (ke, km) = halves(key);
    let ke = Zeroizing::new(ke);
    let ct = aes256_cbc_encrypt(&ke, &iv, plaintext);
    let tag = hmac_sha256(km, &[&ad(params, &salt), &iv, &ct]);
    let outer = Outer {
        v: 1,
        kdf: Kdf {
            alg: "argon2id".into(),
            m: params.m,
            t: params.t,
            p: params.p,
            salt: B64.encode(salt),
        },
        iv: B64.encode(iv),
        ct: B64.encode(&ct),
        tag: B64.encode(tag),
    };
    serde_json::to_string(&outer).expect("JSON of strings and numbers")
}

/// Checks a passphrase against §10.4's floor.
pub fn check_passphrase(passphrase: &str) -> Result<(), BackupError> {
    let bits = passphrase_bits(passphrase);
    if bits < MIN_PASSPHRASE_BITS {
        return Err(BackupError::Refused(format!(
            "the backup passphrase is too weak: about {bits:.0} bits by chat's estimate, \
             {MIN_PASSPHRASE_BITS:.0} needed (e.g. 16 characters mixing cases, digits and \
             punctuation, or seven random words)"
        )));
    }
    Ok(())
}

/// Seals `plaintext` under `passphrase` with chatd's parameters, after
/// checking the passphrase's strength (§10.4).
pub fn seal<R: CryptoRng>(
    passphrase: &str,
    plaintext: &[u8],
    rng: &mut R,
) -> Result<String, BackupError> {
    check_passphrase(passphrase)?;
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut iv);
    seal_with(
        passphrase.as_bytes(),
        plaintext,
        KdfParams::DEFAULT,
        salt,
        iv,
    )
}

fn b64_exact<const N: usize>(text: &str, what: &str) -> Result<[u8; N], BackupError> {
    let bytes = B64
        .decode(text)
        .map_err(|_| BackupError::Malformed(format!("`{what}` is not base64")))?;
    bytes
        .try_into()
        .map_err(|_| BackupError::Malformed(format!("`{what}` is not {N} bytes")))
}

/// Opens a backup (§10.3 steps 1 to 5): the plaintext of §10.1, not yet
/// checked (that is [`BackupContents::parse`], step 6).
pub fn open(passphrase: &[u8], text: &[u8]) -> Result<SecretBytes, BackupError> {
    if text.len() > MAX_BACKUP_BYTES {
        return Err(BackupError::Malformed("over 64 MiB".into()));
    }
    // The version first, so that a later format is told apart from a
    // broken one.
    #[derive(Deserialize)]
    struct Version {
        v: u32,
    }
    let Version { v } = serde_json::from_slice(text)
        .map_err(|e| BackupError::Malformed(format!("not a chat backup ({e})")))?;
    if v != 1 {
        return Err(BackupError::Unsupported(format!("version {v}")));
    }
    let outer: Outer = serde_json::from_slice(text)
        .map_err(|e| BackupError::Malformed(format!("not a chat backup ({e})")))?;
    let salt: [u8; 16] = b64_exact(&outer.kdf.salt, "salt")?;
    let iv: [u8; 16] = b64_exact(&outer.iv, "iv")?;
    let tag: [u8; 32] = b64_exact(&outer.tag, "tag")?;
    let ct = B64
        .decode(&outer.ct)
        .map_err(|_| BackupError::Malformed("`ct` is not base64".into()))?;
    if ct.is_empty() || ct.len() % 16 != 0 {
        return Err(BackupError::Malformed(
            "`ct` is not whole AES blocks".into(),
        ));
    }
    if outer.kdf.alg != "argon2id" {
        return Err(BackupError::Unsupported("the KDF is not argon2id".into()));
    }
    let params = KdfParams {
        m: outer.kdf.m,
        t: outer.kdf.t,
        p: outer.kdf.p,
    };
    params.check()?;
    let key = derive(passphrase, &salt, params)?;
    let (ke, km) = halves(&key);
    let ke = Zeroizing::new(ke);
    if !hmac_sha256_verify(km, &[&ad(params, &salt), &iv, &ct], &tag) {
        return Err(BackupError::WrongPassphraseOrTampered);
    }
    aes256_cbc_decrypt(&ke, &iv, &ct).map_err(|_| BackupError::WrongPassphraseOrTampered)
}

/// The passphrase estimate of §10.4, in bits.
pub fn passphrase_bits(passphrase: &str) -> f64 {
    let mut counted = 0usize;
    let mut previous = None;
    let (mut lower, mut upper, mut digit, mut punct, mut other) =
        (false, false, false, false, false);
    for c in passphrase.chars() {
        if previous != Some(c) {
            counted += 1;
        }
        previous = Some(c);
        match c {
            'a'..='z' => lower = true,
            'A'..='Z' => upper = true,
            '0'..='9' => digit = true,
            ' ' => punct = true,
            c if c.is_ascii_punctuation() => punct = true,
            c if !c.is_ascii() => other = true,
            _ => {}
        }
    }
    let pool = [
        (lower, 26),
        (upper, 26),
        (digit, 10),
        (punct, 33),
        (other, 100),
    ]
    .iter()
    .filter(|(present, _)| *present)
    .map(|(_, n)| n)
    .sum::<u32>();
    if pool == 0 {
        return 0.0;
    }
    counted as f64 * f64::from(pool).log2()
}

/// One pinned contact in a backup.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupContact {
    /// The card's JSON text as pinned (kept as it is: its member order too).
    pub card: Box<serde_json::value::RawValue>,
    /// Whether its fingerprint was verified.
    pub verified: bool,
}

/// What a backup holds (docs/PROTOCOL.md §10.1).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupContents {
    /// 1.
    pub v: u32,
    /// The username.
    pub user: String,
    /// The encryption key, PKCS#8 DER, b64.
    pub enc: String,
    /// The signing key, PKCS#8 DER, b64.
    pub sig: String,
    /// The pinned contacts.
    pub contacts: Vec<BackupContact>,
    /// The groups the account is a member of (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<BackupGroup>,
    /// The message history (device links only, when asked for).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryItem>,
    /// When the backup was made, ms.
    pub created_at: u64,
}

/// A group in a backup: its rosters as this device accepted them, the
/// first where its history starts (docs/PROTOCOL.md §10.1).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupGroup {
    /// The group id.
    pub id: String,
    /// Its rosters, in the order accepted.
    pub rosters: Vec<BackupRoster>,
}

/// One roster of a [`BackupGroup`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupRoster {
    /// The roster text (§9.2), as received.
    pub text: String,
    /// Who sent it.
    pub sender: String,
}

/// One message of the history a device link carries (§12.5).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryItem {
    /// The message id.
    pub id: String,
    /// The conversation: a username, or `#` and a group id.
    pub peer: String,
    /// `in` or `out`.
    pub dir: String,
    /// The sender.
    pub from: String,
    /// The recipient (a username, or the group's conversation).
    pub to: String,
    /// The sender's timestamp, ms.
    pub ts: u64,
    /// `text`, `system`, or a kind this chatd does not know.
    pub kind: String,
    /// The text, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The message it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// Its state: `queued`, `sent`, `delivered`, `read` or `failed`.
    pub state: String,
}

/// Most contacts a backup holds.
pub const MAX_BACKUP_CONTACTS: usize = 10_000;
/// Most groups a backup holds.
pub const MAX_BACKUP_GROUPS: usize = 1_000;
/// Most rosters of one group a backup holds.
pub const MAX_BACKUP_ROSTERS: usize = 1_000;
/// Most messages a device link's history holds.
pub const MAX_HISTORY: usize = 100_000;

/// What a backup or a device link restores, checked.
#[derive(Debug)]
pub struct Restored {
    /// The identity.
    pub identity: super::Identity,
    /// The pinned contacts, and whether each was verified.
    pub contacts: Vec<(super::Card, bool)>,
    /// The groups.
    pub groups: Vec<BackupGroup>,
    /// The history (links only).
    pub history: Vec<HistoryItem>,
}

impl BackupContents {
    /// Parses and checks a backup's plaintext for account `user` (§10.3
    /// step 6): the identity it holds, and its contacts' cards.
    pub fn parse(plaintext: &[u8], user: &str) -> Result<Restored, BackupError> {
        let bad = |why: String| BackupError::BadContents(why);
        let contents: BackupContents = serde_json::from_slice(plaintext)
            .map_err(|e| bad(format!("not a backup's contents ({e})")))?;
        if contents.v != 1 {
            return Err(bad(format!("contents version {}", contents.v)));
        }
        if contents.user != user {
            return Err(bad(format!(
                "this backup is of another account ({})",
                ipc_schema::text::sanitize(&contents.user)
            )));
        }
        if contents.contacts.len() > MAX_BACKUP_CONTACTS {
            return Err(bad("more than 10,000 contacts".into()));
        }
        if contents.groups.len() > MAX_BACKUP_GROUPS
            || contents
                .groups
                .iter()
                .any(|g| g.rosters.is_empty() || g.rosters.len() > MAX_BACKUP_ROSTERS)
        {
            return Err(bad(
                "more than 1,000 groups, or a group with no rosters or more than 1,000".into(),
            ));
        }
        if contents.history.len() > MAX_HISTORY {
            return Err(bad("more than 100,000 messages of history".into()));
        }
        if let Some(item) = contents
            .history
            .iter()
            .find(|h| !ipc_schema::envelope::is_valid_message_id(&h.id))
        {
            return Err(bad(format!(
                "a history id is not a message id: {}",
                ipc_schema::text::sanitize(&item.id)
            )));
        }
        let der = |text: &str, what: &str| {
            B64.decode(text)
                .map(Zeroizing::new)
                .map_err(|_| bad(format!("`{what}` is not base64")))
        };
        let (enc, sig) = (der(&contents.enc, "enc")?, der(&contents.sig, "sig")?);
        let identity = super::Identity::from_pkcs8(user, &enc, &sig)
            .map_err(|e| bad(format!("the keys do not load: {e}")))?;
        let mut contacts = Vec::with_capacity(contents.contacts.len());
        for c in &contents.contacts {
            let card = super::Card::from_json(c.card.get().as_bytes())
                .map_err(|e| bad(format!("a contact's card is refused: {e}")))?;
            contacts.push((card, c.verified));
        }
        Ok(Restored {
            identity,
            contacts,
            groups: contents.groups,
            history: contents.history,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: KdfParams = KdfParams {
        m: BACKUP_M_KIB,
        t: 1,
        p: 1,
    };

    #[test]
    fn a_sealed_backup_opens_with_its_passphrase_only() {
        let text = seal_with(b"pass phrase", b"secret contents", FAST, [1; 16], [2; 16]).unwrap();
        let opened = open(b"pass phrase", text.as_bytes()).unwrap();
        assert_eq!(opened.expose_secret(), b"secret contents");
        assert_eq!(
            open(b"pass phrasf", text.as_bytes()).unwrap_err(),
            BackupError::WrongPassphraseOrTampered
        );
    }

    #[test]
    fn every_field_is_bound_by_the_tag() {
        let text = seal_with(b"pw", b"contents!", FAST, [1; 16], [2; 16]).unwrap();
        let outer: serde_json::Value = serde_json::from_str(&text).unwrap();
        let flip = |b64: &str| {
            let mut bytes = B64.decode(b64).unwrap();
            bytes[0] ^= 1;
            B64.encode(bytes)
        };
        for path in ["/iv", "/ct", "/tag", "/kdf/salt"] {
            let mut changed = outer.clone();
            let field = changed.pointer_mut(path).unwrap();
            *field = serde_json::Value::String(flip(field.as_str().unwrap()));
            let err = open(b"pw", changed.to_string().as_bytes()).unwrap_err();
            assert_eq!(err, BackupError::WrongPassphraseOrTampered, "{path}");
        }
        let mut more_passes = outer.clone();
        more_passes["kdf"]["t"] = 2.into();
        assert_eq!(
            open(b"pw", more_passes.to_string().as_bytes()).unwrap_err(),
            BackupError::WrongPassphraseOrTampered
        );
    }

    #[test]
    fn costly_or_weak_parameters_are_refused_before_deriving() {
        let text = seal_with(b"pw", b"contents", FAST, [1; 16], [2; 16]).unwrap();
        let outer: serde_json::Value = serde_json::from_str(&text).unwrap();
        for (field, value) in [
            ("m", 65_535u64),
            ("m", 1_048_577),
            ("m", u64::from(u32::MAX)),
            ("t", 0),
            ("t", 17),
            ("p", 0),
            ("p", 9),
        ] {
            let mut changed = outer.clone();
            changed["kdf"][field] = value.into();
            let started = std::time::Instant::now();
            let err = open(b"pw", changed.to_string().as_bytes()).unwrap_err();
            assert_eq!(err.name(), "weak_or_costly", "{field}={value}: {err}");
            // 4 GiB of Argon2 would take seconds and fail to allocate.
            assert!(started.elapsed() < std::time::Duration::from_millis(50));
        }
    }

    #[test]
    fn truncated_or_foreign_text_is_malformed_and_other_versions_unsupported() {
        let text = seal_with(b"pw", b"contents", FAST, [1; 16], [2; 16]).unwrap();
        for cut in [0, 1, text.len() / 2, text.len() - 1] {
            let err = open(b"pw", &text.as_bytes()[..cut]).unwrap_err();
            assert_eq!(err.name(), "malformed", "cut at {cut}");
        }
        let mut outer: serde_json::Value = serde_json::from_str(&text).unwrap();
        outer["extra"] = 1.into();
        assert_eq!(
            open(b"pw", outer.to_string().as_bytes())
                .unwrap_err()
                .name(),
            "malformed"
        );
        let mut outer: serde_json::Value = serde_json::from_str(&text).unwrap();
        outer["v"] = 2.into();
        assert_eq!(
            open(b"pw", outer.to_string().as_bytes())
                .unwrap_err()
                .name(),
            "unsupported"
        );
        let mut outer: serde_json::Value = serde_json::from_str(&text).unwrap();
        outer["kdf"]["alg"] = "scrypt".into();
        assert_eq!(
            open(b"pw", outer.to_string().as_bytes())
                .unwrap_err()
                .name(),
            "unsupported"
        );
    }

    #[test]
    fn the_passphrase_estimate_follows_the_protocol_text() {
        // 16 lowercase letters: 16 × log2(26) ≈ 75.2 bits, too few.
        assert!(passphrase_bits("qwertyuiopasdfgh") < MIN_PASSPHRASE_BITS);
        // Runs of one character count once.
        assert_eq!(passphrase_bits("aaaa"), passphrase_bits("a"));
        assert!((passphrase_bits("Ab1!") - 4.0 * 95f64.log2()).abs() < 1e-9);
        assert!(passphrase_bits("correct horse battery staple") >= MIN_PASSPHRASE_BITS);
        assert!(passphrase_bits("") == 0.0);
        let refused = seal("password123", b"x", &mut rand::rng()).unwrap_err();
        assert!(refused.to_string().contains("too weak"), "{refused}");
    }
}
