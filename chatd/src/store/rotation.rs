//! Contacts' key rotations (docs/PROTOCOL.md §13): a transition from a
//! contact, signed by their pinned key and their new one, moves them to the
//! new card without asking. A replayed transition, one from a key that is
//! not pinned, or a forged one changes nothing (counted per contact); two
//! transitions from one key to two cards freeze the contact until the user
//! chooses.

use ipc_schema::methods::{ContactChange, EventEnvelope};
use rusqlite::{OptionalExtension, Transaction, params};

use super::contacts::contact;
use super::quarantine::{count_lost, key_event, notice};
use super::{StoreResult, now_ms};
use crate::crypto::transition::{self, TransitionError};
use crate::crypto::{Card, Fingerprint};

/// How long a contact's previous signing key still verifies after their
/// rotation by default, ms (envelopes signed before it may still be on the
/// way); `[keys] grace_days` sets it.
pub const PREVIOUS_KEY_GRACE_MS: u64 = 7 * 24 * 3600 * 1000;

/// Why a contact's transition changed nothing (`contact_drops.reason`).
mod refused {
    pub const REPLAYED: &str = "transition_replayed";
    pub const FORGED: &str = "transition_forged";
    pub const NOT_PINNED: &str = "transition_not_pinned";
}

/// What a contact's transition did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The contact moved to the new card.
    Rotated,
    /// Nothing: replayed, forged or malformed (counted).
    Refused,
    /// From a key that is not pinned: a key change like any other (the
    /// caller looks the card up).
    NotPinned,
    /// A second, different transition from the same key: frozen.
    Frozen,
}

