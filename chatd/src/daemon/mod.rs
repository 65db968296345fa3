//! The running daemon: shared state, and one module per feature
//! (docs/ARCHITECTURE.md). Data flows one way: IPC handler → daemon →
//! store (which returns the events it committed) → outbox → relay client;
//! relay → sync → crypto → store → event bus → frontends and notifier.

mod account;
mod backup;
mod contacts;
mod devices;
mod events;
mod files;
mod groups;
mod keys;
mod link;
mod messages;
mod outbox;
mod parallel;
mod receipts;
mod rotate;
mod sync;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use ipc_schema::Secret;
use ipc_schema::methods::{ConnectionChangedEvent, ConnectionState, EventEnvelope};
use rand::RngExt as _;
use tokio::sync::{Notify, broadcast, watch};

use crate::config::Config;
use crate::crypto::Identity;
use crate::keystore::{Keystore, KeystoreError, names};
use crate::relay_client::{RelayClient, RelayError};
use crate::store::{AccountRow, Committed, EventBus, Store, StoreError};

pub use account::Registration;
pub use backup::{Carried, Restore};
pub use contacts::CardSource;
pub use events::EventsExpired;
pub use files::READ_MAX;
pub use groups::GroupOp;
pub use groups::parse_group as parse_group_id;
pub use link::{Join, LinkLeft};

/// Longest pause between reconnection or resend attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Everything a failed daemon operation can be.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// No account registered, or no session.
    #[error("{0}")]
    NotLoggedIn(String),
    /// Already registered.
    #[error("an account is already registered here ({0}); delete it first")]
    AccountExists(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The keystore failed.
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
    /// The relay failed.
    #[error(transparent)]
    Relay(#[from] RelayError),
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// A card that does not parse or does not match.
    #[error("invalid card: {0}")]
    InvalidCard(String),
    /// The directory's card for a user has another fingerprint than the
    /// one given.
    #[error("{0}")]
    FingerprintMismatch(String),
    /// Unknown contact.
    #[error("{0} is not a contact")]
    UnknownContact(String),
    /// No such message.
    #[error("{0}")]
    UnknownMessage(String),
    /// `subscribe {after}` asked for pruned events.
    #[error(
        "events up to {} are no longer kept (retention); the oldest available is {}",
        .0.oldest_seq.saturating_sub(1),
        .0.oldest_seq
    )]
    EventsExpired(EventsExpired),
    /// A group refused what was asked.
    #[error(transparent)]
    Group(#[from] crate::store::GroupError),
    /// A backup does not open, or may not be made.
    #[error("{0}")]
    Backup(crate::crypto::backup::BackupError),
    /// A device link does not open, or the relay has none for the code.
    #[error("{0}")]
    Link(crate::crypto::link::LinkError),
    /// Something internal broke.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The running daemon.
pub struct Daemon {
    /// Local database.
    store: Store,
    /// Secrets.
    keystore: Arc<dyn Keystore>,
    /// Settings.
    config: Config,
    /// The loaded identity, once registered.
    identity: RwLock<Option<Arc<Identity>>>,
    /// Relay session token in memory (zeroized when replaced or dropped).
    token: RwLock<Option<Secret>>,
    /// Live events for subscribers (committed first; see `store`).
    events: EventBus,
    /// The relay link's state, and why when it is not online.
    connection: Mutex<(ConnectionState, Option<String>)>,
    /// Conversations frontends have focused, by connection id.
    focus: Mutex<HashMap<u64, String>>,
    /// The relay client and the account settings (URLs, trust) it was made for.
    relay_client: Mutex<Option<(Vec<String>, crate::store::RelayTrust, RelayClient)>>,
    /// Wakes the outbox.
    outbox_wake: Notify,
    /// Wakes the sync loop (after login).
    sync_wake: Notify,
    /// Asks for the relay's key backup to be sealed again (contacts changed).
    backup_wake: Notify,
    /// Wakes the file uploads (a file was streamed in).
    uploads_wake: Notify,
    /// Wakes the file downloads (a file message came, or one was asked for).
    downloads_wake: Notify,
    /// Files being streamed in by frontends.
    uploads: files::Sessions,
    /// One automatic session renewal at a time (sync and outbox both ask).
    renewing: tokio::sync::Mutex<()>,
    /// Whether the account has other active devices, which then get a copy
    /// of what this one sends and reads (docs/PROTOCOL.md §11), and when
    /// that was last asked of the relay.
    other_devices: Mutex<(bool, Option<std::time::Instant>)>,
    /// The account's devices the relay listed as gone at the last look
    /// (`None` before the first), to tell the user of each new one once.
    gone_devices: Mutex<Option<std::collections::HashSet<String>>>,
    /// This account's identity before its last rotation, and until when it
    /// still opens what was sealed to it (docs/PROTOCOL.md §13).
    retired: RwLock<Option<(Arc<Identity>, u64)>>,
    /// When each contact's card was last looked up after their envelopes
    /// stopped verifying (docs/SECURITY.md, "Key changes").
    key_looks: keys::KeyLooks,
    /// `true` once shutdown was requested.
    pub shutdown: watch::Sender<bool>,
    /// Crash-test hook from `$CHATD_FAILPOINT` (only `abort-after-commit`).
    failpoint: Option<String>,
}

/// Runs blocking work (RSA, the keystore) off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, DaemonError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| DaemonError::Internal(e.to_string()))
}

