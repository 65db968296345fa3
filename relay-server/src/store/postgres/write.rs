//! The PostgreSQL store's writes that check before they change: accounts,
//! sessions, devices, envelopes, acks, links and blobs. Each takes the row
//! locks of the accounts it changes first (`lock_accounts`), then checks in
//! the order the SQLite store does, then writes.

use std::collections::HashMap;

use deadpool_postgres::{GenericClient, Transaction};

use super::listen::{CHANNEL, payloads};
use super::{Fail, PgStore, device_info, in_tx};
use crate::store::sqlite::{hash_code, now_ms};
use crate::store::{
    Blob, BlobCreated, DeviceChoice, DeviceInfo, MAX_DEVICES, NewBlob, NewEnvelope,
    NewSharedEnvelope, PutOutcome, Quota, SharedPutOutcome, Skip, StoreError, StoreResult,
};

type Tx<'a> = Transaction<'a>;

/// Locks these accounts' rows in name order (so that two transactions never
/// wait on each other in a circle) and returns each one's mailbox usage
/// `(pending_count, pending_bytes)`; a name with no account is absent.
async fn lock_accounts(tx: &Tx<'_>, names: &[&str]) -> Result<HashMap<String, (i64, i64)>, Fail> {
    let mut sorted: Vec<&str> = names.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let stmt = tx
        .prepare_cached(
            "SELECT username, pending_count, pending_bytes FROM accounts
             WHERE username = ANY($1) ORDER BY username COLLATE \"C\" FOR UPDATE",
        )
        .await?;
    let rows = tx.query(&stmt, &[&sorted]).await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect())
}

/// Announces mail for `users` to every instance, on commit.
async fn notify(tx: &Tx<'_>, store: &PgStore, users: &[String]) -> Result<(), Fail> {
    for payload in payloads(store.instance(), users) {
        tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])
            .await?;
    }
    Ok(())
}

async fn add_device(
    tx: &Tx<'_>,
    username: &str,
    device_id: &str,
    name: &str,
    now: i64,
) -> Result<DeviceInfo, Fail> {
    tx.execute(
        "INSERT INTO devices (username, device_id, name, created_at, last_seen)
         VALUES ($1, $2, $3, $4, $4)",
        &[&username, &device_id, &name, &now],
    )
    .await?;
    Ok(DeviceInfo {
        id: device_id.to_owned(),
        name: name.to_owned(),
        created_at: now as u64,
        last_seen: now as u64,
        gone_at: None,
        gone: None,
    })
}

async fn device(tx: &Tx<'_>, username: &str, id: &str) -> Result<Option<DeviceInfo>, Fail> {
    let rows = tx
        .query(
            "SELECT device_id, name, created_at, last_seen, gone_at, gone FROM devices
             WHERE username = $1 AND device_id = $2",
            &[&username, &id],
        )
        .await?;
    Ok(rows.first().map(device_info))
}

async fn active_devices(tx: &Tx<'_>, username: &str) -> Result<usize, Fail> {
    let row = tx
        .query_one(
            "SELECT count(*) FROM devices WHERE username = $1 AND gone_at IS NULL",
            &[&username],
        )
        .await?;
    Ok(row.get::<_, i64>(0) as usize)
}

/// Gives each active device of `recipient` (less the sending device when it
/// writes to its own account) a copy of mailbox row `seq`; returns how many.
async fn add_copies(
    tx: &Tx<'_>,
    recipient: &str,
    sender: &str,
    device: &str,
    seq: i64,
) -> Result<u64, Fail> {
    let skip = (recipient == sender).then_some(device);
    let stmt = tx
        .prepare_cached(
            "INSERT INTO copies (username, device_id, seq)
             SELECT username, device_id, $3 FROM devices
             WHERE username = $1 AND gone_at IS NULL AND device_id IS DISTINCT FROM $2::text",
        )
        .await?;
    Ok(tx.execute(&stmt, &[&recipient, &skip, &seq]).await?)
}

