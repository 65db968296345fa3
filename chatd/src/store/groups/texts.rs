//! Group texts in the store: filing one from a member, letting one from a
//! not-yet member wait (bounded), and each member's delivery of ours.

use ipc_schema::methods::{
    DeliveryView, Direction, DropReason, Event, EventEnvelope, MessageReceivedEvent, MessageState,
    MessageView,
};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::super::events::push_event;
use super::super::inbox::bump;
use super::super::outbox::OutgoingKind;
use super::super::receipts::owe;
use super::super::{StoreResult, now_ms};
use super::{WAITING_MS, WAITING_PER_GROUP, group_peer};

/// A group text as it arrived.
pub(in crate::store) struct GroupText<'a> {
    /// The group's id.
    pub group: &'a str,
    /// The sender.
    pub from: &'a str,
    /// The message id.
    pub id: &'a str,
    /// The sender's timestamp.
    pub ts: u64,
    /// The text.
    pub body: &'a str,
    /// What it answers.
    pub reply_to: Option<&'a str>,
    /// For a file message (`body` is then its shown name): the offer.
    pub file: Option<&'a ipc_schema::FileOffer>,
}

/// Files a group text from a member: history, event, delivered receipt owed.
/// Returns false when `from` is not a member of the group as this user
/// follows it (the caller lets it wait).
pub(in crate::store) fn file_group_text(
    tx: &Transaction<'_>,
    me: &str,
    text: &GroupText<'_>,
    events: &mut Vec<EventEnvelope>,
) -> rusqlite::Result<bool> {
    let GroupText {
        group,
        from,
        id,
        ts,
        body,
        reply_to,
        file,
    } = *text;
    let member: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM group_members m JOIN groups g ON g.id = m.group_id
                        WHERE m.group_id = ?1 AND m.user = ?2 AND g.state = 'member')",
        params![group, from],
        |r| r.get(0),
    )?;
    if !member {
        return Ok(false);
    }
    let peer = group_peer(group);
    tx.execute(
        "INSERT INTO messages (id, peer, direction, sender, recipient, ts, received_at, kind, body, reply_to, state)
         VALUES (?1, ?2, 'in', ?3, ?4, ?5, ?6, ?9, ?7, ?8, 'delivered')",
        params![id, peer, from, me, ts as i64, now_ms() as i64, body, reply_to,
                if file.is_some() { "file" } else { "text" }],
    )?;
    let seq = tx.last_insert_rowid() as u64;
    if let Some(offer) = file {
        super::super::files::record(
            tx,
            from,
            id,
            &peer,
            offer,
            ipc_schema::methods::FileState::Waiting,
        )?;
    }
    let mut view = MessageView {
        id: id.to_owned(),
        from: from.to_owned(),
        to: me.to_owned(),
        ts,
        direction: Direction::In,
        kind: if file.is_some() { "file" } else { "text" }.into(),
        body: Some(body.to_owned()),
        reply_to: reply_to.map(str::to_owned),
        state: MessageState::Delivered,
        failure: None,
        seq,
        truncated: false,
        group: Some(group.to_owned()),
        deliveries: Vec::new(),
        edited: false,
        deleted: false,
        reactions: Vec::new(),
        file: None,
    };
    super::super::files::attach(tx, std::slice::from_mut(&mut view))?;
    push_event(
        tx,
        events,
        Event::MessageReceived(MessageReceivedEvent { message: view }),
    )?;
    owe(tx, from, OutgoingKind::Delivered, &[id.to_owned()])?;
    Ok(true)
}

/// Keeps a group text from someone not (yet) a member, within bounds.
pub(in crate::store) fn wait_for_roster(
    tx: &Transaction<'_>,
    text: &GroupText<'_>,
) -> rusqlite::Result<()> {
    let GroupText {
        group,
        from,
        id,
        ts,
        body,
        reply_to,
        file: _,
    } = *text;
    tx.execute(
        "INSERT OR IGNORE INTO group_waiting (group_id, sender, id, ts, body, reply_to, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![group, from, id, ts as i64, body, reply_to, now_ms() as i64],
    )?;
    let over = tx.execute(
        "DELETE FROM group_waiting WHERE group_id = ?1 AND seq NOT IN
           (SELECT seq FROM group_waiting WHERE group_id = ?1 ORDER BY seq DESC LIMIT ?2)",
        params![group, WAITING_PER_GROUP],
    )?;
    bump(tx, DropReason::NotAMember, over as u64)
}

