//! Admitting a password check: by this instance's throttle, and, when the
//! store is shared by several instances, by the counts they all keep in it
//! (docs/RELAY.md §8). The local throttle goes first and costs nothing; the
//! shared one decides for every instance at once. Its counts include the
//! local ones, so it never admits what the local one would refuse.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::throttle::whole_seconds;
use super::{Attempt, Throttle};
use crate::error::AppError;
use crate::store::{AttemptOutcome, SharedAdmission, Store};

/// A password check both throttles admitted. Say how it ended; dropped
/// without that (the request went away mid-check), it counts as failed.
pub struct Admitted<'a> {
    local: Attempt<'a>,
    shared: Option<SharedAttempt>,
    delay: Duration,
}

/// The shared throttle's row for one attempt.
struct SharedAttempt {
    store: Arc<dyn Store>,
    id: i64,
    user: String,
    addr: String,
    ended: bool,
}

/// Admits a check of `user`'s password from `ip`, or answers 429 with the
/// wait (and counts it in the metrics). A store that fails to count refuses
/// the check (503 or 500 as its error says): never a check uncounted.
pub async fn admit<'a>(
    throttle: &'a Throttle,
    store: &Arc<dyn Store>,
    user: &str,
    ip: IpAddr,
) -> Result<Admitted<'a>, AppError> {
    let throttled = |wait: u64| {
        crate::metrics::metrics()
            .logins_throttled
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        AppError::rate_limited(wait)
    };
    let local = throttle.begin(user, ip).map_err(throttled)?;
    let addr = Throttle::address_key(ip);
    match store
        .begin_login_attempt(user, &addr, throttle.shared_rule())
        .await
    {
        Ok(None) => Ok(Admitted {
            delay: local.delay(),
            local,
            shared: None,
        }),
        Ok(Some(SharedAdmission::Admitted { id, user_recent })) => Ok(Admitted {
            delay: local.delay().max(throttle.delay_after(user_recent)),
            local,
            shared: Some(SharedAttempt {
                store: store.clone(),
                id,
                user: user.to_owned(),
                addr,
                ended: false,
            }),
        }),
        Ok(Some(SharedAdmission::Refused { wait_ms })) => {
            local.unverified();
            Err(throttled(whole_seconds(Duration::from_millis(wait_ms))))
        }
        Err(e) => {
            local.unverified();
            Err(e.into())
        }
    }
}

impl Admitted<'_> {
    /// How long to wait before checking the password: the longer of the
    /// two throttles' per-user waits.
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// The password was right.
    pub async fn succeeded(self) {
        self.local.succeeded();
        end(self.shared, AttemptOutcome::Succeeded).await;
    }

    /// The password was wrong, or the user unknown.
    pub async fn failed(self) {
        self.local.failed();
        end(self.shared, AttemptOutcome::Failed).await;
    }

    /// No password was checked: the attempt is forgotten.
    pub async fn unverified(self) {
        self.local.unverified();
        end(self.shared, AttemptOutcome::Unverified).await;
    }
}

async fn end(shared: Option<SharedAttempt>, outcome: AttemptOutcome) {
    let Some(mut shared) = shared else {
        return;
    };
    shared.ended = true;
    if let Err(e) = shared
        .store
        .end_login_attempt(shared.id, &shared.user, &shared.addr, outcome)
        .await
    {
        // The row stays in flight, which counts as a failure until it
        // leaves the window: never less throttling than meant.
        tracing::warn!("login throttle: could not record how a check ended: {e}");
    }
}

impl Drop for SharedAttempt {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        // The request went away mid-check: a failure, recorded in the
        // background (left in flight, it would count the same until the
        // window ends, only with a vaguer Retry-After).
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (store, id) = (self.store.clone(), self.id);
        let (user, addr) = (
            std::mem::take(&mut self.user),
            std::mem::take(&mut self.addr),
        );
        runtime.spawn(async move {
            let _ = store
                .end_login_attempt(id, &user, &addr, AttemptOutcome::Failed)
                .await;
        });
    }
}
