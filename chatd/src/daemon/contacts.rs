//! Contacts: pinning cards (from a card, or from the relay directory checked
//! against a fingerprint the user was given), verifying, removing.

use ipc_schema::methods::Contact;

use super::{Daemon, DaemonError};
use crate::crypto::{Card, Fingerprint};
use crate::relay_client::RelayError;

/// Where a new contact's card comes from.
pub enum CardSource {
    /// A card the user has (file, QR code), as JSON.
    Card(serde_json::Value),
    /// The relay directory, which must give a card with this fingerprint.
    Directory {
        /// The username.
        user: String,
        /// The fingerprint the user was given out of band.
        fingerprint: String,
    },
}

fn parse_fingerprint(text: &str) -> Result<Fingerprint, DaemonError> {
    Fingerprint::parse(text)
        .ok_or_else(|| DaemonError::Invalid("fingerprint must be 64 hex digits".into()))
}

impl Daemon {
    /// All contacts, by name.
    pub fn contacts(&self) -> Result<Vec<Contact>, DaemonError> {
        Ok(self.store.contacts()?)
    }

    /// Pins a contact.
    pub async fn add_contact(&self, source: CardSource) -> Result<Contact, DaemonError> {
        let card = match source {
            CardSource::Card(json) => {
                Card::from_value(&json).map_err(|e| DaemonError::InvalidCard(e.to_string()))?
            }
            CardSource::Directory { user, fingerprint } => {
                self.directory_card(&user, &parse_fingerprint(&fingerprint)?)
                    .await?
            }
        };
        if let Ok(me) = self.identity()
            && me.user() == card.user()
        {
            return Err(DaemonError::Invalid("that is your own card".into()));
        }
        let added = self.publish(self.store.add_contact(&card)?);
        self.sync_contact(card.user());
        Ok(added)
    }

    /// Fetches `user`'s card from the directory; it must have `wanted`
    /// (adding a contact, accepting a changed key).
    pub(super) async fn directory_card(
        &self,
        user: &str,
        wanted: &Fingerprint,
    ) -> Result<Card, DaemonError> {
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
        if card.fingerprint() != *wanted {
            return Err(DaemonError::FingerprintMismatch(format!(
                "{user}'s card in the directory has fingerprint {}, not the one given; nothing changed",
                card.fingerprint()
            )));
        }
        Ok(card)
    }

    /// Forgets a contact; history stays, its queued texts fail.
    pub fn remove_contact(&self, user: &str) -> Result<(), DaemonError> {
        self.publish(self.store.remove_contact(user)?);
        self.sync_contact(user);
        Ok(())
    }

    /// Marks a contact verified after comparing fingerprints out of band.
    pub fn verify_contact(&self, user: &str, fingerprint: &str) -> Result<Contact, DaemonError> {
        let fp = parse_fingerprint(fingerprint)?;
        let verified = self.publish(self.store.verify_contact(user, &fp)?);
        self.sync_contact(user);
        Ok(verified)
    }

    /// Stamps a change to a contact made here and, when the account has
    /// other devices, tells them (docs/PROTOCOL.md §11.4). Best effort: the
    /// change itself is committed already.
    fn sync_contact(&self, user: &str) {
        let Ok(Some(account)) = self.store.account() else {
            return;
        };
        let Some(device) = account.device_id else {
            return;
        };
        let told = self.store.stamp_contact(user, &device).and_then(|payload| {
            if !self.has_other_devices() {
                return Ok(());
            }
            let json = payload
                .to_json()
                .map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))?;
            let json = String::from_utf8(json).expect("payload JSON is UTF-8");
            self.store.queue_announcement(&account.user, &json)
        });
        match told {
            Ok(()) => self.outbox_wake.notify_one(),
            Err(e) => {
                tracing::warn!(error = %e, "could not tell the other devices of a contact change")
            }
        }
    }
}
