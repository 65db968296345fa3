//! Rotating this account's keys (docs/PROTOCOL.md §13, `chat-ctl id
//! rotate`): new key pairs, the directory's card replaced, and a transition
//! signed by the old and the new keys sent to every contact in an envelope
//! the old keys seal and sign (so it opens with the key they pinned), and the
//! groups it is in get a roster change carrying the transition. The
//! old keys are kept for a grace period, so what was sealed to them while
//! the transition travelled still opens, then destroyed.

use std::sync::Arc;

use ipc_schema::{Payload, Secret};

use super::{Daemon, DaemonError, blocking};
use crate::crypto::{self, Identity, KeyBits, transition};
use crate::keystore::{KeystoreError, names};
use crate::store::now_ms;

/// What a rotation did.
pub struct Rotated {
    /// The new identity.
    pub identity: Arc<Identity>,
    /// The fingerprint left.
    pub old_fingerprint: String,
    /// Contacts a transition was queued for.
    pub told: usize,
    /// Groups a key change was queued for.
    pub groups: usize,
    /// The rotation's counter.
    pub counter: u64,
    /// When the old private keys are destroyed, ms.
    pub old_keys_until: u64,
}

impl Daemon {
    /// Takes the keys another device of this account rotated to (a
    /// `keys_rotated` payload from the own account): the transition must be
    /// signed by this device's keys and the new ones, its counter above the
    /// last, and the keys must be the transition's card.
    pub(super) async fn take_rotation(&self, transition_text: &str, enc: &str, sig: &str) {
        let taken = async {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD;
            let old = self.identity()?;
            let t = transition::check(transition_text.as_bytes(), old.user(), old.card()).map_err(
                |e| DaemonError::Internal(format!("a rotation from another device: {e}")),
            )?;
            let (done, _) = self.store.rotation_state()?;
            if t.counter <= done {
                return Err(DaemonError::Internal(
                    "a rotation from another device was replayed".into(),
                ));
            }
            let der = |text: &str| {
                b64.decode(text)
                    .map(zeroize::Zeroizing::new)
                    .map_err(|_| DaemonError::Internal("rotated keys are not base64".into()))
            };
            let (enc, sig) = (der(enc)?, der(sig)?);
            let new = Identity::from_pkcs8(old.user(), &enc, &sig)
                .map_err(|e| DaemonError::Internal(format!("rotated keys do not load: {e}")))?;
            if new.card().fingerprint() != t.card.fingerprint() {
                return Err(DaemonError::Internal(
                    "rotated keys are not the transition's".into(),
                ));
            }
            let ks = self.keystore.clone();
            let keys = (old.enc_private_pkcs8(), old.sig_private_pkcs8(), enc, sig);
            blocking(move || -> Result<(), KeystoreError> {
                ks.set(names::OLD_ENC_KEY, keys.0.expose_secret())?;
                ks.set(names::OLD_SIG_KEY, keys.1.expose_secret())?;
                ks.set(names::ENC_KEY, &keys.2)?;
                ks.set(names::SIG_KEY, &keys.3)
            })
            .await??;
            let until = now_ms() + self.config.keys.grace_ms();
            self.store.note_rotation(t.counter, Some(until))?;
            *self.retired.write().expect("retired lock") = Some((old, until));
            *self.identity.write().expect("identity lock") = Some(Arc::new(new));
            tracing::warn!(
                counter = t.counter,
                "took the keys another device of this account rotated to"
            );
            Ok::<_, DaemonError>(())
        }
        .await;
        if let Err(e) = taken {
            tracing::error!(error = %e, "refused a rotation from another device");
        }
    }

    /// This account's identity before its last rotation, while its grace
    /// period lasts.
    pub(super) fn retired_identity(&self) -> Option<Arc<Identity>> {
        let retired = self.retired.read().expect("retired lock");
        match &*retired {
            Some((id, until)) if *until > now_ms() => Some(id.clone()),
            _ => None,
        }
    }

    /// Loads the retired keys at start, if their grace period lasts; deletes
    /// them once it is over.
    pub(super) async fn load_retired(&self) -> Result<(), DaemonError> {
        let Some(account) = self.store.account()? else {
            return Ok(());
        };
        let (_, until) = self.store.rotation_state()?;
        let Some(until) = until else { return Ok(()) };
        if until <= now_ms() {
            return self.destroy_retired().await;
        }
        let ks = self.keystore.clone();
        let (enc, sig) = blocking(move || -> Result<_, KeystoreError> {
            Ok((ks.get(names::OLD_ENC_KEY)?, ks.get(names::OLD_SIG_KEY)?))
        })
        .await??;
        if let (Some(enc), Some(sig)) = (enc, sig)
            && let Ok(id) =
                Identity::from_pkcs8(&account.user, enc.expose_secret(), sig.expose_secret())
        {
            *self.retired.write().expect("retired lock") = Some((Arc::new(id), until));
        }
        Ok(())
    }

    /// Deletes the retired keys (their grace period is over).
    pub(super) async fn destroy_retired(&self) -> Result<(), DaemonError> {
        let ks = self.keystore.clone();
        blocking(move || -> Result<(), KeystoreError> {
            ks.delete(names::OLD_ENC_KEY)?;
            ks.delete(names::OLD_SIG_KEY)
        })
        .await??;
        *self.retired.write().expect("retired lock") = None;
        let (n, _) = self.store.rotation_state()?;
        self.store.note_rotation(n, None)?;
        tracing::info!("the keys retired by the last rotation are destroyed");
        Ok(())
    }

