//! Storage behind a trait, so that handlers never see SQL and a PostgreSQL
//! backend (several relays behind a load balancer) can be added beside SQLite.

pub mod postgres;
pub mod schema;
pub mod sqlite;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

use async_trait::async_trait;
pub use ipc_schema::relay::DeviceInfo;

/// A stored account.
#[derive(Debug, Clone)]
pub struct Account {
    /// The username.
    pub username: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// The card JSON text as registered.
    pub card: String,
}

/// A session looked up by token hash.
#[derive(Debug, Clone)]
pub struct Session {
    /// Whose session it is.
    pub username: String,
    /// The device it belongs to.
    pub device_id: String,
    /// Expiry, ms since the epoch.
    pub expires_at: u64,
}

/// Which device a login is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceChoice {
    /// The account's oldest active device, created as "default" if it has
    /// none (a client that knows nothing of devices).
    Oldest,
    /// This device, which must be active.
    Existing(String),
    /// A new device with this name (at most [`MAX_DEVICES`] active).
    New(String),
}

pub use ipc_schema::relay::MAX_DEVICES;

/// An envelope to store, already checked by the handler.
#[derive(Debug, Clone)]
pub struct NewEnvelope {
    /// Envelope id (32 hex).
    pub id: String,
    /// Sender (= the token's user).
    pub sender: String,
    /// The sender's device: when the sender is also the recipient, that
    /// device gets no copy of what it sent.
    pub sender_device: String,
    /// Recipient.
    pub recipient: String,
    /// The envelope's own `ts`.
    pub ts: u64,
    /// The exact JSON bytes that were put.
    pub body: Vec<u8>,
    /// SHA-256 of `body`, to tell a retry from a conflicting reuse of the id.
    pub digest: [u8; 32],
}

/// A sealed v2 envelope to store once for several recipients, already
/// checked and split by the handler (docs/PROTOCOL.md §8.4).
#[derive(Debug, Clone)]
pub struct NewSharedEnvelope {
    /// Envelope id (32 hex).
    pub id: String,
    /// Sender (= the token's user).
    pub sender: String,
    /// The sender's device (see [`NewEnvelope::sender_device`]).
    pub sender_device: String,
    /// The envelope's own `ts`.
    pub ts: u64,
    /// SHA-256 of the sealed JSON that was put.
    pub digest: [u8; 32],
    /// The members every recipient gets, as the opening of a JSON object:
    /// `{"v":2,…,"sig":"…"` without the closing brace.
    pub common: Vec<u8>,
    /// Each recipient with the rest of its delivered form, `"n":…,"to":{…}}`.
    pub entries: Vec<(String, Vec<u8>)>,
}

/// Why a v2 PUT stored nothing for one of its recipients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// No such account.
    UnknownRecipient,
    /// The recipient's mailbox is full.
    QuotaExceeded,
    /// Another sender already used this id for this recipient (pending or
    /// acknowledged): skipped for this recipient only, so that another
    /// recipient of the same envelope, who knows its id, cannot block it
    /// for everyone.
    Conflict,
}

/// What a v2 PUT did, recipient by recipient.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SharedPutOutcome {
    /// Recipients stored now.
    pub stored: Vec<String>,
    /// Recipients already stored or delivered with the same bytes.
    pub duplicate: usize,
    /// Recipients not stored, with why.
    pub skipped: Vec<(String, Skip)>,
}

/// What a PUT did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// Stored now (201).
    Stored,
    /// The same bytes were already stored or already delivered (200).
    Duplicate,
}

/// Filters of `GET /v1/messages`.
#[derive(Debug, Clone, Default)]
pub struct FetchFilter {
    /// Only from this sender.
    pub from: Option<String>,
    /// Only with envelope `ts` ≥ this.
    pub since: Option<u64>,
    /// Only with envelope `ts` < this.
    pub until: Option<u64>,
    /// At most this many.
    pub limit: usize,
    /// Stop adding envelopes once the bodies reach this many bytes (at least one is returned).
    pub max_bytes: usize,
}

/// Per-recipient mailbox limits.
#[derive(Debug, Clone, Copy)]
pub struct Quota {
    /// Most envelopes pending for one recipient.
    pub max_count: u64,
    /// Most bytes pending for one recipient.
    pub max_bytes: u64,
}

/// A blob upload to record, already checked by the handler.
#[derive(Debug, Clone)]
pub struct NewBlob {
    /// The uploader's id (32 hex).
    pub id: String,
    /// Who uploads it (= the token's user).
    pub owner: String,
    /// Its declared length in bytes.
    pub size: u64,
    /// Who may download it, sorted and without repeats.
    pub readers: Vec<String>,
    /// When the sweep deletes it (ms since the epoch).
    pub expires_at: u64,
}

