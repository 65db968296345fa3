//! Which URL of the relay a request goes to, and when it moves on to the
//! next (docs/IPC.md `status`, docs/SECURITY.md §2.1).
//!
//! All the URLs are instances of one relay: the same accounts, sessions and
//! mailboxes behind each. Requests go to one URL at a time, the first at
//! start. A request whose URL cannot be reached (connection refused, reset,
//! timed out), or that answers that it cannot serve now (503, and for a
//! request that may be sent twice also 500, 502 and 504), is sent to the
//! next URL in the list, and that one is used from then on. Every
//! `RETURN_AFTER` away from the first URL, a probe of its own (`GET
//! /v1/health`, a few seconds at most) looks at the first URL, and chatd
//! goes back to it once it answers; no user request waits on that look. A
//! TLS failure never moves on: whoever answered at that URL failed to prove
//! it is the relay, and the user must hear of it rather than have it routed
//! around (a probe that meets one records it and stays where it is).
//!
//! A request moves the route only if the route has not moved since it
//! started: a slow answer from a URL chatd has since left (a long-poll
//! that began before a move) does not take it back there.

use std::time::{Duration, Instant};

use ipc_schema::methods::RelayUrlView;

/// How long chatd stays on a later URL before it looks at the first one
/// again, unless `[relay] return_to_first_secs` says otherwise.
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
    /// Counts the moves, so that a request's answer can tell whether the
    /// route moved while it was under way.
    generation: u64,
    /// When the first URL was last looked at while `current` was another,
    /// or when chatd moved away (the clock for `return_after`).
    checked_first: Instant,
    /// How long chatd stays away from the first URL between looks at it
    /// ([`RETURN_AFTER`] unless set).
    return_after: Duration,
    /// Each URL's last failure, cleared when it answers.
    failures: Vec<Option<Failure>>,
}

/// Where a request goes: the URLs in the order it tries them, and the
/// route's generation when it started.
#[derive(Debug, PartialEq, Eq)]
pub struct Plan {
    /// URL indexes, the one in use first.
    pub order: Vec<usize>,
    /// [`Route::answered`] takes it back.
    pub generation: u64,
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
            generation: 0,
            checked_first: now,
            return_after: RETURN_AFTER,
            failures: vec![None; n],
        }
    }

    /// Looks at the first URL every `every` while away from it.
    pub fn set_return_after(&mut self, every: Duration) {
        self.return_after = every;
    }

    /// The URL in use.
    pub fn current(&self) -> usize {
        self.current
    }

    /// The order in which a request tries the URLs: from the one in use
    /// on, round the list.
    pub fn plan(&self) -> Plan {
        let n = self.failures.len();
        Plan {
            order: (0..n).map(|k| (self.current + k) % n).collect(),
            generation: self.generation,
        }
    }

    /// Whether the first URL is due a look at `now` (chatd has been away
    /// from it for `return_after`); true once per period, for one probe.
    pub fn first_is_due(&mut self, now: Instant) -> bool {
        let due = self.current != 0
            && now.saturating_duration_since(self.checked_first) >= self.return_after;
        if due {
            self.checked_first = now;
        }
        due
    }

    /// URL `i` failed at `at_ms` because of `why`.
    pub fn failed(&mut self, i: usize, at_ms: u64, why: String) {
        self.failures[i] = Some(Failure { at_ms, why });
    }

    /// URL `i` answered, at `now`, a request that started at `generation`:
    /// it is the one in use from now on, unless the route moved since that
    /// request started (then its answer is old news). Says so when that is
    /// a change.
    pub fn answered(&mut self, i: usize, generation: u64, now: Instant) -> Option<Moved> {
        self.failures[i] = None;
        if i == self.current || generation != self.generation {
            return None;
        }
        let moved = Moved {
            from: self.current,
            to: i,
            why: self.failures[self.current].as_ref().map(|f| f.why.clone()),
        };
        self.current = i;
        self.generation += 1;
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
        let plan = route.plan();
        assert_eq!(plan.order, [0, 1, 2]);
        route.failed(0, 1, "refused".into());
        assert_eq!(
            route.answered(1, plan.generation, t0),
            Some(Moved {
                from: 0,
                to: 1,
                why: Some("refused".into())
            })
        );
        // Sticky: the next requests start where the last one got through.
        let plan = route.plan();
        assert_eq!(plan.order, [1, 2, 0]);
        assert_eq!(route.answered(1, plan.generation, t0), None, "no change");
        route.failed(1, 2, "reset".into());
        assert_eq!(
            route
                .answered(2, plan.generation, t0)
                .map(|m| (m.from, m.to)),
            Some((1, 2))
        );
        assert_eq!(route.plan().order, [2, 0, 1]);
    }

    #[test]
    fn a_late_answer_from_a_url_left_since_does_not_take_chatd_back() {
        let t0 = Instant::now();
        let mut route = Route::new(2, t0);
        // A long-poll starts on the first URL ...
        let long_poll = route.plan();
        // ... the first fails another request, which moves to the second ...
        let put = route.plan();
        route.failed(0, 1, "reset".into());
        assert!(route.answered(1, put.generation, t0).is_some());
        // ... and the long-poll's answer from the first comes in late.
        assert_eq!(route.answered(0, long_poll.generation, t0), None);
        assert_eq!(route.current(), 1, "still on the second");
        assert_eq!(route.view(&["a".into(), "b".into()])[0].failure, None);
    }

    #[test]
    fn the_first_url_is_looked_at_again_once_per_period() {
        let t0 = Instant::now();
        let mut route = Route::new(2, t0);
        assert!(
            !route.first_is_due(t0 + RETURN_AFTER),
            "on the first: never"
        );
        route.failed(0, 1, "refused".into());
        route.answered(1, 0, t0);
        assert!(!route.first_is_due(t0 + RETURN_AFTER / 2));
        let later = t0 + RETURN_AFTER;
        assert!(route.first_is_due(later), "time to look at the first again");
        assert!(!route.first_is_due(later), "one probe per period");
        // Requests meanwhile stay where it works.
        assert_eq!(route.plan().order, [1, 0]);
        // Still down: the probe fails, chatd stays, and looks again later.
        route.failed(0, 2, "refused".into());
        assert!(route.first_is_due(later + RETURN_AFTER));
        // Back up: the probe's answer takes chatd back.
        let probe = route.plan();
        assert_eq!(
            route
                .answered(0, probe.generation, later + RETURN_AFTER)
                .map(|m| (m.from, m.to)),
            Some((1, 0))
        );
        assert!(!route.first_is_due(later + RETURN_AFTER * 3), "home again");
    }

    #[test]
    fn status_shows_each_url_the_one_in_use_and_its_last_failure() {
        let t0 = Instant::now();
        let urls = vec!["https://a".to_owned(), "https://b".to_owned()];
        let mut route = Route::new(2, t0);
        route.failed(0, 42, "refused".into());
        route.answered(1, 0, t0);
        let view = route.view(&urls);
        assert!(!view[0].in_use && view[1].in_use);
        assert_eq!(view[0].failure.as_deref(), Some("refused"));
        assert_eq!(view[0].failed_at, Some(42));
        assert_eq!(view[1].failure, None);
        route.answered(0, 1, t0);
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
