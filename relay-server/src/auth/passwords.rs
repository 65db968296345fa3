//! Argon2id password hashing on a fixed pool of threads behind a bounded queue.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use ipc_schema::Secret;

/// Argon2id hashing with the relay's cost parameters, and a dummy hash so
/// that unknown users cost the same time as wrong passwords.
///
/// Hashing runs on a fixed pool of threads, one per core: a flood of logins
/// queues instead of taking every core, and the 19 MiB each hash allocates is
/// reused by those few threads instead of being kept by the allocator in an
/// arena per blocking thread (which made RSS grow by gigabytes). The queue in
/// front of them is bounded: when it is full a request is refused at once
/// ([`PasswordError::Busy`]) instead of queueing memory and latency without
/// limit.
pub struct Passwords {
    /// The Argon2 instance and counters the threads share.
    hasher: Arc<Hasher>,
    /// Jobs waiting for a hashing thread, at most the queue bound.
    jobs: SyncSender<Job>,
}

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The hashing queue is full; the password was not looked at.
    #[error("the password hashing queue is full")]
    Busy,
    /// Argon2 failed, or its thread is gone.
    #[error("password hashing failed: {0}")]
    Failed(String),
}

struct Hasher {
    argon2: Argon2<'static>,
    dummy: String,
    /// Password checks run so far (tests count them).
    verifications: AtomicU64,
}

type Job = Box<dyn FnOnce(&Hasher) + Send>;

impl Hasher {
    fn hash(&self, password: &str) -> Result<String, PasswordError> {
        self.argon2
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| PasswordError::Failed(e.to_string()))
    }

    fn verify(&self, password: &str, stored: Option<&str>) -> bool {
        self.verifications.fetch_add(1, Ordering::Relaxed);
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
    /// Argon2id v1.3 with `memory_kib` KiB and `iterations` passes, one lane;
    /// at most `queue` jobs wait for a thread.
    pub fn new(memory_kib: u32, iterations: u32, queue: usize) -> Passwords {
        let params = Params::new(memory_kib, iterations, 1, None).expect("valid Argon2 parameters");
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy = argon2
            .hash_password(b"timing-equalizer for unknown users")
            .expect("hashing works")
            .to_string();
        let hasher = Arc::new(Hasher {
            argon2,
            dummy,
            verifications: AtomicU64::new(0),
        });
        let (jobs, rx) = std::sync::mpsc::sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        for i in 0..threads {
            let (rx, hasher) = (rx.clone(), hasher.clone());
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || work(&rx, &hasher))
                .expect("start hashing thread");
        }
        Passwords { hasher, jobs }
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Hasher) -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |h| {
            let _ = reply.send(f(h));
        });
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => PasswordError::Busy,
            TrySendError::Disconnected(_) => PasswordError::Failed("no hashing thread".into()),
        })?;
        answer
            .await
            .map_err(|_| PasswordError::Failed("a hashing thread died".into()))
    }

    /// A PHC string for `password`, with a fresh random salt.
    pub async fn hash(&self, password: Secret) -> Result<String, PasswordError> {
        self.run(move |h| h.hash(password.expose())).await?
    }

    /// Checks `password` against `stored`, or against the dummy hash when the
    /// user does not exist, so both cases take one Argon2 run.
    pub async fn verify(
        &self,
        password: Secret,
        stored: Option<String>,
    ) -> Result<bool, PasswordError> {
        self.run(move |h| h.verify(password.expose(), stored.as_deref()))
            .await
    }

    /// How many password checks have run (each is one Argon2 run).
    pub fn verifications(&self) -> u64 {
        self.hasher.verifications.load(Ordering::Relaxed)
    }

    /// The cost parameters in use, as in a PHC string (`m=…,t=…,p=…`).
    pub fn params(&self) -> String {
        let p = self.hasher.argon2.params();
        format!("m={},t={},p={}", p.m_cost(), p.t_cost(), p.p_cost())
    }
}

/// A hashing thread: runs jobs until `Passwords` is dropped.
fn work(jobs: &Mutex<Receiver<Job>>, hasher: &Hasher) {
    loop {
        let job = jobs.lock().expect("hash queue").recv();
        match job {
            Ok(job) => job(hasher),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_verify_and_unknown_users_never_match() {
        let p = Passwords::new(1024, 1, 8);
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
        assert_eq!(p.verifications(), 3, "hashing is not a verification");
    }

    #[test]
    fn default_cost_meets_the_design_minimum() {
        let c = crate::Config::new("/nonexistent");
        let p = Passwords::new(c.argon2_memory_kib, c.argon2_iterations, c.hash_queue);
        assert_eq!(p.params(), "m=19456,t=2,p=1");
    }

    /// A flood of checks past the queue's bound is refused at once, without
    /// hashing, while what was queued is still checked.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn past_its_bound_the_queue_refuses_instead_of_growing() {
        let queue = 4;
        let p = Arc::new(Passwords::new(8 * 1024, 4, queue));
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let checks: Vec<_> = (0..64)
            .map(|_| {
                let p = p.clone();
                tokio::spawn(async move { p.verify(Secret::new("guess"), None).await })
            })
            .collect();
        let mut busy = 0;
        for check in checks {
            match check.await.unwrap() {
                Ok(ok) => assert!(!ok),
                Err(PasswordError::Busy) => busy += 1,
                Err(e) => panic!("{e}"),
            }
        }
        let ran = p.verifications();
        assert_eq!(ran + busy, 64);
        assert!(
            ran as usize <= queue + threads,
            "{ran} checks ran with a queue of {queue} and {threads} threads"
        );
        assert!(busy > 0);
    }
}
