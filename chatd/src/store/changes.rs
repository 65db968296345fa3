//! Edits, deletes and reactions (docs/PROTOCOL.md §14): a message's author
//! edits or deletes it for everyone, anyone in the conversation reacts to
//! it. The same rules apply to what peers send, to what this account's
//! other devices send, and to what the user does here.
//!
//! A delete leaves a tombstone: the body, its earlier versions, its
//! reactions and the bodies the event log kept of it are gone, in the same
//! transaction; `secure_delete` overwrites the freed pages, and the caller
//! checkpoints the WAL once the transaction is committed.

use ipc_schema::MessageChange;
use ipc_schema::methods::{
    Direction, Event, EventEnvelope, MessageChangeKind, MessageChangedEvent, MessageView,
    ReactionView,
};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::events::push_event;
use super::groups::group_peer;
use super::outbox::OutgoingKind;
use super::{MESSAGE_COLUMNS, Store, StoreError, StoreResult, message_from_row, now_ms};

/// The conversation a change from `from` is about (§14.2), or `None` when
/// it cannot be about any: a group `from` is not a member of, a contact's
/// change naming a `to` other than this user, this account's own change
/// without one.
fn conversation(
    tx: &Transaction<'_>,
    me: &str,
    from: &str,
    change: &MessageChange,
) -> rusqlite::Result<Option<String>> {
    if let Some(group) = change.group() {
        let member: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM group_members m JOIN groups g ON g.id = m.group_id
                            WHERE m.group_id = ?1 AND m.user = ?2 AND g.state = 'member')",
            params![group, from],
            |r| r.get(0),
        )?;
        return Ok(member.then(|| group_peer(group)));
    }
    if from == me {
        return Ok(change.to().map(str::to_owned));
    }
    let contact: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM contacts WHERE user = ?1)",
        [from],
        |r| r.get(0),
    )?;
    // A contact with other devices seals one envelope to us and to them,
    // naming us as `to` (§11.1).
    Ok((contact && change.to().is_none_or(|to| to == me)).then(|| from.to_owned()))
}

/// The message a change names, as stored.
struct Target {
    seq: i64,
    peer: String,
    kind: String,
    deleted: bool,
    ts: i64,
    edited_at: Option<i64>,
    body: Option<String>,
}

fn target(tx: &Transaction<'_>, author: &str, id: &str) -> rusqlite::Result<Option<Target>> {
    tx.query_row(
        "SELECT seq, peer, kind, deleted, ts, edited_at, body FROM messages
         WHERE sender = ?1 AND id = ?2",
        params![author, id],
        |r| {
            Ok(Target {
                seq: r.get(0)?,
                peer: r.get(1)?,
                kind: r.get(2)?,
                deleted: r.get(3)?,
                ts: r.get(4)?,
                edited_at: r.get(5)?,
                body: r.get(6)?,
            })
        },
    )
    .optional()
}

/// What applying a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Applied {
    /// The message changed (an event was written).
    Changed,
    /// Nothing to change: an older edit or reaction than the one shown, or
    /// a second delete.
    Unchanged,
    /// The change names a message that is not there, or not the sender's
    /// to change: dropped, counted as `bad_target`.
    Refused,
}