pub(super) async fn create_account(
    store: &PgStore,
    username: &str,
    password_hash: &str,
    card: &str,
    invite: Option<&str>,
    device_name: &str,
) -> StoreResult<()> {
    let now = now_ms() as i64;
    let device_id = super::super::sqlite::new_device_id();
    let invite = invite.map(hash_code);
    in_tx!(store, |tx| {
        let taken = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM accounts WHERE username = $1)",
                &[&username],
            )
            .await?
            .get::<_, bool>(0);
        if taken {
            return Err(StoreError::UsernameTaken.into());
        }
        if let Some(code) = &invite {
            let used = tx
                .execute("DELETE FROM invites WHERE code_hash = $1", &[code])
                .await?;
            if used == 0 {
                return Err(StoreError::InvalidInvite.into());
            }
        }
        // A name another instance takes meanwhile fails this insert, and
        // the second try answers `UsernameTaken`.
        tx.execute(
            "INSERT INTO accounts (username, password_hash, card, created_at) VALUES ($1, $2, $3, $4)",
            &[&username, &password_hash, &card, &now],
        )
        .await?;
        add_device(&tx, username, &device_id, device_name, now).await?;
        Ok(())
    })
}

pub(super) async fn create_session(
    store: &PgStore,
    token_hash: &str,
    username: &str,
    choice: &DeviceChoice,
    expires_at: u64,
    max_per_user: usize,
) -> StoreResult<(DeviceInfo, usize)> {
    let now = now_ms() as i64;
    let new_id = super::super::sqlite::new_device_id();
    let expires_at = expires_at.min(i64::MAX as u64) as i64;
    let keep_others = max_per_user.saturating_sub(1) as i64;
    in_tx!(store, |tx| {
        // (An unknown account has no such device: `UnknownDevice` below.)
        if lock_accounts(&tx, &[username]).await?.is_empty()
            && !matches!(choice, DeviceChoice::Existing(_))
        {
            return Err(StoreError::UnknownUser.into());
        }
        let chosen = match choice {
            DeviceChoice::Oldest => tx
                .query(
                    "SELECT device_id, name, created_at, last_seen, gone_at, gone FROM devices
                     WHERE username = $1 AND gone_at IS NULL
                     ORDER BY created_at, device_id COLLATE \"C\" LIMIT 1",
                    &[&username],
                )
                .await?
                .first()
                .map(device_info),
            DeviceChoice::Existing(id) => {
                let found = device(&tx, username, id)
                    .await?
                    .ok_or(StoreError::UnknownDevice)?;
                if found.gone_at.is_some() {
                    return Err(StoreError::DeviceGone.into());
                }
                Some(found)
            }
            DeviceChoice::New(_) => {
                if active_devices(&tx, username).await? >= MAX_DEVICES {
                    return Err(StoreError::TooManyDevices.into());
                }
                None
            }
        };
        let mut info = match chosen {
            Some(info) => info,
            None => {
                let name = match choice {
                    DeviceChoice::New(name) => name.as_str(),
                    _ => "default",
                };
                add_device(&tx, username, &new_id, name, now).await?
            }
        };
        tx.execute(
            "UPDATE devices SET last_seen = $3 WHERE username = $1 AND device_id = $2",
            &[&username, &info.id, &now],
        )
        .await?;
        info.last_seen = now as u64;
        tx.execute(
            "INSERT INTO sessions (token_hash, username, device_id, expires_at) VALUES ($1, $2, $3, $4)",
            &[&token_hash, &username, &info.id, &expires_at],
        )
        .await?;
        // Past the cap the sessions that expire first go, never the new one.
        let revoked = tx
            .query(
                "DELETE FROM sessions WHERE token_hash IN (
                   SELECT token_hash FROM sessions WHERE username = $1 AND token_hash <> $2
                   ORDER BY expires_at DESC, token_hash COLLATE \"C\" OFFSET $3)
                 RETURNING token_hash",
                &[&username, &token_hash, &keep_others],
            )
            .await?;
        Ok((info, revoked.len()))
    })
}

