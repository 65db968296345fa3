//! Relay settings.

use std::path::PathBuf;
use std::time::Duration;

use crate::proxy::Cidr;
use crate::store::Quota;

/// Default settings, shared by [`Config::new`] and `relay-server serve`'s flags.
pub mod defaults {
    /// Most envelopes pending for one recipient.
    pub const MAILBOX_MAX_ENVELOPES: u64 = 10_000;
    /// Most bytes of envelopes pending for one recipient (1 GiB).
    pub const MAILBOX_MAX_BYTES: u64 = 1 << 30;
    /// Password checks (logins, account deletions, registrations) waiting
    /// for a hashing thread before more are refused with 429.
    pub const HASH_QUEUE: usize = 64;
    /// Sessions (tokens) one account may hold; a login past it revokes the
    /// oldest.
    pub const SESSIONS_PER_USER: usize = 32;
    /// Days a device may go without fetching before it expires.
    pub const DEVICE_EXPIRY_DAYS: u64 = 30;
    /// Seconds a device link waits to be claimed (docs/RELAY.md §5.3).
    pub const LINK_TTL_SECS: u64 = 600;
    /// Long-polls one session token may have waiting; a new one past it
    /// answers the oldest with 204.
    pub const POLLS_PER_TOKEN: usize = 8;
    /// Connections served at once: room for 10,000 idle long-polls
    /// (docs/BENCHMARKS.md) and more. Lowered to fit the open-files limit.
    pub const MAX_CONNECTIONS: usize = 16_384;
    /// Seconds for a TLS handshake and a request head.
    pub const HEADER_TIMEOUT_SECS: u64 = 10;
    /// Seconds a connection may stay open with no request in flight.
    pub const IDLE_TIMEOUT_SECS: u64 = 60;
    /// Seconds for a request's body to arrive.
    pub const BODY_TIMEOUT_SECS: u64 = 60;
    /// Largest blob, in MiB (docs/RELAY.md §5.5).
    pub const MAX_BLOB_MIB: u64 = 100;
    /// Bytes of blobs one account may hold at once, in MiB.
    pub const BLOB_QUOTA_MIB: u64 = 1024;
    /// Days a blob is kept.
    pub const BLOB_TTL_DAYS: u64 = 30;
    /// Hours an incomplete upload is kept.
    pub const BLOB_UPLOAD_HOURS: u64 = 24;
}

/// One mebibyte.
pub const MIB: u64 = 1 << 20;

/// The blob size a file of `mib` MiB takes once sealed in chunks
/// (docs/PROTOCOL.md §15.2: 64 bytes more per MiB), so that
/// `--max-blob-mib 100` lets a file of 100 MiB through.
pub fn sealed_file_cap(mib: u64) -> u64 {
    mib * (MIB + 64)
}

/// Who may create an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RegistrationPolicy {
    /// Anyone.
    Open,
    /// Only with a single-use code from `relay-server invite create`.
    Invite,
    /// Nobody.
    Closed,
}

