//! Blobs (docs/RELAY.md §5.5) in SQLite: who uploads each, who may read it
//! and how many of its bytes are durable. The bytes themselves are files
//! (`crate::blobs`); these rows only describe them.

use rusqlite::{Connection, OptionalExtension, params};

use crate::store::{Blob, BlobCreated, NewBlob, StoreError, StoreResult};

/// A blob write, applied in the writer's transaction.
pub(super) enum BlobOp {
    /// Record an upload under a quota of bytes.
    Create(NewBlob, u64),
    /// Set the durable length.
    SetStored { id: String, stored: u64 },
    /// Delete the owner's blob.
    Delete { owner: String, id: String },
    /// Delete expired blobs and stale incomplete uploads.
    Expire { now: u64, incomplete_before: u64 },
}

/// What a [`BlobOp`] answers.
pub(super) enum BlobOk {
    Created(BlobCreated),
    /// Whether a row was changed.
    Changed(bool),
    /// The ids deleted.
    Gone(Vec<String>),
}

/// Applies one blob write. Every check comes before the first write (see
/// `write::commit_batch`).
pub(super) fn apply(conn: &Connection, op: &BlobOp, now: u64) -> StoreResult<BlobOk> {
    match op {
        BlobOp::Create(blob, quota) => create(conn, blob, *quota, now).map(BlobOk::Created),
        BlobOp::SetStored { id, stored } => {
            let n = conn
                .prepare_cached("UPDATE blobs SET stored = ?2 WHERE id = ?1")?
                .execute(params![id, *stored as i64])?;
            Ok(BlobOk::Changed(n > 0))
        }
        BlobOp::Delete { owner, id } => {
            let n = conn
                .prepare_cached("DELETE FROM blobs WHERE id = ?1 AND owner = ?2")?
                .execute(params![id, owner])?;
            Ok(BlobOk::Changed(n > 0))
        }
        BlobOp::Expire {
            now,
            incomplete_before,
        } => {
            let gone = conn
                .prepare_cached(
                    "DELETE FROM blobs
                     WHERE expires_at <= ?1 OR (stored < size AND created_at < ?2)
                     RETURNING id",
                )?
                .query_map(params![*now as i64, *incomplete_before as i64], |r| {
                    r.get(0)
                })?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(BlobOk::Gone(gone))
        }
    }
}

fn create(conn: &Connection, blob: &NewBlob, quota: u64, now: u64) -> StoreResult<BlobCreated> {
    if let Some(existing) = read_blob(conn, &blob.id)? {
        let same = existing.owner == blob.owner
            && existing.size == blob.size
            && existing.readers == blob.readers
            && existing.expires_at > now;
        return if same {
            Ok(BlobCreated::Existing {
                stored: existing.stored,
            })
        } else {
            Err(StoreError::Conflict)
        };
    }
    let mut exists =
        conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM accounts WHERE username = ?1)")?;
    // The owner first: a write for a missing account must not fail the
    // batch on the foreign key (see `write::known_account`).
    if !exists.query_row([&blob.owner], |r| r.get::<_, bool>(0))? {
        return Err(StoreError::UnknownUser);
    }
    for reader in &blob.readers {
        if !exists.query_row([reader], |r| r.get::<_, bool>(0))? {
            return Err(StoreError::UnknownRecipient);
        }
    }
    let held: i64 = conn
        .prepare_cached(
            "SELECT COALESCE(sum(size), 0) FROM blobs WHERE owner = ?1 AND expires_at > ?2",
        )?
        .query_row(params![blob.owner, now as i64], |r| r.get(0))?;
    if (held as u64).saturating_add(blob.size) > quota {
        return Err(StoreError::QuotaExceeded);
    }
    conn.prepare_cached(
        "INSERT INTO blobs (id, owner, size, stored, created_at, expires_at)
         VALUES (?1, ?2, ?3, 0, ?4, ?5)",
    )?
    .execute(params![
        blob.id,
        blob.owner,
        blob.size as i64,
        now as i64,
        blob.expires_at.min(i64::MAX as u64) as i64
    ])?;
    let mut add = conn.prepare_cached("INSERT INTO blob_readers (id, username) VALUES (?1, ?2)")?;
    for reader in &blob.readers {
        add.execute(params![blob.id, reader])?;
    }
    Ok(BlobCreated::Created)
}

/// One blob with its readers, expired or not.
pub(super) fn read_blob(conn: &Connection, id: &str) -> rusqlite::Result<Option<Blob>> {
    let row = conn
        .prepare_cached(
            "SELECT owner, size, stored, created_at, expires_at FROM blobs WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok(Blob {
                id: id.to_owned(),
                owner: r.get(0)?,
                size: r.get::<_, i64>(1)? as u64,
                stored: r.get::<_, i64>(2)? as u64,
                readers: Vec::new(),
                created_at: r.get::<_, i64>(3)? as u64,
                expires_at: r.get::<_, i64>(4)? as u64,
            })
        })
        .optional()?;
    let Some(mut blob) = row else {
        return Ok(None);
    };
    blob.readers = conn
        .prepare_cached("SELECT username FROM blob_readers WHERE id = ?1 ORDER BY username")?
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(blob))
}

/// The ids of the owner's blobs.
pub(super) fn owned(conn: &Connection, owner: &str) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached("SELECT id FROM blobs WHERE owner = ?1")?
        .query_map([owner], |r| r.get(0))?
        .collect()
}