/// Marks a device revoked or expired: its sessions and copies go, and so
/// does every envelope that was waiting only for it. The account is locked.
async fn retire_device(
    tx: &Tx<'_>,
    username: &str,
    device_id: &str,
    why: &str,
    now: i64,
) -> Result<(), Fail> {
    tx.execute(
        "UPDATE devices SET gone_at = $3, gone = $4 WHERE username = $1 AND device_id = $2",
        &[&username, &device_id, &now, &why],
    )
    .await?;
    for sql in [
        "DELETE FROM sessions WHERE username = $1 AND device_id = $2",
        "DELETE FROM copies WHERE username = $1 AND device_id = $2",
    ] {
        tx.execute(sql, &[&username, &device_id]).await?;
    }
    let gone = tx
        .query(
            "DELETE FROM mailbox m WHERE recipient = $1
               AND NOT EXISTS (SELECT 1 FROM copies c WHERE c.seq = m.seq)
             RETURNING sender, id, digest, size",
            &[&username],
        )
        .await?;
    forget_released(tx, username, &gone, now).await
}

/// Remembers released envelopes as delivered (so a sender's retry is
/// answered 200) and takes them off the mailbox's count.
async fn forget_released(
    tx: &Tx<'_>,
    username: &str,
    gone: &[tokio_postgres::Row],
    now: i64,
) -> Result<(), Fail> {
    if gone.is_empty() {
        return Ok(());
    }
    let senders: Vec<String> = gone.iter().map(|r| r.get(0)).collect();
    let ids: Vec<String> = gone.iter().map(|r| r.get(1)).collect();
    let digests: Vec<Vec<u8>> = gone.iter().map(|r| r.get(2)).collect();
    let bytes: i64 = gone.iter().map(|r| r.get::<_, i64>(3)).sum();
    let stmt = tx
        .prepare_cached(
            "INSERT INTO delivered (sender, id, recipient, digest, acked_at)
             SELECT s, i, $4, d, $5 FROM unnest($1::text[], $2::text[], $3::bytea[]) AS t(s, i, d)
             ON CONFLICT (sender, id, recipient)
             DO UPDATE SET digest = EXCLUDED.digest, acked_at = EXCLUDED.acked_at",
        )
        .await?;
    tx.execute(&stmt, &[&senders, &ids, &digests, &username, &now])
        .await?;
    let stmt = tx
        .prepare_cached(
            "UPDATE accounts SET pending_count = pending_count - $2, pending_bytes = pending_bytes - $3
             WHERE username = $1",
        )
        .await?;
    tx.execute(&stmt, &[&username, &(gone.len() as i64), &bytes])
        .await?;
    Ok(())
}

pub(super) async fn revoke_device(
    store: &PgStore,
    username: &str,
    device_id: &str,
    password_hash: &str,
) -> StoreResult<()> {
    let now = now_ms() as i64;
    in_tx!(store, |tx| {
        lock_accounts(&tx, &[username]).await?;
        let found = device(&tx, username, device_id)
            .await?
            .ok_or(StoreError::UnknownDevice)?;
        if found.gone_at.is_some() {
            return Err(StoreError::DeviceGone.into());
        }
        retire_device(&tx, username, device_id, "revoked", now).await?;
        tx.execute(
            "UPDATE accounts SET password_hash = $2 WHERE username = $1",
            &[&username, &password_hash],
        )
        .await?;
        Ok(())
    })
}

