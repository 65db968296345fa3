//! Desktop notifications (notify-rust over D-Bus). Failures are logged and
//! ignored: a missing notification server must never stop message delivery.
//!
//! A preview is a peer's text: it is sanitized like everything shown from
//! peers, and `& < >` are escaped, because notification servers (KDE,
//! dunst, mako) render a subset of HTML in the body
//! (`ipc_schema::text::notification_body`).

use crate::config::NotifyMode;

/// Longest preview shown, in characters.
const PREVIEW_CHARS: usize = 120;

/// What a notification says for a new message from `sender`, per `mode`.
pub fn text(mode: NotifyMode, sender: &str, body: Option<&str>) -> Option<(String, String)> {
    let sender = ipc_schema::text::notification_body(sender);
    match mode {
        NotifyMode::Off => None,
        NotifyMode::Sender => Some((format!("New message from {sender}"), String::new())),
        NotifyMode::Preview => {
            let body = body.unwrap_or_default();
            let mut preview: String = body.chars().take(PREVIEW_CHARS).collect();
            if body.chars().nth(PREVIEW_CHARS).is_some() {
                preview.push('…');
            }
            Some((
                format!("New message from {sender}"),
                ipc_schema::text::notification_body(&preview),
            ))
        }
    }
}

/// The notifications for one batch of new texts `(sender, body)`, in order of
/// each sender's first message: one per sender, so a backlog of thousands
/// raises one notification per conversation, not thousands. Several texts
/// from one sender read "N new messages from …" (preview: the newest text).
pub fn batch(mode: NotifyMode, texts: &[(String, Option<String>)]) -> Vec<(String, String)> {
    let mut order: Vec<&str> = Vec::new();
    let mut per_sender: std::collections::HashMap<&str, (usize, Option<&str>)> =
        std::collections::HashMap::new();
    for (sender, body) in texts {
        let entry = per_sender.entry(sender).or_insert_with(|| {
            order.push(sender);
            (0, None)
        });
        entry.0 += 1;
        entry.1 = body.as_deref();
    }
    order
        .into_iter()
        .filter_map(|sender| {
            let (count, newest) = per_sender[sender];
            let (summary, body) = text(mode, sender, newest)?;
            let summary = if count > 1 {
                format!(
                    "{count} new messages from {}",
                    ipc_schema::text::notification_body(sender)
                )
            } else {
                summary
            };
            Some((summary, body))
        })
        .collect()
}

/// What a notification says when another device joined this account: always
/// shown (unless notifications are off), since only the user can tell
/// whether it was them.
pub fn new_device(mode: NotifyMode, name: &str, at: &str) -> Option<(String, String)> {
    if mode == NotifyMode::Off {
        return None;
    }
    Some((
        format!(
            "New device '{}' added at {at}",
            ipc_schema::text::notification_body(name)
        ),
        "If this wasn't you, revoke it (chat-ctl device revoke) and change your password."
            .to_owned(),
    ))
}

/// The notification for a contact whose key changed (docs/SECURITY.md, "Key
/// changes"), in every mode but `off`: it is a warning, not a message.
pub fn key_changed(mode: NotifyMode, user: &str) -> Option<(String, String)> {
    if mode == NotifyMode::Off {
        return None;
    }
    let user = ipc_schema::text::notification_body(user);
    Some((
        format!("{user}'s key changed"),
        format!(
            "Their messages wait. Compare the new fingerprint with {user} before accepting it              (chat-ctl contact list)."
        ),
    ))
}

/// The notification for a contact who rotated their keys with a transition
/// their previous key signed (docs/PROTOCOL.md §13), in every mode but `off`.
pub fn key_rotated(mode: NotifyMode, user: &str) -> Option<(String, String)> {
    if mode == NotifyMode::Off {
        return None;
    }
    let user = ipc_schema::text::notification_body(user);
    Some((
        format!("{user} rotated their keys (signed by their previous key)"),
        format!(
            "Chat goes on with the new key. Anyone holding {user}'s stolen previous key could do              the same: verify the new fingerprint with {user} (chat-ctl contact list)."
        ),
    ))
}

/// Shows a notification; blocking (call from `spawn_blocking`).
pub fn show(summary: &str, body: &str) {
    let result = notify_rust::Notification::new()
        .appname("chat")
        .summary(summary)
        .body(body)
        .show();
    if let Err(e) = result {
        tracing::warn!(error = %e, "desktop notification failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_mode_never_carries_the_text() {
        let (s, b) = text(NotifyMode::Sender, "alice", Some("secret plans")).unwrap();
        assert_eq!(s, "New message from alice");
        assert!(b.is_empty());
        assert!(text(NotifyMode::Off, "alice", Some("x")).is_none());
        let (_, b) = text(NotifyMode::Preview, "alice", Some(&"é".repeat(200))).unwrap();
        assert_eq!(b.chars().count(), PREVIEW_CHARS + 1);
    }

    #[test]
    fn previews_are_inert_in_terminals_and_in_markup() {
        let hostile =
            "\x1b]52;c;Zm9v\x07<a href=\"https://evil.example\">pay</a> & \u{202e}fdp.exe";
        let (_, b) = text(NotifyMode::Preview, "alice", Some(hostile)).unwrap();
        assert_eq!(
            b,
            "␛]52;c;Zm9v␇&lt;a href=\"https://evil.example\"&gt;pay&lt;/a&gt; &amp; \u{fffd}fdp.exe"
        );
        for bad in ['\x1b', '\x07', '<', '>', '\u{202e}'] {
            assert!(!b.contains(bad), "{bad:?} in {b}");
        }
    }

    #[test]
    fn a_batch_raises_one_notification_per_sender() {
        let t = |s: &str, b: &str| (s.to_owned(), Some(b.to_owned()));
        let texts = [
            t("bob", "one"),
            t("carol", "hi"),
            t("bob", "two"),
            t("bob", "three"),
        ];
        assert_eq!(
            batch(NotifyMode::Preview, &texts),
            [
                ("3 new messages from bob".to_owned(), "three".to_owned()),
                ("New message from carol".to_owned(), "hi".to_owned()),
            ]
        );
        assert_eq!(
            batch(NotifyMode::Sender, &texts),
            [
                ("3 new messages from bob".to_owned(), String::new()),
                ("New message from carol".to_owned(), String::new()),
            ]
        );
        assert!(batch(NotifyMode::Off, &texts).is_empty());
        assert!(batch(NotifyMode::Sender, &[]).is_empty());
    }
}