/// Applies `change`, from `from` (the envelope's verified sender, or this
/// user) with the sender's timestamp `ts`. A delete asks the caller to
/// checkpoint the WAL (`deleted`).
pub(super) fn apply(
    tx: &Transaction<'_>,
    me: &str,
    from: &str,
    ts: u64,
    change: &MessageChange,
    deleted: &mut bool,
    events: &mut Vec<EventEnvelope>,
) -> StoreResult<Applied> {
    let Some(peer) = conversation(tx, me, from, change)? else {
        return Ok(Applied::Refused);
    };
    let author = match change {
        MessageChange::Reaction { author, .. } => author.as_str(),
        _ => from,
    };
    let Some(t) = target(tx, author, change.target())? else {
        return Ok(Applied::Refused);
    };
    // A file message can be deleted and reacted to; its name is not edited.
    let changeable =
        t.kind == "text" || t.kind == "file" && !matches!(change, MessageChange::Edit { .. });
    if t.peer != peer || !changeable {
        return Ok(Applied::Refused);
    }
    let ts = ts.min(i64::MAX as u64) as i64;
    let kind = match change {
        MessageChange::Edit { body, .. } => {
            if t.deleted {
                return Ok(Applied::Refused);
            }
            let shown = t.edited_at.unwrap_or(t.ts);
            if ts <= shown {
                // Late: history only.
                tx.execute(
                    "INSERT OR IGNORE INTO message_edits (sender, id, ts, body) VALUES (?1, ?2, ?3, ?4)",
                    params![author, change.target(), ts, body],
                )?;
                return Ok(Applied::Unchanged);
            }
            tx.execute(
                "INSERT OR IGNORE INTO message_edits (sender, id, ts, body) VALUES (?1, ?2, ?3, ?4)",
                params![author, change.target(), shown, t.body.unwrap_or_default()],
            )?;
            tx.execute(
                "UPDATE messages SET body = ?2, edited_at = ?3 WHERE seq = ?1",
                params![t.seq, body, ts],
            )?;
            MessageChangeKind::Edited
        }
        MessageChange::Delete { .. } => {
            if t.deleted {
                return Ok(Applied::Unchanged);
            }
            erase(tx, author, change.target(), t.seq)?;
            *deleted = true;
            MessageChangeKind::Deleted
        }
        MessageChange::Reaction { emoji, .. } => {
            if t.deleted {
                return Ok(Applied::Refused);
            }
            let n = tx.execute(
                "INSERT INTO reactions (sender, id, user, emoji, ts, first_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (sender, id, user) DO UPDATE SET emoji = excluded.emoji, ts = excluded.ts,
                     first_at = CASE WHEN reactions.emoji IS excluded.emoji THEN reactions.first_at
                                     ELSE excluded.first_at END
                 WHERE excluded.ts > reactions.ts",
                params![author, change.target(), from, emoji, ts, next_order(tx)?],
            )?;
            if n == 0 {
                return Ok(Applied::Unchanged);
            }
            MessageChangeKind::Reacted
        }
    };
    let message = view(tx, t.seq)?.ok_or_else(|| StoreError::Corrupt("changed message".into()))?;
    push_event(
        tx,
        events,
        Event::MessageChanged(MessageChangedEvent {
            change: kind,
            by: from.to_owned(),
            peer,
            message: Box::new(message),
        }),
    )?;
    Ok(Applied::Changed)
}

/// A number above every reaction's so far: reactions show in the order
/// they were first chosen.
fn next_order(tx: &Transaction<'_>) -> rusqlite::Result<i64> {
    tx.query_row(
        "SELECT coalesce(max(first_at), 0) + 1 FROM reactions",
        [],
        |r| r.get(0),
    )
}

/// Removes everything of a message's text: its body and earlier versions,
/// its reactions, what the event log kept of it, and its queued envelope
/// if it was never sent.
fn erase(tx: &Transaction<'_>, author: &str, id: &str, seq: i64) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE messages SET body = NULL, edited_at = NULL, deleted = 1 WHERE seq = ?1",
        [seq],
    )?;
    tx.execute(
        "DELETE FROM message_edits WHERE sender = ?1 AND id = ?2",
        params![author, id],
    )?;
    tx.execute(
        "DELETE FROM reactions WHERE sender = ?1 AND id = ?2",
        params![author, id],
    )?;
    // A file's offer (its key and name) goes too; chatd removes the kept
    // file once no row names it (`daemon::files`).
    tx.execute(
        "DELETE FROM files WHERE sender = ?1 AND id = ?2",
        params![author, id],
    )?;
    tx.execute(
        "UPDATE events SET params = json_set(params, '$.message.body', NULL, '$.message.file', NULL)
         WHERE name IN ('message.received', 'message.changed')
           AND json_extract(params, '$.message.id') = ?2
           AND json_extract(params, '$.message.from') = ?1",
        params![author, id],
    )?;
    tx.execute("DELETE FROM outbox WHERE id = ?1 AND kind = 'text'", [id])?;
    Ok(())
}