/// Drops waiting group texts and roster changes older than [`WAITING_MS`],
/// counting them.
pub(in crate::store) fn expire_waiting(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let cutoff = now_ms().saturating_sub(WAITING_MS) as i64;
    let gone = tx.execute("DELETE FROM group_waiting WHERE received_at < ?1", [cutoff])?;
    bump(tx, DropReason::NotAMember, gone as u64)?;
    let stale = tx.execute(
        "DELETE FROM group_rosters WHERE accepted = 0 AND received_at < ?1",
        [cutoff],
    )?;
    bump(tx, DropReason::BadRoster, stale as u64)
}

/// Files the waiting texts of `group` whose sender is now a member.
pub(super) fn release_waiting(
    tx: &Transaction<'_>,
    me: &str,
    group: &str,
    events: &mut Vec<EventEnvelope>,
) -> rusqlite::Result<()> {
    let rows: Vec<(i64, String, String, i64, String, Option<String>)> = tx
        .prepare(
            "SELECT seq, sender, id, ts, body, reply_to FROM group_waiting
             WHERE group_id = ?1 ORDER BY seq",
        )?
        .query_map([group], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    for (seq, from, id, ts, body, reply_to) in rows {
        let text = GroupText {
            group,
            from: &from,
            id: &id,
            ts: ts as u64,
            body: &body,
            reply_to: reply_to.as_deref(),
            file: None,
        };
        if file_group_text(tx, me, &text, events)? {
            tx.execute("DELETE FROM group_waiting WHERE seq = ?1", [seq])?;
        }
    }
    Ok(())
}

/// Each member's delivery of our group message `id`, by username.
pub(in crate::store) fn deliveries(
    c: &Connection,
    id: &str,
) -> rusqlite::Result<Vec<DeliveryView>> {
    c.prepare_cached("SELECT user, state FROM deliveries WHERE id = ?1 ORDER BY user")?
        .query_map([id], |r| {
            let state: String = r.get(1)?;
            Ok(DeliveryView {
                user: r.get(0)?,
                state: state.parse().unwrap_or(MessageState::Queued),
            })
        })?
        .collect()
}

/// Moves member `user`'s delivery of our group message `id` forward, and
/// the message to `delivered` once every member has it (or cannot get it).
pub(in crate::store) fn group_receipt(
    tx: &Transaction<'_>,
    id: &str,
    user: &str,
    state: MessageState,
    events: &mut Vec<EventEnvelope>,
) -> StoreResult<()> {
    let current: Option<String> = tx
        .query_row(
            "SELECT state FROM deliveries WHERE id = ?1 AND user = ?2",
            params![id, user],
            |r| r.get(0),
        )
        .optional()?;
    let Some(current) = current.and_then(|s| s.parse::<MessageState>().ok()) else {
        return Ok(());
    };
    if current == MessageState::Failed || current.rank() >= state.rank() {
        return Ok(());
    }
    tx.execute(
        "UPDATE deliveries SET state = ?3 WHERE id = ?1 AND user = ?2",
        params![id, user, state.as_str()],
    )?;
    let peer: Option<String> = tx
        .query_row(
            "SELECT peer FROM messages WHERE direction = 'out' AND id = ?1 AND peer LIKE '#%'",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(peer) = peer else { return Ok(()) };
    let all = deliveries(tx, id)?;
    let done = all.iter().all(|d| {
        matches!(
            d.state,
            MessageState::Delivered | MessageState::Read | MessageState::Failed
        )
    });
    let target = if done {
        MessageState::Delivered
    } else {
        MessageState::Sent
    };
    super::super::outbox::set_out_state_or_tell(tx, id, &peer, target, events)?;
    Ok(())
}

/// Records what the relay did with a group envelope for each of its
/// recipients (`id`'s deliveries): stored ones are `sent`, ones with no
/// account `failed`; those whose mailbox was full stay `queued`.
pub(in crate::store) fn record_put(
    tx: &Transaction<'_>,
    id: &str,
    recipients: &[String],
    unknown: &[String],
    full: &[String],
) -> rusqlite::Result<()> {
    for user in recipients {
        let state = if unknown.contains(user) {
            MessageState::Failed
        } else if full.contains(user) {
            continue;
        } else {
            MessageState::Sent
        };
        tx.execute(
            "UPDATE deliveries SET state = ?3 WHERE id = ?1 AND user = ?2 AND state = 'queued'",
            params![id, user, state.as_str()],
        )?;
    }
    Ok(())
}

/// A group's name as this user follows it (empty when unknown).
pub(in crate::store) fn group_name(tx: &Transaction<'_>, group: &str) -> rusqlite::Result<String> {
    Ok(tx
        .query_row("SELECT name FROM groups WHERE id = ?1", [group], |r| {
            r.get(0)
        })
        .optional()?
        .unwrap_or_default())
}
