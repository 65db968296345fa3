//! Groups in the store (docs/PROTOCOL.md §9): every roster that counted,
//! the current roster's members (the cards group messages are sealed to and
//! checked against), and what a roster change does to the history.
//!
//! The rosters of a group are kept as received; the roster it follows is
//! worked out again from them (`groups::GroupLog`) whenever one arrives, and
//! `groups` and `group_members` are a snapshot of the result.

use std::collections::HashMap;

use ipc_schema::Payload;
use ipc_schema::methods::{
    DeliveryView, Direction, DropReason, Event, EventEnvelope, GroupMemberView, GroupRemovedEvent,
    GroupState, GroupUpdatedEvent, GroupView, MessageReceivedEvent, MessageState, MessageView,
};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::events::push_event;
use super::inbox::bump;
use super::outbox::OutgoingKind;
use super::receipts::owe;
use super::{Committed, Store, StoreError, StoreResult, new_message_id, now_ms};
use crate::crypto::{Card, Fingerprint};
use crate::groups::{Edit, GroupLog, Offered, Roster, RosterError, RosterHash};

/// How long a group message waits for a roster that makes its sender a member (ms).
pub const WAITING_MS: u64 = 10 * 60 * 1000;
/// Most group messages waiting per group.
pub const WAITING_PER_GROUP: i64 = 300;

/// The peer a group's messages are filed under: `#` and its id.
pub fn group_peer(id: &str) -> String {
    format!("#{id}")
}

/// Why a group operation was refused; shown to the user.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    /// No such group.
    #[error("no group with id {0}")]
    Unknown(String),
    /// This user is no longer a member.
    #[error("you are no longer a member of this group ({0})")]
    NotAMember(String),
    /// The change needs an admin.
    #[error("only an admin of the group can do that")]
    NotAnAdmin,
    /// A user to add is not a contact.
    #[error("{0} is not a contact; add their card first")]
    NotAContact(String),
    /// Nothing would change.
    #[error("{0}")]
    Nothing(String),
    /// The name is empty, too long or has control characters.
    #[error("a group name is 1 to 64 bytes without control characters")]
    BadName,
    /// Too many members.
    #[error("a group has at most 1,001 members")]
    TooMany,
}

/// Loads a group's rosters into a log; `None` for an unknown group.
fn load_log(c: &Connection, id: &str) -> StoreResult<Option<GroupLog>> {
    // Accepted ones first, in the order they were accepted (each after its
    // parent; the first is where this member's history starts), then those
    // still waiting: replaying gives the same log whatever else was stored.
    // A group of which only changes arrived (they wait for its first
    // roster or a join) is not known yet.
    let mut stmt = c.prepare_cached(
        "SELECT text, sender, received_at, accepted FROM group_rosters WHERE group_id = ?1
         ORDER BY accepted DESC, seq",
    )?;
    let rows: Vec<(String, String, i64, bool)> = stmt
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    let mut rows = rows.into_iter().map(|(t, s, at, _)| (t, s, at));
    let Some((first, sender, _)) = rows.next() else {
        return Ok(None);
    };
    if !c.query_row(
        "SELECT EXISTS (SELECT 1 FROM group_rosters WHERE group_id = ?1 AND accepted = 1)",
        [id],
        |r| r.get::<_, bool>(0),
    )? {
        return Ok(None);
    }
    let mut log = GroupLog::resume(&first, &sender)
        .map_err(|e| StoreError::Corrupt(format!("first roster of group {id}: {e}")))?;
    for (text, sender, at) in rows {
        // Only rosters that counted or waited were stored.
        let _ = log.offer(&text, &sender, at as u64);
    }
    Ok(Some(log))
}

fn store_roster(tx: &Transaction<'_>, id: &str, text: &str, sender: &str) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR IGNORE INTO group_rosters (group_id, hash, text, sender, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            id,
            RosterHash::of(text.as_bytes()).to_hex(),
            text,
            sender,
            now_ms() as i64
        ],
    )?;
    Ok(())
}

