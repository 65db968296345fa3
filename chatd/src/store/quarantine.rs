//! Key changes (docs/SECURITY.md, "Key changes"): envelopes from a contact
//! whose signature does not verify with the pinned key wait here, bounded in
//! count, bytes and days, until the user accepts the key the relay's
//! directory has now (they are opened then, in order) or refuses it (they
//! are deleted). Nothing here is trusted: these envelopes are stored as
//! received, and no private-key operation touches them until the user
//! accepts a key they verify with. What is lost is counted per contact.

use ipc_schema::methods::{
    Contact, ContactChange, ContactChangedEvent, Direction, Event, EventEnvelope,
    MessageReceivedEvent, MessageState, MessageView,
};
use rusqlite::{OptionalExtension, Transaction, params};

use super::contacts::contact;
use super::events::push_event;
use super::{Committed, Store, StoreError, StoreResult, new_message_id, now_ms};
use crate::crypto::{Card, Fingerprint};

/// Envelopes that waited, oldest first: (quarantine seq, envelope text).
pub type Waiting = Vec<(i64, String)>;

/// How much the quarantine keeps (chatd's `[quarantine]` settings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuarantineLimits {
    /// Envelopes kept per contact; the oldest beyond go.
    pub per_contact: usize,
    /// Bytes kept in all; the oldest beyond go.
    pub max_bytes: u64,
    /// How long one is kept, ms.
    pub max_age_ms: u64,
}

impl Default for QuarantineLimits {
    fn default() -> Self {
        QuarantineLimits {
            per_contact: 1000,
            max_bytes: 64 * 1024 * 1024,
            max_age_ms: 14 * 24 * 3600 * 1000,
        }
    }
}

/// Why an envelope of a contact was lost (`contact_drops.reason`).
pub mod lost {
    /// The quarantine was full (per contact, or in bytes).
    pub const OVERFLOW: &str = "quarantine_full";
    /// It waited longer than the quarantine keeps.
    pub const EXPIRED: &str = "quarantine_expired";
    /// The user refused the key.
    pub const REFUSED: &str = "key_refused";
    /// The directory still has the pinned key: it was forged or damaged.
    pub const FORGED: &str = "forged";
    /// It still did not open once the new key was accepted.
    pub const UNOPENED: &str = "unopened";
}

pub(super) fn count_lost(
    tx: &Transaction<'_>,
    user: &str,
    reason: &str,
    n: u64,
) -> rusqlite::Result<()> {
    if n == 0 {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO contact_drops (user, reason, count) VALUES (?1, ?2, ?3)
         ON CONFLICT (user, reason) DO UPDATE SET count = count + ?3",
        params![user, reason, n as i64],
    )?;
    Ok(())
}

/// Keeps an envelope of `sender` that failed its signature check, then
/// trims the quarantine to `limits` (the oldest go, counted).
fn keep(
    tx: &Transaction<'_>,
    limits: &QuarantineLimits,
    sender: &str,
    id: &str,
    envelope: &str,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR IGNORE INTO quarantine (sender, id, envelope, bytes, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![sender, id, envelope, envelope.len() as i64, now_ms() as i64],
    )?;
    let over = tx.execute(
        "DELETE FROM quarantine WHERE sender = ?1 AND seq NOT IN
           (SELECT seq FROM quarantine WHERE sender = ?1 ORDER BY seq DESC LIMIT ?2)",
        params![sender, limits.per_contact as i64],
    )?;
    count_lost(tx, sender, lost::OVERFLOW, over as u64)?;
    // Bytes in all: the contact holding the most gives up its oldest, so
    // one contact's flood pushes out its own mail, never another's.
    let total: i64 = tx.query_row("SELECT coalesce(sum(bytes), 0) FROM quarantine", [], |r| {
        r.get(0)
    })?;
    let mut excess = total - limits.max_bytes as i64;
    while excess > 0 {
        let Some((seq, who, bytes)) = tx
            .query_row(
                "SELECT seq, sender, bytes FROM quarantine WHERE sender =
                   (SELECT sender FROM quarantine GROUP BY sender
                    ORDER BY sum(bytes) DESC, sender LIMIT 1)
                 ORDER BY seq LIMIT 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                },
            )
            .optional()?
        else {
            break;
        };
        tx.execute("DELETE FROM quarantine WHERE seq = ?1", [seq])?;
        count_lost(tx, &who, lost::OVERFLOW, 1)?;
        excess -= bytes;
    }
    Ok(())
}

