//! The account: registration, sessions (login, automatic renewal, logout)
//! and deletion. The relay password is kept in the keystore so chatd can
//! renew the 24-hour session by itself.

use std::sync::Arc;
use std::time::Duration;

use ipc_schema::Secret;
use ipc_schema::methods::{ConnectionState, RelayUrlView};
use ipc_schema::relay::DeviceLogin;

use super::{Daemon, DaemonError, blocking};
use crate::crypto::{Identity, KeyBits};
use crate::keystore::{KeystoreError, names};
use crate::relay_client::{RelayClient, RelayError};
use crate::store::{AccountRow, RelayTrust};

/// What `account.register` needs.
#[derive(Debug)]
pub struct Registration {
    /// The relay's base URLs (its instances, the preferred first).
    pub relay_urls: Vec<String>,
    /// The username to claim.
    pub username: String,
    /// The relay password.
    pub password: Secret,
    /// An invite code, for invite-only relays.
    pub invite: Option<String>,
    /// RSA modulus size for new keys (default 3072).
    pub key_bits: Option<u32>,
    /// How the relay's certificate is checked.
    pub trust: RelayTrust,
    /// The name of this machine among the account's devices (the host name
    /// when absent).
    pub device_name: Option<String>,
    /// Take over an existing account whose keys are lost: new keys, a new
    /// device, and the directory's card replaced.
    pub replace_keys: bool,
}

/// How an automatic session renewal went.
pub(super) enum Renewal {
    /// A fresh token is in place.
    Renewed,
    /// Not now (the relay is away or throttles logins): try again after this.
    Later(Duration, String),
    /// It cannot work without the user (no stored password, or it was
    /// refused): the account is logged out, and `status` says why.
    LoggedOut,
}

/// `trust` checked and in its stored form: a CA and a pin exclude each
/// other, a pin is 64 lowercase hex digits, a CA is PEM certificates.
pub(super) fn normalized(trust: RelayTrust) -> Result<RelayTrust, DaemonError> {
    if trust.ca_pem.is_some() && trust.pin.is_some() {
        return Err(DaemonError::Invalid(
            "a relay CA and a pin exclude each other; give one".into(),
        ));
    }
    let pin = match &trust.pin {
        Some(text) => Some(ipc_schema::fingerprint::to_hex(
            &crate::relay_client::parse_pin(text).ok_or_else(|| {
                DaemonError::Invalid(
                    "a pin is the SHA-256 of the relay certificate's key: 64 hex digits".into(),
                )
            })?,
        )),
        None => None,
    };
    Ok(RelayTrust { pin, ..trust })
}

/// How long to wait after a throttled or failed renewal when the relay
/// gives no `Retry-After`.
const RENEWAL_RETRY: Duration = Duration::from_secs(15);

impl Daemon {
    pub(super) async fn save_session(
        &self,
        token: Secret,
        password: Option<&Secret>,
    ) -> Result<(), DaemonError> {
        let ks = self.keystore.clone();
        let stored_token = token.clone();
        let password = password.cloned();
        blocking(move || -> Result<(), KeystoreError> {
            ks.set(names::TOKEN, stored_token.expose().as_bytes())?;
            if let Some(p) = password {
                ks.set(names::PASSWORD, p.expose().as_bytes())?;
            }
            Ok(())
        })
        .await??;
        self.set_token(Some(token));
        if self.connection() == ConnectionState::LoggedOut {
            self.set_connection(ConnectionState::Connecting, None);
        }
        self.sync_wake.notify_one();
        self.outbox_wake.notify_one();
        Ok(())
    }