/// Keeps a change whose parent is not known yet: at most
/// [`crate::groups::log::MAX_WAITING`] per group (the oldest beyond are
/// dropped and counted), until [`expire_waiting`] drops it.
fn store_waiting(tx: &Transaction<'_>, id: &str, text: &str, sender: &str) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR IGNORE INTO group_rosters (group_id, hash, text, sender, received_at, accepted)
         VALUES (?1, ?2, ?3, ?4, ?5, 0)",
        params![
            id,
            RosterHash::of(text.as_bytes()).to_hex(),
            text,
            sender,
            now_ms() as i64
        ],
    )?;
    let over = tx.execute(
        "DELETE FROM group_rosters WHERE group_id = ?1 AND accepted = 0 AND seq NOT IN
           (SELECT seq FROM group_rosters WHERE group_id = ?1 AND accepted = 0
            ORDER BY seq DESC LIMIT ?2)",
        params![id, crate::groups::log::MAX_WAITING as i64],
    )?;
    bump(tx, DropReason::BadRoster, over as u64)
}

/// Marks rosters that waited and now counted, moving each after every row
/// so far: replayed in `seq` order, each comes after its parent.
fn mark_accepted(tx: &Transaction<'_>, id: &str, hashes: &[RosterHash]) -> rusqlite::Result<()> {
    for h in hashes {
        tx.execute(
            "UPDATE group_rosters SET accepted = 1,
                    seq = (SELECT max(seq) + 1 FROM group_rosters)
             WHERE group_id = ?1 AND hash = ?2 AND accepted = 0",
            params![id, h.to_hex()],
        )?;
    }
    Ok(())
}

fn group_view(c: &Connection, me: &str, id: &str) -> StoreResult<Option<GroupView>> {
    Ok(c.query_row(
        "SELECT name, version, state,
                coalesce((SELECT admin FROM group_members WHERE group_id = ?1 AND user = ?2), 0),
                (SELECT count(*) FROM group_members WHERE group_id = ?1)
         FROM groups WHERE id = ?1",
        params![id, me],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, bool>(3)?,
                r.get::<_, i64>(4)?,
            ))
        },
    )
    .optional()?
    .map(|(name, version, state, admin, members)| GroupView {
        id: id.to_owned(),
        name,
        version: version as u64,
        state: state.parse().unwrap_or(GroupState::Removed),
        admin,
        members: members as u32,
    }))
}

/// One line per change between two rosters, as the history shows it.
fn describe(before: &Roster, after: &Roster, by: &str) -> Vec<String> {
    let edit = Edit::between(before, after);
    let mut lines = Vec::new();
    for card in &edit.add {
        lines.push(format!("{by} added {}", card.user()));
    }
    for user in &edit.remove {
        if user == by {
            lines.push(format!("{user} left"));
        } else {
            lines.push(format!("{by} removed {user}"));
        }
    }
    for user in &edit.promote {
        lines.push(format!("{user} is now an admin"));
    }
    for user in &edit.demote {
        lines.push(format!("{user} is no longer an admin"));
    }
    if let Some(name) = &edit.rename {
        lines.push(format!("{by} renamed the group to {name}"));
    }
    lines
}

