//! PostgreSQL store, for several relay instances on one database
//! (docs/RELAY.md §8).
//!
//! Every write is one transaction on a pooled connection, committed before
//! the call returns; PostgreSQL's own group commit makes one WAL flush serve
//! the transactions that commit together. Writes run at READ COMMITTED and
//! take the row lock of every account whose mailbox, devices or blobs they
//! change before they check anything (`lock_accounts`, sorted, so two
//! writers never wait on each other in a circle), which gives each mailbox
//! the one-writer-at-a-time order the SQLite store gets from its single
//! writer thread. A transaction that still loses a race (a deadlock, a
//! unique key another instance took first) is retried from the start.
//!
//! Mail wakes long-polls on every instance: a write that stores mail sends
//! `NOTIFY relay_mail` in its transaction, and each instance LISTENs
//! (`listen`); the writing instance wakes its own long-polls at once.

mod listen;
mod schema;
mod write;

use std::str::FromStr as _;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, Row};

use super::{
    Account, Blob, BlobCreated, CommitHook, DeviceChoice, DeviceInfo, FetchFilter, NewBlob,
    NewEnvelope, NewSharedEnvelope, PutOutcome, Quota, Session, SharedPutOutcome, Store,
    StoreError, StoreResult,
};
use crate::store::sqlite::now_ms;

pub use schema::latest as schema_version;
/// Parsed connection settings (`--database`).
pub use tokio_postgres::Config as ConnectConfig;

/// Pooled connections per instance unless `--database-pool` says otherwise.
pub const DEFAULT_POOL: usize = 16;
/// Tries of one transaction that lost a race before it fails.
const ATTEMPTS: u32 = 8;
/// Acked ids are remembered this long (as in SQLite).
const DELIVERED_KEEP_MS: u64 = 30 * 24 * 3600 * 1000;
/// A device's `last_seen` is written at most this often by one instance.
const TOUCH_EVERY_MS: u64 = 5 * 60 * 1000;
/// Most entries of the touch-time map before it starts over.
const TOUCHED_MAX: usize = 100_000;

/// Why a transaction's body stopped: a refusal to answer with, or a
/// database error (retried when it is a lost race).
pub(crate) enum Fail {
    Store(StoreError),
    Sql(tokio_postgres::Error),
}

impl From<tokio_postgres::Error> for Fail {
    fn from(e: tokio_postgres::Error) -> Self {
        Fail::Sql(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

/// A database error as the store reports it.
pub(crate) fn sql_error(e: &tokio_postgres::Error) -> StoreError {
    match e.code() {
        Some(c) if *c == SqlState::DISK_FULL || *c == SqlState::OUT_OF_MEMORY => {
            StoreError::StorageFull
        }
        _ => StoreError::Backend(describe(e)),
    }
}

/// A database error in one line: the server's message and code when it
/// sent one (the error's own text is only "db error" then).
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("postgres: {} ({})", db.message(), db.code().code()),
        None => format!("postgres: {e}"),
    }
}

/// A lost race that trying again settles: the second try sees what the
/// other transaction committed.
pub(crate) fn lost_race(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::UNIQUE_VIOLATION
            || *c == SqlState::FOREIGN_KEY_VIOLATION
    })
}

/// Runs `$body` in a transaction on a pooled connection (`$tx` names it),
/// commits, and tries again from the start after a lost race. `?` in the
/// body takes database errors and refusals (`StoreError`) alike; a refusal
/// rolls back whatever the body wrote.
macro_rules! in_tx {
    ($store:expr, |$tx:ident| $body:block) => {{
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let mut client = $store.client().await?;
            let $tx = match client.transaction().await {
                Ok(tx) => tx,
                Err(e) => break Err($crate::store::postgres::sql_error(&e)),
            };
            let outcome: Result<_, $crate::store::postgres::Fail> = async { $body }.await;
            let failed = match outcome {
                Ok(value) => {
                    let started = std::time::Instant::now();
                    let committed = $tx.commit().await;
                    $crate::metrics::metrics().commit(1, started.elapsed());
                    match committed {
                        Ok(()) => break Ok(value),
                        Err(e) => e,
                    }
                }
                Err($crate::store::postgres::Fail::Store(refusal)) => {
                    let _ = $tx.rollback().await;
                    break Err(refusal);
                }
                Err($crate::store::postgres::Fail::Sql(e)) => {
                    drop($tx);
                    e
                }
            };
            if !$crate::store::postgres::lost_race(&failed) || attempt >= $store.attempts() {
                break Err($crate::store::postgres::sql_error(&failed));
            }
            tokio::time::sleep(std::time::Duration::from_millis(
                u64::from(attempt) * rand::random_range(1..=5),
            ))
            .await;
        }
    }};
}
use in_tx;

