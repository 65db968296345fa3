//! Receipts chatd sends: a delivered receipt for every text it commits
//! (queued with the batch, see `Store::commit_batch`), a read receipt when
//! a conversation is marked read and the user enabled them. Both are
//! outbox items; this module holds the two policies the outbox applies to
//! them: gathering, and giving up.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// Shortest time between two delivered receipts to one peer. Under a
/// steady stream the ids of the texts that arrive meanwhile gather in one
/// receipt (one RSA signature here, one decryption at the peer, instead of
/// one per text); a lone text is answered at once.
pub(super) const RECEIPT_GATHER: Duration = Duration::from_millis(100);

/// A receipt that could not be delivered this many times is dropped.
pub(super) const RECEIPT_MAX_ATTEMPTS: u32 = 30;

/// A receipt older than this is dropped instead of retried: the peer's
/// ticks are worth little by then, and a peer who keeps its mailbox full
/// must not keep our outbox busy forever.
pub(super) const RECEIPT_MAX_AGE: Duration = Duration::from_secs(3 * 24 * 3600);

/// When each peer last got a delivered receipt from us.
#[derive(Default)]
pub(super) struct ReceiptGate {
    last: HashMap<String, Instant>,
}

impl ReceiptGate {
    /// `None` when a delivered receipt to `peer` may be sealed now, else
    /// when it may.
    pub(super) fn held_until(&self, peer: &str, now: Instant) -> Option<Instant> {
        let at = *self.last.get(peer)? + RECEIPT_GATHER;
        (at > now).then_some(at)
    }

    /// A delivered receipt to `peer` was just sealed.
    pub(super) fn sealed(&mut self, peer: &str, now: Instant) {
        if self.last.len() > 10_000 {
            self.last
                .retain(|_, at| now.duration_since(*at) < RECEIPT_GATHER);
        }
        self.last.insert(peer.to_owned(), now);
    }
}

/// Whether a receipt that failed again should be dropped.
pub(super) fn give_up(attempts: u32, created_at_ms: u64, now_ms: u64) -> bool {
    attempts >= RECEIPT_MAX_ATTEMPTS
        || now_ms.saturating_sub(created_at_ms) >= RECEIPT_MAX_AGE.as_millis() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_to_one_peer_gather_for_a_moment_others_go_at_once() {
        let mut gate = ReceiptGate::default();
        let t0 = Instant::now();
        assert_eq!(
            gate.held_until("bob", t0),
            None,
            "a lone text is answered at once"
        );
        gate.sealed("bob", t0);
        assert_eq!(gate.held_until("bob", t0), Some(t0 + RECEIPT_GATHER));
        assert_eq!(gate.held_until("carol", t0), None);
        assert_eq!(gate.held_until("bob", t0 + RECEIPT_GATHER), None);
    }

    #[test]
    fn receipts_give_up_after_bounded_tries_or_age() {
        let day = 86_400_000;
        assert!(!give_up(0, 0, 0));
        assert!(!give_up(RECEIPT_MAX_ATTEMPTS - 1, 0, day));
        assert!(give_up(RECEIPT_MAX_ATTEMPTS, 0, 0));
        assert!(give_up(1, 0, 3 * day));
    }
}
