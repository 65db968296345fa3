//! Incoming envelopes: one synced batch is committed in one transaction
//! (new messages, receipts applied, delivered receipts owed, drop counters),
//! and only then acknowledged to the relay (docs/ARCHITECTURE.md, "The path
//! of one message").

use std::collections::HashSet;

use ipc_schema::methods::{
    Direction, DropReason, Event, MessageReceivedEvent, MessageState, MessageView,
};
use ipc_schema::{Payload, ReceiptKind};
use rusqlite::{Transaction, params};

use super::events::push_event;
use super::groups;
use super::outbox::{OutgoingKind, set_out_state};
use super::receipts::owe;
use super::{Committed, Store, StoreResult, now_ms};
use crate::crypto::Opened;

/// What [`Store::commit_batch`] did, besides its events.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    /// New texts, for notifications: (conversation, who and where, body).
    pub new_texts: Vec<(String, String, Option<String>)>,
    /// Whether receipts were queued (the outbox should wake).
    pub receipts_owed: bool,
    /// Devices of this account that announced themselves, by name.
    pub new_devices: Vec<String>,
    /// Whether anything came from this account's other devices.
    pub from_own_devices: bool,
    /// Contacts that rotated their keys with a signed transition (their
    /// quarantine, if any, can open now).
    pub rotated: Vec<String>,
    /// Contacts whose transition came from a key not pinned: look their
    /// card up, as for any key change.
    pub key_checks: Vec<String>,
    /// This account's keys rotated on another device: (transition, enc,
    /// sig) for the daemon to check and take.
    pub own_rotation: Option<(String, String, String)>,
    /// A message was deleted for everyone: the WAL is checkpointed after
    /// the commit.
    pub deleted: bool,
    /// A file message came: the downloads may have work.
    pub files: bool,
}

pub(super) fn bump(tx: &Transaction<'_>, reason: DropReason, by: u64) -> rusqlite::Result<()> {
    if by == 0 {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO counters (name, value) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET value = value + ?2",
        params![reason.as_str(), by as i64],
    )?;
    Ok(())
}

