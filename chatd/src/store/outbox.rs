//! The outbox: everything chatd sends, in one queue per recipient
//! (docs/ARCHITECTURE.md, "One outgoing pipeline").
//!
//! Texts, delivered receipts and read receipts enter it unsealed; the
//! outbox task seals them (storing each envelope before its first PUT, so a
//! resend carries the same bytes) and sends each recipient's items in
//! order. A recipient whose items cannot be delivered holds back only its
//! own queue: the backoff lives on the head row of that queue.

use ipc_schema::methods::{
    Direction, Event, MessageReceivedEvent, MessageState, MessageStateEvent, MessageView,
};
use rusqlite::{OptionalExtension, Transaction, params};

use super::events::push_event;
use super::{Committed, Store, StoreError, StoreResult, now_ms, parse_state};

/// What an outbox item carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutgoingKind {
    /// A text the user sent (it has a row in the history).
    Text,
    /// A delivered receipt for texts we received.
    Delivered,
    /// A read receipt for texts we read.
    Read,
    /// A group's roster (docs/PROTOCOL.md §9).
    Roster,
    /// A payload for this account's other devices only (docs/PROTOCOL.md
    /// §11): a new device announcing itself.
    Announce,
    /// An edit, delete or reaction (docs/PROTOCOL.md §14), for a contact
    /// or a group's members.
    Change,
}

impl OutgoingKind {
    /// The name in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            OutgoingKind::Text => "text",
            OutgoingKind::Delivered => "delivered",
            OutgoingKind::Read => "read",
            OutgoingKind::Roster => "roster",
            OutgoingKind::Announce => "announce",
            OutgoingKind::Change => "change",
        }
    }

    fn parse(s: &str) -> StoreResult<OutgoingKind> {
        match s {
            "text" => Ok(OutgoingKind::Text),
            "delivered" => Ok(OutgoingKind::Delivered),
            "read" => Ok(OutgoingKind::Read),
            "roster" => Ok(OutgoingKind::Roster),
            "announce" => Ok(OutgoingKind::Announce),
            "change" => Ok(OutgoingKind::Change),
            other => Err(StoreError::Corrupt(format!("outbox kind `{other}`"))),
        }
    }

    /// True for the two receipt kinds.
    pub fn is_receipt(self) -> bool {
        matches!(self, OutgoingKind::Delivered | OutgoingKind::Read)
    }

    /// True for what is dropped, not failed, when it cannot be delivered
    /// for days: receipts and announcements (nobody sees them fail).
    pub fn is_best_effort(self) -> bool {
        self.is_receipt() || matches!(self, OutgoingKind::Announce | OutgoingKind::Change)
    }
}

/// What an unsealed item will say, once sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnsealedContent {
    /// A text.
    Text {
        /// Its timestamp (ms), signed into the envelope.
        ts: u64,
        /// The text.
        body: String,
        /// Reply target.
        reply_to: Option<String>,
    },
    /// A receipt for these ids (delivered or read, by the item's kind).
    Receipt {
        /// The ids of the texts it answers.
        ids: Vec<String>,
    },
    /// A file message (its blob is up), without `group` or `to`: the
    /// sealer adds them.
    File {
        /// Its timestamp (ms), signed into the envelope.
        ts: u64,
        /// The offer.
        offer: ipc_schema::FileOffer,
    },
    /// A payload (JSON) for this account's other devices.
    Announce {
        /// The payload JSON, exactly as it will be sealed.
        payload: String,
    },
    /// An edit, delete or reaction payload (JSON), without `to`: the
    /// sealer adds it for this account's other devices.
    Change {
        /// The payload JSON.
        payload: String,
    },
    /// A roster payload (JSON) for the cards in `recipients`.
    Roster {
        /// The payload JSON, exactly as it will be sealed.
        payload: String,
        /// The cards (JSON) of everyone it goes to.
        recipients: Vec<String>,
    },
}

/// An item waiting for its envelope.
#[derive(Debug, Clone)]
pub struct Unsealed {
    /// Envelope id.
    pub id: String,
    /// Recipient.
    pub peer: String,
    /// Text or which receipt.
    pub kind: OutgoingKind,
    /// What to seal.
    pub content: UnsealedContent,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When it was queued (ms).
    pub created_at: u64,
    /// A receipt's ids as stored: the seal is kept only if they did not
    /// grow meanwhile (a new batch may add ids to an open receipt).
    payload: Option<String>,
}

