//! Sealing and opening envelope v1 (byte layout and check order in docs/PROTOCOL.md §6),
//! and opening either version (v2 in `envelope_v2`).

use ipc_schema::envelope::{
    CheckedEnvelope, Envelope, MAX_PADDED_PAYLOAD, Payload, ShapeError, is_valid_username,
};
use ipc_schema::envelope_v2::Incoming;
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::card::Card;
use super::error::{OpenError, SealError};
use super::identity::Identity;
use super::primitives;
use super::{put_lp, to_hex};

/// Domain separator at the start of `ad`.
const AD_DOMAIN: &[u8] = b"chat-env-v1\0";
/// Domain separator at the start of the signed message.
const SIG_DOMAIN: &[u8] = b"chat-sig-v1\0";
/// Length-hiding bucket size.
const PAD_BLOCK: usize = 256;

/// What the opener needs to know about the world: pinned contacts and seen ids.
pub trait Peers {
    /// The pinned card of `user` if it is a contact, else `None`.
    fn contact(&self, user: &str) -> Option<&Card>;
    /// True when an envelope (`from`, `id`) was already accepted.
    fn already_seen(&self, from: &str, id: &str) -> bool;
    /// The card `user` had before a key transition, while its grace period
    /// lasts (docs/PROTOCOL.md §13.4): envelopes signed before the rotation
    /// still verify with it.
    fn previous(&self, _user: &str) -> Option<&Card> {
        None
    }
    /// This account's identity before its own rotation, while its grace
    /// period lasts: envelopes sealed to the old encryption key still open.
    fn retired(&self) -> Option<&Identity> {
        None
    }
}

/// Verifies `sig` over `m` with `from`'s pinned signing key, or with the one
/// it had before a transition (still in its grace period).
pub(super) fn verify_sender(
    peers: &impl Peers,
    sender: &Card,
    m: &[u8],
    sig: &[u8],
) -> Result<(), OpenError> {
    if primitives::pss_verify(sender.sig_key(), m, sig).is_ok() {
        return Ok(());
    }
    match peers.previous(sender.user()) {
        Some(old) if primitives::pss_verify(old.sig_key(), m, sig).is_ok() => Ok(()),
        _ => Err(OpenError::BadSignature),
    }
}

/// A successfully opened envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// Message id (32 hex).
    pub id: String,
    /// Sender, a contact whose signature verified.
    pub from: String,
    /// Sender timestamp (ms).
    pub ts: u64,
    /// The decrypted payload.
    pub payload: Payload,
}

/// `ad = "chat-env-v1\0" || lp(id) || lp(from) || lp(to) || u64be(ts) || lp(wk)`.
fn associated_data(id: &str, from: &str, to: &str, ts: u64, wk: &[u8]) -> Vec<u8> {
    let mut ad = Vec::with_capacity(
        AD_DOMAIN.len() + 4 * 4 + 8 + id.len() + from.len() + to.len() + wk.len(),
    );
    ad.extend_from_slice(AD_DOMAIN);
    put_lp(&mut ad, id.as_bytes());
    put_lp(&mut ad, from.as_bytes());
    put_lp(&mut ad, to.as_bytes());
    ad.extend_from_slice(&ts.to_be_bytes());
    put_lp(&mut ad, wk);
    ad
}

/// `lp(iv) || lp(ct)`, the part after `ad` in the MAC input (both versions).
pub(super) fn iv_ct(iv: &[u8; 16], ct: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + iv.len() + ct.len());
    put_lp(&mut out, iv);
    put_lp(&mut out, ct);
    out
}

/// `"chat-sig-v1\0" || ad || lp(iv) || lp(ct) || lp(tag)`.
fn signed_message(ad: &[u8], iv_ct: &[u8], tag: &[u8; 32]) -> Vec<u8> {
    signed_with(SIG_DOMAIN, ad, iv_ct, tag)
}

/// `domain || ad || lp(iv) || lp(ct) || lp(tag)`: what either version signs.
pub(super) fn signed_with(domain: &[u8], ad: &[u8], iv_ct: &[u8], tag: &[u8; 32]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(domain.len() + ad.len() + iv_ct.len() + 36);
    msg.extend_from_slice(domain);
    msg.extend_from_slice(ad);
    msg.extend_from_slice(iv_ct);
    put_lp(&mut msg, tag);
    msg
}

