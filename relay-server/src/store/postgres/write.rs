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
    Blob, BlobCreated, DeviceChoice, DeviceInfo, MAX_DEVICES, NewBlob, StoreError, StoreResult,
};

pub(super) type Tx<'a> = Transaction<'a>;

/// Locks these accounts' rows in name order (so that two transactions never
/// wait on each other in a circle) and returns each one's mailbox usage
/// `(pending_count, pending_bytes)`; a name with no account is absent.
pub(super) async fn lock_accounts(
    tx: &Tx<'_>,
    names: &[&str],
) -> Result<HashMap<String, (i64, i64)>, Fail> {
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
pub(super) async fn notify(tx: &Tx<'_>, instance: &str, users: &[String]) -> Result<(), Fail> {
    for payload in payloads(instance, users) {
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
pub(super) async fn add_copies(
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
    forget_released(tx, username, &gone, now).await.map(|_| ())
}

/// Remembers released envelopes as delivered (so a sender's retry is
/// answered 200) and takes them off the mailbox's count; returns the count
/// and bytes taken off.
async fn forget_released(
    tx: &Tx<'_>,
    username: &str,
    gone: &[tokio_postgres::Row],
    now: i64,
) -> Result<(i64, i64), Fail> {
    if gone.is_empty() {
        return Ok((0, 0));
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
    Ok((gone.len() as i64, bytes))
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