impl Unsealed {
    /// Its envelope, once sealed.
    pub fn sealed(self, envelope: String) -> Sealed {
        Sealed {
            id: self.id,
            peer: self.peer,
            kind: self.kind,
            envelope,
            attempts: self.attempts,
            created_at: self.created_at,
            sealed_payload: self.payload,
            recipients: Vec::new(),
        }
    }
}

/// An item with its envelope, ready to PUT.
#[derive(Debug, Clone)]
pub struct Sealed {
    /// Envelope id.
    pub id: String,
    /// Recipient.
    pub peer: String,
    /// Text or which receipt.
    pub kind: OutgoingKind,
    /// The envelope JSON exactly as it is PUT, every time.
    pub envelope: String,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When it was queued (ms).
    pub created_at: u64,
    /// See [`Unsealed`]; `None` once stored.
    sealed_payload: Option<String>,
    /// Group items: who the envelope was sealed to (empty once loaded back).
    pub recipients: Vec<String>,
}

/// One outbox item.
#[derive(Debug, Clone)]
pub enum Item {
    /// Not sealed yet.
    Unsealed(Unsealed),
    /// Sealed, maybe already tried.
    Sealed(Sealed),
}

impl Item {
    /// Envelope id.
    pub fn id(&self) -> &str {
        match self {
            Item::Unsealed(u) => &u.id,
            Item::Sealed(s) => &s.id,
        }
    }

    /// Text or which receipt.
    pub fn kind(&self) -> OutgoingKind {
        match self {
            Item::Unsealed(u) => u.kind,
            Item::Sealed(s) => s.kind,
        }
    }
}

/// One recipient's due items, in order.
#[derive(Debug, Clone)]
pub struct Queue {
    /// The recipient.
    pub peer: String,
    /// Oldest first.
    pub items: Vec<Item>,
}

/// The conversation an outbox queue belongs to: a group item retried on
/// its own sits in a queue `#GROUP~ID` (see `Store::outbox_group_put`).
pub fn conversation_of(queue: &str) -> &str {
    queue.split('~').next().unwrap_or(queue)
}

/// Moves an outgoing text's state forward (never backward: a receipt may
/// already have made it `delivered`), or to `failed`; records the event.
pub(super) fn set_out_state(
    tx: &Transaction<'_>,
    id: &str,
    peer: &str,
    state: MessageState,
    failure: Option<&str>,
    events: &mut Vec<ipc_schema::methods::EventEnvelope>,
) -> StoreResult<()> {
    move_state(tx, id, peer, state, failure, false, events)
}

/// Like [`set_out_state`], and when the state does not move, still tells
/// frontends about a group message's deliveries (one more member has it).
pub(super) fn set_out_state_or_tell(
    tx: &Transaction<'_>,
    id: &str,
    peer: &str,
    state: MessageState,
    events: &mut Vec<ipc_schema::methods::EventEnvelope>,
) -> StoreResult<()> {
    move_state(tx, id, peer, state, None, true, events)
}