/// The PostgreSQL implementation of [`Store`].
pub struct PgStore {
    pool: Pool,
    /// This instance's name in its notifications, so it skips its own.
    instance: String,
    /// Wakes this instance's long-polls.
    on_commit: CommitHook,
    /// The task that LISTENs; aborted on drop.
    listener: tokio::task::JoinHandle<()>,
    /// When this instance last wrote each device's `last_seen`.
    touched: std::sync::Mutex<std::collections::HashMap<(String, String), u64>>,
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl PgStore {
    /// Connects to `url` (a `postgres://` URL or key=value string) with a
    /// pool of `pool_size` connections, migrates the schema, and starts
    /// listening for other instances' mail. `on_commit` wakes long-polls:
    /// with the recipients that got mail, or with none when any may have
    /// (after the listening connection was lost and came back).
    pub async fn open(url: &str, pool_size: usize, on_commit: CommitHook) -> StoreResult<PgStore> {
        let config = tokio_postgres::Config::from_str(url)
            .map_err(|e| StoreError::Backend(format!("--database: {e}")))?;
        let (mut client, connection) = config
            .connect(NoTls)
            .await
            .map_err(|e| StoreError::Backend(format!("cannot connect to PostgreSQL: {e}")))?;
        let driver = tokio::spawn(connection);
        schema::migrate(&mut client)
            .await
            .map_err(StoreError::Backend)?;
        let now = now_ms() as i64;
        client
            .execute("DELETE FROM sessions WHERE expires_at <= $1", &[&now])
            .await
            .map_err(|e| sql_error(&e))?;
        client
            .execute(
                "DELETE FROM delivered WHERE acked_at < $1",
                &[&(now - DELIVERED_KEEP_MS as i64)],
            )
            .await
            .map_err(|e| sql_error(&e))?;
        drop(client);
        let _ = driver.await;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .wait_timeout(Some(Duration::from_secs(30)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let instance = format!("{:016x}", rand::random::<u64>());
        // Open only once listening: mail another instance stores from
        // then on wakes this one.
        let (ready, listening) = tokio::sync::oneshot::channel();
        let listener = tokio::spawn(listen::run(
            config,
            instance.clone(),
            on_commit.clone(),
            ready,
        ));
        match tokio::time::timeout(Duration::from_secs(30), listening).await {
            Ok(Ok(())) => {}
            _ => {
                listener.abort();
                return Err(StoreError::Backend(
                    "could not LISTEN for other instances' mail within 30 s".into(),
                ));
            }
        }
        Ok(PgStore {
            pool,
            instance,
            on_commit,
            listener,
            touched: Default::default(),
        })
    }

    pub(super) async fn client(&self) -> StoreResult<deadpool_postgres::Client> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => sql_error(&e),
            other => StoreError::Backend(format!("postgres pool: {other}")),
        })
    }

    pub(super) fn attempts(&self) -> u32 {
        ATTEMPTS
    }

    /// Runs one read-only query on a pooled connection.
    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> StoreResult<Vec<Row>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(sql)
            .await
            .map_err(|e| sql_error(&e))?;
        client.query(&stmt, params).await.map_err(|e| sql_error(&e))
    }

    /// Wakes this instance's long-polls for `users` after a commit.
    fn woke(&self, users: &[String]) {
        if !users.is_empty() {
            (self.on_commit)(users);
        }
    }
}

/// A `devices` row read as `device_id, name, created_at, last_seen, gone_at, gone`.
pub(super) fn device_info(r: &Row) -> DeviceInfo {
    DeviceInfo {
        id: r.get(0),
        name: r.get(1),
        created_at: r.get::<_, i64>(2) as u64,
        last_seen: r.get::<_, i64>(3) as u64,
        gone_at: r.get::<_, Option<i64>>(4).map(|t| t as u64),
        gone: r.get(5),
    }
}

