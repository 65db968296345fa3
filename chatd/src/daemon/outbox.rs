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
use crate::store::{Item, OutgoingKind, Sealed, Unsealed, UnsealedContent, now_ms};

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
                let result = relay.put(&token, &item.id, &item.envelope).await;
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
        let cards = self.store.contact_cards()?;
        let mut jobs = Vec::with_capacity(todo.len());
        for u in todo {
            match job(&u, &cards) {
                Ok((card, payload, id, ts)) => jobs.push((u, card, payload, id, ts)),
                Err(why) => self.give_up_on(&u.id, &u.peer, u.kind, why)?,
            }
        }
        let names: Vec<(String, String, OutgoingKind)> = jobs
            .iter()
            .map(|(u, ..)| (u.id.clone(), u.peer.clone(), u.kind))
            .collect();
        let results = on_all_cores(jobs, move |(u, card, payload, id, ts)| {
            let env = crypto::seal_as(&me, &card, &payload, id, ts, &mut rand::rng());
            (u, env)
        })
        .await?;
        let mut ready = Vec::with_capacity(results.len());
        for ((id, peer, kind), result) in names.into_iter().zip(results) {
            match result {
                Some((u, Ok(env))) => {
                    let json = serde_json::to_string(&env).expect("envelopes serialize");
                    ready.push(u.sealed(json));
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
        result: Result<crate::relay_client::PutResult, RelayError>,
        token: &ipc_schema::Secret,
        st: &mut OutboxState,
    ) -> Result<Next, DaemonError> {
        let e = match result {
            Ok(_) => {
                self.publish(self.store.outbox_sent(&item)?);
                return Ok(Next::Item);
            }
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
            if item.kind.is_receipt() && give_up(attempts, item.created_at, now_ms()) {
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

/// What sealing `u` needs besides its identity: the recipient's card, the
/// payload, the id's bytes and the timestamp; or why it never can be sealed.
fn job(
    u: &Unsealed,
    cards: &HashMap<String, Card>,
) -> Result<(Card, Payload, [u8; 16], u64), &'static str> {
    let card = cards.get(&u.peer).cloned().ok_or(crate::store::REMOVED)?;
    let id = id_bytes(&u.id).ok_or("has a malformed id")?;
    let (payload, ts) = match &u.content {
        UnsealedContent::Text { ts, body, reply_to } => (
            Payload::Text {
                body: body.clone(),
                reply_to: reply_to.clone(),
            },
            *ts,
        ),
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
    Ok((card, payload, id, ts))
}
