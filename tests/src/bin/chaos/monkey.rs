//! The monkey: the seeded schedule of `kill -9`s and restarts of the relay
//! and the daemons, and the disk phase (the relay's tmpfs filled while the
//! away user is gone, then freed).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use e2e::{Daemon, Relay};
use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng};

use crate::phase::Shared;
use crate::stage::chatd_env;
use crate::tmpfs::{fill, free};
use crate::{AWAY, count};

/// When and for how long.
pub struct Schedule {
    /// The run's seed.
    pub seed: u64,
    /// How long the chaos lasts.
    pub length: Duration,
}

/// What the chaos thread did.
#[derive(Default)]
pub struct Chaos {
    /// `kill -9`s by victim (`relay`, `chatd NAME`).
    pub kills: BTreeMap<String, u64>,
    /// Times the relay was found to have exited by itself.
    pub relay_self_exits: u64,
    /// How the disk phase went, in words.
    pub disk_phase: String,
}

/// Where the disk phase is.
enum Disk {
    Before,
    Filling {
        since: Instant,
        full_at: Option<Instant>,
    },
    Freed,
}

/// Kills and restarts the relay and the daemons at random, and runs the
/// disk phase: carol's daemon goes away, the relay's disk is filled to the
/// brim, alice and bob send carol big messages until the relay's commits
/// fail for want of space (then the relay is `kill -9`ed and restarted on
/// the full disk), then the space is freed and carol comes back.
pub fn chaos_monkey(
    schedule: Schedule,
    relay: &mut Relay,
    daemons: &mut [Daemon],
    disk: Option<&Path>,
    relay_log: &Path,
    shared: &Shared,
) -> Chaos {
    let mut rng = StdRng::seed_from_u64(schedule.seed ^ 0xC4A0_5EED);
    let mut out = Chaos::default();
    let start = Instant::now();
    let len = schedule.length;
    let fill_at = len.mul_f64(0.3).max(Duration::from_secs(4));
    let fill_for = len.mul_f64(0.3).max(Duration::from_secs(8));
    let hold = Duration::from_secs(3);
    let mut disk_state = if disk.is_some() {
        Disk::Before
    } else {
        out.disk_phase = "skipped (no tmpfs)".into();
        Disk::Freed
    };
    let (gap_lo, gap_hi) = if len.as_secs() >= 60 {
        (2.0, 6.0)
    } else {
        (1.5, 4.0)
    };
    let mut next_kill = Duration::from_secs_f64(rng.random_range(gap_lo..gap_hi));
    let mut log_offset = 0u64;
    let away = daemons
        .iter()
        .position(|d| d.name == AWAY)
        .expect("the away user");
    while start.elapsed() < len {
        let now = Instant::now();
        // The disk phase.
        match &mut disk_state {
            Disk::Before if start.elapsed() >= fill_at => {
                daemons[away].kill9();
                *out.kills.entry(format!("chatd {AWAY}")).or_default() += 1;
                let filled = fill(disk.expect("tmpfs"));
                println!(
                    "chaos: t={:.1?} {AWAY} away, relay disk filled ({filled} MB filler)",
                    start.elapsed()
                );
                shared.filling.store(true, Ordering::SeqCst);
                disk_state = Disk::Filling {
                    since: now,
                    full_at: None,
                };
            }
            Disk::Filling { since, full_at } => {
                if full_at.is_none() && log_grew_with(relay_log, &mut log_offset, "disk is full") {
                    *full_at = Some(now);
                    println!(
                        "chaos: t={:.1?} the relay's commits fail: disk full; kill -9 and restart it on the full disk",
                        start.elapsed()
                    );
                    // A crash on a full disk: recovery must not need room.
                    relay.kill9();
                    *out.kills.entry("relay".into()).or_default() += 1;
                    relay.start_again();
                }
                let held = full_at.is_some_and(|t| now - t >= hold);
                if held || now - *since >= fill_for {
                    shared.filling.store(false, Ordering::SeqCst);
                    free(disk.expect("tmpfs"));
                    out.disk_phase = match full_at {
                        Some(t) => format!(
                            "full after {:.1?}, held {:.1?}, then freed",
                            *t - *since,
                            now - *t
                        ),
                        None => format!("never full within {:.1?}", now - *since),
                    };
                    daemons[away].start_again(&chatd_env());
                    println!(
                        "chaos: t={:.1?} relay disk freed, {AWAY} back",
                        start.elapsed()
                    );
                    disk_state = Disk::Freed;
                }
            }
            _ => {}
        }
        // A relay that exited by itself (e.g. could not open its store) is
        // noted and started again.
        if !relay.is_running() {
            out.relay_self_exits += 1;
            println!(
                "chaos: t={:.1?} the relay exited by itself; starting it again",
                start.elapsed()
            );
            relay.kill9();
            relay.start_again();
        }
        if start.elapsed() >= next_kill {
            let parked = matches!(disk_state, Disk::Filling { .. });
            let pick = rng.random_range(0..10);
            let down = Duration::from_millis(rng.random_range(100..1500));
            match pick {
                0..4 => {
                    relay.kill9();
                    *out.kills.entry("relay".into()).or_default() += 1;
                    std::thread::sleep(down);
                    relay.start_again();
                }
                _ => {
                    let i = (pick as usize - 4) % daemons.len();
                    if !(parked && i == away) {
                        daemons[i].kill9();
                        *out.kills
                            .entry(format!("chatd {}", daemons[i].name))
                            .or_default() += 1;
                        std::thread::sleep(down);
                        daemons[i].start_again(&chatd_env());
                    }
                }
            }
            next_kill = start.elapsed() + Duration::from_secs_f64(rng.random_range(gap_lo..gap_hi));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if let Disk::Filling { .. } = disk_state {
        shared.filling.store(false, Ordering::SeqCst);
        free(disk.expect("tmpfs"));
        daemons[away].start_again(&chatd_env());
        out.disk_phase = "freed at the end".into();
    }
    out
}

/// Whether `log` got a line containing `what` since `offset` (moved on).
fn log_grew_with(log: &Path, offset: &mut u64, what: &str) -> bool {
    let Ok(bytes) = std::fs::read(log) else {
        return false;
    };
    let new = &bytes[(*offset as usize).min(bytes.len())..];
    *offset = bytes.len() as u64;
    count(new, what.as_bytes()) > 0
}