/// `payload || 0x80 || 0x00…` up to the next multiple of 256 (at least one byte added).
pub fn pad(payload: &[u8]) -> Zeroizing<Vec<u8>> {
    let len = (payload.len() / PAD_BLOCK + 1) * PAD_BLOCK;
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    out.extend_from_slice(payload);
    out.push(0x80);
    out.resize(len, 0);
    out
}

/// Reverses [`pad`]; `None` unless the input is a whole number of buckets
/// ending in `0x80 0x00*`.
pub fn unpad(padded: &[u8]) -> Option<&[u8]> {
    if padded.is_empty() || !padded.len().is_multiple_of(PAD_BLOCK) {
        return None;
    }
    let last = padded.iter().rposition(|&b| b != 0)?;
    (padded[last] == 0x80 && padded.len() - last <= PAD_BLOCK).then(|| &padded[..last])
}

/// Seals `payload` from `sender` to `recipient` at time `ts` (ms).
///
/// Randomness is drawn in this order: id (16 bytes), enc_key (32), mac_key (32),
/// iv (16), then whatever RSA-OAEP and RSA-PSS draw. With a seeded RNG the
/// output is reproducible, which is how the frozen vectors are made.
pub fn seal<R: CryptoRng + ?Sized>(
    sender: &Identity,
    recipient: &Card,
    payload: &Payload,
    ts: u64,
    rng: &mut R,
) -> Result<Envelope, SealError> {
    let json = Zeroizing::new(payload.to_json()?);
    seal_bytes(sender, recipient, &json, ts, rng)
}

/// Like [`seal`], with the envelope id chosen by the caller: chatd gives a
/// message its id when the message is queued, and seals it when it is sent.
/// Randomness is drawn as by [`seal`], without the id.
pub fn seal_as<R: CryptoRng + ?Sized>(
    sender: &Identity,
    recipient: &Card,
    payload: &Payload,
    id: [u8; 16],
    ts: u64,
    rng: &mut R,
) -> Result<Envelope, SealError> {
    let json = Zeroizing::new(sealable(payload)?);
    seal_padded_as(sender, recipient, &pad(&json), id, ts, rng)
}

/// The payload's JSON if it fits in an envelope, else why not: what sealing
/// it would refuse, checked without any key.
pub fn sealable(payload: &Payload) -> Result<Vec<u8>, SealError> {
    let json = payload.to_json()?;
    if json.len() >= MAX_PADDED_PAYLOAD {
        return Err(SealError::TooLarge(json.len()));
    }
    Ok(json)
}

/// Seals already-encoded payload bytes. Exposed for tests that need to seal
/// content [`Payload`] would refuse to produce.
pub fn seal_bytes<R: CryptoRng + ?Sized>(
    sender: &Identity,
    recipient: &Card,
    payload_json: &[u8],
    ts: u64,
    rng: &mut R,
) -> Result<Envelope, SealError> {
    if payload_json.len() >= MAX_PADDED_PAYLOAD {
        return Err(SealError::TooLarge(payload_json.len()));
    }
    let padded = pad(payload_json);
    seal_padded(sender, recipient, &padded, ts, rng)
}

/// Seals an already padded plaintext (padding is not checked). Exposed for the
/// vector generator, which also needs envelopes with broken padding.
pub fn seal_padded<R: CryptoRng + ?Sized>(
    sender: &Identity,
    recipient: &Card,
    padded: &[u8],
    ts: u64,
    rng: &mut R,
) -> Result<Envelope, SealError> {
    let mut id = [0u8; 16];
    rng.fill_bytes(&mut id);
    seal_padded_as(sender, recipient, padded, id, ts, rng)
}

fn seal_padded_as<R: CryptoRng + ?Sized>(
    sender: &Identity,
    recipient: &Card,
    padded: &[u8],
    id: [u8; 16],
    ts: u64,
    rng: &mut R,
) -> Result<Envelope, SealError> {
    let mut keys = Zeroizing::new([0u8; 64]);
    rng.fill_bytes(&mut keys[..]);
    let mut iv = [0u8; 16];
    rng.fill_bytes(&mut iv);
    let enc_key: &[u8; 32] = keys[..32].try_into().expect("32 bytes");
    let ct = primitives::aes256_cbc_encrypt(enc_key, &iv, padded);
    let wk = primitives::oaep_encrypt(recipient.enc_key(), &keys[..], rng)
        .map_err(|_| SealError::Wrap)?;
    let parts = SealParts {
        id: to_hex(&id),
        from: sender.user(),
        to: recipient.user(),
        ts,
        wk,
        iv,
        ct,
    };
    parts.finish(sender, &keys[32..], rng)
}

