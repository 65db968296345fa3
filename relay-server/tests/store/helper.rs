//! The suite's fixture: a [`Backend`] is one test's data (a temp dir, or a
//! database of its own in the `CHAT_TEST_PG` cluster) on which it opens as
//! many store [`Instance`]s as it wants; builders and assertions make each
//! test read like a sentence.

use std::collections::BTreeSet;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};

pub use relay_server::store::{
    AttemptOutcome, BlobCreated, CommitHook, DeviceChoice, FetchFilter, MAX_DEVICES, NewBlob,
    NewEnvelope, NewSharedEnvelope, PgStore, PutOutcome, Quota, SharedAdmission, SharedPutOutcome,
    Skip, SqliteStore, Store, StoreError, ThrottleRule,
};

/// `assert!(matches!(…))` that shows what came instead.
macro_rules! assert_err {
    ($result:expr, $pattern:pat) => {
        match $result {
            Err($pattern) => {}
            other => panic!("expected Err({}), got {:?}", stringify!($pattern), other),
        }
    };
}

/// Which implementation a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// Set in a re-executed test binary (durability.rs) to the data the child
/// writes to: the SQLite dir or the PostgreSQL URL of its parent's backend.
pub const CHILD_DATA: &str = "STORE_TEST_CHILD_DATA";

/// Pooled connections of each PostgreSQL instance.
const POOL: usize = 8;

/// One test's data, on which it opens store instances.
pub struct Backend {
    /// The implementation.
    pub kind: Kind,
    /// The test's name as its harness knows it (to re-execute it).
    pub test_name: String,
    /// The SQLite data dir, or the PostgreSQL database URL.
    pub location: String,
    /// Whether this process is a writer child (durability.rs).
    child: bool,
    /// Keeps the SQLite dir until the test ends.
    _dir: Option<tempfile::TempDir>,
    /// The database to drop when the test ends: (admin URL, name).
    database: Option<(String, String)>,
}

impl Backend {
    /// Fresh data for the test `module_path::name` (as `conformance!` passes it).
    pub async fn new(kind: Kind, path: &str) -> Backend {
        let test_name = path
            .split_once("::")
            .map_or(path, |(_, rest)| rest)
            .to_owned();
        if let Ok(location) = std::env::var(CHILD_DATA) {
            return Backend {
                kind,
                test_name,
                location,
                child: true,
                _dir: None,
                database: None,
            };
        }
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("a temp dir");
                Backend {
                    kind,
                    test_name,
                    location: dir.path().to_str().expect("a UTF-8 temp path").to_owned(),
                    child: false,
                    _dir: Some(dir),
                    database: None,
                }
            }
            Kind::Postgres => {
                let admin = std::env::var("CHAT_TEST_PG").unwrap_or_else(|_| {
                    panic!(
                        "CHAT_TEST_PG is not set: the postgres:: tests of the store suite need a \
                         PostgreSQL cluster. Start one and point the suite at it:\n  \
                         scripts/pg start /tmp/pgtest\n  \
                         export CHAT_TEST_PG=$(scripts/pg url /tmp/pgtest)\n\
                         (or run only the SQLite variants: cargo nextest run -p relay-server \
                         --test store sqlite::)"
                    )
                });
                let name = format!("store_{:016x}", rand::random::<u64>());
                let location = relay_server::store::postgres::create_database(&admin, &name)
                    .await
                    .unwrap_or_else(|e| panic!("CHAT_TEST_PG={admin}: {e}"));
                Backend {
                    kind,
                    test_name,
                    location,
                    child: false,
                    _dir: None,
                    database: Some((admin, name)),
                }
            }
        }
    }

    /// Whether this process is the writer child of a durability test.
    pub fn is_child(&self) -> bool {
        self.child
    }

    /// Opens a store instance on this backend's data (a second one is a
    /// second relay on the same data), recording what its hook is told.
    pub async fn open(&self) -> Instance {
        let woken = Arc::new(Woken::default());
        let hook: CommitHook = {
            let woken = woken.clone();
            Arc::new(move |users: &[String]| woken.record(users))
        };
        let store: Arc<dyn Store> = match self.kind {
            Kind::Sqlite => Arc::new(
                SqliteStore::open(Path::new(&self.location), hook).expect("the SQLite store opens"),
            ),
            Kind::Postgres => Arc::new(
                PgStore::open(&self.location, POOL, hook)
                    .await
                    .expect("the PostgreSQL store opens"),
            ),
        };
        Instance { store, woken }
    }

    /// One integer the SQL (the same on both backends) selects, read beside
    /// the store: for what the trait does not show (how many rows a table
    /// holds, an account's pending counts).
    pub async fn scalar(&self, sql: &str) -> i64 {
        match self.kind {
            Kind::Sqlite => {
                let path = PathBuf::from(&self.location).join("relay.db");
                let query = sql.to_owned();
                tokio::task::spawn_blocking(move || {
                    let conn = rusqlite::Connection::open_with_flags(
                        path,
                        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                    )?;
                    conn.query_row(&query, [], |r| r.get::<_, i64>(0))
                })
                .await
                .expect("the query thread")
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
            }
            Kind::Postgres => {
                let (client, connection) =
                    tokio_postgres::connect(&self.location, tokio_postgres::NoTls)
                        .await
                        .expect("a connection to the test database");
                let driver = tokio::spawn(connection);
                let value = client
                    .query_one(sql, &[])
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
                    .get::<_, i64>(0);
                drop(client);
                let _ = driver.await;
                value
            }
        }
    }

    /// Runs SQL statements on the PostgreSQL database beside the store (to
    /// set up what no trait operation does, such as an older schema).
    pub async fn execute_pg(&self, sql: &str) {
        assert_eq!(self.kind, Kind::Postgres, "only for PostgreSQL tests");
        let (client, connection) = tokio_postgres::connect(&self.location, tokio_postgres::NoTls)
            .await
            .expect("a connection to the test database");
        let driver = tokio::spawn(connection);
        client
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        drop(client);
        let _ = driver.await;
    }

    /// Rows of `table` (a table name of both schemas) matching `filter`.
    pub async fn rows(&self, table: &str, filter: &str) -> i64 {
        self.scalar(&format!("SELECT count(*) FROM {table} WHERE {filter}"))
            .await
    }

    /// The account's mailbox usage: (pending envelopes, pending bytes).
    pub async fn pending(&self, user: &str) -> (i64, i64) {
        let count = self
            .scalar(&format!(
                "SELECT pending_count FROM accounts WHERE username = '{user}'"
            ))
            .await;
        let bytes = self
            .scalar(&format!(
                "SELECT pending_bytes FROM accounts WHERE username = '{user}'"
            ))
            .await;
        (count, bytes)
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        let Some((admin, name)) = self.database.take() else {
            return;
        };
        // On a thread of its own: the test's runtime is ending around us.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let Ok((client, connection)) =
                    tokio_postgres::connect(&admin, tokio_postgres::NoTls).await
                else {
                    return;
                };
                let driver = tokio::spawn(connection);
                let _ = client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
                drop(client);
                let _ = driver.await;
            });
        })
        .join();
    }
}