/// A row's envelope as the recipient gets it (see the SQLite reading).
fn assemble(r: &Row) -> Vec<u8> {
    let body: Vec<u8> = r.get(0);
    match r.get::<_, Option<Vec<u8>>>(1) {
        None => body,
        Some(mut common) => {
            common.reserve(body.len() + 1);
            common.push(b',');
            common.extend_from_slice(&body);
            common
        }
    }
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
        })
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
        let mut touched = self.touched.lock().expect("touch times");
        if touched.len() >= TOUCHED_MAX {
            touched.clear();
        }
        touched.insert((username.to_owned(), found.0.id.clone()), now_ms());
        Ok(found)
    }

    async fn session(&self, token_hash: &str) -> StoreResult<Option<Session>> {
        // No cache: another instance may revoke the session at any time.
        let rows = self
            .query(
                "SELECT username, device_id, expires_at FROM sessions WHERE token_hash = $1",
                &[&token_hash],
            )
            .await?;
        Ok(rows.first().map(|r| Session {
            username: r.get(0),
            device_id: r.get(1),
            expires_at: r.get::<_, i64>(2) as u64,
        }))
    }

    async fn revoke_session(&self, token_hash: &str) -> StoreResult<()> {
        in_tx!(self, |tx| {
            tx.execute("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash])
                .await?;
            Ok(())
        })
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
        write::revoke_device(self, username, device_id, new_password_hash).await
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
        let key = (username.to_owned(), device_id.to_owned());
        {
            let mut touched = self.touched.lock().expect("touch times");
            if touched
                .get(&key)
                .is_some_and(|&at| now.saturating_sub(at) < TOUCH_EVERY_MS)
            {
                return Ok(());
            }
            if touched.len() >= TOUCHED_MAX {
                touched.clear();
            }
            touched.insert(key, now);
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
        write::expire_devices(self, idle_before).await
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
        let recipient = env.recipient.clone();
        let outcome = write::put(self, &env, quota).await?;
        if outcome == PutOutcome::Stored {
            self.woke(&[recipient]);
        }
        Ok(outcome)
    }

    async fn put_shared_envelope(
        &self,
        env: NewSharedEnvelope,
        quota: Quota,
    ) -> StoreResult<SharedPutOutcome> {
        let out = write::put_shared(self, &env, quota).await?;
        self.woke(&out.stored);
        Ok(out)
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
        let rows = self
            .query(
                "SELECT m.body, b.common FROM copies c
                 JOIN mailbox m ON m.seq = c.seq
                 LEFT JOIN bodies b ON b.body_id = m.shared
                 WHERE c.username = $1 AND c.device_id = $2
                   AND ($3::text IS NULL OR m.sender = $3)
                   AND ($4::bigint IS NULL OR m.ts >= $4)
                   AND ($5::bigint IS NULL OR m.ts < $5)
                 ORDER BY c.seq LIMIT $6",
                &[
                    &recipient,
                    &device,
                    &filter.from,
                    &since,
                    &until,
                    &(filter.limit.min(i64::MAX as usize) as i64),
                ],
            )
            .await?;
        let mut out = Vec::new();
        let mut total = 0;
        for row in &rows {
            let body = assemble(row);
            if !out.is_empty() && total + body.len() > filter.max_bytes {
                break;
            }
            total += body.len();
            out.push(body);
        }
        Ok(out)
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
        write::ack(self, recipient, device, &ids).await
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
        let hashes: Vec<String> = codes.iter().map(|c| super::sqlite::hash_code(c)).collect();
        in_tx!(self, |tx| {
            tx.execute(
                "INSERT INTO invites (code_hash, created_at) SELECT unnest($1::text[]), $2",
                &[&hashes, &now],
            )
            .await?;
            Ok(())
        })
    }

    async fn stats(&self) -> StoreResult<super::StoreStats> {
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
        Ok(super::StoreStats {
            accounts: n(0),
            pending_envelopes: n(1),
            pending_bytes: n(2),
            blobs: n(3),
            blob_bytes: n(4),
        })
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

    /// This instance's id in its notifications.
    pub(super) fn instance(&self) -> &str {
        &self.instance
    }
}

/// Creates database `name` in the cluster that `admin` (a `postgres://` URL
/// of a user allowed to create databases) connects to, and returns `admin`
/// pointed at it. For tests and benches, which each take a database of
/// their own in one cluster (`CHAT_TEST_PG`, scripts/pg).
pub async fn create_database(admin: &str, name: &str) -> Result<String, String> {
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(format!(
            "database name {name:?}: lowercase letters, digits and _ only"
        ));
    }
    let (client, connection) = tokio_postgres::connect(admin, NoTls)
        .await
        .map_err(|e| format!("cannot connect to {admin}: {e}"))?;
    let driver = tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .map_err(|e| format!("CREATE DATABASE {name}: {e}"))?;
    drop(client);
    let _ = driver.await;
    let (base, query) = match admin.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (admin, String::new()),
    };
    let Some(rest) = base
        .strip_prefix("postgres://")
        .or_else(|| base.strip_prefix("postgresql://"))
    else {
        return Err("the admin connection must be a postgres:// URL".into());
    };
    let host = rest.split_once('/').map_or(rest, |(host, _)| host);
    Ok(format!("postgres://{host}/{name}{query}"))
}
