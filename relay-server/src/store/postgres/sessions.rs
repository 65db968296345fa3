//! Sessions cached by token hash, as SQLite's store caches them, kept true
//! across instances (docs/RELAY.md §8): every statement that deletes or
//! changes sessions, on any instance, cascades included, makes the
//! database `NOTIFY relay_sessions` with their hashes (a trigger, schema
//! migration 3), and the LISTEN connection drops them from every cache.
//!
//! The cache is used only while this instance listens: it is emptied when
//! the LISTEN connection is lost and again once it is back, since what was
//! revoked in between was never heard. An entry also lives at most
//! [`TTL`], so that a connection that died without a word (no reset seen)
//! cannot keep a revoked session alive longer than that.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::Session;

/// The channel the sessions trigger notifies on.
pub(super) const CHANNEL: &str = "relay_sessions";
/// The payload that stands for every session (a statement removed more
/// than fit in one payload).
pub(super) const ALL: &str = "*";
/// The longest an entry is trusted without asking the database.
pub const TTL: Duration = Duration::from_secs(5);
/// Entries kept at most; past it the cache starts over.
const CAP: usize = 100_000;

#[derive(Default)]
pub(super) struct SessionCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    map: HashMap<String, (Session, Instant)>,
    /// Moves on every forgetting: a read that began before one must not
    /// put back what it found.
    generation: u64,
    /// Whether the LISTEN connection is up (the cache is used only then).
    listening: bool,
}

impl SessionCache {
    /// The cached session of `token_hash`, or the generation to hand to
    /// [`keep`](SessionCache::keep) with what the database says.
    pub(super) fn get(&self, token_hash: &str, now: Instant) -> Result<Session, u64> {
        let inner = self.inner.lock().expect("session cache");
        match inner.map.get(token_hash) {
            Some((session, at)) if inner.listening && now.duration_since(*at) < TTL => {
                Ok(session.clone())
            }
            _ => Err(inner.generation),
        }
    }

    /// Keeps `session`, read from the database since `generation`, unless
    /// something was forgotten meanwhile or nothing is listening.
    pub(super) fn keep(&self, token_hash: &str, session: &Session, generation: u64, now: Instant) {
        let mut inner = self.inner.lock().expect("session cache");
        if !inner.listening || inner.generation != generation {
            return;
        }
        if inner.map.len() >= CAP {
            inner.map.clear();
        }
        inner
            .map
            .insert(token_hash.to_owned(), (session.clone(), now));
    }

    /// Forgets what a notification names: hashes separated by commas, or
    /// [`ALL`].
    pub(super) fn heard(&self, payload: &str) {
        let mut inner = self.inner.lock().expect("session cache");
        inner.generation += 1;
        if payload == ALL {
            inner.map.clear();
        } else {
            for hash in payload.split(',') {
                inner.map.remove(hash);
            }
        }
    }

    /// Forgets everything (this instance removed sessions: its own
    /// requests must see that at once, before the notification comes back).
    pub(super) fn forget_all(&self) {
        self.heard(ALL);
    }

    /// The LISTEN connection is up (`true`) or lost (`false`): either way
    /// what the cache holds may have been revoked unheard.
    pub(super) fn listening(&self, up: bool) {
        let mut inner = self.inner.lock().expect("session cache");
        inner.generation += 1;
        inner.map.clear();
        inner.listening = up;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(user: &str) -> Session {
        Session {
            username: user.into(),
            device_id: "0123456789abcdef".into(),
            expires_at: u64::MAX,
        }
    }

    #[test]
    fn entries_are_used_only_while_listening_and_within_the_ttl() {
        let cache = SessionCache::default();
        let t0 = Instant::now();
        let generation = cache.get("h1", t0).unwrap_err();
        cache.keep("h1", &session("alice"), generation, t0);
        assert!(cache.get("h1", t0).is_err(), "not listening: nothing kept");

        cache.listening(true);
        let generation = cache.get("h1", t0).unwrap_err();
        cache.keep("h1", &session("alice"), generation, t0);
        assert_eq!(cache.get("h1", t0).unwrap().username, "alice");
        assert!(cache.get("h1", t0 + TTL).is_err(), "too old");

        cache.listening(false);
        assert!(cache.get("h1", t0).is_err(), "lost: emptied");
    }

    #[test]
    fn what_is_heard_is_forgotten_and_a_read_from_before_is_not_kept() {
        let cache = SessionCache::default();
        cache.listening(true);
        let t0 = Instant::now();
        for h in ["h1", "h2", "h3"] {
            let generation = cache.get(h, t0).unwrap_err();
            cache.keep(h, &session(h), generation, t0);
        }
        cache.heard("h1,h3");
        assert!(cache.get("h1", t0).is_err());
        assert!(cache.get("h2", t0).is_ok());
        assert!(cache.get("h3", t0).is_err());

        // A read that began before a revocation was heard does not put the
        // session back.
        let before = cache.get("h1", t0).unwrap_err();
        cache.heard("h1");
        cache.keep("h1", &session("h1"), before, t0);
        assert!(cache.get("h1", t0).is_err());

        cache.heard(ALL);
        assert!(cache.get("h2", t0).is_err());
    }
}