/// What one instance's commit hook was told.
#[derive(Default)]
pub struct Woken {
    calls: Mutex<Vec<Vec<String>>>,
}

impl Woken {
    fn record(&self, users: &[String]) {
        self.calls.lock().expect("hook calls").push(users.to_vec());
    }

    /// Every user named so far, in order, and forgets them.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.calls.lock().expect("hook calls"))
            .into_iter()
            .flatten()
            .collect()
    }

    /// Waits until each of `users` is named (then forgets every name so
    /// far); false if `within` passes first.
    pub async fn wait_for(&self, users: &[&str], within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            {
                let mut calls = self.calls.lock().expect("hook calls");
                let named = |user: &&str| calls.iter().flatten().any(|u| u == user);
                if users.iter().all(named) {
                    calls.clear();
                    return true;
                }
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// One store object: a relay instance on the backend's data.
#[derive(Clone)]
pub struct Instance {
    /// The store.
    pub store: Arc<dyn Store>,
    /// What its commit hook was told.
    pub woken: Arc<Woken>,
}

impl Deref for Instance {
    type Target = dyn Store;
    fn deref(&self) -> &(dyn Store + 'static) {
        &*self.store
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    relay_server::store::sqlite::now_ms()
}

/// A day from now (session and link expiries that do not matter).
pub fn tomorrow() -> u64 {
    now_ms() + 24 * 3600 * 1000
}

/// A fresh id: 32 lowercase hex digits (envelopes, blobs).
pub fn random_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// A fresh token hash or link handle: 64 lowercase hex digits.
pub fn random_hash() -> String {
    format!("{}{}", random_id(), random_id())
}

/// A device id no account has.
pub fn random_device() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// Room for everything a test puts.
pub const ROOMY: Quota = Quota {
    max_count: 1_000_000,
    max_bytes: 1 << 40,
};

/// Every pending envelope, however many and however large.
pub fn everything() -> FetchFilter {
    FetchFilter {
        limit: usize::MAX,
        max_bytes: usize::MAX,
        ..FetchFilter::default()
    }
}

/// Registers `user` (password hash `hash:USER`, card `card:USER`) with its
/// first device, `default`, and returns that device's id.
pub async fn register(s: &dyn Store, user: &str) -> String {
    s.create_account(
        user,
        &format!("hash:{user}"),
        &format!("card:{user}"),
        None,
        "default",
    )
    .await
    .unwrap_or_else(|e| panic!("registering {user}: {e}"));
    the_device(s, user).await
}

/// The id of the account's one active device.
pub async fn the_device(s: &dyn Store, user: &str) -> String {
    let devices = s.devices(user, u64::MAX / 2).await.expect("devices");
    assert_eq!(
        devices.len(),
        1,
        "{user} has one active device: {devices:?}"
    );
    devices[0].id.clone()
}

/// Adds a device named `name` (by a login whose session it then revokes,
/// so that it counts against no session cap) and returns its id.
pub async fn add_device(s: &dyn Store, user: &str, name: &str) -> String {
    let token = random_hash();
    let (device, _) = s
        .create_session(
            &token,
            user,
            DeviceChoice::New(name.into()),
            tomorrow(),
            1000,
        )
        .await
        .unwrap_or_else(|e| panic!("adding device {name} to {user}: {e}"));
    s.revoke_session(&token).await.expect("revoking a session");
    // Devices are ordered by their creation time in ms.
    tokio::time::sleep(Duration::from_millis(3)).await;
    device.id
}

/// An envelope with this id, ts and body.
pub fn envelope(
    from: &str,
    from_device: &str,
    to: &str,
    id: &str,
    ts: u64,
    body: Vec<u8>,
) -> NewEnvelope {
    NewEnvelope {
        id: id.to_owned(),
        sender: from.to_owned(),
        sender_device: from_device.to_owned(),
        recipient: to.to_owned(),
        ts,
        digest: Sha256::digest(&body).into(),
        body,
    }
}

/// A JSON body naming `id`, padded to exactly `len` bytes (at least 100).
pub fn body(id: &str, from: &str, len: usize) -> Vec<u8> {
    let head = format!(r#"{{"id":"{id}","from":"{from}","pad":""#);
    let pad = len
        .checked_sub(head.len() + 2)
        .expect("a body of at least 60 bytes");
    format!("{head}{}\"}}", "x".repeat(pad)).into_bytes()
}

/// A fresh 200-byte envelope from `from` (one of whose devices sent it) to `to`.
pub fn mail(from: &str, to: &str) -> NewEnvelope {
    sized(from, to, 200)
}

/// A fresh envelope of exactly `len` bytes.
pub fn sized(from: &str, to: &str, len: usize) -> NewEnvelope {
    let id = random_id();
    envelope(from, "elsewhere", to, &id, now_ms(), body(&id, from, len))
}

/// The same id and sender with other bytes.
pub fn altered(env: &NewEnvelope) -> NewEnvelope {
    let mut body = env.body.clone();
    let last_pad = body.len() - 3;
    body[last_pad] = b'y';
    envelope(
        &env.sender,
        &env.sender_device,
        &env.recipient,
        &env.id,
        env.ts,
        body,
    )
}

/// The id a body (one of [`body`]'s, or a shared envelope's delivered form) names.
pub fn id_of(body: &[u8]) -> String {
    let value: serde_json::Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)));
    value["id"].as_str().expect("an id").to_owned()
}

/// The ids of what `fetch` returned, in its order.
pub fn ids(bodies: &[Vec<u8>]) -> Vec<String> {
    bodies.iter().map(|b| id_of(b)).collect()
}

/// The ids of the envelopes, in their order.
pub fn ids_of(envs: &[&NewEnvelope]) -> Vec<String> {
    envs.iter().map(|e| e.id.clone()).collect()
}

/// The ids of everything the device has yet to fetch, oldest first.
pub async fn pending_ids(s: &dyn Store, user: &str, device: &str) -> Vec<String> {
    ids(&s.fetch(user, device, everything()).await.expect("fetch"))
}

/// Puts `env` and expects it stored.
pub async fn deliver(s: &dyn Store, env: &NewEnvelope) {
    let outcome = s.put_envelope(env.clone(), ROOMY).await;
    assert!(
        matches!(outcome, Ok(PutOutcome::Stored)),
        "{} → {}: {outcome:?}",
        env.sender,
        env.recipient
    );
}

/// A v2 envelope from `from` for `to` (sorted): a common part naming `id`
/// and one entry per recipient; `variant` changes its bytes.
pub fn shared(
    from: &str,
    from_device: &str,
    to: &[&str],
    id: &str,
    variant: u8,
) -> NewSharedEnvelope {
    let common = format!(
        r#"{{"v":2,"id":"{id}","from":"{from}","ct":"{}{variant}""#,
        "c".repeat(300)
    )
    .into_bytes();
    let entries: Vec<(String, Vec<u8>)> = to
        .iter()
        .enumerate()
        .map(|(n, user)| {
            (
                user.to_string(),
                format!(r#""n":{n},"to":{{"user":"{user}","wk":"{variant}"}}}}"#).into_bytes(),
            )
        })
        .collect();
    let mut hash = Sha256::new();
    hash.update(&common);
    for (user, entry) in &entries {
        hash.update(user.as_bytes());
        hash.update(entry);
    }
    NewSharedEnvelope {
        id: id.to_owned(),
        sender: from.to_owned(),
        sender_device: from_device.to_owned(),
        ts: now_ms(),
        digest: hash.finalize().into(),
        common,
        entries,
    }
}

/// What `to` fetches of a shared envelope: the common part, a comma, its entry.
pub fn delivered_form(env: &NewSharedEnvelope, to: &str) -> Vec<u8> {
    let (_, entry) = env
        .entries
        .iter()
        .find(|(user, _)| user == to)
        .expect("a recipient of the envelope");
    let mut form = env.common.clone();
    form.push(b',');
    form.extend_from_slice(entry);
    form
}

/// The strings as a sorted set (for comparing what order does not matter to).
pub fn set<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> BTreeSet<String> {
    items.into_iter().map(|s| s.as_ref().to_owned()).collect()
}
