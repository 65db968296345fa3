//! Wake-ups for long-polling readers: the store's writer calls [`Waiters::wake`]
//! after each commit with the recipients that got mail, and only their
//! waiting requests wake up. Nothing polls the database on a timer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// One `Notify` per user with at least one waiting request.
#[derive(Default)]
pub struct Waiters {
    map: Mutex<HashMap<String, Arc<Notify>>>,
}

/// A registration that removes itself when the last waiter of a user leaves.
pub struct Waiting<'a> {
    waiters: &'a Waiters,
    user: String,
    /// The user's wake-up channel.
    pub notify: Arc<Notify>,
}

impl Waiters {
    /// Registers interest in `user`'s mail.
    pub fn register(&self, user: &str) -> Waiting<'_> {
        let notify = self
            .map
            .lock()
            .expect("waiters lock")
            .entry(user.to_owned())
            .or_default()
            .clone();
        Waiting {
            waiters: self,
            user: user.to_owned(),
            notify,
        }
    }

    /// Wakes every request waiting for one of `users`, or every waiting
    /// request when `users` is empty (anyone may have mail: the store lost
    /// track, see `CommitHook`).
    pub fn wake(&self, users: &[String]) {
        let map = self.map.lock().expect("waiters lock");
        if users.is_empty() {
            map.values().for_each(|n| n.notify_waiters());
            return;
        }
        for user in users {
            if let Some(n) = map.get(user) {
                n.notify_waiters();
            }
        }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut map = self.waiters.map.lock().expect("waiters lock");
        // The map holds one reference and we hold one: we were the last.
        if Arc::strong_count(&self.notify) == 2 {
            map.remove(&self.user);
        }
    }
}
