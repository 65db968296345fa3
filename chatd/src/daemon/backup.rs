//! Backups of the identity (docs/PROTOCOL.md §10): exporting one, and
//! restoring one on a new machine, which then joins the account as a new
//! device with the same keys and fingerprint (docs/RELAY.md §5.1).

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ipc_schema::Secret;
use ipc_schema::relay::DeviceLogin;

use super::{Daemon, DaemonError, blocking};
use crate::crypto::backup::{self, BackupContact, BackupContents, BackupError, Restored};
use crate::crypto::{Card, Identity};
use crate::keystore::{KeystoreError, names};
use crate::relay_client::RelayClient;
use crate::store::{AccountRow, RelayTrust};

/// What `account.restore` needs.
#[derive(Debug)]
pub struct Restore {
    /// The relay's base URLs (its instances, the preferred first).
    pub relay_urls: Vec<String>,
    /// The account's username.
    pub username: String,
    /// The relay password.
    pub password: Secret,
    /// The backup text; `None` to fetch the one kept on the relay.
    pub backup: Option<Secret>,
    /// Its passphrase.
    pub passphrase: Secret,
    /// This machine's device name (the host name when absent).
    pub device_name: Option<String>,
    /// How the relay's certificate is checked.
    pub trust: RelayTrust,
}

/// What a new device needs besides its source: the account and the relay.
#[derive(Debug)]
pub(super) struct NewDevice {
    pub(super) relay_urls: Vec<String>,
    pub(super) username: String,
    pub(super) password: Secret,
    pub(super) device_name: Option<String>,
    pub(super) trust: RelayTrust,
}

/// Where a new device's identity comes from.
pub(super) enum Source {
    /// A backup (a file's text, or `None` for the relay's), and its passphrase.
    Backup {
        text: Option<Secret>,
        passphrase: Secret,
    },
    /// A device link, by its code as typed.
    Link { code: Secret },
}

/// What a backup or link carried, or a restore added.
#[derive(Debug, Clone, Copy, Default)]
pub struct Carried {
    /// Contacts.
    pub contacts: usize,
    /// Groups.
    pub groups: usize,
    /// Messages of history.
    pub messages: usize,
    /// Messages left out (older than those that fit in a link).
    pub messages_left: u64,
}

impl From<BackupError> for DaemonError {
    fn from(e: BackupError) -> Self {
        DaemonError::Backup(e)
    }
}

impl Daemon {
    /// What a backup holds now (docs/PROTOCOL.md §10.1), and how many
    /// contacts.
    async fn backup_contents(&self) -> Result<(zeroize::Zeroizing<Vec<u8>>, usize), DaemonError> {
        let (contents, summary) = self.contents(None).await?;
        Ok((contents, summary.contacts))
    }

    /// What a backup or a device link holds now (docs/PROTOCOL.md §10.1,
    /// §12.5): with the newest history within `history_budget` bytes when
    /// asked (links only).
    pub(super) async fn contents(
        &self,
        history_budget: Option<usize>,
    ) -> Result<(zeroize::Zeroizing<Vec<u8>>, Carried), DaemonError> {
        let account = self.account()?;
        let ks = self.keystore.clone();
        let (enc, sig) = blocking(move || -> Result<_, KeystoreError> {
            Ok((ks.get(names::ENC_KEY)?, ks.get(names::SIG_KEY)?))
        })
        .await??;
        let (Some(enc), Some(sig)) = (enc, sig) else {
            return Err(DaemonError::Internal(
                "the keys are not in the keystore".into(),
            ));
        };
        let mut contacts = Vec::new();
        for (card, verified) in self.store.pinned_cards()? {
            let card = serde_json::value::RawValue::from_string(card)
                .map_err(|e| DaemonError::Internal(format!("a stored card is not JSON: {e}")))?;
            contacts.push(BackupContact { card, verified });
        }
        let groups = self.store.backup_groups()?;
        let (history, all_messages) = match history_budget {
            Some(budget) => self.store.link_history(budget)?,
            None => (Vec::new(), 0),
        };
        let carried = Carried {
            contacts: contacts.len(),
            groups: groups.len(),
            messages: history.len(),
            messages_left: all_messages.saturating_sub(history.len() as u64),
        };
        let contents = zeroize::Zeroizing::new(
            serde_json::to_vec(&BackupContents {
                v: 1,
                user: account.user,
                enc: B64.encode(enc.expose_secret()),
                sig: B64.encode(sig.expose_secret()),
                contacts,
                groups,
                history,
                created_at: crate::store::now_ms(),
            })
            .expect("JSON of strings and numbers"),
        );
        Ok((contents, carried))
    }