fn not_registered() -> DaemonError {
    DaemonError::NotLoggedIn("no account yet: run `chat-ctl register` first".into())
}

impl Daemon {
    /// Loads what exists (account, identity, token) from the store and keystore.
    pub async fn start(
        store: Store,
        keystore: Arc<dyn Keystore>,
        config: Config,
    ) -> Result<Arc<Daemon>, DaemonError> {
        let (shutdown, _) = watch::channel(false);
        store.set_key_grace_ms(config.keys.grace_ms());
        let daemon = Arc::new(Daemon {
            store,
            keystore,
            config,
            identity: RwLock::new(None),
            token: RwLock::new(None),
            events: EventBus::default(),
            connection: Mutex::new((ConnectionState::LoggedOut, None)),
            focus: Mutex::new(HashMap::new()),
            relay_client: Mutex::new(None),
            outbox_wake: Notify::new(),
            sync_wake: Notify::new(),
            backup_wake: Notify::new(),
            uploads_wake: Notify::new(),
            downloads_wake: Notify::new(),
            uploads: files::Sessions::default(),
            key_looks: keys::KeyLooks::default(),
            retired: RwLock::new(None),
            renewing: tokio::sync::Mutex::new(()),
            other_devices: Mutex::new((false, None)),
            gone_devices: Mutex::new(None),
            shutdown,
            failpoint: std::env::var("CHATD_FAILPOINT").ok(),
        });
        daemon.load().await?;
        Ok(daemon)
    }

    /// Spawns the background tasks (sync, outbox, event retention); they end
    /// at shutdown.
    pub fn spawn_tasks(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        vec![
            tokio::spawn(self.clone().run_sync()),
            tokio::spawn(self.clone().run_outbox()),
            tokio::spawn(self.clone().run_retention()),
            tokio::spawn(self.clone().run_backups()),
            tokio::spawn(self.clone().run_uploads()),
            tokio::spawn(self.clone().run_downloads()),
        ]
    }

    /// The identity, or `not_logged_in`.
    pub fn identity(&self) -> Result<Arc<Identity>, DaemonError> {
        self.identity
            .read()
            .expect("identity lock")
            .clone()
            .ok_or_else(not_registered)
    }

    /// The account row, or `not_logged_in`.
    pub fn account(&self) -> Result<AccountRow, DaemonError> {
        self.store.account()?.ok_or_else(not_registered)
    }

