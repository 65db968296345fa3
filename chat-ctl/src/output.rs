//! What chat-ctl prints: pure functions from results to text, so they are
//! tested without a daemon, plus [`Out`], the one place that writes stdout.
//!
//! Human output is short and aligned, with local times and delivery ticks;
//! `--json` output is compact, one value per line, and documented in docs/IPC.md.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use ipc_schema::methods::{
    ConnectionState, Contact, ContactChange, Direction, Event, EventEnvelope, IdentityShowResult,
    MessageState, MessageView, StatusResult,
};
use serde::Serialize;

// ---------------------------------------------------------------------------
// stdout

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

    /// Writes text, adding a final newline if it has none; nothing for empty text.
    pub fn text(&self, text: &str) -> io::Result<()> {
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

    /// Writes `value` as one line of compact JSON.
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) -> io::Result<()> {
        self.text(&json_line(value))
    }
}

/// `value` as compact JSON on one line.
pub fn json_line<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("chat-ctl's output types always serialize")
}

// ---------------------------------------------------------------------------
// Fingerprints

/// 64 hex digits in any case, with any spaces, colons or dashes between them,
/// as 16 lowercase groups of 4; `None` if it is not exactly that.
pub fn normalize_fingerprint(text: &str) -> Option<String> {
    let digits: Vec<char> = text
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, ':' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if digits.len() != 64 || !digits.iter().all(char::is_ascii_hexdigit) {
        return None;
    }
    Some(
        digits
            .chunks(4)
            .map(|g| g.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// A fingerprint as two lines of 8 groups, which is how people compare them
/// aloud; anything that is not a fingerprint is returned as one line.
pub fn fingerprint_lines(fp: &str) -> Vec<String> {
    match normalize_fingerprint(fp) {
        Some(grouped) => {
            let groups: Vec<&str> = grouped.split(' ').collect();
            vec![groups[..8].join(" "), groups[8..].join(" ")]
        }
        None => vec![fp.to_owned()],
    }
}

/// A fingerprint grouped on one line (as chatd sends it, normalized).
fn fingerprint_one_line(fp: &str) -> String {
    normalize_fingerprint(fp).unwrap_or_else(|| fp.to_owned())
}

// ---------------------------------------------------------------------------
// Times

/// A calendar time, broken down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CivilTime {
    /// E.g. 2025.
    pub year: i64,
    /// 1–12.
    pub month: u32,
    /// 1–31.
    pub day: u32,
    /// 0–23.
    pub hour: u32,
    /// 0–59.
    pub minute: u32,
}

/// Turns timestamps (ms) into calendar times, and knows what "today" is.
pub struct Clock {
    now_ms: u64,
    to_civil: fn(u64) -> CivilTime,
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
            to_civil: local_civil,
        }
    }

    /// A fixed "now" in UTC, for tests.
    #[cfg(test)]
    pub fn utc_at(now_ms: u64) -> Self {
        Clock {
            now_ms,
            to_civil: utc_civil,
        }
    }

    /// `HH:MM` for today, `YYYY-MM-DD HH:MM` for any other day.
    pub fn short(&self, ts_ms: u64) -> String {
        let t = (self.to_civil)(ts_ms);
        let now = (self.to_civil)(self.now_ms);
        if (t.year, t.month, t.day) == (now.year, now.month, now.day) {
            format!("{:02}:{:02}", t.hour, t.minute)
        } else {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}",
                t.year, t.month, t.day, t.hour, t.minute
            )
        }
    }

    /// `YYYY-MM-DD HH:MM` always.
    pub fn full(&self, ts_ms: u64) -> String {
        let t = (self.to_civil)(ts_ms);
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            t.year, t.month, t.day, t.hour, t.minute
        )
    }
}

/// UTC calendar time of a timestamp in ms (Howard Hinnant's days-to-civil).
pub fn utc_civil(ts_ms: u64) -> CivilTime {
    let secs = (ts_ms / 1000) as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    CivilTime {
        year,
        month,
        day,
        hour: (rem / 3600) as u32,
        minute: (rem % 3600 / 60) as u32,
    }
}

