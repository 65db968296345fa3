//! What chat-ctl prints: pure functions from results to text, one module per
//! kind of output, so they are tested without a daemon; plus [`Out`], the one
//! place that writes stdout, and [`Clock`], how times are shown.
//!
//! Human output is short and aligned, with local times and delivery ticks;
//! `--json` output is compact, one value per line, and documented in docs/IPC.md.

use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use ipc_schema::methods::MessageState;
use ipc_schema::text::sanitize;
use ipc_schema::time::TimeZone;
use serde::Serialize;

mod contacts;
mod groups;
mod log;
#[cfg(test)]
mod samples;
mod search;
mod status;
mod watch;

pub use contacts::{contact_added_human, contacts_human};
pub use groups::{group_human, group_info_human, groups_human};
pub use log::{log_human, log_json};
pub use search::search_human;
pub use status::{identity_human, status_human, trust_human};
pub use watch::{event_human, event_json};

/// stdout, in human or JSON mode.
pub struct Out {
    /// Whether `--json` was given.
    pub json: bool,
    stdout: io::Stdout,
}

impl Out {
    /// stdout in the mode the user chose.
    pub fn new(json: bool) -> Self {
        Out {
            json,
            stdout: io::stdout(),
        }
    }

    /// Writes text for people, adding a final newline if it has none; nothing
    /// for empty text. Sanitized here, the one door to the terminal for
    /// stdout: bodies, kinds, names and reasons come from peers, the relay or
    /// chatd, and an escape sequence among them could rewrite the clipboard
    /// or the screen (docs/IPC.md §9).
    pub fn human(&self, text: &str) -> io::Result<()> {
        self.write(&sanitize(text))
    }

    /// Writes `value` as one line of compact JSON.
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) -> io::Result<()> {
        self.write(&json_line(value))
    }

    /// Writes one line of JSON made by [`json_line`], exactly: JSON escaping
    /// already keeps control characters off the terminal, and scripts must get
    /// the text as it was sent.
    pub fn json_text(&self, line: &str) -> io::Result<()> {
        self.write(line)
    }

    fn write(&self, text: &str) -> io::Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        let mut out = self.stdout.lock();
        out.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            out.write_all(b"\n")?;
        }
        out.flush()
    }
}

/// `value` as compact JSON on one line.
pub fn json_line<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("chat-ctl's output types always serialize")
}

/// Shows timestamps (ms) as calendar times, and knows what "today" is.
pub struct Clock {
    now_ms: u64,
    zone: TimeZone,
}

impl Clock {
    /// The system clock in the local time zone.
    pub fn local() -> Self {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Clock {
            now_ms,
            zone: TimeZone::Local,
        }
    }

    /// A fixed "now" in UTC, for tests.
    #[cfg(test)]
    pub fn utc_at(now_ms: u64) -> Self {
        Clock {
            now_ms,
            zone: TimeZone::Fixed(0),
        }
    }

    /// `HH:MM` for today, `YYYY-MM-DD HH:MM` for any other day.
    pub fn short(&self, ts_ms: u64) -> String {
        let t = self.zone.civil(ts_ms);
        if t.date() == self.zone.civil(self.now_ms).date() {
            t.hh_mm()
        } else {
            t.date_time()
        }
    }

    /// `YYYY-MM-DD HH:MM` always.
    pub fn full(&self, ts_ms: u64) -> String {
        self.zone.civil(ts_ms).date_time()
    }
}

/// The tick shown after an outgoing message: `…` queued, `✓` sent, `✓✓`
/// delivered, `✓✓ read`, `✗ failed: why`.
pub fn ticks(state: MessageState, failure: Option<&str>) -> String {
    match state {
        MessageState::Queued => "…".to_owned(),
        MessageState::Sent => "✓".to_owned(),
        MessageState::Delivered => "✓✓".to_owned(),
        MessageState::Read => "✓✓ read".to_owned(),
        MessageState::Failed => match failure {
            Some(why) => format!("✗ failed: {why}"),
            None => "✗ failed".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::samples::T0;
    use super::*;

    #[test]
    fn times_are_hh_mm_today_and_dated_otherwise() {
        let clock = Clock::utc_at(T0 + 3_600_000);
        assert_eq!(clock.short(T0), "16:00");
        assert_eq!(clock.short(T0 - 86_400_000), "2025-11-23 16:00");
        assert_eq!(clock.full(T0), "2025-11-24 16:00");
        let local = Clock::local().full(T0);
        assert!(local.starts_with("2025-11-2"), "{local}");
    }

    #[test]
    fn ticks_show_the_state() {
        assert_eq!(ticks(MessageState::Queued, None), "…");
        assert_eq!(ticks(MessageState::Sent, None), "✓");
        assert_eq!(ticks(MessageState::Delivered, None), "✓✓");
        assert_eq!(ticks(MessageState::Read, None), "✓✓ read");
        assert_eq!(
            ticks(MessageState::Failed, Some("mailbox full")),
            "✗ failed: mailbox full"
        );
    }
}