    /// The client for the account's relay: one per relay URLs and trust
    /// settings for the daemon's life, so connections are kept alive, the
    /// TLS roots are loaded once, not on every outbox pass and long-poll,
    /// and the URL in use stays in use (docs/IPC.md `status`).
    fn relay(&self) -> Result<RelayClient, DaemonError> {
        let account = self.account()?;
        // Also for an account stored before chatd checked URLs.
        crate::relay_client::check_urls(&account.relay_urls, account.trust.insecure_http).map_err(
            |e| {
                RelayError::Settings(format!(
                    "{e}; for this account: `chat-ctl relay trust --insecure-http` if a TLS proxy on this machine forwards it, or `chat-ctl relay urls` with https://"
                ))
            },
        )?;
        let mut cached = self.relay_client.lock().expect("relay client lock");
        if let Some((urls, trust, client)) = cached.as_ref()
            && *urls == account.relay_urls
            && *trust == account.trust
        {
            return Ok(client.clone());
        }
        let client = self.new_relay_client(&account.relay_urls, &account.trust)?;
        *cached = Some((account.relay_urls, account.trust, client.clone()));
        Ok(client)
    }

    /// A client for the relay at `urls`, moving between them as the
    /// config says (`[relay]`).
    pub(crate) fn new_relay_client(
        &self,
        urls: &[String],
        trust: &crate::store::RelayTrust,
    ) -> Result<RelayClient, crate::relay_client::RelayError> {
        Ok(RelayClient::new(urls, trust)?
            .returning_to_first_after(self.config.relay.return_to_first()))
    }

    /// Keeps `client`, made for `urls` and `trust` (by a registration or a
    /// restore), as the account's: the URL it found working stays in use.
    fn keep_relay(&self, urls: Vec<String>, trust: crate::store::RelayTrust, client: RelayClient) {
        *self.relay_client.lock().expect("relay client lock") = Some((urls, trust, client));
    }

    /// The client made for the account's current settings, if one was.
    fn relay_if_made(&self, account: &AccountRow) -> Option<RelayClient> {
        let cached = self.relay_client.lock().expect("relay client lock");
        cached
            .as_ref()
            .filter(|(urls, trust, _)| *urls == account.relay_urls && *trust == account.trust)
            .map(|(_, _, client)| client.clone())
    }

    fn token(&self) -> Option<Secret> {
        self.token.read().expect("token lock").clone()
    }

    fn set_token(&self, token: Option<Secret>) {
        *self.token.write().expect("token lock") = token;
    }

    /// The current relay link state.
    pub fn connection(&self) -> ConnectionState {
        self.connection.lock().expect("connection lock").0
    }

    /// Records and announces a relay link change: a new state, or the same
    /// state for a new reason (the relay's certificate now refused, say).
    fn set_connection(&self, state: ConnectionState, error: Option<String>) {
        {
            let mut current = self.connection.lock().expect("connection lock");
            if current.0 == state && current.1 == error {
                return;
            }
            *current = (state, error.clone());
        }
        match self.store.connection_event(ConnectionChangedEvent {
            connection: state,
            error,
        }) {
            Ok(committed) => self.publish(committed),
            Err(e) => tracing::error!(error = %e, "could not record a connection change"),
        }
    }

    /// Sends what a store write committed to live subscribers and returns
    /// its result: the one way from a store write to its value.
    fn publish<T>(&self, committed: Committed<T>) -> T {
        // The relay's key backup follows contacts and groups, wherever they
        // changed (here, or on another device of the account).
        if committed.changes_backup() {
            self.backup_wake.notify_one();
        }
        committed.publish(&self.events)
    }

    /// A receiver of live events (committed first; see [`Daemon::events_after`]).
    pub fn live_events(&self) -> broadcast::Receiver<EventEnvelope> {
        self.events.subscribe()
    }

