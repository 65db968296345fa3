//! chatd's local store: SQLite in WAL mode with `synchronous=FULL`, versioned
//! migrations. Every change that frontends must hear about is written together
//! with its event (same transaction), so `subscribe {after}` can replay
//! exactly what happened.

mod schema;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use ipc_schema::jsonrpc::Notification;
use ipc_schema::methods::{
    ConnectionChangedEvent, Contact, ContactChange, ContactChangedEvent, ConversationView,
    Direction, DroppedCounters, Event, EventEnvelope, MessageReceivedEvent, MessageState,
    MessageStateEvent, MessageView,
};
use ipc_schema::methods::{LIST_BODY_MAX, LIST_PAGE_BYTES};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::crypto::{Card, DropClass};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("local store: {0}")]
    Sql(#[from] rusqlite::Error),
    /// A contact with this name is pinned to a different card.
    #[error(
        "{0} is already a contact with a different key; remove it first if the change is expected"
    )]
    CardChanged(String),
    /// No such contact.
    #[error("{0} is not a contact")]
    UnknownContact(String),
    /// The fingerprint given does not match the pinned card.
    #[error("fingerprint does not match {0}'s pinned card")]
    FingerprintMismatch(String),
}

/// Result of store calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// The registered account.
#[derive(Debug, Clone)]
pub struct AccountRow {
    /// Username.
    pub user: String,
    /// Relay base URL.
    pub relay_url: String,
    /// RSA modulus size of the identity.
    pub key_bits: u32,
}

/// A message opened from an envelope, ready to commit.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// Envelope id.
    pub id: String,
    /// Sender.
    pub from: String,
    /// Sender's timestamp.
    pub ts: u64,
    /// What it carries.
    pub content: IncomingContent,
}

/// The payload of an [`Incoming`], as the store needs it.
#[derive(Debug, Clone)]
pub enum IncomingContent {
    /// A text (or an unsupported type, kept as `kind` + `raw`).
    Message {
        /// `text` or the unknown type's name.
        kind: String,
        /// The text for `text`.
        body: Option<String>,
        /// Reply target.
        reply_to: Option<String>,
        /// The payload JSON for unsupported types.
        raw: Option<String>,
    },
    /// A receipt for our messages.
    Receipt {
        /// Our message ids.
        ids: Vec<String>,
        /// Delivered or read.
        read: bool,
    },
}

/// A queued envelope.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    /// Envelope id.
    pub id: String,
    /// Recipient.
    pub peer: String,
    /// Receipts have no message row.
    pub is_receipt: bool,
    /// Envelope JSON as it will be PUT.
    pub envelope: Option<String>,
    /// Attempts so far.
    pub attempts: u32,
}

/// A queued outgoing text, as sealing it needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsealedText {
    /// Its timestamp (ms), signed into the envelope.
    pub ts: u64,
    /// The text.
    pub body: String,
    /// Reply target.
    pub reply_to: Option<String>,
}

/// What [`Store::commit_batch`] did.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    /// Events to broadcast.
    pub events: Vec<EventEnvelope>,
    /// New texts (for notifications): (sender, id, body).
    pub new_texts: Vec<(String, String, Option<String>)>,
}

/// The local database.
pub struct Store {
    conn: Mutex<Connection>,
}

fn state_str(s: MessageState) -> &'static str {
    match s {
        MessageState::Queued => "queued",
        MessageState::Sent => "sent",
        MessageState::Delivered => "delivered",
        MessageState::Read => "read",
        MessageState::Failed => "failed",
    }
}

fn parse_state(s: &str) -> MessageState {
    match s {
        "sent" => MessageState::Sent,
        "delivered" => MessageState::Delivered,
        "read" => MessageState::Read,
        "failed" => MessageState::Failed,
        _ => MessageState::Queued,
    }
}

/// Order of outgoing states: a late `delivered` never overwrites `read`.
fn rank(s: MessageState) -> u8 {
    match s {
        MessageState::Queued => 0,
        MessageState::Sent => 1,
        MessageState::Delivered => 2,
        MessageState::Read => 3,
        MessageState::Failed => 4,
    }
}

const MESSAGE_COLUMNS: &str =
    "id, sender, recipient, ts, direction, kind, body, reply_to, state, failure, seq";

fn message_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MessageView> {
    Ok(MessageView {
        id: r.get(0)?,
        from: r.get(1)?,
        to: r.get(2)?,
        ts: r.get::<_, i64>(3)? as u64,
        direction: if r.get::<_, String>(4)? == "in" {
            Direction::In
        } else {
            Direction::Out
        },
        kind: r.get(5)?,
        body: r.get(6)?,
        reply_to: r.get(7)?,
        state: parse_state(&r.get::<_, String>(8)?),
        failure: r.get(9)?,
        seq: r.get::<_, i64>(10)? as u64,
        truncated: false,
    })
}