/// The fields of an envelope before its tag and signature are computed.
/// Public so that the vector generator can build deliberately broken envelopes
/// that are still correctly tagged and signed.
pub struct SealParts<'a> {
    /// Message id.
    pub id: String,
    /// Sender username.
    pub from: &'a str,
    /// Recipient username.
    pub to: &'a str,
    /// Timestamp (ms).
    pub ts: u64,
    /// Wrapped keys.
    pub wk: Vec<u8>,
    /// IV.
    pub iv: [u8; 16],
    /// Ciphertext.
    pub ct: Vec<u8>,
}

impl SealParts<'_> {
    /// Computes `tag` with `mac_key` and `sig` with `signer`'s signing key.
    pub fn finish<R: CryptoRng + ?Sized>(
        self,
        signer: &Identity,
        mac_key: &[u8],
        rng: &mut R,
    ) -> Result<Envelope, SealError> {
        if !is_valid_username(self.from) || !is_valid_username(self.to) {
            return Err(SealError::User);
        }
        let ad = associated_data(&self.id, self.from, self.to, self.ts, &self.wk);
        let tail = iv_ct(&self.iv, &self.ct);
        let tag = primitives::hmac_sha256(mac_key, &[&ad, &tail]);
        let sig = signer
            .sign(&signed_message(&ad, &tail, &tag), rng)
            .map_err(|_| SealError::Sign)?;
        Ok(CheckedEnvelope {
            id: self.id,
            from: self.from.to_owned(),
            to: self.to.to_owned(),
            ts: self.ts,
            wk: self.wk,
            iv: self.iv,
            ct: self.ct,
            tag,
            sig,
        }
        .to_wire())
    }
}

/// Parses envelope JSON of either version strictly (size caps first) and
/// opens it; a v2 envelope must be in its delivered form (§8.3).
pub fn open_json<R: CryptoRng + ?Sized>(
    me: &Identity,
    json: &[u8],
    peers: &impl Peers,
    rng: &mut R,
) -> Result<Opened, OpenError> {
    let checked = Incoming::parse(json).map_err(shape_error)?;
    open_parsed(me, &checked, peers, rng)
}

/// Opens an envelope, in exactly the order of docs/PROTOCOL.md §6.3,
/// stopping at the first failure. No private-key operation happens before
/// the signature of a known contact has verified.
pub fn open<R: CryptoRng + ?Sized>(
    me: &Identity,
    env: &Envelope,
    peers: &impl Peers,
    rng: &mut R,
) -> Result<Opened, OpenError> {
    let checked = env.check().map_err(shape_error)?;
    open_checked(me, &checked, peers, rng)
}

/// Opens an envelope already parsed strictly (`Incoming::parse`): the sync
/// loop parses each envelope once and reads its `from` and `id` from the
/// result.
pub fn open_parsed<R: CryptoRng + ?Sized>(
    me: &Identity,
    env: &Incoming,
    peers: &impl Peers,
    rng: &mut R,
) -> Result<Opened, OpenError> {
    match env {
        Incoming::V1(env) => open_checked(me, env, peers, rng),
        Incoming::V2(env) => super::envelope_v2::open_checked_v2(me, env, peers, rng),
    }
}

/// The open failure for an envelope that did not parse.
pub fn shape_error(e: ShapeError) -> OpenError {
    match e {
        ShapeError::Version(_) => OpenError::UnsupportedVersion,
        other => OpenError::Malformed(other),
    }
}

fn open_checked<R: CryptoRng + ?Sized>(
    me: &Identity,
    env: &CheckedEnvelope,
    peers: &impl Peers,
    rng: &mut R,
) -> Result<Opened, OpenError> {
    if env.to != me.user() {
        return Err(OpenError::WrongRecipient);
    }
    let sender = peers.contact(&env.from).ok_or(OpenError::UnknownSender)?;
    if sender.user() != env.from {
        return Err(OpenError::UnknownSender);
    }
    let ad = associated_data(&env.id, &env.from, &env.to, env.ts, &env.wk);
    let tail = iv_ct(&env.iv, &env.ct);
    verify_sender(
        peers,
        sender,
        &signed_message(&ad, &tail, &env.tag),
        &env.sig,
    )?;
    if peers.already_seen(&env.from, &env.id) {
        return Err(OpenError::Replay);
    }
    let body = Body {
        wk: &env.wk,
        mac_input: [&ad, &tail],
        tag: &env.tag,
        iv: &env.iv,
        ct: &env.ct,
    };
    let payload = open_body_any(me, peers, &body, None, rng)?;
    Ok(Opened {
        id: env.id.clone(),
        from: env.from.clone(),
        ts: env.ts,
        payload,
    })
}