    /// Remembers which conversation a frontend shows (no notifications for it).
    pub fn set_focus(&self, conn: u64, peer: Option<String>) {
        let mut focus = self.focus.lock().expect("focus lock");
        match peer {
            Some(p) => {
                focus.insert(conn, p);
            }
            None => {
                focus.remove(&conn);
            }
        }
    }

    fn is_focused(&self, peer: &str) -> bool {
        self.focus
            .lock()
            .expect("focus lock")
            .values()
            .any(|p| p == peer)
    }

    fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Waits `d`, or less if shutdown is requested.
    async fn pause(&self, d: Duration) {
        let mut stop = self.shutdown.subscribe();
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = stopped(&mut stop) => {}
        }
    }

    /// Loads the account's identity and session token at start.
    async fn load(&self) -> Result<(), DaemonError> {
        let Some(account) = self.store.account()? else {
            return Ok(());
        };
        match self.load_identity(&account.user).await? {
            Some(id) => *self.identity.write().expect("identity lock") = Some(Arc::new(id)),
            None => {
                tracing::warn!(user = %account.user, "account registered but its keys are missing from the keystore")
            }
        }
        self.load_retired().await?;
        let ks = self.keystore.clone();
        let token = blocking(move || ks.get(names::TOKEN)).await??;
        self.set_token(token.map(|t| Secret::new(String::from_utf8_lossy(t.expose_secret()))));
        Ok(())
    }

    async fn load_identity(&self, user: &str) -> Result<Option<Identity>, DaemonError> {
        let ks = self.keystore.clone();
        let (enc, sig) = blocking(move || -> Result<_, KeystoreError> {
            Ok((ks.get(names::ENC_KEY)?, ks.get(names::SIG_KEY)?))
        })
        .await??;
        match (enc, sig) {
            (Some(enc), Some(sig)) => {
                Identity::from_pkcs8(user, enc.expose_secret(), sig.expose_secret())
                    .map(Some)
                    .map_err(|e| DaemonError::Internal(format!("stored keys do not load: {e}")))
            }
            _ => Ok(None),
        }
    }
}

/// How `status` and `relay.trust` show the trust settings.
pub fn trust_view(trust: &crate::store::RelayTrust) -> ipc_schema::methods::RelayTrustView {
    ipc_schema::methods::RelayTrustView {
        insecure_http: trust.insecure_http,
        ca: trust
            .ca_pem
            .as_deref()
            .map(crate::relay_client::describe_ca),
        pin: trust.pin.clone(),
    }
}

/// Resolves once shutdown is requested, also when that happened before the
/// caller subscribed (a SIGTERM right after start).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopping| *stopping).await;
}

/// Exponential backoff with jitter: between half of and 1 s × 2^attempts,
/// at most 60 s.
fn backoff(attempts: u32) -> Duration {
    let cap = Duration::from_secs(1u64 << attempts.min(6)).min(MAX_BACKOFF);
    let ms = rand::rng().random_range(cap.as_millis() as u64 / 2..=cap.as_millis() as u64);
    Duration::from_millis(ms)
}

/// A message id (32 hex digits) as bytes.
fn id_bytes(hex: &str) -> Option<[u8; 16]> {
    if hex.len() != 32 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_round_trip_through_bytes() {
        let id = crate::crypto::to_hex(&[0xab; 16]);
        assert_eq!(id_bytes(&id), Some([0xab; 16]));
        assert_eq!(id_bytes("not hex"), None);
        assert_eq!(id_bytes(&"g".repeat(32)), None);
        assert_eq!(id_bytes(&"é".repeat(16)), None);
    }

    #[test]
    fn backoff_grows_to_a_minute_and_never_past_it() {
        for attempts in 0..20 {
            let cap = Duration::from_secs(1u64 << attempts.min(6)).min(MAX_BACKOFF);
            let d = backoff(attempts);
            assert!(d <= cap && d >= cap / 2, "{attempts}: {d:?}");
        }
    }
}
