//! Which URL of the relay a request goes to, and when it moves on to the
//! next (docs/IPC.md `status`, docs/SECURITY.md §2.1).
//!
//! All the URLs are instances of one relay: the same accounts, sessions and
//! mailboxes behind each. Requests go to one URL at a time, the first at
//! start. A request whose URL cannot be reached (connection refused, reset,
//! timed out), or that answers that it cannot serve now (503, and for a
//! request that may be sent twice also 500, 502 and 504), is sent to the
//! next URL in the list, and that one is used from then on. Every
//! `RETURN_AFTER` one request tries the first URL again, so chatd goes back
//! to it once it is up. A TLS failure never moves on: whoever answered at
//! that URL failed to prove it is the relay, and the user must hear of it
//! rather than have it routed around.

use std::time::{Duration, Instant};

use ipc_schema::methods::RelayUrlView;

/// How long chatd stays on a later URL before a request tries the first
/// one again.
pub const RETURN_AFTER: Duration = Duration::from_secs(5 * 60);

/// Whether a request may reach the relay twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resend {
    /// Doing it twice does what doing it once does (a PUT by id, an ack, a
    /// GET): after any failure it goes to the next URL.
    Always,
    /// Doing it twice differs (a login makes a session, a password change
    /// makes the old password wrong): it goes to the next URL only when it
    /// surely reached no relay (no connection, or a 503 that stored nothing).
    IfUnsent,
}

/// Whether an answer with `status` sends the request on to the next URL:
/// an instance shutting down (or a proxy without one behind it) answers 503
/// before it does anything; 500, 502 and 504 may come after the work was
/// done, so only a request that may be sent twice moves on after them.
pub fn moves_on_after_status(status: u16, resend: Resend) -> bool {
    match status {
        503 => true,
        500 | 502 | 504 => resend == Resend::Always,
        _ => false,
    }
}

/// Why a URL last failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// When (ms since the epoch).
    pub at_ms: u64,
    /// What happened, in one line.
    pub why: String,
}

/// Where requests go now, and what each URL last did.
#[derive(Debug)]
pub struct Route {
    /// The URL requests go to first.
    current: usize,
    /// When a request last started at the first URL while `current` was
    /// another, or when it moved there (the clock for `RETURN_AFTER`).
    checked_first: Instant,
    /// Each URL's last failure, cleared when it answers.
    failures: Vec<Option<Failure>>,
}

/// A change of URL, to log.
#[derive(Debug, PartialEq, Eq)]
pub struct Moved {
    /// The URL left.
    pub from: usize,
    /// The URL in use now.
    pub to: usize,
    /// Why `from` was left (its last failure), if it failed.
    pub why: Option<String>,
}

impl Route {
    /// A route over `n` URLs, starting at the first.
    pub fn new(n: usize, now: Instant) -> Route {
        Route {
            current: 0,
            checked_first: now,
            failures: vec![None; n],
        }
    }

    /// The URL in use.
    pub fn current(&self) -> usize {
        self.current
    }

    /// The order in which a request made `now` tries the URLs: from the one
    /// in use on, round the list; from the first when chatd has been away
    /// from it for `RETURN_AFTER` (one request then checks it for all).
    pub fn order(&mut self, now: Instant) -> Vec<usize> {
        let n = self.failures.len();
        let start = if self.current != 0
            && now.saturating_duration_since(self.checked_first) >= RETURN_AFTER
        {
            self.checked_first = now;
            0
        } else {
            self.current
        };
        (0..n).map(|k| (start + k) % n).collect()
    }

    /// URL `i` failed at `at_ms` because of `why`.
    pub fn failed(&mut self, i: usize, at_ms: u64, why: String) {
        self.failures[i] = Some(Failure { at_ms, why });
    }

    /// URL `i` answered at `now`: it is the one in use from now on. Says
    /// so when that is a change.
    pub fn answered(&mut self, i: usize, now: Instant) -> Option<Moved> {
        self.failures[i] = None;
        if i == self.current {
            return None;
        }
        let moved = Moved {
            from: self.current,
            to: i,
            why: self.failures[self.current].as_ref().map(|f| f.why.clone()),
        };
        self.current = i;
        self.checked_first = now;
        Some(moved)
    }

