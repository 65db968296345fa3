//! The outbox task: the one outgoing pipeline (docs/ARCHITECTURE.md).
//!
//! Each pass takes the queues whose head is due, seals every unsealed item
//! among them on all cores (and stores the envelopes before any PUT, so a
//! resend carries the same bytes), then sends each recipient's items in
//! order. What goes wrong decides who waits:
//!
//! - the relay is unreachable or asks us to slow down (429): everything
//!   pauses, with backoff;
//! - one recipient cannot take mail now (507 mailbox full, 5xx): only that
//!   recipient's queue backs off, the others go on; a receipt that keeps
//!   failing is dropped after bounded tries or age;
//! - the relay refuses an item for good (404, 409, 413, …): that item
//!   fails and the queue goes on;
//! - the session expired (401): it is renewed, and the pass ends.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ipc_schema::{Payload, ReceiptKind};
use tokio::time::Instant;

use super::account::Renewal;
use super::parallel::on_all_cores;
use super::receipts::{ReceiptGate, give_up};
use super::{Daemon, DaemonError, backoff, id_bytes, stopped};
use crate::crypto::{self, Card};
use crate::relay_client::RelayError;
use crate::store::{
    Item, OutgoingKind, Sealed, Unsealed, UnsealedContent, conversation_of, now_ms,
};

/// Items of one queue taken per pass.
const PER_PEER: usize = 64;

/// What the outbox remembers between passes (in memory: a restart simply
/// tries again).
#[derive(Default)]
struct OutboxState {
    /// Nothing is sent before this (relay away, or throttling us).
    paused_until: Option<Instant>,
    /// Consecutive passes that found the relay away.
    relay_failures: u32,
    /// Passes that failed for local reasons (store, identity).
    local_failures: u32,
    /// Delivered receipts gathering per peer.
    gate: ReceiptGate,
}

/// What one item's PUT decided for the rest of the pass.
enum Next {
    /// Go on with the queue's next item.
    Item,
    /// This queue waits; go on with the next queue.
    Queue,
    /// Stop the pass; run again at this time (or when woken).
    Stop(Option<Instant>),
}