fn move_state(
    tx: &Transaction<'_>,
    id: &str,
    peer: &str,
    state: MessageState,
    failure: Option<&str>,
    always_tell: bool,
    events: &mut Vec<ipc_schema::methods::EventEnvelope>,
) -> StoreResult<()> {
    let peer = conversation_of(peer);
    let current: Option<String> = tx
        .query_row(
            "SELECT state FROM messages WHERE direction = 'out' AND recipient = ?1 AND id = ?2",
            params![peer, id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(current) = current else {
        return Ok(());
    };
    let current = parse_state(&current)?;
    let forward = if state == MessageState::Failed {
        current.rank() < MessageState::Delivered.rank()
    } else {
        current != MessageState::Failed && current.rank() < state.rank()
    };
    if !forward && !always_tell {
        return Ok(());
    }
    if forward {
        tx.execute(
            "UPDATE messages SET state = ?3, failure = ?4
             WHERE direction = 'out' AND recipient = ?1 AND id = ?2",
            params![peer, id, state.as_str(), failure],
        )?;
    }
    let deliveries = if peer.starts_with('#') {
        super::groups::deliveries(tx, id)?
    } else {
        Vec::new()
    };
    push_event(
        tx,
        events,
        Event::MessageState(MessageStateEvent {
            id: id.to_owned(),
            peer: peer.to_owned(),
            state: if forward { state } else { current },
            failure: failure.map(str::to_owned),
            deliveries,
        }),
    )?;
    Ok(())
}

/// Ends every queued item for `peer`: texts fail with `reason`, receipts
/// are dropped.
pub(super) fn end_all_for(
    tx: &Transaction<'_>,
    peer: &str,
    reason: &str,
    events: &mut Vec<ipc_schema::methods::EventEnvelope>,
) -> StoreResult<()> {
    let texts: Vec<String> = tx
        .prepare("SELECT id FROM outbox WHERE peer = ?1 AND kind = 'text' ORDER BY seq")?
        .query_map([peer], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    tx.execute("DELETE FROM outbox WHERE peer = ?1", [peer])?;
    for id in texts {
        set_out_state(tx, &id, peer, MessageState::Failed, Some(reason), events)?;
    }
    Ok(())
}

type Row = (
    String,
    String,
    Option<String>,
    Option<String>,
    u32,
    i64,
    Option<(i64, Option<String>, Option<String>, String, String)>,
    Option<String>,
);

fn item_from_row(c: &rusqlite::Connection, peer: &str, row: Row) -> StoreResult<Option<Item>> {
    let (id, kind, payload, envelope, attempts, created_at, text, recipients) = row;
    let kind = OutgoingKind::parse(&kind)?;
    let created_at = created_at as u64;
    if let Some(envelope) = envelope {
        return Ok(Some(Item::Sealed(Sealed {
            id,
            peer: peer.to_owned(),
            kind,
            envelope,
            attempts,
            created_at,
            sealed_payload: None,
            recipients: Vec::new(),
        })));
    }
    let content = match kind {
        OutgoingKind::Text => match text {
            Some((ts, _, _, kind, sender)) if kind == "file" => {
                match super::files::offer(c, &sender, &id)? {
                    Some(offer) => UnsealedContent::File {
                        ts: ts as u64,
                        offer,
                    },
                    // Deleted before it went: nothing to send.
                    None => return Ok(None),
                }
            }
            Some((ts, body, reply_to, _, _)) => UnsealedContent::Text {
                ts: ts as u64,
                body: body.unwrap_or_default(),
                reply_to,
            },
            // A text whose history row is gone has nothing to send.
            None => return Ok(None),
        },
        OutgoingKind::Roster => {
            let (Some(p), Some(r)) = (payload.clone(), recipients) else {
                return Err(StoreError::Corrupt(format!("roster item {id}")));
            };
            let recipients = serde_json::from_str(&r)
                .map_err(|_| StoreError::Corrupt(format!("recipients of {id}")))?;
            UnsealedContent::Roster {
                payload: p,
                recipients,
            }
        }
        OutgoingKind::Announce => UnsealedContent::Announce {
            payload: payload
                .clone()
                .ok_or_else(|| StoreError::Corrupt(format!("announcement {id}")))?,
        },
        OutgoingKind::Change => UnsealedContent::Change {
            payload: payload
                .clone()
                .ok_or_else(|| StoreError::Corrupt(format!("change {id}")))?,
        },
        OutgoingKind::Delivered | OutgoingKind::Read => {
            let ids = payload
                .as_deref()
                .and_then(|p| serde_json::from_str(p).ok())
                .ok_or_else(|| StoreError::Corrupt(format!("receipt payload of {id}")))?;
            UnsealedContent::Receipt { ids }
        }
    };
    Ok(Some(Item::Unsealed(Unsealed {
        id,
        peer: peer.to_owned(),
        kind,
        content,
        attempts,
        created_at,
        payload,
    })))
}

impl Store {
    /// Queues an envelope sealed already (a key transition, sealed with the
    /// keys a rotation retired) for `peer`, under its id.
    pub fn queue_sealed(&self, peer: &str, id: &str, envelope: &str) -> StoreResult<()> {
        self.with(|c| {
            let now = now_ms() as i64;
            c.execute(
                "INSERT INTO outbox (id, peer, kind, envelope, next_attempt_at, created_at)
                 VALUES (?1, ?2, 'announce', ?3, ?4, ?4)",
                params![id, peer, envelope, now],
            )?;
            Ok(())
        })
    }

    /// Queues `payload` (JSON) for this account's other devices (`me` is
    /// the account's username, the item's queue).
    pub fn queue_announcement(&self, me: &str, payload: &str) -> StoreResult<()> {
        self.with(|c| {
            let now = now_ms() as i64;
            c.execute(
                "INSERT INTO outbox (id, peer, kind, payload, next_attempt_at, created_at)
                 VALUES (?1, ?2, 'announce', ?3, ?4, ?4)",
                params![super::new_message_id(), me, payload, now],
            )?;
            Ok(())
        })
    }

    /// Commits an outgoing text (state `queued`) and queues it unsealed, in
    /// one transaction; the view comes back with its local `seq`.
    pub fn queue_text(&self, view: &MessageView) -> StoreResult<Committed<MessageView>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let now = now_ms() as i64;
            tx.execute(
                "INSERT INTO messages (id, peer, direction, sender, recipient, ts, received_at, kind, body, reply_to, state)
                 VALUES (?1, ?2, 'out', ?3, ?2, ?4, ?5, 'text', ?6, ?7, 'queued')",
                params![view.id, view.to, view.from, view.ts as i64, now, view.body, view.reply_to],
            )?;
            let queued = MessageView {
                seq: tx.last_insert_rowid() as u64,
                direction: Direction::Out,
                state: MessageState::Queued,
                ..view.clone()
            };
            tx.execute(
                "INSERT INTO outbox (id, peer, kind, next_attempt_at, created_at)
                 VALUES (?1, ?2, 'text', ?3, ?3)",
                params![view.id, view.to, now],
            )?;
            let mut events = Vec::new();
            push_event(
                &tx,
                &mut events,
                Event::MessageReceived(MessageReceivedEvent {
                    message: queued.clone(),
                }),
            )?;
            tx.commit()?;
            Ok(Committed::new(queued, events))
        })
    }

    /// The queues whose head is due at `now`, each with up to `per_peer`
    /// items, oldest first. A queue held back by a backoff is not among
    /// them, however many items it has, so it delays nobody else.
    pub fn due_queues(&self, now: u64, per_peer: usize) -> StoreResult<Vec<Queue>> {
        self.with(|c| {
            let peers: Vec<String> = c
                .prepare_cached(
                    "SELECT o.peer FROM outbox o
                     JOIN (SELECT peer, min(seq) AS head FROM outbox GROUP BY peer) h
                       ON o.seq = h.head
                     WHERE o.next_attempt_at <= ?1
                     ORDER BY o.seq",
                )?
                .query_map([now as i64], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut stmt = c.prepare_cached(
                "SELECT o.id, o.kind, o.payload, o.envelope, o.attempts, o.created_at,
                        m.ts, CASE WHEN o.envelope IS NULL THEN m.body END, m.reply_to,
                        m.id IS NOT NULL, CASE WHEN o.envelope IS NULL THEN o.recipients END,
                        m.kind, m.sender
                 FROM outbox o
                 LEFT JOIN messages m
                   ON o.kind = 'text' AND m.direction = 'out' AND m.id = o.id
                 WHERE o.peer = ?1 ORDER BY o.seq LIMIT ?2",
            )?;
            let mut queues = Vec::with_capacity(peers.len());
            for peer in peers {
                let rows: Vec<Row> = stmt
                    .query_map(params![peer, per_peer as i64], |r| {
                        let text = if r.get::<_, bool>(9)? {
                            Some((r.get(6)?, r.get(7)?, r.get(8)?, r.get(11)?, r.get(12)?))
                        } else {
                            None
                        };
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            text,
                            r.get(10)?,
                        ))
                    })?
                    .collect::<Result<_, _>>()?;
                let mut items = Vec::with_capacity(rows.len());
                for row in rows {
                    let id = row.0.clone();
                    match item_from_row(c, &peer, row)? {
                        Some(item) => items.push(item),
                        None => {
                            c.execute("DELETE FROM outbox WHERE id = ?1", [&id])?;
                        }
                    }
                }
                if !items.is_empty() {
                    queues.push(Queue { peer, items });
                }
            }
            Ok(queues)
        })
    }

    /// When the earliest queue head becomes due, if anything is queued.
    pub fn next_outbox_due(&self) -> StoreResult<Option<u64>> {
        self.with(|c| {
            let at: Option<i64> = c.query_row(
                "SELECT min(o.next_attempt_at) FROM outbox o
                 JOIN (SELECT peer, min(seq) AS head FROM outbox GROUP BY peer) h
                   ON o.seq = h.head",
                [],
                |r| r.get(0),
            )?;
            Ok(at.map(|t| t.max(0) as u64))
        })
    }

    /// Number of queued texts.
    pub fn outbox_len(&self) -> StoreResult<u64> {
        self.with(|c| {
            Ok(
                c.query_row("SELECT count(*) FROM outbox WHERE kind = 'text'", [], |r| {
                    r.get::<_, i64>(0)
                })? as u64,
            )
        })
    }

    /// Stores envelopes of sealed items, in one commit, before any is sent.
    /// An item keeps the first envelope it gets (the relay refuses another
    /// envelope under the same id); a receipt whose ids grew while it was
    /// being sealed keeps none, and is sealed again with all of them.
    /// Returns the items whose envelope is now stored.
    pub fn store_sealed(&self, sealed: Vec<Sealed>) -> StoreResult<Vec<Sealed>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let mut stored = Vec::with_capacity(sealed.len());
            {
                let mut stmt = tx.prepare_cached(
                    "UPDATE outbox SET envelope = ?2
                     WHERE id = ?1 AND envelope IS NULL AND payload IS ?3",
                )?;
                let mut owed = tx.prepare_cached(
                    "INSERT OR IGNORE INTO deliveries (id, user, state) VALUES (?1, ?2, 'queued')",
                )?;
                for mut item in sealed {
                    let payload = item.sealed_payload.take();
                    if stmt.execute(params![item.id, item.envelope, payload])? == 1 {
                        if item.kind == OutgoingKind::Text {
                            for user in &item.recipients {
                                owed.execute(params![item.id, user])?;
                            }
                        }
                        stored.push(item);
                    }
                }
            }
            tx.commit()?;
            Ok(stored)
        })
    }

    /// The relay accepted `item`: drop it, and move a text to `sent`.
    pub fn outbox_sent(&self, item: &Sealed) -> StoreResult<Committed<()>> {
        self.finish(&item.id, &item.peer, item.kind, MessageState::Sent, None)
    }

    /// `item` can never be sent: a text fails with `reason`, a receipt is
    /// dropped.
    pub fn outbox_failed(
        &self,
        id: &str,
        peer: &str,
        kind: OutgoingKind,
        reason: &str,
    ) -> StoreResult<Committed<()>> {
        self.finish(id, peer, kind, MessageState::Failed, Some(reason))
    }

    fn finish(
        &self,
        id: &str,
        peer: &str,
        kind: OutgoingKind,
        state: MessageState,
        failure: Option<&str>,
    ) -> StoreResult<Committed<()>> {
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute("DELETE FROM outbox WHERE id = ?1", [id])?;
            let mut events = Vec::new();
            if kind == OutgoingKind::Text {
                set_out_state(&tx, id, peer, state, failure, &mut events)?;
            }
            tx.commit()?;
            Ok(Committed::new((), events))
        })
    }

    /// What the relay did with a group envelope (`PUT` of a sealed v2):
    /// members stored for move to `sent`, those with no account to
    /// `failed`. When no mailbox was full the item is done (a text becomes
    /// `sent`); otherwise it leaves its group's queue for a queue of its own
    /// that waits until `retry_at` and is sent again with the same bytes,
    /// so a member whose mailbox is full holds back nobody else. Returns
    /// whether the item is done.
    pub fn outbox_group_put(
        &self,
        item: &Sealed,
        recipients: &[String],
        unknown: &[String],
        full: &[String],
        retry_at: u64,
    ) -> StoreResult<Committed<bool>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let mut events = Vec::new();
            super::groups::record_put(&tx, &item.id, recipients, unknown, full)?;
            let done = full.is_empty();
            if done {
                tx.execute("DELETE FROM outbox WHERE id = ?1", [&item.id])?;
            } else {
                let own = format!("{}~{}", conversation_of(&item.peer), item.id);
                tx.execute(
                    "UPDATE outbox SET peer = ?2, attempts = attempts + 1, next_attempt_at = ?3
                     WHERE id = ?1",
                    params![item.id, own, retry_at as i64],
                )?;
            }
            if item.kind == OutgoingKind::Text {
                set_out_state_or_tell(&tx, &item.id, &item.peer, MessageState::Sent, &mut events)?;
            }
            tx.commit()?;
            Ok(Committed::new(done, events))
        })
    }

    /// The head item `id` of a queue failed for now: count the attempt and
    /// hold its queue (and only its queue) until `next_at`.
    pub fn outbox_back_off(&self, id: &str, attempts: u32, next_at: u64) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "UPDATE outbox SET attempts = ?2, next_attempt_at = ?3 WHERE id = ?1",
                params![id, attempts, next_at as i64],
            )?;
            Ok(())
        })
    }
}