/// [`open_body`] with this identity, then (the signature having verified)
/// with the one retired by a rotation, if its grace period lasts.
pub(super) fn open_body_any<R: CryptoRng + ?Sized>(
    me: &Identity,
    peers: &impl Peers,
    body: &Body<'_>,
    key_check: Option<KeyCheck<'_>>,
    rng: &mut R,
) -> Result<Payload, OpenError> {
    match open_body(me, body, key_check, rng) {
        Err(
            e @ (OpenError::KeyUnwrap
            | OpenError::KeyLength
            | OpenError::KeyCommit
            | OpenError::BadMac),
        ) => match peers.retired() {
            Some(old) => open_body(old, body, key_check, rng).map_err(|_| e),
            None => Err(e),
        },
        other => other,
    }
}

/// What the steps after the signature and replay checks work on.
pub(super) struct Body<'a> {
    /// This recipient's wrapped key material.
    pub wk: &'a [u8],
    /// The MAC input, `ad || lp(iv) || lp(ct)`, in two parts.
    pub mac_input: [&'a [u8]; 2],
    /// The tag to check.
    pub tag: &'a [u8; 32],
    /// IV.
    pub iv: &'a [u8; 16],
    /// Ciphertext.
    pub ct: &'a [u8],
}

/// A check of the unwrapped key material before the MAC (v2's key commitment).
pub(super) type KeyCheck<'a> = &'a dyn Fn(&[u8]) -> Result<(), OpenError>;

/// Unwrap, key length, (key commitment), MAC, decrypt, unpad, parse: the
/// steps both versions share (§6.3 steps 7 to 12, §8.6 steps 7 to 13).
pub(super) fn open_body<R: CryptoRng + ?Sized>(
    me: &Identity,
    body: &Body<'_>,
    key_check: Option<KeyCheck<'_>>,
    rng: &mut R,
) -> Result<Payload, OpenError> {
    let keys = me
        .unwrap_key(body.wk, rng)
        .map_err(|_| OpenError::KeyUnwrap)?;
    let keys = keys.expose_secret();
    if keys.len() != 64 {
        return Err(OpenError::KeyLength);
    }
    if let Some(check) = key_check {
        check(keys)?;
    }
    if !primitives::hmac_sha256_verify(&keys[32..], &body.mac_input, body.tag) {
        return Err(OpenError::BadMac);
    }
    let enc_key: &[u8; 32] = keys[..32].try_into().expect("32 bytes");
    let padded = primitives::aes256_cbc_decrypt(enc_key, body.iv, body.ct)
        .map_err(|_| OpenError::Decrypt)?;
    let payload = unpad(padded.expose_secret()).ok_or(OpenError::Padding)?;
    Payload::from_json(payload).map_err(OpenError::Payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_fills_to_the_next_bucket() {
        assert_eq!(pad(b"").len(), 256);
        assert_eq!(pad(&[1; 255]).len(), 256);
        assert_eq!(pad(&[1; 256]).len(), 512);
        assert_eq!(pad(&[1; 257]).len(), 512);
        for len in [0, 1, 255, 256, 257, 1000] {
            let data = vec![0u8; len];
            assert_eq!(unpad(&pad(&data)), Some(&data[..]));
        }
    }

    #[test]
    fn unpad_refuses_bad_padding() {
        assert_eq!(unpad(&[]), None);
        assert_eq!(unpad(&[0u8; 256]), None);
        assert_eq!(unpad(&[0x80; 255]), None);
        let mut p = pad(b"x").to_vec();
        p[1] = 0x81;
        assert_eq!(unpad(&p), None);
        // A whole bucket of zero bytes after the marker is more padding than
        // `pad` ever writes.
        let mut long = pad(b"").to_vec();
        long.extend_from_slice(&[0; 256]);
        assert_eq!(unpad(&long), None);
    }
}