impl Daemon {
    /// Sends due outbox items until shutdown.
    pub(super) async fn run_outbox(self: Arc<Self>) {
        let mut stop = self.shutdown.subscribe();
        let mut state = OutboxState::default();
        loop {
            if self.stopping() {
                return;
            }
            let next = match self.outbox_pass(&mut state).await {
                Ok(next) => {
                    state.local_failures = 0;
                    next
                }
                Err(e) => {
                    // A pass that failed outside the relay (no identity, the
                    // store) is retried with backoff, not in a tight loop.
                    state.local_failures += 1;
                    tracing::warn!(error = %e, "outbox pass failed");
                    Some(Instant::now() + backoff(state.local_failures))
                }
            };
            let stored = match self.store.next_outbox_due() {
                Ok(Some(at)) => {
                    Some(Instant::now() + Duration::from_millis(at.saturating_sub(now_ms())))
                }
                _ => None,
            };
            let paused = state.paused_until.filter(|p| *p > Instant::now());
            let wake = [next, stored.map(|s| paused.map_or(s, |p| s.max(p)))]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600))
                .max(Instant::now() + Duration::from_millis(20));
            tokio::select! {
                _ = self.outbox_wake.notified() => {}
                _ = tokio::time::sleep_until(wake) => {}
                _ = stopped(&mut stop) => return,
            }
        }
    }

    /// One pass; returns when the next one is needed besides the stored
    /// schedule (a pause, a gathering receipt).
    async fn outbox_pass(&self, st: &mut OutboxState) -> Result<Option<Instant>, DaemonError> {
        if let Some(until) = st.paused_until
            && until > Instant::now()
        {
            return Ok(Some(until));
        }
        st.paused_until = None;
        let Some(token) = self.token() else {
            return Ok(None);
        };
        let queues = self.store.due_queues(now_ms(), PER_PEER)?;
        if queues.is_empty() {
            return Ok(None);
        }
        let relay = self.relay()?;
        let mut wake: Option<Instant> = None;
        let mut sealed = self.seal_due(&queues, st, &mut wake).await?;
        for queue in queues {
            for item in queue.items {
                if self.stopping() {
                    return Ok(None);
                }
                let item = match item {
                    Item::Sealed(s) => s,
                    // Not sealed this pass (a receipt gathering ids, or one
                    // whose ids grew while it was sealed): it keeps its
                    // place, and the queue waits for it (at most 100 ms),
                    // so a backoff always sits on the queue's head.
                    Item::Unsealed(u) => match sealed.remove(&u.id) {
                        Some(s) => s,
                        None => break,
                    },
                };
                let result = if is_v2(&item.envelope) {
                    relay
                        .put_v2(&token, &item.id, &item.envelope)
                        .await
                        .map(Put::Many)
                } else {
                    relay
                        .put(&token, &item.id, &item.envelope)
                        .await
                        .map(|_| Put::One)
                };
                match self.after_put(item, result, &token, st).await? {
                    Next::Item => {}
                    Next::Queue => break,
                    Next::Stop(at) => return Ok(at),
                }
            }
        }
        st.relay_failures = 0;
        Ok(wake)
    }

    /// Seals the unsealed items of `queues` on all cores and stores the
    /// envelopes in one commit; returns them by id. Items that can never be
    /// sealed fail; delivered receipts held by the gate wait (`wake`).
    async fn seal_due(
        &self,
        queues: &[crate::store::Queue],
        st: &mut OutboxState,
        wake: &mut Option<Instant>,
    ) -> Result<HashMap<String, Sealed>, DaemonError> {
        let now = Instant::now();
        let mut todo: Vec<Unsealed> = Vec::new();
        for queue in queues {
            for item in &queue.items {
                let Item::Unsealed(u) = item else { continue };
                if u.kind == OutgoingKind::Delivered {
                    if let Some(at) = st.gate.held_until(&u.peer, now) {
                        *wake = Some(wake.map_or(at, |w| w.min(at)));
                        continue;
                    }
                    st.gate.sealed(&u.peer, now);
                }
                todo.push(u.clone());
            }
        }
        if todo.is_empty() {
            return Ok(HashMap::new());
        }
        let me = self.identity()?;
        // Receipts also go to group members who are not contacts; a card
        // the user pinned wins over one a roster introduced.
        let mut cards = self.store.member_cards()?;
        cards.extend(self.store.contact_cards()?);
        // Texts and rosters also go to this account's other devices, so
        // each shows what any of them sent (docs/PROTOCOL.md §11.1).
        let others = self.has_other_devices();
        let retired = self.retired_identity();
        let mut jobs = Vec::with_capacity(todo.len());
        for u in todo {
            // A roster moving this account to its new keys is signed, and
            // its own copy sealed, with the old ones: members (and this
            // account's other devices) still hold those (PROTOCOL.md §9.3).
            let signer = match &retired {
                Some(old) if is_own_key_change(&u, me.user()) => old.clone(),
                _ => me.clone(),
            };
            let mine = signer.card().clone();
            let synced = others
                && matches!(
                    u.kind,
                    OutgoingKind::Text | OutgoingKind::Roster | OutgoingKind::Change
                );
            let to = if u.peer == me.user() {
                // Only for the other devices: nobody to send it to without them.
                if !others {
                    self.give_up_on(&u.id, &u.peer, u.kind, "no other device")?;
                    continue;
                }
                Some(To::Many(vec![mine.clone()]))
            } else {
                match conversation_of(&u.peer).strip_prefix('#') {
                    None => cards.get(&u.peer).cloned().map(|card| {
                        if synced {
                            To::Many(vec![card, mine.clone()])
                        } else {
                            To::One(card)
                        }
                    }),
                    Some(group) => self.group_targets(&me, group, &u)?.map(|mut cards| {
                        if synced && !cards.iter().any(|c| c.user() == me.user()) {
                            cards.push(mine.clone());
                        }
                        To::Many(cards)
                    }),
                }
            };
            match to.ok_or(crate::store::REMOVED).and_then(|to| job(&u, to)) {
                Ok((to, payload, id, ts)) => jobs.push((u, signer, to, payload, id, ts)),
                Err(why) => self.give_up_on(&u.id, &u.peer, u.kind, why)?,
            }
        }
        let names: Vec<(String, String, OutgoingKind)> = jobs
            .iter()
            .map(|(u, ..)| (u.id.clone(), u.peer.clone(), u.kind))
            .collect();
        let results = on_all_cores(jobs, move |(u, me, to, payload, id, ts)| {
            let env = match to {
                To::One(card) => crypto::seal_as(&me, &card, &payload, id, ts, &mut rand::rng())
                    .map(|e| (serde_json::to_string(&e), Vec::new())),
                To::Many(cards) => {
                    let refs: Vec<&Card> = cards.iter().collect();
                    crypto::seal_v2_as(&me, &refs, &payload, id, ts, &mut rand::rng()).map(|e| {
                        let users = e.to.iter().map(|r| r.user.clone()).collect();
                        (serde_json::to_string(&e), users)
                    })
                }
            };
            (u, env)
        })
        .await?;
        let mut ready = Vec::with_capacity(results.len());
        for ((id, peer, kind), result) in names.into_iter().zip(results) {
            match result {
                Some((u, Ok((json, users)))) => {
                    let mut sealed = u.sealed(json.expect("envelopes serialize"));
                    sealed.recipients = users;
                    ready.push(sealed);
                }
                // A panic while sealing (a bug) fails that item only.
                None => self.give_up_on(&id, &peer, kind, "could not be sealed")?,
                Some((_, Err(e))) => {
                    tracing::warn!(%id, error = %e, "could not seal an outbox item");
                    self.give_up_on(&id, &peer, kind, "could not be sealed")?;
                }
            }
        }
        let wanted = ready.len();
        let stored = self.store.store_sealed(ready)?;
        if stored.len() < wanted {
            // A receipt got more ids while it was being sealed: seal it
            // again with all of them, soon.
            *wake = Some(Instant::now());
        }
        Ok(stored.into_iter().map(|s| (s.id.clone(), s)).collect())
    }

    /// Decides what a PUT's answer means for the item, its queue and the pass.
    async fn after_put(
        &self,
        item: Sealed,
        result: Result<Put, RelayError>,
        token: &ipc_schema::Secret,
        st: &mut OutboxState,
    ) -> Result<Next, DaemonError> {
        let e = match result {
            Ok(Put::One) => {
                self.publish(self.store.outbox_sent(&item)?);
                return Ok(Next::Item);
            }
            Ok(Put::Many(answer)) if item.peer.starts_with('#') => {
                return self.after_group_put(item, answer);
            }
            Ok(Put::Many(answer)) => match self.skipped_peer(&item, &answer) {
                None => {
                    self.publish(self.store.outbox_sent(&item)?);
                    return Ok(Next::Item);
                }
                Some(e) => e,
            },
            Err(e) => e,
        };
        if e.is_unauthorized() {
            return Ok(match self.renew_session(token).await {
                Renewal::Renewed => Next::Stop(Some(Instant::now())),
                Renewal::Later(wait, _) => {
                    st.paused_until = Some(Instant::now() + wait);
                    Next::Stop(st.paused_until)
                }
                Renewal::LoggedOut => Next::Stop(None),
            });
        }
        if e.relay_wide() {
            st.relay_failures += 1;
            let wait = e
                .retry_after()
                .unwrap_or_else(|| backoff(st.relay_failures));
            tracing::info!(error = %e, ?wait, "relay unavailable; the outbox pauses");
            st.paused_until = Some(Instant::now() + wait);
            return Ok(Next::Stop(st.paused_until));
        }
        if e.is_transient() {
            let attempts = item.attempts + 1;
            if item.kind.is_best_effort() && give_up(attempts, item.created_at, now_ms()) {
                tracing::info!(id = %item.id, peer = %item.peer, attempts, "dropping a receipt that cannot be delivered");
                self.give_up_on(&item.id, &item.peer, item.kind, "undeliverable")?;
                return Ok(Next::Item);
            }
            let next = now_ms() + backoff(attempts).as_millis() as u64;
            tracing::info!(id = %item.id, peer = %item.peer, attempts, error = %e, "recipient unavailable; its queue waits");
            self.store.outbox_back_off(&item.id, attempts, next)?;
            return Ok(Next::Queue);
        }
        tracing::warn!(id = %item.id, error = %e, "relay refused an envelope");
        self.give_up_on(&item.id, &item.peer, item.kind, &e.to_string())?;
        Ok(Next::Item)
    }

    /// Ends an item for good: a text fails with `why`, a receipt is dropped.
    fn give_up_on(
        &self,
        id: &str,
        peer: &str,
        kind: OutgoingKind,
        why: &str,
    ) -> Result<(), DaemonError> {
        self.publish(self.store.outbox_failed(id, peer, kind, why)?);
        Ok(())
    }
}