/// Writes the snapshot of `log`'s current roster, the history lines and the
/// events, and lets waiting messages in. `before` is the roster followed
/// until now (none for a new group).
fn refresh(
    tx: &Transaction<'_>,
    me: &str,
    log: &GroupLog,
    before: Option<&Roster>,
    events: &mut Vec<EventEnvelope>,
) -> StoreResult<()> {
    let id = log.group().to_owned();
    let (head_hash, head) = log.head();
    let old_state: Option<String> = tx
        .query_row("SELECT state FROM groups WHERE id = ?1", [&id], |r| {
            r.get(0)
        })
        .optional()?;
    let state = if head.is_member(me) {
        GroupState::Member
    } else if old_state.as_deref() == Some("left") || head.author == me {
        GroupState::Left
    } else {
        GroupState::Removed
    };
    tx.execute(
        "INSERT INTO groups (id, name, state, version, head, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET name = ?2, state = ?3, version = ?4, head = ?5",
        params![id, head.name, state.as_str(), head.version as i64, head_hash.to_hex(), now_ms() as i64],
    )?;
    // Who introduced each member: the author of the roster it joined in.
    let chain = log.chain();
    let introduced = |since: u64| {
        chain
            .iter()
            .filter_map(|h| log.roster(h))
            .find(|r| r.version == since)
            .map(|r| r.author.clone())
            .unwrap_or_default()
    };
    tx.execute("DELETE FROM group_members WHERE group_id = ?1", [&id])?;
    for (user, m) in &head.members {
        tx.execute(
            "INSERT INTO group_members (group_id, user, card, fingerprint, admin, since, introduced_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                id,
                user,
                m.card.to_json(),
                m.card.fingerprint().to_hex(),
                head.is_admin(user),
                m.since as i64,
                introduced(m.since)
            ],
        )?;
    }
    let lines = match before {
        None => vec![format!("{} created the group {}", head.author, head.name)],
        Some(old) => describe(old, head, &head.author),
    };
    let now = now_ms();
    for line in &lines {
        system_line(tx, me, &id, &head.author, line, now, events)?;
    }
    let view = group_view(tx, me, &id)?.expect("just written");
    let was_member = old_state.as_deref().is_none_or(|s| s == "member");
    if was_member && state != GroupState::Member {
        // Queued group texts will never go out now.
        // Its own queue (`#G`) and items retried alone (`#G~ID`).
        let queued: Vec<String> = tx
            .prepare(
                "SELECT id FROM outbox WHERE kind = 'text' AND (peer = ?1 OR peer LIKE ?1 || '~%')",
            )?
            .query_map([group_peer(&id)], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for msg in queued {
            super::outbox::set_out_state(
                tx,
                &msg,
                &group_peer(&id),
                MessageState::Failed,
                Some("you are no longer a member of the group"),
                events,
            )?;
        }
        tx.execute(
            "DELETE FROM outbox WHERE kind = 'text' AND (peer = ?1 OR peer LIKE ?1 || '~%')",
            [group_peer(&id)],
        )?;
        push_event(
            tx,
            events,
            Event::GroupRemoved(GroupRemovedEvent {
                group: view,
                by: head.author.clone(),
            }),
        )?;
    } else {
        push_event(
            tx,
            events,
            Event::GroupUpdated(GroupUpdatedEvent {
                group: view,
                changes: lines,
            }),
        )?;
    }
    release_waiting(tx, me, &id, events)?;
    Ok(())
}

/// A line in the group's history ("alice added carol"), already read.
fn system_line(
    tx: &Transaction<'_>,
    me: &str,
    id: &str,
    by: &str,
    line: &str,
    now: u64,
    events: &mut Vec<EventEnvelope>,
) -> rusqlite::Result<()> {
    let msg_id = new_message_id();
    let peer = group_peer(id);
    tx.execute(
        "INSERT INTO messages (id, peer, direction, sender, recipient, ts, received_at, kind, body, state)
         VALUES (?1, ?2, 'in', ?3, ?4, ?5, ?5, 'system', ?6, 'read')",
        params![msg_id, peer, by, me, now as i64, line],
    )?;
    let view = MessageView {
        id: msg_id,
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
        group: Some(id.to_owned()),
        deliveries: Vec::new(),
    };
    push_event(
        tx,
        events,
        Event::MessageReceived(MessageReceivedEvent { message: view }),
    )
}

/// A group text as it arrived.
pub(super) struct GroupText<'a> {
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
}

/// Files a group text from a member: history, event, delivered receipt owed.
/// Returns false when `from` is not a member of the group as this user
/// follows it (the caller lets it wait).
pub(super) fn file_group_text(
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
         VALUES (?1, ?2, 'in', ?3, ?4, ?5, ?6, 'text', ?7, ?8, 'delivered')",
        params![id, peer, from, me, ts as i64, now_ms() as i64, body, reply_to],
    )?;
    let view = MessageView {
        id: id.to_owned(),
        from: from.to_owned(),
        to: me.to_owned(),
        ts,
        direction: Direction::In,
        kind: "text".into(),
        body: Some(body.to_owned()),
        reply_to: reply_to.map(str::to_owned),
        state: MessageState::Delivered,
        failure: None,
        seq: tx.last_insert_rowid() as u64,
        truncated: false,
        group: Some(group.to_owned()),
        deliveries: Vec::new(),
    };
    push_event(
        tx,
        events,
        Event::MessageReceived(MessageReceivedEvent { message: view }),
    )?;
    owe(tx, from, OutgoingKind::Delivered, &[id.to_owned()])?;
    Ok(true)
}