/// The event's own fields as JSON (seq and ts are added when it is sent).
fn event_fields(event: &Event) -> String {
    match event {
        Event::MessageReceived(e) => serde_json::to_string(e),
        Event::MessageState(e) => serde_json::to_string(e),
        Event::ContactChanged(e) => serde_json::to_string(e),
        Event::ConnectionChanged(e) => serde_json::to_string(e),
    }
    .expect("events serialize")
}

/// Rebuilds a stored event.
fn decode_event(seq: u64, ts: u64, name: String, fields: &str) -> Option<EventEnvelope> {
    let mut params: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(fields).ok()?;
    params.insert("seq".into(), seq.into());
    params.insert("ts".into(), ts.into());
    EventEnvelope::from_notification(Notification::new(name, params)).ok()
}

fn push_event(
    tx: &Transaction<'_>,
    events: &mut Vec<EventEnvelope>,
    event: Event,
) -> rusqlite::Result<()> {
    let ts = now_ms();
    let params = event_fields(&event);
    tx.execute(
        "INSERT INTO events (ts, name, params) VALUES (?1, ?2, ?3)",
        params![ts as i64, event.name(), params],
    )?;
    events.push(EventEnvelope {
        seq: tx.last_insert_rowid() as u64,
        ts,
        event,
    });
    Ok(())
}

/// Fingerprints are stored as 64 hex digits and shown in 16 groups of 4,
/// like everywhere else.
fn grouped(hex: String) -> String {
    crate::crypto::Fingerprint::parse(&hex).map_or(hex, |f| f.grouped())
}

fn contact_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Contact> {
    Ok(Contact {
        user: r.get(0)?,
        fingerprint: grouped(r.get(1)?),
        verified: r.get(2)?,
        added_at: r.get::<_, i64>(3)? as u64,
    })
}