/// A recorded blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// Its id.
    pub id: String,
    /// Who uploads it.
    pub owner: String,
    /// Its declared length.
    pub size: u64,
    /// Bytes durably stored so far, from the start.
    pub stored: u64,
    /// Who may download it, sorted.
    pub readers: Vec<String>,
    /// When it was created (ms).
    pub created_at: u64,
    /// When it expires (ms).
    pub expires_at: u64,
}

/// What `POST /v1/blobs` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobCreated {
    /// Recorded now (201).
    Created,
    /// The same owner already recorded the same upload (200), with this
    /// many bytes stored.
    Existing {
        /// Bytes stored so far.
        stored: u64,
    },
}

/// The store's totals, for the metrics (read when scraped).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Accounts.
    pub accounts: u64,
    /// Envelopes pending in every mailbox.
    pub pending_envelopes: u64,
    /// Bytes of those envelopes.
    pub pending_bytes: u64,
    /// Blobs recorded.
    pub blobs: u64,
    /// Blob bytes stored durably.
    pub blob_bytes: u64,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The username is taken.
    #[error("username taken")]
    UsernameTaken,
    /// The invite code is unknown or used.
    #[error("invalid invite")]
    InvalidInvite,
    /// No such account.
    #[error("unknown user")]
    UnknownUser,
    /// The account has no such device.
    #[error("unknown device")]
    UnknownDevice,
    /// The device was revoked or expired.
    #[error("device revoked or expired")]
    DeviceGone,
    /// The account already has [`MAX_DEVICES`] active devices.
    #[error("too many devices")]
    TooManyDevices,
    /// The recipient has no account.
    #[error("unknown recipient")]
    UnknownRecipient,
    /// Same (sender, id), different bytes.
    #[error("conflicting envelope")]
    Conflict,
    /// Recipient over quota.
    #[error("recipient over quota")]
    QuotaExceeded,
    /// The disk (or SQLite's page limit) is full: nothing was written.
    /// (scripts/chaos finds "disk is full" in the relay's log.)
    #[error("storage full (database or disk is full)")]
    StorageFull,
    /// SQLite or I/O failure.
    #[error("storage failure: {0}")]
    Backend(String),
    /// The store is shutting down.
    #[error("store closed")]
    Closed,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::StorageFull,
            _ => StoreError::Backend(e.to_string()),
        }
    }
}

impl StoreError {
    /// The same failure again, for each job of a batch that failed as a
    /// whole (only storage failures fail a whole batch).
    pub fn again(&self) -> StoreError {
        match self {
            StoreError::StorageFull => StoreError::StorageFull,
            other => StoreError::Backend(other.to_string()),
        }
    }
}

