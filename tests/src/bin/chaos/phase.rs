//! The chaos phase: the users, the flood and the probes run on threads of
//! their own while the monkey kills, fills and restarts; when the monkey's
//! time is up, everyone stops.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::USERS;
use crate::cli::Args;
use crate::load::{Flood, Probe, SenderLog, Sent, flooder, prober, sender};
use crate::monkey::{Chaos, Schedule, chaos_monkey};
use crate::report::Report;
use crate::stage::Stage;

/// Flags the chaos thread raises for the others.
pub struct Shared {
    /// When the phase started.
    pub t0: Instant,
    /// Set when the monkey is done: everyone stops.
    pub stop: AtomicBool,
    /// While set, alice and bob send every other message to carol as a big one.
    pub filling: AtomicBool,
}

/// Sleeps for `d`, or less when the phase stops meanwhile.
pub fn sleep_unless_stopped(d: Duration, shared: &Shared) {
    let until = Instant::now() + d;
    while Instant::now() < until && !shared.stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(20).min(until - Instant::now()));
    }
}

/// What the threads measured.
pub struct Outcome {
    /// Each user's sends, in the order of [`USERS`].
    senders: Vec<SenderLog>,
    /// The flooder's.
    flood: Flood,
    /// The probes'.
    probe: Probe,
    /// The monkey's.
    chaos: Chaos,
}

/// Runs the chaos phase for `args.seconds` on `stage`; every body carries `run_tag`.
pub fn run(args: &Args, stage: &mut Stage, run_tag: &str) -> Outcome {
    let shared = Shared {
        t0: Instant::now(),
        stop: AtomicBool::new(false),
        filling: AtomicBool::new(false),
    };
    let relay_log = stage.relay_log();
    let Stage {
        world,
        daemons,
        mount,
        relay_dir,
        url,
        flood_token,
        probe_tokens,
        ..
    } = stage;
    let sockets: Vec<PathBuf> = daemons.iter().map(|d| d.socket.clone()).collect();
    let chaos_len = Duration::from_secs(args.seconds);

    std::thread::scope(|s| {
        let senders: Vec<_> = USERS
            .iter()
            .enumerate()
            .map(|(i, &me)| {
                let (shared, socket, tag) = (&shared, sockets[i].clone(), run_tag);
                let seed = args.seed.wrapping_mul(31).wrapping_add(i as u64);
                s.spawn(move || sender(me, &socket, tag, seed, shared))
            })
            .collect();
        let flood = {
            let (shared, url, token) = (&shared, url.clone(), flood_token.clone());
            let seed = args.seed.wrapping_add(1000);
            let on = !args.no_flood;
            s.spawn(move || {
                if on {
                    flooder(&url, &token, seed, shared)
                } else {
                    Flood::default()
                }
            })
        };
        let probe = {
            let (shared, url, tokens) = (&shared, url.clone(), probe_tokens.clone());
            s.spawn(move || prober(&url, &tokens, shared))
        };
        let chaos = {
            let shared = &shared;
            let relay = &mut world.relay;
            let disk = mount.is_some().then_some(relay_dir.as_path());
            let relay_log = relay_log.as_path();
            s.spawn(move || {
                let out = chaos_monkey(
                    Schedule {
                        seed: args.seed,
                        length: chaos_len,
                    },
                    relay,
                    daemons,
                    disk,
                    relay_log,
                    shared,
                );
                shared.stop.store(true, Ordering::SeqCst);
                out
            })
        };
        let chaos = chaos.join().expect("chaos thread");
        let senders: Vec<SenderLog> = senders
            .into_iter()
            .map(|h| h.join().expect("sender thread"))
            .collect();
        Outcome {
            senders,
            flood: flood.join().expect("flood thread"),
            probe: probe.join().expect("probe thread"),
            chaos,
        }
    })
}

impl Outcome {
    /// Adds what the threads measured to `report`; returns every accepted send.
    pub fn tally(self, report: &mut Report) -> Vec<Sent> {
        let Outcome {
            senders,
            flood,
            probe,
            chaos,
        } = self;
        let mut sent: Vec<Sent> = Vec::new();
        for log in senders {
            sent.extend(log.accepted);
            for (code, n) in log.failed {
                *report.send_failures.entry(code).or_default() += n;
            }
            report.send_latencies.extend(log.latencies);
        }
        for s in &sent {
            *report.accepted.entry(s.from).or_default() += 1;
            report.accepted_big += s.big as u64;
        }
        report.kills = chaos.kills;
        report.relay_self_exits = chaos.relay_self_exits;
        report.disk_phase = chaos.disk_phase;
        report.flood_total = flood.total;
        report.flood_codes = flood.codes;
        report.flood_errors = flood.errors;
        report.flood_secs = flood.secs;
        report.probe_latencies = probe.latencies;
        report.probe_429 = probe.throttled;
        report.probe_other = probe.other;
        report.probe_errors = probe.errors;
        sent
    }
}