impl Store {
    /// Opens (creating and migrating) the database at `path`.
    pub fn open(path: &Path) -> StoreResult<Store> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Sql(rusqlite::Error::InvalidParameterName(
                format!("could not enable WAL (got {mode})"),
            )));
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        schema::migrate(&mut conn)?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = self.conn.lock().expect("store lock");
        f(&mut conn)
    }

    /// The registered account, if any.
    pub fn account(&self) -> StoreResult<Option<AccountRow>> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT user, relay_url, key_bits FROM account WHERE id = 1",
                [],
                |r| {
                    Ok(AccountRow {
                        user: r.get(0)?,
                        relay_url: r.get(1)?,
                        key_bits: r.get(2)?,
                    })
                },
            )
            .optional()?)
        })
    }

    /// Records the account after registration.
    pub fn set_account(&self, account: &AccountRow) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO account (id, user, relay_url, key_bits, created_at) VALUES (1, ?1, ?2, ?3, ?4)",
                params![account.user, account.relay_url, account.key_bits, now_ms() as i64],
            )?;
            Ok(())
        })
    }

    /// Forgets the account and everything tied to it (after account deletion).
    pub fn clear_account(&self) -> StoreResult<()> {
        self.with(|c| {
            c.execute_batch(
                "BEGIN IMMEDIATE;
                 DELETE FROM account; DELETE FROM outbox; DELETE FROM receipts_due;
                 COMMIT;",
            )?;
            Ok(())
        })
    }

    /// Pins `card` as a contact. Adding the same card again is a no-op; a
    /// different card for an existing name is refused (a key change must be
    /// a deliberate remove + add).
    pub fn add_contact(&self, card: &Card) -> StoreResult<(Contact, Vec<EventEnvelope>)> {
        self.with(|c| {
            let tx = c.transaction()?;
            let fp = card.fingerprint().to_hex();
            let existing: Option<String> = tx
                .query_row("SELECT fingerprint FROM contacts WHERE user = ?1", [card.user()], |r| r.get(0))
                .optional()?;
            let mut events = Vec::new();
            match existing {
                Some(old) if old != fp => return Err(StoreError::CardChanged(card.user().to_owned())),
                Some(_) => {}
                None => {
                    tx.execute(
                        "INSERT INTO contacts (user, card, fingerprint, verified, added_at) VALUES (?1, ?2, ?3, 0, ?4)",
                        params![card.user(), card.to_json(), fp, now_ms() as i64],
                    )?;
                }
            }
            let contact = tx.query_row(
                "SELECT user, fingerprint, verified, added_at FROM contacts WHERE user = ?1",
                [card.user()],
                contact_from_row,
            )?;
            if existing.is_none() {
                push_event(
                    &tx,
                    &mut events,
                    Event::ContactChanged(ContactChangedEvent {
                        change: ContactChange::Added,
                        contact: contact.clone(),
                    }),
                )?;
            }
            tx.commit()?;
            Ok((contact, events))
        })
    }

    /// All contacts, by name.
    pub fn contacts(&self) -> StoreResult<Vec<Contact>> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT user, fingerprint, verified, added_at FROM contacts ORDER BY user",
            )?;
            let rows = stmt
                .query_map([], contact_from_row)?
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

    /// The pinned cards, for opening envelopes.
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

    /// One pinned card.
    pub fn contact_card(&self, user: &str) -> StoreResult<Option<Card>> {
        self.with(|c| {
            let card: Option<String> = c
                .query_row("SELECT card FROM contacts WHERE user = ?1", [user], |r| {
                    r.get(0)
                })
                .optional()?;
            Ok(card.and_then(|c| Card::from_json(c.as_bytes()).ok()))
        })
    }

    /// Removes a contact (history stays).
    pub fn remove_contact(&self, user: &str) -> StoreResult<Vec<EventEnvelope>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let contact = tx
                .query_row(
                    "SELECT user, fingerprint, verified, added_at FROM contacts WHERE user = ?1",
                    [user],
                    contact_from_row,
                )
                .optional()?
                .ok_or_else(|| StoreError::UnknownContact(user.to_owned()))?;
            tx.execute("DELETE FROM contacts WHERE user = ?1", [user])?;
            let mut events = Vec::new();
            push_event(
                &tx,
                &mut events,
                Event::ContactChanged(ContactChangedEvent {
                    change: ContactChange::Removed,
                    contact,
                }),
            )?;
            tx.commit()?;
            Ok(events)
        })
    }

    /// Marks a contact verified if `fingerprint` (64 hex) matches its card.
    pub fn verify_contact(
        &self,
        user: &str,
        fingerprint: &str,
    ) -> StoreResult<(Contact, Vec<EventEnvelope>)> {
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
            if pinned != fingerprint {
                return Err(StoreError::FingerprintMismatch(user.to_owned()));
            }
            tx.execute("UPDATE contacts SET verified = 1 WHERE user = ?1", [user])?;
            let contact = tx.query_row(
                "SELECT user, fingerprint, verified, added_at FROM contacts WHERE user = ?1",
                [user],
                contact_from_row,
            )?;
            let mut events = Vec::new();
            push_event(
                &tx,
                &mut events,
                Event::ContactChanged(ContactChangedEvent {
                    change: ContactChange::Verified,
                    contact: contact.clone(),
                }),
            )?;
            tx.commit()?;
            Ok((contact, events))
        })
    }

    /// Commits an outgoing message (state `queued`) and its sealed envelope to
    /// the outbox, in one transaction.
    ///
    /// `envelope_json` may be `None`: the outbox seals it before sending,
    /// from the stored message ([`Store::unsealed_message`]).
    pub fn queue_message(
        &self,
        view: &MessageView,
        envelope_json: Option<&str>,
    ) -> StoreResult<Vec<EventEnvelope>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let now = now_ms() as i64;
            tx.execute(
                "INSERT INTO messages (id, peer, direction, sender, recipient, ts, received_at, kind, body, reply_to, state)
                 VALUES (?1, ?2, 'out', ?3, ?2, ?4, ?5, 'text', ?6, ?7, 'queued')",
                params![view.id, view.to, view.from, view.ts as i64, now, view.body, view.reply_to],
            )?;
            let seq = tx.last_insert_rowid() as u64;
            tx.execute(
                "INSERT INTO outbox (id, peer, is_receipt, envelope, next_attempt_at, created_at) VALUES (?1, ?2, 0, ?3, ?4, ?4)",
                params![view.id, view.to, envelope_json, now],
            )?;
            let mut events = Vec::new();
            push_event(
                &tx,
                &mut events,
                Event::MessageReceived(MessageReceivedEvent {
                    message: MessageView { seq, ..view.clone() },
                }),
            )?;
            tx.commit()?;
            Ok(events)
        })
    }

    /// Queues a receipt envelope (no message row).
    pub fn queue_receipt(&self, id: &str, peer: &str, envelope_json: &str) -> StoreResult<()> {
        self.with(|c| {
            let now = now_ms() as i64;
            c.execute(
                "INSERT OR IGNORE INTO outbox (id, peer, is_receipt, envelope, next_attempt_at, created_at) VALUES (?1, ?2, 1, ?3, ?4, ?4)",
                params![id, peer, envelope_json, now],
            )?;
            Ok(())
        })
    }

    /// Outbox rows due now, in the order they were queued. Strictly first in,
    /// first out: a row that is not due yet holds back everything after it,
    /// so a conversation never arrives shuffled.
    pub fn due_outbox(&self, limit: usize) -> StoreResult<Vec<OutboxRow>> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT id, peer, is_receipt, envelope, attempts, next_attempt_at FROM outbox
                 ORDER BY seq LIMIT ?1",
            )?;
            let now = now_ms() as i64;
            let rows: Vec<(OutboxRow, i64)> = stmt
                .query_map(params![limit as i64], |r| {
                    Ok((
                        OutboxRow {
                            id: r.get(0)?,
                            peer: r.get(1)?,
                            is_receipt: r.get(2)?,
                            envelope: r.get(3)?,
                            attempts: r.get(4)?,
                        },
                        r.get(5)?,
                    ))
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows
                .into_iter()
                .take_while(|(_, due)| *due <= now)
                .map(|(row, _)| row)
                .collect())
        })
    }

    /// When the head of the outbox becomes due, if there is one.
    pub fn next_outbox_due(&self) -> StoreResult<Option<u64>> {
        self.with(|c| {
            let at: Option<i64> = c
                .query_row(
                    "SELECT next_attempt_at FROM outbox ORDER BY seq LIMIT 1",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(at.map(|t| t as u64))
        })
    }

    /// Number of queued envelopes.
    pub fn outbox_len(&self) -> StoreResult<u64> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM outbox WHERE is_receipt = 0",
                [],
                |r| r.get::<_, i64>(0),
            )? as u64)
        })
    }

    /// What sealing a queued outgoing message needs.
    pub fn unsealed_message(&self, id: &str) -> StoreResult<Option<UnsealedText>> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT ts, body, reply_to FROM messages WHERE direction = 'out' AND id = ?1",
                [id],
                |r| {
                    Ok(UnsealedText {
                        ts: r.get::<_, i64>(0)? as u64,
                        body: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                        reply_to: r.get(2)?,
                    })
                },
            )
            .optional()?)
        })
    }

    /// Stores sealed envelopes `(id, json)` of outbox rows, in one commit.
    /// A row keeps the first envelope it gets: once sent, its bytes must
    /// never change (the relay refuses another envelope under the same id).
    pub fn outbox_sealed(&self, sealed: &[(String, String)]) -> StoreResult<()> {
        self.with(|c| {
            let tx = c.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "UPDATE outbox SET envelope = ?2 WHERE id = ?1 AND envelope IS NULL",
                )?;
                for (id, json) in sealed {
                    stmt.execute(params![id, json])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// The relay accepted an outbox row: drop it, and move its message to `sent`.
    pub fn outbox_sent(&self, row: &OutboxRow) -> StoreResult<Vec<EventEnvelope>> {
        self.finish_outbox(row, MessageState::Sent, None)
    }

    /// The relay refused an outbox row for good.
    pub fn outbox_failed(&self, row: &OutboxRow, reason: &str) -> StoreResult<Vec<EventEnvelope>> {
        self.finish_outbox(row, MessageState::Failed, Some(reason))
    }

    fn finish_outbox(
        &self,
        row: &OutboxRow,
        state: MessageState,
        failure: Option<&str>,
    ) -> StoreResult<Vec<EventEnvelope>> {
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute("DELETE FROM outbox WHERE id = ?1", [&row.id])?;
            let mut events = Vec::new();
            if !row.is_receipt {
                // Only move forward: a receipt may already have made it `delivered`.
                let current: Option<String> = tx
                    .query_row(
                        "SELECT state FROM messages WHERE direction = 'out' AND id = ?1",
                        [&row.id],
                        |r| r.get(0),
                    )
                    .optional()?;
                if let Some(current) = current
                    && (state == MessageState::Failed || rank(parse_state(&current)) < rank(state))
                {
                    tx.execute(
                        "UPDATE messages SET state = ?2, failure = ?3 WHERE direction = 'out' AND id = ?1",
                        params![row.id, state_str(state), failure],
                    )?;
                    push_event(
                        &tx,
                        &mut events,
                        Event::MessageState(MessageStateEvent {
                            id: row.id.clone(),
                            peer: row.peer.clone(),
                            state,
                            failure: failure.map(str::to_owned),
                        }),
                    )?;
                }
            }
            tx.commit()?;
            Ok(events)
        })
    }

    /// The relay is away: count an attempt on `id` and hold the whole outbox
    /// until `next_at`, so that everything still goes out in the order it
    /// was sent (a per-row backoff would shuffle it).
    pub fn outbox_retry(&self, id: &str, attempts: u32, next_at: u64) -> StoreResult<()> {
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE outbox SET attempts = ?2 WHERE id = ?1",
                params![id, attempts],
            )?;
            tx.execute(
                "UPDATE outbox SET next_attempt_at = max(next_attempt_at, ?1)",
                params![next_at as i64],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    /// True if (`from`, `id`) was accepted before.
    pub fn is_seen(&self, from: &str, id: &str) -> StoreResult<bool> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT EXISTS (SELECT 1 FROM seen WHERE sender = ?1 AND id = ?2)",
                [from, id],
                |r| r.get(0),
            )?)
        })
    }

    /// Commits one synced batch in one transaction: opened messages (marked
    /// seen), receipts applied to our messages, and drop counters.
    ///
    /// Every new text owes its sender a delivered receipt, recorded in
    /// `receipts_due` in the same transaction (sealed later, off the sync
    /// loop). So do `replayed` texts, envelopes already committed that came
    /// back (a crash or a failed ack after their commit): receipts are
    /// idempotent, and the sender may never have had theirs.
    pub fn commit_batch(
        &self,
        me: &str,
        incoming: &[Incoming],
        replayed: &[(String, String)],
        drops: &[DropClass],
        malformed: u64,
    ) -> StoreResult<BatchOutcome> {
        self.with(|c| {
            let tx = c.transaction()?;
            let mut out = BatchOutcome::default();
            let now = now_ms() as i64;
            let owe_again = |tx: &Transaction<'_>, from: &str, id: &str| {
                tx.execute(
                    "INSERT OR IGNORE INTO receipts_due (sender, id)
                     SELECT sender, id FROM messages
                     WHERE direction = 'in' AND kind = 'text' AND sender = ?1 AND id = ?2",
                    params![from, id],
                )
            };
            for (from, id) in replayed {
                owe_again(&tx, from, id)?;
            }
            for msg in incoming {
                let fresh = tx.execute(
                    "INSERT OR IGNORE INTO seen (sender, id) VALUES (?1, ?2)",
                    params![msg.from, msg.id],
                )? == 1;
                if !fresh {
                    bump(&tx, "replay", 1)?;
                    owe_again(&tx, &msg.from, &msg.id)?;
                    continue;
                }
                match &msg.content {
                    IncomingContent::Message { kind, body, reply_to, raw } => {
                        tx.execute(
                            "INSERT OR IGNORE INTO messages (id, peer, direction, sender, recipient, ts, received_at, kind, body, reply_to, raw, state)
                             VALUES (?1, ?2, 'in', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'delivered')",
                            params![msg.id, msg.from, me, msg.ts as i64, now, kind, body, reply_to, raw],
                        )?;
                        let view = MessageView {
                            id: msg.id.clone(),
                            from: msg.from.clone(),
                            to: me.to_owned(),
                            ts: msg.ts,
                            direction: Direction::In,
                            kind: kind.clone(),
                            body: body.clone(),
                            reply_to: reply_to.clone(),
                            state: MessageState::Delivered,
                            failure: None,
                            seq: tx.last_insert_rowid() as u64,
                            truncated: false,
                        };
                        push_event(&tx, &mut out.events, Event::MessageReceived(MessageReceivedEvent { message: view }))?;
                        if kind == "text" {
                            tx.execute(
                                "INSERT OR IGNORE INTO receipts_due (sender, id) VALUES (?1, ?2)",
                                params![msg.from, msg.id],
                            )?;
                            out.new_texts.push((msg.from.clone(), msg.id.clone(), body.clone()));
                        }
                    }
                    IncomingContent::Receipt { ids, read } => {
                        let state = if *read { MessageState::Read } else { MessageState::Delivered };
                        for id in ids {
                            let current: Option<String> = tx
                                .query_row(
                                    "SELECT state FROM messages WHERE direction = 'out' AND recipient = ?1 AND id = ?2",
                                    params![msg.from, id],
                                    |r| r.get(0),
                                )
                                .optional()?;
                            let Some(current) = current else { continue };
                            let current = parse_state(&current);
                            if current == MessageState::Failed || rank(current) >= rank(state) {
                                continue;
                            }
                            tx.execute(
                                "UPDATE messages SET state = ?3 WHERE direction = 'out' AND recipient = ?1 AND id = ?2",
                                params![msg.from, id, state_str(state)],
                            )?;
                            push_event(
                                &tx,
                                &mut out.events,
                                Event::MessageState(MessageStateEvent {
                                    id: id.clone(),
                                    peer: msg.from.clone(),
                                    state,
                                    failure: None,
                                }),
                            )?;
                        }
                    }
                }
            }
            for d in drops {
                let name = match d {
                    DropClass::UnknownSender => "unknown_sender",
                    DropClass::BadSignature => "bad_signature",
                    DropClass::Undecryptable => "undecryptable",
                    DropClass::Replay => "replay",
                };
                bump(&tx, name, 1)?;
            }
            if malformed > 0 {
                bump(&tx, "malformed", malformed)?;
            }
            tx.commit()?;
            Ok(out)
        })
    }

    /// Dropped-envelope counters.
    pub fn dropped(&self) -> StoreResult<DroppedCounters> {
        self.with(|c| {
            let mut stmt = c.prepare("SELECT name, value FROM counters")?;
            let mut d = DroppedCounters::default();
            for row in stmt.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })? {
                let (name, value) = row?;
                match name.as_str() {
                    "malformed" => d.malformed = value,
                    "unknown_sender" => d.unknown_sender = value,
                    "bad_signature" => d.bad_signature = value,
                    "undecryptable" => d.undecryptable = value,
                    "replay" => d.replay = value,
                    _ => {}
                }
            }
            Ok(d)
        })
    }

    /// A page of a conversation, oldest first, of the messages whose local
    /// sequence is below `before` (the newest when `None`); `has_more` says
    /// whether older ones exist. Bodies over [`LIST_BODY_MAX`] are cut and
    /// marked `truncated`, and a page stops before the message that would
    /// take its bodies past [`LIST_PAGE_BYTES`] (one message always fits).
    pub fn messages(
        &self,
        peer: &str,
        before: Option<u64>,
        limit: usize,
    ) -> StoreResult<(Vec<MessageView>, bool)> {
        self.with(|c| {
            let before = before.map_or(i64::MAX, |b| b.min(i64::MAX as u64) as i64);
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE peer = ?1 AND seq < ?2
                 ORDER BY seq DESC LIMIT ?3"
            ))?;
            let mut rows = stmt.query(params![peer, before, (limit + 1) as i64])?;
            let mut page = Vec::new();
            let mut bytes = 0usize;
            let mut has_more = false;
            while let Some(row) = rows.next()? {
                let mut m = message_from_row(row)?;
                if page.len() == limit {
                    has_more = true;
                    break;
                }
                if let Some(body) = &m.body
                    && body.len() > LIST_BODY_MAX
                {
                    m.body = Some(ipc_schema::text::cut_at_char(body, LIST_BODY_MAX).to_owned());
                    m.truncated = true;
                }
                let size = m.body.as_ref().map_or(0, String::len);
                if !page.is_empty() && bytes + size > LIST_PAGE_BYTES {
                    has_more = true;
                    break;
                }
                bytes += size;
                page.push(m);
            }
            page.reverse();
            Ok((page, has_more))
        })
    }

    /// One message of the conversation with `peer`, whole; the incoming one
    /// when an incoming and an outgoing message share the id and
    /// `direction` does not choose.
    pub fn message(
        &self,
        peer: &str,
        id: &str,
        direction: Option<Direction>,
    ) -> StoreResult<Option<MessageView>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE id = ?1 AND peer = ?2 AND (?3 IS NULL OR direction = ?3)
                 ORDER BY direction = 'in' DESC LIMIT 1"
            ))?;
            Ok(stmt
                .query_row(
                    params![id, peer, direction.map(Direction::as_str)],
                    message_from_row,
                )
                .optional()?)
        })
    }

    /// Conversations, most recent first.
    pub fn conversations(&self) -> StoreResult<Vec<ConversationView>> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT m.peer, m.body, m.ts,
                        (SELECT count(*) FROM messages u WHERE u.peer = m.peer AND u.direction = 'in' AND u.state != 'read'),
                        coalesce((SELECT verified FROM contacts WHERE user = m.peer), 0)
                 FROM messages m
                 WHERE m.seq = (SELECT max(seq) FROM messages WHERE peer = m.peer)
                 ORDER BY m.seq DESC",
            )?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(ConversationView {
                        peer: r.get(0)?,
                        last_message: r.get(1)?,
                        last_ts: Some(r.get::<_, i64>(2)? as u64),
                        unread: r.get::<_, i64>(3)? as u64,
                        verified: r.get(4)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
    }

    /// Unread incoming messages in all conversations.
    pub fn unread_total(&self) -> StoreResult<u64> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM messages WHERE direction = 'in' AND state != 'read'",
                [],
                |r| r.get::<_, i64>(0),
            )? as u64)
        })
    }

    /// Delivered receipts owed, up to `limit` ids, grouped by sender.
    pub fn receipts_due(&self, limit: usize) -> StoreResult<Vec<(String, Vec<String>)>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT sender, id FROM receipts_due ORDER BY sender, id LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit as i64], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            let mut out: Vec<(String, Vec<String>)> = Vec::new();
            for row in rows {
                let (sender, id) = row?;
                match out.last_mut() {
                    Some((last, ids)) if *last == sender => ids.push(id),
                    _ => out.push((sender, vec![id])),
                }
            }
            Ok(out)
        })
    }

    /// Queues the sealed receipt `envelope_json` (id `id`) to `peer` and, in
    /// the same transaction, settles the receipts it carries (`ids`).
    pub fn queue_due_receipt(
        &self,
        id: &str,
        peer: &str,
        envelope_json: &str,
        ids: &[String],
    ) -> StoreResult<()> {
        self.with(|c| {
            let tx = c.transaction()?;
            let now = now_ms() as i64;
            tx.execute(
                "INSERT OR IGNORE INTO outbox (id, peer, is_receipt, envelope, next_attempt_at, created_at) VALUES (?1, ?2, 1, ?3, ?4, ?4)",
                params![id, peer, envelope_json, now],
            )?;
            settle_receipts(&tx, peer, ids)?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Forgets receipts owed to `peer` that cannot be sent (no longer a
    /// contact).
    pub fn forget_due_receipts(&self, peer: &str, ids: &[String]) -> StoreResult<()> {
        self.with(|c| {
            let tx = c.transaction()?;
            settle_receipts(&tx, peer, ids)?;
            tx.commit()?;
            Ok(())
        })
    }

    /// True when any message with `peer` is stored.
    pub fn has_history(&self, peer: &str) -> StoreResult<bool> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT EXISTS (SELECT 1 FROM messages WHERE peer = ?1)",
                [peer],
                |r| r.get(0),
            )?)
        })
    }

    /// Marks a conversation read; returns the ids marked (for read receipts).
    pub fn mark_read(&self, peer: &str) -> StoreResult<(Vec<String>, Vec<EventEnvelope>)> {
        self.with(|c| {
            let tx = c.transaction()?;
            let ids: Vec<String> = {
                let mut stmt = tx.prepare(
                    "SELECT id FROM messages WHERE peer = ?1 AND direction = 'in' AND state != 'read' AND kind = 'text' ORDER BY seq",
                )?;
                stmt.query_map([peer], |r| r.get(0))?.collect::<Result<_, _>>()?
            };
            tx.execute(
                "UPDATE messages SET state = 'read' WHERE peer = ?1 AND direction = 'in' AND state != 'read'",
                [peer],
            )?;
            let mut events = Vec::new();
            for id in &ids {
                push_event(
                    &tx,
                    &mut events,
                    Event::MessageState(MessageStateEvent {
                        id: id.clone(),
                        peer: peer.to_owned(),
                        state: MessageState::Read,
                        failure: None,
                    }),
                )?;
            }
            tx.commit()?;
            Ok((ids, events))
        })
    }

    /// Records a connection change as an event.
    pub fn connection_event(
        &self,
        event: ConnectionChangedEvent,
    ) -> StoreResult<Vec<EventEnvelope>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let mut events = Vec::new();
            push_event(&tx, &mut events, Event::ConnectionChanged(event))?;
            tx.commit()?;
            Ok(events)
        })
    }

    /// Events after `after`, oldest first, at most `limit`.
    pub fn events_after(&self, after: u64, limit: usize) -> StoreResult<Vec<EventEnvelope>> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT seq, ts, name, params FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows: Vec<(i64, i64, String, String)> = stmt
                .query_map(params![after as i64, limit as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows
                .into_iter()
                .filter_map(|(seq, ts, name, fields)| {
                    decode_event(seq as u64, ts as u64, name, &fields)
                })
                .collect())
        })
    }

    /// The newest event's sequence number (0 when none).
    pub fn last_event_seq(&self) -> StoreResult<u64> {
        self.with(|c| {
            Ok(
                c.query_row("SELECT coalesce(max(seq), 0) FROM events", [], |r| {
                    r.get::<_, i64>(0)
                })? as u64,
            )
        })
    }
}

