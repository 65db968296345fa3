//! Envelope PUTs in the writer's transaction (docs/RELAY.md, "Put an
//! envelope"): v1 for one recipient, v2 stored once for several. Each checks
//! everything that can refuse it before it writes (see `write::commit_batch`).

use rusqlite::{Connection, OptionalExtension, params};

use super::devices::{add_copies, copy_targets};
use crate::store::{
    NewEnvelope, NewSharedEnvelope, PutOutcome, Quota, SharedPutOutcome, Skip, StoreError,
    StoreResult,
};

pub(super) fn put(
    conn: &Connection,
    env: &NewEnvelope,
    quota: Quota,
    now: i64,
) -> StoreResult<PutOutcome> {
    let same = |digest: Vec<u8>| {
        if digest == env.digest {
            Ok(PutOutcome::Duplicate)
        } else {
            Err(StoreError::Conflict)
        }
    };
    // Ids are unique per sender, and also among one recipient's pending
    // envelopes, so that `GET /v1/messages/{id}` and ack name exactly one.
    // Another sender's id stays refused once acknowledged too (below), so
    // the answer does not tell when the recipient fetched it.
    let pending: Option<(String, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT sender, digest FROM mailbox
             WHERE (sender = ?1 AND id = ?2) OR (recipient = ?3 AND id = ?2) LIMIT 1",
        )?
        .query_row(params![env.sender, env.id, env.recipient], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    if let Some((sender, digest)) = pending {
        if sender != env.sender {
            return Err(StoreError::Conflict);
        }
        return same(digest);
    }
    // The sender's own earlier use of the id first: that is a retry.
    let delivered: Option<(String, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT sender, digest FROM delivered
             WHERE (sender = ?1 AND id = ?2) OR (recipient = ?3 AND id = ?2)
             ORDER BY sender = ?1 DESC LIMIT 1",
        )?
        .query_row(params![env.sender, env.id, env.recipient], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    if let Some((sender, digest)) = delivered {
        if sender != env.sender {
            return Err(StoreError::Conflict);
        }
        return same(digest);
    }
    let usage: Option<(i64, i64)> = conn
        .prepare_cached("SELECT pending_count, pending_bytes FROM accounts WHERE username = ?1")?
        .query_row([&env.recipient], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (count, bytes) = usage.ok_or(StoreError::UnknownRecipient)?;
    let len = env.body.len() as i64;
    if count as u64 + 1 > quota.max_count || (bytes + len) as u64 > quota.max_bytes {
        return Err(StoreError::QuotaExceeded);
    }
    conn.prepare_cached(
        "INSERT INTO mailbox (recipient, sender, id, ts, body, digest, received_at, size)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        env.recipient,
        env.sender,
        env.id,
        env.ts as i64,
        env.body,
        &env.digest[..],
        now,
        len
    ])?;
    let seq = conn.last_insert_rowid();
    if add_copies(conn, &env.recipient, &env.sender, &env.sender_device, seq)? == 0 {
        // No device to deliver to (the sender's own account with no other
        // device): done, with nothing kept. (Inserting first and taking it
        // back in this rare case saves a query on every PUT.)
        conn.prepare_cached("DELETE FROM mailbox WHERE seq = ?1")?
            .execute([seq])?;
        return Ok(PutOutcome::Stored);
    }
    conn.prepare_cached(
        "UPDATE accounts SET pending_count = pending_count + 1, pending_bytes = pending_bytes + ?2
         WHERE username = ?1",
    )?
    .execute(params![env.recipient, len])?;
    Ok(PutOutcome::Stored)
}

/// Where a v2 envelope's recipient stands before the PUT writes anything.
enum Standing {
    /// Already pending or delivered with these bytes.
    Duplicate,
    /// Not stored, and won't be.
    Skipped(Skip),
    /// To store, adding this many bytes to the mailbox.
    Store(i64),
}

pub(super) fn put_shared(
    conn: &Connection,
    env: &NewSharedEnvelope,
    quota: Quota,
    now: i64,
) -> StoreResult<SharedPutOutcome> {
    // Every check first (see `commit_batch`). The sender's own earlier use
    // of the id must be these very bytes, whichever version it was.
    let body: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT body_id, digest FROM bodies WHERE sender = ?1 AND id = ?2")?
        .query_row(params![env.sender, env.id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let mut earlier = conn.prepare_cached(
        "SELECT digest FROM mailbox WHERE sender = ?1 AND id = ?2
         UNION ALL SELECT digest FROM delivered WHERE sender = ?1 AND id = ?2",
    )?;
    let digests = earlier
        .query_map(params![env.sender, env.id], |r| r.get::<_, Vec<u8>>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if body.as_ref().is_some_and(|(_, d)| d[..] != env.digest[..])
        || digests.iter().any(|d| d[..] != env.digest[..])
    {
        return Err(StoreError::Conflict);
    }
    // Another sender's id in a recipient's mailbox, pending or acked, is a
    // conflict for that recipient, as in v1 (no ack-timing oracle); the
    // others are stored.
    let mut clash = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM mailbox WHERE recipient = ?1 AND id = ?2 AND sender <> ?3)
             OR EXISTS (SELECT 1 FROM delivered WHERE recipient = ?1 AND id = ?2 AND sender <> ?3)",
    )?;
    let mut mine = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM mailbox WHERE recipient = ?1 AND id = ?2 AND sender = ?3)
             OR EXISTS (SELECT 1 FROM delivered WHERE recipient = ?1 AND id = ?2 AND sender = ?3)",
    )?;
    let mut usage = conn
        .prepare_cached("SELECT pending_count, pending_bytes FROM accounts WHERE username = ?1")?;
    let mut plan = Vec::with_capacity(env.entries.len());
    for (recipient, entry) in &env.entries {
        let params = params![recipient, env.id, env.sender];
        let standing = if clash.query_row(params, |r| r.get::<_, bool>(0))? {
            Standing::Skipped(Skip::Conflict)
        } else if mine.query_row(params, |r| r.get::<_, bool>(0))? {
            Standing::Duplicate
        } else {
            let len = (env.common.len() + 1 + entry.len()) as i64;
            match usage
                .query_row([recipient], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
                })
                .optional()?
            {
                None => Standing::Skipped(Skip::UnknownRecipient),
                Some((count, bytes))
                    if count as u64 + 1 > quota.max_count
                        || (bytes + len) as u64 > quota.max_bytes =>
                {
                    Standing::Skipped(Skip::QuotaExceeded)
                }
                Some(_) => Standing::Store(len),
            }
        };
        plan.push(standing);
    }
    let mut out = SharedPutOutcome::default();
    let mut body_id = body.map(|(id, _)| id);
    for ((recipient, entry), standing) in env.entries.iter().zip(plan) {
        let len = match standing {
            Standing::Duplicate => {
                out.duplicate += 1;
                continue;
            }
            Standing::Skipped(why) => {
                out.skipped.push((recipient.clone(), why));
                continue;
            }
            Standing::Store(len) => len,
        };
        if copy_targets(conn, recipient, &env.sender, &env.sender_device)? == 0 {
            // As in `put`: nobody to deliver to, nothing kept.
            out.stored.push(recipient.clone());
            continue;
        }
        let shared = match body_id {
            Some(id) => id,
            None => {
                conn.prepare_cached(
                    "INSERT INTO bodies (sender, id, digest, common) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![
                    env.sender,
                    env.id,
                    &env.digest[..],
                    env.common
                ])?;
                *body_id.insert(conn.last_insert_rowid())
            }
        };
        conn.prepare_cached(
            "INSERT INTO mailbox (recipient, sender, id, ts, body, digest, received_at, shared, size)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            recipient,
            env.sender,
            env.id,
            env.ts as i64,
            entry,
            &env.digest[..],
            now,
            shared,
            len
        ])?;
        let seq = conn.last_insert_rowid();
        add_copies(conn, recipient, &env.sender, &env.sender_device, seq)?;
        conn.prepare_cached(
            "UPDATE accounts SET pending_count = pending_count + 1, pending_bytes = pending_bytes + ?2
             WHERE username = ?1",
        )?
        .execute(params![recipient, len])?;
        out.stored.push(recipient.clone());
    }
    Ok(out)
}