/// A message as frontends show it, with its reactions.
pub(super) fn view(c: &Connection, seq: i64) -> rusqlite::Result<Option<MessageView>> {
    let mut m = c
        .query_row(
            &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE seq = ?1"),
            [seq],
            message_from_row,
        )
        .optional()?;
    if let Some(m) = &mut m {
        attach(c, std::slice::from_mut(m))?;
    }
    Ok(m)
}

/// Fills in each message's reactions (and an outgoing group message's
/// deliveries).
pub(super) fn attach(c: &Connection, messages: &mut [MessageView]) -> rusqlite::Result<()> {
    let mut stmt = c.prepare_cached(
        "SELECT emoji, user FROM reactions WHERE sender = ?1 AND id = ?2 AND emoji IS NOT NULL
         ORDER BY first_at, user",
    )?;
    for m in messages.iter_mut() {
        if m.group.is_some() && m.direction == Direction::Out && m.deliveries.is_empty() {
            m.deliveries = super::groups::deliveries(c, &m.id)?;
        }
        let rows = stmt.query_map(params![m.from, m.id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut reactions: Vec<ReactionView> = Vec::new();
        for row in rows {
            let (emoji, user) = row?;
            match reactions.iter_mut().find(|r| r.emoji == emoji) {
                Some(r) => r.users.push(user),
                None => reactions.push(ReactionView {
                    emoji,
                    users: vec![user],
                }),
            }
        }
        m.reactions = reactions;
    }
    super::files::attach(c, messages)
}

/// What the user does to a message (`message.edit`, `.delete`, `.react`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserChange {
    /// Its new text (one's own message).
    Edit(String),
    /// Delete it for everyone (one's own message).
    Delete,
    /// React with this emoji, or take the reaction back.
    React(Option<String>),
}

/// Why the user's own change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// No such message (of this user, for an edit or a delete).
    #[error("no message {0} to change")]
    Unknown(String),
    /// Two messages have that id (or start with it): say which.
    #[error("more than one message has the id {0}: give more of it, or the conversation (--with)")]
    Ambiguous(String),
    /// Not a text, or deleted already.
    #[error("{0}")]
    Refused(String),
    /// The conversation's contact is frozen between two keys.
    #[error(
        "{0} is frozen between two keys: accept one of the two fingerprints first (chat-ctl contact list)"
    )]
    Frozen(String),
}