/// What a look at a contact's card in the directory found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySeen {
    /// The directory has the pinned key: what waited opens with it, or was
    /// forged or damaged (the caller tries them again and deletes the rest,
    /// counted).
    Same,
    /// Another key, already known as pending.
    AlreadyPending,
    /// Another key, new: the user is told.
    Changed {
        /// The pinned fingerprint.
        old: String,
        /// The directory's.
        new: String,
    },
}

/// A line in a conversation, from chatd, already read ("bob's key changed").
pub(super) fn notice(
    tx: &Transaction<'_>,
    me: &str,
    peer: &str,
    line: &str,
    events: &mut Vec<EventEnvelope>,
) -> rusqlite::Result<()> {
    system_message(tx, me, peer, peer, line, now_ms(), None, events)
}

/// A line chatd writes in conversation `peer` as from `by` (a group's
/// history, a key change), already read, with its event.
#[allow(clippy::too_many_arguments)]
pub(in crate::store) fn system_message(
    tx: &Transaction<'_>,
    me: &str,
    peer: &str,
    by: &str,
    line: &str,
    now: u64,
    group: Option<&str>,
    events: &mut Vec<EventEnvelope>,
) -> rusqlite::Result<()> {
    let id = new_message_id();
    tx.execute(
        "INSERT INTO messages (id, peer, direction, sender, recipient, ts, received_at, kind, body, state)
         VALUES (?1, ?2, 'in', ?3, ?4, ?5, ?5, 'system', ?6, 'read')",
        params![id, peer, by, me, now as i64, line],
    )?;
    let view = MessageView {
        id,
        from: by.to_owned(),
        to: me.to_owned(),
        ts: now,
        direction: Direction::In,
        kind: "system".into(),
        body: Some(line.to_owned()),
        reply_to: None,
        state: MessageState::Read,
        failure: None,
        seq: tx.last_insert_rowid() as u64,
        truncated: false,
        group: group.map(str::to_owned),
        deliveries: Vec::new(),
        edited: false,
        deleted: false,
        reactions: Vec::new(),
        file: None,
    };
    push_event(
        tx,
        events,
        Event::MessageReceived(MessageReceivedEvent { message: view }),
    )
}

pub(super) fn key_event(
    tx: &Transaction<'_>,
    events: &mut Vec<EventEnvelope>,
    change: ContactChange,
    contact: Contact,
    old: Option<String>,
    new: Option<String>,
) -> rusqlite::Result<()> {
    push_event(
        tx,
        events,
        Event::ContactChanged(ContactChangedEvent {
            change,
            contact,
            old_fingerprint: old,
            new_fingerprint: new,
        }),
    )
}

fn pinned_fingerprint(tx: &Transaction<'_>, user: &str) -> StoreResult<String> {
    tx.query_row(
        "SELECT fingerprint FROM contacts WHERE user = ?1",
        [user],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| StoreError::UnknownContact(user.to_owned()))
}