/// Everything `run` needs besides the listener.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where `relay.db` lives (SQLite).
    pub data_dir: PathBuf,
    /// PostgreSQL connection settings (a `postgres://` URL or `key=value`
    /// string): the store is there instead of `data_dir/relay.db`, shared
    /// with other instances (docs/RELAY.md §8).
    pub database: Option<String>,
    /// Pooled PostgreSQL connections of this instance.
    pub database_pool: usize,
    /// Where blob files live; with PostgreSQL a directory every instance
    /// shares (docs/RELAY.md §5.5).
    pub blob_dir: PathBuf,
    /// Registration policy.
    pub registration: RegistrationPolicy,
    /// Per-recipient mailbox limits.
    pub quota: Quota,
    /// Session token lifetime.
    pub token_ttl: Duration,
    /// Sessions one account may hold; a login past it revokes the oldest.
    pub max_sessions_per_user: usize,
    /// A device that has not fetched for this long expires, unless it is
    /// its account's most recently seen one (docs/RELAY.md, "Devices").
    pub device_expiry: Duration,
    /// How long a device link waits to be claimed.
    pub link_ttl: Duration,
    /// Long-polls one token may have waiting; a new one answers the oldest 204.
    pub max_polls_per_token: usize,
    /// Failed password checks per (user, address) and per address within
    /// `login_window` before 429 (docs/RELAY.md, "Logging in").
    pub login_failures: usize,
    /// How long a failed password check counts.
    pub login_window: Duration,
    /// The wait before checking the password of a user with one recent
    /// failure; it doubles with each more, up to `login_delay_max`.
    pub login_delay: Duration,
    /// The longest wait before a password check.
    pub login_delay_max: Duration,
    /// Argon2id memory cost in KiB (docs/SECURITY.md §7: 19 MiB).
    pub argon2_memory_kib: u32,
    /// Argon2id passes (docs/SECURITY.md §7: 2).
    pub argon2_iterations: u32,
    /// Password hashing jobs that may wait for a thread; past it, 429.
    pub hash_queue: usize,
    /// Sustained requests per second allowed per session token.
    pub token_rate: f64,
    /// Requests a token may make in a burst above `token_rate`.
    pub token_burst: f64,
    /// TLS certificate and key (PEM), if served over HTTPS.
    pub tls: Option<TlsFiles>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (empty: the
    /// header is ignored).
    pub trusted_proxies: Vec<Cidr>,
    /// Most connections served at once (lowered to fit the open-files limit).
    pub max_connections: usize,
    /// Time for a TLS handshake and for each request head, from the
    /// connection's start or the end of its previous answer.
    pub header_timeout: Duration,
    /// Time a connection may stay open with no request in flight.
    pub idle_timeout: Duration,
    /// Time for a request's body to arrive once its head has (408 after);
    /// for a blob upload, the longest pause between two pieces of it.
    pub body_timeout: Duration,
    /// Largest declared size of a blob, in bytes ([`sealed_file_cap`]).
    pub max_blob_bytes: u64,
    /// Bytes of unexpired blobs one account may hold.
    pub blob_quota_bytes: u64,
    /// How long a blob is kept after it is created.
    pub blob_ttl: Duration,
    /// How long an incomplete upload is kept after it is created.
    pub blob_upload_ttl: Duration,
    /// How often the sweep expires idle devices, links and blobs.
    pub sweep_every: Duration,
    /// Where `GET /metrics` is served (docs/RELAY.md §9), if anywhere; never
    /// on the API's address.
    pub metrics_listen: Option<std::net::SocketAddr>,
}

/// PEM files for rustls.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain.
    pub cert: PathBuf,
    /// Private key.
    pub key: PathBuf,
}

impl Config {
    /// Defaults for a relay storing its data in `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Config {
        let data_dir = data_dir.into();
        Config {
            blob_dir: data_dir.join("blobs"),
            data_dir,
            database: None,
            database_pool: crate::store::postgres::DEFAULT_POOL,
            registration: RegistrationPolicy::Open,
            quota: Quota {
                max_count: defaults::MAILBOX_MAX_ENVELOPES,
                max_bytes: defaults::MAILBOX_MAX_BYTES,
            },
            token_ttl: Duration::from_secs(24 * 3600),
            max_sessions_per_user: defaults::SESSIONS_PER_USER,
            device_expiry: Duration::from_secs(defaults::DEVICE_EXPIRY_DAYS * 24 * 3600),
            link_ttl: Duration::from_secs(defaults::LINK_TTL_SECS),
            max_polls_per_token: defaults::POLLS_PER_TOKEN,
            login_failures: 10,
            login_window: Duration::from_secs(15 * 60),
            login_delay: Duration::from_millis(250),
            login_delay_max: Duration::from_secs(4),
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
            hash_queue: defaults::HASH_QUEUE,
            // A daemon needs a few requests per message; these only stop a
            // runaway or hostile client from monopolizing the relay.
            token_rate: 1000.0,
            token_burst: 2000.0,
            tls: None,
            trusted_proxies: Vec::new(),
            max_connections: defaults::MAX_CONNECTIONS,
            header_timeout: Duration::from_secs(defaults::HEADER_TIMEOUT_SECS),
            idle_timeout: Duration::from_secs(defaults::IDLE_TIMEOUT_SECS),
            body_timeout: Duration::from_secs(defaults::BODY_TIMEOUT_SECS),
            max_blob_bytes: sealed_file_cap(defaults::MAX_BLOB_MIB),
            blob_quota_bytes: defaults::BLOB_QUOTA_MIB * MIB,
            blob_ttl: Duration::from_secs(defaults::BLOB_TTL_DAYS * 24 * 3600),
            blob_upload_ttl: Duration::from_secs(defaults::BLOB_UPLOAD_HOURS * 3600),
            sweep_every: Duration::from_secs(3600),
            metrics_listen: None,
        }
    }
}
