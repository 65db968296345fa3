//! The writer thread: every write waiting in its queue is applied in one
//! transaction (group commit), each operation checking everything that can
//! refuse it before it writes anything.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot};

use super::blobs::{BlobOk, BlobOp};
use super::devices::{active_devices, add_device, device_row, release_ids, retire_device};
use super::{hash_code, now_ms};
use crate::store::{
    CommitHook, DeviceChoice, DeviceInfo, MAX_DEVICES, NewEnvelope, NewSharedEnvelope, PutOutcome,
    Quota, SharedPutOutcome, StoreError, StoreResult,
};

/// Most writes folded into one transaction.
const MAX_BATCH: usize = 512;

pub(super) enum WriteOp {
    CreateAccount {
        username: String,
        password_hash: String,
        card: String,
        invite: Option<String>,
        device_id: String,
        device_name: String,
    },
    DeleteAccount(String),
    CreateSession {
        token_hash: String,
        username: String,
        device: DeviceChoice,
        /// The id a device created by this login gets.
        new_device_id: String,
        expires_at: u64,
        max_per_user: usize,
    },
    RevokeSession(String),
    RevokeDevice {
        username: String,
        device_id: String,
        password_hash: String,
    },
    ChangePassword {
        username: String,
        password_hash: String,
    },
    ReplaceCard {
        username: String,
        card: String,
    },
    TouchDevice {
        username: String,
        device_id: String,
    },
    ExpireDevices {
        idle_before: u64,
    },
    Put(NewEnvelope, Quota),
    PutShared(NewSharedEnvelope, Quota),
    Ack {
        recipient: String,
        device: String,
        ids: Vec<String>,
    },
    Invites(Vec<String>),
    PutBackup(String, Vec<u8>),
    DeleteBackup(String),
    PutLink {
        username: String,
        handle: String,
        body: Vec<u8>,
        expires_at: u64,
    },
    TakeLink {
        username: String,
        handle: String,
    },
    RenameDevice {
        username: String,
        device_id: String,
        name: String,
    },
    Blob(BlobOp),
}

pub(super) enum WriteOk {
    Unit,
    Put(PutOutcome),
    PutShared(SharedPutOutcome),
    Count(usize),
    /// The device a login is for, and the sessions it revoked.
    Session(DeviceInfo, Vec<String>),
    /// The (user, device) pairs expired.
    Expired(Vec<(String, String)>),
    /// A link's body, if one was taken.
    Link(Option<Vec<u8>>),
    Blob(BlobOk),
}

pub(super) struct Job {
    pub(super) op: WriteOp,
    pub(super) reply: oneshot::Sender<StoreResult<WriteOk>>,
}

pub(super) fn writer_loop(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Job>,
    on_commit: CommitHook,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut woken = Vec::new();
        let started = std::time::Instant::now();
        let results = commit_batch(&mut conn, &batch, &mut woken);
        crate::metrics::metrics().commit(batch.len(), started.elapsed());
        match results {
            Ok(results) => {
                if !woken.is_empty() {
                    on_commit(&woken);
                }
                for (job, result) in batch.drain(..).zip(results) {
                    let _ = job.reply.send(result);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, jobs = batch.len(), "store commit failed");
                for job in batch.drain(..) {
                    let _ = job.reply.send(Err(e.again()));
                }
            }
        }
    }
}

/// Runs every job of the batch in one transaction. Each operation checks
/// everything that can refuse it before it writes anything, so a refused job
/// leaves nothing behind and needs no savepoint; a storage error fails the
/// whole batch.
fn commit_batch(
    conn: &mut Connection,
    batch: &[Job],
    woken: &mut Vec<String>,
) -> Result<Vec<StoreResult<WriteOk>>, StoreError> {
    let err = StoreError::from;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err)?;
    let now = now_ms();
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        match apply(&tx, &job.op, now) {
            Ok(ok) => {
                match (&job.op, &ok) {
                    (WriteOp::Put(env, _), WriteOk::Put(PutOutcome::Stored)) => {
                        woken.push(env.recipient.clone());
                    }
                    (WriteOp::PutShared(..), WriteOk::PutShared(out)) => {
                        woken.extend(out.stored.iter().cloned());
                    }
                    _ => {}
                }
                results.push(Ok(ok));
            }
            // Dropping `tx` rolls the whole batch back: nothing is half-committed.
            Err(e @ (StoreError::Backend(_) | StoreError::StorageFull)) => return Err(e),
            Err(e) => results.push(Err(e)),
        }
    }
    tx.commit().map_err(err)?;
    Ok(results)
}

/// Refuses a write for an account that does not exist (one racing its
/// deletion, say) before it writes, so that the foreign key never fails the
/// whole batch (see `commit_batch`).
fn known_account(conn: &Connection, username: &str) -> StoreResult<()> {
    let known: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM accounts WHERE username = ?1)")?
        .query_row([username], |r| r.get(0))?;
    if known {
        Ok(())
    } else {
        Err(StoreError::UnknownUser)
    }
}

