//! The daemon's shared state and its two background loops: the outbox sender
//! and the relay sync. Data flows one way: IPC handler → store/outbox → relay
//! client; relay → sync → crypto → store → event bus → frontends/notifier.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use ipc_schema::methods::{ConnectionChangedEvent, ConnectionState, EventEnvelope};
use ipc_schema::{Payload, ReceiptKind, Secret};
use rand::RngExt as _;
use tokio::sync::{Notify, broadcast, watch};

use crate::config::Config;
use crate::crypto::{self, Card, Identity, KeyBits, OpenError, Peers};
use crate::keystore::{Keystore, KeystoreError, names};
use crate::relay_client::{RelayClient, RelayError};
use crate::store::{AccountRow, Incoming, IncomingContent, OutboxRow, Store, StoreError, now_ms};

/// How long one long-poll waits at the relay.
const LONG_POLL_SECS: u64 = 30;
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
    /// Unknown contact.
    #[error("{0} is not a contact")]
    UnknownContact(String),
    /// No such message.
    #[error("{0}")]
    UnknownMessage(String),
    /// Something internal broke.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The running daemon.
pub struct Daemon {
    /// Local database.
    pub store: Store,
    /// Secrets.
    pub keystore: Arc<dyn Keystore>,
    /// Settings.
    pub config: Config,
    /// The loaded identity, once registered.
    identity: RwLock<Option<Arc<Identity>>>,
    /// Relay session token in memory.
    token: RwLock<Option<String>>,
    /// Live events for subscribers (persisted first; see `Store`).
    pub events: broadcast::Sender<EventEnvelope>,
    /// The relay link's state.
    connection: Mutex<ConnectionState>,
    /// Conversations frontends have focused, by connection id.
    focus: Mutex<HashMap<u64, String>>,
    /// Wakes the outbox sender.
    pub outbox_wake: Notify,
    /// The relay client and the URL it was made for (see [`Daemon::relay`]).
    relay_client: Mutex<Option<(String, RelayClient)>>,
    /// Wakes the receipt sealer (delivered receipts owed).
    pub receipt_wake: Notify,
    /// Wakes the sync loop (after login).
    pub sync_wake: Notify,
    /// `true` once shutdown was requested.
    pub shutdown: watch::Sender<bool>,
    /// Crash-test hook from `$CHATD_FAILPOINT` (only `abort-after-commit`).
    failpoint: Option<String>,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, DaemonError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| DaemonError::Internal(e.to_string()))
}

