//! Key changes (docs/SECURITY.md, "Key changes"): when a contact's envelopes
//! stop verifying, chatd looks their card up in the relay's directory (at
//! most once per contact every few minutes) and, if the key there is
//! another, tells the user; the envelopes wait in quarantine until the user
//! accepts the new key (they are opened then, in order) or refuses it. A new
//! key is never accepted on its own.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipc_schema::Secret;
use ipc_schema::methods::Contact;
use serde_json::value::RawValue;

use super::{Daemon, DaemonError};
use crate::crypto::{Card, Fingerprint, Identity};
use crate::relay_client::RelayClient;
use crate::store::KeySeen;

/// At most one directory look per contact this often.
const LOOK_EVERY: Duration = Duration::from_secs(10 * 60);
/// At most this many contacts looked up after one batch.
const LOOKS_PER_BATCH: usize = 8;

/// How often the quarantine's expired envelopes are deleted.
const EXPIRE_EVERY: Duration = Duration::from_secs(3600);

/// When each contact's card was last looked up, and when the quarantine
/// was last swept.
#[derive(Default)]
pub(super) struct KeyLooks {
    looks: std::sync::Mutex<HashMap<String, Instant>>,
    swept: std::sync::Mutex<Option<Instant>>,
}

impl KeyLooks {
    /// Whether `user` may be looked up now (and notes that it is).
    fn due(&self, user: &str) -> bool {
        let mut looks = self.looks.lock().expect("key looks lock");
        let now = Instant::now();
        match looks.get(user) {
            Some(at) if now.duration_since(*at) < LOOK_EVERY => false,
            _ => {
                looks.insert(user.to_owned(), now);
                true
            }
        }
    }
}