    /// Every URL as `status` shows it.
    pub fn view(&self, urls: &[String]) -> Vec<RelayUrlView> {
        urls.iter()
            .zip(&self.failures)
            .enumerate()
            .map(|(i, (url, failure))| RelayUrlView {
                url: url.clone(),
                in_use: i == self.current,
                failure: failure.as_ref().map(|f| f.why.clone()),
                failed_at: failure.as_ref().map(|f| f.at_ms),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_starts_at_the_url_in_use_and_goes_round_the_list() {
        let t0 = Instant::now();
        let mut route = Route::new(3, t0);
        assert_eq!(route.order(t0), [0, 1, 2]);
        route.failed(0, 1, "refused".into());
        assert_eq!(
            route.answered(1, t0),
            Some(Moved {
                from: 0,
                to: 1,
                why: Some("refused".into())
            })
        );
        // Sticky: the next requests start where the last one got through.
        assert_eq!(route.order(t0 + Duration::from_secs(1)), [1, 2, 0]);
        assert_eq!(route.answered(1, t0), None, "no change, nothing to log");
        route.failed(1, 2, "reset".into());
        assert_eq!(route.answered(2, t0).map(|m| (m.from, m.to)), Some((1, 2)));
        assert_eq!(route.order(t0 + Duration::from_secs(2)), [2, 0, 1]);
    }

    #[test]
    fn the_first_url_is_tried_again_after_a_while_by_one_request() {
        let t0 = Instant::now();
        let mut route = Route::new(2, t0);
        route.failed(0, 1, "refused".into());
        route.answered(1, t0);
        assert_eq!(route.order(t0 + RETURN_AFTER / 2), [1, 0]);
        let later = t0 + RETURN_AFTER;
        assert_eq!(
            route.order(later),
            [0, 1],
            "time to look at the first again"
        );
        assert_eq!(
            route.order(later),
            [1, 0],
            "only one request looks; the others stay where it works"
        );
        // Still down: chatd stays on the second, and looks again later.
        route.failed(0, 2, "refused".into());
        assert_eq!(route.answered(1, later), None);
        assert_eq!(route.order(later + RETURN_AFTER / 2), [1, 0]);
        assert_eq!(route.order(later + RETURN_AFTER), [0, 1]);
        // Back up: it is the one in use again.
        assert_eq!(
            route
                .answered(0, later + RETURN_AFTER)
                .map(|m| (m.from, m.to)),
            Some((1, 0))
        );
        assert_eq!(route.order(later + RETURN_AFTER * 3), [0, 1]);
    }

    #[test]
    fn status_shows_each_url_the_one_in_use_and_its_last_failure() {
        let t0 = Instant::now();
        let urls = vec!["https://a".to_owned(), "https://b".to_owned()];
        let mut route = Route::new(2, t0);
        route.failed(0, 42, "refused".into());
        route.answered(1, t0);
        let view = route.view(&urls);
        assert!(!view[0].in_use && view[1].in_use);
        assert_eq!(view[0].failure.as_deref(), Some("refused"));
        assert_eq!(view[0].failed_at, Some(42));
        assert_eq!(view[1].failure, None);
        route.answered(0, t0);
        assert_eq!(
            route.view(&urls)[0].failure,
            None,
            "cleared once it answers"
        );
    }

    #[test]
    fn only_a_relay_that_cannot_serve_sends_a_request_on() {
        for status in [200, 201, 204, 400, 401, 404, 409, 413, 429, 507] {
            assert!(!moves_on_after_status(status, Resend::Always), "{status}");
        }
        assert!(moves_on_after_status(503, Resend::Always));
        assert!(moves_on_after_status(503, Resend::IfUnsent), "nothing done");
        for status in [500, 502, 504] {
            assert!(moves_on_after_status(status, Resend::Always), "{status}");
            assert!(
                !moves_on_after_status(status, Resend::IfUnsent),
                "{status}: it may have been done"
            );
        }
    }
}
