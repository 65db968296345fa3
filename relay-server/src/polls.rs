//! The cap on long-polls waiting at once per session token (docs/RELAY.md,
//! "Limits"). A new long-poll past the cap answers the oldest one waiting
//! with 204, so a client that lost track of its requests is served by its
//! newest, and one token cannot pile up waiting requests.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::oneshot;

/// The long-polls waiting per token.
pub struct Polls {
    /// Most long-polls one token may have waiting.
    max: usize,
    /// Waiting long-polls per token hash, oldest first.
    waiting: Mutex<HashMap<String, VecDeque<Waiter>>>,
    /// Numbers the long-polls, so each can find itself to leave.
    next: AtomicU64,
}

struct Waiter {
    id: u64,
    /// Tells the long-poll to answer now (204).
    give_way: oneshot::Sender<()>,
}

/// A waiting long-poll's place; it leaves the queue when dropped.
pub struct LongPoll<'a> {
    polls: &'a Polls,
    token_hash: String,
    id: u64,
    /// Resolves when a newer long-poll of the same token took this one's place.
    pub pushed_out: oneshot::Receiver<()>,
}

impl Polls {
    /// At most `max` long-polls waiting per token.
    pub fn new(max: usize) -> Polls {
        Polls {
            max: max.max(1),
            waiting: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
        }
    }

    /// Starts waiting for `token_hash`, pushing out its oldest long-polls
    /// beyond the cap.
    pub fn wait(&self, token_hash: &str) -> LongPoll<'_> {
        crate::metrics::metrics()
            .long_polls
            .fetch_add(1, Ordering::Relaxed);
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (give_way, pushed_out) = oneshot::channel();
        let mut waiting = self.waiting.lock().expect("polls lock");
        let queue = waiting.entry(token_hash.to_owned()).or_default();
        while queue.len() >= self.max {
            if let Some(oldest) = queue.pop_front() {
                let _ = oldest.give_way.send(());
            }
        }
        queue.push_back(Waiter { id, give_way });
        LongPoll {
            polls: self,
            token_hash: token_hash.to_owned(),
            id,
            pushed_out,
        }
    }

    /// How many long-polls `token_hash` has waiting.
    pub fn waiting(&self, token_hash: &str) -> usize {
        let waiting = self.waiting.lock().expect("polls lock");
        waiting.get(token_hash).map_or(0, VecDeque::len)
    }
}

impl Drop for LongPoll<'_> {
    fn drop(&mut self) {
        crate::metrics::metrics()
            .long_polls
            .fetch_sub(1, Ordering::Relaxed);
        let mut waiting = self.polls.waiting.lock().expect("polls lock");
        if let Some(queue) = waiting.get_mut(&self.token_hash) {
            queue.retain(|w| w.id != self.id);
            if queue.is_empty() {
                waiting.remove(&self.token_hash);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_poll_of_a_token_gives_way_and_the_table_empties() {
        let polls = Polls::new(2);
        let mut first = polls.wait("t");
        let mut second = polls.wait("t");
        let mut other = polls.wait("u");
        assert!(first.pushed_out.try_recv().is_err());
        let mut third = polls.wait("t");
        assert!(first.pushed_out.try_recv().is_ok(), "the oldest gives way");
        assert!(second.pushed_out.try_recv().is_err());
        assert!(third.pushed_out.try_recv().is_err());
        assert!(other.pushed_out.try_recv().is_err(), "per token");
        assert_eq!(polls.waiting("t"), 2);
        drop((first, second, third, other));
        assert!(polls.waiting.lock().unwrap().is_empty());
    }
}