    /// The identity and the pinned contacts, sealed under `passphrase`.
    /// Returns the backup text and how many contacts it holds.
    pub async fn export_backup(&self, passphrase: &Secret) -> Result<(String, usize), DaemonError> {
        let (contents, count) = self.backup_contents().await?;
        let passphrase = passphrase.clone();
        let text = blocking(move || backup::seal(passphrase.expose(), &contents, &mut rand::rng()))
            .await??;
        Ok((text, count))
    }

    /// Restores a backup on a machine with no account yet: the keys go to
    /// the keystore, the contacts to the store, and the machine logs in as a
    /// new device of the account. Nothing is written unless the backup opens
    /// and the relay accepts the password.
    pub async fn restore(&self, r: Restore) -> Result<(Arc<Identity>, Carried), DaemonError> {
        let setup = NewDevice {
            relay_urls: r.relay_urls,
            username: r.username,
            password: r.password,
            device_name: r.device_name,
            trust: r.trust,
        };
        let from = Source::Backup {
            text: r.backup,
            passphrase: r.passphrase,
        };
        self.become_device(setup, from).await
    }

    /// Makes this machine, with no account yet, a new device of the account
    /// in `setup` from what `from` holds (a backup or a device link): the
    /// keys go to the keystore, the contacts and groups (and a link's
    /// history) to the store, and the machine logs in as a new device.
    /// Nothing is written unless it opens and the relay accepts the password.
    pub(super) async fn become_device(
        &self,
        setup: NewDevice,
        from: Source,
    ) -> Result<(Arc<Identity>, Carried), DaemonError> {
        if let Some(account) = self.store.account()? {
            return Err(DaemonError::AccountExists(account.user));
        }
        if !ipc_schema::envelope::is_valid_username(&setup.username) {
            return Err(DaemonError::Invalid(
                "username must match ^[a-z0-9][a-z0-9_.-]{2,31}$".into(),
            ));
        }
        // A mistyped code fails here, before the relay is asked.
        let code = match &from {
            Source::Link { code } => Some(
                crate::crypto::link::LinkCode::parse(code.expose()).map_err(DaemonError::Link)?,
            ),
            Source::Backup { .. } => None,
        };
        let relay_urls =
            crate::relay_client::check_urls(&setup.relay_urls, setup.trust.insecure_http)
                .map_err(|e| DaemonError::Invalid(e.to_string()))?;
        let trust = super::account::normalized(setup.trust)?;
        let device_name = super::devices::device_name(setup.device_name)?;
        let relay = self.new_relay_client(&relay_urls, &trust)?;
        // The relay must know this account by these keys: a backup of an
        // older identity would make a device nobody can write to.
        let fetch = match (&from, &code) {
            (Source::Backup { text: None, .. }, _) => Fetch::Backup,
            (Source::Link { .. }, Some(code)) => Fetch::Link(code.handle()),
            _ => Fetch::Card,
        };
        let (published, kept) =
            relay_lookup(&relay, &setup.username, &setup.password, fetch).await?;
        let user = setup.username.clone();
        let restored = match (from, code) {
            (Source::Link { .. }, Some(code)) => {
                let Some(text) = kept else {
                    return Err(DaemonError::Link(
                        crate::crypto::link::LinkError::NoSuchLink,
                    ));
                };
                blocking(move || -> Result<_, DaemonError> {
                    let plaintext = crate::crypto::link::open(&code, text.as_bytes())
                        .map_err(DaemonError::Link)?;
                    Ok(BackupContents::parse(plaintext.expose_secret(), &user)?)
                })
                .await??
            }
            (Source::Backup { text, passphrase }, _) => {
                let Some(text) = text.map(|t| t.expose().to_owned()).or(kept) else {
                    return Err(DaemonError::Invalid(format!(
                        "the relay keeps no key backup for {}: restore from a file, or \
                         `chat-ctl backup enable` on a device that has the account",
                        setup.username
                    )));
                };
                blocking(move || -> Result<_, BackupError> {
                    let plaintext = backup::open(passphrase.expose().as_bytes(), text.as_bytes())?;
                    BackupContents::parse(plaintext.expose_secret(), &user)
                })
                .await??
            }
            (Source::Link { .. }, None) => unreachable!("a link's code was parsed above"),
        };
        let Restored {
            identity,
            contacts,
            groups,
            history,
        } = restored;
        if let Some(card) = published
            && card.fingerprint() != identity.card().fingerprint()
        {
            return Err(DaemonError::Invalid(
                "this backup holds other keys than the account's card on the relay".into(),
            ));
        }
        let session = relay
            .login(
                &setup.username,
                &setup.password,
                Some(DeviceLogin {
                    id: None,
                    name: Some(device_name),
                }),
            )
            .await?;
        let stored = self
            .keep_restored(
                &setup.username,
                &relay_urls,
                trust.clone(),
                &identity,
                &contacts,
                &session,
            )
            .await;
        if let Err(e) = stored {
            // Nothing half-restored stays: no keys a later `register` would
            // take for its own, no account, no contacts.
            self.forget_restored(&contacts).await;
            return Err(e);
        }
        self.keep_relay(relay_urls, trust, relay);
        let identity = Arc::new(identity);
        *self.identity.write().expect("identity lock") = Some(identity.clone());
        self.note_other_devices(true);
        self.save_session(session.token, Some(&setup.password))
            .await?;
        // The device works now; what else came is added on top.
        let groups_added = match self.store.import_groups(&setup.username, &groups) {
            Ok(added) => self.publish(added),
            Err(e) => {
                tracing::warn!(error = %e, "could not add the restored groups");
                0
            }
        };
        let messages = match self.store.import_history(&history) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "could not add the linked history");
                0
            }
        };
        tracing::info!(
            user = %setup.username,
            contacts = contacts.len(),
            groups = groups_added,
            messages,
            "joined the account as a new device"
        );
        Ok((
            identity,
            Carried {
                contacts: contacts.len(),
                groups: groups_added,
                messages,
                messages_left: 0,
            },
        ))
    }

    /// Writes what a restore keeps: keys, contacts, the announcement to the
    /// other devices, and the account.
    async fn keep_restored(
        &self,
        user: &str,
        relay_urls: &[String],
        trust: RelayTrust,
        identity: &Identity,
        contacts: &[(Card, bool)],
        session: &ipc_schema::relay::LoginResponse,
    ) -> Result<(), DaemonError> {
        let ks = self.keystore.clone();
        let (enc, sig) = (identity.enc_private_pkcs8(), identity.sig_private_pkcs8());
        blocking(move || -> Result<(), KeystoreError> {
            ks.set(names::ENC_KEY, enc.expose_secret())?;
            ks.set(names::SIG_KEY, sig.expose_secret())
        })
        .await??;
        for (card, verified) in contacts {
            self.publish(self.store.add_contact(card)?);
            if *verified {
                self.publish(
                    self.store
                        .verify_contact(card.user(), &card.fingerprint())?,
                );
            }
        }
        // The account's other devices learn of this one from itself, end to
        // end (docs/PROTOCOL.md §11.3), and it writes to them from now on.
        let name = session.device.as_ref().map(|d| d.name.clone());
        let announce = ipc_schema::Payload::DeviceAdded {
            name: name.unwrap_or_else(|| "default".into()),
        };
        let announce = announce
            .to_json()
            .map_err(|e| DaemonError::Internal(e.to_string()))?;
        let announce = String::from_utf8(announce).expect("payload JSON is UTF-8");
        self.store.queue_announcement(user, &announce)?;
        self.store.set_account(&AccountRow {
            user: user.to_owned(),
            relay_urls: relay_urls.to_vec(),
            key_bits: identity.key_bits() as u32,
            trust,
            device_id: session.device.as_ref().map(|d| d.id.clone()),
        })?;
        Ok(())
    }

    /// Undoes a restore that failed half-way (best effort; each step logged).
    async fn forget_restored(&self, contacts: &[(Card, bool)]) {
        let ks = self.keystore.clone();
        let keys = blocking(move || -> Result<(), KeystoreError> {
            ks.delete(names::ENC_KEY)?;
            ks.delete(names::SIG_KEY)
        })
        .await;
        if !matches!(keys, Ok(Ok(()))) {
            tracing::error!("a failed restore could not remove the keys it stored");
        }
        for (card, _) in contacts {
            if let Err(e) = self.store.remove_contact(card.user()) {
                tracing::warn!(error = %e, "a failed restore could not remove a contact");
            }
        }
        if let Err(e) = self.store.clear_account() {
            tracing::warn!(error = %e, "a failed restore could not clear the account");
        }
    }
}

