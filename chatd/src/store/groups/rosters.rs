//! Rosters in the store: kept as received (accepted, or waiting for their
//! parent), replayed into a `GroupLog`, and what a new current roster does:
//! the members' snapshot, history lines, events, and the roster queued for
//! the members when the change is ours.

use ipc_schema::Payload;
use ipc_schema::methods::{
    DropReason, Event, EventEnvelope, GroupRemovedEvent, GroupState, GroupUpdatedEvent,
    MessageState,
};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::super::events::push_event;
use super::super::inbox::bump;
use super::super::{StoreError, StoreResult, new_message_id, now_ms};
use super::texts::release_waiting;
use super::{group_peer, group_view};
use crate::groups::{Edit, GroupLog, Offered, Roster, RosterError, RosterHash};

/// Loads a group's rosters into a log; `None` for an unknown group.
pub(super) fn load_log(c: &Connection, id: &str) -> StoreResult<Option<GroupLog>> {
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

pub(super) fn store_roster(
    tx: &Transaction<'_>,
    id: &str,
    text: &str,
    sender: &str,
) -> rusqlite::Result<()> {
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

/// One line per change between two rosters, as the history shows it.
fn describe(before: &Roster, after: &Roster, by: &str) -> Vec<String> {
    let edit = Edit::between(before, after);
    let mut lines = Vec::new();
    for (user, m) in &after.members {
        if before
            .members
            .get(user)
            .is_some_and(|old| old.card != m.card)
        {
            lines.push(format!(
                "{user} rotated their keys (signed by their previous key): new fingerprint {}",
                m.card.fingerprint().grouped()
            ));
        }
    }
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
pub(super) fn refresh(
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
            super::super::outbox::set_out_state(
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
    let peer = group_peer(id);
    super::super::quarantine::system_message(tx, me, &peer, by, line, now, Some(id), events)
}

/// Writes a group from a backup or a device link: its rosters as the other
/// device accepted them, replayed into a log. `false` (nothing written) for
/// a group already here, or rosters that do not make a log in which `me`
/// is a member.
pub(in crate::store) fn import_group(
    tx: &Transaction<'_>,
    me: &str,
    group: &crate::crypto::backup::BackupGroup,
    events: &mut Vec<EventEnvelope>,
) -> StoreResult<bool> {
    let known: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM group_rosters WHERE group_id = ?1)",
        [&group.id],
        |r| r.get(0),
    )?;
    if known {
        return Ok(false);
    }
    for r in &group.rosters {
        store_roster(tx, &group.id, &r.text, &r.sender)?;
    }
    let log = match load_log(tx, &group.id) {
        Ok(Some(log)) if log.group() == group.id && log.head().1.is_member(me) => log,
        _ => {
            tracing::warn!(group = %group.id, "a restored group's rosters do not replay; skipped");
            tx.execute("DELETE FROM group_rosters WHERE group_id = ?1", [&group.id])?;
            return Ok(false);
        }
    };
    refresh(tx, me, &log, None, events)?;
    Ok(true)
}

/// Applies a roster received from `from` in a synced batch. A roster that
/// does not count is counted as `bad_roster`.
pub(in crate::store) fn receive_roster(
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
        // This account's other devices create groups too (docs/PROTOCOL.md §11.1).
        if !is_contact && from != me {
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
pub(super) fn queue_roster(
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
pub(super) fn commit_change(
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
