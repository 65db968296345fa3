//! The checks: what the run looks for once the backlog has drained, and the
//! verdicts that decide PASS or FAIL.

mod messages;
mod secrets;

use std::path::Path;
use std::time::Duration;

pub use messages::delivery;
pub use secrets::{bodies_at_rest, secrets_in_logs};

use crate::USERS;
use crate::report::{Report, ms, percentile};
use crate::stage::Stage;

/// Latency bound for the other users' requests.
const P99_BOUND: Duration = Duration::from_millis(200);

/// One check: what it says, whether it holds, and what was found instead.
pub type Verdict = (&'static str, bool, String);

/// `PRAGMA integrity_check` of the relay's and every daemon's database, as
/// the crash left them.
pub fn sqlite_integrity(stage: &Stage, report: &mut Report) {
    report.integrity.insert(
        "relay.db".into(),
        integrity_check(&stage.relay_dir.join("relay.db")),
    );
    for d in &stage.daemons {
        report.integrity.insert(
            format!("{}'s chatd.db", d.name),
            integrity_check(&d.data_dir.join("chatd.db")),
        );
    }
}

fn integrity_check(db: &Path) -> String {
    match rusqlite::Connection::open(db) {
        Ok(c) => c
            .query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
            .unwrap_or_else(|e| e.to_string()),
        Err(e) => e.to_string(),
    }
}

/// Counts from the logs: commits that failed on the full disk, and the
/// daemons' deferred PUTs.
pub fn counts_from_logs(stage: &Stage, report: &mut Report) {
    let relay_text = std::fs::read_to_string(stage.relay_log()).unwrap_or_default();
    report.disk_full_commits = relay_text
        .lines()
        .filter(|l| l.contains("store commit failed") && l.contains("full"))
        .count() as u64;
    report.disk_full_seen = relay_text.contains("disk is full");
    for u in USERS {
        let text = std::fs::read_to_string(stage.chatd_log(u)).unwrap_or_default();
        report.daemon_retries += text.lines().filter(|l| l.contains("will retry")).count() as u64;
    }
}

/// Every check, in the order printed; the disk check only with a tmpfs.
pub fn verdicts(report: &Report) -> Vec<Verdict> {
    let total: u64 = report.accepted.values().sum();
    let flood_429 = report.flood_codes.get(&429).copied().unwrap_or(0);
    let p99 = percentile(&report.probe_latencies, 0.99);
    let mut checks: Vec<Verdict> = vec![
        (
            "every accepted message delivered",
            report.lost == 0 && report.delivered == total && total > 0,
            format!(
                "{} of {total}; lost e.g. {:?}",
                report.delivered, report.lost_examples
            ),
        ),
        (
            "exactly once",
            report.duplicates == 0,
            format!("{} duplicates", report.duplicates),
        ),
        (
            "in per-sender order",
            report.out_of_order == 0,
            format!("{} inversions", report.out_of_order),
        ),
        (
            "bodies intact",
            report.body_mismatch == 0,
            format!("{} mismatches", report.body_mismatch),
        ),
        (
            "no accepted send ended failed",
            report.sender_failed_state == 0,
            format!("{}", report.sender_failed_state),
        ),
        (
            "drained: outboxes and relay mailboxes empty",
            report.mailboxes_empty,
            String::new(),
        ),
        (
            "no secret or body in any log",
            report.leaks.is_empty(),
            format!("{} leaks", report.leaks.len()),
        ),
        (
            "no body at rest on the relay",
            report.at_rest_leaks == 0,
            format!("{}", report.at_rest_leaks),
        ),
        ("the flood met 429s", flood_429 > 0, format!("{flood_429}")),
        (
            "others never throttled",
            report.probe_429 == 0,
            format!("{}", report.probe_429),
        ),
        (
            "others' p99 under 200 ms",
            !report.probe_latencies.is_empty() && p99 < P99_BOUND,
            ms(p99),
        ),
        (
            "SQLite files intact",
            report.integrity.values().all(|r| r == "ok"),
            format!("{:?}", report.integrity),
        ),
    ];
    if report.tmpfs.is_some() {
        checks.push((
            "the relay's disk filled up",
            report.disk_full_seen,
            report.disk_phase.clone(),
        ));
    }
    checks
}
