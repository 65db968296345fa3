//! Desktop notifications (notify-rust over D-Bus). Failures are logged and
//! ignored: a missing notification server must never stop message delivery.

use crate::config::NotifyMode;

/// Longest preview shown, in characters.
const PREVIEW_CHARS: usize = 120;

/// What a notification says for a new message from `sender`, per `mode`.
pub fn text(mode: NotifyMode, sender: &str, body: Option<&str>) -> Option<(String, String)> {
    match mode {
        NotifyMode::Off => None,
        NotifyMode::Sender => Some((format!("New message from {sender}"), String::new())),
        NotifyMode::Preview => {
            let body = body.unwrap_or_default();
            let mut preview: String = body.chars().take(PREVIEW_CHARS).collect();
            if body.chars().count() > PREVIEW_CHARS {
                preview.push('…');
            }
            Some((format!("New message from {sender}"), preview))
        }
    }
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
}
