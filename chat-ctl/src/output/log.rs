//! `chat-ctl log`: a conversation's history, for people and as JSON.

use std::fmt::Write as _;

use ipc_schema::methods::{DeliveryView, Direction, MessageState, MessageView};
use serde::Serialize;

use super::{Clock, json_line, ticks};

/// What a message shows as text: its body, or a note for payloads chat-ctl cannot show.
pub(super) fn message_text(m: &MessageView) -> String {
    match &m.body {
        _ if m.deleted => "[deleted]".to_owned(),
        _ if m.file.is_some() => m.file.as_deref().map(file_text).unwrap_or_default(),
        Some(body) if m.edited => format!("{body} (edited)"),
        Some(body) => body.clone(),
        None => format!("[unsupported message type: {}]", m.kind),
    }
}

/// A file as `log` shows it: `[file build.log, 2.3 MB]`, and where it is
/// when it is not simply here (or sent).
pub(super) fn file_text(f: &ipc_schema::methods::FileView) -> String {
    use ipc_schema::methods::FileState;
    let head = format!(
        "[file {}, {}]",
        f.name,
        ipc_schema::text::human_size(f.size)
    );
    let percent = || {
        (f.done.min(f.size) * 100)
            .checked_div(f.size)
            .unwrap_or(100)
    };
    match f.state {
        FileState::Ready | FileState::Uploaded => head,
        FileState::Uploading => format!("{head} (uploading {}%)", percent()),
        FileState::Downloading => format!("{head} (downloading {}%)", percent()),
        FileState::Waiting => format!("{head} (not fetched: chat-ctl save)"),
        FileState::Failed => format!(
            "{head} (failed: {})",
            f.failure.as_deref().unwrap_or("unknown")
        ),
    }
}

/// A message's reactions, each emoji with its count: `👍 2  🎉 1`.
pub(super) fn reactions_text(m: &MessageView) -> String {
    m.reactions
        .iter()
        .map(|r| format!("{} {}", r.emoji, r.users.len()))
        .collect::<Vec<_>>()
        .join("  ")
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
    /// Absent for a text; `system` for a group's history lines ("alice
    /// added carol"), or the type of a payload chat-ctl cannot show.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'a str>,
    /// The text; `null` for payloads that are not text.
    pub body: Option<&'a str>,
    /// The message this one answers (absent when none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<&'a str>,
    /// `queued`, `sent`, `delivered`, `read` or `failed`.
    pub state: MessageState,
    /// A group message's group id; absent for one-to-one messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<&'a str>,
    /// An outgoing group message's delivery to each member; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<&'a [DeliveryView]>,
    /// Edited by its author (absent otherwise).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub edited: bool,
    /// Deleted by its author: `body` is `null` (absent otherwise).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// Reactions: each emoji with who chose it (absent when none).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub reactions: &'a [ipc_schema::methods::ReactionView],
    /// A file message's file: name, size, media type, where it is (absent
    /// otherwise; `body` is then its name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<&'a ipc_schema::methods::FileView>,
}

impl<'a> From<&'a MessageView> for LogEntry<'a> {
    fn from(m: &'a MessageView) -> Self {
        LogEntry {
            id: &m.id,
            from: &m.from,
            to: &m.to,
            ts: m.ts,
            direction: m.direction,
            kind: (m.kind != "text").then_some(m.kind.as_str()),
            body: m.body.as_deref(),
            reply_to: m.reply_to.as_deref(),
            state: m.state,
            group: m.group.as_deref(),
            deliveries: (m.group.is_some() && m.direction == Direction::Out)
                .then_some(m.deliveries.as_slice()),
            edited: m.edited,
            deleted: m.deleted,
            reactions: &m.reactions,
            file: m.file.as_deref(),
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
pub fn log_human(peer: &str, messages: &[MessageView], clock: &Clock, ids: bool) -> String {
    if messages.is_empty() {
        return format!("no messages with {peer} yet");
    }
    let rows: Vec<(String, &str, &MessageView)> = messages
        .iter()
        .map(|m| {
            let who = match m.direction {
                // A group's history lines ("alice added carol").
                _ if m.kind == "system" => "·",
                Direction::Out => "you",
                Direction::In => m.from.as_str(),
            };
            let time = if ids {
                let short: String = m.id.chars().take(8).collect();
                format!("{short} {}", clock.short(m.ts))
            } else {
                clock.short(m.ts)
            };
            (time, who, m)
        })
        .collect();
    let time_w = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let who_w = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    let indent = " ".repeat(time_w + 2 + who_w + 2);
    let mut out = String::new();
    for (time, who, m) in rows {
        let mut text = message_text(m);
        if let Some(to) = &m.reply_to {
            let short: String = to.chars().take(8).collect();
            text = format!("↪ {short}: {text}");
        }
        let lines: Vec<&str> = text.split('\n').collect();
        let last = lines.len() - 1;
        for (i, line) in lines.iter().enumerate() {
            if i == 0 {
                let _ = write!(out, "{time:<time_w$}  {who:<who_w$}  {line}");
            } else {
                let _ = write!(out, "{indent}{line}");
            }
            if i == last && m.direction == Direction::Out {
                let _ = write!(out, "  {}", ticks(m.state, m.failure.as_deref()));
                if let Some((have, of)) = m.delivered_of() {
                    let _ = write!(out, " {have}/{of}");
                }
            }
            if i == last && !m.reactions.is_empty() {
                let _ = write!(out, "  [{}]", reactions_text(m));
            }
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::samples::{T0, message};
    use super::*;
    use serde_json::{Value, json};

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
            log_human("bob", &messages, &clock, false),
            "16:00  bob  build finished ✅\n\
             16:00  you  thanks!\n\
             \x20           see you  ✓✓\n\
             16:00  you  again  ✗ failed: bob's mailbox is full\n\
             16:00  bob  [unsupported message type: reaction]\n"
        );
        assert_eq!(
            log_human("bob", &[], &clock, false),
            "no messages with bob yet"
        );
    }

    #[test]
    fn edits_deletes_and_reactions_show_in_the_log_with_ids_on_request() {
        let clock = Clock::utc_at(T0);
        let mut edited = message(
            "0b7e4d2c9a1f48e6b3c5d7e9f1a2b4c6",
            Direction::In,
            Some("deploy at 13:00"),
            MessageState::Delivered,
        );
        edited.edited = true;
        edited.reactions = vec![
            ipc_schema::methods::ReactionView {
                emoji: "👍".into(),
                users: vec!["alice".into(), "carol".into()],
            },
            ipc_schema::methods::ReactionView {
                emoji: "🎉".into(),
                users: vec!["alice".into()],
            },
        ];
        let mut gone = message(
            "9d3a6f0e2b8c47d1a5e9f3b7c1d2e4f6",
            Direction::In,
            None,
            MessageState::Read,
        );
        gone.deleted = true;
        let text = log_human("bob", &[edited.clone(), gone.clone()], &clock, true);
        assert_eq!(
            text,
            "0b7e4d2c 16:00  bob  deploy at 13:00 (edited)  [👍 2  🎉 1]\n\
             9d3a6f0e 16:00  bob  [deleted]\n"
        );
        let json: Value = serde_json::from_str(&log_json(&[edited, gone])).unwrap();
        assert_eq!(json[0]["edited"], true);
        assert_eq!(json[0]["reactions"][0]["users"], json!(["alice", "carol"]));
        assert_eq!(json[1]["deleted"], true);
        assert_eq!(json[1]["body"], Value::Null);
        assert!(json[1].get("edited").is_none());
    }
}
