//! Receipts owed to peers: delivered receipts for every text we commit,
//! read receipts when a conversation is marked read (if enabled). They are
//! outbox items like texts (see `outbox.rs`); ids owed to one peer gather
//! in that peer's open (still unsealed) receipt, so one RSA signature here
//! and one decryption at the peer answer many texts.

use rusqlite::{OptionalExtension, Transaction, params};

use super::new_message_id;
use super::now_ms;
use super::outbox::OutgoingKind;

/// Most ids in one receipt (about 18 KB of JSON).
pub const IDS_PER_RECEIPT: usize = 500;

/// Adds `ids` to what `peer` is owed as `kind` receipts: into the newest
/// unsealed receipt of that kind while it has room, then into new ones.
pub(super) fn owe(
    tx: &Transaction<'_>,
    peer: &str,
    kind: OutgoingKind,
    ids: &[String],
) -> rusqlite::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let open: Option<(String, String)> = tx
        .prepare_cached(
            "SELECT id, payload FROM outbox
             WHERE peer = ?1 AND kind = ?2 AND envelope IS NULL
             ORDER BY seq DESC LIMIT 1",
        )?
        .query_row(params![peer, kind.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (mut row, mut owed): (Option<String>, Vec<String>) = match open {
        Some((id, payload)) => (Some(id), serde_json::from_str(&payload).unwrap_or_default()),
        None => (None, Vec::new()),
    };
    let mut dirty = false;
    for id in ids {
        if owed.contains(id) {
            continue;
        }
        if owed.len() >= IDS_PER_RECEIPT {
            write(tx, peer, kind, row.take(), &owed)?;
            owed.clear();
        }
        owed.push(id.clone());
        dirty = true;
    }
    if dirty {
        write(tx, peer, kind, row, &owed)?;
    }
    Ok(())
}

fn write(
    tx: &Transaction<'_>,
    peer: &str,
    kind: OutgoingKind,
    row: Option<String>,
    ids: &[String],
) -> rusqlite::Result<()> {
    let payload = serde_json::to_string(ids).expect("ids serialize");
    match row {
        Some(id) => tx.execute(
            "UPDATE outbox SET payload = ?2 WHERE id = ?1",
            params![id, payload],
        )?,
        None => {
            let now = now_ms() as i64;
            tx.execute(
                "INSERT INTO outbox (id, peer, kind, payload, next_attempt_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![new_message_id(), peer, kind.as_str(), payload, now],
            )?
        }
    };
    Ok(())
}