impl Daemon {
    /// Loads what exists (account, identity, token) from the store and keystore.
    pub async fn start(
        store: Store,
        keystore: Arc<dyn Keystore>,
        config: Config,
    ) -> Result<Arc<Daemon>, DaemonError> {
        let (events, _) = broadcast::channel(1024);
        let (shutdown, _) = watch::channel(false);
        let daemon = Arc::new(Daemon {
            store,
            keystore,
            config,
            identity: RwLock::new(None),
            token: RwLock::new(None),
            events,
            connection: Mutex::new(ConnectionState::LoggedOut),
            focus: Mutex::new(HashMap::new()),
            outbox_wake: Notify::new(),
            relay_client: Mutex::new(None),
            receipt_wake: Notify::new(),
            sync_wake: Notify::new(),
            shutdown,
            failpoint: std::env::var("CHATD_FAILPOINT").ok(),
        });
        if let Some(account) = daemon.store.account()? {
            let identity = daemon.load_identity(&account.user).await?;
            match identity {
                Some(id) => *daemon.identity.write().expect("identity lock") = Some(Arc::new(id)),
                None => {
                    tracing::warn!(user = %account.user, "account registered but its keys are missing from the keystore")
                }
            }
            let ks = daemon.keystore.clone();
            let token = blocking(move || ks.get(names::TOKEN)).await??;
            *daemon.token.write().expect("token lock") =
                token.map(|t| String::from_utf8_lossy(t.expose_secret()).into_owned());
        }
        Ok(daemon)
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

    /// The identity, or `not_logged_in`.
    pub fn identity(&self) -> Result<Arc<Identity>, DaemonError> {
        self.identity
            .read()
            .expect("identity lock")
            .clone()
            .ok_or_else(|| {
                DaemonError::NotLoggedIn("no account yet: run `chat-ctl register` first".into())
            })
    }

    /// The account row, or `not_logged_in`.
    pub fn account(&self) -> Result<AccountRow, DaemonError> {
        self.store.account()?.ok_or_else(|| {
            DaemonError::NotLoggedIn("no account yet: run `chat-ctl register` first".into())
        })
    }

    /// The client for the account's relay: one per relay URL for the
    /// daemon's life, so connections are kept alive and the TLS roots are
    /// loaded once, not on every outbox pass and long-poll.
    fn relay(&self) -> Result<RelayClient, DaemonError> {
        let url = self.account()?.relay_url;
        let mut cached = self.relay_client.lock().expect("relay client lock");
        if let Some((at, client)) = cached.as_ref()
            && *at == url
        {
            return Ok(client.clone());
        }
        let client = RelayClient::new(&url)?;
        *cached = Some((url, client.clone()));
        Ok(client)
    }

    fn token(&self) -> Option<String> {
        self.token.read().expect("token lock").clone()
    }

    /// The current relay link state.
    pub fn connection(&self) -> ConnectionState {
        *self.connection.lock().expect("connection lock")
    }

    /// Records and announces a relay link change (only when it changes).
    fn set_connection(&self, state: ConnectionState, error: Option<String>) {
        {
            let mut current = self.connection.lock().expect("connection lock");
            if *current == state {
                return;
            }
            *current = state;
        }
        match self.store.connection_event(ConnectionChangedEvent {
            connection: state,
            error,
        }) {
            Ok(events) => self.publish(events),
            Err(e) => tracing::error!(error = %e, "could not record a connection change"),
        }
    }

    /// Sends committed events to live subscribers.
    pub fn publish(&self, events: Vec<EventEnvelope>) {
        for e in events {
            let _ = self.events.send(e);
        }
    }

    /// Remembers which conversation a frontend shows.
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

    async fn save_session(
        &self,
        token: &str,
        password: Option<&Secret>,
    ) -> Result<(), DaemonError> {
        let ks = self.keystore.clone();
        let token_owned = token.to_owned();
        let password = password.map(|p| p.expose().to_owned());
        blocking(move || -> Result<(), KeystoreError> {
            ks.set(names::TOKEN, token_owned.as_bytes())?;
            if let Some(p) = password {
                ks.set(names::PASSWORD, p.as_bytes())?;
            }
            Ok(())
        })
        .await??;
        *self.token.write().expect("token lock") = Some(token.to_owned());
        if self.connection() == ConnectionState::LoggedOut {
            self.set_connection(ConnectionState::Connecting, None);
        }
        self.sync_wake.notify_one();
        self.outbox_wake.notify_one();
        Ok(())
    }

    /// Creates keys (unless some are already stored), registers on the relay
    /// and logs in.
    pub async fn register(
        &self,
        relay_url: &str,
        username: &str,
        password: &Secret,
        invite: Option<String>,
        key_bits: Option<u32>,
    ) -> Result<Arc<Identity>, DaemonError> {
        if let Some(account) = self.store.account()? {
            return Err(DaemonError::AccountExists(account.user));
        }
        if !ipc_schema::envelope::is_valid_username(username) {
            return Err(DaemonError::Invalid(
                "username must match ^[a-z0-9][a-z0-9_.-]{2,31}$".into(),
            ));
        }
        let bits = match key_bits {
            None => KeyBits::default(),
            Some(b) => KeyBits::from_bits(b as usize).ok_or_else(|| {
                DaemonError::Invalid("key bits must be 2048, 3072 or 4096".into())
            })?,
        };
        let identity = match self.load_identity(username).await? {
            Some(existing) => existing,
            None => {
                let user = username.to_owned();
                let id = blocking(move || Identity::generate(&user, bits, &mut rand::rng()))
                    .await?
                    .map_err(|e| DaemonError::Internal(e.to_string()))?;
                let ks = self.keystore.clone();
                let (enc, sig) = (id.enc_private_pkcs8(), id.sig_private_pkcs8());
                blocking(move || -> Result<(), KeystoreError> {
                    ks.set(names::ENC_KEY, enc.expose_secret())?;
                    ks.set(names::SIG_KEY, sig.expose_secret())
                })
                .await??;
                id
            }
        };
        let relay = RelayClient::new(relay_url)?;
        relay
            .register(username, password, identity.card().to_value(), invite)
            .await?;
        let session = relay.login(username, password).await?;
        self.store.set_account(&AccountRow {
            user: username.to_owned(),
            relay_url: relay_url.trim_end_matches('/').to_owned(),
            key_bits: identity.key_bits() as u32,
        })?;
        let identity = Arc::new(identity);
        *self.identity.write().expect("identity lock") = Some(identity.clone());
        self.save_session(session.token.expose(), Some(password))
            .await?;
        tracing::info!(user = %username, relay = %relay_url, "registered");
        Ok(identity)
    }

    /// Logs in again with `password` (kept for automatic renewal).
    pub async fn login(&self, password: &Secret) -> Result<u64, DaemonError> {
        let account = self.account()?;
        let session = self.relay()?.login(&account.user, password).await?;
        self.save_session(session.token.expose(), Some(password))
            .await?;
        Ok(session.expires_at)
    }

    /// Renews the session with the stored password, when the token expired.
    async fn relogin(&self) -> Result<(), DaemonError> {
        let ks = self.keystore.clone();
        let stored = blocking(move || ks.get(names::PASSWORD)).await??;
        let Some(password) = stored else {
            return Err(DaemonError::NotLoggedIn(
                "session expired: run `chat-ctl login`".into(),
            ));
        };
        let password = Secret::new(String::from_utf8_lossy(password.expose_secret()).into_owned());
        self.login(&password).await.map(|_| ())
    }

    /// Revokes the session and forgets the token and password.
    pub async fn logout(&self) -> Result<(), DaemonError> {
        if let Some(token) = self.token()
            && let Err(e) = self.relay()?.logout(&token).await
        {
            tracing::warn!(error = %e, "relay logout failed; forgetting the token anyway");
        }
        *self.token.write().expect("token lock") = None;
        let ks = self.keystore.clone();
        blocking(move || -> Result<(), KeystoreError> {
            ks.delete(names::TOKEN)?;
            ks.delete(names::PASSWORD)
        })
        .await??;
        self.set_connection(ConnectionState::LoggedOut, None);
        Ok(())
    }

    /// Deletes the account on the relay, then the local keys and account.
    pub async fn delete_account(&self, password: &Secret) -> Result<(), DaemonError> {
        let token = self.token().ok_or_else(|| {
            DaemonError::NotLoggedIn("not logged in: run `chat-ctl login` first".into())
        })?;
        self.relay()?.delete_account(&token, password).await?;
        *self.token.write().expect("token lock") = None;
        *self.identity.write().expect("identity lock") = None;
        let ks = self.keystore.clone();
        blocking(move || -> Result<(), KeystoreError> {
            for name in names::ALL {
                ks.delete(name)?;
            }
            Ok(())
        })
        .await??;
        self.store.clear_account()?;
        self.set_connection(ConnectionState::LoggedOut, None);
        Ok(())
    }

    /// Fetches `user`'s card from the directory; it must have `fingerprint`.
    pub async fn directory_card(&self, user: &str, fingerprint: &str) -> Result<Card, DaemonError> {
        let wanted = crypto::Fingerprint::parse(fingerprint)
            .ok_or_else(|| DaemonError::Invalid("fingerprint must be 64 hex digits".into()))?;
        let token = self.token().ok_or_else(|| {
            DaemonError::NotLoggedIn("not logged in: run `chat-ctl login` first".into())
        })?;
        let bytes = match self.relay()?.card(&token, user).await {
            Err(RelayError::Refused { status: 404, .. }) => {
                return Err(DaemonError::UnknownContact(format!(
                    "{user} (not in the relay's directory)"
                )));
            }
            other => other?,
        };
        let card = Card::from_json(&bytes).map_err(|e| DaemonError::InvalidCard(e.to_string()))?;
        if card.user() != user {
            return Err(DaemonError::InvalidCard(format!(
                "the directory's card names {}",
                card.user()
            )));
        }
        if card.fingerprint() != wanted {
            return Err(DaemonError::Relay(RelayError::Refused {
                status: 0,
                code: "fingerprint_mismatch".into(),
                message: format!(
                    "{user}'s card in the directory has fingerprint {}, not the one given; not added",
                    card.fingerprint()
                ),
            }));
        }
        Ok(card)
    }

    /// Seals and queues a text; returns (id, ts) once committed locally.
    pub async fn send(
        &self,
        to: &str,
        body: String,
        reply_to: Option<String>,
    ) -> Result<(String, u64), DaemonError> {
        let me = self.identity()?;
        if !self.store.is_contact(to)? {
            return Err(DaemonError::UnknownContact(to.to_owned()));
        }
        let ts = now_ms();
        // Refused now what sealing would refuse later; the RSA work happens
        // in the outbox, so this answers after one commit.
        crypto::sealable(&Payload::Text {
            body: body.clone(),
            reply_to: reply_to.clone(),
        })
        .map_err(|e| DaemonError::Invalid(e.to_string()))?;
        let id = crypto::to_hex(&rand::random::<[u8; 16]>());
        let view = ipc_schema::methods::MessageView {
            id: id.clone(),
            from: me.user().to_owned(),
            to: to.to_owned(),
            ts,
            direction: ipc_schema::methods::Direction::Out,
            kind: "text".into(),
            body: Some(body),
            reply_to,
            state: ipc_schema::methods::MessageState::Queued,
            failure: None,
            seq: 0,
            truncated: false,
        };
        let events = self.store.queue_message(&view, None)?;
        self.publish(events);
        self.outbox_wake.notify_one();
        Ok((id, ts))
    }

    /// Seals and queues a receipt for `ids` to `peer`.
    async fn queue_receipt(
        &self,
        peer: &str,
        ids: Vec<String>,
        kind: ReceiptKind,
    ) -> Result<(), DaemonError> {
        let me = self.identity()?;
        let Some(card) = self.store.contact_card(peer)? else {
            return Ok(());
        };
        let payload = Payload::Receipt { ids, kind };
        let env = blocking(move || crypto::seal(&me, &card, &payload, now_ms(), &mut rand::rng()))
            .await?
            .map_err(|e| DaemonError::Internal(e.to_string()))?;
        let json = serde_json::to_string(&env).expect("envelopes serialize");
        self.store.queue_receipt(&env.id, peer, &json)?;
        self.outbox_wake.notify_one();
        Ok(())
    }

    /// Marks a conversation read; sends read receipts when configured.
    pub async fn mark_read(&self, peer: &str) -> Result<u64, DaemonError> {
        let (ids, events) = self.store.mark_read(peer)?;
        self.publish(events);
        if self.config.read_receipts && !ids.is_empty() {
            self.queue_receipt(peer, ids.clone(), ReceiptKind::Read)
                .await?;
        }
        Ok(ids.len() as u64)
    }

    fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Sends due outbox rows until shutdown, with exponential backoff and
    /// jitter while the relay is away.
    pub async fn run_outbox(self: Arc<Self>) {
        let mut stop = self.shutdown.subscribe();
        let mut failures = 0u32;
        loop {
            if self.stopping() {
                return;
            }
            let passed = self.send_due().await;
            let due = match self.store.next_outbox_due() {
                Ok(Some(at)) => Duration::from_millis(at.saturating_sub(now_ms()).max(50)),
                _ => Duration::from_secs(3600),
            };
            // A pass that failed outside the relay (no identity, the store)
            // is retried with backoff, not every 50 ms.
            let wait = match passed {
                Ok(()) => {
                    failures = 0;
                    due
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!(error = %e, "outbox pass failed");
                    due.max(backoff(failures))
                }
            };
            tokio::select! {
                _ = self.outbox_wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = crate::daemon::stopped(&mut stop) => return,
            }
        }
    }

    async fn send_due(&self) -> Result<(), DaemonError> {
        let Some(token) = self.token() else {
            return Ok(());
        };
        let Ok(relay) = self.relay() else {
            return Ok(());
        };
        let rows = self.store.due_outbox(50)?;
        for row in self.seal_queued(rows).await? {
            if self.stopping() {
                break;
            }
            let envelope = row.envelope.as_deref().expect("sealed by seal_queued");
            match relay.put(&token, &row.id, envelope).await {
                Ok(_) => {
                    let events = self.store.outbox_sent(&row)?;
                    self.publish(events);
                }
                Err(e) if e.is_unauthorized() => {
                    if let Err(e) = self.relogin().await {
                        tracing::warn!(error = %e, "session renewal failed");
                        self.set_connection(ConnectionState::LoggedOut, Some(e.to_string()));
                    }
                    return Ok(());
                }
                Err(e) if e.is_transient() => {
                    let attempts = row.attempts + 1;
                    let next = now_ms() + backoff(attempts).as_millis() as u64;
                    self.store.outbox_retry(&row.id, attempts, next)?;
                    tracing::info!(id = %row.id, attempts, error = %e, "relay unavailable; will retry");
                    return Ok(());
                }
                Err(e) => {
                    tracing::warn!(id = %row.id, error = %e, "relay refused an envelope");
                    let events = self.store.outbox_failed(&row, &e.to_string())?;
                    self.publish(events);
                }
            }
        }
        Ok(())
    }

    /// Seals the messages among `rows` queued without an envelope, one
    /// blocking task per core, and stores the envelopes (in one commit,
    /// before any is sent: a resend must carry the same bytes). Returns the
    /// rows ready to send, in order; a message that can no longer be sealed
    /// (its recipient was removed from the contacts) fails.
    async fn seal_queued(&self, rows: Vec<OutboxRow>) -> Result<Vec<OutboxRow>, DaemonError> {
        if rows.iter().all(|r| r.envelope.is_some()) {
            return Ok(rows);
        }
        let me = self.identity()?;
        let cards = self.store.contact_cards()?;
        let mut jobs = Vec::new();
        let mut failed: HashMap<String, &'static str> = HashMap::new();
        for row in rows.iter().filter(|r| r.envelope.is_none()) {
            let (Some(card), Some(id), Some(text)) = (
                cards.get(&row.peer),
                id_bytes(&row.id),
                self.store.unsealed_message(&row.id)?,
            ) else {
                failed.insert(row.id.clone(), "recipient is no longer a contact");
                continue;
            };
            let payload = Payload::Text {
                body: text.body,
                reply_to: text.reply_to,
            };
            jobs.push((row.id.clone(), card.clone(), payload, id, text.ts));
        }
        let row_ids: Vec<String> = jobs.iter().map(|j| j.0.clone()).collect();
        let results = on_all_cores(jobs, move |(_, card, payload, id, ts)| {
            crypto::seal_as(&me, &card, &payload, id, ts, &mut rand::rng())
        })
        .await?;
        let mut sealed = Vec::new();
        for (row_id, env) in row_ids.into_iter().zip(results) {
            // A panic while sealing fails that message only.
            match env.unwrap_or(Err(crypto::SealError::Sign)) {
                Ok(env) => sealed.push((
                    row_id,
                    serde_json::to_string(&env).expect("envelopes serialize"),
                )),
                Err(e) => {
                    tracing::warn!(id = %row_id, error = %e, "could not seal a queued message");
                    failed.insert(row_id, "could not be sealed");
                }
            }
        }
        self.store.outbox_sealed(&sealed)?;
        let mut sealed: HashMap<String, String> = sealed.into_iter().collect();
        let mut ready = Vec::with_capacity(rows.len());
        for mut row in rows {
            if let Some(reason) = failed.get(row.id.as_str()) {
                let events = self.store.outbox_failed(&row, reason)?;
                self.publish(events);
                continue;
            }
            if row.envelope.is_none() {
                row.envelope = sealed.remove(&row.id);
            }
            ready.push(row);
        }
        Ok(ready)
    }

    /// Seals the delivered receipts owed (committed with their batches), at
    /// most one receipt per sender per pass, and queues them; runs at start
    /// too, so receipts owed before a crash still go out.
    pub async fn run_receipts(self: Arc<Self>) {
        let mut stop = self.shutdown.subscribe();
        let mut last_pass: Option<tokio::time::Instant> = None;
        loop {
            if self.stopping() {
                return;
            }
            // Under a steady stream, gather for a moment: one receipt (one
            // RSA signature here, one decryption at the sender) then covers
            // many messages. A lone message is answered at once.
            if let Some(at) = last_pass {
                tokio::select! {
                    _ = tokio::time::sleep_until(at + RECEIPT_GATHER) => {}
                    _ = crate::daemon::stopped(&mut stop) => return,
                }
            }
            last_pass = Some(tokio::time::Instant::now());
            let retry = match self.seal_due_receipts().await {
                Ok(()) => Duration::from_secs(3600),
                Err(e) => {
                    tracing::warn!(error = %e, "could not queue delivered receipts; retrying");
                    Duration::from_secs(5)
                }
            };
            tokio::select! {
                _ = self.receipt_wake.notified() => {}
                _ = tokio::time::sleep(retry) => {}
                _ = crate::daemon::stopped(&mut stop) => return,
            }
        }
    }

    async fn seal_due_receipts(&self) -> Result<(), DaemonError> {
        /// Ids per receipt envelope (about 18 KB of JSON).
        const IDS_PER_RECEIPT: usize = 500;
        loop {
            let due = self.store.receipts_due(4 * IDS_PER_RECEIPT)?;
            if due.is_empty() || self.stopping() {
                return Ok(());
            }
            let me = self.identity()?;
            for (peer, ids) in due {
                let Some(card) = self.store.contact_card(&peer)? else {
                    self.store.forget_due_receipts(&peer, &ids)?;
                    continue;
                };
                for ids in ids.chunks(IDS_PER_RECEIPT) {
                    let (me, card, ids) = (me.clone(), card.clone(), ids.to_vec());
                    let (env, ids) = blocking(move || {
                        let payload = Payload::Receipt {
                            ids,
                            kind: ReceiptKind::Delivered,
                        };
                        let env = crypto::seal(&me, &card, &payload, now_ms(), &mut rand::rng());
                        let Payload::Receipt { ids, .. } = payload else {
                            unreachable!("built above")
                        };
                        (env, ids)
                    })
                    .await?;
                    let env = env.map_err(|e| DaemonError::Internal(e.to_string()))?;
                    let json = serde_json::to_string(&env).expect("envelopes serialize");
                    self.store.queue_due_receipt(&env.id, &peer, &json, &ids)?;
                    self.outbox_wake.notify_one();
                }
            }
        }
    }

    /// The long-poll loop: open each batch, commit it, then ack it.
    pub async fn run_sync(self: Arc<Self>) {
        let mut stop = self.shutdown.subscribe();
        let mut failures = 0u32;
        loop {
            if self.stopping() {
                return;
            }
            let (Some(token), Ok(relay), Ok(me)) = (self.token(), self.relay(), self.identity())
            else {
                tokio::select! {
                    _ = self.sync_wake.notified() => continue,
                    _ = crate::daemon::stopped(&mut stop) => return,
                }
            };
            if self.connection() == ConnectionState::LoggedOut
                || self.connection() == ConnectionState::Offline
            {
                self.set_connection(ConnectionState::Connecting, None);
            }
            // Until the link is known to work, ask without waiting, so that
            // `online` shows at once instead of after a whole long-poll.
            let wait = if self.connection() == ConnectionState::Online {
                LONG_POLL_SECS
            } else {
                0
            };
            let fetched = tokio::select! {
                r = relay.fetch(&token, wait) => r,
                _ = crate::daemon::stopped(&mut stop) => return,
            };
            match fetched {
                Ok(batch) => {
                    failures = 0;
                    self.set_connection(ConnectionState::Online, None);
                    if batch.is_empty() {
                        continue;
                    }
                    if let Err(e) = self.process_batch(&me, &relay, &token, batch).await {
                        tracing::error!(error = %e, "could not process a batch; retrying");
                        failures += 1;
                        self.pause(backoff(failures), &mut stop).await;
                    }
                }
                Err(e) if e.is_unauthorized() => {
                    if let Err(e) = self.relogin().await {
                        tracing::warn!(error = %e, "session renewal failed");
                        *self.token.write().expect("token lock") = None;
                        self.set_connection(ConnectionState::LoggedOut, Some(e.to_string()));
                    }
                }
                Err(e) => {
                    failures += 1;
                    self.set_connection(ConnectionState::Offline, Some(e.to_string()));
                    self.pause(backoff(failures), &mut stop).await;
                }
            }
        }
    }

    async fn pause(&self, d: Duration, stop: &mut watch::Receiver<bool>) {
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = crate::daemon::stopped(stop) => {}
        }
    }

