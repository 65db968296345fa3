//! relay-server's command line, and how it becomes a [`Config`]: the binary
//! parses it, and tools/cli-docs writes relay-server's man pages and shell
//! completions from the same definition.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::defaults;
use crate::store::Quota;
use crate::{Config, RegistrationPolicy};

/// Store-and-forward relay for end-to-end encrypted chat envelopes.
#[derive(Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// How log lines on stderr look: text for people, or one JSON object per
    /// line for a log collector. Neither holds a password, token, envelope
    /// or any other request body.
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

/// `--log-format`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// Serve the HTTP API. Prints `listening on http://HOST:PORT` once ready.
    Serve {
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: SocketAddr,
        #[command(flatten)]
        storage: Storage,
        /// Who may create accounts.
        #[arg(long, value_enum, default_value = "open")]
        registration: RegistrationPolicy,
        /// TLS certificate chain (PEM).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// TLS private key (PEM).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Allow plain HTTP on a non-loopback address (behind a TLS proxy only).
        #[arg(long)]
        insecure_http: bool,
        /// Serve Prometheus metrics at http://ADDR/metrics (plain HTTP, a
        /// separate listener; keep it on loopback or a private network).
        #[arg(long, value_name = "ADDR")]
        metrics_listen: Option<SocketAddr>,
        #[command(flatten)]
        limits: Box<Limits>,
    },
    /// Manage single-use invite codes.
    Invite {
        #[command(subcommand)]
        command: InviteCommand,
    },
}

/// `invite …`.
#[derive(Subcommand)]
pub enum InviteCommand {
    /// Create invite codes and print them, one per line.
    Create {
        #[command(flatten)]
        storage: Storage,
        /// How many codes.
        #[arg(long, default_value_t = 1)]
        count: usize,
    },
}

/// Where the relay keeps its data (docs/RELAY.md §8).
#[derive(Args)]
pub struct Storage {
    /// Directory for relay.db (SQLite, the default store) and blob files.
    #[arg(long, value_name = "DIR", required_unless_present = "database")]
    data_dir: Option<PathBuf>,
    /// Keep the store in PostgreSQL instead, shared by every instance given
    /// the same database: a postgres:// URL or "host=… dbname=…" string,
    /// without a password (see --database-password-file). Also read from
    /// RELAY_DATABASE.
    #[arg(
        long,
        value_name = "URL",
        env = "RELAY_DATABASE",
        hide_env_values = true
    )]
    database: Option<String>,
    /// File whose first line is the PostgreSQL password (a password in
    /// --database would show in every process listing).
    #[arg(long, value_name = "FILE", requires = "database")]
    database_password_file: Option<PathBuf>,
    /// PostgreSQL connections this instance keeps open at most.
    #[arg(long, value_name = "N", default_value_t = crate::store::postgres::DEFAULT_POOL,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1000),
          requires = "database")]
    database_pool: usize,
    /// Directory for blob files (uploaded files, sealed); with --database a
    /// directory every instance shares. Default: DIR/blobs of --data-dir.
    #[arg(long, value_name = "DIR")]
    blob_dir: Option<PathBuf>,
}

impl Storage {
    /// A config with this storage and default limits.
    pub fn config(self) -> Result<Config, String> {
        let blob_dir = match (&self.blob_dir, &self.data_dir) {
            (Some(dir), _) => dir.clone(),
            (None, Some(data)) => data.join("blobs"),
            (None, None) => {
                return Err(
                    "--database without --data-dir needs --blob-dir: a directory every \
                     instance shares for uploaded files"
                        .into(),
                );
            }
        };
        let mut config = Config::new(self.data_dir.unwrap_or_default());
        config.blob_dir = blob_dir;
        config.database_pool = self.database_pool;
        config.database = match self.database {
            None => None,
            Some(url) => Some(database_url(url, self.database_password_file.as_deref())?),
        };
        Ok(config)
    }
}

/// The connection string with the password from its file, refusing one
/// that carries a password on the command line.
fn database_url(url: String, password_file: Option<&std::path::Path>) -> Result<String, String> {
    let parsed: crate::store::postgres::ConnectConfig =
        url.parse().map_err(|e| format!("--database: {e}"))?;
    let from_env = std::env::var("RELAY_DATABASE").is_ok_and(|v| v == url);
    if parsed.get_password().is_some() && !from_env {
        return Err(
            "--database carries a password, which every user of this machine can read \
             in the process list: use --database-password-file or RELAY_DATABASE"
                .into(),
        );
    }
    let Some(file) = password_file else {
        return Ok(url);
    };
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let password = text.lines().next().unwrap_or("");
    // key=value strings take one more pair; a URL takes it as a parameter.
    let quoted = password.replace('\\', "\\\\").replace('\'', "\\'");
    Ok(
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}password={}", percent_encode(password))
        } else {
            format!("{url} password='{quoted}'")
        },
    )
}

