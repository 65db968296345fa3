//! The [`Store`] trait on PostgreSQL: reads straight on a pooled
//! connection, envelope writes through the writers (`mail`), the other
//! writes in a transaction each (`write`, `in_tx!`).

use async_trait::async_trait;

use super::{PgStore, device_info, in_tx, mail, sql_error, throttle, write};
use crate::store::sqlite::now_ms;
use crate::store::{
    Account, AttemptOutcome, Blob, BlobCreated, DeviceChoice, DeviceInfo, FetchFilter, NewBlob,
    NewEnvelope, NewSharedEnvelope, PutOutcome, Quota, Session, SharedAdmission, SharedPutOutcome,
    Store, StoreError, StoreResult, ThrottleRule,
};
use tokio_postgres::Row;

/// A row's envelope as the recipient gets it (`store::assemble`).
fn assemble(r: &Row) -> Vec<u8> {
    crate::store::assemble(r.get(0), r.get(1))
}

#[async_trait]
impl Store for PgStore {
    async fn create_account(
        &self,
        username: &str,
        password_hash: &str,
        card: &str,
        invite: Option<&str>,
        device_name: &str,
    ) -> StoreResult<()> {
        write::create_account(self, username, password_hash, card, invite, device_name).await
    }

    async fn account(&self, username: &str) -> StoreResult<Option<Account>> {
        let rows = self
            .query(
                "SELECT username, password_hash, card FROM accounts WHERE username = $1",
                &[&username],
            )
            .await?;
        Ok(rows.first().map(|r| Account {
            username: r.get(0),
            password_hash: r.get(1),
            card: r.get(2),
        }))
    }

    async fn delete_account(&self, username: &str) -> StoreResult<()> {
        in_tx!(self, |tx| {
            let n = tx
                .execute("DELETE FROM accounts WHERE username = $1", &[&username])
                .await?;
            if n == 0 {
                return Err(StoreError::UnknownUser.into());
            }
            Ok(())
        })?;
        self.sessions.forget_all();
        Ok(())
    }

    async fn create_session(
        &self,
        token_hash: &str,
        username: &str,
        device: DeviceChoice,
        expires_at: u64,
        max_per_user: usize,
    ) -> StoreResult<(DeviceInfo, usize)> {
        let found = write::create_session(
            self,
            token_hash,
            username,
            &device,
            expires_at,
            max_per_user,
        )
        .await?;
        self.touched.wrote(username, &found.0.id, now_ms());
        if found.1 > 0 {
            self.sessions.forget_all();
        }
        Ok(found)
    }

    async fn session(&self, token_hash: &str) -> StoreResult<Option<Session>> {
        // Cached only as long as every instance's revocations are heard
        // (`sessions`).
        let asked = std::time::Instant::now();
        let generation = match self.sessions.get(token_hash, asked) {
            Ok(session) => return Ok(Some(session)),
            Err(generation) => generation,
        };
        let rows = self
            .query(
                "SELECT username, device_id, expires_at FROM sessions WHERE token_hash = $1",
                &[&token_hash],
            )
            .await?;
        let found = rows.first().map(|r| Session {
            username: r.get(0),
            device_id: r.get(1),
            expires_at: r.get::<_, i64>(2) as u64,
        });
        if let Some(session) = &found {
            self.sessions.keep(token_hash, session, generation, asked);
        }
        Ok(found)
    }

