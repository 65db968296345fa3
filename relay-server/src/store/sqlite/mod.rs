//! SQLite store: WAL, `synchronous=FULL`, one writer thread that group-commits
//! every write waiting in its queue into one transaction, and a small pool of
//! reader connections.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::{Semaphore, mpsc, oneshot};

use rand::Rng as _;

use super::{
    Account, Blob, BlobCreated, CommitHook, DeviceChoice, DeviceInfo, FetchFilter, NewBlob,
    NewEnvelope, NewSharedEnvelope, PutOutcome, Quota, Session, SharedPutOutcome, Store,
    StoreError, StoreResult, schema,
};
use blobs::{BlobOk, BlobOp};
use write::{Job, WriteOk, WriteOp, writer_loop};

mod blobs;
mod devices;
mod mail;
mod read;
mod write;

/// Invite codes are stored as SHA-256 hex, like tokens.
pub fn hash_code(code: &str) -> String {
    use sha2::{Digest as _, Sha256};
    Sha256::digest(code.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

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
    /// When each device's `last_seen` was last written.
    touched: super::TouchTimes,
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

/// A fresh device id: 64 random bits as 16 lowercase hex digits.
pub(crate) fn new_device_id() -> String {
    let mut bytes = [0u8; 8];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

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
            touched: super::TouchTimes::default(),
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

    async fn blob_write(&self, op: BlobOp) -> StoreResult<BlobOk> {
        match self.write(WriteOp::Blob(op)).await? {
            WriteOk::Blob(ok) => Ok(ok),
            _ => unreachable!("a blob write answers with a blob outcome"),
        }
    }

    /// Forgets the cached sessions of these devices, after their revocation.
    fn forget_devices(&self, gone: &[(String, String)]) {
        let mut cache = self.sessions.lock().expect("session cache");
        cache.generation += 1;
        cache.map.retain(|_, s| {
            !gone
                .iter()
                .any(|(u, d)| *u == s.username && *d == s.device_id)
        });
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

#[async_trait]
impl Store for SqliteStore {
    async fn create_account(
        &self,
        username: &str,
        password_hash: &str,
        card: &str,
        invite: Option<&str>,
        device_name: &str,
    ) -> StoreResult<()> {
        self.write(WriteOp::CreateAccount {
            username: username.to_owned(),
            password_hash: password_hash.to_owned(),
            card: card.to_owned(),
            invite: invite.map(str::to_owned),
            device_id: new_device_id(),
            device_name: device_name.to_owned(),
        })
        .await
        .map(|_| ())
    }

    async fn account(&self, username: &str) -> StoreResult<Option<Account>> {
        let username = username.to_owned();
        self.read(move |c| read::account(c, &username)).await
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
        device: DeviceChoice,
        expires_at: u64,
        max_per_user: usize,
    ) -> StoreResult<(DeviceInfo, usize)> {
        let op = WriteOp::CreateSession {
            token_hash: token_hash.to_owned(),
            username: username.to_owned(),
            device,
            new_device_id: new_device_id(),
            expires_at,
            max_per_user,
        };
        let WriteOk::Session(info, revoked) = self.write(op).await? else {
            unreachable!("a new session answers with its device and the sessions it revoked")
        };
        self.touched.wrote(username, &info.id, now_ms());
        if !revoked.is_empty() {
            let mut cache = self.sessions.lock().expect("session cache");
            cache.generation += 1;
            for hash in &revoked {
                cache.map.remove(hash);
            }
        }
        Ok((info, revoked.len()))
    }

    async fn session(&self, token_hash: &str) -> StoreResult<Option<Session>> {
        let generation = {
            let cache = self.sessions.lock().expect("session cache");
            if let Some(s) = cache.map.get(token_hash) {
                return Ok(Some(s.clone()));
            }
            cache.generation
        };
        let hash = token_hash.to_owned();
        let found = self.read(move |c| read::session(c, &hash)).await?;
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

    async fn devices(&self, username: &str, gone_since: u64) -> StoreResult<Vec<DeviceInfo>> {
        let username = username.to_owned();
        self.read(move |c| read::devices(c, &username, gone_since))
            .await
    }

    async fn revoke_device(
        &self,
        username: &str,
        device_id: &str,
        new_password_hash: &str,
    ) -> StoreResult<()> {
        self.write(WriteOp::RevokeDevice {
            username: username.to_owned(),
            device_id: device_id.to_owned(),
            password_hash: new_password_hash.to_owned(),
        })
        .await?;
        self.forget_devices(&[(username.to_owned(), device_id.to_owned())]);
        Ok(())
    }

    async fn change_password(&self, username: &str, password_hash: &str) -> StoreResult<()> {
        self.write(WriteOp::ChangePassword {
            username: username.to_owned(),
            password_hash: password_hash.to_owned(),
        })
        .await
        .map(|_| ())
    }

    async fn replace_card(&self, username: &str, card: &str) -> StoreResult<()> {
        self.write(WriteOp::ReplaceCard {
            username: username.to_owned(),
            card: card.to_owned(),
        })
        .await
        .map(|_| ())
    }

    async fn touch_device(&self, username: &str, device_id: &str) -> StoreResult<()> {
        if !self.touched.due(username, device_id, now_ms()) {
            return Ok(());
        }
        self.write(WriteOp::TouchDevice {
            username: username.to_owned(),
            device_id: device_id.to_owned(),
        })
        .await
        .map(|_| ())
    }

    async fn expire_devices(&self, idle_before: u64) -> StoreResult<Vec<(String, String)>> {
        let WriteOk::Expired(gone) = self.write(WriteOp::ExpireDevices { idle_before }).await?
        else {
            unreachable!("expiring answers with the devices expired")
        };
        if !gone.is_empty() {
            self.forget_devices(&gone);
        }
        Ok(gone)
    }

    async fn list_users(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<String>> {
        let prefix = prefix.to_owned();
        let after = after.unwrap_or("").to_owned();
        self.read(move |c| read::list_users(c, &prefix, &after, limit))
            .await
    }

    async fn put_envelope(&self, env: NewEnvelope, quota: Quota) -> StoreResult<PutOutcome> {
        match self.write(WriteOp::Put(env, quota)).await? {
            WriteOk::Put(outcome) => Ok(outcome),
            _ => unreachable!("put answers with a put outcome"),
        }
    }

    async fn put_shared_envelope(
        &self,
        env: NewSharedEnvelope,
        quota: Quota,
    ) -> StoreResult<SharedPutOutcome> {
        match self.write(WriteOp::PutShared(env, quota)).await? {
            WriteOk::PutShared(outcome) => Ok(outcome),
            _ => unreachable!("a shared put answers with its outcome"),
        }
    }

    async fn fetch(
        &self,
        recipient: &str,
        device: &str,
        filter: FetchFilter,
    ) -> StoreResult<Vec<Vec<u8>>> {
        // Stored `ts` never exceeds i64::MAX (PUT refuses more), so a bound
        // beyond it either excludes everything (since) or nothing (until).
        if filter.since.is_some_and(|t| t > i64::MAX as u64) {
            return Ok(Vec::new());
        }
        let filter = FetchFilter {
            until: filter.until.filter(|&t| t <= i64::MAX as u64),
            ..filter
        };
        let (recipient, device) = (recipient.to_owned(), device.to_owned());
        self.read(move |c| read::fetch(c, &recipient, &device, &filter))
            .await
    }

    async fn get_envelope(
        &self,
        recipient: &str,
        device: &str,
        id: &str,
    ) -> StoreResult<Option<Vec<u8>>> {
        let (recipient, device, id) = (recipient.to_owned(), device.to_owned(), id.to_owned());
        self.read(move |c| read::envelope(c, &recipient, &device, &id))
            .await
    }

    async fn ack(&self, recipient: &str, device: &str, ids: Vec<String>) -> StoreResult<usize> {
        let op = WriteOp::Ack {
            recipient: recipient.to_owned(),
            device: device.to_owned(),
            ids,
        };
        match self.write(op).await? {
            WriteOk::Count(n) => Ok(n),
            _ => unreachable!("ack answers with a count"),
        }
    }

    async fn put_backup(&self, username: &str, body: Vec<u8>) -> StoreResult<()> {
        self.write(WriteOp::PutBackup(username.to_owned(), body))
            .await
            .map(|_| ())
    }

    async fn backup(&self, username: &str) -> StoreResult<Option<Vec<u8>>> {
        let username = username.to_owned();
        self.read(move |c| {
            use rusqlite::OptionalExtension as _;
            c.prepare_cached("SELECT body FROM backups WHERE username = ?1")?
                .query_row([&username], |r| r.get(0))
                .optional()
        })
        .await
    }

    async fn delete_backup(&self, username: &str) -> StoreResult<bool> {
        match self
            .write(WriteOp::DeleteBackup(username.to_owned()))
            .await?
        {
            WriteOk::Count(n) => Ok(n > 0),
            _ => unreachable!("deleting a backup answers with a count"),
        }
    }

    async fn put_link(
        &self,
        username: &str,
        handle: &str,
        body: Vec<u8>,
        expires_at: u64,
    ) -> StoreResult<()> {
        let op = WriteOp::PutLink {
            username: username.to_owned(),
            handle: handle.to_owned(),
            body,
            expires_at,
        };
        self.write(op).await.map(|_| ())
    }

    async fn take_link(&self, username: &str, handle: &str) -> StoreResult<Option<Vec<u8>>> {
        let op = WriteOp::TakeLink {
            username: username.to_owned(),
            handle: handle.to_owned(),
        };
        match self.write(op).await? {
            WriteOk::Link(body) => Ok(body),
            _ => unreachable!("taking a link answers with its body"),
        }
    }

    async fn create_blob(&self, blob: NewBlob, quota_bytes: u64) -> StoreResult<BlobCreated> {
        match self.blob_write(BlobOp::Create(blob, quota_bytes)).await? {
            BlobOk::Created(created) => Ok(created),
            _ => unreachable!("creating a blob answers with what it did"),
        }
    }

    async fn blob(&self, id: &str) -> StoreResult<Option<Blob>> {
        let id = id.to_owned();
        self.read(move |c| blobs::read_blob(c, &id)).await
    }

    async fn set_blob_stored(&self, id: &str, stored: u64) -> StoreResult<bool> {
        let op = BlobOp::SetStored {
            id: id.to_owned(),
            stored,
        };
        match self.blob_write(op).await? {
            BlobOk::Changed(changed) => Ok(changed),
            _ => unreachable!("setting a blob's length answers whether it changed"),
        }
    }

    async fn delete_blob(&self, owner: &str, id: &str) -> StoreResult<bool> {
        let op = BlobOp::Delete {
            owner: owner.to_owned(),
            id: id.to_owned(),
        };
        match self.blob_write(op).await? {
            BlobOk::Changed(changed) => Ok(changed),
            _ => unreachable!("deleting a blob answers whether there was one"),
        }
    }

    async fn expire_blobs(&self, now: u64, incomplete_before: u64) -> StoreResult<Vec<String>> {
        let op = BlobOp::Expire {
            now,
            incomplete_before,
        };
        match self.blob_write(op).await? {
            BlobOk::Gone(ids) => Ok(ids),
            _ => unreachable!("expiring blobs answers with their ids"),
        }
    }

    async fn blobs_of(&self, owner: &str) -> StoreResult<Vec<String>> {
        let owner = owner.to_owned();
        self.read(move |c| blobs::owned(c, &owner)).await
    }

    async fn rename_device(&self, username: &str, device_id: &str, name: &str) -> StoreResult<()> {
        let op = WriteOp::RenameDevice {
            username: username.to_owned(),
            device_id: device_id.to_owned(),
            name: name.to_owned(),
        };
        self.write(op).await.map(|_| ())
    }

    async fn create_invites(&self, codes: Vec<String>) -> StoreResult<()> {
        self.write(WriteOp::Invites(codes)).await.map(|_| ())
    }

    async fn stats(&self) -> StoreResult<super::StoreStats> {
        self.read(|c| {
            let (accounts, pending_envelopes, pending_bytes) = c.query_row(
                "SELECT count(*), COALESCE(sum(pending_count), 0), COALESCE(sum(pending_bytes), 0)
                 FROM accounts",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                },
            )?;
            let (blobs, blob_bytes) = c.query_row(
                "SELECT count(*), COALESCE(sum(stored), 0) FROM blobs",
                [],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )?;
            Ok(super::StoreStats {
                accounts: accounts as u64,
                pending_envelopes: pending_envelopes as u64,
                pending_bytes: pending_bytes as u64,
                blobs: blobs as u64,
                blob_bytes: blob_bytes as u64,
            })
        })
        .await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.read(|c| c.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(())))
            .await
    }
}