/// Result of store calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// Everything the relay persists. Every write returns only after its commit.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates an account with its first device; consumes `invite` when given.
    async fn create_account(
        &self,
        username: &str,
        password_hash: &str,
        card: &str,
        invite: Option<&str>,
        device_name: &str,
    ) -> StoreResult<()>;
    /// Looks an account up.
    async fn account(&self, username: &str) -> StoreResult<Option<Account>>;
    /// Deletes an account with its mailbox, sessions and directory entry.
    async fn delete_account(&self, username: &str) -> StoreResult<()>;
    /// Stores a session of `device` by the SHA-256 hash of its token and
    /// revokes the user's sessions that expire first beyond `max_per_user`
    /// (the new one always stays); returns the device, seen now, and how
    /// many sessions it revoked.
    async fn create_session(
        &self,
        token_hash: &str,
        username: &str,
        device: DeviceChoice,
        expires_at: u64,
        max_per_user: usize,
    ) -> StoreResult<(DeviceInfo, usize)>;
    /// Looks a session up by token hash.
    async fn session(&self, token_hash: &str) -> StoreResult<Option<Session>>;
    /// Revokes one session.
    async fn revoke_session(&self, token_hash: &str) -> StoreResult<()>;
    /// The account's devices, oldest first: the active ones, then those gone
    /// since `gone_since` (ms since the epoch).
    async fn devices(&self, username: &str, gone_since: u64) -> StoreResult<Vec<DeviceInfo>>;
    /// Revokes an active device (its sessions and pending copies go; an
    /// envelope no other device still has to fetch goes with its last copy)
    /// and sets the account's new password hash, in one transaction.
    async fn revoke_device(
        &self,
        username: &str,
        device_id: &str,
        new_password_hash: &str,
    ) -> StoreResult<()>;
    /// Sets the account's password hash.
    async fn change_password(&self, username: &str, password_hash: &str) -> StoreResult<()>;
    /// Replaces the account's directory card.
    async fn replace_card(&self, username: &str, card: &str) -> StoreResult<()>;
    /// Notes that the device was seen now (written at most every few minutes).
    async fn touch_device(&self, username: &str, device_id: &str) -> StoreResult<()>;
    /// Expires every active device not seen since `idle_before` (ms since
    /// the epoch) whose account has a device seen later: the most recently
    /// seen device of an account never expires, so a one-device account
    /// keeps its mail. Returns the (user, device) pairs expired.
    async fn expire_devices(&self, idle_before: u64) -> StoreResult<Vec<(String, String)>>;
    /// Usernames starting with `prefix`, after `after`, ascending.
    async fn list_users(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<String>>;
    /// Stores an envelope for its recipient (idempotent by (sender, id)).
    async fn put_envelope(&self, env: NewEnvelope, quota: Quota) -> StoreResult<PutOutcome>;
    /// Stores a v2 envelope's body once with one mailbox entry per
    /// recipient, in one transaction; a missing or full recipient is skipped,
    /// never blocking the others (idempotent by (sender, id)).
    async fn put_shared_envelope(
        &self,
        env: NewSharedEnvelope,
        quota: Quota,
    ) -> StoreResult<SharedPutOutcome>;
    /// The envelopes the recipient's device has yet to fetch, oldest first.
    async fn fetch(
        &self,
        recipient: &str,
        device: &str,
        filter: FetchFilter,
    ) -> StoreResult<Vec<Vec<u8>>>;
    /// One envelope the recipient's device has yet to fetch.
    async fn get_envelope(
        &self,
        recipient: &str,
        device: &str,
        id: &str,
    ) -> StoreResult<Option<Vec<u8>>>;
    /// Deletes the device's copies of the envelopes with these ids, and each
    /// envelope whose last copy that was; returns how many copies.
    async fn ack(&self, recipient: &str, device: &str, ids: Vec<String>) -> StoreResult<usize>;
    /// Stores (or replaces) the account's sealed key backup.
    async fn put_backup(&self, username: &str, body: Vec<u8>) -> StoreResult<()>;
    /// The account's sealed key backup, if any.
    async fn backup(&self, username: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Deletes the account's key backup; returns whether there was one.
    async fn delete_backup(&self, username: &str) -> StoreResult<bool>;
    /// Stores the account's pending device link, replacing any other, until
    /// `expires_at` (ms). Refused with [`StoreError::TooManyDevices`] when
    /// the account has no room for another device.
    async fn put_link(
        &self,
        username: &str,
        handle: &str,
        body: Vec<u8>,
        expires_at: u64,
    ) -> StoreResult<()>;
    /// Takes the account's pending link if `handle` names it and it has not
    /// expired: it is deleted as it is returned, so it opens once. `None` for
    /// a wrong handle (nothing changes then) or an expired link.
    /// [`StoreError::TooManyDevices`] leaves it in place.
    async fn take_link(&self, username: &str, handle: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Records a blob upload, unless the owner's unexpired blobs and it
    /// would hold more than `quota_bytes` ([`StoreError::QuotaExceeded`]), a
    /// reader has no account ([`StoreError::UnknownRecipient`]) or the id is
    /// taken by another upload ([`StoreError::Conflict`]).
    async fn create_blob(&self, blob: NewBlob, quota_bytes: u64) -> StoreResult<BlobCreated>;
    /// One blob, expired or not.
    async fn blob(&self, id: &str) -> StoreResult<Option<Blob>>;
    /// Notes that `stored` bytes of the blob are durable; false if it is gone.
    async fn set_blob_stored(&self, id: &str, stored: u64) -> StoreResult<bool>;
    /// Deletes the owner's blob; returns whether there was one.
    async fn delete_blob(&self, owner: &str, id: &str) -> StoreResult<bool>;
    /// Deletes every blob expired at `now` and every incomplete one created
    /// before `incomplete_before` (ms); returns their ids, for their files.
    async fn expire_blobs(&self, now: u64, incomplete_before: u64) -> StoreResult<Vec<String>>;
    /// The ids of the account's blobs (to delete their files with it).
    async fn blobs_of(&self, owner: &str) -> StoreResult<Vec<String>>;
    /// Renames an active device of the account.
    async fn rename_device(&self, username: &str, device_id: &str, name: &str) -> StoreResult<()>;
    /// Creates `count` single-use invite codes (stored hashed) and returns them.
    async fn create_invites(&self, codes: Vec<String>) -> StoreResult<()>;
    /// A trivial query, for the health check.
    async fn ping(&self) -> StoreResult<()>;
    /// The totals the metrics report (a scan of the accounts and blobs).
    async fn stats(&self) -> StoreResult<StoreStats>;
    /// Admits a password check of `username` from `addr` against the login
    /// throttle's counts of every instance on this store, counting it as a
    /// failure until [`end_login_attempt`](Store::end_login_attempt) says
    /// otherwise (docs/RELAY.md §8). `Ok(None)`: the store serves one relay
    /// process, whose memory is the only count (SQLite).
    async fn begin_login_attempt(
        &self,
        username: &str,
        addr: &str,
        rule: ThrottleRule,
    ) -> StoreResult<Option<SharedAdmission>> {
        let _ = (username, addr, rule);
        Ok(None)
    }
    /// How the admitted attempt `id` of `username` from `addr` ended.
    async fn end_login_attempt(
        &self,
        id: i64,
        username: &str,
        addr: &str,
        outcome: AttemptOutcome,
    ) -> StoreResult<()> {
        let _ = (id, username, addr, outcome);
        Ok(())
    }
}

/// The login throttle's budget, as a store shared by instances applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRule {
    /// Failures (attempts in flight included) per (user, address) and per
    /// address within the window before a check is refused.
    pub limit: usize,
    /// How long a failure counts, in ms.
    pub window_ms: u64,
    /// The wait to give when the budget is full of attempts still in
    /// flight, in ms.
    pub busy_ms: u64,
    /// Now, in ms since the epoch.
    pub now_ms: u64,
}

/// What the shared login throttle said of a password check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedAdmission {
    /// Over the pair's or the address's budget: wait this long (ms).
    Refused { wait_ms: u64 },
    /// Admitted as attempt `id`; the user had `user_recent` recent failures
    /// and attempts in flight before it, on every instance.
    Admitted { id: i64, user_recent: usize },
}