/// Local calendar time from the C library (honours `TZ` and /etc/localtime).
#[cfg(unix)]
fn local_civil(ts_ms: u64) -> CivilTime {
    let Ok(secs) = libc::time_t::try_from(ts_ms / 1000) else {
        return utc_civil(ts_ms);
    };
    let mut tm = std::mem::MaybeUninit::<libc::tm>::zeroed();
    // SAFETY: both pointers are valid for the call; localtime_r is the
    // thread-safe variant and fully initializes `tm` when it returns non-null.
    let tm = unsafe {
        if libc::localtime_r(&secs, tm.as_mut_ptr()).is_null() {
            return utc_civil(ts_ms);
        }
        tm.assume_init()
    };
    CivilTime {
        year: i64::from(tm.tm_year) + 1900,
        month: (tm.tm_mon + 1) as u32,
        day: tm.tm_mday as u32,
        hour: tm.tm_hour as u32,
        minute: tm.tm_min as u32,
    }
}

#[cfg(not(unix))]
fn local_civil(ts_ms: u64) -> CivilTime {
    utc_civil(ts_ms)
}

// ---------------------------------------------------------------------------
// Messages

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

/// The state's wire name, e.g. `delivered`.
pub fn state_name(state: MessageState) -> &'static str {
    match state {
        MessageState::Queued => "queued",
        MessageState::Sent => "sent",
        MessageState::Delivered => "delivered",
        MessageState::Read => "read",
        MessageState::Failed => "failed",
    }
}

/// What a message shows as text: its body, or a note for payloads chat-ctl cannot show.
fn message_text(m: &MessageView) -> String {
    match &m.body {
        Some(body) => body.clone(),
        None => format!("[unsupported message type: {}]", m.kind),
    }
}

/// One entry of `log --json`: `{id, from, to, ts, direction, body, state}`.
#[derive(Debug, Serialize)]
pub struct LogEntry<'a> {
    /// Envelope id.
    pub id: &'a str,
    /// Sender.
    pub from: &'a str,
    /// Recipient.
    pub to: &'a str,
    /// Sender's timestamp (ms).
    pub ts: u64,
    /// `in` or `out`.
    pub direction: Direction,
    /// The text; `null` for payloads that are not text.
    pub body: Option<&'a str>,
    /// `queued`, `sent`, `delivered`, `read` or `failed`.
    pub state: MessageState,
}

impl<'a> From<&'a MessageView> for LogEntry<'a> {
    fn from(m: &'a MessageView) -> Self {
        LogEntry {
            id: &m.id,
            from: &m.from,
            to: &m.to,
            ts: m.ts,
            direction: m.direction,
            body: m.body.as_deref(),
            state: m.state,
        }
    }
}

/// `log --json`: the messages, oldest first, as one JSON array.
pub fn log_json(messages: &[MessageView]) -> String {
    json_line(&messages.iter().map(LogEntry::from).collect::<Vec<_>>())
}