/// Keeps a group text from someone not (yet) a member, within bounds.
pub(super) fn wait_for_roster(tx: &Transaction<'_>, text: &GroupText<'_>) -> rusqlite::Result<()> {
    let GroupText {
        group,
        from,
        id,
        ts,
        body,
        reply_to,
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
pub(super) fn expire_waiting(tx: &Transaction<'_>) -> rusqlite::Result<()> {
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
fn release_waiting(
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
        };
        if file_group_text(tx, me, &text, events)? {
            tx.execute("DELETE FROM group_waiting WHERE seq = ?1", [seq])?;
        }
    }
    Ok(())
}

/// Each member's delivery of our group message `id`, by username.
pub(super) fn deliveries(c: &Connection, id: &str) -> rusqlite::Result<Vec<DeliveryView>> {
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
pub(super) fn group_receipt(
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
    super::outbox::set_out_state_or_tell(tx, id, &peer, target, events)?;
    Ok(())
}

/// Records what the relay did with a group envelope for each of its
/// recipients (`id`'s deliveries): stored ones are `sent`, ones with no
/// account `failed`; those whose mailbox was full stay `queued`.
pub(super) fn record_put(
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

/// Applies a roster received from `from` in a synced batch. A roster that
/// does not count is counted as `bad_roster`.
pub(super) fn receive_roster(
    tx: &Transaction<'_>,
    me: &str,
    from: &str,
    group: &str,
    text: &str,
    parent_text: Option<&str>,
    events: &mut Vec<EventEnvelope>,
) -> StoreResult<()> {
    let refused = |tx: &Transaction<'_>, e: RosterError| -> StoreResult<()> {
        tracing::info!(%group, %from, error = %e, "dropped a roster");
        bump(tx, DropReason::BadRoster, 1)?;
        Ok(())
    };
    let Some(mut log) = load_log(tx, group)? else {
        // A group new to us: its first roster from a contact, or a change
        // adding us with its parent (docs/PROTOCOL.md §9.3).
        let is_contact: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM contacts WHERE user = ?1)",
            [from],
            |r| r.get(0),
        )?;
        if !is_contact {
            return refused(tx, RosterError::NotAnAdmin);
        }
        let log = match parent_text {
            // A change before the roster it follows (a retry overtook it):
            // it waits for it, bounded like any waiting change.
            None if Roster::parse(text.as_bytes()).is_ok_and(|r| r.parent.is_some()) => {
                store_waiting(tx, group, text, from)?;
                return Ok(());
            }
            None => match GroupLog::start(text, from) {
                Ok(log) => log,
                Err(e) => return refused(tx, e),
            },
            Some(parent) => match GroupLog::joined(parent, text, from, me) {
                Ok(log) => log,
                Err(e) => return refused(tx, e),
            },
        };
        if log.group() != group || !log.head().1.is_member(me) {
            return refused(tx, RosterError::Malformed("not a group of ours"));
        }
        let (anchor_hash, anchor_text) = log.anchor();
        let anchor_sender = log.sender(&anchor_hash).unwrap_or_default().to_owned();
        store_roster(tx, group, anchor_text, &anchor_sender)?;
        let joined_from = if parent_text.is_some() {
            store_roster(tx, group, text, from)?;
            log.roster(&anchor_hash).cloned()
        } else {
            None
        };
        // Changes that came before it, and wait for it.
        let mut log = log;
        let waiting: Vec<(String, String)> = tx
            .prepare(
                "SELECT text, sender FROM group_rosters WHERE group_id = ?1 AND accepted = 0 ORDER BY seq",
            )?
            .query_map([group], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (t, s) in waiting {
            if let Ok(Offered::Accepted(hashes)) = log.offer(&t, &s, now_ms()) {
                mark_accepted(tx, group, &hashes)?;
            }
        }
        refresh(tx, me, &log, joined_from.as_ref(), events)?;
        return Ok(());
    };
    if log.group() != group {
        return refused(tx, RosterError::NotAChild);
    }
    let before = log.head().1.clone();
    match log.offer(text, from, now_ms()) {
        Err(e) => refused(tx, e),
        Ok(Offered::Duplicate) => Ok(()),
        Ok(Offered::Waiting) => {
            // A change that adds me, with its parent, from an admin of the
            // roster I follow (or anyone's, if I am out of the group): I was
            // added on top of a roster I never got (a concurrent change
            // won, or I was away). Start my history again from that parent,
            // as a new member does (docs/PROTOCOL.md §9.3).
            let vouched = before.is_admin(from) || !before.is_member(me);
            if let (Some(parent), true) = (parent_text, vouched)
                && let Ok(joined) = GroupLog::joined(parent, text, from, me)
                && joined.group() == group
            {
                tx.execute("DELETE FROM group_rosters WHERE group_id = ?1", [group])?;
                let (anchor, anchor_text) = joined.anchor();
                store_roster(
                    tx,
                    group,
                    anchor_text,
                    joined.sender(&anchor).unwrap_or_default(),
                )?;
                store_roster(tx, group, text, from)?;
                refresh(tx, me, &joined, Some(&before), events)?;
                return Ok(());
            }
            store_waiting(tx, group, text, from)?;
            Ok(())
        }
        Ok(Offered::Accepted(hashes)) => {
            store_roster(tx, group, text, from)?;
            mark_accepted(tx, group, &hashes)?;
            if log.head().1 != &before {
                refresh(tx, me, &log, Some(&before), events)?;
            }
            // A change of ours lost a fork: make it again on the winner.
            // One that cannot be made (too many members, say) is given up,
            // never a reason to refuse the batch.
            if let Some(next) = log.rebase_for(me) {
                if next.members.len() > ipc_schema::envelope_v2::MAX_RECIPIENTS + 1 {
                    tracing::warn!(%group, "a change of ours lost a fork and would now be too large");
                } else {
                    commit_change(tx, me, &mut log, next, events)?;
                }
            }
            Ok(())
        }
    }
}

/// Who gets a roster change: everyone in the parent or in the change, but
/// me; their cards (JSON), as the rosters name them.
fn change_recipients(parent: &Roster, next: &Roster, me: &str) -> Vec<String> {
    let mut cards: std::collections::BTreeMap<&str, String> = std::collections::BTreeMap::new();
    for (user, m) in parent.members.iter().chain(&next.members) {
        if user != me {
            cards.entry(user).or_insert_with(|| m.card.to_json());
        }
    }
    cards.into_values().collect()
}

/// Queues a roster for the cards (JSON) in `recipients` (a v2 envelope,
/// docs/PROTOCOL.md §9.5).
fn queue_roster(
    tx: &Transaction<'_>,
    group: &str,
    text: &str,
    parent_text: Option<&str>,
    recipients: &[String],
) -> StoreResult<()> {
    if recipients.is_empty() {
        return Ok(());
    }
    let payload = Payload::Roster {
        group: group.to_owned(),
        roster: text.to_owned(),
        parent_roster: parent_text.map(str::to_owned),
    }
    .to_json()
    .map_err(|e| StoreError::Corrupt(format!("roster payload: {e}")))?;
    let now = now_ms() as i64;
    tx.execute(
        "INSERT INTO outbox (id, peer, kind, payload, next_attempt_at, created_at, recipients)
         VALUES (?1, ?2, 'roster', ?3, ?4, ?4, ?5)",
        params![
            new_message_id(),
            group_peer(group),
            String::from_utf8(payload).expect("payload JSON is UTF-8"),
            now,
            serde_json::to_string(recipients).expect("names serialize")
        ],
    )?;
    Ok(())
}

/// Commits `next` (a change of ours on top of `log`'s head) and queues it.
fn commit_change(
    tx: &Transaction<'_>,
    me: &str,
    log: &mut GroupLog,
    next: Roster,
    events: &mut Vec<EventEnvelope>,
) -> StoreResult<()> {
    let (head_hash, head) = log.head();
    let head = head.clone();
    let parent_text = log.text(&head_hash).unwrap_or_default().to_owned();
    let text = next.to_text();
    match log.offer(&text, me, now_ms()) {
        Ok(Offered::Accepted(_)) => {}
        other => {
            return Err(StoreError::Corrupt(format!(
                "own roster change did not count: {other:?}"
            )));
        }
    }
    store_roster(tx, log.group(), &text, me)?;
    refresh(tx, me, log, Some(&head), events)?;
    let adds = next.members.keys().any(|u| !head.is_member(u));
    let recipients = change_recipients(&head, &next, me);
    queue_roster(
        tx,
        log.group(),
        &text,
        adds.then_some(parent_text.as_str()),
        &recipients,
    )
}

impl Store {
    /// Creates a group of `me` (card `me_card`) with contacts `members`.
    pub fn create_group(
        &self,
        me_card: &Card,
        id: &str,
        name: &str,
        members: &[String],
    ) -> StoreResult<Result<Committed<GroupView>, GroupError>> {
        self.with(|c| {
            let tx = c.transaction()?;
            if !crate::groups::roster::is_valid_name(name) {
                return Ok(Err(GroupError::BadName));
            }
            if members.len() > ipc_schema::envelope_v2::MAX_RECIPIENTS {
                return Ok(Err(GroupError::TooMany));
            }
            let mut cards = Vec::new();
            for user in members {
                if user == me_card.user() {
                    continue;
                }
                match contact_card(&tx, user)? {
                    Some(card) => cards.push(card),
                    None => return Ok(Err(GroupError::NotAContact(user.clone()))),
                }
            }
            let roster = Roster::genesis(id, name, me_card, &cards);
            let text = roster.to_text();
            let log = GroupLog::start(&text, me_card.user())
                .map_err(|e| StoreError::Corrupt(format!("own first roster: {e}")))?;
            let mut events = Vec::new();
            store_roster(&tx, id, &text, me_card.user())?;
            refresh(&tx, me_card.user(), &log, None, &mut events)?;
            let recipients: Vec<String> = cards.iter().map(Card::to_json).collect();
            queue_roster(&tx, id, &text, None, &recipients)?;
            let view = group_view(&tx, me_card.user(), id)?.expect("just created");
            tx.commit()?;
            Ok(Ok(Committed::new(view, events)))
        })
    }

    /// Changes a group as `me`: `edit` (admins only), or leaving it.
    pub fn change_group(
        &self,
        me: &str,
        id: &str,
        change: GroupChange,
    ) -> StoreResult<Result<Committed<GroupView>, GroupError>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let Some(mut log) = load_log(&tx, id)? else {
                return Ok(Err(GroupError::Unknown(id.to_owned())));
            };
            let (head_hash, head) = log.head();
            let head = head.clone();
            if !head.is_member(me) {
                return Ok(Err(GroupError::NotAMember(head.name.clone())));
            }
            let next = match change {
                GroupChange::Leave => head.leave(head_hash, me),
                GroupChange::Edit(mut edit) => {
                    if !head.is_admin(me) {
                        return Ok(Err(GroupError::NotAnAdmin));
                    }
                    if edit
                        .edit
                        .rename
                        .as_deref()
                        .is_some_and(|n| !crate::groups::roster::is_valid_name(n))
                    {
                        return Ok(Err(GroupError::BadName));
                    }
                    for user in &edit.add_users {
                        if head.is_member(user) {
                            continue;
                        }
                        match contact_card(&tx, user)? {
                            Some(card) => edit.edit.add.push(card),
                            None => return Ok(Err(GroupError::NotAContact(user.clone()))),
                        }
                    }
                    for user in edit.edit.remove.iter().chain(&edit.edit.promote) {
                        if !head.is_member(user) {
                            return Ok(Err(GroupError::Nothing(format!("{user} is not a member"))));
                        }
                    }
                    let next = edit.edit.apply(&head, head_hash, me);
                    if next.members.len() > ipc_schema::envelope_v2::MAX_RECIPIENTS + 1 {
                        return Ok(Err(GroupError::TooMany));
                    }
                    next
                }
            };
            if next.members == head.members && next.admins == head.admins && next.name == head.name
            {
                return Ok(Err(GroupError::Nothing("nothing to change".into())));
            }
            let mut events = Vec::new();
            commit_change(&tx, me, &mut log, next, &mut events)?;
            let view = group_view(&tx, me, id)?.expect("known group");
            tx.commit()?;
            Ok(Ok(Committed::new(view, events)))
        })
    }

    /// Every group, by name.
    pub fn groups(&self, me: &str) -> StoreResult<Vec<GroupView>> {
        self.with(|c| {
            let ids: Vec<String> = c
                .prepare("SELECT id FROM groups ORDER BY name, id")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                out.extend(group_view(c, me, &id)?);
            }
            Ok(out)
        })
    }

    /// One group and its members.
    pub fn group_info(
        &self,
        me: &str,
        id: &str,
    ) -> StoreResult<Option<(GroupView, Vec<GroupMemberView>)>> {
        self.with(|c| {
            let Some(view) = group_view(c, me, id)? else {
                return Ok(None);
            };
            let members = c
                .prepare(
                    "SELECT m.user, m.admin, m.since, m.fingerprint, m.introduced_by,
                            k.fingerprint, coalesce(k.verified, 0)
                     FROM group_members m LEFT JOIN contacts k ON k.user = m.user
                     WHERE m.group_id = ?1 ORDER BY m.user",
                )?
                .query_map([id], |r| {
                    let user: String = r.get(0)?;
                    let fp: String = r.get(3)?;
                    let pinned: Option<String> = r.get(5)?;
                    let introduced: String = r.get(4)?;
                    // A card I pinned myself wins over one a roster introduced.
                    let fingerprint = pinned.clone().unwrap_or(fp);
                    Ok(GroupMemberView {
                        introduced_by: (pinned.is_none() && user != me && !introduced.is_empty())
                            .then_some(introduced),
                        fingerprint: Fingerprint::parse(&fingerprint)
                            .map_or(fingerprint, |f| f.grouped()),
                        verified: r.get(6)?,
                        admin: r.get(1)?,
                        since: r.get::<_, i64>(2)? as u64,
                        user,
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(Some((view, members)))
        })
    }

    /// The cards of everyone in a group this user is a member of, for
    /// opening their envelopes (the caller lets a pinned contact's card win).
    /// A name two groups give different cards is left out: one group's
    /// admin must not be able to speak for a member of another group by
    /// introducing a card of its own under that member's name.
    pub fn member_cards(&self) -> StoreResult<HashMap<String, Card>> {
        self.with(|c| {
            let rows: Vec<(String, String)> = c
                .prepare(
                    "SELECT m.user, min(m.card) FROM group_members m JOIN groups g ON g.id = m.group_id
                     WHERE g.state = 'member'
                     GROUP BY m.user HAVING count(DISTINCT m.fingerprint) = 1",
                )?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(rows
                .into_iter()
                .filter_map(|(u, card)| Card::from_json(card.as_bytes()).ok().map(|c| (u, c)))
                .collect())
        })
    }

    /// The members a group message goes to now (all but `me`), with the
    /// cards to seal to (a pinned contact's card wins); `None` unless this
    /// user is a member.
    pub fn group_recipients(&self, me: &str, id: &str) -> StoreResult<Option<Vec<Card>>> {
        self.with(|c| {
            let state: Option<String> = c
                .query_row("SELECT state FROM groups WHERE id = ?1", [id], |r| r.get(0))
                .optional()?;
            if state.as_deref() != Some("member") {
                return Ok(None);
            }
            let rows: Vec<(String, String)> = c
                .prepare(
                    "SELECT m.user, coalesce(k.card, m.card) FROM group_members m
                     LEFT JOIN contacts k ON k.user = m.user
                     WHERE m.group_id = ?1 AND m.user <> ?2 ORDER BY m.user",
                )?
                .query_map(params![id, me], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(Some(
                rows.into_iter()
                    .filter_map(|(_, card)| Card::from_json(card.as_bytes()).ok())
                    .collect(),
            ))
        })
    }

    /// Whether this user may send to the group now; the error says why not.
    pub fn group_sendable(&self, id: &str) -> StoreResult<Result<(), GroupError>> {
        self.with(|c| {
            let row: Option<(String, String)> = c
                .query_row("SELECT state, name FROM groups WHERE id = ?1", [id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            Ok(match row {
                None => Err(GroupError::Unknown(id.to_owned())),
                Some((state, _)) if state == "member" => Ok(()),
                Some((_, name)) => Err(GroupError::NotAMember(name)),
            })
        })
    }
}

/// A change `group.*` asks for.
pub enum GroupChange {
    /// An admin's edit; `add_users` are contacts to add (their cards are
    /// looked up in the transaction).
    Edit(AdminEdit),
    /// Leaving the group.
    Leave,
}

/// An admin's edit before the cards of added users are known.
#[derive(Default)]
pub struct AdminEdit {
    /// Contacts to add.
    pub add_users: Vec<String>,
    /// Everything else.
    pub edit: Edit,
}

fn contact_card(tx: &Transaction<'_>, user: &str) -> StoreResult<Option<Card>> {
    let card: Option<String> = tx
        .query_row("SELECT card FROM contacts WHERE user = ?1", [user], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(card.and_then(|c| Card::from_json(c.as_bytes()).ok()))
}
