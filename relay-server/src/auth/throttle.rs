//! The login throttle: how many password checks (logins and account
//! deletions) may run, for whom, and after how long a wait
//! (docs/RELAY.md, "Logging in").
//!
//! - **Per (user, address):** `limit` failures within `window` refuse that
//!   pair with 429 until the oldest of them is out of the window.
//! - **Per address, across names:** the same budget again, so one address
//!   cannot try a password against many names.
//! - **Per user, from anywhere:** each recent failure makes the next check of
//!   that user wait longer, doubling from `delay` up to `delay_max`. The wait
//!   is served, never refused: strangers can slow the owner's login down by
//!   at most `delay_max`, not lock the owner out. Right passwords wait too,
//!   so the time of an answer says nothing about the password.
//!
//! An attempt counts as a failure from the moment it is admitted, before its
//! password is checked, until it succeeds: concurrent guesses see each other
//! and gain nothing. An IPv6 address counts as its /64, the block one host
//! usually has to itself. Every table is bounded (`MAX_KEYS`).

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::MAX_KEYS;
use crate::store::ThrottleRule;
use crate::store::sqlite::now_ms;

/// Failure times kept per user: enough for the delay to reach any sane cap
/// (2^15 times the first delay).
const USER_FAILURES_KEPT: usize = 16;

/// Counts password checks and decides which may run, and when.
pub struct Throttle {
    /// Failures per pair and per address within `window` before 429.
    limit: usize,
    /// How long a failure counts.
    window: Duration,
    /// The wait after one recent failure of a user; it doubles with each more.
    delay: Duration,
    /// The longest wait.
    delay_max: Duration,
    /// The counters, behind one lock so that admitting is atomic.
    tables: Mutex<Tables>,
}

struct Tables {
    pairs: Counters<(String, Addr)>,
    addrs: Counters<Addr>,
    users: Counters<String>,
}

/// An address as the throttle counts it: IPv4 as is, IPv6 by its /64.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct Addr(IpAddr);

impl Addr {
    fn of(ip: IpAddr) -> Addr {
        match ip.to_canonical() {
            IpAddr::V6(v6) => {
                let block = u128::from(v6) & !(u128::from(u64::MAX));
                Addr(IpAddr::V6(block.into()))
            }
            v4 => Addr(v4),
        }
    }
}

/// A password check the throttle admitted. Say how it ended with
/// [`succeeded`](Attempt::succeeded), [`failed`](Attempt::failed) or
/// [`unverified`](Attempt::unverified); dropped without that (the request
/// went away mid-check), it counts as failed.
pub struct Attempt<'a> {
    throttle: &'a Throttle,
    user: String,
    addr: Addr,
    delay: Duration,
    /// When it was admitted; a failure counts from then.
    at: Instant,
    settled: bool,
}

impl Throttle {
    /// `limit` failures within `window` per (user, address) and per address;
    /// per-user waits from `delay` doubling up to `delay_max`.
    pub fn new(limit: usize, window: Duration, delay: Duration, delay_max: Duration) -> Throttle {
        Throttle::with_capacity(limit, window, delay, delay_max, MAX_KEYS)
    }

    fn with_capacity(
        limit: usize,
        window: Duration,
        delay: Duration,
        delay_max: Duration,
        keys: usize,
    ) -> Throttle {
        Throttle {
            limit,
            window,
            delay,
            delay_max,
            tables: Mutex::new(Tables {
                pairs: Counters::new(keys, limit),
                addrs: Counters::new(keys, limit),
                users: Counters::new(keys, USER_FAILURES_KEPT),
            }),
        }
    }

