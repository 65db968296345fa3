//! `chat-ctl status` and `chat-ctl id`.

use ipc_schema::fingerprint;
use ipc_schema::methods::{ConnectionState, IdentityShowResult, RelayTrustView, StatusResult};

/// The relay link as people read it; the wire names are in `--json`.
pub(super) fn connection_name(c: ConnectionState) -> &'static str {
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
        for (i, line) in fingerprint::lines(fp).into_iter().enumerate() {
            rows.push((if i == 0 { "fingerprint" } else { "" }, line));
        }
    }
    let link = connection_name(s.connection);
    match &s.relay_url {
        Some(url) => rows.push(("relay", format!("{url} · {link}"))),
        None => rows.push(("relay", link.to_owned())),
    }
    // Several URLs of one relay: each in the order chatd tries them.
    if s.relays.len() > 1 {
        for (i, r) in s.relays.iter().enumerate() {
            let state = match (&r.failure, r.in_use) {
                (Some(why), true) => format!("in use · failed: {why}"),
                (None, true) => "in use".to_owned(),
                (Some(why), false) => format!("failed: {why}"),
                (None, false) => "standing by".to_owned(),
            };
            let label = if i == 0 { "relay urls" } else { "" };
            rows.push((label, format!("{}. {} · {state}", i + 1, r.url)));
        }
    }
    if let Some(trust) = &s.relay_trust {
        rows.push(("tls", trust_human(trust)));
    }
    if s.relay_url.is_some() {
        rows.push((
            "proxy",
            s.proxy.clone().unwrap_or_else(|| "none".to_owned()),
        ));
    }
    rows.push(("unread", s.unread.to_string()));
    rows.push(("outbox", format!("{} pending", s.outbox_pending)));
    let dropped: Vec<String> = s
        .dropped
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(reason, n)| format!("{n} {}", reason.as_str().replace('_', " ")))
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

/// How the relay's certificate is checked, in one line.
pub fn trust_human(t: &RelayTrustView) -> String {
    let check = match (&t.ca, &t.pin) {
        (_, Some(pin)) => format!("pinned key sha256 {pin} (dates checked, not names)"),
        (Some(ca), None) => format!("system roots and the account's {ca}"),
        (None, None) => "system roots".to_owned(),
    };
    if t.insecure_http {
        format!("{check} · plain http:// allowed (--insecure-http)")
    } else {
        check
    }
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
    for line in fingerprint::lines(&id.fingerprint) {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::samples::FP;
    use super::*;
    use ipc_schema::methods::{DroppedCounters, RelayUrlView};

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
            relay_trust: user.map(|_| RelayTrustView {
                pin: Some("5f1c".repeat(16)),
                ..RelayTrustView::default()
            }),
            proxy: user.map(|_| "http://proxy.corp:3128".to_owned()),
            relays: Vec::new(),
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
             tls          pinned key sha256 5f1c5f1c5f1c5f1c5f1c5f1c5f1c5f1c5f1c5f1c5f1c5f1c5f1c5f1c5f1c5f1c (dates checked, not names)\n\
             proxy        http://proxy.corp:3128\n\
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
    fn several_relay_urls_are_listed_in_order_with_the_one_in_use() {
        let url = |url: &str, in_use: bool, failure: Option<&str>| RelayUrlView {
            url: url.into(),
            in_use,
            failure: failure.map(Into::into),
            failed_at: failure.map(|_| 1),
        };
        let mut s = status(Some("alice"));
        s.relay_url = Some("https://b.example.org".into());
        s.relays = vec![
            url(
                "https://a.example.org",
                false,
                Some("relay unreachable: refused"),
            ),
            url("https://b.example.org", true, None),
            url("https://c.example.org", false, None),
        ];
        let text = status_human(&s);
        assert!(
            text.contains(
                "relay        https://b.example.org · online\n\
                 relay urls   1. https://a.example.org · failed: relay unreachable: refused\n\
                 \x20            2. https://b.example.org · in use\n\
                 \x20            3. https://c.example.org · standing by\n\
                 tls "
            ),
            "{text}"
        );
        // One URL: no list, as before.
        s.relays.truncate(1);
        assert!(!status_human(&s).contains("relay urls"));
    }

    #[test]
    fn identity_shows_the_fingerprint_on_two_lines() {
        let id = IdentityShowResult {
            user: "alice".into(),
            fingerprint: FP.into(),
            key_bits: 3072,
        };
        assert_eq!(
            identity_human(&id),
            "alice  (RSA-3072)\nc7e1 0d59 a8f3 6b2e 94c0 1f7a 3e85 d26b\n5a09 e7c4 82f1 4d3b b06e 19a7 f5c2 6e80\n"
        );
    }
}