impl Store {
    /// Keeps envelopes of contacts that failed their signature check
    /// (sender, id, envelope text), in one transaction, within `limits`.
    pub fn hold(
        &self,
        limits: &QuarantineLimits,
        held: &[(String, String, String)],
    ) -> StoreResult<()> {
        if held.is_empty() {
            return Ok(());
        }
        self.with(|c| {
            let tx = c.transaction()?;
            for (sender, id, envelope) in held {
                keep(&tx, limits, sender, id, envelope)?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// What waits in quarantine from `user`, oldest first.
    pub fn quarantined(&self, user: &str) -> StoreResult<Waiting> {
        self.with(|c| {
            Ok(
                c.prepare("SELECT seq, envelope FROM quarantine WHERE sender = ?1 ORDER BY seq")?
                    .query_map([user], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?,
            )
        })
    }

    /// Contacts with envelopes in quarantine.
    pub fn quarantined_senders(&self) -> StoreResult<Vec<String>> {
        self.with(|c| {
            Ok(
                c.prepare("SELECT DISTINCT sender FROM quarantine ORDER BY sender")?
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<_, _>>()?,
            )
        })
    }

    /// Records what the directory has for `user` after their envelopes
    /// failed: the pinned key (what waited is deleted as forged), or another
    /// (kept as pending, never pinned; the user is told once per key).
    pub fn key_seen(&self, me: &str, user: &str, card: &Card) -> StoreResult<Committed<KeySeen>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let pinned = pinned_fingerprint(&tx, user)?;
            let seen = card.fingerprint();
            let mut events = Vec::new();
            let outcome = if seen.to_hex() == pinned {
                // Held against a key pinned before (a rotation may have
                // moved the contact since): the caller tries them again, and
                // what still does not open was forged.
                KeySeen::Same
            } else {
                let pending: Option<String> = tx.query_row(
                    "SELECT pending_fingerprint FROM contacts WHERE user = ?1",
                    [user],
                    |r| r.get(0),
                )?;
                if pending.as_deref() == Some(seen.to_hex().as_str()) {
                    KeySeen::AlreadyPending
                } else {
                    tx.execute(
                        "UPDATE contacts SET pending_card = ?2, pending_fingerprint = ?3 WHERE user = ?1",
                        params![user, card.to_json(), seen.to_hex()],
                    )?;
                    let old = Fingerprint::parse(&pinned).map_or(pinned.clone(), |f| f.grouped());
                    let new = seen.grouped();
                    notice(
                        &tx,
                        me,
                        user,
                        &format!(
                            "{user}'s key changed: the relay now has fingerprint {new} (was {old}). \
                             Their messages wait until you compare it with {user} and accept it \
                             (chat-ctl contact accept-key {user} --fingerprint …), or refuse it."
                        ),
                        &mut events,
                    )?;
                    let now = contact(&tx, user)?.expect("pinned");
                    key_event(
                        &tx,
                        &mut events,
                        ContactChange::KeyChanged,
                        now,
                        Some(old.clone()),
                        Some(new.clone()),
                    )?;
                    KeySeen::Changed { old, new }
                }
            };
            tx.commit()?;
            Ok(Committed::new(outcome, events))
        })
    }

    /// The key the directory had for `user` when their envelopes failed,
    /// not accepted.
    pub fn pending_card(&self, user: &str) -> StoreResult<Option<Card>> {
        self.with(|c| {
            let text: Option<String> = c
                .query_row(
                    "SELECT pending_card FROM contacts WHERE user = ?1",
                    [user],
                    |r| r.get(0),
                )
                .optional()?
                .flatten();
            Ok(text.and_then(|t| Card::from_json(t.as_bytes()).ok()))
        })
    }

    /// Pins `card` (the user compared its fingerprint) in place of
    /// `user`'s key, not verified, and returns what waited in quarantine,
    /// oldest first, to be opened with it ([`Store::release_quarantine`]
    /// after).
    pub fn accept_key(
        &self,
        me: &str,
        user: &str,
        card: &Card,
    ) -> StoreResult<Committed<(Contact, Waiting)>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let pinned = pinned_fingerprint(&tx, user)?;
            let new = card.fingerprint();
            tx.execute(
                "UPDATE contacts SET card = ?2, fingerprint = ?3, verified = 0, frozen = 0,
                        pending_card = NULL, pending_fingerprint = NULL,
                        previous_card = NULL, previous_until = NULL WHERE user = ?1",
                params![user, card.to_json(), new.to_hex()],
            )?;
            // The user chose: the key a rotation came from no longer
            // verifies anything (after two competing rotations someone else
            // holds it), and a rotation from it to another card no longer
            // competes (seen again, it is from a key that is not pinned).
            tx.execute(
                "DELETE FROM transitions WHERE user = ?1 AND fingerprint != ?2",
                params![user, new.to_hex()],
            )?;
            let waiting: Vec<(i64, String)> = tx
                .prepare("SELECT seq, envelope FROM quarantine WHERE sender = ?1 ORDER BY seq")?
                .query_map([user], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            let mut events = Vec::new();
            let old = Fingerprint::parse(&pinned).map_or(pinned.clone(), |f| f.grouped());
            notice(
                &tx,
                me,
                user,
                &format!(
                    "you accepted {user}'s new key {} (not verified yet)",
                    new.grouped()
                ),
                &mut events,
            )?;
            let now = contact(&tx, user)?.expect("pinned");
            key_event(
                &tx,
                &mut events,
                ContactChange::KeyAccepted,
                now.clone(),
                Some(old),
                Some(new.grouped()),
            )?;
            tx.commit()?;
            Ok(Committed::new((now, waiting), events))
        })
    }

