//! SQLite store: WAL, `synchronous=FULL`, one writer thread that group-commits
//! every write waiting in its queue into one transaction, and a small pool of
//! reader connections.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::{
    Account, CommitHook, FetchFilter, NewEnvelope, PutOutcome, Quota, Session, Store, StoreError,
    StoreResult, schema,
};

/// Most writes folded into one transaction.
const MAX_BATCH: usize = 512;
/// Writes queued before callers wait (back-pressure).
const QUEUE: usize = 8192;
/// Reader connections.
const READERS: usize = 8;
/// Acked ids are remembered this long, so late retries are answered 200.
const DELIVERED_KEEP_MS: u64 = 30 * 24 * 3600 * 1000;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Opens a connection with the pragmas every connection needs.
fn open(path: &Path, flags: OpenFlags) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

enum WriteOp {
    CreateAccount {
        username: String,
        password_hash: String,
        card: String,
        invite: Option<String>,
    },
    DeleteAccount(String),
    CreateSession {
        token_hash: String,
        username: String,
        expires_at: u64,
    },
    RevokeSession(String),
    Put(NewEnvelope, Quota),
    Ack(String, Vec<String>),
    Invites(Vec<String>),
}

enum WriteOk {
    Unit,
    Put(PutOutcome),
    Count(usize),
}

struct Job {
    op: WriteOp,
    reply: oneshot::Sender<StoreResult<WriteOk>>,
}

/// The SQLite implementation of [`Store`].
pub struct SqliteStore {
    /// Queue into the writer thread.
    writes: mpsc::Sender<Job>,
    /// Idle reader connections.
    readers: Arc<Mutex<Vec<Connection>>>,
    /// Caps concurrent readers (and so open connections).
    reader_slots: Semaphore,
    /// Database file, for opening more readers.
    path: PathBuf,
    /// The writer thread; joined on drop so the last commit is finished.
    writer: Mutex<Option<JoinHandle<()>>>,
    /// Sessions already looked up, so authenticating a request does not cost
    /// a database read. Correct because this store is the only writer: every
    /// revocation goes through it and clears the cache after its commit.
    sessions: Mutex<SessionCache>,
}

/// Cached session lookups. `generation` moves on every revocation, so a lookup
/// that read the database before a revocation committed cannot put its stale
/// answer back afterwards.
#[derive(Default)]
struct SessionCache {
    map: HashMap<String, Session>,
    generation: u64,
}

/// Most cached sessions; past it the cache starts over.
const SESSION_CACHE: usize = 100_000;

