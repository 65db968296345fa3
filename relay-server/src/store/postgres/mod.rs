//! PostgreSQL store, for several relay instances on one database
//! (docs/RELAY.md §8).
//!
//! Every write is committed before the call returns. Envelope PUTs and acks,
//! the hot writes, are group-committed by a writer task (`mail`), as
//! SQLite's writer does; the rest are one transaction each on a pooled
//! connection. Writes run at READ COMMITTED and
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

mod acks;
mod listen;
mod mail;
mod puts;
mod schema;
mod sessions;
mod store;
mod throttle;
mod write;

use std::str::FromStr as _;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, Row};

use super::{CommitHook, DeviceInfo, StoreError, StoreResult};
use crate::store::sqlite::now_ms;

pub use schema::latest as schema_version;
pub use sessions::TTL as SESSION_CACHE_TTL;
/// Parsed connection settings (`--database`).
pub use tokio_postgres::Config as ConnectConfig;

/// Pooled connections per instance unless `--database-pool` says otherwise.
pub const DEFAULT_POOL: usize = 16;
/// Tries of one transaction that lost a race before it fails.
pub(super) const ATTEMPTS: u32 = 8;
/// Acked ids are remembered this long (as in SQLite).
const DELIVERED_KEEP_MS: u64 = 30 * 24 * 3600 * 1000;

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
    /// The task that LISTENs; aborted on drop.
    listener: tokio::task::JoinHandle<()>,
    /// When this instance last wrote each device's `last_seen`.
    touched: super::TouchTimes,
    /// Queue into the envelope writers (`mail`).
    writes: mail::Writers,
    /// Sessions by token hash, forgotten as any instance removes them.
    sessions: std::sync::Arc<sessions::SessionCache>,
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
        let sessions = std::sync::Arc::new(sessions::SessionCache::default());
        let listener = tokio::spawn(listen::run(
            config,
            instance.clone(),
            on_commit.clone(),
            sessions.clone(),
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
        let writes = mail::start(pool.clone(), instance, on_commit);
        Ok(PgStore {
            pool,
            listener,
            touched: Default::default(),
            writes,
            sessions,
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

    /// Queues a job for the envelope writers and waits for its answer.
    async fn mail<T>(
        &self,
        job: impl FnOnce(tokio::sync::oneshot::Sender<StoreResult<T>>) -> mail::Job,
    ) -> StoreResult<T> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.writes
            .send(job(reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
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