fn settle_receipts(tx: &Transaction<'_>, peer: &str, ids: &[String]) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached("DELETE FROM receipts_due WHERE sender = ?1 AND id = ?2")?;
    for id in ids {
        stmt.execute(params![peer, id])?;
    }
    Ok(())
}

fn bump(tx: &Transaction<'_>, name: &str, by: u64) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO counters (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = value + ?2",
        params![name, by as i64],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(from: &str, id: &str) -> Incoming {
        Incoming {
            id: id.to_owned(),
            from: from.to_owned(),
            ts: 1,
            content: IncomingContent::Message {
                kind: "text".into(),
                body: Some(format!("body of {id}")),
                reply_to: None,
                raw: None,
            },
        }
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_queued_message_is_sealed_once_and_keeps_its_first_envelope() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("chatd.db")).unwrap();
        let view = MessageView {
            id: "0123456789abcdef0123456789abcdef".into(),
            from: "me".into(),
            to: "bob".into(),
            ts: 42,
            direction: Direction::Out,
            kind: "text".into(),
            body: Some("hello".into()),
            reply_to: Some("ffffffffffffffffffffffffffffffff".into()),
            state: MessageState::Queued,
            failure: None,
            seq: 0,
            truncated: false,
        };
        store.queue_message(&view, None).unwrap();
        let row = &store.due_outbox(10).unwrap()[0];
        assert_eq!(row.envelope, None);
        assert_eq!(
            store.unsealed_message(&view.id).unwrap(),
            Some(UnsealedText {
                ts: 42,
                body: "hello".into(),
                reply_to: view.reply_to.clone(),
            })
        );
        store
            .outbox_sealed(&[(view.id.clone(), "first".into())])
            .unwrap();
        store
            .outbox_sealed(&[(view.id.clone(), "second".into())])
            .unwrap();
        assert_eq!(
            store.due_outbox(10).unwrap()[0].envelope.as_deref(),
            Some("first")
        );
        // A receipt always carries its envelope.
        let err = store.with(|c| {
            Ok(c.execute(
                "INSERT INTO outbox (id, peer, is_receipt, envelope, next_attempt_at, created_at) VALUES ('r', 'bob', 1, NULL, 0, 0)",
                [],
            )?)
        });
        assert!(err.is_err());
    }

    #[test]
    fn lookups_of_one_message_never_scan_the_history() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("chatd.db")).unwrap();
        let queries = [
            "SELECT ts, body, reply_to FROM messages WHERE direction = 'out' AND id = 'x'",
            "SELECT state FROM messages WHERE direction = 'out' AND id = 'x'",
            "UPDATE messages SET state = 'sent' WHERE direction = 'out' AND id = 'x'",
            "SELECT state FROM messages WHERE direction = 'out' AND recipient = 'b' AND id = 'x'",
            "SELECT EXISTS (SELECT 1 FROM receipts_due WHERE sender = 'b' AND id = 'x')",
        ];
        for q in queries {
            let plan: Vec<String> = store
                .with(|c| {
                    let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {q}"))?;
                    let rows = stmt.query_map([], |r| r.get::<_, String>(3))?;
                    Ok(rows.collect::<Result<_, _>>()?)
                })
                .unwrap();
            assert!(
                plan.iter()
                    .all(|step| !step.starts_with("SCAN") || step == "SCAN CONSTANT ROW"),
                "{q}: {plan:?}"
            );
        }
    }

    #[test]
    fn receipts_owed_are_committed_with_the_batch_and_settled_with_the_queued_receipt() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("chatd.db")).unwrap();
        let batch = [text("bob", "b1"), text("carol", "c1"), text("bob", "b2")];
        store.commit_batch("me", &batch, &[], &[], 0).unwrap();
        assert_eq!(
            store.receipts_due(100).unwrap(),
            [
                ("bob".to_owned(), ids(&["b1", "b2"])),
                ("carol".to_owned(), ids(&["c1"]))
            ]
        );
        // The limit counts ids, not senders.
        assert_eq!(
            store.receipts_due(1).unwrap(),
            [("bob".to_owned(), ids(&["b1"]))]
        );

        store
            .queue_due_receipt("r1", "bob", "{}", &ids(&["b1", "b2"]))
            .unwrap();
        let queued = store.due_outbox(10).unwrap();
        assert_eq!(queued.len(), 1);
        assert_eq!(
            (queued[0].id.as_str(), queued[0].peer.as_str()),
            ("r1", "bob")
        );
        store.forget_due_receipts("carol", &ids(&["c1"])).unwrap();
        assert!(store.receipts_due(100).unwrap().is_empty());

        // The same text again (redelivered after a crash before the ack), by
        // the commit's seen check or the open's replay check: owed again.
        store
            .commit_batch("me", &[text("bob", "b1")], &[], &[], 0)
            .unwrap();
        store
            .commit_batch("me", &[], &[("bob".into(), "b2".into())], &[], 0)
            .unwrap();
        assert_eq!(
            store.receipts_due(100).unwrap(),
            [("bob".to_owned(), ids(&["b1", "b2"]))]
        );
        // A replayed id that is no stored text owes nothing.
        store
            .forget_due_receipts("bob", &ids(&["b1", "b2"]))
            .unwrap();
        store
            .commit_batch("me", &[], &[("bob".into(), "nope".into())], &[], 0)
            .unwrap();
        assert!(store.receipts_due(100).unwrap().is_empty());
    }
}