    /// Creates keys (unless some are already stored), registers on the relay
    /// and logs in.
    pub async fn register(&self, r: Registration) -> Result<Arc<Identity>, DaemonError> {
        if let Some(account) = self.store.account()? {
            return Err(DaemonError::AccountExists(account.user));
        }
        if !ipc_schema::envelope::is_valid_username(&r.username) {
            return Err(DaemonError::Invalid(
                "username must match ^[a-z0-9][a-z0-9_.-]{2,31}$".into(),
            ));
        }
        let relay_urls = crate::relay_client::check_urls(&r.relay_urls, r.trust.insecure_http)
            .map_err(|e| DaemonError::Invalid(e.to_string()))?;
        let trust = normalized(r.trust)?;
        let bits = match r.key_bits {
            None => KeyBits::default(),
            Some(b) => KeyBits::from_bits(b as usize).ok_or_else(|| {
                DaemonError::Invalid("key bits must be 2048, 3072 or 4096".into())
            })?,
        };
        let device_name = super::devices::device_name(r.device_name)?;
        // Everything that can be refused locally is refused before keys are
        // made or the relay is asked.
        let relay = self.new_relay_client(&relay_urls, &trust)?;
        let identity = match self.load_identity(&r.username).await? {
            Some(existing) => existing,
            None => {
                let user = r.username.clone();
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
        let session = if r.replace_keys {
            // The account exists; its old keys are gone. This machine joins
            // it as a new device and publishes the new card.
            let session = relay
                .login(
                    &r.username,
                    &r.password,
                    Some(ipc_schema::relay::DeviceLogin {
                        id: None,
                        name: Some(device_name),
                    }),
                )
                .await?;
            relay
                .replace_card(&session.token, &r.password, identity.card().to_value())
                .await?;
            tracing::warn!(user = %r.username, "replaced the account's card with new keys");
            session
        } else {
            relay
                .register(
                    &r.username,
                    &r.password,
                    identity.card().to_value(),
                    r.invite,
                    Some(device_name),
                )
                .await?;
            // A new account has one device, the one registering: the login
            // without a device is for it.
            relay.login(&r.username, &r.password, None).await?
        };
        self.store.set_account(&AccountRow {
            user: r.username.clone(),
            relay_urls: relay_urls.clone(),
            key_bits: identity.key_bits() as u32,
            trust: trust.clone(),
            device_id: session.device.as_ref().map(|d| d.id.clone()),
        })?;
        let in_use = relay.current_url();
        self.keep_relay(relay_urls, trust, relay);
        let identity = Arc::new(identity);
        *self.identity.write().expect("identity lock") = Some(identity.clone());
        self.save_session(session.token, Some(&r.password)).await?;
        tracing::info!(user = %r.username, relay = %in_use, "registered");
        Ok(identity)
    }

    /// Logs in again with `password` (kept for automatic renewal), as this
    /// machine's device. An account from before devices learns its device
    /// from this login (the relay gives it the account's oldest).
    pub async fn login(&self, password: &Secret) -> Result<u64, DaemonError> {
        let account = self.account()?;
        let device = account.device_id.clone().map(|id| DeviceLogin {
            id: Some(id),
            name: None,
        });
        let session = self.relay()?.login(&account.user, password, device).await?;
        if let Some(device) = &session.device
            && account.device_id.as_deref() != Some(device.id.as_str())
        {
            self.store.set_device_id(&device.id)?;
        }
        let expires_at = session.expires_at;
        self.save_session(session.token, Some(password)).await?;
        Ok(expires_at)
    }

    /// Renews the session with the stored password after `failed` was
    /// refused (401). A throttled or unreachable relay means "later", never
    /// "logged out": a stranger's wrong guesses must not log the owner out
    /// (docs/SECURITY.md §2.3).
    pub(super) async fn renew_session(&self, failed: &Secret) -> Renewal {
        let _one_at_a_time = self.renewing.lock().await;
        if self.token().is_some_and(|t| t != *failed) {
            return Renewal::Renewed; // another task renewed it meanwhile
        }
        let ks = self.keystore.clone();
        let stored = match blocking(move || ks.get(names::PASSWORD)).await {
            Ok(Ok(stored)) => stored,
            Ok(Err(e)) => return Renewal::Later(RENEWAL_RETRY, e.to_string()),
            Err(e) => return Renewal::Later(RENEWAL_RETRY, e.to_string()),
        };
        let Some(password) = stored else {
            return self.logged_out("session expired: run `chat-ctl login`".into());
        };
        let password = Secret::new(String::from_utf8_lossy(password.expose_secret()));
        match self.login(&password).await {
            Ok(_) => Renewal::Renewed,
            Err(DaemonError::Relay(e @ RelayError::Refused { status: 401, .. })) => self
                .logged_out(format!(
                    "session renewal refused ({e}): run `chat-ctl login`"
                )),
            Err(DaemonError::Relay(RelayError::Refused { code, .. }))
                if code == ipc_schema::relay::error_code::DEVICE_GONE =>
            {
                self.logged_out(
                    "this device was revoked or expired on the relay: it gets nothing more; \
                     set it up again from a device that still works"
                        .into(),
                )
            }
            Err(DaemonError::Relay(e)) if e.is_transient() || e.is_rate_limited() => {
                let wait = e.retry_after().unwrap_or(RENEWAL_RETRY);
                tracing::warn!(error = %e, ?wait, "session renewal must wait");
                Renewal::Later(wait, e.to_string())
            }
            Err(e) => {
                tracing::warn!(error = %e, "session renewal failed");
                Renewal::Later(RENEWAL_RETRY, e.to_string())
            }
        }
    }

    fn logged_out(&self, why: String) -> Renewal {
        self.set_token(None);
        self.set_connection(ConnectionState::LoggedOut, Some(why));
        Renewal::LoggedOut
    }

    /// Revokes the session and forgets the token and password. Waits for a
    /// session renewal in progress, so it cannot bring them back after.
    pub async fn logout(&self) -> Result<(), DaemonError> {
        let _no_renewal = self.renewing.lock().await;
        if let Some(token) = self.token()
            && let Err(e) = self.relay()?.logout(&token).await
        {
            tracing::warn!(error = %e, "relay logout failed; forgetting the token anyway");
        }
        self.set_token(None);
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
        let _no_renewal = self.renewing.lock().await;
        let token = self.token().ok_or_else(|| {
            DaemonError::NotLoggedIn("not logged in: run `chat-ctl login` first".into())
        })?;
        self.relay()?.delete_account(&token, password).await?;
        self.set_token(None);
        *self.identity.write().expect("identity lock") = None;
        let ks = self.keystore.clone();
        blocking(move || -> Result<(), KeystoreError> {
            for name in names::ALL {
                ks.delete(name)?;
            }
            Ok(())
        })
        .await??;
        self.publish(self.store.clear_account()?);
        self.set_connection(ConnectionState::LoggedOut, None);
        Ok(())
    }

    /// What `status` shows: account, relay link, counters.
    pub fn status(&self) -> Result<ipc_schema::methods::StatusResult, DaemonError> {
        let account = self.store.account()?;
        let relays = match &account {
            Some(a) => self.relays(a),
            None => Vec::new(),
        };
        let in_use = relays.iter().find(|r| r.in_use).map(|r| r.url.clone());
        Ok(ipc_schema::methods::StatusResult {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            user: account.as_ref().map(|a| a.user.clone()),
            fingerprint: self
                .identity()
                .ok()
                .map(|i| i.card().fingerprint().grouped()),
            relay_url: in_use.clone(),
            connection: self.connection(),
            unread: self.store.unread_total()?,
            outbox_pending: self.store.outbox_len()?,
            dropped: self.store.dropped()?,
            relay_trust: account.as_ref().map(|a| super::trust_view(&a.trust)),
            proxy: in_use
                .and_then(|url| reqwest::Url::parse(&url).ok())
                .and_then(|u| crate::relay_client::proxy_for(&u))
                .map(|p| crate::relay_client::shown_proxy(&p)),
            relays,
        })
    }

    /// The relay URL requests go to now.
    pub fn relay_url_in_use(&self) -> Result<String, DaemonError> {
        let account = self.account()?;
        Ok(match self.relay_if_made(&account) {
            Some(client) => client.current_url(),
            None => account.relay_url().to_owned(),
        })
    }

    /// The account's relay URLs as `status` shows them: from the client in
    /// use, or (before any request, or when its settings do not check) the
    /// first one marked in use.
    fn relays(&self, account: &AccountRow) -> Vec<RelayUrlView> {
        match self.relay_if_made(account) {
            Some(client) => client.relays(),
            None => account
                .relay_urls
                .iter()
                .enumerate()
                .map(|(i, url)| RelayUrlView {
                    url: url.clone(),
                    in_use: i == 0,
                    failure: None,
                    failed_at: None,
                })
                .collect(),
        }
    }

    /// Changes how the relay's certificate is checked (`chat-ctl relay
    /// trust`); the next request uses it.
    pub fn set_relay_trust(&self, trust: RelayTrust) -> Result<AccountRow, DaemonError> {
        let account = self.account()?;
        let trust = normalized(trust)?;
        crate::relay_client::check_urls(&account.relay_urls, trust.insecure_http)
            .map_err(|e| DaemonError::Invalid(e.to_string()))?;
        RelayClient::new(&account.relay_urls, &trust)?;
        self.store.set_relay_trust(&trust)?;
        self.sync_wake.notify_one();
        self.outbox_wake.notify_one();
        self.account()
    }

    /// Changes the URLs the relay is reached at (`chat-ctl relay urls`):
    /// each held to the rules of the account's trust settings; the next
    /// request goes to the first. Returns what `status` shows of them.
    pub fn set_relay_urls(&self, urls: &[String]) -> Result<Vec<RelayUrlView>, DaemonError> {
        let account = self.account()?;
        let urls = crate::relay_client::check_urls(urls, account.trust.insecure_http)
            .map_err(|e| DaemonError::Invalid(e.to_string()))?;
        RelayClient::new(&urls, &account.trust)?;
        self.store.set_relay_urls(&urls)?;
        tracing::info!(first = %urls[0], count = urls.len(), "relay URLs changed");
        self.sync_wake.notify_one();
        self.outbox_wake.notify_one();
        Ok(self.relays(&self.account()?))
    }
}