fn apply(conn: &Connection, op: &WriteOp, now: u64) -> StoreResult<WriteOk> {
    let now = now as i64;
    match op {
        WriteOp::CreateAccount {
            username,
            password_hash,
            card,
            invite,
            device_id,
            device_name,
        } => {
            // Every check before the first write (see `commit_batch`).
            let taken: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM accounts WHERE username = ?1)",
                [username],
                |r| r.get(0),
            )?;
            if taken {
                return Err(StoreError::UsernameTaken);
            }
            if let Some(code) = invite {
                let used = conn.execute(
                    "DELETE FROM invites WHERE code_hash = ?1",
                    [hash_code(code)],
                )?;
                if used == 0 {
                    return Err(StoreError::InvalidInvite);
                }
            }
            conn.execute(
                "INSERT INTO accounts (username, password_hash, card, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![username, password_hash, card, now],
            )?;
            add_device(conn, username, device_id, device_name, now)?;
            Ok(WriteOk::Unit)
        }
        WriteOp::DeleteAccount(username) => {
            // Sessions, devices, copies and mailbox go with the account
            // (ON DELETE CASCADE).
            let n = conn.execute("DELETE FROM accounts WHERE username = ?1", [username])?;
            if n == 0 {
                return Err(StoreError::UnknownUser);
            }
            Ok(WriteOk::Unit)
        }
        WriteOp::CreateSession {
            token_hash,
            username,
            device,
            new_device_id,
            expires_at,
            max_per_user,
        } => {
            // Every check before the first write (see `commit_batch`).
            // (An unknown account has no such device: `UnknownDevice` below.)
            if !matches!(device, DeviceChoice::Existing(_)) {
                known_account(conn, username)?;
            }
            let chosen = match device {
                DeviceChoice::Oldest => device_row(
                    conn,
                    "SELECT device_id, name, created_at, last_seen, gone_at, gone FROM devices
                     WHERE username = ?1 AND gone_at IS NULL AND ?2 IS NULL
                     ORDER BY created_at, device_id LIMIT 1",
                    username,
                    None,
                )?,
                DeviceChoice::Existing(id) => {
                    let found = device_row(
                        conn,
                        "SELECT device_id, name, created_at, last_seen, gone_at, gone FROM devices
                         WHERE username = ?1 AND device_id = ?2",
                        username,
                        Some(id),
                    )?
                    .ok_or(StoreError::UnknownDevice)?;
                    if found.gone_at.is_some() {
                        return Err(StoreError::DeviceGone);
                    }
                    Some(found)
                }
                DeviceChoice::New(_) => {
                    if active_devices(conn, username)? >= MAX_DEVICES {
                        return Err(StoreError::TooManyDevices);
                    }
                    None
                }
            };
            let mut info = match chosen {
                Some(info) => info,
                None => {
                    let name = match device {
                        DeviceChoice::New(name) => name.as_str(),
                        _ => "default",
                    };
                    add_device(conn, username, new_device_id, name, now)?
                }
            };
            conn.prepare_cached(
                "UPDATE devices SET last_seen = ?3 WHERE username = ?1 AND device_id = ?2",
            )?
            .execute(params![username, info.id, now])?;
            info.last_seen = now as u64;
            conn.execute(
                "INSERT INTO sessions (token_hash, username, device_id, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![token_hash, username, info.id, (*expires_at).min(i64::MAX as u64) as i64],
            )?;
            // Past the cap the sessions that expire first (the oldest) go,
            // never the new one: the newest login always works.
            let keep_others = max_per_user.saturating_sub(1) as i64;
            let revoked = conn
                .prepare_cached(
                    "DELETE FROM sessions WHERE token_hash IN (
                       SELECT token_hash FROM sessions WHERE username = ?1 AND token_hash <> ?2
                       ORDER BY expires_at DESC, token_hash LIMIT -1 OFFSET ?3)
                     RETURNING token_hash",
                )?
                .query_map(params![username, token_hash, keep_others], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(WriteOk::Session(info, revoked))
        }
        WriteOp::RevokeDevice {
            username,
            device_id,
            password_hash,
        } => {
            let found = device_row(
                conn,
                "SELECT device_id, name, created_at, last_seen, gone_at, gone FROM devices
                 WHERE username = ?1 AND device_id = ?2",
                username,
                Some(device_id),
            )?
            .ok_or(StoreError::UnknownDevice)?;
            if found.gone_at.is_some() {
                return Err(StoreError::DeviceGone);
            }
            retire_device(conn, username, device_id, "revoked", now)?;
            conn.execute(
                "UPDATE accounts SET password_hash = ?2 WHERE username = ?1",
                params![username, password_hash],
            )?;
            Ok(WriteOk::Unit)
        }
        WriteOp::ReplaceCard { username, card } => {
            let n = conn.execute(
                "UPDATE accounts SET card = ?2 WHERE username = ?1",
                params![username, card],
            )?;
            if n == 0 {
                return Err(StoreError::UnknownUser);
            }
            Ok(WriteOk::Unit)
        }
        WriteOp::ChangePassword {
            username,
            password_hash,
        } => {
            let n = conn.execute(
                "UPDATE accounts SET password_hash = ?2 WHERE username = ?1",
                params![username, password_hash],
            )?;
            if n == 0 {
                return Err(StoreError::UnknownUser);
            }
            Ok(WriteOk::Unit)
        }
        WriteOp::TouchDevice {
            username,
            device_id,
        } => {
            conn.prepare_cached(
                "UPDATE devices SET last_seen = ?3
                 WHERE username = ?1 AND device_id = ?2 AND gone_at IS NULL AND last_seen < ?3",
            )?
            .execute(params![username, device_id, now])?;
            Ok(WriteOk::Unit)
        }
        WriteOp::ExpireDevices { idle_before } => {
            // Chosen before any is expired, so that two idle devices of one
            // account cannot each count on the other as the one seen later.
            let idle: Vec<(String, String)> = conn
                .prepare_cached(
                    "SELECT d.username, d.device_id FROM devices d
                     WHERE d.gone_at IS NULL AND d.last_seen < ?1
                       AND EXISTS (SELECT 1 FROM devices o WHERE o.username = d.username
                                   AND o.gone_at IS NULL AND o.last_seen > d.last_seen)",
                )?
                .query_map([(*idle_before).min(i64::MAX as u64) as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            for (username, device_id) in &idle {
                retire_device(conn, username, device_id, "expired", now)?;
            }
            // Links nobody claimed in time go in the same sweep.
            conn.execute("DELETE FROM links WHERE expires_at <= ?1", [now])?;
            Ok(WriteOk::Expired(idle))
        }
        WriteOp::Blob(op) => super::blobs::apply(conn, op, now as u64).map(WriteOk::Blob),
        WriteOp::RevokeSession(token_hash) => {
            conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
            Ok(WriteOk::Unit)
        }
        WriteOp::Put(env, quota) => super::mail::put(conn, env, *quota, now).map(WriteOk::Put),
        WriteOp::PutShared(env, quota) => {
            super::mail::put_shared(conn, env, *quota, now).map(WriteOk::PutShared)
        }
        WriteOp::Ack {
            recipient,
            device,
            ids,
        } => {
            let mut acked = 0;
            let mut del = conn.prepare_cached(
                "DELETE FROM copies WHERE username = ?1 AND device_id = ?2
                   AND seq IN (SELECT seq FROM mailbox WHERE recipient = ?1 AND id = ?3)",
            )?;
            let mut done = Vec::with_capacity(ids.len());
            for id in ids {
                let n = del.execute(params![recipient, device, id])?;
                if n > 0 {
                    acked += n;
                    done.push(id.as_str());
                }
            }
            release_ids(conn, recipient, &done, now)?;
            Ok(WriteOk::Count(acked))
        }
        WriteOp::PutBackup(username, body) => {
            known_account(conn, username)?;
            conn.execute(
                "INSERT INTO backups (username, body, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (username) DO UPDATE SET body = ?2, updated_at = ?3",
                params![username, body, now],
            )?;
            Ok(WriteOk::Unit)
        }
        WriteOp::DeleteBackup(username) => {
            let n = conn.execute("DELETE FROM backups WHERE username = ?1", [username])?;
            Ok(WriteOk::Count(n))
        }
        WriteOp::PutLink {
            username,
            handle,
            body,
            expires_at,
        } => {
            known_account(conn, username)?;
            if active_devices(conn, username)? >= MAX_DEVICES {
                return Err(StoreError::TooManyDevices);
            }
            conn.execute(
                "INSERT INTO links (username, handle, body, expires_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (username) DO UPDATE SET handle = ?2, body = ?3, expires_at = ?4",
                params![
                    username,
                    handle,
                    body,
                    (*expires_at).min(i64::MAX as u64) as i64
                ],
            )?;
            Ok(WriteOk::Unit)
        }
        WriteOp::TakeLink { username, handle } => {
            let body: Option<Vec<u8>> = conn
                .prepare_cached(
                    "SELECT body FROM links WHERE username = ?1 AND handle = ?2 AND expires_at > ?3",
                )?
                .query_row(params![username, handle, now], |r| r.get(0))
                .optional()?;
            if body.is_none() {
                return Ok(WriteOk::Link(None));
            }
            // The device the link is for could not log in: keep the link.
            if active_devices(conn, username)? >= MAX_DEVICES {
                return Err(StoreError::TooManyDevices);
            }
            conn.execute("DELETE FROM links WHERE username = ?1", [username])?;
            Ok(WriteOk::Link(body))
        }
        WriteOp::RenameDevice {
            username,
            device_id,
            name,
        } => {
            let n = conn.execute(
                "UPDATE devices SET name = ?3 WHERE username = ?1 AND device_id = ?2 AND gone_at IS NULL",
                params![username, device_id, name],
            )?;
            if n == 0 {
                return Err(StoreError::UnknownDevice);
            }
            Ok(WriteOk::Unit)
        }
        WriteOp::Invites(codes) => {
            for code in codes {
                conn.execute(
                    "INSERT INTO invites (code_hash, created_at) VALUES (?1, ?2)",
                    params![hash_code(code), now],
                )?;
            }
            Ok(WriteOk::Unit)
        }
    }
}