/// Whether `u` is a roster change of `me`'s that carries its key transition.
fn is_own_key_change(u: &Unsealed, me: &str) -> bool {
    let UnsealedContent::Roster { payload, .. } = &u.content else {
        return false;
    };
    match Payload::from_json(payload.as_bytes()) {
        Ok(Payload::Roster { roster, .. }) => crate::groups::Roster::parse(roster.as_bytes())
            .is_ok_and(|r| r.author == me && r.transition.is_some()),
        _ => false,
    }
}

/// Whether a sealed envelope is v2 (chatd writes `v` first).
fn is_v2(envelope: &str) -> bool {
    envelope.starts_with("{\"v\":2,")
}

/// Who an item is sealed to: one contact (envelope v1), or several
/// (envelope v2): a group's members, or a contact and this account's
/// other devices.
enum To {
    One(Card),
    Many(Vec<Card>),
}

/// What the relay answered a PUT.
enum Put {
    One,
    Many(ipc_schema::relay::PutV2Response),
}

impl Daemon {
    /// The members a group item goes to: a roster's fixed list, or the
    /// group's current members for a text; `None` when no one can get it
    /// (this user left, or is alone).
    fn group_targets(
        &self,
        me: &crate::crypto::Identity,
        group: &str,
        u: &Unsealed,
    ) -> Result<Option<Vec<Card>>, DaemonError> {
        let cards = match &u.content {
            UnsealedContent::Roster { recipients, .. } => Some(
                recipients
                    .iter()
                    .filter_map(|c| Card::from_json(c.as_bytes()).ok())
                    .collect(),
            ),
            _ => self.store.group_recipients(me.user(), group)?,
        };
        Ok(cards.filter(|c: &Vec<Card>| !c.is_empty()))
    }

