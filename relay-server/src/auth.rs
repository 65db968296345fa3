//! Passwords (Argon2id), session tokens, the authenticated-user extractor and
//! login throttling.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ipc_schema::Secret;
use rand::Rng as _;
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::server::AppState;
use crate::store::sqlite::now_ms;

/// Argon2id hashing with the relay's cost parameters, and a dummy hash so
/// that unknown users cost the same time as wrong passwords.
///
/// Hashing runs on a fixed pool of threads, one per core: a flood of logins
/// queues instead of taking every core, and the 19 MiB each hash allocates is
/// reused by those few threads instead of being kept by the allocator in an
/// arena per blocking thread (which made RSS grow by gigabytes).
pub struct Passwords {
    hasher: Arc<Hasher>,
    jobs: Mutex<std::sync::mpsc::Sender<Job>>,
}

struct Hasher {
    argon2: Argon2<'static>,
    dummy: String,
}

type Job = Box<dyn FnOnce(&Hasher) + Send>;

impl Hasher {
    fn hash(&self, password: &str) -> Result<String, AppError> {
        self.argon2
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(AppError::internal)
    }

    fn verify(&self, password: &str, stored: Option<&str>) -> bool {
        let phc = stored.unwrap_or(&self.dummy);
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        let ok = self
            .argon2
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        ok && stored.is_some()
    }
}

impl Passwords {
    /// Argon2id v1.3 with `memory_kib` KiB and `iterations` passes, one lane.
    pub fn new(memory_kib: u32, iterations: u32) -> Passwords {
        let params = Params::new(memory_kib, iterations, 1, None).expect("valid Argon2 parameters");
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy = argon2
            .hash_password(b"timing-equalizer for unknown users")
            .expect("hashing works")
            .to_string();
        let hasher = Arc::new(Hasher { argon2, dummy });
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        for i in 0..threads {
            let (rx, hasher) = (rx.clone(), hasher.clone());
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    loop {
                        let job = rx.lock().expect("hash queue").recv();
                        match job {
                            Ok(job) => job(&hasher),
                            Err(_) => return, // Passwords was dropped
                        }
                    }
                })
                .expect("start hashing thread");
        }
        Passwords {
            hasher,
            jobs: Mutex::new(tx),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Hasher) -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |h| {
            let _ = reply.send(f(h));
        });
        self.jobs
            .lock()
            .expect("hash queue")
            .send(job)
            .map_err(AppError::internal)?;
        answer.await.map_err(AppError::internal)
    }

    /// A PHC string for `password`, with a fresh random salt.
    pub async fn hash(&self, password: Secret) -> Result<String, AppError> {
        self.run(move |h| h.hash(password.expose())).await?
    }

    /// Checks `password` against `stored`, or against the dummy hash when the
    /// user does not exist, so both cases take one Argon2 run.
    pub async fn verify(&self, password: Secret, stored: Option<String>) -> Result<bool, AppError> {
        self.run(move |h| h.verify(password.expose(), stored.as_deref()))
            .await
    }

    /// The cost parameters in use, as in a PHC string (`m=…,t=…,p=…`).
    pub fn params(&self) -> String {
        let p = self.hasher.argon2.params();
        format!("m={},t={},p={}", p.m_cost(), p.t_cost(), p.p_cost())
    }
}

/// A fresh session token: 256 random bits, base64url without padding.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Tokens are stored only as their SHA-256, in hex.
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The user a valid bearer token belongs to. Extracting it answers 401 for a
/// missing, malformed, unknown, revoked or expired token.
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// The username.
    pub username: String,
    /// Hash of the token used, so that logout can revoke exactly it.
    pub token_hash: String,
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| AppError::unauthorized("missing bearer token"))?;
        let token = header
            .strip_prefix("Bearer ")
            .filter(|t| !t.is_empty() && t.len() <= 128)
            .ok_or_else(|| AppError::unauthorized("malformed Authorization header"))?;
        let token_hash = hash_token(token);
        let session = state
            .store
            .session(&token_hash)
            .await?
            .ok_or_else(|| AppError::unauthorized("unknown or revoked token"))?;
        if session.expires_at <= now_ms() {
            return Err(AppError::unauthorized("token expired"));
        }
        state
            .rate_limiter
            .take(&token_hash)
            .map_err(AppError::rate_limited)?;
        Ok(AuthUser {
            username: session.username,
            token_hash,
        })
    }
}

/// Token bucket per session token (DESIGN §4: per-token rate limits).
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `rate` requests per second sustained, `burst` at once.
    pub fn new(rate: f64, burst: f64) -> RateLimiter {
        RateLimiter {
            rate,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `key`'s bucket; `Err(seconds)` when empty.
    pub fn take(&self, key: &str) -> Result<(), u64> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            // Full buckets carry no state worth keeping.
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = buckets.entry(key.to_owned()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.rate).ceil().max(1.0) as u64)
        }
    }
}

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
/// made-up usernames cannot grow memory without bound.
const MAX_KEYS: usize = 100_000;

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
    fn token_buckets_refill_at_their_rate() {
        let r = RateLimiter::new(10.0, 3.0);
        for _ in 0..3 {
            assert!(r.take("a").is_ok());
        }
        assert_eq!(r.take("a"), Err(1));
        assert!(r.take("b").is_ok(), "buckets are per token");
        std::thread::sleep(Duration::from_millis(150));
        assert!(r.take("a").is_ok(), "refilled after 100 ms");
    }

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

    #[tokio::test]
    async fn passwords_verify_and_unknown_users_never_match() {
        let p = Passwords::new(1024, 1);
        let pw = |s: &str| Secret::new(s);
        let h = p.hash(pw("correct horse")).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert!(
            p.verify(pw("correct horse"), Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(!p.verify(pw("wrong"), Some(h)).await.unwrap());
        assert!(
            !p.verify(pw("timing-equalizer for unknown users"), None)
                .await
                .unwrap()
        );
    }

    #[test]
    fn default_cost_meets_the_design_minimum() {
        let c = crate::Config::new("/nonexistent");
        let p = Passwords::new(c.argon2_memory_kib, c.argon2_iterations);
        assert_eq!(p.params(), "m=19456,t=2,p=1");
    }

    #[test]
    fn tokens_are_256_bits_and_stored_hashed() {
        let t = new_token();
        assert_eq!(URL_SAFE_NO_PAD.decode(&t).unwrap().len(), 32);
        assert_ne!(new_token(), t);
        assert_eq!(hash_token(&t).len(), 64);
    }
}