impl SqliteStore {
    /// Opens (creating and migrating if needed) `relay.db` in `data_dir`.
    /// `on_commit` is called after each commit with the recipients that got mail.
    pub fn open(data_dir: &Path, on_commit: CommitHook) -> StoreResult<SqliteStore> {
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Backend(e.to_string()))?;
        let path = data_dir.join("relay.db");
        let mut conn = open(&path, OpenFlags::default())?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!(
                "could not enable WAL (got {mode})"
            )));
        }
        schema::migrate(&mut conn)?;
        let now = now_ms() as i64;
        conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?;
        conn.execute(
            "DELETE FROM delivered WHERE acked_at < ?1",
            [now - DELIVERED_KEEP_MS as i64],
        )?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let writer = std::thread::Builder::new()
            .name("relay-store-writer".into())
            .spawn(move || writer_loop(conn, rx, on_commit))
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(SqliteStore {
            writes: tx,
            readers: Arc::new(Mutex::new(Vec::new())),
            reader_slots: Semaphore::new(READERS),
            path,
            writer: Mutex::new(Some(writer)),
            sessions: Mutex::new(SessionCache::default()),
        })
    }

    async fn write(&self, op: WriteOp) -> StoreResult<WriteOk> {
        let (reply, answer) = oneshot::channel();
        self.writes
            .send(Job { op, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        let _slot = self
            .reader_slots
            .acquire()
            .await
            .map_err(|_| StoreError::Closed)?;
        let pool = self.readers.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool.lock().expect("reader pool").pop();
            let conn = match conn {
                Some(c) => c,
                None => open(
                    &path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?,
            };
            let result = f(&conn);
            pool.lock().expect("reader pool").push(conn);
            Ok(result?)
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?
    }
}

impl SqliteStore {
    async fn session_from_db(&self, token_hash: &str) -> StoreResult<Option<Session>> {
        let token_hash = token_hash.to_owned();
        self.read(move |c| {
            c.prepare_cached("SELECT username, expires_at FROM sessions WHERE token_hash = ?1")?
                .query_row([token_hash], |r| {
                    Ok(Session {
                        username: r.get(0)?,
                        expires_at: r.get::<_, i64>(1)? as u64,
                    })
                })
                .optional()
        })
        .await
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Close the queue first so the writer finishes its batch and exits.
        let (closed, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.writes, closed));
        if let Some(handle) = self.writer.lock().ok().and_then(|mut w| w.take()) {
            let _ = handle.join();
        }
    }
}

fn writer_loop(mut conn: Connection, mut rx: mpsc::Receiver<Job>, on_commit: CommitHook) {
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
        let results = commit_batch(&mut conn, &batch, &mut woken);
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
                if let (WriteOp::Put(env, _), WriteOk::Put(PutOutcome::Stored)) = (&job.op, &ok) {
                    woken.push(env.recipient.clone());
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

fn apply(conn: &Connection, op: &WriteOp, now: u64) -> StoreResult<WriteOk> {
    let now = now as i64;
    match op {
        WriteOp::CreateAccount {
            username,
            password_hash,
            card,
            invite,
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
            Ok(WriteOk::Unit)
        }
        WriteOp::DeleteAccount(username) => {
            // Sessions and mailbox go with the account (ON DELETE CASCADE).
            let n = conn.execute("DELETE FROM accounts WHERE username = ?1", [username])?;
            if n == 0 {
                return Err(StoreError::UnknownUser);
            }
            Ok(WriteOk::Unit)
        }
        WriteOp::CreateSession {
            token_hash,
            username,
            expires_at,
        } => {
            conn.execute(
                "INSERT INTO sessions (token_hash, username, expires_at) VALUES (?1, ?2, ?3)",
                params![token_hash, username, *expires_at as i64],
            )?;
            Ok(WriteOk::Unit)
        }
        WriteOp::RevokeSession(token_hash) => {
            conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
            Ok(WriteOk::Unit)
        }
        WriteOp::Put(env, quota) => put(conn, env, *quota, now).map(WriteOk::Put),
        WriteOp::Ack(recipient, ids) => {
            let mut deleted = 0;
            let mut del = conn.prepare_cached(
                "DELETE FROM mailbox WHERE recipient = ?1 AND id = ?2 RETURNING sender, digest, length(body)",
            )?;
            let mut remember = conn.prepare_cached(
                "INSERT OR REPLACE INTO delivered (sender, id, digest, acked_at) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut bytes = 0i64;
            for id in ids {
                let rows: Vec<(String, Vec<u8>, i64)> = del
                    .query_map(params![recipient, id], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })?
                    .collect::<rusqlite::Result<_>>()?;
                for (sender, digest, len) in rows {
                    remember.execute(params![sender, id, digest, now])?;
                    deleted += 1;
                    bytes += len;
                }
            }
            if deleted > 0 {
                conn.execute(
                    "UPDATE accounts SET pending_count = pending_count - ?2, pending_bytes = pending_bytes - ?3
                     WHERE username = ?1",
                    params![recipient, deleted as i64, bytes],
                )?;
            }
            Ok(WriteOk::Count(deleted))
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

fn put(conn: &Connection, env: &NewEnvelope, quota: Quota, now: i64) -> StoreResult<PutOutcome> {
    let same = |digest: Vec<u8>| {
        if digest == env.digest {
            Ok(PutOutcome::Duplicate)
        } else {
            Err(StoreError::Conflict)
        }
    };
    // Ids are unique per sender, and also among one recipient's pending
    // envelopes, so that `GET /v1/messages/{id}` and ack name exactly one.
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
    let delivered: Option<Vec<u8>> = conn
        .prepare_cached("SELECT digest FROM delivered WHERE sender = ?1 AND id = ?2")?
        .query_row(params![env.sender, env.id], |r| r.get(0))
        .optional()?;
    if let Some(digest) = delivered {
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
        "INSERT INTO mailbox (recipient, sender, id, ts, body, digest, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        env.recipient,
        env.sender,
        env.id,
        env.ts as i64,
        env.body,
        &env.digest[..],
        now
    ])?;
    conn.prepare_cached(
        "UPDATE accounts SET pending_count = pending_count + 1, pending_bytes = pending_bytes + ?2
         WHERE username = ?1",
    )?
    .execute(params![env.recipient, len])?;
    Ok(PutOutcome::Stored)
}

/// Invite codes are stored as SHA-256 hex, like tokens.
pub fn hash_code(code: &str) -> String {
    Sha256::digest(code.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_account(
        &self,
        username: &str,
        password_hash: &str,
        card: &str,
        invite: Option<&str>,
    ) -> StoreResult<()> {
        self.write(WriteOp::CreateAccount {
            username: username.to_owned(),
            password_hash: password_hash.to_owned(),
            card: card.to_owned(),
            invite: invite.map(str::to_owned),
        })
        .await
        .map(|_| ())
    }

    async fn account(&self, username: &str) -> StoreResult<Option<Account>> {
        let username = username.to_owned();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT username, password_hash, card FROM accounts WHERE username = ?1",
            )?
            .query_row([username], |r| {
                Ok(Account {
                    username: r.get(0)?,
                    password_hash: r.get(1)?,
                    card: r.get(2)?,
                })
            })
            .optional()
        })
        .await
    }

    async fn delete_account(&self, username: &str) -> StoreResult<()> {
        self.write(WriteOp::DeleteAccount(username.to_owned()))
            .await?;
        let mut cache = self.sessions.lock().expect("session cache");
        cache.generation += 1;
        cache.map.retain(|_, s| s.username != username);
        Ok(())
    }

    async fn create_session(
        &self,
        token_hash: &str,
        username: &str,
        expires_at: u64,
    ) -> StoreResult<()> {
        self.write(WriteOp::CreateSession {
            token_hash: token_hash.to_owned(),
            username: username.to_owned(),
            expires_at,
        })
        .await
        .map(|_| ())
    }

    async fn session(&self, token_hash: &str) -> StoreResult<Option<Session>> {
        let generation = {
            let cache = self.sessions.lock().expect("session cache");
            if let Some(s) = cache.map.get(token_hash) {
                return Ok(Some(s.clone()));
            }
            cache.generation
        };
        let found = self.session_from_db(token_hash).await?;
        if let Some(s) = &found {
            let mut cache = self.sessions.lock().expect("session cache");
            if cache.generation == generation {
                if cache.map.len() >= SESSION_CACHE {
                    cache.map.clear();
                }
                cache.map.insert(token_hash.to_owned(), s.clone());
            }
        }
        Ok(found)
    }

    async fn revoke_session(&self, token_hash: &str) -> StoreResult<()> {
        self.write(WriteOp::RevokeSession(token_hash.to_owned()))
            .await?;
        let mut cache = self.sessions.lock().expect("session cache");
        cache.generation += 1;
        cache.map.remove(token_hash);
        Ok(())
    }

    async fn list_users(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<String>> {
        let prefix = prefix.to_owned();
        let after = after.unwrap_or("").to_owned();
        self.read(move |c| {
            // A range, not LIKE: `_` is a username character and a LIKE
            // wildcard. Every username character sorts below '~'.
            c.prepare_cached(
                "SELECT username FROM accounts WHERE username >= ?1 AND username < ?1 || '~'
                   AND username > ?2 ORDER BY username LIMIT ?3",
            )?
            .query_map(params![prefix, after, limit as i64], |r| r.get(0))?
            .collect()
        })
        .await
    }

    async fn put_envelope(&self, env: NewEnvelope, quota: Quota) -> StoreResult<PutOutcome> {
        match self.write(WriteOp::Put(env, quota)).await? {
            WriteOk::Put(outcome) => Ok(outcome),
            _ => unreachable!("put answers with a put outcome"),
        }
    }

    async fn fetch(&self, recipient: &str, filter: FetchFilter) -> StoreResult<Vec<Vec<u8>>> {
        // Stored `ts` never exceeds i64::MAX (PUT refuses more), so a bound
        // beyond it either excludes everything (since) or nothing (until).
        if filter.since.is_some_and(|t| t > i64::MAX as u64) {
            return Ok(Vec::new());
        }
        let filter = FetchFilter {
            until: filter.until.filter(|&t| t <= i64::MAX as u64),
            ..filter
        };
        let recipient = recipient.to_owned();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT body FROM mailbox WHERE recipient = ?1
                   AND (?2 IS NULL OR sender = ?2)
                   AND (?3 IS NULL OR ts >= ?3)
                   AND (?4 IS NULL OR ts < ?4)
                 ORDER BY seq LIMIT ?5",
            )?;
            let rows = stmt.query_map(
                params![
                    recipient,
                    filter.from,
                    filter.since.map(|t| t as i64),
                    filter.until.map(|t| t as i64),
                    filter.limit as i64
                ],
                |r| r.get::<_, Vec<u8>>(0),
            )?;
            let mut out = Vec::new();
            let mut total = 0;
            for body in rows {
                let body = body?;
                if !out.is_empty() && total + body.len() > filter.max_bytes {
                    break;
                }
                total += body.len();
                out.push(body);
            }
            Ok(out)
        })
        .await
    }

    async fn get_envelope(&self, recipient: &str, id: &str) -> StoreResult<Option<Vec<u8>>> {
        let (recipient, id) = (recipient.to_owned(), id.to_owned());
        self.read(move |c| {
            c.prepare_cached(
                "SELECT body FROM mailbox WHERE recipient = ?1 AND id = ?2 ORDER BY seq LIMIT 1",
            )?
            .query_row(params![recipient, id], |r| r.get(0))
            .optional()
        })
        .await
    }

    async fn ack(&self, recipient: &str, ids: Vec<String>) -> StoreResult<usize> {
        match self.write(WriteOp::Ack(recipient.to_owned(), ids)).await? {
            WriteOk::Count(n) => Ok(n),
            _ => unreachable!("ack answers with a count"),
        }
    }

    async fn create_invites(&self, codes: Vec<String>) -> StoreResult<()> {
        self.write(WriteOp::Invites(codes)).await.map(|_| ())
    }

    async fn ping(&self) -> StoreResult<()> {
        self.read(|c| c.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(())))
            .await
    }
}