    /// What a v2 PUT of a one-to-one item (the contact plus this account's
    /// other devices) means for the contact: the relay's refusal for it, as
    /// a v1 PUT would have answered, or `None` when it was stored. This
    /// account's own copy is best effort, as in groups.
    fn skipped_peer(
        &self,
        item: &Sealed,
        answer: &ipc_schema::relay::PutV2Response,
    ) -> Option<RelayError> {
        use ipc_schema::relay::error_code as code;
        let skip = answer.skipped.iter().find(|s| s.user == item.peer)?;
        let status = match skip.reason.as_str() {
            code::QUOTA_EXCEEDED => 507,
            code::UNKNOWN_RECIPIENT => 404,
            _ => 409,
        };
        Some(RelayError::Refused {
            status,
            code: skip.reason.clone(),
            message: format!("{} was skipped: {}", item.peer, skip.reason),
            retry_after: None,
        })
    }

    /// What a group PUT's answer means: members stored for are `sent`,
    /// members without an account `failed`; members whose mailbox is full
    /// get the same envelope again later, alone (their own queue), so they
    /// hold back nobody.
    fn after_group_put(
        &self,
        item: Sealed,
        mut answer: ipc_schema::relay::PutV2Response,
    ) -> Result<Next, DaemonError> {
        // This account's own copy (for its other devices) is best effort:
        // it holds back no member and is never tried again alone.
        let me = self.identity()?.user().to_owned();
        answer.skipped.retain(|s| s.user != me);
        let names = |reason: &str| -> Vec<String> {
            answer
                .skipped
                .iter()
                .filter(|s| s.reason == reason)
                .map(|s| s.user.clone())
                .collect()
        };
        // No account, or an id another sender took for that member: never.
        let mut unknown = names(ipc_schema::relay::error_code::UNKNOWN_RECIPIENT);
        unknown.extend(names(ipc_schema::relay::error_code::CONFLICT));
        let full: Vec<String> = answer
            .skipped
            .iter()
            .filter(|s| !unknown.contains(&s.user))
            .map(|s| s.user.clone())
            .collect();
        let attempts = item.attempts + 1;
        let retry_at = now_ms() + backoff(attempts).as_millis() as u64;
        if !full.is_empty() {
            tracing::info!(id = %item.id, ?full, "group members with full mailboxes get it later");
        }
        let recipients = if item.recipients.is_empty() {
            // Sealed in an earlier run: the envelope names them.
            serde_json::from_str::<ipc_schema::SealedV2>(&item.envelope)
                .map(|e| e.to.into_iter().map(|r| r.user).collect())
                .unwrap_or_default()
        } else {
            item.recipients.clone()
        };
        let recipients: Vec<String> = recipients.into_iter().filter(|u| *u != me).collect();
        self.publish(
            self.store
                .outbox_group_put(&item, &recipients, &unknown, &full, retry_at)?,
        );
        Ok(Next::Item)
    }
}