    async fn revoke_session(&self, token_hash: &str) -> StoreResult<()> {
        in_tx!(self, |tx| {
            tx.execute("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash])
                .await?;
            Ok(())
        })?;
        self.sessions.forget_all();
        Ok(())
    }

    async fn devices(&self, username: &str, gone_since: u64) -> StoreResult<Vec<DeviceInfo>> {
        let rows = self
            .query(
                "SELECT device_id, name, created_at, last_seen, gone_at, gone FROM devices
                 WHERE username = $1 AND (gone_at IS NULL OR gone_at >= $2)
                 ORDER BY gone_at IS NOT NULL, created_at, device_id",
                &[&username, &(gone_since.min(i64::MAX as u64) as i64)],
            )
            .await?;
        Ok(rows.iter().map(device_info).collect())
    }

    async fn revoke_device(
        &self,
        username: &str,
        device_id: &str,
        new_password_hash: &str,
    ) -> StoreResult<()> {
        write::revoke_device(self, username, device_id, new_password_hash).await?;
        self.sessions.forget_all();
        Ok(())
    }

    async fn change_password(&self, username: &str, password_hash: &str) -> StoreResult<()> {
        self.update_account(
            "UPDATE accounts SET password_hash = $2 WHERE username = $1",
            username,
            password_hash,
        )
        .await
    }

    async fn replace_card(&self, username: &str, card: &str) -> StoreResult<()> {
        self.update_account(
            "UPDATE accounts SET card = $2 WHERE username = $1",
            username,
            card,
        )
        .await
    }

    async fn touch_device(&self, username: &str, device_id: &str) -> StoreResult<()> {
        let now = now_ms();
        if !self.touched.due(username, device_id, now) {
            return Ok(());
        }
        let now = now as i64;
        in_tx!(self, |tx| {
            tx.execute(
                "UPDATE devices SET last_seen = $3
                 WHERE username = $1 AND device_id = $2 AND gone_at IS NULL AND last_seen < $3",
                &[&username, &device_id, &now],
            )
            .await?;
            Ok(())
        })
    }

    async fn expire_devices(&self, idle_before: u64) -> StoreResult<Vec<(String, String)>> {
        let gone = write::expire_devices(self, idle_before).await?;
        if !gone.is_empty() {
            self.sessions.forget_all();
        }
        Ok(gone)
    }

    async fn list_users(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<String>> {
        // A range, not LIKE (see the SQLite reading); COLLATE "C" so that
        // the range is by bytes whatever the database's collation.
        let upper = format!("{prefix}~");
        let rows = self
            .query(
                "SELECT username FROM accounts
                 WHERE username COLLATE \"C\" >= $1 AND username COLLATE \"C\" < $2
                   AND username COLLATE \"C\" > $3
                 ORDER BY username COLLATE \"C\" LIMIT $4",
                &[&prefix, &upper, &after.unwrap_or(""), &(limit as i64)],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn put_envelope(&self, env: NewEnvelope, quota: Quota) -> StoreResult<PutOutcome> {
        self.mail(|reply| mail::Job::Put(env, quota, reply)).await
    }

    async fn put_shared_envelope(
        &self,
        env: NewSharedEnvelope,
        quota: Quota,
    ) -> StoreResult<SharedPutOutcome> {
        self.mail(|reply| mail::Job::Shared(env, quota, reply))
            .await
    }

    async fn fetch(
        &self,
        recipient: &str,
        device: &str,
        filter: FetchFilter,
    ) -> StoreResult<Vec<Vec<u8>>> {
        // As in SQLite: stored `ts` fits an i64, so a bound past it either
        // excludes everything (since) or nothing (until).
        if filter.since.is_some_and(|t| t > i64::MAX as u64) {
            return Ok(Vec::new());
        }
        let since = filter.since.map(|t| t as i64);
        let until = filter
            .until
            .filter(|&t| t <= i64::MAX as u64)
            .map(|t| t as i64);
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT m.body, b.common FROM copies c
                 JOIN mailbox m ON m.seq = c.seq
                 LEFT JOIN bodies b ON b.body_id = m.shared
                 WHERE c.username = $1 AND c.device_id = $2
                   AND ($3::text IS NULL OR m.sender = $3)
                   AND ($4::bigint IS NULL OR m.ts >= $4)
                   AND ($5::bigint IS NULL OR m.ts < $5)
                 ORDER BY c.seq LIMIT $6",
            )
            .await
            .map_err(|e| sql_error(&e))?;
        let limit = filter.limit.min(i64::MAX as usize) as i64;
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 6] =
            [&recipient, &device, &filter.from, &since, &until, &limit];
        // Read as rows arrive: those past the byte budget are never kept.
        let rows = client
            .query_raw(&stmt, params)
            .await
            .map_err(|e| sql_error(&e))?;
        futures_util::pin_mut!(rows);
        let mut bodies = Vec::new();
        let mut total = 0;
        while let Some(row) = futures_util::StreamExt::next(&mut rows).await {
            let body = assemble(&row.map_err(|e| sql_error(&e))?);
            if !bodies.is_empty() && total + body.len() > filter.max_bytes {
                break;
            }
            total += body.len();
            bodies.push(body);
        }
        Ok(bodies)
    }

    async fn get_envelope(
        &self,
        recipient: &str,
        device: &str,
        id: &str,
    ) -> StoreResult<Option<Vec<u8>>> {
        let rows = self
            .query(
                "SELECT m.body, b.common FROM copies c
                 JOIN mailbox m ON m.seq = c.seq
                 LEFT JOIN bodies b ON b.body_id = m.shared
                 WHERE c.username = $1 AND c.device_id = $3 AND m.id = $2
                 ORDER BY c.seq LIMIT 1",
                &[&recipient, &id, &device],
            )
            .await?;
        Ok(rows.first().map(assemble))
    }

    async fn ack(&self, recipient: &str, device: &str, ids: Vec<String>) -> StoreResult<usize> {
        let (recipient, device) = (recipient.to_owned(), device.to_owned());
        self.mail(|reply| mail::Job::Ack {
            recipient,
            device,
            ids,
            reply,
        })
        .await
    }

    async fn put_backup(&self, username: &str, body: Vec<u8>) -> StoreResult<()> {
        let now = now_ms() as i64;
        in_tx!(self, |tx| {
            let n = tx
                .execute(
                    "INSERT INTO backups (username, body, updated_at)
                     SELECT username, $2, $3 FROM accounts WHERE username = $1
                     ON CONFLICT (username) DO UPDATE SET body = $2, updated_at = $3",
                    &[&username, &body, &now],
                )
                .await?;
            if n == 0 {
                return Err(StoreError::UnknownUser.into());
            }
            Ok(())
        })
    }

    async fn backup(&self, username: &str) -> StoreResult<Option<Vec<u8>>> {
        let rows = self
            .query("SELECT body FROM backups WHERE username = $1", &[&username])
            .await?;
        Ok(rows.first().map(|r| r.get(0)))
    }

    async fn delete_backup(&self, username: &str) -> StoreResult<bool> {
        in_tx!(self, |tx| {
            let n = tx
                .execute("DELETE FROM backups WHERE username = $1", &[&username])
                .await?;
            Ok(n > 0)
        })
    }

    async fn put_link(
        &self,
        username: &str,
        handle: &str,
        body: Vec<u8>,
        expires_at: u64,
    ) -> StoreResult<()> {
        write::put_link(self, username, handle, &body, expires_at).await
    }

    async fn take_link(&self, username: &str, handle: &str) -> StoreResult<Option<Vec<u8>>> {
        write::take_link(self, username, handle).await
    }

    async fn create_blob(&self, blob: NewBlob, quota_bytes: u64) -> StoreResult<BlobCreated> {
        write::create_blob(self, &blob, quota_bytes).await
    }

    async fn blob(&self, id: &str) -> StoreResult<Option<Blob>> {
        let client = self.client().await?;
        write::read_blob(&client, id)
            .await
            .map_err(|e| sql_error(&e))
    }

    async fn set_blob_stored(&self, id: &str, stored: u64) -> StoreResult<bool> {
        let stored = stored.min(i64::MAX as u64) as i64;
        in_tx!(self, |tx| {
            let n = tx
                .execute(
                    "UPDATE blobs SET stored = $2 WHERE id = $1",
                    &[&id, &stored],
                )
                .await?;
            Ok(n > 0)
        })
    }

    async fn delete_blob(&self, owner: &str, id: &str) -> StoreResult<bool> {
        in_tx!(self, |tx| {
            let n = tx
                .execute(
                    "DELETE FROM blobs WHERE id = $1 AND owner = $2",
                    &[&id, &owner],
                )
                .await?;
            Ok(n > 0)
        })
    }

    async fn expire_blobs(&self, now: u64, incomplete_before: u64) -> StoreResult<Vec<String>> {
        let (now, before) = (now as i64, incomplete_before as i64);
        in_tx!(self, |tx| {
            let rows = tx
                .query(
                    "DELETE FROM blobs
                     WHERE expires_at <= $1 OR (stored < size AND created_at < $2)
                     RETURNING id",
                    &[&now, &before],
                )
                .await?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    async fn blobs_of(&self, owner: &str) -> StoreResult<Vec<String>> {
        let rows = self
            .query("SELECT id FROM blobs WHERE owner = $1", &[&owner])
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn rename_device(&self, username: &str, device_id: &str, name: &str) -> StoreResult<()> {
        in_tx!(self, |tx| {
            let n = tx
                .execute(
                    "UPDATE devices SET name = $3
                     WHERE username = $1 AND device_id = $2 AND gone_at IS NULL",
                    &[&username, &device_id, &name],
                )
                .await?;
            if n == 0 {
                return Err(StoreError::UnknownDevice.into());
            }
            Ok(())
        })
    }

    async fn create_invites(&self, codes: Vec<String>) -> StoreResult<()> {
        let now = now_ms() as i64;
        let hashes: Vec<String> = codes
            .iter()
            .map(|c| crate::store::sqlite::hash_code(c))
            .collect();
        in_tx!(self, |tx| {
            tx.execute(
                "INSERT INTO invites (code_hash, created_at) SELECT unnest($1::text[]), $2",
                &[&hashes, &now],
            )
            .await?;
            Ok(())
        })
    }

    async fn stats(&self) -> StoreResult<crate::store::StoreStats> {
        let rows = self
            .query(
                "SELECT (SELECT count(*) FROM accounts),
                        (SELECT COALESCE(sum(pending_count), 0)::bigint FROM accounts),
                        (SELECT COALESCE(sum(pending_bytes), 0)::bigint FROM accounts),
                        (SELECT count(*) FROM blobs),
                        (SELECT COALESCE(sum(stored), 0)::bigint FROM blobs)",
                &[],
            )
            .await?;
        let r = &rows[0];
        let n = |i: usize| r.get::<_, i64>(i).max(0) as u64;
        Ok(crate::store::StoreStats {
            accounts: n(0),
            pending_envelopes: n(1),
            pending_bytes: n(2),
            blobs: n(3),
            blob_bytes: n(4),
        })
    }

    async fn begin_login_attempt(
        &self,
        username: &str,
        addr: &str,
        rule: ThrottleRule,
    ) -> StoreResult<Option<SharedAdmission>> {
        throttle::begin(self, username, addr, rule).await.map(Some)
    }

    async fn end_login_attempt(
        &self,
        id: i64,
        username: &str,
        addr: &str,
        outcome: AttemptOutcome,
    ) -> StoreResult<()> {
        throttle::end(self, id, username, addr, outcome).await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.query("SELECT 1", &[]).await.map(|_| ())
    }
}

impl PgStore {
    /// One `UPDATE accounts … WHERE username = $1` with a second text value.
    async fn update_account(&self, sql: &str, username: &str, value: &str) -> StoreResult<()> {
        in_tx!(self, |tx| {
            let n = tx.execute(sql, &[&username, &value]).await?;
            if n == 0 {
                return Err(StoreError::UnknownUser.into());
            }
            Ok(())
        })
    }
}
