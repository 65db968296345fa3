//! Key transitions (docs/PROTOCOL.md §13): a user who rotates their keys
//! tells each contact "my key with fingerprint OLD is now this card", signed
//! by both the old and the new signing keys, with a counter that only goes
//! up. A contact whose pinned key is OLD may then move to the new card
//! without asking; anything else is a key change the user decides on.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use super::primitives::pss_verify;
use super::{Card, Fingerprint, Identity, put_lp};

const LABEL: &[u8] = b"chat-transition-v1\0";
/// The longest transition text read.
pub const MAX_TRANSITION: usize = 16 * 1024;

/// Why a transition is refused (docs/PROTOCOL.md §13.3, in the order
/// checked).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// Not the JSON of §13.1, or bad sizes.
    #[error("malformed: {0}")]
    Malformed(String),
    /// Another version.
    #[error("unsupported: version {0}")]
    Unsupported(u64),
    /// It names another user than the envelope's sender.
    #[error("wrong_user: the transition is not the sender's")]
    WrongUser,
    /// Its `old` is not the key pinned for the sender.
    #[error("not_pinned: the transition is from a key that is not the one pinned")]
    NotPinned,
    /// The new card does not parse, names someone else, or is the old key.
    #[error("bad_card: {0}")]
    BadCard(String),
    /// A signature does not verify (old or new key).
    #[error("bad_signature: the transition is not signed by both keys")]
    BadSignature,
}

impl TransitionError {
    /// The step's name of §13.3.
    pub fn name(&self) -> &'static str {
        match self {
            TransitionError::Malformed(_) => "malformed",
            TransitionError::Unsupported(_) => "unsupported",
            TransitionError::WrongUser => "wrong_user",
            TransitionError::NotPinned => "not_pinned",
            TransitionError::BadCard(_) => "bad_card",
            TransitionError::BadSignature => "bad_signature",
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    v: u64,
    user: String,
    old: String,
    card: String,
    counter: u64,
    at: u64,
    sig_old: String,
    sig_new: String,
}

/// A transition that passed every check of §13.3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The user who rotated.
    pub user: String,
    /// The fingerprint of the key they left.
    pub old: Fingerprint,
    /// Their new card.
    pub card: Card,
    /// The card's text, as signed.
    pub card_text: String,
    /// Their rotation counter.
    pub counter: u64,
    /// When they rotated (ms).
    pub at: u64,
}

/// The bytes both keys sign (§13.2).
fn signed(user: &str, old: &Fingerprint, card_text: &str, counter: u64, at: u64) -> Vec<u8> {
    let mut m = LABEL.to_vec();
    put_lp(&mut m, user.as_bytes());
    m.extend_from_slice(old.as_bytes());
    put_lp(&mut m, card_text.as_bytes());
    m.extend_from_slice(&counter.to_be_bytes());
    m.extend_from_slice(&at.to_be_bytes());
    m
}

/// Makes the transition from `old` to `new` (the same user), with
/// `counter` and `at`.
pub fn make<R: CryptoRng + ?Sized>(
    old: &Identity,
    new: &Identity,
    counter: u64,
    at: u64,
    rng: &mut R,
) -> Result<String, TransitionError> {
    make_claiming(old, &old.card().fingerprint(), new, counter, at, rng)
}

/// Like [`make`], but naming `claimed` as the old key while `old` signs:
/// what a forger holding some other key than the claimed one produces
/// (for the vectors and tests; chatd only ever calls [`make`]).
pub fn make_claiming<R: CryptoRng + ?Sized>(
    old: &Identity,
    claimed: &Fingerprint,
    new: &Identity,
    counter: u64,
    at: u64,
    rng: &mut R,
) -> Result<String, TransitionError> {
    if old.user() != new.user() {
        return Err(TransitionError::WrongUser);
    }
    let card_text = new.card().to_json();
    let old_fp = *claimed;
    let m = signed(old.user(), &old_fp, &card_text, counter, at);
    let mut sign = |id: &Identity| {
        id.sign(&m, rng)
            .map(|s| B64.encode(s))
            .map_err(|_| TransitionError::BadSignature)
    };
    let sig_old = sign(old)?;
    let sig_new = sign(new)?;
    Ok(serde_json::to_string(&Wire {
        v: 1,
        user: old.user().to_owned(),
        old: old_fp.to_hex(),
        card: card_text,
        counter,
        at,
        sig_old,
        sig_new,
    })
    .expect("JSON of strings and numbers"))
}