pub(super) async fn expire_devices(
    store: &PgStore,
    idle_before: u64,
) -> StoreResult<Vec<(String, String)>> {
    let now = now_ms() as i64;
    let idle_before = idle_before.min(i64::MAX as u64) as i64;
    // Which accounts to look at, then each in a transaction of its own with
    // its row locked, choosing its idle devices before expiring any (so two
    // idle devices cannot each count on the other as the one seen later).
    let candidates: Vec<String> = {
        let client = store.client().await?;
        client
            .query(
                "SELECT DISTINCT username FROM devices WHERE gone_at IS NULL AND last_seen < $1",
                &[&idle_before],
            )
            .await
            .map_err(|e| super::sql_error(&e))?
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    let mut expired = Vec::new();
    for username in &candidates {
        let username = username.as_str();
        let gone: Vec<(String, String)> = in_tx!(store, |tx| {
            lock_accounts(&tx, &[username]).await?;
            let idle: Vec<String> = tx
                .query(
                    "SELECT d.device_id FROM devices d
                     WHERE d.username = $1 AND d.gone_at IS NULL AND d.last_seen < $2
                       AND EXISTS (SELECT 1 FROM devices o WHERE o.username = d.username
                                   AND o.gone_at IS NULL AND o.last_seen > d.last_seen)",
                    &[&username, &idle_before],
                )
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect();
            for device_id in &idle {
                retire_device(&tx, username, device_id, "expired", now).await?;
            }
            Ok(idle.into_iter().map(|d| (username.to_owned(), d)).collect())
        })?;
        expired.extend(gone);
    }
    // Links nobody claimed in time go in the same sweep.
    in_tx!(store, |tx| {
        tx.execute("DELETE FROM links WHERE expires_at <= $1", &[&now])
            .await?;
        Ok(())
    })?;
    Ok(expired)
}

/// A digest as the database returns it.
fn same_digest(a: &[u8], b: &[u8; 32]) -> bool {
    a == &b[..]
}

pub(super) async fn put(
    store: &PgStore,
    env: &NewEnvelope,
    quota: Quota,
) -> StoreResult<PutOutcome> {
    let now = now_ms() as i64;
    let len = env.body.len() as i64;
    let ts = env.ts as i64;
    in_tx!(store, |tx| {
        let usage = lock_accounts(&tx, &[&env.recipient]).await?;
        // The same checks in the same order as SQLite's `put`.
        let stmt = tx
            .prepare_cached(
                "SELECT sender, digest FROM mailbox
                 WHERE (sender = $1 AND id = $2) OR (recipient = $3 AND id = $2) LIMIT 1",
            )
            .await?;
        if let Some(row) = tx
            .query_opt(&stmt, &[&env.sender, &env.id, &env.recipient])
            .await?
        {
            let (sender, digest): (String, Vec<u8>) = (row.get(0), row.get(1));
            if sender != env.sender || !same_digest(&digest, &env.digest) {
                return Err(StoreError::Conflict.into());
            }
            return Ok(PutOutcome::Duplicate);
        }
        let stmt = tx
            .prepare_cached(
                "SELECT sender, digest FROM delivered
                 WHERE (sender = $1 AND id = $2) OR (recipient = $3 AND id = $2)
                 ORDER BY sender = $1 DESC LIMIT 1",
            )
            .await?;
        if let Some(row) = tx
            .query_opt(&stmt, &[&env.sender, &env.id, &env.recipient])
            .await?
        {
            let (sender, digest): (String, Vec<u8>) = (row.get(0), row.get(1));
            if sender != env.sender || !same_digest(&digest, &env.digest) {
                return Err(StoreError::Conflict.into());
            }
            return Ok(PutOutcome::Duplicate);
        }
        let (count, bytes) = *usage
            .get(&env.recipient)
            .ok_or(StoreError::UnknownRecipient)?;
        if count as u64 + 1 > quota.max_count || (bytes + len) as u64 > quota.max_bytes {
            return Err(StoreError::QuotaExceeded.into());
        }
        let stmt = tx
            .prepare_cached(
                "INSERT INTO mailbox (recipient, sender, id, ts, body, digest, received_at, size)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING seq",
            )
            .await?;
        let seq: i64 = tx
            .query_one(
                &stmt,
                &[
                    &env.recipient,
                    &env.sender,
                    &env.id,
                    &ts,
                    &env.body,
                    &&env.digest[..],
                    &now,
                    &len,
                ],
            )
            .await?
            .get(0);
        if add_copies(&tx, &env.recipient, &env.sender, &env.sender_device, seq).await? == 0 {
            // Nobody to deliver to (the sender's own account with no other
            // device): done, with nothing kept.
            tx.execute("DELETE FROM mailbox WHERE seq = $1", &[&seq])
                .await?;
            return Ok(PutOutcome::Stored);
        }
        let stmt = tx
            .prepare_cached(
                "UPDATE accounts SET pending_count = pending_count + 1, pending_bytes = pending_bytes + $2
                 WHERE username = $1",
            )
            .await?;
        tx.execute(&stmt, &[&env.recipient, &len]).await?;
        notify(&tx, store, std::slice::from_ref(&env.recipient)).await?;
        Ok(PutOutcome::Stored)
    })
}

pub(super) async fn put_shared(
    store: &PgStore,
    env: &NewSharedEnvelope,
    quota: Quota,
) -> StoreResult<SharedPutOutcome> {
    let now = now_ms() as i64;
    let ts = env.ts as i64;
    let names: Vec<&str> = env.entries.iter().map(|(r, _)| r.as_str()).collect();
    in_tx!(store, |tx| {
        let usage = lock_accounts(&tx, &names).await?;
        // The sender's own earlier use of the id must be these very bytes.
        let body_row = tx
            .query_opt(
                "SELECT body_id, digest FROM bodies WHERE sender = $1 AND id = $2",
                &[&env.sender, &env.id],
            )
            .await?;
        let earlier = tx
            .query(
                "SELECT digest FROM mailbox WHERE sender = $1 AND id = $2
                 UNION ALL SELECT digest FROM delivered WHERE sender = $1 AND id = $2",
                &[&env.sender, &env.id],
            )
            .await?;
        if body_row
            .as_ref()
            .is_some_and(|r| !same_digest(&r.get::<_, Vec<u8>>(1), &env.digest))
            || earlier
                .iter()
                .any(|r| !same_digest(&r.get::<_, Vec<u8>>(0), &env.digest))
        {
            return Err(StoreError::Conflict.into());
        }
        // Who already has this id, pending or acked: another sender's is a
        // conflict for that recipient only; the sender's own a duplicate.
        let mut clash: HashMap<String, (bool, bool)> = HashMap::new();
        for row in tx
            .query(
                "SELECT recipient, sender <> $3 FROM mailbox WHERE recipient = ANY($1) AND id = $2
                 UNION ALL
                 SELECT recipient, sender <> $3 FROM delivered WHERE recipient = ANY($1) AND id = $2",
                &[&names, &env.id, &env.sender],
            )
            .await?
        {
            let entry = clash.entry(row.get(0)).or_default();
            if row.get::<_, bool>(1) {
                entry.0 = true;
            } else {
                entry.1 = true;
            }
        }
        let mut out = SharedPutOutcome::default();
        let mut body_id: Option<i64> = body_row.map(|r| r.get(0));
        for (recipient, entry) in &env.entries {
            let len = (env.common.len() + 1 + entry.len()) as i64;
            match clash.get(recipient) {
                Some((true, _)) => {
                    out.skipped.push((recipient.clone(), Skip::Conflict));
                    continue;
                }
                Some((false, true)) => {
                    out.duplicate += 1;
                    continue;
                }
                _ => {}
            }
            match usage.get(recipient) {
                None => {
                    out.skipped
                        .push((recipient.clone(), Skip::UnknownRecipient));
                    continue;
                }
                Some(&(count, bytes))
                    if count as u64 + 1 > quota.max_count
                        || (bytes + len) as u64 > quota.max_bytes =>
                {
                    out.skipped.push((recipient.clone(), Skip::QuotaExceeded));
                    continue;
                }
                Some(_) => {}
            }
            let shared = match body_id {
                Some(id) => id,
                None => {
                    let id: i64 = tx
                        .query_one(
                            "INSERT INTO bodies (sender, id, digest, common) VALUES ($1, $2, $3, $4)
                             RETURNING body_id",
                            &[&env.sender, &env.id, &&env.digest[..], &env.common],
                        )
                        .await?
                        .get(0);
                    *body_id.insert(id)
                }
            };
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO mailbox (recipient, sender, id, ts, body, digest, received_at, shared, size)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING seq",
                )
                .await?;
            let seq: i64 = tx
                .query_one(
                    &stmt,
                    &[
                        recipient,
                        &env.sender,
                        &env.id,
                        &ts,
                        entry,
                        &&env.digest[..],
                        &now,
                        &shared,
                        &len,
                    ],
                )
                .await?
                .get(0);
            if add_copies(&tx, recipient, &env.sender, &env.sender_device, seq).await? == 0 {
                // As in `put`: nobody to deliver to, nothing kept (the
                // trigger takes a body left without rows along).
                tx.execute("DELETE FROM mailbox WHERE seq = $1", &[&seq])
                    .await?;
                if body_id == Some(shared) {
                    let left = tx
                        .query_opt("SELECT 1 FROM bodies WHERE body_id = $1", &[&shared])
                        .await?;
                    if left.is_none() {
                        body_id = None;
                    }
                }
                out.stored.push(recipient.clone());
                continue;
            }
            let stmt = tx
                .prepare_cached(
                    "UPDATE accounts SET pending_count = pending_count + 1, pending_bytes = pending_bytes + $2
                     WHERE username = $1",
                )
                .await?;
            tx.execute(&stmt, &[recipient, &len]).await?;
            out.stored.push(recipient.clone());
        }
        notify(&tx, store, &out.stored).await?;
        Ok(out)
    })
}