    async fn process_batch(
        &self,
        me: &Arc<Identity>,
        relay: &RelayClient,
        token: &str,
        batch: Vec<serde_json::Value>,
    ) -> Result<(), DaemonError> {
        let contacts = self.store.contact_cards()?;
        let mut ids = Vec::with_capacity(batch.len());
        let mut malformed = 0u64;
        // Each envelope's (from, id) is read once here: for the ack, the seen
        // lookup and naming replays. The strict parse happens when opening.
        let mut raw = Vec::with_capacity(batch.len());
        let mut keys = Vec::with_capacity(batch.len());
        for v in batch {
            let field = |name: &str| v.get(name).and_then(|x| x.as_str()).map(str::to_owned);
            let (from, id) = (field("from"), field("id"));
            if let Some(id) = &id {
                ids.push(id.clone());
            }
            keys.push(from.zip(id));
            raw.push(serde_json::to_vec(&v).unwrap_or_default());
        }
        // Opening costs RSA work: off the async workers, and split over the
        // cores (each envelope opens independently of the others).
        let peers = Arc::new(BatchPeers {
            contacts,
            seen: SeenLookup::new(&self.store, keys.iter().flatten())?,
        });
        let me2 = me.clone();
        let opened = on_all_cores(raw, move |json| {
            crypto::open_json(&me2, &json, &*peers, &mut rand::rng())
        })
        .await?;
        let mut incoming = Vec::new();
        let mut drops = Vec::new();
        let mut replayed = Vec::new();
        for (result, key) in opened.into_iter().zip(keys) {
            // A panic while opening counts as undecryptable.
            match result.unwrap_or(Err(OpenError::Decrypt)) {
                Ok(opened) => incoming.push(opened),
                Err(e) => {
                    tracing::info!(reason = e.name(), "dropped an envelope");
                    // A replay passed the signature check, so its from/id
                    // are genuine.
                    if e == OpenError::Replay
                        && let Some(key) = key
                    {
                        replayed.push(key);
                    }
                    drops.push(e);
                }
            }
        }
        for e in &drops {
            if matches!(e, OpenError::Malformed(_)) {
                malformed += 1;
            }
        }
        let classes: Vec<_> = drops
            .iter()
            .filter(|e| !matches!(e, OpenError::Malformed(_)))
            .map(|e| e.drop_class())
            .collect();
        let incoming: Vec<Incoming> = incoming
            .into_iter()
            .map(|o| Incoming {
                id: o.id,
                from: o.from,
                ts: o.ts,
                content: match o.payload {
                    Payload::Text { body, reply_to } => IncomingContent::Message {
                        kind: "text".into(),
                        body: Some(body),
                        reply_to,
                        raw: None,
                    },
                    Payload::Receipt { ids, kind } => IncomingContent::Receipt {
                        ids,
                        read: kind == ReceiptKind::Read,
                    },
                    Payload::Unsupported { kind, raw } => IncomingContent::Message {
                        kind,
                        body: None,
                        reply_to: None,
                        raw: Some(raw),
                    },
                },
            })
            .collect();
        let outcome =
            self.store
                .commit_batch(me.user(), &incoming, &replayed, &classes, malformed)?;
        if self.failpoint.as_deref() == Some("abort-after-commit") {
            // Test hook: die like `kill -9` between the commit and the ack.
            tracing::error!("failpoint abort-after-commit");
            std::process::abort();
        }
        self.publish(outcome.events);
        // The receipts owed were committed with the batch; they are sealed
        // off this loop, so the next batch is fetched without waiting.
        self.receipt_wake.notify_one();
        // Committed: now the relay may forget them. A crash before this ack
        // redelivers the batch, and the seen table drops the repeats.
        relay.ack(token, ids).await?;
        let unseen: Vec<_> = outcome
            .new_texts
            .into_iter()
            .filter(|(from, _, _)| !self.is_focused(from))
            .map(|(from, _, body)| (from, body))
            .collect();
        for (summary, text) in crate::notify::batch(self.config.notifications, &unseen) {
            tokio::task::spawn_blocking(move || crate::notify::show(&summary, &text));
        }
        Ok(())
    }
}

