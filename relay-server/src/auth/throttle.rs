//! Failed-login throttle.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::MAX_KEYS;

/// Counts failed logins per user and per IP over a sliding window.
pub struct Throttle {
    limit: usize,
    window: Duration,
    failures: Mutex<HashMap<Key, Vec<Instant>>>,
}

#[derive(Hash, PartialEq, Eq, Clone)]
enum Key {
    User(String),
    Ip(IpAddr),
}

/// Most keys remembered; beyond it the oldest entries are pruned, so a flood of
impl Throttle {
    /// `limit` failures within `window` lock a user or an IP out.
    pub fn new(limit: usize, window: Duration) -> Throttle {
        Throttle {
            limit,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(user: &str, ip: IpAddr) -> [Key; 2] {
        [Key::User(user.to_owned()), Key::Ip(ip)]
    }

    /// `Err(seconds)` while `user` or `ip` is locked out.
    pub fn check(&self, user: &str, ip: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let mut map = self.failures.lock().expect("throttle lock");
        let mut wait = None::<Duration>;
        for key in Self::keys(user, ip) {
            if let Some(times) = map.get_mut(&key) {
                times.retain(|t| now.duration_since(*t) < self.window);
                if times.len() >= self.limit {
                    let oldest_relevant = times[times.len() - self.limit];
                    let left = self.window - now.duration_since(oldest_relevant);
                    wait = Some(wait.map_or(left, |w| w.max(left)));
                }
            }
        }
        match wait {
            Some(w) => Err(w.as_secs() + 1),
            None => Ok(()),
        }
    }

    /// Records a failed attempt.
    pub fn fail(&self, user: &str, ip: IpAddr) {
        let now = Instant::now();
        let mut map = self.failures.lock().expect("throttle lock");
        if map.len() >= MAX_KEYS {
            map.retain(|_, times| {
                times
                    .last()
                    .is_some_and(|t| now.duration_since(*t) < self.window)
            });
        }
        for key in Self::keys(user, ip) {
            let times = map.entry(key).or_default();
            times.push(now);
            if times.len() > self.limit * 2 {
                times.drain(..times.len() - self.limit);
            }
        }
    }

    /// Forgets a user's failures after a successful login.
    pub fn succeed(&self, user: &str) {
        self.failures
            .lock()
            .expect("throttle lock")
            .remove(&Key::User(user.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_after_limit_failures_per_user_and_per_ip() {
        let t = Throttle::new(3, Duration::from_secs(60));
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..3 {
            assert!(t.check("alice", ip).is_ok());
            t.fail("alice", ip);
        }
        let wait = t.check("alice", other).unwrap_err();
        assert!((1..=61).contains(&wait));
        // The IP is locked out for other names too.
        assert!(t.check("bob", ip).is_err());
        assert!(t.check("bob", other).is_ok());
    }
}