pub(super) async fn ack(
    store: &PgStore,
    recipient: &str,
    device: &str,
    ids: &[String],
) -> StoreResult<usize> {
    let now = now_ms() as i64;
    in_tx!(store, |tx| {
        // Locked, so that two devices acking the last two copies of one
        // envelope at once cannot each leave it for the other.
        lock_accounts(&tx, &[recipient]).await?;
        let stmt = tx
            .prepare_cached(
                "DELETE FROM copies c USING mailbox m
                 WHERE c.username = $1 AND c.device_id = $2 AND m.seq = c.seq
                   AND m.recipient = $1 AND m.id = ANY($3)
                 RETURNING m.id",
            )
            .await?;
        let done: Vec<String> = tx
            .query(&stmt, &[&recipient, &device, &ids])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if done.is_empty() {
            return Ok(0);
        }
        let stmt = tx
            .prepare_cached(
                "DELETE FROM mailbox m WHERE recipient = $1 AND id = ANY($2)
                   AND NOT EXISTS (SELECT 1 FROM copies c WHERE c.seq = m.seq)
                 RETURNING sender, id, digest, size",
            )
            .await?;
        let gone = tx.query(&stmt, &[&recipient, &done]).await?;
        forget_released(&tx, recipient, &gone, now).await?;
        Ok(done.len())
    })
}

