//! After the chaos: waiting for the backlog to drain, and reading what each
//! user received.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use e2e::{Daemon, runtime};

use crate::USERS;
use crate::load::Sent;
use crate::report::Report;
use crate::stage::Stage;

/// Incoming messages per user (both peers, oldest first per peer).
pub type Incoming = HashMap<&'static str, Vec<serde_json::Value>>;

/// Waits until every accepted message is in, every outbox empty and every
/// mailbox at the relay acked, or `limit_secs`; returns what each user last
/// had.
pub fn wait(stage: &Stage, sent: &[Sent], limit_secs: u64, report: &mut Report) -> Incoming {
    let drain_start = Instant::now();
    let mut logs_now;
    loop {
        logs_now = collect_logs(&stage.daemons);
        let missing = sent
            .iter()
            .filter(|s| !logs_now[s.to].iter().any(|m| m["id"] == s.id.as_str()))
            .count();
        let outbox: u64 = stage
            .daemons
            .iter()
            .map(|d| {
                let st = d.ctl(&["--json", "status"]);
                if st.code == 0 {
                    st.json()["outbox_pending"].as_u64().unwrap_or(u64::MAX)
                } else {
                    u64::MAX
                }
            })
            .fold(0, u64::saturating_add);
        let mailboxes = stage
            .probe_tokens
            .iter()
            .map(|(_, t)| pending_count(&stage.url, t))
            .fold(0, u64::saturating_add);
        if missing == 0 && outbox == 0 && mailboxes == 0 {
            report.drained_after = Some(drain_start.elapsed());
            report.mailboxes_empty = true;
            break;
        }
        if drain_start.elapsed() > Duration::from_secs(limit_secs) {
            println!(
                "chaos: not drained after {limit_secs} s: {missing} accepted messages missing, outboxes {outbox}, relay mailboxes {mailboxes}"
            );
            break;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    logs_now
}

/// Each user's incoming messages, read with `chat-ctl log`.
fn collect_logs(daemons: &[Daemon]) -> Incoming {
    let mut out = HashMap::new();
    for (i, d) in daemons.iter().enumerate() {
        let mut incoming = Vec::new();
        for peer in USERS {
            if peer == d.name {
                continue;
            }
            let log = d.ctl(&["--json", "log", peer, "-n", "100000"]);
            if log.code != 0 {
                continue;
            }
            let v = log.json();
            incoming.extend(
                v.as_array()
                    .into_iter()
                    .flatten()
                    .filter(|m| m["direction"] == "in")
                    .cloned(),
            );
        }
        out.insert(USERS[i], incoming);
    }
    out
}

/// Pending envelopes in a mailbox (`u64::MAX` when the relay does not answer).
fn pending_count(url: &str, token: &str) -> u64 {
    runtime().block_on(async {
        let r = reqwest::Client::new()
            .get(format!("{url}/v1/messages?wait=0&limit=1000"))
            .bearer_auth(token)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        match r {
            Ok(r) if r.status() == 204 => 0,
            Ok(r) if r.status() == 200 => r
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|v| v["messages"].as_array().map(|a| a.len() as u64))
                .unwrap_or(u64::MAX),
            _ => u64::MAX,
        }
    })
}