    /// Admits a password check of `user` from `ip`, counting it as a failure
    /// until it settles; `Err(seconds)` to wait when the pair or the address
    /// is over its budget.
    pub fn begin(&self, user: &str, ip: IpAddr) -> Result<Attempt<'_>, u64> {
        self.begin_at(user, ip, Instant::now())
    }

    fn begin_at(&self, user: &str, ip: IpAddr, now: Instant) -> Result<Attempt<'_>, u64> {
        let addr = Addr::of(ip);
        let pair = (user.to_owned(), addr);
        let mut t = self.tables.lock().expect("throttle lock");
        let mut wait = None::<Duration>;
        if t.pairs.load(&pair, now, self.window) >= self.limit {
            wait = Some(
                t.pairs
                    .retry_after(&pair, now, self.window, self.limit, self.busy()),
            );
        }
        if t.addrs.load(&addr, now, self.window) >= self.limit {
            let w = t
                .addrs
                .retry_after(&addr, now, self.window, self.limit, self.busy());
            wait = Some(wait.map_or(w, |v| v.max(w)));
        }
        if let Some(w) = wait {
            return Err(whole_seconds(w));
        }
        let recent = t.users.load(&pair.0, now, self.window);
        t.pairs.reserve(pair, now);
        t.addrs.reserve(addr, now);
        t.users.reserve(user.to_owned(), now);
        Ok(Attempt {
            throttle: self,
            user: user.to_owned(),
            addr,
            delay: self.delay_after(recent),
            at: now,
            settled: false,
        })
    }

    /// The budget as a store shared by several instances applies it, now.
    pub fn shared_rule(&self) -> ThrottleRule {
        ThrottleRule {
            limit: self.limit,
            window_ms: self.window.as_millis() as u64,
            busy_ms: self.busy().as_millis() as u64,
            now_ms: now_ms(),
        }
    }

    /// How the throttle names `ip`'s address in a shared store: IPv4 as
    /// is, IPv6 as its /64 (`2001:db8:1:2::`).
    pub fn address_key(ip: IpAddr) -> String {
        Addr::of(ip).0.to_string()
    }

    /// The wait before a check of a user with `recent` failures (attempts in
    /// flight included).
    pub(super) fn delay_after(&self, recent: usize) -> Duration {
        if recent == 0 {
            return Duration::ZERO;
        }
        let doublings = (recent - 1).min(20) as u32;
        self.delay
            .saturating_mul(1 << doublings)
            .min(self.delay_max)
    }

    /// When a budget is full of attempts still in flight: they settle within
    /// the longest wait plus a check, and the next answer is exact.
    fn busy(&self) -> Duration {
        self.delay_max + Duration::from_secs(1)
    }

    fn settle(&self, a: &Attempt<'_>, outcome: Outcome) {
        let failed = matches!(outcome, Outcome::Failed).then_some(a.at);
        let pair = (a.user.clone(), a.addr);
        let mut t = self.tables.lock().expect("throttle lock");
        t.pairs.settle(&pair, failed);
        if matches!(outcome, Outcome::Succeeded) {
            // The owner got it right from here: earlier typos from this
            // address are forgiven. The user's and the address's counts stay,
            // so others' timing does not reveal the owner's logins.
            t.pairs.forget(&pair);
        }
        t.addrs.settle(&a.addr, failed);
        t.users.settle(&a.user, failed);
    }
}

enum Outcome {
    Succeeded,
    Failed,
    Unverified,
}

impl Attempt<'_> {
    /// How long to wait before checking the password.
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// The password was right.
    pub fn succeeded(mut self) {
        self.finish(Outcome::Succeeded);
    }

    /// The password was wrong, or the user unknown.
    pub fn failed(mut self) {
        self.finish(Outcome::Failed);
    }

    /// No password was checked (the hashing queue was full, the store
    /// failed): the attempt is forgotten.
    pub fn unverified(mut self) {
        self.finish(Outcome::Unverified);
    }

    fn finish(&mut self, outcome: Outcome) {
        self.settled = true;
        self.throttle.settle(self, outcome);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.finish(Outcome::Failed);
        }
    }
}

/// Whole seconds, rounded up, at least one (a `Retry-After`).
pub(super) fn whole_seconds(d: Duration) -> u64 {
    (d.as_millis().div_ceil(1000) as u64).max(1)
}

/// Recent failures and attempts in flight per key, for at most `cap` keys.
struct Counters<K> {
    map: HashMap<K, Count>,
    cap: usize,
    /// Failure times kept per key (the newest).
    keep: usize,
}

struct Count {
    /// Failure times within the window, oldest first.
    failures: VecDeque<Instant>,
    /// Admitted attempts not settled yet.
    in_flight: u32,
    /// Last admission, for evicting the stalest keys first.
    touched: Instant,
}

impl<K: Hash + Eq + Clone> Counters<K> {
    fn new(cap: usize, keep: usize) -> Counters<K> {
        Counters {
            map: HashMap::new(),
            cap,
            keep,
        }
    }