pub(super) async fn put_link(
    store: &PgStore,
    username: &str,
    handle: &str,
    body: &[u8],
    expires_at: u64,
) -> StoreResult<()> {
    let expires_at = expires_at.min(i64::MAX as u64) as i64;
    in_tx!(store, |tx| {
        if lock_accounts(&tx, &[username]).await?.is_empty() {
            return Err(StoreError::UnknownUser.into());
        }
        if active_devices(&tx, username).await? >= MAX_DEVICES {
            return Err(StoreError::TooManyDevices.into());
        }
        tx.execute(
            "INSERT INTO links (username, handle, body, expires_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (username) DO UPDATE SET handle = $2, body = $3, expires_at = $4",
            &[&username, &handle, &body, &expires_at],
        )
        .await?;
        Ok(())
    })
}

pub(super) async fn take_link(
    store: &PgStore,
    username: &str,
    handle: &str,
) -> StoreResult<Option<Vec<u8>>> {
    let now = now_ms() as i64;
    in_tx!(store, |tx| {
        lock_accounts(&tx, &[username]).await?;
        let Some(row) = tx
            .query_opt(
                "SELECT body FROM links WHERE username = $1 AND handle = $2 AND expires_at > $3",
                &[&username, &handle, &now],
            )
            .await?
        else {
            return Ok(None);
        };
        // The device the link is for could not log in: keep the link.
        if active_devices(&tx, username).await? >= MAX_DEVICES {
            return Err(StoreError::TooManyDevices.into());
        }
        tx.execute("DELETE FROM links WHERE username = $1", &[&username])
            .await?;
        Ok(Some(row.get(0)))
    })
}