impl Store {
    /// Which of `keys` (from, id) were accepted before.
    pub fn seen(&self, keys: &[(String, String)]) -> StoreResult<HashSet<(String, String)>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM seen WHERE sender = ?1 AND id = ?2)",
            )?;
            let mut seen = HashSet::new();
            for (from, id) in keys {
                if stmt.query_row(params![from, id], |r| r.get::<_, bool>(0))? {
                    seen.insert((from.clone(), id.clone()));
                }
            }
            Ok(seen)
        })
    }

    /// Commits one synced batch in one transaction: opened messages (marked
    /// seen), receipts applied to our messages, and the drop counters.
    ///
    /// Every new text owes its sender a delivered receipt, queued in the
    /// same transaction. So do `replayed` texts, envelopes already
    /// committed that came back (a crash or a failed ack after their
    /// commit): receipts are idempotent, and the sender may never have had
    /// theirs.
    pub fn commit_batch(
        &self,
        me: &str,
        opened: Vec<Opened>,
        replayed: &[(String, String)],
        drops: &[DropReason],
    ) -> StoreResult<Committed<BatchOutcome>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let mut out = BatchOutcome::default();
            let mut events = Vec::new();
            let now = now_ms() as i64;
            let mut owed: Vec<(String, String)> = Vec::new();
            for (from, id) in replayed {
                let is_text: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM messages
                     WHERE direction = 'in' AND kind IN ('text', 'file') AND sender = ?1 AND id = ?2)",
                    params![from, id],
                    |r| r.get(0),
                )?;
                if is_text {
                    owed.push((from.clone(), id.clone()));
                }
            }
            for msg in opened {
                let fresh = tx.execute(
                    "INSERT OR IGNORE INTO seen (sender, id) VALUES (?1, ?2)",
                    params![msg.from, msg.id],
                )? == 1;
                if !fresh {
                    bump(&tx, DropReason::Replay, 1)?;
                    if msg.from != me {
                        owed.push((msg.from.clone(), msg.id.clone()));
                    }
                    continue;
                }
                if msg.from == me {
                    out.from_own_devices = true;
                    super::own::own_copy(&tx, me, msg, &mut out, &mut events)?;
                    continue;
                }
                let mut offer: Option<ipc_schema::FileOffer> = None;
                let (kind, body, reply_to, raw) = match msg.payload {
                    Payload::Receipt { ids, kind } => {
                        let state = match kind {
                            ReceiptKind::Read => MessageState::Read,
                            ReceiptKind::Delivered => MessageState::Delivered,
                        };
                        for id in &ids {
                            set_out_state(&tx, id, &msg.from, state, None, &mut events)?;
                            groups::group_receipt(&tx, id, &msg.from, state, &mut events)?;
                        }
                        continue;
                    }
                    Payload::GroupText {
                        group,
                        body,
                        reply_to,
                    } => {
                        let text = groups::GroupText {
                            group: &group,
                            from: &msg.from,
                            id: &msg.id,
                            ts: msg.ts,
                            body: &body,
                            reply_to: reply_to.as_deref(),
                            file: None,
                        };
                        let filed = groups::file_group_text(&tx, me, &text, &mut events)?;
                        if filed {
                            out.receipts_owed = true;
                            out.new_texts.push((
                                groups::group_peer(&group),
                                format!("{} in {}", msg.from, groups::group_name(&tx, &group)?),
                                Some(body),
                            ));
                        } else {
                            groups::wait_for_roster(&tx, &text)?;
                        }
                        continue;
                    }
                    Payload::Roster {
                        group,
                        roster,
                        parent_roster,
                    } => {
                        groups::receive_roster(
                            &tx,
                            me,
                            &msg.from,
                            &group,
                            &roster,
                            parent_roster.as_deref(),
                            &mut events,
                        )?;
                        out.receipts_owed = true;
                        continue;
                    }
                    Payload::Text { body, reply_to, .. } => {
                        ("text".to_owned(), Some(body), reply_to, None)
                    }
                    Payload::File(file) if file.group.is_some() => {
                        let group = file.group.clone().unwrap_or_default();
                        let name = ipc_schema::files::shown_name(&file.name);
                        let text = groups::GroupText {
                            group: &group,
                            from: &msg.from,
                            id: &msg.id,
                            ts: msg.ts,
                            body: &name,
                            reply_to: file.reply_to.as_deref(),
                            file: Some(&file),
                        };
                        if groups::file_group_text(&tx, me, &text, &mut events)? {
                            out.receipts_owed = true;
                            out.files = true;
                            out.new_texts.push((
                                groups::group_peer(&group),
                                format!("{} in {}", msg.from, groups::group_name(&tx, &group)?),
                                Some(file_line(&name, file.size)),
                            ));
                        } else {
                            // A file from someone not (yet) a member does
                            // not wait for a roster, as a text would.
                            bump(&tx, DropReason::NotAMember, 1)?;
                        }
                        continue;
                    }
                    Payload::File(file) => {
                        let name = ipc_schema::files::shown_name(&file.name);
                        let reply_to = file.reply_to.clone();
                        offer = Some(file);
                        ("file".to_owned(), Some(name), reply_to, None)
                    }
                    Payload::KeyTransition { transition } => {
                        match super::rotation::apply(
                            &tx,
                            me,
                            &msg.from,
                            &transition,
                            self.key_grace_ms(),
                            &mut events,
                        )? {
                            super::rotation::Applied::Rotated => out.rotated.push(msg.from.clone()),
                            super::rotation::Applied::NotPinned => {
                                out.key_checks.push(msg.from.clone())
                            }
                            super::rotation::Applied::Refused | super::rotation::Applied::Frozen => {}
                        }
                        continue;
                    }
                    // Only this account's own devices announce devices and
                    // sync contacts.
                    Payload::DeviceAdded { .. }
                    | Payload::Contact { .. }
                    | Payload::KeysRotated { .. } => {
                        bump(&tx, DropReason::UnknownSender, 1)?;
                        continue;
                    }
                    Payload::Change(change) => {
                        let applied = super::changes::apply(
                            &tx,
                            me,
                            &msg.from,
                            msg.ts,
                            &change,
                            &mut out.deleted,
                            &mut events,
                        )?;
                        if applied == super::changes::Applied::Refused {
                            bump(&tx, DropReason::BadTarget, 1)?;
                        }
                        continue;
                    }
                    Payload::Unsupported { kind, raw } => (kind, None, None, Some(raw)),
                };
                // A group member a roster introduced can send receipts and
                // group texts, not one-to-one messages: those come only
                // from contacts.
                let is_contact: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM contacts WHERE user = ?1)",
                    [&msg.from],
                    |r| r.get(0),
                )?;
                if !is_contact {
                    bump(&tx, DropReason::UnknownSender, 1)?;
                    continue;
                }
                tx.execute(
                    "INSERT INTO messages (id, peer, direction, sender, recipient, ts, received_at, kind, body, reply_to, raw, state)
                     VALUES (?1, ?2, 'in', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'delivered')",
                    params![msg.id, msg.from, me, msg.ts as i64, now, kind, body, reply_to, raw],
                )?;
                if let Some(file) = &offer {
                    super::files::record(
                        &tx,
                        &msg.from,
                        &msg.id,
                        &msg.from,
                        file,
                        ipc_schema::methods::FileState::Waiting,
                    )?;
                    out.files = true;
                }
                let mut view = MessageView {
                    id: msg.id.clone(),
                    from: msg.from.clone(),
                    to: me.to_owned(),
                    ts: msg.ts,
                    direction: Direction::In,
                    kind: kind.clone(),
                    body: body.clone(),
                    reply_to,
                    state: MessageState::Delivered,
                    failure: None,
                    seq: tx.last_insert_rowid() as u64,
                    truncated: false,
                    group: None,
                    deliveries: Vec::new(),
                    edited: false,
                    deleted: false,
                    reactions: Vec::new(),
                    file: None,
                };
                super::files::attach(&tx, std::slice::from_mut(&mut view))?;
                push_event(
                    &tx,
                    &mut events,
                    Event::MessageReceived(MessageReceivedEvent { message: view }),
                )?;
                if kind == "text" {
                    owed.push((msg.from.clone(), msg.id));
                    out.new_texts.push((msg.from.clone(), msg.from, body));
                } else if let Some(file) = &offer {
                    owed.push((msg.from.clone(), msg.id));
                    let line = file_line(body.as_deref().unwrap_or_default(), file.size);
                    out.new_texts.push((msg.from.clone(), msg.from, Some(line)));
                }
            }
            // Grouped by sender, in order of first appearance.
            let mut senders: Vec<&str> = Vec::new();
            for (from, _) in &owed {
                if !senders.contains(&from.as_str()) {
                    senders.push(from);
                }
            }
            for sender in senders {
                let ids: Vec<String> = owed
                    .iter()
                    .filter(|(f, _)| f == sender)
                    .map(|(_, id)| id.clone())
                    .collect();
                owe(&tx, sender, OutgoingKind::Delivered, &ids)?;
                out.receipts_owed = true;
            }
            groups::expire_waiting(&tx)?;
            for reason in DropReason::ALL {
                bump(&tx, *reason, drops.iter().filter(|d| *d == reason).count() as u64)?;
            }
            tx.commit()?;
            if out.deleted {
                super::changes::checkpoint(c)?;
            }
            Ok(Committed::new(out, events))
        })
    }
}

/// A file as a notification shows it: `[file build.log, 2.3 MB]`.
pub(super) fn file_line(name: &str, size: u64) -> String {
    format!("[file {name}, {}]", ipc_schema::text::human_size(size))
}