    /// Failures within the window plus attempts in flight.
    fn load(&mut self, key: &K, now: Instant, window: Duration) -> usize {
        let Some(count) = self.map.get_mut(key) else {
            return 0;
        };
        while count
            .failures
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            count.failures.pop_front();
        }
        count.failures.len() + count.in_flight as usize
    }

    /// How long until `key` is under `limit` again (its load was just taken).
    fn retry_after(
        &self,
        key: &K,
        now: Instant,
        window: Duration,
        limit: usize,
        in_flight_wait: Duration,
    ) -> Duration {
        let Some(count) = self.map.get(key) else {
            return Duration::ZERO;
        };
        let n = count.failures.len();
        if n >= limit {
            let oldest_counted = count.failures[n - limit];
            window.saturating_sub(now.duration_since(oldest_counted))
        } else {
            in_flight_wait
        }
    }

    fn reserve(&mut self, key: K, now: Instant) {
        if !self.map.contains_key(&key) && self.map.len() >= self.cap {
            self.make_room();
        }
        let count = self.map.entry(key).or_insert_with(|| Count {
            failures: VecDeque::new(),
            in_flight: 0,
            touched: now,
        });
        count.in_flight += 1;
        count.touched = now;
    }

    fn settle(&mut self, key: &K, failed_at: Option<Instant>) {
        let Some(count) = self.map.get_mut(key) else {
            return;
        };
        count.in_flight = count.in_flight.saturating_sub(1);
        if let Some(t) = failed_at {
            count.failures.push_back(t);
            if count.failures.len() > self.keep {
                count.failures.pop_front();
            }
        }
        if count.in_flight == 0 && count.failures.is_empty() {
            self.map.remove(key);
        }
    }

    fn forget(&mut self, key: &K) {
        if let Some(count) = self.map.get_mut(key) {
            count.failures.clear();
            if count.in_flight == 0 {
                self.map.remove(key);
            }
        }
    }

    /// Evicts the stalest eighth of the keys with nothing in flight. Their
    /// failures are forgotten early; the alternative, refusing new keys, would
    /// lock everyone new out while the table is full.
    fn make_room(&mut self) {
        let mut idle: Vec<(Instant, K)> = self
            .map
            .iter()
            .filter(|(_, c)| c.in_flight == 0)
            .map(|(k, c)| (c.touched, k.clone()))
            .collect();
        let evict = (self.cap / 8).max(1).min(idle.len());
        if evict == 0 {
            return;
        }
        idle.select_nth_unstable_by_key(evict - 1, |(t, _)| *t);
        for (_, key) in idle.into_iter().take(evict) {
            self.map.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn throttle(limit: usize, window: Duration) -> Throttle {
        Throttle::new(limit, window, 250 * MS, 4000 * MS)
    }

    /// `n` failed attempts of `user` from `from`, all at `now`.
    fn fail(t: &Throttle, user: &str, from: &str, n: usize, now: Instant) {
        for _ in 0..n {
            let a = t.begin_at(user, ip(from), now).expect("admitted");
            a.failed();
        }
    }

    #[test]
    fn lockout_after_limit_failures_per_user_and_per_ip() {
        let t = throttle(3, Duration::from_secs(60));
        let now = Instant::now();
        fail(&t, "alice", "127.0.0.1", 3, now);
        let wait = t.begin_at("alice", ip("127.0.0.1"), now).err().unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
        // The address is out of budget for other names too.
        assert!(t.begin_at("bob", ip("127.0.0.1"), now).is_err());
        // The user is not: another address still gets to try.
        t.begin_at("alice", ip("10.0.0.1"), now)
            .unwrap()
            .unverified();
        t.begin_at("bob", ip("10.0.0.2"), now).unwrap().unverified();
        // Once the oldest failure is out of the window, one more try.
        let later = now + Duration::from_secs(60);
        assert!(t.begin_at("alice", ip("127.0.0.1"), later).is_ok());
    }

    #[test]
    fn attempts_count_before_their_password_is_checked() {
        let t = throttle(10, Duration::from_secs(60));
        let now = Instant::now();
        let admitted: Vec<_> = (0..10)
            .map(|_| t.begin_at("alice", ip("127.0.0.1"), now).expect("admitted"))
            .collect();
        let wait = t.begin_at("alice", ip("127.0.0.1"), now).err().unwrap();
        assert_eq!(
            wait, 5,
            "in-flight attempts settle within the longest delay"
        );
        drop(admitted);
        // Dropped mid-check, they count as failures.
        assert!(t.begin_at("alice", ip("127.0.0.1"), now).is_err());
    }

    #[test]
    fn unverified_attempts_are_forgotten_and_a_success_forgives_its_pair() {
        let t = throttle(3, Duration::from_secs(60));
        let now = Instant::now();
        let pair = || ("alice".to_owned(), Addr::of(ip("127.0.0.1")));
        for _ in 0..5 {
            t.begin_at("alice", ip("127.0.0.1"), now)
                .unwrap()
                .unverified();
        }
        assert!(t.tables.lock().unwrap().pairs.map.is_empty());
        fail(&t, "alice", "127.0.0.1", 2, now);
        t.begin_at("alice", ip("127.0.0.1"), now)
            .unwrap()
            .succeeded();
        let tables = t.tables.lock().unwrap();
        assert!(!tables.pairs.map.contains_key(&pair()));
        // The address's failures under any name are not forgiven.
        assert_eq!(
            tables.addrs.map[&Addr::of(ip("127.0.0.1"))].failures.len(),
            2
        );
    }

    #[test]
    fn each_recent_failure_of_a_user_doubles_the_wait_up_to_the_cap() {
        let t = throttle(100, Duration::from_secs(60));
        let now = Instant::now();
        let mut waits = Vec::new();
        for i in 0..8 {
            // From a different address each time: the wait is per user.
            let a = t
                .begin_at("alice", ip(&format!("10.0.0.{i}")), now)
                .unwrap();
            waits.push(a.delay().as_millis());
            a.failed();
        }
        assert_eq!(waits, [0, 250, 500, 1000, 2000, 4000, 4000, 4000]);
        // Other users do not wait for alice's failures.
        assert_eq!(
            t.begin_at("bob", ip("10.0.1.1"), now).unwrap().delay(),
            Duration::ZERO
        );
        // A right password waits like a wrong one, and does not reset the
        // wait (that would tell a stranger the owner just logged in).
        let owner = t.begin_at("alice", ip("192.0.2.1"), now).unwrap();
        assert_eq!(owner.delay(), 4000 * MS);
        owner.succeeded();
        assert_eq!(
            t.begin_at("alice", ip("192.0.2.1"), now).unwrap().delay(),
            4000 * MS
        );
        // The failures age out with the window.
        let later = now + Duration::from_secs(60);
        assert_eq!(
            t.begin_at("alice", ip("192.0.2.1"), later).unwrap().delay(),
            Duration::ZERO
        );
    }

    #[test]
    fn concurrent_attempts_wait_as_if_they_had_failed() {
        let t = throttle(100, Duration::from_secs(60));
        let now = Instant::now();
        let waits: Vec<u128> = (0..4)
            .map(|i| {
                t.begin_at("alice", ip(&format!("10.0.0.{i}")), now)
                    .unwrap()
            })
            .map(|a| {
                let ms = a.delay().as_millis();
                std::mem::forget(a);
                ms
            })
            .collect();
        assert_eq!(waits, [0, 250, 500, 1000]);
    }

    #[test]
    fn an_ipv6_64_is_one_address_and_mapped_ipv4_is_ipv4() {
        let t = throttle(3, Duration::from_secs(60));
        let now = Instant::now();
        for host in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"] {
            fail(&t, &format!("user{}", host.len()), host, 1, now);
        }
        assert!(t.begin_at("carol", ip("2001:db8:1:2::99"), now).is_err());
        assert!(t.begin_at("carol", ip("2001:db8:1:3::1"), now).is_ok());

        fail(&t, "dave", "::ffff:192.0.2.7", 3, now);
        assert!(t.begin_at("erin", ip("192.0.2.7"), now).is_err());
    }

    /// A shared store counts addresses under the same names as memory does.
    #[test]
    fn the_shared_address_key_is_the_64_or_the_ipv4_address() {
        for (host, key) in [
            ("2001:db8:1:2::1", "2001:db8:1:2::"),
            ("2001:db8:1:2:ffff:1:2:3", "2001:db8:1:2::"),
            ("::ffff:192.0.2.7", "192.0.2.7"),
            ("192.0.2.7", "192.0.2.7"),
        ] {
            assert_eq!(Throttle::address_key(ip(host)), key, "{host}");
        }
    }

    #[test]
    fn the_tables_stay_bounded() {
        let cap = 64;
        let t = Throttle::with_capacity(3, Duration::from_secs(60), MS, MS, cap);
        let now = Instant::now();
        for i in 0..10_000u32 {
            let from = IpAddr::from(i.to_be_bytes());
            fail(&t, &format!("user{i}"), &from.to_string(), 1, now + i * MS);
        }
        let tables = t.tables.lock().unwrap();
        assert!(tables.pairs.map.len() <= cap);
        assert!(tables.addrs.map.len() <= cap);
        assert!(tables.users.map.len() <= cap);
        // The newest are the ones kept.
        assert!(tables.users.map.contains_key("user9999"));
    }
}
