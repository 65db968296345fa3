//! The sync loop: long-poll the relay, open each batch, commit it, then
//! acknowledge it (docs/ARCHITECTURE.md, "The path of one message"). A
//! crash between the commit and the ack redelivers the batch, and the seen
//! ids make the repeats harmless: nothing lost, nothing doubled.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use ipc_schema::Incoming;
use ipc_schema::Secret;
use ipc_schema::envelope::is_valid_message_id;
use ipc_schema::methods::{ConnectionState, DropReason};
use serde_json::value::RawValue;

use super::account::Renewal;
use super::parallel::on_all_cores;
use super::{Daemon, DaemonError, backoff, stopped};
use crate::crypto::{self, Card, Identity, OpenError, Opened, Peers};
use crate::relay_client::RelayClient;

/// How long one long-poll waits at the relay.
const LONG_POLL_SECS: u64 = 30;

/// What opening a batch needs to know: pinned cards and the ids seen before.
struct BatchPeers {
    contacts: HashMap<String, Card>,
    seen: HashSet<(String, String)>,
    /// Contacts' cards from before a rotation, in their grace period.
    previous: HashMap<String, Card>,
    /// This account's identity before its own rotation, in its grace period.
    retired: Option<Arc<Identity>>,
}

impl Peers for BatchPeers {
    fn previous(&self, user: &str) -> Option<&Card> {
        self.previous.get(user)
    }
    fn retired(&self) -> Option<&Identity> {
        self.retired.as_deref()
    }
    fn contact(&self, user: &str) -> Option<&Card> {
        self.contacts.get(user)
    }
    fn already_seen(&self, from: &str, id: &str) -> bool {
        self.seen.contains(&(from.to_owned(), id.to_owned()))
    }
}

/// A batch parsed once: each envelope strictly, the duplicates within the
/// batch set aside before any private-key operation.
#[derive(Debug, Default)]
pub(super) struct Parsed {
    /// Ids to acknowledge once the batch is committed.
    pub ack: Vec<String>,
    /// Envelopes to open, each (from, id) once.
    pub unique: Vec<ipc_schema::Incoming>,
    /// For each of `unique`, its index in the batch (its text, for the
    /// quarantine).
    pub raw: Vec<usize>,
    /// Envelopes dropped without opening.
    pub drops: Vec<DropReason>,
}

/// Parses a fetched batch once. A relay that repeats an envelope within one
/// batch costs no extra RSA: only the first copy is opened, the others are
/// counted as replays.
pub(super) fn parse_batch(batch: &[Box<RawValue>]) -> Parsed {
    let mut parsed = Parsed::default();
    let mut in_batch = HashSet::new();
    for (i, raw) in batch.iter().enumerate() {
        match Incoming::parse(raw.get().as_bytes()) {
            Ok(env) => {
                parsed.ack.push(env.id().to_owned());
                if in_batch.insert((env.from().to_owned(), env.id().to_owned())) {
                    parsed.raw.push(i);
                    parsed.unique.push(env);
                } else {
                    parsed.drops.push(DropReason::Replay);
                }
            }
            Err(e) => {
                tracing::info!(reason = "malformed", error = %e, "dropped an envelope");
                // It must still be acknowledged, or it comes back forever.
                #[derive(serde::Deserialize)]
                struct IdOnly {
                    id: String,
                }
                if let Ok(IdOnly { id }) = serde_json::from_str(raw.get())
                    && is_valid_message_id(&id)
                {
                    parsed.ack.push(id);
                }
                parsed.drops.push(crypto::shape_error(e).drop_reason());
            }
        }
    }
    parsed
}

