//! Every accepted message at its recipient exactly once, intact and in
//! per-sender order; none ended `failed` at its sender.

use std::collections::HashMap;

use e2e::Daemon;

use crate::USERS;
use crate::drain::Incoming;
use crate::load::Sent;
use crate::report::Report;

/// Compares what was accepted (`sent`) with what arrived (`incoming`): lost,
/// duplicated (among the bodies with this run's `tag`), reordered and altered
/// messages; and counts the sent messages that ended `failed`.
pub fn delivery(
    sent: &[Sent],
    incoming: &Incoming,
    daemons: &[Daemon],
    tag: &str,
    report: &mut Report,
) {
    let accepted: HashMap<&str, &Sent> = sent.iter().map(|s| (s.id.as_str(), s)).collect();
    for msgs in incoming.values() {
        let mut seen: HashMap<&str, u64> = HashMap::new();
        for m in msgs {
            let id = m["id"].as_str().unwrap_or_default();
            let body = m["body"].as_str().unwrap_or_default();
            if !body.contains(tag) {
                continue;
            }
            *seen.entry(id).or_default() += 1;
            if !accepted.contains_key(id) {
                report.unconfirmed_delivered += 1;
            }
        }
        report.duplicates += seen.values().map(|n| n - 1).sum::<u64>();
    }
    for s in sent {
        let found: Vec<&serde_json::Value> = incoming[s.to]
            .iter()
            .filter(|m| m["id"] == s.id.as_str())
            .collect();
        match found.first() {
            None => {
                report.lost += 1;
                if report.lost_examples.len() < 5 {
                    report
                        .lost_examples
                        .push(format!("{}→{} {}", s.from, s.to, s.id));
                }
            }
            Some(m) => {
                report.delivered += 1;
                if m["from"] != s.from || m["body"].as_str() != Some(s.body.as_str()) {
                    report.body_mismatch += 1;
                }
            }
        }
    }
    // Per-sender order: at each recipient, the accepted messages of each
    // sender must arrive in the order they were sent.
    for from in USERS {
        for to in USERS {
            if from == to {
                continue;
            }
            let order: HashMap<&str, usize> = sent
                .iter()
                .filter(|s| s.from == from && s.to == to)
                .enumerate()
                .map(|(i, s)| (s.id.as_str(), i))
                .collect();
            let got: Vec<usize> = incoming[to]
                .iter()
                .filter(|m| m["from"] == from)
                .filter_map(|m| order.get(m["id"].as_str().unwrap_or_default()).copied())
                .collect();
            report.out_of_order += got.windows(2).filter(|w| w[1] < w[0]).count() as u64;
        }
    }
    // A message accepted and then refused for good would be lost to its user.
    for d in daemons {
        for peer in USERS {
            if peer == d.name {
                continue;
            }
            let log = d.ctl(&["--json", "log", peer, "-n", "100000"]);
            if log.code == 0 {
                report.sender_failed_state += log
                    .json()
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|m| m["direction"] == "out" && m["state"] == "failed")
                    .count() as u64;
            }
        }
    }
}