/// The card `user` rotated away from, while its grace period lasts.
fn previous_card(tx: &Transaction<'_>, user: &str) -> StoreResult<Option<Card>> {
    let text: Option<String> = tx
        .query_row(
            "SELECT previous_card FROM contacts WHERE user = ?1 AND previous_until > ?2",
            params![user, now_ms() as i64],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    Ok(text.and_then(|t| Card::from_json(t.as_bytes()).ok()))
}

/// Applies a `key_transition` payload from contact `from`.
pub(super) fn apply(
    tx: &Transaction<'_>,
    me: &str,
    from: &str,
    text: &str,
    grace_ms: u64,
    events: &mut Vec<EventEnvelope>,
) -> StoreResult<Applied> {
    let pinned: Option<(String, i64)> = tx
        .query_row(
            "SELECT card, rotations FROM contacts WHERE user = ?1",
            [from],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((card_text, counter_before)) = pinned else {
        // Only a contact's transition means anything.
        return Ok(Applied::Refused);
    };
    let Ok(pinned) = Card::from_json(card_text.as_bytes()) else {
        return Ok(Applied::Refused);
    };
    // From the pinned key; or from the key the contact rotated away from
    // (still in its grace period): the same rotation again, or another one
    // from that key.
    let (t, from_previous) = match transition::check(text.as_bytes(), from, &pinned) {
        Ok(t) => (t, false),
        Err(TransitionError::NotPinned) => {
            match previous_card(tx, from)?
                .and_then(|p| transition::check(text.as_bytes(), from, &p).ok())
            {
                Some(t) => (t, true),
                None => {
                    count_lost(tx, from, refused::NOT_PINNED, 1)?;
                    return Ok(Applied::NotPinned);
                }
            }
        }
        Err(e) => {
            tracing::warn!(user = %from, reason = e.name(), "refused a key transition");
            count_lost(tx, from, refused::FORGED, 1)?;
            return Ok(Applied::Refused);
        }
    };
    let new_fp = t.card.fingerprint();
    if from_previous && new_fp == pinned.fingerprint() {
        count_lost(tx, from, refused::REPLAYED, 1)?;
        return Ok(Applied::Refused);
    }
    // Another transition from this very key, to another card: someone else
    // holds the old key too. Nobody is believed until the user chooses.
    let other: Option<String> = if from_previous {
        Some(pinned.fingerprint().to_hex())
    } else {
        tx.query_row(
            "SELECT fingerprint FROM transitions WHERE user = ?1 AND old = ?2 AND fingerprint != ?3",
            params![from, t.old.to_hex(), new_fp.to_hex()],
            |r| r.get(0),
        )
        .optional()?
    };
    if let Some(other) = other {
        tx.execute(
            "UPDATE contacts SET frozen = 1, pending_card = ?2, pending_fingerprint = ?3 WHERE user = ?1",
            params![from, t.card_text, new_fp.to_hex()],
        )?;
        let other = Fingerprint::parse(&other).map_or(other, |f| f.grouped());
        notice(
            tx,
            me,
            from,
            &format!(
                "WARNING: two different key rotations came from {from}'s previous key ({other} and {}). \
                 Someone else may hold that key. Nothing is accepted: compare fingerprints with {from} \
                 and accept the right one (chat-ctl contact accept-key).",
                new_fp.grouped()
            ),
            events,
        )?;
        let now = contact(tx, from)?.expect("pinned");
        key_event(
            tx,
            events,
            ContactChange::KeyChanged,
            now,
            Some(other),
            Some(new_fp.grouped()),
        )?;
        return Ok(Applied::Frozen);
    }
    if t.counter as i64 <= counter_before {
        count_lost(tx, from, refused::REPLAYED, 1)?;
        return Ok(Applied::Refused);
    }
    tx.execute(
        "INSERT OR IGNORE INTO transitions (user, old, fingerprint, counter, text, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            from,
            t.old.to_hex(),
            new_fp.to_hex(),
            t.counter as i64,
            text,
            now_ms() as i64
        ],
    )?;
    tx.execute(
        "UPDATE contacts SET previous_card = card, previous_until = ?2, card = ?3, fingerprint = ?4,
                rotations = ?5, rotated = 1, pending_card = NULL, pending_fingerprint = NULL
         WHERE user = ?1",
        params![
            from,
            (now_ms() + grace_ms) as i64,
            t.card.to_json(),
            new_fp.to_hex(),
            t.counter as i64
        ],
    )?;
    notice(
        tx,
        me,
        from,
        &format!(
            "{from} rotated their keys (signed by their previous key): new fingerprint {}. \
             Anyone holding the stolen previous key could do the same, so verify it with {from} \
             when you can (chat-ctl contact verify).",
            new_fp.grouped()
        ),
        events,
    )?;
    let now = contact(tx, from)?.expect("pinned");
    key_event(
        tx,
        events,
        ContactChange::KeyRotated,
        now,
        Some(t.old.grouped()),
        Some(new_fp.grouped()),
    )?;
    Ok(Applied::Rotated)
}

impl super::Store {
    /// Contacts' cards from before a rotation, while they still verify.
    pub fn previous_cards(&self) -> StoreResult<std::collections::HashMap<String, Card>> {
        self.with(|c| {
            let rows: Vec<(String, String)> = c
                .prepare(
                    "SELECT user, previous_card FROM contacts
                     WHERE previous_card IS NOT NULL AND previous_until > ?1",
                )?
                .query_map([now_ms() as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(rows
                .into_iter()
                .filter_map(|(u, t)| Card::from_json(t.as_bytes()).ok().map(|c| (u, c)))
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use ipc_schema::Payload;

    use super::super::Store;
    use crate::crypto::transition::make;
    use crate::crypto::{Identity, KeyBits, Opened};

    fn key(seed: u8) -> Identity {
        use rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([seed; 32]);
        Identity::generate("carol", KeyBits::B2048, &mut rng).unwrap()
    }

    fn from_carol(store: &Store, n: u8, payload: Payload) {
        let msg = Opened {
            id: format!("{n:032x}"),
            from: "carol".into(),
            ts: 1,
            payload,
        };
        let _ = store.commit_batch("me", vec![msg], &[], &[]).unwrap();
    }

    fn carol(store: &Store) -> ipc_schema::methods::Contact {
        store.contacts().unwrap().remove(0)
    }

    #[test]
    fn a_transition_moves_the_contact_a_replay_and_a_conflict_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("chatd.db")).unwrap();
        let (a, b, c) = (key(1), key(2), key(3));
        let _ = store.add_contact(a.card()).unwrap();
        let t = |old: &Identity, new: &Identity, n| Payload::KeyTransition {
            transition: make(old, new, n, 5, &mut rand::rng()).unwrap(),
        };
        from_carol(&store, 1, t(&a, &b, 1));
        let now = carol(&store);
        assert_eq!(now.fingerprint, b.card().fingerprint().grouped());
        assert!(now.rotated);
        assert_eq!(store.previous_cards().unwrap()["carol"], *a.card());
        // B → A, then A → B again with the old counter: a replay.
        from_carol(&store, 2, t(&b, &a, 2));
        assert_eq!(carol(&store).fingerprint, a.card().fingerprint().grouped());
        from_carol(&store, 3, t(&a, &b, 1));
        assert_eq!(carol(&store).fingerprint, a.card().fingerprint().grouped());
        assert_eq!(carol(&store).dropped, 1);
        // A → C with a higher counter, after A → B was seen: frozen.
        from_carol(&store, 4, t(&a, &c, 3));
        let frozen = carol(&store);
        assert_eq!(
            frozen.fingerprint,
            a.card().fingerprint().grouped(),
            "nobody believed"
        );
        assert_eq!(
            frozen.pending_fingerprint,
            Some(c.card().fingerprint().grouped())
        );
    }

    #[test]
    fn a_rotation_from_the_key_left_behind_is_a_replay_or_a_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("chatd.db")).unwrap();
        let (a, b, c) = (key(1), key(2), key(3));
        let _ = store.add_contact(a.card()).unwrap();
        let t = |old: &Identity, new: &Identity, n| Payload::KeyTransition {
            transition: make(old, new, n, 5, &mut rand::rng()).unwrap(),
        };
        from_carol(&store, 1, t(&a, &b, 1));
        // The same rotation again (a new envelope): a replay, counted.
        from_carol(&store, 2, t(&a, &b, 1));
        let now = carol(&store);
        assert_eq!(now.fingerprint, b.card().fingerprint().grouped());
        assert_eq!((now.dropped, now.frozen), (1, false));
        // Another rotation from A, after alice moved on to B: frozen, and
        // B stays where it is until the user chooses.
        from_carol(&store, 3, t(&a, &c, 2));
        let now = carol(&store);
        assert!(now.frozen);
        assert_eq!(now.fingerprint, b.card().fingerprint().grouped());
        assert_eq!(
            now.pending_fingerprint,
            Some(c.card().fingerprint().grouped())
        );
        assert_eq!(
            store.frozen_contacts().unwrap(),
            ["carol".to_owned()].into()
        );
        // Refusing is no choice; accepting one is, and A verifies nothing
        // after it.
        assert!(matches!(
            store.refuse_key("me", "carol"),
            Err(crate::store::StoreError::Frozen(_))
        ));
        let _ = store.accept_key("me", "carol", c.card()).unwrap();
        let now = carol(&store);
        assert!(!now.frozen);
        assert_eq!(now.fingerprint, c.card().fingerprint().grouped());
        assert!(store.previous_cards().unwrap().is_empty());
    }
}