impl Daemon {
    /// The long-poll loop, until shutdown.
    pub(super) async fn run_sync(self: Arc<Self>) {
        let mut stop = self.shutdown.subscribe();
        let mut failures = 0u32;
        loop {
            if self.stopping() {
                return;
            }
            let relay = self.relay();
            if let (Some(_), Err(e @ DaemonError::Relay(_))) = (self.token(), &relay) {
                // The account's relay settings cannot work (a plain http://
                // URL off loopback, say): logged out, with the fix named.
                self.set_connection(ConnectionState::LoggedOut, Some(e.to_string()));
            }
            let (Some(token), Ok(relay), Ok(me)) = (self.token(), relay, self.identity()) else {
                tokio::select! {
                    _ = self.sync_wake.notified() => continue,
                    _ = stopped(&mut stop) => return,
                }
            };
            if matches!(
                self.connection(),
                ConnectionState::LoggedOut | ConnectionState::Offline
            ) {
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
                // A login or new relay settings: ask again with them now,
                // instead of after a long-poll on the old ones.
                _ = self.sync_wake.notified() => continue,
                _ = stopped(&mut stop) => return,
            };
            match fetched {
                Ok(batch) => {
                    failures = 0;
                    self.set_connection(ConnectionState::Online, None);
                    self.refresh_devices_if_due(&relay, &token).await;
                    self.expire_quarantine_if_due();
                    self.retire_if_due().await;
                    if batch.is_empty() {
                        continue;
                    }
                    if let Err(e) = self.process_batch(&me, &relay, &token, batch).await {
                        tracing::error!(error = %e, "could not process a batch; retrying");
                        failures += 1;
                        self.sync_pause(backoff(failures)).await;
                    }
                }
                Err(e) if e.is_unauthorized() => match self.renew_session(&token).await {
                    Renewal::Renewed | Renewal::LoggedOut => {}
                    Renewal::Later(wait, why) => {
                        self.set_connection(ConnectionState::Offline, Some(why));
                        self.sync_pause(wait).await;
                    }
                },
                Err(e) => {
                    failures += 1;
                    self.set_connection(ConnectionState::Offline, Some(e.to_string()));
                    let wait = e.retry_after().unwrap_or_else(|| backoff(failures));
                    self.sync_pause(wait).await;
                }
            }
        }
    }

    /// Waits `d` before trying the relay again; a login or new relay
    /// settings (`relay.trust`) end the wait at once.
    async fn sync_pause(&self, d: Duration) {
        tokio::select! {
            _ = self.pause(d) => {}
            _ = self.sync_wake.notified() => {}
        }
    }

    /// Opens, commits, then acknowledges one batch.
    pub(super) async fn process_batch(
        &self,
        me: &Arc<Identity>,
        relay: &RelayClient,
        token: &Secret,
        batch: Vec<Box<RawValue>>,
    ) -> Result<(), DaemonError> {
        let Committed {
            outcome, ack, held, ..
        } = self.open_and_commit(me, batch, false).await?;
        // Committed: now the relay may forget them.
        relay.ack(token, ack).await?;
        let unseen: Vec<_> = outcome
            .new_texts
            .into_iter()
            .filter(|(peer, _, _)| !self.is_focused(peer))
            .map(|(_, who, body)| (who, body))
            .collect();
        for (summary, text) in crate::notify::batch(self.config.notifications, &unseen) {
            tokio::task::spawn_blocking(move || crate::notify::show(&summary, &text));
        }
        if let Some((transition, enc, sig)) = &outcome.own_rotation {
            self.take_rotation(transition, enc, sig).await;
        }
        // A rotation first: what its new key signed may be waiting already.
        for user in &outcome.rotated {
            self.after_rotation(me, user).await;
        }
        let still: Vec<String> = held
            .into_iter()
            .filter(|u| self.store.quarantined(u).is_ok_and(|w| !w.is_empty()))
            .collect();
        if !still.is_empty() {
            self.check_keys(relay, token, &still).await;
        }
        Ok(())
    }