/// Resolves once shutdown is requested, also when that happened before the
/// caller subscribed (a SIGTERM right after start).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopping| *stopping).await;
}

/// Exponential backoff with full jitter: up to 1 s × 2^attempts, at most 60 s.
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

/// Shortest time between two passes of the receipt sealer.
const RECEIPT_GATHER: Duration = Duration::from_millis(100);

/// How many blocking threads open one batch: one per core (an open costs
/// milliseconds of RSA, a blocking task microseconds to start).
fn open_lanes(batch: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.min(batch).max(1)
}

/// Runs `f` over `items` on one blocking thread per core, each thread
/// taking the next item when it is free (an item costs milliseconds of RSA;
/// a core busy elsewhere simply takes fewer). Results keep the items' order;
/// an item whose `f` panicked gives `None`, so one bad item (a bug in
/// parsing or RSA) fails only itself, never a whole batch forever.
async fn on_all_cores<T, R>(
    items: Vec<T>,
    f: impl Fn(T) -> R + Send + Sync + 'static,
) -> Result<Vec<Option<R>>, DaemonError>
where
    T: Send + 'static,
    R: Send + 'static,
{
    let n = items.len();
    let queue = Arc::new(Mutex::new(items.into_iter().enumerate()));
    let f = Arc::new(f);
    let mut lanes = Vec::new();
    for _ in 0..open_lanes(n) {
        let (queue, f) = (queue.clone(), f.clone());
        lanes.push(tokio::task::spawn_blocking(move || {
            let mut done = Vec::new();
            loop {
                let next = queue.lock().expect("work queue lock").next();
                let Some((i, item)) = next else {
                    return done;
                };
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(item)));
                if result.is_err() {
                    tracing::error!("a cryptographic operation panicked; its item is dropped");
                }
                done.push((i, result.ok()));
            }
        }));
    }
    let mut out: Vec<Option<R>> = (0..n).map(|_| None).collect();
    for lane in lanes {
        let done = lane
            .await
            .map_err(|e| DaemonError::Internal(e.to_string()))?;
        for (i, r) in done {
            out[i] = r;
        }
    }
    Ok(out)
}