/// What sealing `u` needs besides its identity: who it goes to, the
/// payload, the id's bytes and the timestamp; or why it never can be sealed.
fn job(u: &Unsealed, to: To) -> Result<(To, Payload, [u8; 16], u64), &'static str> {
    let id = id_bytes(&u.id).ok_or("has a malformed id")?;
    let group = conversation_of(&u.peer).strip_prefix('#');
    let (payload, ts) = match &u.content {
        UnsealedContent::Text { ts, body, reply_to } => match group {
            None => (
                Payload::Text {
                    body: body.clone(),
                    reply_to: reply_to.clone(),
                    // Sealed to the contact and this account's other
                    // devices: they need to know whose conversation it is.
                    to: matches!(to, To::Many(_)).then(|| u.peer.clone()),
                },
                *ts,
            ),
            Some(group) => (
                Payload::GroupText {
                    group: group.to_owned(),
                    body: body.clone(),
                    reply_to: reply_to.clone(),
                },
                *ts,
            ),
        },
        UnsealedContent::File { ts, offer } => {
            let mut offer = offer.clone();
            match group {
                Some(group) => offer.group = Some(group.to_owned()),
                // As a text: the copy for this account's other devices
                // names the conversation.
                None if matches!(to, To::Many(_)) => offer.to = Some(u.peer.clone()),
                None => {}
            }
            (Payload::File(offer), *ts)
        }
        UnsealedContent::Roster { payload, .. } => (
            Payload::from_json(payload.as_bytes()).map_err(|_| "has a broken roster payload")?,
            now_ms(),
        ),
        UnsealedContent::Announce { payload } => (
            Payload::from_json(payload.as_bytes()).map_err(|_| "has a broken payload")?,
            now_ms(),
        ),
        UnsealedContent::Change { payload } => {
            let change = ipc_schema::MessageChange::from_json(payload.as_bytes())
                .map_err(|_| "has a broken change")?;
            // Sealed to the contact and this account's other devices: they
            // need to know whose conversation it is (as for a text).
            let change = match (group, &to) {
                (None, To::Many(_)) => change.with_to(&u.peer),
                _ => change,
            };
            (Payload::Change(change), now_ms())
        }
        UnsealedContent::Receipt { ids } => (
            Payload::Receipt {
                ids: ids.clone(),
                kind: if u.kind == OutgoingKind::Read {
                    ReceiptKind::Read
                } else {
                    ReceiptKind::Delivered
                },
            },
            now_ms(),
        ),
    };
    Ok((to, payload, id, ts))
}