/// Checks a transition received from `sender`, whose pinned card is
/// `pinned` (§13.3).
pub fn check(text: &[u8], sender: &str, pinned: &Card) -> Result<Transition, TransitionError> {
    if text.len() > MAX_TRANSITION {
        return Err(TransitionError::Malformed("over 16 KiB".into()));
    }
    #[derive(Deserialize)]
    struct Version {
        v: u64,
    }
    let Version { v } = serde_json::from_slice(text)
        .map_err(|e| TransitionError::Malformed(format!("not a transition ({e})")))?;
    if v != 1 {
        return Err(TransitionError::Unsupported(v));
    }
    let w: Wire = serde_json::from_slice(text)
        .map_err(|e| TransitionError::Malformed(format!("not a transition ({e})")))?;
    let old = Fingerprint::parse(&w.old)
        .filter(|f| f.to_hex() == w.old)
        .ok_or_else(|| TransitionError::Malformed("`old` is not 64 lowercase hex digits".into()))?;
    let sig = |text: &str, what: &str| {
        B64.decode(text)
            .map_err(|_| TransitionError::Malformed(format!("`{what}` is not base64")))
    };
    let (sig_old, sig_new) = (sig(&w.sig_old, "sig_old")?, sig(&w.sig_new, "sig_new")?);
    if w.user != sender {
        return Err(TransitionError::WrongUser);
    }
    if old != pinned.fingerprint() {
        return Err(TransitionError::NotPinned);
    }
    let card = Card::from_json(w.card.as_bytes())
        .map_err(|e| TransitionError::BadCard(format!("the new card does not parse: {e}")))?;
    if card.user() != sender {
        return Err(TransitionError::BadCard(
            "the new card names someone else".into(),
        ));
    }
    if card.fingerprint() == old {
        return Err(TransitionError::BadCard(
            "the new card is the old key".into(),
        ));
    }
    let m = signed(&w.user, &old, &w.card, w.counter, w.at);
    if pss_verify(pinned.sig_key(), &m, &sig_old).is_err()
        || pss_verify(card.sig_key(), &m, &sig_new).is_err()
    {
        return Err(TransitionError::BadSignature);
    }
    Ok(Transition {
        user: w.user,
        old,
        card,
        card_text: w.card,
        counter: w.counter,
        at: w.at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::KeyBits;

    fn id(user: &str, seed: u8) -> Identity {
        use rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([seed; 32]);
        Identity::generate(user, KeyBits::B2048, &mut rng).unwrap()
    }

    #[test]
    fn a_transition_signed_by_both_keys_moves_the_pinned_key_and_nothing_else_does() {
        let (old, new, other) = (id("carol", 1), id("carol", 2), id("carol", 3));
        let text = make(&old, &new, 1, 1_764_000_000_000, &mut rand::rng()).unwrap();
        let t = check(text.as_bytes(), "carol", old.card()).unwrap();
        assert_eq!(t.card, *new.card());
        assert_eq!((t.counter, t.old), (1, old.card().fingerprint()));
        // From another sender, or from a key that is not the pinned one.
        assert_eq!(
            check(text.as_bytes(), "dave", old.card())
                .unwrap_err()
                .name(),
            "wrong_user"
        );
        assert_eq!(
            check(text.as_bytes(), "carol", other.card())
                .unwrap_err()
                .name(),
            "not_pinned"
        );
        // Forged: signed by someone holding only the new key (or only the old).
        let forged = make(&other, &new, 1, 1, &mut rand::rng()).unwrap();
        let mut w: serde_json::Value = serde_json::from_str(&forged).unwrap();
        w["old"] = old.card().fingerprint().to_hex().into();
        assert_eq!(
            check(w.to_string().as_bytes(), "carol", old.card())
                .unwrap_err()
                .name(),
            "bad_signature"
        );
        // Every signed member is bound.
        let good: serde_json::Value = serde_json::from_str(&text).unwrap();
        for (field, value) in [
            ("counter", 2.into()),
            ("at", 5.into()),
            ("card", other.card().to_json().into()),
        ] {
            let mut changed = good.clone();
            changed[field] = value;
            let err = check(changed.to_string().as_bytes(), "carol", old.card()).unwrap_err();
            assert_eq!(err.name(), "bad_signature", "{field}");
        }
        let mut v2 = good.clone();
        v2["v"] = 2.into();
        assert_eq!(
            check(v2.to_string().as_bytes(), "carol", old.card())
                .unwrap_err()
                .name(),
            "unsupported"
        );
        assert_eq!(
            check(b"{\"v\":1}", "carol", old.card()).unwrap_err().name(),
            "malformed"
        );
    }
}

#[cfg(test)]
mod grace_tests {
    use crate::crypto::{Card, Identity, KeyBits, OpenError, Peers, open, seal};

    struct Book<'a> {
        sender: &'a Card,
        previous: Option<&'a Card>,
        retired: Option<&'a Identity>,
    }

    impl Peers for Book<'_> {
        fn contact(&self, _: &str) -> Option<&Card> {
            Some(self.sender)
        }
        fn already_seen(&self, _: &str, _: &str) -> bool {
            false
        }
        fn previous(&self, _: &str) -> Option<&Card> {
            self.previous
        }
        fn retired(&self) -> Option<&Identity> {
            self.retired
        }
    }

    fn key(user: &str) -> Identity {
        Identity::generate(user, KeyBits::B2048, &mut rand::rng()).unwrap()
    }

    #[test]
    fn what_was_sealed_to_a_retired_key_opens_only_while_it_is_kept() {
        let (alice, old_bob, new_bob) = (key("alice"), key("bob"), key("bob"));
        let env = seal(
            &alice,
            old_bob.card(),
            &ipc_schema::Payload::text("in flight"),
            1,
            &mut rand::rng(),
        )
        .unwrap();
        let book = |retired| Book {
            sender: alice.card(),
            previous: None,
            retired,
        };
        let opened = open(&new_bob, &env, &book(Some(&old_bob)), &mut rand::rng()).unwrap();
        assert_eq!(opened.payload, ipc_schema::Payload::text("in flight"));
        assert_eq!(
            open(&new_bob, &env, &book(None), &mut rand::rng()).unwrap_err(),
            OpenError::KeyUnwrap
        );
    }

    #[test]
    fn what_a_previous_key_signed_verifies_only_while_it_is_kept() {
        let (alice, old_bob, new_bob) = (key("alice"), key("bob"), key("bob"));
        let env = seal(
            &old_bob,
            alice.card(),
            &ipc_schema::Payload::text("signed before"),
            1,
            &mut rand::rng(),
        )
        .unwrap();
        let book = |previous| Book {
            sender: new_bob.card(),
            previous,
            retired: None,
        };
        assert!(open(&alice, &env, &book(Some(old_bob.card())), &mut rand::rng()).is_ok());
        assert_eq!(
            open(&alice, &env, &book(None), &mut rand::rng()).unwrap_err(),
            OpenError::BadSignature
        );
    }
}