/// Which of a batch's (from, id) pairs were already accepted, looked up once.
struct SeenLookup(std::collections::HashSet<(String, String)>);

impl SeenLookup {
    fn new<'a>(
        store: &Store,
        keys: impl Iterator<Item = &'a (String, String)>,
    ) -> Result<SeenLookup, DaemonError> {
        let mut seen = std::collections::HashSet::new();
        for (from, id) in keys {
            if store.is_seen(from, id)? {
                seen.insert((from.clone(), id.clone()));
            }
        }
        Ok(SeenLookup(seen))
    }
}

struct BatchPeers {
    contacts: HashMap<String, Card>,
    seen: SeenLookup,
}

impl Peers for BatchPeers {
    fn contact(&self, user: &str) -> Option<&Card> {
        self.contacts.get(user)
    }
    fn already_seen(&self, from: &str, id: &str) -> bool {
        self.seen.0.contains(&(from.to_owned(), id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_on_all_cores_keeps_order_and_a_panic_fails_only_its_item() {
        let out = on_all_cores((0..40u32).collect(), |i| {
            if i == 7 {
                panic!("a bug in one item");
            }
            i * 2
        })
        .await
        .unwrap();
        assert_eq!(out.len(), 40);
        for (i, r) in out.iter().enumerate() {
            let expected = (i != 7).then_some(i as u32 * 2);
            assert_eq!(*r, expected, "item {i}");
        }
        assert!(
            on_all_cores(Vec::<u32>::new(), |i| i)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn message_ids_round_trip_through_bytes() {
        let id = crate::crypto::to_hex(&[0xab; 16]);
        assert_eq!(id_bytes(&id), Some([0xab; 16]));
        assert_eq!(id_bytes("not hex"), None);
        assert_eq!(id_bytes(&"g".repeat(32)), None);
        assert_eq!(id_bytes(&"é".repeat(16)), None);
    }
}