/// Percent-encodes everything but unreserved URL characters.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The relay's limits (docs/RELAY.md, "Limits").
#[derive(Args)]
pub struct Limits {
    /// Most envelopes pending for one recipient; past it a PUT to them is 507.
    #[arg(long, value_name = "N", default_value_t = defaults::MAILBOX_MAX_ENVELOPES,
          value_parser = clap::value_parser!(u64).range(1..))]
    mailbox_max_envelopes: u64,
    /// Most bytes of envelopes pending for one recipient; past it a PUT to them is 507.
    #[arg(long, value_name = "BYTES", default_value_t = defaults::MAILBOX_MAX_BYTES,
          value_parser = clap::value_parser!(u64).range(1..))]
    mailbox_max_bytes: u64,
    /// Password checks waiting for a hashing thread; past it logins,
    /// registrations and account deletions get 429 with Retry-After.
    #[arg(long, value_name = "N", default_value_t = defaults::HASH_QUEUE,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    hash_queue: usize,
    /// Sessions (tokens) one account may hold; a login past it revokes the
    /// account's oldest session.
    #[arg(long, value_name = "N", default_value_t = defaults::SESSIONS_PER_USER,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    max_sessions_per_user: usize,
    /// Days a device may go without fetching before it expires and stops
    /// holding its account's mail; an account's most recently seen device
    /// never expires.
    #[arg(long, value_name = "DAYS", default_value_t = defaults::DEVICE_EXPIRY_DAYS,
          value_parser = clap::value_parser!(u64).range(1..=3650))]
    device_expiry_days: u64,
    /// Seconds a device link waits to be claimed before it is deleted.
    #[arg(long, value_name = "SECONDS", default_value_t = defaults::LINK_TTL_SECS,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    link_ttl_seconds: u64,
    /// Long-polls one session token may have waiting; a new one past it
    /// answers the token's oldest waiting long-poll with 204.
    #[arg(long, value_name = "N", default_value_t = defaults::POLLS_PER_TOKEN,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    max_polls_per_token: usize,
    /// Connections served at once; past it new ones wait to be accepted.
    /// Lowered, with a warning, to fit the open-files limit.
    #[arg(long, value_name = "N", default_value_t = defaults::MAX_CONNECTIONS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    max_connections: usize,
    /// Seconds a client has for the TLS handshake and for each request head
    /// (from connecting, or from its previous answer); then it is closed.
    #[arg(long, value_name = "SECS", default_value_t = defaults::HEADER_TIMEOUT_SECS,
          value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout: u64,
    /// Seconds a connection may stay open with no request in flight (a
    /// waiting long-poll is in flight).
    #[arg(long, value_name = "SECS", default_value_t = defaults::IDLE_TIMEOUT_SECS,
          value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout: u64,
    /// Seconds a request body has to arrive once its head has; then 408.
    #[arg(long, value_name = "SECS", default_value_t = defaults::BODY_TIMEOUT_SECS,
          value_parser = clap::value_parser!(u64).range(1..))]
    body_timeout: u64,
    /// Largest file an upload may carry, in MiB (its blob, sealed, is 64
    /// bytes more per MiB); past it POST /v1/blobs is 413.
    #[arg(long, value_name = "MIB", default_value_t = defaults::MAX_BLOB_MIB,
          value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
    max_blob_mib: u64,
    /// MiB of unexpired blobs one account may hold; past it POST /v1/blobs
    /// is 507.
    #[arg(long, value_name = "MIB", default_value_t = defaults::BLOB_QUOTA_MIB,
          value_parser = clap::value_parser!(u64).range(1..=1 << 30))]
    blob_quota_mib: u64,
    /// Days a blob is kept before the hourly sweep deletes it.
    #[arg(long, value_name = "DAYS", default_value_t = defaults::BLOB_TTL_DAYS,
          value_parser = clap::value_parser!(u64).range(1..=3650))]
    blob_ttl_days: u64,
    /// A reverse proxy's address or block (CIDR, e.g. 10.0.0.0/8); repeat for
    /// more. Only requests from these use X-Forwarded-For as their client
    /// address (for the login throttle).
    #[arg(long = "trusted-proxy", value_name = "CIDR")]
    trusted_proxies: Vec<crate::proxy::Cidr>,
}

impl Limits {
    /// Puts the limits into `config`.
    pub fn apply(self, config: &mut Config) {
        config.quota = Quota {
            max_count: self.mailbox_max_envelopes,
            max_bytes: self.mailbox_max_bytes,
        };
        config.hash_queue = self.hash_queue;
        config.max_sessions_per_user = self.max_sessions_per_user;
        config.device_expiry = Duration::from_secs(self.device_expiry_days * 24 * 3600);
        config.link_ttl = Duration::from_secs(self.link_ttl_seconds);
        config.max_polls_per_token = self.max_polls_per_token;
        config.trusted_proxies = self.trusted_proxies;
        config.max_connections = self.max_connections;
        config.header_timeout = Duration::from_secs(self.header_timeout);
        config.idle_timeout = Duration::from_secs(self.idle_timeout);
        config.body_timeout = Duration::from_secs(self.body_timeout);
        config.max_blob_bytes = crate::config::sealed_file_cap(self.max_blob_mib);
        config.blob_quota_bytes = self.blob_quota_mib * crate::config::MIB;
        config.blob_ttl = Duration::from_secs(self.blob_ttl_days * 24 * 3600);
    }
}