pub(super) async fn create_blob(
    store: &PgStore,
    blob: &NewBlob,
    quota: u64,
) -> StoreResult<BlobCreated> {
    let now = now_ms();
    in_tx!(store, |tx| {
        if lock_accounts(&tx, &[&blob.owner]).await?.is_empty() {
            return Err(StoreError::UnknownUser.into());
        }
        if let Some(existing) = read_blob(&tx, &blob.id).await? {
            let same = existing.owner == blob.owner
                && existing.size == blob.size
                && existing.readers == blob.readers
                && existing.expires_at > now;
            return if same {
                Ok(BlobCreated::Existing {
                    stored: existing.stored,
                })
            } else {
                Err(StoreError::Conflict.into())
            };
        }
        let known: i64 = tx
            .query_one(
                "SELECT count(*) FROM accounts WHERE username = ANY($1)",
                &[&blob.readers],
            )
            .await?
            .get(0);
        if known as usize != blob.readers.len() {
            return Err(StoreError::UnknownRecipient.into());
        }
        let held: i64 = tx
            .query_one(
                "SELECT COALESCE(sum(size), 0)::bigint FROM blobs WHERE owner = $1 AND expires_at > $2",
                &[&blob.owner, &(now as i64)],
            )
            .await?
            .get(0);
        if (held as u64).saturating_add(blob.size) > quota {
            return Err(StoreError::QuotaExceeded.into());
        }
        tx.execute(
            "INSERT INTO blobs (id, owner, size, stored, created_at, expires_at)
             VALUES ($1, $2, $3, 0, $4, $5)",
            &[
                &blob.id,
                &blob.owner,
                &(blob.size.min(i64::MAX as u64) as i64),
                &(now as i64),
                &(blob.expires_at.min(i64::MAX as u64) as i64),
            ],
        )
        .await?;
        tx.execute(
            "INSERT INTO blob_readers (id, username) SELECT $1, unnest($2::text[])",
            &[&blob.id, &blob.readers],
        )
        .await?;
        Ok(BlobCreated::Created)
    })
}

/// One blob with its readers, expired or not.
pub(super) async fn read_blob(
    client: &impl GenericClient,
    id: &str,
) -> Result<Option<Blob>, tokio_postgres::Error> {
    let Some(row) = client
        .query_opt(
            "SELECT owner, size, stored, created_at, expires_at FROM blobs WHERE id = $1",
            &[&id],
        )
        .await?
    else {
        return Ok(None);
    };
    let readers = client
        .query(
            "SELECT username FROM blob_readers WHERE id = $1 ORDER BY username COLLATE \"C\"",
            &[&id],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    Ok(Some(Blob {
        id: id.to_owned(),
        owner: row.get(0),
        size: row.get::<_, i64>(1) as u64,
        stored: row.get::<_, i64>(2) as u64,
        readers,
        created_at: row.get::<_, i64>(3) as u64,
        expires_at: row.get::<_, i64>(4) as u64,
    }))
}