/// The relay backup's key as the keystore keeps it: `K` of §10.2 with the
/// salt and parameters it was derived with.
#[derive(serde::Serialize, serde::Deserialize)]
struct KeptKey {
    key: String,
    salt: String,
    m: u32,
    t: u32,
    p: u32,
}

/// How long contacts must stay unchanged before the relay backup is sealed
/// again (a burst of changes makes one upload).
const BACKUP_SETTLE: std::time::Duration = std::time::Duration::from_secs(1);

impl Daemon {
    /// Keeps a backup on the relay from now on, sealed under `passphrase`
    /// (docs/RELAY.md §5.2): derives the key once, keeps it in the keystore,
    /// and uploads. Returns how many contacts the backup holds.
    pub async fn enable_relay_backup(&self, passphrase: &Secret) -> Result<usize, DaemonError> {
        backup::check_passphrase(passphrase.expose())?;
        self.account()?;
        let mut salt = [0u8; 16];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut salt);
        let params = backup::KdfParams::DEFAULT;
        let passphrase = passphrase.clone();
        let key = blocking(move || backup::derive(passphrase.expose().as_bytes(), &salt, params))
            .await??;
        let kept = serde_json::to_vec(&KeptKey {
            key: B64.encode(&key[..]),
            salt: B64.encode(salt),
            m: params.m,
            t: params.t,
            p: params.p,
        })
        .expect("JSON of strings and numbers");
        let kept = zeroize::Zeroizing::new(kept);
        let ks = self.keystore.clone();
        blocking(move || ks.set(names::BACKUP_KEY, &kept)).await??;
        match self.upload_backup().await? {
            Some(count) => Ok(count),
            None => Err(DaemonError::Internal("the backup key was not kept".into())),
        }
    }

    /// Stops keeping a backup on the relay: deletes it there and forgets its key.
    pub async fn disable_relay_backup(&self) -> Result<(), DaemonError> {
        let token = self.token().ok_or_else(|| {
            DaemonError::NotLoggedIn("not logged in: run `chat-ctl login` first".into())
        })?;
        self.relay()?.delete_backup(&token).await?;
        let ks = self.keystore.clone();
        blocking(move || ks.delete(names::BACKUP_KEY)).await??;
        Ok(())
    }

    /// Seals the backup again with the kept key and uploads it; `None` when
    /// no relay backup is kept.
    async fn upload_backup(&self) -> Result<Option<usize>, DaemonError> {
        let ks = self.keystore.clone();
        let Some(kept) = blocking(move || ks.get(names::BACKUP_KEY)).await?? else {
            return Ok(None);
        };
        let kept: KeptKey = serde_json::from_slice(kept.expose_secret())
            .map_err(|e| DaemonError::Internal(format!("the kept backup key: {e}")))?;
        let bytes = |text: &str| B64.decode(text).ok();
        let (Some(key), Some(salt)) = (bytes(&kept.key), bytes(&kept.salt)) else {
            return Err(DaemonError::Internal(
                "the kept backup key is not base64".into(),
            ));
        };
        let key = zeroize::Zeroizing::new(key);
        let (Ok(key), Ok(salt)) = (<[u8; 64]>::try_from(&key[..]), <[u8; 16]>::try_from(salt))
        else {
            return Err(DaemonError::Internal(
                "the kept backup key has the wrong size".into(),
            ));
        };
        let key = zeroize::Zeroizing::new(key);
        let params = backup::KdfParams {
            m: kept.m,
            t: kept.t,
            p: kept.p,
        };
        let (contents, count) = self.backup_contents().await?;
        let mut iv = [0u8; 16];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut iv);
        let text = backup::seal_with_key(&key, &contents, params, salt, iv);
        let token = self.token().ok_or_else(|| {
            DaemonError::NotLoggedIn("not logged in: run `chat-ctl login` first".into())
        })?;
        self.relay()?.put_backup(&token, &text).await?;
        tracing::info!(contacts = count, "key backup on the relay updated");
        Ok(Some(count))
    }

    /// Seals the relay backup again after contacts change, until shutdown.
    pub(super) async fn run_backups(self: Arc<Self>) {
        let mut stop = self.shutdown.subscribe();
        let mut failures = 0u32;
        loop {
            tokio::select! {
                _ = self.backup_wake.notified() => {}
                _ = super::stopped(&mut stop) => return,
            }
            loop {
                // Settle: a burst of changes makes one upload.
                tokio::select! {
                    _ = tokio::time::sleep(BACKUP_SETTLE) => {}
                    _ = super::stopped(&mut stop) => return,
                }
                match self.upload_backup().await {
                    Ok(_) => {
                        failures = 0;
                        break;
                    }
                    Err(e) => {
                        failures += 1;
                        tracing::warn!(error = %e, "could not update the key backup on the relay; retrying");
                        tokio::select! {
                            _ = tokio::time::sleep(super::backoff(failures)) => {}
                            _ = super::stopped(&mut stop) => return,
                        }
                    }
                }
            }
        }
    }
}

/// What [`relay_lookup`] fetches besides the account's card.
enum Fetch {
    /// Only the card.
    Card,
    /// The key backup the relay keeps.
    Backup,
    /// The device link by this handle (claimed: the relay deletes it).
    Link(String),
}

/// The account's card as the relay's directory has it, and what `fetch`
/// asks for. Looking them up needs a session; the login for it is for the
/// account's oldest device and only reads (and claims a link).
async fn relay_lookup(
    relay: &RelayClient,
    user: &str,
    password: &Secret,
    fetch: Fetch,
) -> Result<(Option<Card>, Option<String>), DaemonError> {
    let session = relay.login(user, password, None).await?;
    let looked = async {
        let card = relay.card(&session.token, user).await?;
        let kept = match &fetch {
            Fetch::Card => None,
            Fetch::Backup => relay.backup(&session.token).await?,
            Fetch::Link(handle) => relay.claim_link(&session.token, handle).await?,
        };
        Ok::<_, DaemonError>((Card::from_json(&card).ok(), kept))
    }
    .await;
    let _ = relay.logout(&session.token).await;
    looked
}