/// `log` for humans: time, sender (`you` for outgoing), text, and ticks on outgoing messages.
///
/// ```text
/// 14:03  bob  build finished ✅
/// 14:04  you  thanks!
///             see you  ✓✓
/// ```
pub fn log_human(peer: &str, messages: &[MessageView], clock: &Clock) -> String {
    if messages.is_empty() {
        return format!("no messages with {peer} yet");
    }
    let rows: Vec<(String, &str, &MessageView)> = messages
        .iter()
        .map(|m| {
            let who = match m.direction {
                Direction::Out => "you",
                Direction::In => m.from.as_str(),
            };
            (clock.short(m.ts), who, m)
        })
        .collect();
    let time_w = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let who_w = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    let indent = " ".repeat(time_w + 2 + who_w + 2);
    let mut out = String::new();
    for (time, who, m) in rows {
        let text = message_text(m);
        let mut lines: Vec<&str> = text.split('\n').collect();
        if lines.is_empty() {
            lines.push("");
        }
        let last = lines.len() - 1;
        for (i, line) in lines.iter().enumerate() {
            if i == 0 {
                let _ = write!(out, "{time:<time_w$}  {who:<who_w$}  {line}");
            } else {
                let _ = write!(out, "{indent}{line}");
            }
            if i == last && m.direction == Direction::Out {
                let _ = write!(out, "  {}", ticks(m.state, m.failure.as_deref()));
            }
            out.push('\n');
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Status, identity, contacts

fn connection_name(c: ConnectionState) -> &'static str {
    match c {
        ConnectionState::Online => "online",
        ConnectionState::Offline => "offline (retrying)",
        ConnectionState::Connecting => "connecting",
        ConnectionState::LoggedOut => "logged out",
    }
}

/// `status` for humans: one aligned `label  value` per line.
pub fn status_human(s: &StatusResult) -> String {
    let mut rows: Vec<(&str, String)> = Vec::new();
    match &s.user {
        Some(user) => rows.push(("user", user.clone())),
        None => rows.push(("user", "none yet (chat-ctl register)".to_owned())),
    }
    if let Some(fp) = &s.fingerprint {
        for (i, line) in fingerprint_lines(fp).into_iter().enumerate() {
            rows.push((if i == 0 { "fingerprint" } else { "" }, line));
        }
    }
    let link = connection_name(s.connection);
    match &s.relay_url {
        Some(url) => rows.push(("relay", format!("{url} · {link}"))),
        None => rows.push(("relay", link.to_owned())),
    }
    rows.push(("unread", s.unread.to_string()));
    rows.push(("outbox", format!("{} pending", s.outbox_pending)));
    let d = s.dropped;
    let dropped: Vec<String> = [
        (d.malformed, "malformed"),
        (d.unknown_sender, "unknown sender"),
        (d.bad_signature, "bad signature"),
        (d.undecryptable, "undecryptable"),
        (d.replay, "replay"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    rows.push((
        "dropped",
        if dropped.is_empty() {
            "none".to_owned()
        } else {
            dropped.join(" · ")
        },
    ));
    rows.push(("chatd", s.version.clone()));
    aligned(&rows)
}

fn aligned(rows: &[(&str, String)]) -> String {
    let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(k, v)| format!("{k:<w$}  {v}\n"))
        .collect()
}

/// `id` for humans: the user and key size, then the fingerprint on two lines.
pub fn identity_human(id: &IdentityShowResult) -> String {
    let mut out = format!("{}  (RSA-{})\n", id.user, id.key_bits);
    for line in fingerprint_lines(&id.fingerprint) {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn verified_label(verified: bool) -> &'static str {
    if verified {
        "✓ verified"
    } else {
        "unverified"
    }
}

/// `contact list` for humans: name, verified or not, fingerprint.
pub fn contacts_human(contacts: &[Contact]) -> String {
    if contacts.is_empty() {
        return "no contacts yet (chat-ctl contact add FILE)".to_owned();
    }
    let w = contacts
        .iter()
        .map(|c| c.user.chars().count())
        .max()
        .unwrap_or(0);
    contacts
        .iter()
        .map(|c| {
            format!(
                "{:<w$}  {:<10}  {}\n",
                c.user,
                verified_label(c.verified),
                fingerprint_one_line(&c.fingerprint)
            )
        })
        .collect()
}

/// What `contact add` says: the new contact, its fingerprint, and how to verify it.
pub fn contact_added_human(c: &Contact) -> String {
    let mut out = format!("added {} ({})\n", c.user, verified_label(c.verified));
    for line in fingerprint_lines(&c.fingerprint) {
        let _ = writeln!(out, "  {line}");
    }
    if !c.verified {
        let _ = writeln!(
            out,
            "compare it with {} in person, then: chat-ctl contact verify {} '{}'",
            c.user,
            c.user,
            fingerprint_one_line(&c.fingerprint)
        );
    }
    out
}

// ---------------------------------------------------------------------------
// Events

/// One line of `watch --json`: the notification's params with the event name
/// added, `{"seq":…,"ts":…,"event":"message.received",…fields}`.
pub fn event_json(env: &EventEnvelope) -> String {
    #[derive(Serialize)]
    struct Line<'a, E> {
        seq: u64,
        ts: u64,
        event: &'static str,
        #[serde(flatten)]
        fields: &'a E,
    }
    fn line<E: Serialize>(env: &EventEnvelope, fields: &E) -> String {
        json_line(&Line {
            seq: env.seq,
            ts: env.ts,
            event: env.event.name(),
            fields,
        })
    }
    match &env.event {
        Event::MessageReceived(e) => line(env, e),
        Event::MessageState(e) => line(env, e),
        Event::ContactChanged(e) => line(env, e),
        Event::ConnectionChanged(e) => line(env, e),
    }
}

/// One event for humans, prefixed with its sequence number and time:
///
/// ```text
/// #42 14:03  bob → you: build finished ✅
/// #43 14:04  you → bob: thanks!
/// #44 14:04  to bob 0b7e4d2c: delivered ✓✓
/// #45 14:05  contact bob verified
/// #46 14:05  relay offline (retrying): connection refused
/// ```
pub fn event_human(env: &EventEnvelope, clock: &Clock) -> String {
    let head = format!("#{} {}  ", env.seq, clock.short(env.ts));
    let body = match &env.event {
        Event::MessageReceived(e) => {
            let m = &e.message;
            let (from, to) = match m.direction {
                Direction::In => (m.from.as_str(), "you"),
                Direction::Out => ("you", m.to.as_str()),
            };
            let indent = " ".repeat(head.chars().count() + 2);
            let text = message_text(m).replace('\n', &format!("\n{indent}"));
            format!("{from} → {to}: {text}")
        }
        Event::MessageState(e) => {
            let short_id: String = e.id.chars().take(8).collect();
            let what = match e.state {
                MessageState::Failed => ticks(e.state, e.failure.as_deref()),
                state => format!("{} {}", state_name(state), ticks(state, None)),
            };
            format!("to {} {short_id}: {what}", e.peer)
        }
        Event::ContactChanged(e) => {
            let change = match e.change {
                ContactChange::Added => "added",
                ContactChange::Removed => "removed",
                ContactChange::Verified => "verified",
            };
            format!("contact {} {change}", e.contact.user)
        }
        Event::ConnectionChanged(e) => match &e.error {
            Some(why) => format!("relay {}: {why}", connection_name(e.connection)),
            None => format!("relay {}", connection_name(e.connection)),
        },
    };
    head + &body
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipc_schema::methods::{
        ConnectionChangedEvent, ContactChangedEvent, DroppedCounters, MessageReceivedEvent,
        MessageStateEvent,
    };
    use serde_json::{Value, json};

    const FP: &str =
        "c7e1 0d59 a8f3 6b2e 94c0 1f7a 3e85 d26b 5a09 e7c4 82f1 4d3b b06e 19a7 f5c2 6e80";
    /// 2025-11-24 16:00:00.123 UTC, the fixtures' `1764000000123`.
    const T0: u64 = 1_764_000_000_123;

    fn message(
        id: &str,
        direction: Direction,
        body: Option<&str>,
        state: MessageState,
    ) -> MessageView {
        let (from, to) = match direction {
            Direction::In => ("bob", "alice"),
            Direction::Out => ("alice", "bob"),
        };
        MessageView {
            id: id.into(),
            from: from.into(),
            to: to.into(),
            ts: T0,
            direction,
            kind: if body.is_some() { "text" } else { "reaction" }.into(),
            body: body.map(Into::into),
            reply_to: None,
            state,
            failure: None,
            seq: 1,
            truncated: false,
        }
    }

    #[test]
    fn fingerprints_are_normalized_and_grouped() {
        let squashed = FP.replace(' ', "").to_uppercase();
        assert_eq!(normalize_fingerprint(&squashed).as_deref(), Some(FP));
        let colons = FP.replace(' ', ":");
        assert_eq!(normalize_fingerprint(&colons).as_deref(), Some(FP));
        assert_eq!(normalize_fingerprint(&FP[..78]), None);
        assert_eq!(normalize_fingerprint(&FP.replace('c', "x")), None);
        assert_eq!(
            fingerprint_lines(FP),
            vec![
                "c7e1 0d59 a8f3 6b2e 94c0 1f7a 3e85 d26b",
                "5a09 e7c4 82f1 4d3b b06e 19a7 f5c2 6e80"
            ]
        );
        assert_eq!(fingerprint_lines("odd"), vec!["odd"]);
    }

    #[test]
    fn utc_civil_matches_known_dates() {
        assert_eq!(
            utc_civil(0),
            CivilTime {
                year: 1970,
                month: 1,
                day: 1,
                hour: 0,
                minute: 0
            }
        );
        assert_eq!(
            utc_civil(T0),
            CivilTime {
                year: 2025,
                month: 11,
                day: 24,
                hour: 16,
                minute: 0
            }
        );
        // 2024-02-29 23:59 UTC, a leap day.
        assert_eq!(
            utc_civil(1_709_251_140_000),
            CivilTime {
                year: 2024,
                month: 2,
                day: 29,
                hour: 23,
                minute: 59
            }
        );
    }

    #[test]
    fn times_are_hh_mm_today_and_dated_otherwise() {
        let clock = Clock::utc_at(T0 + 3_600_000);
        assert_eq!(clock.short(T0), "16:00");
        assert_eq!(clock.short(T0 - 86_400_000), "2025-11-23 16:00");
        assert_eq!(clock.full(T0), "2025-11-24 16:00");
    }

    #[test]
    fn local_times_are_plausible() {
        let t = local_civil(T0);
        assert_eq!(t.year, 2025);
        assert!((23..=25).contains(&t.day) && t.hour < 24 && t.minute < 60);
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

    #[test]
    fn log_json_has_exactly_the_documented_fields() {
        let mut out = message(
            "ab",
            Direction::Out,
            Some("thanks!\nsee you"),
            MessageState::Failed,
        );
        out.failure = Some("quota".into());
        let messages = vec![
            message("aa", Direction::In, Some("hi"), MessageState::Delivered),
            out,
        ];
        let text = log_json(&messages);
        assert!(!text.contains('\n'));
        assert!(text.starts_with(r#"[{"id":"aa","from":"bob","to":"alice","ts":1764000000123,"direction":"in","body":"hi","state":"delivered"}"#), "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v[1],
            json!({"id": "ab", "from": "alice", "to": "bob", "ts": T0, "direction": "out",
                   "body": "thanks!\nsee you", "state": "failed"})
        );
        assert_eq!(log_json(&[]), "[]");
    }

    #[test]
    fn log_human_aligns_columns_and_ticks_outgoing_messages() {
        let clock = Clock::utc_at(T0);
        let mut failed = message("ac", Direction::Out, Some("again"), MessageState::Failed);
        failed.failure = Some("bob's mailbox is full".into());
        let messages = vec![
            message(
                "aa",
                Direction::In,
                Some("build finished ✅"),
                MessageState::Delivered,
            ),
            message(
                "ab",
                Direction::Out,
                Some("thanks!\nsee you"),
                MessageState::Delivered,
            ),
            failed,
            message("ad", Direction::In, None, MessageState::Read),
        ];
        assert_eq!(
            log_human("bob", &messages, &clock),
            "16:00  bob  build finished ✅\n\
             16:00  you  thanks!\n\
             \x20           see you  ✓✓\n\
             16:00  you  again  ✗ failed: bob's mailbox is full\n\
             16:00  bob  [unsupported message type: reaction]\n"
        );
        assert_eq!(log_human("bob", &[], &clock), "no messages with bob yet");
    }

    fn status(user: Option<&str>) -> StatusResult {
        StatusResult {
            version: "0.1.0".into(),
            user: user.map(Into::into),
            fingerprint: user.map(|_| FP.into()),
            relay_url: user.map(|_| "https://relay.example.org".into()),
            connection: ConnectionState::Online,
            unread: 3,
            outbox_pending: 1,
            dropped: DroppedCounters {
                unknown_sender: 2,
                replay: 4,
                ..Default::default()
            },
        }
    }

    #[test]
    fn status_human_is_an_aligned_table() {
        assert_eq!(
            status_human(&status(Some("alice"))),
            "user         alice\n\
             fingerprint  c7e1 0d59 a8f3 6b2e 94c0 1f7a 3e85 d26b\n\
             \x20            5a09 e7c4 82f1 4d3b b06e 19a7 f5c2 6e80\n\
             relay        https://relay.example.org · online\n\
             unread       3\n\
             outbox       1 pending\n\
             dropped      2 unknown sender · 4 replay\n\
             chatd        0.1.0\n"
        );
        let mut s = status(None);
        s.connection = ConnectionState::LoggedOut;
        s.dropped = DroppedCounters::default();
        let text = status_human(&s);
        assert!(
            text.starts_with("user     none yet (chat-ctl register)\nrelay    logged out\n"),
            "{text}"
        );
        assert!(text.contains("dropped  none\n"));
    }

    #[test]
    fn identity_and_contacts_show_grouped_fingerprints() {
        let id = IdentityShowResult {
            user: "alice".into(),
            fingerprint: FP.into(),
            key_bits: 3072,
        };
        assert_eq!(
            identity_human(&id),
            "alice  (RSA-3072)\nc7e1 0d59 a8f3 6b2e 94c0 1f7a 3e85 d26b\n5a09 e7c4 82f1 4d3b b06e 19a7 f5c2 6e80\n"
        );
        let contacts = vec![
            Contact {
                user: "bob".into(),
                fingerprint: FP.into(),
                verified: true,
                added_at: T0,
            },
            Contact {
                user: "carol".into(),
                fingerprint: FP.replace(' ', ""),
                verified: false,
                added_at: T0,
            },
        ];
        assert_eq!(
            contacts_human(&contacts),
            format!("bob    ✓ verified  {FP}\ncarol  unverified  {FP}\n")
        );
        let added = contact_added_human(&contacts[1]);
        assert!(
            added.starts_with("added carol (unverified)\n  c7e1"),
            "{added}"
        );
        assert!(added.contains(&format!("chat-ctl contact verify carol '{FP}'")));
    }

    fn env(seq: u64, event: Event) -> EventEnvelope {
        EventEnvelope { seq, ts: T0, event }
    }

    #[test]
    fn watch_json_is_the_params_with_the_event_name_first_fields_in_order() {
        let e = env(
            43,
            Event::MessageState(MessageStateEvent {
                id: "0b7e".into(),
                peer: "bob".into(),
                state: MessageState::Delivered,
                failure: None,
            }),
        );
        assert_eq!(
            event_json(&e),
            r#"{"seq":43,"ts":1764000000123,"event":"message.state","id":"0b7e","peer":"bob","state":"delivered","failure":null}"#
        );
        let e = env(
            42,
            Event::MessageReceived(MessageReceivedEvent {
                message: message("aa", Direction::In, Some("hi"), MessageState::Delivered),
            }),
        );
        let v: Value = serde_json::from_str(&event_json(&e)).unwrap();
        assert_eq!(v["event"], "message.received");
        assert_eq!(v["message"]["body"], "hi");
        assert_eq!(v["seq"], 42);
    }

    #[test]
    fn watch_human_names_every_event() {
        let clock = Clock::utc_at(T0);
        let got = |event| event_human(&env(7, event), &clock);
        assert_eq!(
            got(Event::MessageReceived(MessageReceivedEvent {
                message: message(
                    "aa",
                    Direction::In,
                    Some("two\nlines"),
                    MessageState::Delivered
                ),
            })),
            "#7 16:00  bob → you: two\n            lines"
        );
        assert_eq!(
            got(Event::MessageReceived(MessageReceivedEvent {
                message: message("aa", Direction::Out, Some("hi"), MessageState::Queued),
            })),
            "#7 16:00  you → bob: hi"
        );
        assert_eq!(
            got(Event::MessageState(MessageStateEvent {
                id: "0b7e4d2c9a1f48e6b3c5d7e9f1a2b4c6".into(),
                peer: "bob".into(),
                state: MessageState::Delivered,
                failure: None,
            })),
            "#7 16:00  to bob 0b7e4d2c: delivered ✓✓"
        );
        assert_eq!(
            got(Event::ContactChanged(ContactChangedEvent {
                change: ContactChange::Verified,
                contact: Contact {
                    user: "bob".into(),
                    fingerprint: FP.into(),
                    verified: true,
                    added_at: T0
                },
            })),
            "#7 16:00  contact bob verified"
        );
        assert_eq!(
            got(Event::ConnectionChanged(ConnectionChangedEvent {
                connection: ConnectionState::Offline,
                error: Some("connection refused".into()),
            })),
            "#7 16:00  relay offline (retrying): connection refused"
        );
    }
}
