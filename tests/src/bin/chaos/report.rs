//! The summary printed at the end: every count the run measured, then each
//! check with `ok` or `FAIL`.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::checks::verdicts;

/// Everything the run measured.
#[derive(Default)]
pub struct Report {
    /// Length of the chaos phase, in seconds.
    pub seconds: u64,
    /// The relay's tmpfs size, when it could be mounted.
    pub tmpfs: Option<String>,
    /// How long the set-up took.
    pub setup: Duration,
    /// How long the backlog took to drain (`None`: not within the bound).
    pub drained_after: Option<Duration>,
    /// Accepted sends per sender.
    pub accepted: BTreeMap<&'static str, u64>,
    /// Accepted sends that were big ones, to the away user.
    pub accepted_big: u64,
    /// Failed sends by chat-ctl exit code.
    pub send_failures: BTreeMap<i32, u64>,
    /// Accepted messages found at their recipient.
    pub delivered: u64,
    /// Accepted messages not found at their recipient.
    pub lost: u64,
    /// A few of the lost, `from→to id`.
    pub lost_examples: Vec<String>,
    /// Extra copies of a message at its recipient.
    pub duplicates: u64,
    /// Inversions of a sender's order at a recipient.
    pub out_of_order: u64,
    /// Delivered messages whose sender or body differ from what was sent.
    pub body_mismatch: u64,
    /// Messages of this run delivered although their send was not accepted.
    pub unconfirmed_delivered: u64,
    /// Outgoing messages that ended in state `failed`.
    pub sender_failed_state: u64,
    /// `kill -9`s by victim.
    pub kills: BTreeMap<String, u64>,
    /// Times the relay exited by itself.
    pub relay_self_exits: u64,
    /// Relay commits that failed because the disk was full.
    pub disk_full_commits: u64,
    /// Whether the relay logged `disk is full`.
    pub disk_full_seen: bool,
    /// How the disk phase went, in words.
    pub disk_phase: String,
    /// Daemon PUTs deferred with `will retry`.
    pub daemon_retries: u64,
    /// Flood requests sent.
    pub flood_total: u64,
    /// Flood answers by HTTP status.
    pub flood_codes: BTreeMap<u16, u64>,
    /// Flood requests without an answer.
    pub flood_errors: u64,
    /// How long the flood ran.
    pub flood_secs: f64,
    /// Wall time of each probe answered 2xx.
    pub probe_latencies: Vec<Duration>,
    /// Probes answered 429.
    pub probe_429: u64,
    /// Probes answered otherwise, by HTTP status.
    pub probe_other: BTreeMap<u16, u64>,
    /// Probes that found the relay down.
    pub probe_errors: u64,
    /// Wall time of each accepted `chat-ctl send`, and whether it was big.
    pub send_latencies: Vec<(Duration, bool)>,
    /// Each secret found in a log: what, how often, where.
    pub leaks: Vec<String>,
    /// How many secrets the logs were searched for.
    pub needles: usize,
    /// Occurrences of this run's bodies in `relay.db` and its WAL.
    pub at_rest_leaks: u64,
    /// `PRAGMA integrity_check` per database.
    pub integrity: BTreeMap<String, String>,
    /// Whether the outboxes and the relay's mailboxes ended empty.
    pub mailboxes_empty: bool,
}

impl Report {
    /// Prints the table, then the checks; true when every check holds.
    pub fn print(&self) -> bool {
        self.print_table();
        let mut ok = true;
        for (what, pass, detail) in &verdicts(self) {
            ok &= pass;
            println!(
                "{} {what}{}",
                if *pass { "ok  " } else { "FAIL" },
                if *pass || detail.is_empty() {
                    String::new()
                } else {
                    format!(": {detail}")
                }
            );
        }
        ok
    }