    /// Opens one batch and commits what it holds (texts, receipts, the
    /// drop counters, and the envelopes that wait for a key decision), but
    /// does not acknowledge it: the caller does, or (for envelopes from the
    /// quarantine) needs not.
    /// `retry`: the batch is envelopes from the quarantine, tried again
    /// (already counted when they came, and not held again).
    pub(super) async fn open_and_commit(
        &self,
        me: &Arc<Identity>,
        batch: Vec<Box<RawValue>>,
        retry: bool,
    ) -> Result<Committed, DaemonError> {
        // The identity now, not the one a long-poll started with: a rotation
        // may have happened while it waited (the retired one still opens
        // what was sealed to it).
        let current = self.identity()?;
        let me = if current.user() == me.user() {
            &current
        } else {
            me
        };
        let Parsed {
            ack,
            unique,
            raw,
            mut drops,
        } = parse_batch(&batch);
        let keys: Vec<(String, String)> = unique
            .iter()
            .map(|e| (e.from().to_owned(), e.id().to_owned()))
            .collect();
        let pinned = self.store.contact_cards()?;
        let peers = Arc::new(BatchPeers {
            // Group members' cards open their envelopes; a card the user
            // pinned wins over one a roster introduced.
            // This account's own card opens what its other devices send
            // (docs/PROTOCOL.md §11).
            contacts: {
                let mut cards = self.store.member_cards()?;
                cards.extend(pinned.clone());
                cards.insert(me.user().to_owned(), me.card().clone());
                cards
            },
            seen: self.store.seen(&keys)?,
            // What another device of this account signed before taking
            // its rotation's keys still verifies.
            previous: {
                let mut cards = self.store.previous_cards()?;
                if let Some(old) = self.retired_identity() {
                    cards.insert(me.user().to_owned(), old.card().clone());
                }
                cards
            },
            retired: self.retired_identity(),
        });
        // Opening costs RSA work: off the async workers, over every core.
        let me2 = me.clone();
        let results = on_all_cores(unique, move |env| {
            crypto::open_parsed(&me2, &env, &*peers, &mut rand::rng())
        })
        .await?;
        let mut opened: Vec<Opened> = Vec::new();
        let mut replayed = Vec::new();
        let mut held = Vec::new();
        let frozen = self.store.frozen_contacts()?;
        for ((result, key), index) in results.into_iter().zip(keys).zip(raw) {
            // A panic while opening counts as undecryptable.
            match result.unwrap_or(Err(OpenError::Decrypt)) {
                // A contact frozen between two rotations: whichever key
                // signed it, it waits for the user's choice.
                Ok(o) if frozen.contains(&o.from) => {
                    held.push((key.0, key.1, batch[index].get().to_owned()))
                }
                Ok(o) => opened.push(o),
                // A pinned contact's envelope that their key does not
                // verify: their key may have changed. It waits, unopened
                // (docs/SECURITY.md, "Key changes").
                Err(OpenError::BadSignature)
                    if pinned.contains_key(&key.0) && key.0 != me.user() =>
                {
                    tracing::info!(
                        reason = "bad_signature",
                        "an envelope of a contact waits in quarantine"
                    );
                    drops.push(DropReason::BadSignature);
                    held.push((key.0, key.1, batch[index].get().to_owned()));
                }
                Err(e) => {
                    tracing::info!(reason = e.name(), "dropped an envelope");
                    // A replay passed the signature check: its from/id are
                    // genuine, and the sender may still need its receipt.
                    if e == OpenError::Replay {
                        replayed.push(key);
                    }
                    drops.push(e.drop_reason());
                }
            }
        }
        drop(batch);
        if retry {
            held.clear();
            drops.clear();
        }
        // Held before the ack, like everything else of the batch.
        self.store.hold(&self.config.quarantine.limits(), &held)?;
        let filed = opened.len();
        let outcome =
            self.publish(
                self.store
                    .commit_batch(me.user(), opened, &replayed, &drops)?,
            );
        if self.failpoint.as_deref() == Some("abort-after-commit") {
            // Test hook: die like `kill -9` between the commit and the ack.
            tracing::error!("failpoint abort-after-commit");
            std::process::abort();
        }
        if outcome.receipts_owed {
            self.outbox_wake.notify_one();
        }
        if outcome.files {
            self.downloads_wake.notify_one();
        }
        if outcome.deleted {
            // A file deleted for everyone leaves nothing here either.
            let _ = self.sweep_files();
        }
        if outcome.from_own_devices {
            self.note_other_devices(true);
        }
        for name in &outcome.new_devices {
            let at = crate::daemon::devices::clock_time(crate::store::now_ms());
            if let Some((summary, text)) =
                crate::notify::new_device(self.config.notifications, name, &at)
            {
                tokio::task::spawn_blocking(move || crate::notify::show(&summary, &text));
            }
        }
        let mut senders: Vec<String> = held.into_iter().map(|(from, _, _)| from).collect();
        senders.extend(outcome.key_checks.iter().cloned());
        senders.dedup();
        Ok(Committed {
            outcome,
            ack,
            held: senders,
            opened: filed,
        })
    }
}

/// What [`Daemon::open_and_commit`] committed.
pub(super) struct Committed {
    /// What the batch held, for notifications.
    pub outcome: crate::store::BatchOutcome,
    /// The ids to acknowledge.
    pub ack: Vec<String>,
    /// Contacts whose envelopes now wait in quarantine.
    pub held: Vec<String>,
    /// How many envelopes opened and were filed.
    pub opened: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).unwrap()
    }

    #[test]
    fn a_batch_is_parsed_once_and_repeats_are_set_aside_before_opening() {
        let make = |name: &str| {
            crate::crypto::Identity::generate(name, crate::crypto::KeyBits::B2048, &mut rand::rng())
                .unwrap()
        };
        let (alice, bob) = (make("alice"), make("bob"));
        let v = crypto::seal(
            &alice,
            bob.card(),
            &ipc_schema::Payload::text("hi"),
            1,
            &mut rand::rng(),
        )
        .unwrap();
        let env = serde_json::to_string(&v).unwrap();
        let batch = vec![raw(&env), raw(&env), raw(&env), raw(r#"{"id":"zz"}"#)];
        let parsed = parse_batch(&batch);
        assert_eq!(parsed.unique.len(), 1, "one copy is opened");
        assert_eq!(
            parsed.ack,
            vec![v.id.clone(); 3],
            "every copy is acknowledged"
        );
        assert_eq!(
            parsed.drops,
            [
                DropReason::Replay,
                DropReason::Replay,
                DropReason::Malformed
            ]
        );
    }
}
