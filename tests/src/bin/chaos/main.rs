//! `chaos` (run it with `scripts/chaos`): a soak test bounded in time.
//!
//! Three users (alice, bob, carol) chat without pause through `chat-ctl`
//! while, at seeded random moments, the relay and the daemons are `kill -9`ed
//! and restarted; the relay's disk (a small tmpfs) fills up while carol is
//! away and mail for her piles up, then is freed; and a fourth client with a
//! valid token floods the relay with garbage. Then the chaos stops, the
//! backlog drains, and every check must hold:
//!
//! - every message whose `chat-ctl send` succeeded (queued durably by chatd)
//!   is at its recipient exactly once, with its body, in the order it was sent;
//! - no log (relay, daemons, notifications) holds a message body, a
//!   password, a session token or private key material; nor does the relay's
//!   database hold a body;
//! - the flood met 429s, while the other users' relay requests (a probe per
//!   user: `GET /v1/messages?wait=0&limit=1` with that user's own session)
//!   kept a p99 under 200 ms and were never throttled;
//! - the relay's and the daemons' SQLite files pass `PRAGMA integrity_check`.
//!
//! Real processes and files throughout (see tests/src/lib.rs). The seed fixes
//! the schedule (who is killed when, for how long, what is sent to whom);
//! process timing is of course the machine's.
//!
//! The run, step by step, is [`run`]: [`stage`] sets everything up, [`phase`]
//! runs the [`load`] (users, flood, probes) against the [`monkey`] (kills, the
//! full disk on a [`tmpfs`]), [`drain`] waits for the backlog, [`checks`]
//! judges and [`report`] prints. [`watchdog`] bounds it all in time.

mod checks;
mod cli;
mod drain;
mod keyring;
mod load;
mod monkey;
mod phase;
mod report;
mod stage;
mod tmpfs;
mod watchdog;

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng};

use cli::{Args, parse_args};
use report::Report;
use stage::Stage;
use watchdog::{Cleanup, watchdog};

/// The users who chat, each with a daemon of their own.
const USERS: [&str; 3] = ["alice", "bob", "carol"];
/// Who is away while the disk fills, so that mail for them piles up.
const AWAY: &str = "carol";
/// The flooder's account: a user without a daemon.
const FLOODER: &str = "mallory";
/// The flooder's password.
const FLOOD_PASSWORD: &str = "mallory-flood-password";

fn main() -> ExitCode {
    let args = parse_args();
    println!(
        "chaos: seed {} for {} s (drain up to {} s)",
        args.seed, args.seconds, args.drain
    );
    let cleanup = Arc::new(Mutex::new(Cleanup::default()));
    watchdog(
        Duration::from_secs(args.seconds + args.drain + 120),
        cleanup.clone(),
    );
    let report = run(&args, &cleanup);
    let ok = report.print();
    println!(
        "chaos: {} (seed {}, {} s)",
        if ok { "PASS" } else { "FAIL" },
        args.seed,
        args.seconds
    );
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The run: set up, chaos, drain, checks, teardown; what it measured.
fn run(args: &Args, cleanup: &Arc<Mutex<Cleanup>>) -> Report {
    let t0 = Instant::now();
    let mut report = Report {
        seconds: args.seconds,
        ..Report::default()
    };
    let mut stage = Stage::set_up(cleanup);
    report.tmpfs = stage.mount.is_some().then(|| tmpfs::TMPFS_SIZE.into());
    report.setup = t0.elapsed();
    println!("chaos: set up in {:.1?}; chaos starts", report.setup);

    let run_tag = run_tag(args.seed);
    let outcome = phase::run(args, &mut stage, &run_tag);
    println!(
        "chaos: chaos over after {:.1?}; draining",
        t0.elapsed() - report.setup
    );
    stage.bring_back_up();
    let sent = outcome.tally(&mut report);

    let incoming = drain::wait(&stage, &sent, args.drain, &mut report);
    checks::delivery(&sent, &incoming, &stage.daemons, &run_tag, &mut report);
    checks::secrets_in_logs(&stage, &run_tag, &mut report);
    // Crash everything one last time, then check the files it left.
    stage.crash_everything();
    checks::bodies_at_rest(&stage.relay_dir, &run_tag, &mut report);
    checks::sqlite_integrity(&stage, &mut report);
    checks::counts_from_logs(&stage, &mut report);
    stage.tear_down();
    report
}

/// Marks every body of the run: fixed by the seed, easy to find in a file.
fn run_tag(seed: u64) -> String {
    format!("CHAOS{:08x}", StdRng::seed_from_u64(seed).random::<u32>())
}

/// How often `needle` occurs in `hay` (overlaps included).
fn count(hay: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() || hay.len() < needle.len() {
        return 0;
    }
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}