    /// Deletes quarantined envelopes of `user` up to `last_seq` (those the
    /// pinned key was tried on again), counting `unopened` of them as lost:
    /// `forged` when the key they were tried with is the directory's too.
    pub fn release_quarantine(
        &self,
        user: &str,
        last_seq: i64,
        unopened: u64,
        forged: bool,
    ) -> StoreResult<()> {
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute(
                "DELETE FROM quarantine WHERE sender = ?1 AND seq <= ?2",
                params![user, last_seq],
            )?;
            let reason = if forged { lost::FORGED } else { lost::UNOPENED };
            count_lost(&tx, user, reason, unopened)?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Refuses `user`'s changed key: what waited is deleted (counted), and
    /// the pinned key stays.
    pub fn refuse_key(&self, me: &str, user: &str) -> StoreResult<Committed<(Contact, u64)>> {
        self.with(|c| {
            let tx = c.transaction()?;
            pinned_fingerprint(&tx, user)?;
            let frozen: bool =
                tx.query_row("SELECT frozen FROM contacts WHERE user = ?1", [user], |r| {
                    r.get(0)
                })?;
            if frozen {
                return Err(StoreError::Frozen(user.to_owned()));
            }
            let pending: Option<String> = tx.query_row(
                "SELECT pending_fingerprint FROM contacts WHERE user = ?1",
                [user],
                |r| r.get(0),
            )?;
            let deleted = tx.execute("DELETE FROM quarantine WHERE sender = ?1", [user])? as u64;
            count_lost(&tx, user, lost::REFUSED, deleted)?;
            tx.execute(
                "UPDATE contacts SET pending_card = NULL, pending_fingerprint = NULL WHERE user = ?1",
                [user],
            )?;
            let mut events = Vec::new();
            notice(
                &tx,
                me,
                user,
                &format!("you refused {user}'s new key; {deleted} waiting messages were deleted"),
                &mut events,
            )?;
            let now = contact(&tx, user)?.expect("pinned");
            let new = pending
                .as_deref()
                .and_then(Fingerprint::parse)
                .map(|f| f.grouped());
            key_event(&tx, &mut events, ContactChange::KeyRefused, now.clone(), None, new)?;
            tx.commit()?;
            Ok(Committed::new((now, deleted), events))
        })
    }

    /// Contacts frozen between two rotations (docs/PROTOCOL.md §13.4):
    /// what they send waits, and nothing is sent to them.
    pub fn frozen_contacts(&self) -> StoreResult<std::collections::HashSet<String>> {
        self.with(|c| {
            Ok(
                c.prepare_cached("SELECT user FROM contacts WHERE frozen = 1")?
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<_, _>>()?,
            )
        })
    }

    /// Deletes quarantined envelopes older than `limits` keeps (counted).
    pub fn expire_quarantine(&self, limits: &QuarantineLimits) -> StoreResult<u64> {
        self.with(|c| {
            let tx = c.transaction()?;
            let before = now_ms().saturating_sub(limits.max_age_ms) as i64;
            let old: Vec<(String, i64)> = tx
                .prepare(
                    "SELECT sender, count(*) FROM quarantine WHERE received_at < ?1 GROUP BY sender",
                )?
                .query_map([before], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            let mut n = 0;
            for (user, count) in old {
                count_lost(&tx, &user, lost::EXPIRED, count as u64)?;
                n += count as u64;
            }
            tx.execute("DELETE FROM quarantine WHERE received_at < ?1", [before])?;
            tx.commit()?;
            Ok(n)
        })
    }
}

#[cfg(test)]
mod tests;
