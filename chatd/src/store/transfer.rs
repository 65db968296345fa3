//! What a backup or a device link carries besides the keys and contacts
//! (docs/PROTOCOL.md §10.1, §12.5): the groups, as their rosters, and for a
//! link the message history; read out on one device and written in on a
//! new one.

use rusqlite::params;

use super::groups::import_group;
use super::{Committed, Store, StoreResult, now_ms};
use crate::crypto::backup::{BackupGroup, BackupRoster, HistoryItem};

/// The states and directions a history item may have.
const STATES: [&str; 5] = ["queued", "sent", "delivered", "read", "failed"];

impl Store {
    /// The groups this account is a member of, each with its accepted
    /// rosters in the order they were accepted.
    pub fn backup_groups(&self) -> StoreResult<Vec<BackupGroup>> {
        self.with(|c| {
            let ids: Vec<String> = c
                .prepare("SELECT id FROM groups WHERE state = 'member' ORDER BY id")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut stmt = c.prepare(
                "SELECT text, sender FROM group_rosters WHERE group_id = ?1 AND accepted = 1
                 ORDER BY seq",
            )?;
            let mut groups = Vec::with_capacity(ids.len());
            for id in ids {
                let rosters = stmt
                    .query_map([&id], |r| {
                        Ok(BackupRoster {
                            text: r.get(0)?,
                            sender: r.get(1)?,
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                groups.push(BackupGroup { id, rosters });
            }
            Ok(groups)
        })
    }

    /// The newest messages whose JSON stays within about `budget` bytes,
    /// oldest first, and how many there are in all.
    pub fn link_history(&self, budget: usize) -> StoreResult<(Vec<HistoryItem>, u64)> {
        self.with(|c| {
            let total: i64 = c.query_row("SELECT count(*) FROM messages", [], |r| r.get(0))?;
            let mut stmt = c.prepare(
                "SELECT id, peer, direction, sender, recipient, ts, kind, body, reply_to, state
                 FROM messages ORDER BY seq DESC",
            )?;
            let mut rows = stmt.query([])?;
            let mut items = Vec::new();
            let mut used = 0usize;
            while let Some(r) = rows.next()? {
                let item = HistoryItem {
                    id: r.get(0)?,
                    peer: r.get(1)?,
                    dir: r.get(2)?,
                    from: r.get(3)?,
                    to: r.get(4)?,
                    ts: r.get::<_, i64>(5)? as u64,
                    kind: r.get(6)?,
                    body: r.get(7)?,
                    reply_to: r.get(8)?,
                    state: r.get(9)?,
                };
                // Members' names and quotes: about 120 bytes besides the texts.
                let size = 120
                    + item.id.len()
                    + item.peer.len()
                    + item.from.len()
                    + item.to.len()
                    + item.body.as_ref().map_or(0, |b| b.len() * 6 / 5)
                    + item.reply_to.as_ref().map_or(0, String::len);
                if used + size > budget || items.len() == crate::crypto::backup::MAX_HISTORY {
                    break;
                }
                used += size;
                items.push(item);
            }
            items.reverse();
            Ok((items, total as u64))
        })
    }

    /// Writes the groups of a backup or link (each new one replayed from its
    /// rosters; those already here, or whose rosters do not replay, are
    /// left alone). Returns how many were added.
    pub fn import_groups(&self, me: &str, groups: &[BackupGroup]) -> StoreResult<Committed<usize>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let mut events = Vec::new();
            let mut added = 0;
            for group in groups {
                if import_group(&tx, me, group, &mut events)? {
                    added += 1;
                }
            }
            tx.commit()?;
            Ok(Committed::new(added, events))
        })
    }

    /// Writes a link's history: messages already here (same sender and id)
    /// and items with an unknown direction or state are skipped. Returns
    /// how many were written.
    pub fn import_history(&self, items: &[HistoryItem]) -> StoreResult<usize> {
        self.with(|c| {
            let tx = c.transaction()?;
            let mut written = 0;
            {
                let mut insert = tx.prepare(
                    "INSERT OR IGNORE INTO messages
                       (id, peer, direction, sender, recipient, ts, received_at, kind, body, reply_to, state)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )?;
                let now = now_ms() as i64;
                for m in items {
                    if !matches!(m.dir.as_str(), "in" | "out") || !STATES.contains(&m.state.as_str())
                    {
                        continue;
                    }
                    // Nothing of ours is still to be sent from here.
                    let state = if m.state == "queued" { "failed" } else { &m.state };
                    written += insert.execute(params![
                        m.id,
                        m.peer,
                        m.dir,
                        m.from,
                        m.to,
                        m.ts.min(i64::MAX as u64) as i64,
                        now,
                        m.kind,
                        m.body,
                        m.reply_to,
                        state
                    ])?;
                }
            }
            tx.commit()?;
            Ok(written)
        })
    }
}
