//! Argon2id password hashing on a fixed pool of threads.

use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use ipc_schema::Secret;

use crate::error::AppError;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
