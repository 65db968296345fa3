//! Sealing and opening envelope v2, one message to several recipients (byte
//! layout and check order in docs/PROTOCOL.md §8).
//!
//! One content key, one ciphertext, one tag and one signature; one RSA-OAEP
//! wrapped key per recipient. The signature covers the root of the recipient
//! tree (`ipc_schema::envelope_v2::tree`), so each recipient checks its own
//! entry without seeing anyone else's.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ipc_schema::envelope::{MAX_PADDED_PAYLOAD, Payload, is_valid_username};
use ipc_schema::envelope_v2::{CheckedDeliveredV2, MAX_RECIPIENTS, RecipientEntry, SealedV2, tree};
use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::card::Card;
use super::envelope::{Body, Opened, Peers, iv_ct, pad, signed_with};
use super::error::{OpenError, SealError};
use super::identity::Identity;
use super::primitives;
use super::{put_lp, to_hex};

/// Domain separator at the start of `ad2`.
const AD_DOMAIN: &[u8] = b"chat-env-v2\0";
/// Domain separator at the start of the signed message.
const SIG_DOMAIN: &[u8] = b"chat-sig-v2\0";
/// Domain separator of the key commitment.
const KC_DOMAIN: &[u8] = b"chat-kc-v2\0";

/// `SHA-256("chat-kc-v2\0" || enc_key || mac_key)`.
pub fn key_commitment(keys: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(KC_DOMAIN);
    h.update(keys);
    h.finalize().into()
}

/// `ad2 = "chat-env-v2\0" || lp(id) || lp(from) || u64be(ts) || u32be(n) || root || kc`.
fn associated_data(
    id: &str,
    from: &str,
    ts: u64,
    n: u32,
    root: &[u8; 32],
    kc: &[u8; 32],
) -> Vec<u8> {
    let mut ad = Vec::with_capacity(AD_DOMAIN.len() + 8 + id.len() + from.len() + 12 + 64);
    ad.extend_from_slice(AD_DOMAIN);
    put_lp(&mut ad, id.as_bytes());
    put_lp(&mut ad, from.as_bytes());
    ad.extend_from_slice(&ts.to_be_bytes());
    ad.extend_from_slice(&n.to_be_bytes());
    ad.extend_from_slice(root);
    ad.extend_from_slice(kc);
    ad
}

/// `"chat-sig-v2\0" || ad2 || lp(iv) || lp(ct) || lp(tag)`.
fn signed_message(ad: &[u8], iv_ct: &[u8], tag: &[u8; 32]) -> Vec<u8> {
    signed_with(SIG_DOMAIN, ad, iv_ct, tag)
}

/// The recipients sorted by username; refuses none, a repeat, or more than 1,000.
fn sorted<'c>(recipients: &[&'c Card]) -> Result<Vec<&'c Card>, SealError> {
    if recipients.is_empty() || recipients.len() > MAX_RECIPIENTS {
        return Err(SealError::Recipients(recipients.len()));
    }
    let mut sorted = recipients.to_vec();
    sorted.sort_by(|a, b| a.user().cmp(b.user()));
    if sorted.windows(2).any(|w| w[0].user() == w[1].user()) {
        return Err(SealError::RepeatedRecipient);
    }
    Ok(sorted)
}

/// Seals `payload` from `sender` to every card in `recipients` (in any
/// order; they are sorted), with the id chosen by the caller.
///
/// Randomness is drawn in the order of §8.5: enc_key, mac_key, iv, then
/// each recipient's RSA-OAEP in `to` order, then RSA-PSS.
pub fn seal_v2_as<R: CryptoRng + ?Sized>(
    sender: &Identity,
    recipients: &[&Card],
    payload: &Payload,
    id: [u8; 16],
    ts: u64,
    rng: &mut R,
) -> Result<SealedV2, SealError> {
    let json = Zeroizing::new(payload.to_json()?);
    if json.len() >= MAX_PADDED_PAYLOAD {
        return Err(SealError::TooLarge(json.len()));
    }
    seal_v2_padded_as(sender, recipients, &pad(&json), id, ts, rng)
}

/// Like [`seal_v2_as`] for payload bytes, drawing the id first (§8.5 step 2).
/// Exposed for tests and the vector generator.
pub fn seal_v2_bytes<R: CryptoRng + ?Sized>(
    sender: &Identity,
    recipients: &[&Card],
    payload_json: &[u8],
    ts: u64,
    rng: &mut R,
) -> Result<SealedV2, SealError> {
    if payload_json.len() >= MAX_PADDED_PAYLOAD {
        return Err(SealError::TooLarge(payload_json.len()));
    }
    let mut id = [0u8; 16];
    rng.fill_bytes(&mut id);
    seal_v2_padded_as(sender, recipients, &pad(payload_json), id, ts, rng)
}

