//! Pinned contacts: the cards envelopes are sealed to and checked against.

use std::collections::HashMap;

use ipc_schema::methods::{Contact, ContactChange, ContactChangedEvent, Event};
use rusqlite::{OptionalExtension, Transaction, params};

use super::events::push_event;
use super::outbox::end_all_for;
use super::{Committed, Store, StoreError, StoreResult, now_ms};
use crate::crypto::{Card, Fingerprint};

/// Why a contact's queued texts fail when the contact is removed.
pub const REMOVED: &str = "recipient was removed from the contacts";

/// Fingerprints are stored as 64 hex digits and shown in 16 groups of 4.
fn grouped(hex: String) -> String {
    Fingerprint::parse(&hex).map_or(hex, |f| f.grouped())
}

/// The columns [`contact_from_row`] reads, from `contacts c`.
const CONTACT_COLUMNS: &str =
    "c.user, c.fingerprint, c.verified, c.added_at, c.pending_fingerprint,
     (SELECT count(*) FROM quarantine q WHERE q.sender = c.user),
     (SELECT coalesce(sum(d.count), 0) FROM contact_drops d WHERE d.user = c.user),
     c.rotated, c.frozen";

fn contact_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Contact> {
    Ok(Contact {
        user: r.get(0)?,
        fingerprint: grouped(r.get(1)?),
        verified: r.get(2)?,
        added_at: r.get::<_, i64>(3)? as u64,
        pending_fingerprint: r.get::<_, Option<String>>(4)?.map(grouped),
        quarantined: r.get::<_, i64>(5)? as u64,
        dropped: r.get::<_, i64>(6)? as u64,
        rotated: r.get(7)?,
        frozen: r.get(8)?,
    })
}

pub(super) fn contact(tx: &Transaction<'_>, user: &str) -> rusqlite::Result<Option<Contact>> {
    tx.query_row(
        &format!("SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.user = ?1"),
        [user],
        contact_from_row,
    )
    .optional()
}

pub(super) fn changed(
    tx: &Transaction<'_>,
    events: &mut Vec<ipc_schema::methods::EventEnvelope>,
    change: ContactChange,
    contact: Contact,
) -> rusqlite::Result<()> {
    push_event(
        tx,
        events,
        Event::ContactChanged(ContactChangedEvent {
            change,
            contact,
            old_fingerprint: None,
            new_fingerprint: None,
        }),
    )
}

impl Store {
    /// Pins `card` as a contact. Adding the same card again is a no-op; a
    /// different card for an existing name is refused (a key change must be
    /// a deliberate remove + add).
    pub fn add_contact(&self, card: &Card) -> StoreResult<Committed<Contact>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let fp = card.fingerprint().to_hex();
            let existing: Option<String> = tx
                .query_row(
                    "SELECT fingerprint FROM contacts WHERE user = ?1",
                    [card.user()],
                    |r| r.get(0),
                )
                .optional()?;
            let mut events = Vec::new();
            match existing {
                Some(old) if old != fp => {
                    return Err(StoreError::CardChanged(card.user().to_owned()));
                }
                Some(_) => {}
                None => {
                    tx.execute(
                        "INSERT INTO contacts (user, card, fingerprint, verified, added_at)
                         VALUES (?1, ?2, ?3, 0, ?4)",
                        params![card.user(), card.to_json(), fp, now_ms() as i64],
                    )?;
                }
            }
            let added = contact(&tx, card.user())?.expect("just written");
            if existing.is_none() {
                changed(&tx, &mut events, ContactChange::Added, added.clone())?;
            }
            tx.commit()?;
            Ok(Committed::new(added, events))
        })
    }

    /// All contacts, by name.
    pub fn contacts(&self) -> StoreResult<Vec<Contact>> {
        self.with(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {CONTACT_COLUMNS} FROM contacts c ORDER BY c.user"
            ))?;
            let rows = stmt
                .query_map([], contact_from_row)?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
    }

    /// Every pinned contact's card text and whether it is verified, for a
    /// backup (docs/PROTOCOL.md §10.1).
    pub fn pinned_cards(&self) -> StoreResult<Vec<(String, bool)>> {
        self.with(|c| {
            let mut stmt = c.prepare("SELECT card, verified FROM contacts ORDER BY user")?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
    }

    /// True when `user` is a contact (no card parsing).
    pub fn is_contact(&self, user: &str) -> StoreResult<bool> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT EXISTS (SELECT 1 FROM contacts WHERE user = ?1)",
                [user],
                |r| r.get(0),
            )?)
        })
    }

    /// The pinned cards, for opening and sealing envelopes.
    pub fn contact_cards(&self) -> StoreResult<HashMap<String, Card>> {
        self.with(|c| {
            let mut stmt = c.prepare("SELECT user, card FROM contacts")?;
            let rows: Vec<(String, String)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(rows
                .into_iter()
                .filter_map(|(user, card)| Card::from_json(card.as_bytes()).ok().map(|c| (user, c)))
                .collect())
        })
    }

    /// Removes a contact; history stays. Its queued texts fail (they were
    /// never accepted by the relay, and now never will be) and its queued
    /// receipts are dropped, in the same transaction.
    pub fn remove_contact(&self, user: &str) -> StoreResult<Committed<()>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let removed =
                contact(&tx, user)?.ok_or_else(|| StoreError::UnknownContact(user.to_owned()))?;
            tx.execute("DELETE FROM contacts WHERE user = ?1", [user])?;
            let mut events = Vec::new();
            changed(&tx, &mut events, ContactChange::Removed, removed)?;
            end_all_for(&tx, user, REMOVED, &mut events)?;
            tx.commit()?;
            Ok(Committed::new((), events))
        })
    }

    /// Marks a contact verified if `fingerprint` matches its card.
    pub fn verify_contact(
        &self,
        user: &str,
        fingerprint: &Fingerprint,
    ) -> StoreResult<Committed<Contact>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let pinned: String = tx
                .query_row(
                    "SELECT fingerprint FROM contacts WHERE user = ?1",
                    [user],
                    |r| r.get(0),
                )
                .optional()?
                .ok_or_else(|| StoreError::UnknownContact(user.to_owned()))?;
            if pinned != fingerprint.to_hex() {
                return Err(StoreError::FingerprintMismatch(user.to_owned()));
            }
            // Verifying the key a rotation moved to ends "continued by
            // signed rotation".
            tx.execute(
                "UPDATE contacts SET verified = 1, rotated = 0 WHERE user = ?1",
                [user],
            )?;
            let verified = contact(&tx, user)?.expect("just read");
            let mut events = Vec::new();
            changed(&tx, &mut events, ContactChange::Verified, verified.clone())?;
            tx.commit()?;
            Ok(Committed::new(verified, events))
        })
    }
}