impl Store {
    /// The whole id of the message of conversation `peer` whose id is, or
    /// starts with, `given` (8 or more hex digits).
    pub fn resolve_id(&self, peer: &str, given: &str) -> StoreResult<Result<String, ChangeError>> {
        self.with(|c| {
            let ids: Vec<String> = c
                .prepare_cached(
                    "SELECT id FROM messages WHERE peer = ?1 AND kind IN ('text', 'file')
                       AND (id = ?2 OR (length(?2) BETWEEN 8 AND 31 AND substr(id, 1, length(?2)) = ?2))
                     LIMIT 2",
                )?
                .query_map(params![peer, given], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(match ids.as_slice() {
                [] => Err(ChangeError::Unknown(given.to_owned())),
                [one] => Ok(one.clone()),
                _ => Err(ChangeError::Ambiguous(given.to_owned())),
            })
        })
    }

    /// The user's change to message `id` (the whole id, or its first 8 or
    /// more hex digits, as `chat-ctl log --ids` shows them): applied here
    /// and queued for the conversation (and this account's other devices).
    /// `peer` narrows a reaction's message when ids repeat.
    pub fn change_message(
        &self,
        me: &str,
        id: &str,
        what: UserChange,
        peer: Option<&str>,
    ) -> StoreResult<Result<super::Committed<(String, MessageView)>, ChangeError>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let given = id.to_owned();
            // Edits and deletes: this user's own message; reactions: any.
            let own = !matches!(what, UserChange::React(_));
            let rows: Vec<(String, String, String)> = tx
                .prepare(
                    "SELECT id, sender, peer FROM messages
                     WHERE (id = ?1 OR (length(?1) BETWEEN 8 AND 31 AND substr(id, 1, length(?1)) = ?1))
                       AND (kind = 'text' OR (kind = 'file' AND ?5 = 0))
                       AND (?2 = 0 OR sender = ?3) AND (?4 IS NULL OR peer = ?4)",
                )?
                .query_map(params![given, own, me, peer, matches!(what, UserChange::Edit(_))], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect::<Result<_, _>>()?;
            let (id, author, conv) = match rows.as_slice() {
                [] => return Ok(Err(ChangeError::Unknown(given))),
                [one] => one.clone(),
                _ => return Ok(Err(ChangeError::Ambiguous(given))),
            };
            // As for a text: nothing goes to a contact frozen between two
            // keys (whoever else holds the key they came from could read it).
            let frozen: bool = tx
                .query_row(
                    "SELECT frozen FROM contacts WHERE user = ?1",
                    [&conv],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or(false);
            if frozen {
                return Ok(Err(ChangeError::Frozen(conv)));
            }
            let group = conv.strip_prefix('#').map(str::to_owned);
            let change = match what {
                UserChange::React(emoji) => MessageChange::Reaction {
                    target: id.clone(),
                    author,
                    emoji,
                    group,
                    to: None,
                },
                UserChange::Edit(body) => MessageChange::Edit {
                    target: id.clone(),
                    body,
                    group,
                    to: None,
                },
                UserChange::Delete => MessageChange::Delete {
                    target: id.clone(),
                    group,
                    to: None,
                },
            };
            // Here it is filed as this account's other devices would file it.
            let local = if change.group().is_some() {
                change.clone()
            } else {
                change.clone().with_to(&conv)
            };
            let mut events = Vec::new();
            let mut deleted = false;
            match apply(&tx, me, me, now_ms(), &local, &mut deleted, &mut events)? {
                Applied::Refused => {
                    return Ok(Err(ChangeError::Refused(format!(
                        "message {id} cannot be changed (deleted, or not in a conversation you are in)"
                    ))));
                }
                Applied::Changed | Applied::Unchanged => {}
            }
            let payload = change
                .to_json()
                .map_err(|e| StoreError::Corrupt(format!("change payload: {e}")))?;
            let now = now_ms() as i64;
            tx.execute(
                "INSERT INTO outbox (id, peer, kind, payload, next_attempt_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![
                    super::new_message_id(),
                    conv,
                    OutgoingKind::Change.as_str(),
                    String::from_utf8(payload).expect("payload JSON is UTF-8"),
                    now
                ],
            )?;
            let seq: i64 = tx.query_row(
                "SELECT seq FROM messages WHERE sender = ?1 AND id = ?2",
                params![change_author(&change, me), id],
                |r| r.get(0),
            )?;
            let message =
                view(&tx, seq)?.ok_or_else(|| StoreError::Corrupt("changed message".into()))?;
            tx.commit()?;
            if deleted {
                checkpoint(c)?;
            }
            Ok(Ok(super::Committed::new((conv, message), events)))
        })
    }
}

/// Whose message a change is about (the user's own for edits and deletes).
fn change_author<'a>(change: &'a MessageChange, me: &'a str) -> &'a str {
    match change {
        MessageChange::Reaction { author, .. } => author,
        _ => me,
    }
}

/// Empties the WAL into the database and truncates it, so that a deleted
/// message's old pages are not left in it.
pub(super) fn checkpoint(c: &Connection) -> rusqlite::Result<()> {
    c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
}

#[cfg(test)]
mod tests;