/// Seals an already padded plaintext (padding is not checked).
pub fn seal_v2_padded_as<R: CryptoRng + ?Sized>(
    sender: &Identity,
    recipients: &[&Card],
    padded: &[u8],
    id: [u8; 16],
    ts: u64,
    rng: &mut R,
) -> Result<SealedV2, SealError> {
    let recipients = sorted(recipients)?;
    let mut keys = Zeroizing::new([0u8; 64]);
    rng.fill_bytes(&mut keys[..]);
    let mut iv = [0u8; 16];
    rng.fill_bytes(&mut iv);
    let enc_key: &[u8; 32] = keys[..32].try_into().expect("32 bytes");
    let ct = primitives::aes256_cbc_encrypt(enc_key, &iv, padded);
    let mut to = Vec::with_capacity(recipients.len());
    for card in recipients {
        let wk = primitives::oaep_encrypt(card.enc_key(), &keys[..], rng)
            .map_err(|_| SealError::Wrap)?;
        to.push((card.user().to_owned(), wk));
    }
    SealPartsV2 {
        id: to_hex(&id),
        from: sender.user(),
        ts,
        to,
        kc: key_commitment(&keys[..]),
        iv,
        ct,
    }
    .finish(sender, &keys[32..], rng)
}

/// The members of a sealed v2 envelope before its tag and signature exist.
/// Public so that the vector generator can build envelopes broken after the
/// signature check that are still correctly tagged and signed.
pub struct SealPartsV2<'a> {
    /// Message id (32 hex).
    pub id: String,
    /// Sender username.
    pub from: &'a str,
    /// Timestamp (ms).
    pub ts: u64,
    /// Recipients and their raw wrapped keys, in the order they are emitted.
    pub to: Vec<(String, Vec<u8>)>,
    /// Key commitment.
    pub kc: [u8; 32],
    /// IV.
    pub iv: [u8; 16],
    /// Ciphertext.
    pub ct: Vec<u8>,
}

impl SealPartsV2<'_> {
    /// Computes the root, `tag` with `mac_key` and `sig` with `signer`'s key.
    pub fn finish<R: CryptoRng + ?Sized>(
        self,
        signer: &Identity,
        mac_key: &[u8],
        rng: &mut R,
    ) -> Result<SealedV2, SealError> {
        if !is_valid_username(self.from) || self.to.iter().any(|(u, _)| !is_valid_username(u)) {
            return Err(SealError::User);
        }
        let leaves: Vec<[u8; 32]> = self.to.iter().map(|(u, wk)| tree::leaf(u, wk)).collect();
        let root = tree::root(&leaves);
        let ad = associated_data(
            &self.id,
            self.from,
            self.ts,
            leaves.len() as u32,
            &root,
            &self.kc,
        );
        let tail = iv_ct(&self.iv, &self.ct);
        let tag = primitives::hmac_sha256(mac_key, &[&ad, &tail]);
        let sig = signer
            .sign(&signed_message(&ad, &tail, &tag), rng)
            .map_err(|_| SealError::Sign)?;
        Ok(SealedV2 {
            v: 2,
            id: self.id,
            from: self.from.to_owned(),
            ts: self.ts,
            to: self
                .to
                .into_iter()
                .map(|(user, wk)| RecipientEntry {
                    user,
                    wk: B64.encode(wk),
                })
                .collect(),
            kc: B64.encode(self.kc),
            iv: B64.encode(self.iv),
            ct: B64.encode(&self.ct),
            tag: B64.encode(tag),
            sig: B64.encode(sig),
        })
    }
}

/// Opens a delivered v2 envelope already parsed strictly, in exactly the
/// order of docs/PROTOCOL.md §8.6 (steps 3 on). No private-key operation
/// happens before the signature of a known contact has verified over a root
/// that includes this recipient's entry.
pub(super) fn open_checked_v2<R: CryptoRng + ?Sized>(
    me: &Identity,
    env: &CheckedDeliveredV2,
    peers: &impl Peers,
    rng: &mut R,
) -> Result<Opened, OpenError> {
    if env.user != me.user() {
        return Err(OpenError::WrongRecipient);
    }
    let c = &env.common;
    let sender = peers.contact(&c.from).ok_or(OpenError::UnknownSender)?;
    if sender.user() != c.from {
        return Err(OpenError::UnknownSender);
    }
    let ad = associated_data(&c.id, &c.from, c.ts, env.n, &env.root(), &c.kc);
    let tail = iv_ct(&c.iv, &c.ct);
    super::envelope::verify_sender(peers, sender, &signed_message(&ad, &tail, &c.tag), &c.sig)?;
    if peers.already_seen(&c.from, &c.id) {
        return Err(OpenError::Replay);
    }
    let commit = |keys: &[u8]| -> Result<(), OpenError> {
        if bool::from(key_commitment(keys).ct_eq(&c.kc)) {
            Ok(())
        } else {
            Err(OpenError::KeyCommit)
        }
    };
    let body = Body {
        wk: &env.wk,
        mac_input: [&ad, &tail],
        tag: &c.tag,
        iv: &c.iv,
        ct: &c.ct,
    };
    let payload = super::envelope::open_body_any(me, peers, &body, Some(&commit), rng)?;
    Ok(Opened {
        id: c.id.clone(),
        from: c.from.clone(),
        ts: c.ts,
        payload,
    })
}
