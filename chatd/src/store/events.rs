//! The event log: every event frontends hear is a row here first, so
//! `subscribe {after}` can replay exactly what happened. Old events are
//! pruned by a retention setting, and asking for pruned ones is an error,
//! never a silent gap (docs/IPC.md §6).

use ipc_schema::jsonrpc::Notification;
use ipc_schema::methods::{ConnectionChangedEvent, Event, EventEnvelope};
use rusqlite::{OptionalExtension, Transaction, params};

use super::{Committed, Store, StoreResult, now_ms};

/// How long events are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Events older than this many days are pruned.
    pub days: u32,
    /// When set, only the newest this many events are kept.
    pub count: Option<u64>,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            days: 30,
            count: None,
        }
    }
}

/// The key in `meta` of the highest pruned sequence number.
const PRUNED_THROUGH: &str = "events_pruned_through";

/// The event's own fields as JSON (seq and ts are added when it is sent).
fn event_fields(event: &Event) -> String {
    match event {
        Event::MessageReceived(e) => serde_json::to_string(e),
        Event::MessageState(e) => serde_json::to_string(e),
        Event::ContactChanged(e) => serde_json::to_string(e),
        Event::ConnectionChanged(e) => serde_json::to_string(e),
        Event::GroupUpdated(e) => serde_json::to_string(e),
        Event::GroupRemoved(e) => serde_json::to_string(e),
        Event::DeviceAdded(e) => serde_json::to_string(e),
        Event::DeviceGone(e) => serde_json::to_string(e),
        Event::MessageChanged(e) => serde_json::to_string(e),
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

/// Writes `event` in `tx` and adds it, with its sequence number, to `events`.
pub(super) fn push_event(
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

/// Why events after a sequence number cannot be replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expired {
    /// The oldest event still kept (the next one to be written when none is).
    pub oldest_seq: u64,
}

impl Store {
    /// Records a connection change as an event.
    pub fn connection_event(&self, event: ConnectionChangedEvent) -> StoreResult<Committed<()>> {
        self.record_event(Event::ConnectionChanged(event))
    }

    /// Records an event that changes nothing else in the store.
    pub fn record_event(&self, event: Event) -> StoreResult<Committed<()>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let mut events = Vec::new();
            push_event(&tx, &mut events, event)?;
            tx.commit()?;
            Ok(Committed::new((), events))
        })
    }

    /// Events after `after`, oldest first, at most `limit`; `Err` when some
    /// of the events after `after` were pruned.
    pub fn events_after(
        &self,
        after: u64,
        limit: usize,
    ) -> StoreResult<Result<Vec<EventEnvelope>, Expired>> {
        self.with(|c| {
            let pruned: Option<i64> = c
                .query_row(
                    "SELECT value FROM meta WHERE key = ?1",
                    [PRUNED_THROUGH],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(pruned) = pruned
                && after < pruned as u64
            {
                let oldest: Option<i64> =
                    c.query_row("SELECT min(seq) FROM events", [], |r| r.get(0))?;
                return Ok(Err(Expired {
                    oldest_seq: oldest.map_or(pruned as u64 + 1, |s| s as u64),
                }));
            }
            let mut stmt = c.prepare_cached(
                "SELECT seq, ts, name, params FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows: Vec<(i64, i64, String, String)> = stmt
                .query_map(params![after as i64, limit as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect::<Result<_, _>>()?;
            Ok(Ok(rows
                .into_iter()
                .filter_map(|(seq, ts, name, fields)| {
                    decode_event(seq as u64, ts as u64, name, &fields)
                })
                .collect()))
        })
    }

    /// The newest event's sequence number (0 when none).
    pub fn last_event_seq(&self) -> StoreResult<u64> {
        self.with(|c| {
            // AUTOINCREMENT keeps counting after a prune: sqlite_sequence
            // knows the last seq even when the table is empty.
            let last: Option<i64> = c
                .query_row(
                    "SELECT seq FROM sqlite_sequence WHERE name = 'events'",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(last.unwrap_or(0) as u64)
        })
    }

    /// Deletes the events `retention` no longer keeps and remembers up to
    /// where, so a later `subscribe {after}` below it is refused. Returns how
    /// many were deleted.
    pub fn prune_events(&self, retention: Retention, now: u64) -> StoreResult<u64> {
        self.with(|c| {
            let tx = c.transaction()?;
            let cutoff = now.saturating_sub(u64::from(retention.days) * 86_400_000) as i64;
            let by_age: Option<i64> =
                tx.query_row("SELECT max(seq) FROM events WHERE ts < ?1", [cutoff], |r| {
                    r.get(0)
                })?;
            let by_count: Option<i64> = match retention.count {
                Some(keep) => tx.query_row(
                    "SELECT max(seq) - ?1 FROM events",
                    [keep.min(i64::MAX as u64) as i64],
                    |r| r.get(0),
                )?,
                None => None,
            };
            let Some(through) = by_age.max(by_count).filter(|s| *s > 0) else {
                return Ok(0);
            };
            let deleted = tx.execute("DELETE FROM events WHERE seq <= ?1", [through])?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = max(value, ?2)",
                params![PRUNED_THROUGH, through],
            )?;
            tx.commit()?;
            Ok(deleted as u64)
        })
    }
}