    /// Destroys the retired keys when their grace period is over (called
    /// now and then).
    pub(super) async fn retire_if_due(&self) {
        let due = matches!(self.store.rotation_state(), Ok((_, Some(until))) if until <= now_ms());
        if due && let Err(e) = self.destroy_retired().await {
            tracing::warn!(error = %e, "could not destroy the retired keys");
        }
    }

    /// Replaces this account's key pairs (the relay `password` is asked:
    /// the directory's card changes), and queues a transition for every
    /// contact.
    pub async fn rotate(&self, password: &Secret) -> Result<Rotated, DaemonError> {
        let old = self.identity()?;
        let account = self.account()?;
        let token = self.token().ok_or_else(|| {
            DaemonError::NotLoggedIn("not logged in: run `chat-ctl login` first".into())
        })?;
        if self.retired_identity().is_some() {
            return Err(DaemonError::Invalid(format!(
                "the keys were rotated less than {} day(s) ago (keys.grace_days): messages sealed to the previous ones may still be on the way",
                self.config.keys.grace_days
            )));
        }
        let bits = KeyBits::from_bits(old.key_bits()).unwrap_or_default();
        let user = account.user.clone();
        let new = blocking(move || Identity::generate(&user, bits, &mut rand::rng()))
            .await?
            .map_err(|e| DaemonError::Internal(e.to_string()))?;
        let (done, _) = self.store.rotation_state()?;
        let counter = done + 1;
        let at = now_ms();
        let (old2, new2) = (old.clone(), Arc::new(new));
        let new3 = new2.clone();
        let text = blocking(move || transition::make(&old2, &new3, counter, at, &mut rand::rng()))
            .await?
            .map_err(|e| DaemonError::Internal(e.to_string()))?;
        // The directory first: if the relay refuses, nothing has changed.
        self.relay()?
            .replace_card(&token, password, new2.card().to_value())
            .await?;
        let ks = self.keystore.clone();
        let keys = (
            old.enc_private_pkcs8(),
            old.sig_private_pkcs8(),
            new2.enc_private_pkcs8(),
            new2.sig_private_pkcs8(),
        );
        blocking(move || -> Result<(), KeystoreError> {
            ks.set(names::OLD_ENC_KEY, keys.0.expose_secret())?;
            ks.set(names::OLD_SIG_KEY, keys.1.expose_secret())?;
            ks.set(names::ENC_KEY, keys.2.expose_secret())?;
            ks.set(names::SIG_KEY, keys.3.expose_secret())
        })
        .await??;
        let until = at + self.config.keys.grace_ms();
        self.store.note_rotation(counter, Some(until))?;
        *self.retired.write().expect("retired lock") = Some((old.clone(), until));
        *self.identity.write().expect("identity lock") = Some(new2.clone());
        // Each contact gets the transition sealed and signed with the old
        // keys: it opens with the card they pinned.
        let payload = Payload::KeyTransition {
            transition: text.clone(),
        };
        let mut told = 0;
        for (_, card) in self.store.contact_cards()? {
            let (old3, payload) = (old.clone(), payload.clone());
            let sealed =
                blocking(move || crypto::seal(&old3, &card, &payload, now_ms(), &mut rand::rng()))
                    .await?
                    .map_err(|e| DaemonError::Internal(e.to_string()))?;
            self.store.queue_sealed(
                &sealed.to,
                &sealed.id,
                &serde_json::to_string(&sealed).expect("envelopes serialize"),
            )?;
            told += 1;
        }
        // This account's other devices take the new keys too, end to end:
        // sealed to, and signed by, the keys they still hold.
        if self.has_other_devices() {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD;
            let rotated = Payload::KeysRotated {
                transition: match &payload {
                    Payload::KeyTransition { transition } => transition.clone(),
                    _ => unreachable!("made above"),
                },
                enc: b64.encode(new2.enc_private_pkcs8().expose_secret()),
                sig: b64.encode(new2.sig_private_pkcs8().expose_secret()),
            };
            let old3 = old.clone();
            let sealed = blocking(move || {
                let json = zeroize::Zeroizing::new(rotated.to_json().map_err(|e| e.to_string())?);
                crypto::envelope_v2::seal_v2_bytes(
                    &old3,
                    &[old3.card()],
                    &json,
                    now_ms(),
                    &mut rand::rng(),
                )
                .map_err(|e| e.to_string())
            })
            .await?
            .map_err(DaemonError::Internal)?;
            self.store.queue_sealed(
                &account.user,
                &sealed.id,
                &serde_json::to_string(&sealed).expect("envelopes serialize"),
            )?;
        }
        // Every group gets a change moving this member to the new card
        // (PROTOCOL.md §9.3), so members who are not contacts follow too.
        let groups = self.publish(self.store.key_change_groups(
            &account.user,
            &old.card().fingerprint(),
            &text,
            new2.card(),
        )?);
        self.outbox_wake.notify_one();
        self.backup_wake.notify_one();
        tracing::warn!(counter, told, groups, "rotated this account's keys");
        Ok(Rotated {
            identity: new2,
            old_fingerprint: old.card().fingerprint().grouped(),
            told,
            groups,
            counter,
            old_keys_until: until,
        })
    }
}