/// How an admitted password check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The password was right: the pair's earlier failures are forgiven.
    Succeeded,
    /// The password was wrong, the user unknown, or the request went away.
    Failed,
    /// No password was checked: the attempt is forgotten.
    Unverified,
}

/// When each device's `last_seen` was last written by this process, so that
/// authenticating a request writes it at most every few minutes (both
/// stores).
#[derive(Default)]
pub struct TouchTimes(std::sync::Mutex<std::collections::HashMap<(String, String), u64>>);

impl TouchTimes {
    /// Writes `last_seen` at most this often per device.
    const EVERY_MS: u64 = 5 * 60 * 1000;
    /// Most devices remembered; past it the map starts over.
    const MAX: usize = 100_000;

    /// Notes a write of the device's `last_seen` at `now` (ms).
    pub fn wrote(&self, username: &str, device_id: &str, now: u64) {
        let mut map = self.0.lock().expect("touch times");
        if map.len() >= Self::MAX {
            map.clear();
        }
        map.insert((username.to_owned(), device_id.to_owned()), now);
    }

    /// Whether the device's `last_seen` is due to be written at `now`; if
    /// so, it counts as written.
    pub fn due(&self, username: &str, device_id: &str, now: u64) -> bool {
        let key = (username.to_owned(), device_id.to_owned());
        let recent = self
            .0
            .lock()
            .expect("touch times")
            .get(&key)
            .is_some_and(|&at| now.saturating_sub(at) < Self::EVERY_MS);
        if !recent {
            self.wrote(username, device_id, now);
        }
        !recent
    }
}

/// An envelope as its recipient gets it: a v1 body as it was put, or a v2
/// entry (`"n":…,"to":{…}}`) joined to its shared part (`{"v":2,…`).
pub fn assemble(body: Vec<u8>, common: Option<Vec<u8>>) -> Vec<u8> {
    match common {
        None => body,
        Some(mut common) => {
            common.reserve(body.len() + 1);
            common.push(b',');
            common.extend_from_slice(&body);
            common
        }
    }
}

/// The envelopes of a fetch, in order, until they reach `max_bytes` (at
/// least one is returned when any matched).
pub fn within_budget(bodies: impl IntoIterator<Item = Vec<u8>>, max_bytes: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut total = 0;
    for body in bodies {
        if !out.is_empty() && total + body.len() > max_bytes {
            break;
        }
        total += body.len();
        out.push(body);
    }
    out
}

/// Callback the store calls after each commit with the recipients that got
/// mail; with none when any recipient may have (see `PgStore::open`).
pub type CommitHook = std::sync::Arc<dyn Fn(&[String]) + Send + Sync>;
