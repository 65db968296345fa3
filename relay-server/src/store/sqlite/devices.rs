//! Devices in the writer's transaction (docs/RELAY.md, "Devices"): adding
//! one, which devices get a copy of an envelope, retiring a device, and
//! releasing envelopes no device still has to fetch.

use rusqlite::{Connection, OptionalExtension, params};

use crate::store::DeviceInfo;

/// Adds an active device, seen now.
pub(super) fn add_device(
    conn: &Connection,
    username: &str,
    device_id: &str,
    name: &str,
    now: i64,
) -> rusqlite::Result<DeviceInfo> {
    conn.prepare_cached(
        "INSERT INTO devices (username, device_id, name, created_at, last_seen)
         VALUES (?1, ?2, ?3, ?4, ?4)",
    )?
    .execute(params![username, device_id, name, now])?;
    Ok(DeviceInfo {
        id: device_id.to_owned(),
        name: name.to_owned(),
        created_at: now as u64,
        last_seen: now as u64,
        gone_at: None,
        gone: None,
    })
}

/// One device, by a query taking (username, id or NULL).
pub(super) fn device_row(
    conn: &Connection,
    sql: &str,
    username: &str,
    id: Option<&str>,
) -> rusqlite::Result<Option<DeviceInfo>> {
    conn.prepare_cached(sql)?
        .query_row(params![username, id], super::read::device_info)
        .optional()
}

pub(super) fn active_devices(conn: &Connection, username: &str) -> rusqlite::Result<usize> {
    conn.prepare_cached("SELECT count(*) FROM devices WHERE username = ?1 AND gone_at IS NULL")?
        .query_row([username], |r| r.get::<_, i64>(0))
        .map(|n| n as usize)
}

/// How many devices get a copy of an envelope for `recipient`: its active
/// devices, less the sending device when it writes to its own account.
pub(super) fn copy_targets(
    conn: &Connection,
    recipient: &str,
    sender: &str,
    device: &str,
) -> rusqlite::Result<usize> {
    let skip = (recipient == sender).then_some(device);
    conn.prepare_cached(
        "SELECT count(*) FROM devices
         WHERE username = ?1 AND gone_at IS NULL AND device_id IS NOT ?2",
    )?
    .query_row(params![recipient, skip], |r| r.get::<_, i64>(0))
    .map(|n| n as usize)
}

/// Gives each target device (see [`copy_targets`]) a copy of mailbox row
/// `seq`; returns how many got one.
pub(super) fn add_copies(
    conn: &Connection,
    recipient: &str,
    sender: &str,
    device: &str,
    seq: i64,
) -> rusqlite::Result<usize> {
    let skip = (recipient == sender).then_some(device);
    conn.prepare_cached(
        "INSERT INTO copies (username, device_id, seq)
         SELECT username, device_id, ?3 FROM devices
         WHERE username = ?1 AND gone_at IS NULL AND device_id IS NOT ?2",
    )?
    .execute(params![recipient, skip, seq])
}

/// Marks a device revoked or expired: its sessions and copies go, and so
/// does every envelope that was waiting only for it.
pub(super) fn retire_device(
    conn: &Connection,
    username: &str,
    device_id: &str,
    why: &str,
    now: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE devices SET gone_at = ?3, gone = ?4 WHERE username = ?1 AND device_id = ?2",
    )?
    .execute(params![username, device_id, now, why])?;
    for table in ["sessions", "copies"] {
        conn.prepare_cached(&format!(
            "DELETE FROM {table} WHERE username = ?1 AND device_id = ?2"
        ))?
        .execute(params![username, device_id])?;
    }
    release_all(conn, username, now)
}

/// Deletes the user's envelopes with these ids that no device still has to
/// fetch (each id looked up by the (recipient, id) index), remembering each
/// as delivered so that a sender's retry is answered 200, and takes them off
/// the mailbox's count in one update.
pub(super) fn release_ids(
    conn: &Connection,
    username: &str,
    ids: &[&str],
    now: i64,
) -> rusqlite::Result<()> {
    let mut gone = Vec::new();
    let mut by_id = conn.prepare_cached(
        "DELETE FROM mailbox WHERE recipient = ?1 AND id = ?2
           AND NOT EXISTS (SELECT 1 FROM copies c WHERE c.seq = mailbox.seq)
         RETURNING sender, id, digest, size",
    )?;
    for id in ids {
        let rows = by_id.query_map(params![username, id], gone_row)?;
        for row in rows {
            gone.push(row?);
        }
    }
    forget_released(conn, username, &gone, now)
}

/// Like [`release_ids`] for every envelope of the user's (after a device
/// went: a scan of that one mailbox).
pub(super) fn release_all(conn: &Connection, username: &str, now: i64) -> rusqlite::Result<()> {
    let gone = conn
        .prepare_cached(
            "DELETE FROM mailbox WHERE recipient = ?1
               AND NOT EXISTS (SELECT 1 FROM copies c WHERE c.seq = mailbox.seq)
             RETURNING sender, id, digest, size",
        )?
        .query_map([username], gone_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    forget_released(conn, username, &gone, now)
}

type Gone = (String, String, Vec<u8>, i64);

fn gone_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Gone> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn forget_released(
    conn: &Connection,
    username: &str,
    gone: &[Gone],
    now: i64,
) -> rusqlite::Result<()> {
    if gone.is_empty() {
        return Ok(());
    }
    let mut remember = conn.prepare_cached(
        "INSERT OR REPLACE INTO delivered (sender, id, digest, acked_at, recipient)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut bytes = 0;
    for (sender, id, digest, size) in gone {
        remember.execute(params![sender, id, digest, now, username])?;
        bytes += size;
    }
    conn.prepare_cached(
        "UPDATE accounts SET pending_count = pending_count - ?2, pending_bytes = pending_bytes - ?3
         WHERE username = ?1",
    )?
    .execute(params![username, gone.len() as i64, bytes])?;
    Ok(())
}