    /// Prints every count, one a line, between blank lines.
    fn print_table(&self) {
        let total: u64 = self.accepted.values().sum();
        println!();
        println!("{:<38} {} s", "chaos phase", self.seconds);
        println!("{:<38} {:.1?}", "setup", self.setup);
        println!(
            "{:<38} {}",
            "drained after",
            self.drained_after
                .map_or("NOT DRAINED".into(), |d| format!("{d:.1?}"))
        );
        for (u, n) in &self.accepted {
            println!("{:<38} {n}", format!("sends accepted, {u}"));
        }
        println!("{:<38} {total}", "sends accepted, total");
        println!(
            "{:<38} {}",
            "  of them big (to the away user)", self.accepted_big
        );
        let failures: Vec<String> = self
            .send_failures
            .iter()
            .map(|(c, n)| format!("exit {c}: {n}"))
            .collect();
        println!("{:<38} {}", "sends refused (chat-ctl)", or_none(&failures));
        println!(
            "{:<38} {}",
            "delivered (accepted, at recipient)", self.delivered
        );
        println!("{:<38} {}", "lost", self.lost);
        println!("{:<38} {}", "duplicates", self.duplicates);
        println!("{:<38} {}", "out of order", self.out_of_order);
        println!("{:<38} {}", "body mismatches", self.body_mismatch);
        println!(
            "{:<38} {}",
            "delivered, send unconfirmed", self.unconfirmed_delivered
        );
        println!(
            "{:<38} {}",
            "sent messages in state failed", self.sender_failed_state
        );
        let kills: Vec<String> = self.kills.iter().map(|(k, n)| format!("{k} {n}")).collect();
        println!("{:<38} {}", "kill -9", or_none(&kills));
        println!("{:<38} {}", "relay exits on its own", self.relay_self_exits);
        println!(
            "{:<38} {}",
            "relay disk",
            self.tmpfs.as_ref().map_or("no tmpfs".into(), |s| format!(
                "tmpfs {s}: {}",
                self.disk_phase
            ))
        );
        println!(
            "{:<38} {}",
            "relay commits failed: disk full", self.disk_full_commits
        );
        println!(
            "{:<38} {}",
            "daemon PUTs deferred (will retry)", self.daemon_retries
        );
        let codes: Vec<String> = self
            .flood_codes
            .iter()
            .map(|(c, n)| format!("{c}×{n}"))
            .collect();
        println!(
            "{:<38} {} in {:.0} s ({:.0}/s)",
            "flood requests",
            self.flood_total,
            self.flood_secs,
            self.flood_total as f64 / self.flood_secs.max(0.001)
        );
        println!("{:<38} {}", "flood answers", or_none(&codes));
        println!("{:<38} {}", "flood transport errors", self.flood_errors);
        let p50 = percentile(&self.probe_latencies, 0.50);
        let p99 = percentile(&self.probe_latencies, 0.99);
        println!(
            "{:<38} {} (p50 {}, p99 {}, max {})",
            "others' relay requests",
            self.probe_latencies.len(),
            ms(p50),
            ms(p99),
            ms(percentile(&self.probe_latencies, 1.0))
        );
        let other: Vec<String> = self
            .probe_other
            .iter()
            .map(|(c, n)| format!("{c}×{n}"))
            .collect();
        println!(
            "{:<38} 429×{}, other {}, relay down {}",
            "  not answered 2xx",
            self.probe_429,
            or_none(&other),
            self.probe_errors
        );
        for (what, big) in [("small", false), ("big", true)] {
            let l: Vec<Duration> = self
                .send_latencies
                .iter()
                .filter(|(_, b)| *b == big)
                .map(|(d, _)| *d)
                .collect();
            println!(
                "{:<38} {} (p50 {}, p99 {}, max {})",
                format!("chat-ctl send wall time, {what}"),
                l.len(),
                ms(percentile(&l, 0.50)),
                ms(percentile(&l, 0.99)),
                ms(percentile(&l, 1.0))
            );
        }
        println!(
            "{:<38} {} ({} needles)",
            "log leaks",
            self.leaks.len(),
            self.needles
        );
        for l in &self.leaks {
            println!("    {l}");
        }
        println!("{:<38} {}", "bodies in relay.db / -wal", self.at_rest_leaks);
        for (db, r) in &self.integrity {
            println!("{:<38} {r}", format!("integrity_check {db}"));
        }
        println!();
    }
}

/// A duration in milliseconds, one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The nearest-rank `p` quantile of `samples` (`p` from 0 to 1; zero when empty).
pub fn percentile(samples: &[Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut v = samples.to_vec();
    v.sort();
    let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
    v[i]
}

/// `v` joined with commas, or `none`.
fn or_none(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}