impl Daemon {
    /// Deletes what waited in quarantine longer than the settings keep it,
    /// at most hourly (counted per contact).
    pub(super) fn expire_quarantine_if_due(&self) {
        {
            let mut swept = self.key_looks.swept.lock().expect("sweep lock");
            if swept.is_some_and(|at| at.elapsed() < EXPIRE_EVERY) {
                return;
            }
            *swept = Some(Instant::now());
        }
        match self
            .store
            .expire_quarantine(&self.config.quarantine.limits())
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(n, "envelopes waited too long for a key decision; deleted"),
            Err(e) => tracing::warn!(error = %e, "could not sweep the quarantine"),
        }
    }

    /// After a batch held envelopes of `senders`: looks their cards up in
    /// the directory, each at most every ten minutes. Best effort.
    pub(super) async fn check_keys(&self, relay: &RelayClient, token: &Secret, senders: &[String]) {
        let Ok(me) = self.identity() else { return };
        // A frozen contact already waits for the user's choice between two
        // cards; the directory has no say in it.
        let frozen = self.store.frozen_contacts().unwrap_or_default();
        for user in senders
            .iter()
            .filter(|u| !frozen.contains(*u))
            .filter(|u| self.key_looks.due(u))
            .take(LOOKS_PER_BATCH)
        {
            let card = match relay.card(token, user).await {
                Ok(bytes) => match Card::from_json(&bytes) {
                    Ok(card) if card.user() == user => card,
                    _ => {
                        tracing::warn!(%user, "the directory's card for a contact does not parse");
                        continue;
                    }
                },
                Err(e) => {
                    tracing::warn!(%user, error = %e, "could not look a contact's card up");
                    continue;
                }
            };
            match self.store.key_seen(me.user(), user, &card) {
                Ok(seen) => match self.publish(seen) {
                    KeySeen::Changed { .. } => {
                        tracing::warn!(%user, "a contact's key changed in the directory; their mail waits");
                        if let Some((summary, text)) =
                            crate::notify::key_changed(self.config.notifications, user)
                        {
                            tokio::task::spawn_blocking(move || {
                                crate::notify::show(&summary, &text)
                            });
                        }
                    }
                    KeySeen::Same => {
                        let waiting = self.store.quarantined(user).unwrap_or_default();
                        match self.reopen(&me, user, waiting, true).await {
                            Ok((_, 0)) => {}
                            Ok((_, forged)) => tracing::warn!(
                                %user,
                                forged,
                                "envelopes signed with another key than the contact's; dropped"
                            ),
                            Err(e) => {
                                tracing::warn!(%user, error = %e, "could not open what waited")
                            }
                        }
                    }
                    KeySeen::AlreadyPending => {}
                },
                Err(e) => tracing::warn!(%user, error = %e, "could not record a contact's card"),
            }
        }
    }

    /// Accepts `user`'s new key after the user compared `fingerprint`: the
    /// one the directory had when their mail stopped verifying, or has now.
    /// Opens what waited, in order. Returns the contact and how many
    /// envelopes opened and how many still did not.
    pub async fn accept_key(
        &self,
        user: &str,
        fingerprint: &str,
    ) -> Result<(Contact, u64, u64), DaemonError> {
        let wanted = Fingerprint::parse(&fingerprint.replace(' ', "").to_lowercase())
            .ok_or_else(|| DaemonError::Invalid("a fingerprint is 64 hex digits".into()))?;
        let me = self.identity()?;
        let pinned = self
            .store
            .contact_cards()?
            .remove(user)
            .ok_or_else(|| DaemonError::UnknownContact(user.to_owned()))?;
        // Frozen between two rotations: the user may keep the card it moved
        // to first, as well as take the other.
        let frozen = self.store.frozen_contacts()?.contains(user);
        if pinned.fingerprint() == wanted && !frozen {
            return Err(DaemonError::Invalid(format!(
                "{user}'s pinned key already has that fingerprint"
            )));
        }
        let card = match self.store.pending_card(user)? {
            _ if pinned.fingerprint() == wanted => pinned,
            Some(card) if card.fingerprint() == wanted => card,
            _ if frozen => {
                return Err(DaemonError::FingerprintMismatch(format!(
                    "{user} is frozen between two keys: accept one of the two fingerprints `chat-ctl contact list` shows"
                )));
            }
            _ => self.directory_card(user, &wanted).await?,
        };
        let (contact, waiting) = self.publish(self.store.accept_key(me.user(), user, &card)?);
        let (filed, unopened) = self.reopen(&me, user, waiting, false).await?;
        let contact = self
            .store
            .contacts()?
            .into_iter()
            .find(|c| c.user == user)
            .unwrap_or(contact);
        Ok((contact, filed, unopened))
    }

    /// Opens what waited in quarantine for `user` with the key now pinned,
    /// in order, and deletes it; returns how many opened and how many
    /// still did not (counted as lost).
    async fn reopen(
        &self,
        me: &Arc<Identity>,
        user: &str,
        waiting: crate::store::Waiting,
        forged: bool,
    ) -> Result<(u64, u64), DaemonError> {
        let Some(last_seq) = waiting.last().map(|(seq, _)| *seq) else {
            return Ok((0, 0));
        };
        if self.store.frozen_contacts()?.contains(user) {
            // It waits for the user's choice, not for another try.
            return Ok((0, 0));
        }
        let total = waiting.len() as u64;
        let batch: Vec<Box<RawValue>> = waiting
            .into_iter()
            .filter_map(|(_, text)| RawValue::from_string(text).ok())
            .collect();
        let filed = self.open_and_commit(me, batch, true).await?.opened as u64;
        let unopened = total.saturating_sub(filed);
        self.store
            .release_quarantine(user, last_seq, unopened, forged)?;
        Ok((filed, unopened))
    }

    /// After `user` rotated with a signed transition: tells the user (a
    /// notification; the event and the conversation line are committed),
    /// and opens what waited for the new key.
    pub(super) async fn after_rotation(&self, me: &Arc<Identity>, user: &str) {
        if let Some((summary, text)) = crate::notify::key_rotated(self.config.notifications, user) {
            tokio::task::spawn_blocking(move || crate::notify::show(&summary, &text));
        }
        let waiting = match self.store.quarantined(user) {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(%user, error = %e, "could not read the quarantine after a rotation");
                return;
            }
        };
        match self.reopen(me, user, waiting, false).await {
            Ok((0, 0)) => {}
            Ok((filed, unopened)) => {
                tracing::info!(%user, filed, unopened, "opened what waited for a rotated key")
            }
            Err(e) => {
                tracing::warn!(%user, error = %e, "could not open what waited for a rotated key")
            }
        }
    }

    /// Refuses `user`'s changed key: what waited goes; the pinned key stays.
    pub fn refuse_key(&self, user: &str) -> Result<(Contact, u64), DaemonError> {
        let me = self.identity()?;
        Ok(self.publish(self.store.refuse_key(me.user(), user)?))
    }
}
