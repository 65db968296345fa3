//! Contacts synced between the account's devices (docs/PROTOCOL.md §11.4):
//! each device stamps its own changes with (when, its device id) and tells
//! the others; a change from another device counts when its stamp is later
//! than the contact's last one (removals included), so every device ends
//! with the last writer's choice of pinned or removed. Verification of the
//! pinned key is merged whatever the stamps (it only moves forward), and a
//! synced card never replaces a pinned key.

use ipc_schema::methods::{ContactChange, EventEnvelope};
use ipc_schema::{ContactSyncState, Payload};
use rusqlite::{OptionalExtension, Transaction, params};

use super::contacts::{REMOVED, changed, contact};
use super::outbox::end_all_for;
use super::{Store, StoreResult, now_ms};
use crate::crypto::Card;

/// The last change to a contact: (ms, device id), compared in that order.
type Stamp = (u64, String);

fn last_stamp(tx: &Transaction<'_>, user: &str) -> rusqlite::Result<Option<Stamp>> {
    let pinned: Option<(i64, String)> = tx
        .query_row(
            "SELECT changed_at, changed_by FROM contacts WHERE user = ?1",
            [user],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let removed: Option<(i64, String)> = tx
        .query_row(
            "SELECT changed_at, changed_by FROM contacts_removed WHERE user = ?1",
            [user],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(pinned
        .into_iter()
        .chain(removed)
        .map(|(at, by)| (at as u64, by))
        .max())
}

impl Store {
    /// Stamps a change to `user` made on this device (`device`, its relay
    /// id) now, and returns the `contact` payload that tells the others.
    pub fn stamp_contact(&self, user: &str, device: &str) -> StoreResult<Payload> {
        self.with(|c| {
            let tx = c.transaction()?;
            let at = now_ms();
            let row: Option<(String, bool)> = tx
                .query_row(
                    "SELECT card, verified FROM contacts WHERE user = ?1",
                    [user],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let payload = match row {
                Some((card, verified)) => {
                    tx.execute(
                        "UPDATE contacts SET changed_at = ?2, changed_by = ?3 WHERE user = ?1",
                        params![user, at as i64, device],
                    )?;
                    tx.execute("DELETE FROM contacts_removed WHERE user = ?1", [user])?;
                    let state = if verified {
                        ContactSyncState::Verified
                    } else {
                        ContactSyncState::Pinned
                    };
                    (state, Some(card))
                }
                None => {
                    tx.execute(
                        "INSERT INTO contacts_removed (user, changed_at, changed_by) VALUES (?1, ?2, ?3)
                         ON CONFLICT (user) DO UPDATE SET changed_at = ?2, changed_by = ?3",
                        params![user, at as i64, device],
                    )?;
                    (ContactSyncState::Removed, None)
                }
            };
            tx.commit()?;
            Ok(Payload::Contact {
                user: user.to_owned(),
                state: payload.0,
                card: payload.1,
                at,
                device: device.to_owned(),
            })
        })
    }
}

/// A synced contact change, from a `contact` payload of this account.
pub(super) struct Synced<'a> {
    pub user: &'a str,
    pub state: ContactSyncState,
    pub card: Option<&'a str>,
    pub at: u64,
    pub device: &'a str,
}

/// Applies a contact change another device of this account made, if it is
/// later than the contact's last change. Returns whether the contact
/// changed here.
pub(super) fn apply_synced(
    tx: &Transaction<'_>,
    me: &str,
    s: Synced<'_>,
    events: &mut Vec<EventEnvelope>,
) -> StoreResult<bool> {
    if s.user == me {
        return Ok(false);
    }
    let stamp: Stamp = (s.at, s.device.to_owned());
    let later = last_stamp(tx, s.user)?.is_none_or(|last| last < stamp);
    let current = contact(tx, s.user)?;
    if s.state == ContactSyncState::Removed {
        if !later {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO contacts_removed (user, changed_at, changed_by) VALUES (?1, ?2, ?3)
             ON CONFLICT (user) DO UPDATE SET changed_at = ?2, changed_by = ?3",
            params![s.user, s.at as i64, s.device],
        )?;
        let Some(removed) = current else {
            return Ok(false);
        };
        tx.execute("DELETE FROM contacts WHERE user = ?1", [s.user])?;
        changed(tx, events, ContactChange::Removed, removed)?;
        end_all_for(tx, s.user, REMOVED, events)?;
        return Ok(true);
    }
    let Some(card) = s
        .card
        .and_then(|text| Card::from_json(text.as_bytes()).ok())
    else {
        tracing::warn!(user = %s.user, "a synced contact's card does not parse; ignored");
        return Ok(false);
    };
    if card.user() != s.user {
        tracing::warn!(user = %s.user, "a synced contact's card names someone else; ignored");
        return Ok(false);
    }
    let fp = card.fingerprint().to_hex();
    let verified = s.state == ContactSyncState::Verified;
    match current {
        Some(pinned) if pinned.fingerprint.replace(' ', "").to_lowercase() != fp => {
            // Another key for a pinned contact is never taken on anyone's
            // word, not even another device of ours: the user decides here.
            tracing::warn!(user = %s.user, "another device pinned a different key for a contact; kept ours");
            Ok(false)
        }
        Some(pinned) => {
            if later {
                tx.execute(
                    "UPDATE contacts SET changed_at = ?2, changed_by = ?3 WHERE user = ?1",
                    params![s.user, s.at as i64, s.device],
                )?;
            }
            // Verification of the pinned key is merged whatever the stamps:
            // one device's verification is never lost to another's later,
            // unknowing pin of the same key.
            if verified && !pinned.verified {
                tx.execute("UPDATE contacts SET verified = 1 WHERE user = ?1", [s.user])?;
                let now = contact(tx, s.user)?.expect("just updated");
                changed(tx, events, ContactChange::Verified, now)?;
                return Ok(true);
            }
            Ok(false)
        }
        None if !later => Ok(false),
        None => {
            tx.execute(
                "INSERT INTO contacts (user, card, fingerprint, verified, added_at, changed_at, changed_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![s.user, card.to_json(), fp, verified, now_ms() as i64, s.at as i64, s.device],
            )?;
            tx.execute("DELETE FROM contacts_removed WHERE user = ?1", [s.user])?;
            let added = contact(tx, s.user)?.expect("just written");
            changed(tx, events, ContactChange::Added, added.clone())?;
            if verified {
                changed(tx, events, ContactChange::Verified, added)?;
            }
            Ok(true)
        }
    }
}

#[cfg(test)]
mod tests {
    use ipc_schema::{ContactSyncState, Payload};

    use super::super::Store;
    use crate::crypto::{Card, Identity, KeyBits, Opened};

    fn card(user: &str, seed: u8) -> Card {
        use rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([seed; 32]);
        Identity::generate(user, KeyBits::B2048, &mut rng)
            .unwrap()
            .card()
            .clone()
    }

    /// A `contact` payload from another device of "me", filed as a batch.
    fn synced(store: &Store, n: u8, c: &Card, state: ContactSyncState, at: u64, device: &str) {
        let msg = Opened {
            id: format!("{n:032x}"),
            from: "me".into(),
            ts: at,
            payload: Payload::Contact {
                user: c.user().to_owned(),
                state,
                card: (state != ContactSyncState::Removed).then(|| c.to_json()),
                at,
                device: device.to_owned(),
            },
        };
        let _ = store.commit_batch("me", vec![msg], &[], &[]).unwrap();
    }

    fn bob_here(store: &Store) -> Option<bool> {
        store
            .contacts()
            .unwrap()
            .into_iter()
            .find(|c| c.user == "bob")
            .map(|c| c.verified)
    }

    const A: &str = "aaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbb";

    #[test]
    fn the_last_writer_by_time_then_device_wins_and_older_changes_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("chatd.db")).unwrap();
        let bob = card("bob", 1);
        synced(&store, 1, &bob, ContactSyncState::Pinned, 100, A);
        assert_eq!(bob_here(&store), Some(false));
        // A removal made earlier than that pin arrives late: ignored.
        synced(&store, 2, &bob, ContactSyncState::Removed, 90, B);
        assert_eq!(bob_here(&store), Some(false));
        // Same time, the larger device id wins.
        synced(&store, 3, &bob, ContactSyncState::Removed, 100, B);
        assert_eq!(bob_here(&store), None);
        // A pin older than the removal stays removed; a later one adds back.
        synced(&store, 4, &bob, ContactSyncState::Verified, 99, A);
        assert_eq!(bob_here(&store), None);
        synced(&store, 5, &bob, ContactSyncState::Verified, 120, A);
        assert_eq!(bob_here(&store), Some(true));
        // Verification only moves forward for one key.
        synced(&store, 6, &bob, ContactSyncState::Pinned, 130, B);
        assert_eq!(bob_here(&store), Some(true));
    }

    #[test]
    fn a_verification_older_than_the_pin_still_counts() {
        // Device A verified bob at 110 while device B, unaware, pinned him
        // at 120: B's pin arrives here first, then A's older verification.
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("chatd.db")).unwrap();
        let bob = card("bob", 1);
        synced(&store, 1, &bob, ContactSyncState::Pinned, 120, B);
        synced(&store, 2, &bob, ContactSyncState::Verified, 110, A);
        assert_eq!(bob_here(&store), Some(true));
        // But not for a contact removed later than it.
        synced(&store, 3, &bob, ContactSyncState::Removed, 130, B);
        synced(&store, 4, &bob, ContactSyncState::Verified, 125, A);
        assert_eq!(bob_here(&store), None);
    }

    #[test]
    fn a_synced_card_never_replaces_a_pinned_key_nor_names_me() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("chatd.db")).unwrap();
        let (bob, other_bob) = (card("bob", 1), card("bob", 2));
        synced(&store, 1, &bob, ContactSyncState::Pinned, 100, A);
        synced(&store, 2, &other_bob, ContactSyncState::Verified, 200, A);
        let pinned = store.contacts().unwrap();
        assert_eq!(pinned.len(), 1);
        assert_eq!(pinned[0].fingerprint, bob.fingerprint().grouped());
        assert!(!pinned[0].verified);
        // A card whose user is not the one named is ignored.
        let carol = card("carol", 3);
        let msg = Opened {
            id: format!("{:032x}", 9),
            from: "me".into(),
            ts: 300,
            payload: Payload::Contact {
                user: "dave".into(),
                state: ContactSyncState::Pinned,
                card: Some(carol.to_json()),
                at: 300,
                device: A.into(),
            },
        };
        let _ = store.commit_batch("me", vec![msg], &[], &[]).unwrap();
        assert_eq!(store.contacts().unwrap().len(), 1);
    }
}
