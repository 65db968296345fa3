//! The history: conversations and their messages, ordered by the local
//! sequence `seq` (when chatd received or queued a message), never by the
//! sender's clock, which a peer controls (docs/IPC.md, `message.list`).

use ipc_schema::methods::{
    ConversationView, Direction, DropReason, DroppedCounters, Event, LIST_BODY_MAX,
    LIST_PAGE_BYTES, MessageState, MessageStateEvent, MessageView,
};
use rusqlite::{OptionalExtension, params};

use super::events::push_event;
use super::outbox::OutgoingKind;
use super::receipts::owe;
use super::{Committed, MESSAGE_COLUMNS, Store, StoreResult, message_from_row};

/// `m` as `message.list` sends it: a body over [`LIST_BODY_MAX`] is cut at
/// a character boundary and marked truncated.
pub(super) fn listed(mut m: MessageView) -> MessageView {
    if let Some(body) = &m.body
        && body.len() > LIST_BODY_MAX
    {
        m.body = Some(ipc_schema::text::cut_at_char(body, LIST_BODY_MAX).to_owned());
        m.truncated = true;
    }
    m
}

impl Store {
    /// A page of a conversation, oldest first, of the messages whose local
    /// sequence is below `before` (the newest when `None`); `has_more` says
    /// whether older ones exist. A page stops before the message that
    /// would take its bodies past [`LIST_PAGE_BYTES`] (one always fits).
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
                if page.len() == limit {
                    has_more = true;
                    break;
                }
                let m = listed(message_from_row(row)?);
                let size = m.body.as_ref().map_or(0, String::len);
                if !page.is_empty() && bytes + size > LIST_PAGE_BYTES {
                    has_more = true;
                    break;
                }
                bytes += size;
                page.push(m);
            }
            page.reverse();
            drop(rows);
            super::changes::attach(c, &mut page)?;
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
            let mut m = stmt
                .query_row(
                    params![id, peer, direction.map(Direction::as_str)],
                    message_from_row,
                )
                .optional()?;
            drop(stmt);
            if let Some(m) = &mut m {
                super::changes::attach(c, std::slice::from_mut(m))?;
            }
            Ok(m)
        })
    }

    /// Conversations, most recent first (by local sequence).
    pub fn conversations(&self) -> StoreResult<Vec<ConversationView>> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT m.peer,
                        CASE WHEN m.kind = 'file' THEN '[file ' || substr(m.body, 1, 240) || ']'
                             ELSE substr(m.body, 1, 256) END,
                        m.ts,
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

    /// Marks a conversation read; when `send_receipts`, queues read
    /// receipts for the texts marked, in the same transaction. Returns how
    /// many were marked.
    /// With `sync_to` (this account's username, when it has other
    /// devices), the ids marked read are also queued for those devices,
    /// which mark them read too (docs/PROTOCOL.md §11.2).
    pub fn mark_read(
        &self,
        peer: &str,
        send_receipts: bool,
        sync_to: Option<&str>,
    ) -> StoreResult<Committed<u64>> {
        self.with(|c| {
            let tx = c.transaction()?;
            // (sender, id) of the texts: in a group each sender is owed its own.
            let (texts, all): (Vec<(String, String)>, Vec<String>) = {
                let mut stmt = tx.prepare(
                    "SELECT id, kind, sender FROM messages
                     WHERE peer = ?1 AND direction = 'in' AND state != 'read' ORDER BY seq",
                )?;
                let rows: Vec<(String, String, String)> = stmt
                    .query_map([peer], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<Result<_, _>>()?;
                let texts = rows
                    .iter()
                    .filter(|(_, k, _)| k == "text" || k == "file")
                    .map(|(id, _, from)| (from.clone(), id.clone()))
                    .collect();
                (texts, rows.into_iter().map(|(id, _, _)| id).collect())
            };
            tx.execute(
                "UPDATE messages SET state = 'read'
                 WHERE peer = ?1 AND direction = 'in' AND state != 'read'",
                [peer],
            )?;
            let mut events = Vec::new();
            for id in &all {
                push_event(
                    &tx,
                    &mut events,
                    Event::MessageState(MessageStateEvent {
                        id: id.clone(),
                        peer: peer.to_owned(),
                        state: MessageState::Read,
                        failure: None,
                        deliveries: Vec::new(),
                    }),
                )?;
            }
            if send_receipts {
                let mut senders: Vec<&str> = texts.iter().map(|(f, _)| f.as_str()).collect();
                senders.dedup();
                senders.sort_unstable();
                senders.dedup();
                for sender in senders {
                    let ids: Vec<String> = texts
                        .iter()
                        .filter(|(f, _)| f == sender)
                        .map(|(_, id)| id.clone())
                        .collect();
                    owe(&tx, sender, OutgoingKind::Read, &ids)?;
                }
            }
            if let Some(me) = sync_to {
                owe(&tx, me, OutgoingKind::Read, &all)?;
            }
            tx.commit()?;
            Ok(Committed::new(all.len() as u64, events))
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
                if let Ok(reason) = name.parse::<DropReason>() {
                    *d.get_mut(reason) = value;
                }
            }
            Ok(d)
        })
    }
}
