//! Queries of the reader connections. Each takes a read-only connection and
//! runs on a blocking thread (`SqliteStore::read`).

use rusqlite::{Connection, OptionalExtension, params};

use crate::store::{Account, DeviceInfo, FetchFilter, Session};

pub(super) fn account(c: &Connection, username: &str) -> rusqlite::Result<Option<Account>> {
    c.prepare_cached("SELECT username, password_hash, card FROM accounts WHERE username = ?1")?
        .query_row([username], |r| {
            Ok(Account {
                username: r.get(0)?,
                password_hash: r.get(1)?,
                card: r.get(2)?,
            })
        })
        .optional()
}

pub(super) fn session(c: &Connection, token_hash: &str) -> rusqlite::Result<Option<Session>> {
    c.prepare_cached("SELECT username, device_id, expires_at FROM sessions WHERE token_hash = ?1")?
        .query_row([token_hash], |r| {
            Ok(Session {
                username: r.get(0)?,
                device_id: r.get(1)?,
                expires_at: r.get::<_, i64>(2)? as u64,
            })
        })
        .optional()
}

/// A `devices` row read as `device_id, name, created_at, last_seen, gone_at, gone`.
pub(super) fn device_info(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceInfo> {
    Ok(DeviceInfo {
        id: r.get(0)?,
        name: r.get(1)?,
        created_at: r.get::<_, i64>(2)? as u64,
        last_seen: r.get::<_, i64>(3)? as u64,
        gone_at: r.get::<_, Option<i64>>(4)?.map(|t| t as u64),
        gone: r.get(5)?,
    })
}

pub(super) fn devices(
    c: &Connection,
    username: &str,
    gone_since: u64,
) -> rusqlite::Result<Vec<DeviceInfo>> {
    c.prepare_cached(
        "SELECT device_id, name, created_at, last_seen, gone_at, gone FROM devices
         WHERE username = ?1 AND (gone_at IS NULL OR gone_at >= ?2)
         ORDER BY gone_at IS NOT NULL, created_at, device_id",
    )?
    .query_map(
        params![username, gone_since.min(i64::MAX as u64) as i64],
        device_info,
    )?
    .collect()
}

pub(super) fn list_users(
    c: &Connection,
    prefix: &str,
    after: &str,
    limit: usize,
) -> rusqlite::Result<Vec<String>> {
    // A range, not LIKE: `_` is a username character and a LIKE wildcard.
    // Every username character sorts below '~'.
    c.prepare_cached(
        "SELECT username FROM accounts WHERE username >= ?1 AND username < ?1 || '~'
           AND username > ?2 ORDER BY username LIMIT ?3",
    )?
    .query_map(params![prefix, after, limit as i64], |r| r.get(0))?
    .collect()
}

/// The recipient's pending bodies in arrival order, stopping at the filter's
/// count or byte budget (at least one body is returned when any matches).
/// `since` and `until` must already fit in an i64 (`SqliteStore::fetch`).
pub(super) fn fetch(
    c: &Connection,
    recipient: &str,
    device: &str,
    filter: &FetchFilter,
) -> rusqlite::Result<Vec<Vec<u8>>> {
    let mut stmt = c.prepare_cached(
        "SELECT m.body, b.common FROM copies c
         JOIN mailbox m ON m.seq = c.seq
         LEFT JOIN bodies b ON b.body_id = m.shared
         WHERE c.username = ?1 AND c.device_id = ?6
           AND (?2 IS NULL OR m.sender = ?2)
           AND (?3 IS NULL OR m.ts >= ?3)
           AND (?4 IS NULL OR m.ts < ?4)
         ORDER BY c.seq LIMIT ?5",
    )?;
    let rows = stmt.query_map(
        params![
            recipient,
            filter.from,
            filter.since.map(|t| t as i64),
            filter.until.map(|t| t as i64),
            filter.limit as i64,
            device
        ],
        assemble,
    )?;
    // Read lazily: rows past the byte budget are never read.
    let mut failed = None;
    let bodies = rows.map_while(|row| row.map_err(|e| failed = Some(e)).ok());
    let out = crate::store::within_budget(bodies, filter.max_bytes);
    match failed {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

pub(super) fn envelope(
    c: &Connection,
    recipient: &str,
    device: &str,
    id: &str,
) -> rusqlite::Result<Option<Vec<u8>>> {
    c.prepare_cached(
        "SELECT m.body, b.common FROM copies c
         JOIN mailbox m ON m.seq = c.seq
         LEFT JOIN bodies b ON b.body_id = m.shared
         WHERE c.username = ?1 AND c.device_id = ?3 AND m.id = ?2 ORDER BY c.seq LIMIT 1",
    )?
    .query_row(params![recipient, id, device], assemble)
    .optional()
}

/// A row's envelope as the recipient gets it (`store::assemble`).
fn assemble(r: &rusqlite::Row<'_>) -> rusqlite::Result<Vec<u8>> {
    Ok(crate::store::assemble(r.get(0)?, r.get(1)?))
}
