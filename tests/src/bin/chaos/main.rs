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

use std::collections::{BTreeMap, HashMap};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use e2e::{Daemon, Relay, Setup, World, bin, runtime, wait_exit};
use rand::rngs::StdRng;
use rand::{Rng as _, RngExt as _, SeedableRng};

const USERS: [&str; 3] = ["alice", "bob", "carol"];
/// Who is away while the disk fills, so that mail for them piles up.
const AWAY: &str = "carol";
const FLOODER: &str = "mallory";
const FLOOD_PASSWORD: &str = "mallory-flood-password";
/// Concurrent requests the flooder keeps in flight.
const FLOOD_CONCURRENCY: usize = 16;
/// Latency bound for the other users' requests.
const P99_BOUND: Duration = Duration::from_millis(200);
/// Size of the relay's tmpfs before the disk phase, and after it.
const TMPFS_SIZE: &str = "64m";
const TMPFS_FREED: &str = "512m";
/// Room left on the relay's disk when the filler is written.
const FILL_LEAVE: u64 = 256 * 1024;
/// Body size of the messages sent to the away user while the disk fills.
const BIG_BODY: usize = 512 * 1024;

struct Args {
    seconds: u64,
    seed: u64,
    drain: u64,
    /// No flooder: a baseline for the latencies.
    no_flood: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: chaos [--seconds N] [--quick] [--seed S] [--drain N]\n\
         \x20 --seconds N  length of the chaos phase (default 120)\n\
         \x20 --quick      --seconds 30\n\
         \x20 --seed S     fixes the schedule (default: random, printed)\n\
         \x20 --drain N    longest wait for the backlog to drain (default 90)\n\
         \x20 --no-flood   no garbage flood (a latency baseline; the 429 check fails)"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        seconds: 120,
        seed: rand::random::<u64>() % 1_000_000,
        drain: 90,
        no_flood: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let num = |it: &mut dyn Iterator<Item = String>| -> u64 {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage())
        };
        match a.as_str() {
            "--seconds" => args.seconds = num(&mut it),
            "--quick" => args.seconds = 30,
            "--seed" => args.seed = num(&mut it),
            "--drain" => args.drain = num(&mut it),
            "--no-flood" => args.no_flood = true,
            "--dump-secrets" => {
                let dir = it.next().unwrap_or_else(|| usage());
                dump_secrets(Path::new(&dir));
                std::process::exit(0);
            }
            _ => usage(),
        }
    }
    if args.seconds < 10 {
        eprintln!("chaos: --seconds must be at least 10");
        std::process::exit(2);
    }
    args
}

/// Internal mode: prints a daemon's keyring secrets (the environment is the
/// daemon's), base64, one `name value` per line. A child process, so the
/// main process never has to point its own D-Bus environment at the test bus.
fn dump_secrets(data_dir: &Path) {
    use chatd::keystore::{KeyringStore, Keystore as _, names};
    let store = KeyringStore::open(data_dir).expect("keyring");
    for name in names::ALL {
        if let Some(secret) = store.get(name).expect("keyring read") {
            println!("{name} {}", B64.encode(secret.expose_secret()));
        }
    }
}

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

/// What the watchdog undoes when the run overstays its hard timeout.
#[derive(Default)]
struct Cleanup {
    mount: Option<PathBuf>,
    dir: Option<PathBuf>,
}

/// Set by SIGINT/SIGTERM (Ctrl-C): the watchdog then cleans up at once.
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_interrupt(_: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Kills the run (and its direct children: relay, daemons, bus, keyring,
/// chat-ctl) after `limit` or on Ctrl-C/SIGTERM, unmounts the tmpfs and
/// removes the temp dir. (Handlers reset at exec: children keep the default
/// dispositions, so the harness's own SIGTERMs still stop them.)
fn watchdog(limit: Duration, cleanup: Arc<Mutex<Cleanup>>) {
    // SAFETY: installs a handler that only stores to an atomic.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_interrupt as *const () as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGTERM,
            on_interrupt as *const () as libc::sighandler_t,
        );
    }
    let started = std::time::Instant::now();
    std::thread::spawn(move || {
        let interrupted = loop {
            if INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
                break true;
            }
            if started.elapsed() >= limit {
                break false;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        if interrupted {
            eprintln!("chaos: interrupted; stopping everything and cleaning up");
        } else {
            eprintln!("chaos: hard timeout after {limit:?}; killing everything");
        }
        let me = std::process::id().to_string();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // pid (comm) state ppid …; comm may hold spaces, so split after ')'.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1));
            if ppid == Some(me.as_str())
                && let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>()
            {
                // SAFETY: kill(2) on our own child.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
        let c = cleanup.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = &c.mount {
            let _ = Command::new("umount").arg("-l").arg(m).status();
        }
        if let Some(d) = &c.dir {
            let _ = std::fs::remove_dir_all(d);
        }
        std::process::exit(if interrupted { 130 } else { 3 });
    });
}

/// The daemons' environment: `CHATD_LOG` from `CHAOS_CHATD_LOG` when set
/// (e.g. `debug`, to scan more talkative logs for leaks), else the harness's.
fn chatd_env() -> Vec<(&'static str, &'static str)> {
    static LEVEL: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    LEVEL
        .get_or_init(|| std::env::var("CHAOS_CHATD_LOG").ok())
        .as_deref()
        .map(|l| ("CHATD_LOG", l))
        .into_iter()
        .collect()
}

/// The relay's tmpfs, unmounted (lazily) on drop.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn mount_tmpfs(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let out = Command::new("mount")
        .args(["-t", "tmpfs", "-o"])
        .arg(format!("size={TMPFS_SIZE},mode=0700"))
        .arg("tmpfs")
        .arg(dir)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// One `chat-ctl send` that succeeded.
#[derive(Clone)]
struct Sent {
    from: &'static str,
    to: &'static str,
    id: String,
    body: String,
    big: bool,
}

/// What a sender thread did.
#[derive(Default)]
struct SenderLog {
    accepted: Vec<Sent>,
    /// Failed sends by chat-ctl exit code (-1: killed after 30 s).
    failed: BTreeMap<i32, u64>,
    /// Wall time of each successful `chat-ctl send`, and whether it was big.
    latencies: Vec<(Duration, bool)>,
}

/// Flags the chaos thread raises for the others.
struct Shared {
    t0: Instant,
    stop: AtomicBool,
    /// While set, alice and bob send every other message to carol as a big one.
    filling: AtomicBool,
}

/// Everything the run measured.
#[derive(Default)]
struct Report {
    seconds: u64,
    tmpfs: Option<String>,
    setup: Duration,
    drained_after: Option<Duration>,
    accepted: BTreeMap<&'static str, u64>,
    accepted_big: u64,
    send_failures: BTreeMap<i32, u64>,
    delivered: u64,
    lost: u64,
    lost_examples: Vec<String>,
    duplicates: u64,
    out_of_order: u64,
    body_mismatch: u64,
    unconfirmed_delivered: u64,
    sender_failed_state: u64,
    kills: BTreeMap<String, u64>,
    relay_self_exits: u64,
    disk_full_commits: u64,
    disk_full_seen: bool,
    disk_phase: String,
    daemon_retries: u64,
    flood_total: u64,
    flood_codes: BTreeMap<u16, u64>,
    flood_errors: u64,
    flood_secs: f64,
    probe_latencies: Vec<Duration>,
    probe_429: u64,
    probe_other: BTreeMap<u16, u64>,
    probe_errors: u64,
    send_latencies: Vec<(Duration, bool)>,
    leaks: Vec<String>,
    needles: usize,
    at_rest_leaks: u64,
    integrity: BTreeMap<String, String>,
    mailboxes_empty: bool,
}

fn run(args: &Args, cleanup: &Arc<Mutex<Cleanup>>) -> Report {
    let t0 = Instant::now();
    let mut report = Report {
        seconds: args.seconds,
        ..Report::default()
    };
    let logs = tempfile::Builder::new()
        .prefix("chaos-logs-")
        .tempdir()
        .expect("log dir");
    let mount_result = Arc::new(Mutex::new(None::<Result<(), String>>));
    let mr = mount_result.clone();
    let mut world = World::start_with(Setup {
        relay_dir: Some(Box::new(move |dir: &Path| {
            *mr.lock().unwrap() = Some(mount_tmpfs(dir));
        })),
        log_dir: Some(logs.path().to_owned()),
    });
    let relay_dir = world.relay.data_dir().to_owned();
    let mount = match mount_result.lock().unwrap().take() {
        Some(Ok(())) => {
            report.tmpfs = Some(TMPFS_SIZE.into());
            cleanup.lock().unwrap().mount = Some(relay_dir.clone());
            Some(Mount(relay_dir.clone()))
        }
        Some(Err(e)) => {
            println!("chaos: cannot mount a tmpfs for the relay ({e}); the disk phase is skipped");
            None
        }
        None => None,
    };
    cleanup.lock().unwrap().dir = Some(world.dir.path().to_owned());

    // Three users, all contacts of each other.
    let mut daemons: Vec<Daemon> = USERS
        .iter()
        .map(|u| world.daemon_with(u, &[], &chatd_env()))
        .collect();
    for d in &daemons {
        d.register(&world.relay);
    }
    for a in &daemons {
        for b in &daemons {
            if a.name != b.name {
                a.add_contact(b);
            }
        }
    }
    // The flooder: a real account with a real card and a valid token.
    let api = world.relay.api();
    let mallory =
        chatd::crypto::Identity::generate(FLOODER, chatd::crypto::KeyBits::B2048, &mut rand::rng())
            .expect("keys");
    let reply = api.register(FLOODER, FLOOD_PASSWORD, mallory.card().to_value());
    assert_eq!(reply.status, 201, "register the flooder: {reply:?}");
    let flood_token = api.login(FLOODER, FLOOD_PASSWORD);
    // Each user's probe has a session of its own (as a second device would).
    let probe_tokens: Vec<(String, String)> = USERS
        .iter()
        .map(|u| (u.to_string(), api.login(u, &format!("{u}-password"))))
        .collect();
    drop(api);
    report.setup = t0.elapsed();
    println!("chaos: set up in {:.1?}; chaos starts", report.setup);

    let run_tag = format!(
        "CHAOS{:08x}",
        StdRng::seed_from_u64(args.seed).random::<u32>()
    );
    let shared = Shared {
        t0: Instant::now(),
        stop: AtomicBool::new(false),
        filling: AtomicBool::new(false),
    };
    let url = world.relay.url.clone();
    let sockets: Vec<PathBuf> = daemons.iter().map(|d| d.socket.clone()).collect();
    let chaos_len = Duration::from_secs(args.seconds);
    let relay_log = logs.path().join("relay.log");

    let (senders, flood, probe, chaos) = std::thread::scope(|s| {
        let senders: Vec<_> = USERS
            .iter()
            .enumerate()
            .map(|(i, &me)| {
                let (shared, socket, tag) = (&shared, sockets[i].clone(), run_tag.as_str());
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
            let daemons = &mut daemons;
            let disk = report.tmpfs.is_some().then_some(relay_dir.as_path());
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
        (
            senders,
            flood.join().expect("flood thread"),
            probe.join().expect("probe thread"),
            chaos,
        )
    });
    println!(
        "chaos: chaos over after {:.1?}; draining",
        t0.elapsed() - report.setup
    );

    // Everything back up, whatever state the chaos left it in.
    if !world.relay.is_running() {
        world.relay.start_again();
    }
    for d in &mut daemons {
        if !d.is_running() {
            d.start_again(&chatd_env());
        }
    }

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

    // Drain: until every accepted message is in, every outbox empty and
    // every mailbox at the relay acked, or the bound.
    let drain_start = Instant::now();
    let api = world.relay.api();
    let mut logs_now;
    loop {
        logs_now = collect_logs(&daemons);
        let missing = sent
            .iter()
            .filter(|s| !logs_now[s.to].iter().any(|m| m["id"] == s.id.as_str()))
            .count();
        let outbox: u64 = daemons
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
        let mailboxes = probe_tokens
            .iter()
            .map(|(_, t)| pending_count(&url, t))
            .fold(0, u64::saturating_add);
        if missing == 0 && outbox == 0 && mailboxes == 0 {
            report.drained_after = Some(drain_start.elapsed());
            report.mailboxes_empty = true;
            break;
        }
        if drain_start.elapsed() > Duration::from_secs(args.drain) {
            println!(
                "chaos: not drained after {} s: {missing} accepted messages missing, outboxes {outbox}, relay mailboxes {mailboxes}",
                args.drain
            );
            break;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    drop(api);
    check_delivery(&sent, &logs_now, &daemons, &run_tag, &mut report);

    // Secrets for the log scan, read back from each daemon's keyring.
    let mut needles: Vec<(String, Vec<u8>)> =
        vec![("body marker".into(), run_tag.as_bytes().to_vec())];
    for u in USERS {
        needles.push((
            format!("{u}'s password"),
            format!("{u}-password").into_bytes(),
        ));
    }
    needles.push(("flooder's password".into(), FLOOD_PASSWORD.into()));
    needles.push(("keyring password".into(), b"e2e-keyring-password".to_vec()));
    needles.push(("flooder's token".into(), flood_token.clone().into_bytes()));
    for (u, t) in &probe_tokens {
        needles.push((format!("{u}'s probe token"), t.clone().into_bytes()));
    }
    for d in &daemons {
        for (name, secret) in keyring_secrets(&world, d) {
            if name == chatd::keystore::names::PASSWORD {
                continue; // the password, already a needle
            }
            let what = format!("{}'s {name}", d.name);
            if name == chatd::keystore::names::TOKEN {
                needles.push((what, secret));
                continue;
            }
            // Private keys: windows of their base64 and hex, as a log line
            // would show a key or a slice of it.
            let b64 = B64.encode(&secret);
            for (k, w) in b64.as_bytes().chunks(40).enumerate() {
                if w.len() == 40 {
                    needles.push((format!("{what} (base64 @{})", k * 40), w.to_vec()));
                }
            }
            for (k, w) in secret.chunks(24).enumerate() {
                if w.len() == 24 {
                    let hex: String = w.iter().map(|b| format!("{b:02x}")).collect();
                    needles.push((format!("{what} (hex @{})", k * 24), hex.into_bytes()));
                }
            }
        }
    }
    report.needles = needles.len();
    let mut scanned: Vec<PathBuf> = std::fs::read_dir(logs.path())
        .expect("log dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    scanned.push(world.dir.path().join("notify.log"));
    for file in &scanned {
        let bytes = std::fs::read(file).unwrap_or_default();
        for (what, needle) in &needles {
            let n = count(&bytes, needle);
            if n > 0 {
                report.leaks.push(format!(
                    "{what} ×{n} in {}",
                    file.file_name().unwrap_or_default().to_string_lossy()
                ));
            }
        }
    }

    // Crash everything one last time, then check the files it left.
    world.relay.kill9();
    for name in ["relay.db", "relay.db-wal"] {
        let bytes = std::fs::read(relay_dir.join(name)).unwrap_or_default();
        report.at_rest_leaks += count(&bytes, run_tag.as_bytes()) as u64;
    }
    report
        .integrity
        .insert("relay.db".into(), integrity(&relay_dir.join("relay.db")));
    for d in &mut daemons {
        d.kill9();
        report.integrity.insert(
            format!("{}'s chatd.db", d.name),
            integrity(&d.data_dir.join("chatd.db")),
        );
    }

    // Counts from the logs: commits that failed on the full disk, and the
    // daemons' deferred PUTs.
    let relay_text = std::fs::read_to_string(&relay_log).unwrap_or_default();
    report.disk_full_commits = relay_text
        .lines()
        .filter(|l| l.contains("store commit failed") && l.contains("full"))
        .count() as u64;
    report.disk_full_seen = relay_text.contains("disk is full");
    for u in USERS {
        let text =
            std::fs::read_to_string(logs.path().join(format!("chatd-{u}.log"))).unwrap_or_default();
        report.daemon_retries += text.lines().filter(|l| l.contains("will retry")).count() as u64;
    }
    if std::env::var_os("CHAOS_KEEP_LOGS").is_some() {
        let kept = logs.keep();
        println!("chaos: logs kept in {}", kept.display());
    }
    drop(daemons);
    drop(mount);
    report
}

/// Incoming messages per user (both peers, oldest first per peer).
fn collect_logs(daemons: &[Daemon]) -> HashMap<&'static str, Vec<serde_json::Value>> {
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

fn check_delivery(
    sent: &[Sent],
    incoming: &HashMap<&'static str, Vec<serde_json::Value>>,
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

/// Each secret in `d`'s keyring.
fn keyring_secrets(world: &World, d: &Daemon) -> Vec<(String, Vec<u8>)> {
    let out = Command::new(bin("chaos"))
        .arg("--dump-secrets")
        .arg(&d.data_dir)
        .env("DBUS_SESSION_BUS_ADDRESS", &world.bus)
        .env("HOME", world.home())
        .env("XDG_DATA_HOME", world.home().join(".local/share"))
        .output()
        .expect("run chaos --dump-secrets");
    assert!(
        out.status.success(),
        "dump {}'s secrets: {}",
        d.name,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, v)| (n.to_owned(), B64.decode(v).expect("base64")))
        .collect()
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() || hay.len() < needle.len() {
        return 0;
    }
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

fn integrity(db: &Path) -> String {
    match rusqlite::Connection::open(db) {
        Ok(c) => c
            .query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
            .unwrap_or_else(|e| e.to_string()),
        Err(e) => e.to_string(),
    }
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

/// A user typing: `chat-ctl send` to a random other user, again and again.
fn sender(me: &'static str, socket: &Path, tag: &str, seed: u64, shared: &Shared) -> SenderLog {
    let mut rng = StdRng::seed_from_u64(seed);
    let others: Vec<&'static str> = USERS.iter().copied().filter(|u| *u != me).collect();
    let mut log = SenderLog::default();
    let mut n = 0u64;
    while !shared.stop.load(Ordering::SeqCst) {
        n += 1;
        let big = me != AWAY && shared.filling.load(Ordering::SeqCst) && n.is_multiple_of(2);
        let to = if big {
            AWAY
        } else {
            others[rng.random_range(0..others.len())]
        };
        // Unique and recognisable: the run's tag, sender, recipient, number.
        let mut body = format!("{tag} {me}>{to} #{n:06} ");
        let words = [
            "build",
            "green",
            "lunch?",
            "ok",
            "ünïcödé",
            "🚀",
            "see log",
            "ack",
        ];
        for _ in 0..rng.random_range(1..12) {
            body.push_str(words[rng.random_range(0..words.len())]);
            body.push(' ');
        }
        if big {
            let mut filler = vec![0u8; BIG_BODY / 4 * 3];
            rng.fill_bytes(&mut filler);
            body.push_str(&B64.encode(&filler));
        }
        let started = Instant::now();
        let (code, stdout) = ctl_send(socket, to, &body);
        let took = started.elapsed();
        if std::env::var_os("CHAOS_DEBUG").is_some() && took > Duration::from_millis(150) {
            eprintln!(
                "slow send {me}>{to} big={big} code={code} {took:?} at {:?}",
                shared.t0.elapsed()
            );
        }
        if code == 0 {
            let id = serde_json::from_str::<serde_json::Value>(&stdout)
                .ok()
                .and_then(|v| v["id"].as_str().map(str::to_owned));
            match id {
                Some(id) => {
                    log.latencies.push((took, big));
                    log.accepted.push(Sent {
                        from: me,
                        to,
                        id,
                        body,
                        big,
                    });
                }
                None => *log.failed.entry(-2).or_default() += 1,
            }
        } else {
            *log.failed.entry(code).or_default() += 1;
        }
        sleep_unless_stopped(Duration::from_millis(rng.random_range(50..250)), shared);
    }
    log
}

/// `chat-ctl --socket S --json send TO -` with `body` on stdin: (exit code, stdout).
fn ctl_send(socket: &Path, to: &str, body: &str) -> (i32, String) {
    let mut child = Command::new(bin("chat-ctl"))
        .arg("--socket")
        .arg(socket)
        .args(["--json", "send", to, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run chat-ctl");
    let _ = child.stdin.take().unwrap().write_all(body.as_bytes());
    match wait_exit(&mut child, Duration::from_secs(30)) {
        Some(status) => {
            let mut out = String::new();
            let _ = child.stdout.take().unwrap().read_to_string(&mut out);
            (status.code().unwrap_or(-1), out)
        }
        None => {
            let _ = child.kill();
            let _ = child.wait();
            (-1, String::new())
        }
    }
}

fn sleep_unless_stopped(d: Duration, shared: &Shared) {
    let until = Instant::now() + d;
    while Instant::now() < until && !shared.stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(20).min(until - Instant::now()));
    }
}

/// What the flooder got.
#[derive(Default)]
struct Flood {
    total: u64,
    codes: BTreeMap<u16, u64>,
    errors: u64,
    secs: f64,
}

/// A client with a valid token sending junk as fast as the relay answers.
fn flooder(url: &str, token: &str, seed: u64, shared: &Shared) -> Flood {
    let started = Instant::now();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(FLOOD_CONCURRENCY)
        .build()
        .expect("http client");
    let codes = Mutex::new(BTreeMap::<u16, u64>::new());
    let errors = AtomicU64::new(0);
    let total = AtomicU64::new(0);
    // The flooder stands for a client on another machine: its own CPU time
    // is not the system's under test, so its threads yield to everyone else
    // (nice 19). The relay's work answering it is measured as it is.
    nice_this_thread();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_start(nice_this_thread)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let tasks = (0..FLOOD_CONCURRENCY).map(|t| {
            let (http, codes, errors, total) = (&http, &codes, &errors, &total);
            async move {
                let mut rng = StdRng::seed_from_u64(seed.wrapping_add(t as u64));
                while !shared.stop.load(Ordering::Relaxed) {
                    let req = junk_request(http, url, token, &mut rng);
                    total.fetch_add(1, Ordering::Relaxed);
                    match req.send().await {
                        Ok(r) => {
                            *codes
                                .lock()
                                .unwrap()
                                .entry(r.status().as_u16())
                                .or_default() += 1;
                            let _ = r.bytes().await;
                        }
                        Err(_) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            // The relay is down (killed): do not spin.
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
            }
        });
        futures_join_all(tasks).await;
    });
    Flood {
        total: total.into_inner(),
        codes: codes.into_inner().unwrap(),
        errors: errors.into_inner(),
        secs: started.elapsed().as_secs_f64(),
    }
}

fn nice_this_thread() {
    // SAFETY: setpriority(2) on this thread's own id (Linux: per thread).
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 19);
    }
}

/// Runs futures concurrently on the current task (no extra dependency).
async fn futures_join_all<F: std::future::Future<Output = ()>>(fs: impl Iterator<Item = F>) {
    let mut set = Vec::new();
    for f in fs {
        set.push(Box::pin(f));
    }
    std::future::poll_fn(|cx| {
        set.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if set.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}

fn random_id(rng: &mut StdRng) -> String {
    format!("{:032x}", rng.random::<u128>())
}

fn b64_random(rng: &mut StdRng, n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rng.fill_bytes(&mut bytes);
    B64.encode(bytes)
}

/// One piece of junk: malformed or oversized bodies, bad queries, envelopes
/// that are not the sender's own or go nowhere, unknown routes and methods.
fn junk_request(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    rng: &mut StdRng,
) -> reqwest::RequestBuilder {
    let id = random_id(rng);
    let shaped = |from: &str, to: &str, rng: &mut StdRng| {
        serde_json::json!({"v":1,"id":id,"from":from,"to":to,"ts":1_764_000_000_000u64,
            "wk":b64_random(rng, 256),"iv":b64_random(rng, 16),"ct":b64_random(rng, 272),
            "tag":b64_random(rng, 32),"sig":b64_random(rng, 256)})
        .to_string()
    };
    let put = http
        .put(format!("{url}/v1/messages/{id}"))
        .bearer_auth(token)
        .header("content-type", "application/json");
    match rng.random_range(0..1000) {
        // Oversized: over the 6 MiB body cap.
        0 => put.body(vec![b'{'; 6 * 1024 * 1024 + 4096]),
        1..200 => {
            let mut junk = vec![0u8; rng.random_range(1..2048)];
            rng.fill_bytes(&mut junk);
            put.body(junk)
        }
        200..350 => put.body(r#"{"v":1,"id":"zz","from":[],"ct":null}"#),
        350..450 => put.body(shaped("alice", "bob", rng)),
        450..520 => put.body(shaped(FLOODER, "nobody", rng)),
        520..650 => http
            .post(format!("{url}/v1/messages/ack"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(r#"{"ids":["../../etc/passwd",7,null]}"#),
        650..750 => http
            .get(format!("{url}/v1/messages?wait=9999&limit=0&bogus=1"))
            .bearer_auth(token),
        750..850 => http
            .get(format!("{url}/v1/messages/not-an-id"))
            .bearer_auth(token),
        850..900 => http
            .delete(format!("{url}/v1/messages/{id}"))
            .bearer_auth(token),
        900..950 => http
            .get(format!("{url}/v1/directory?prefix=%00%ff&limit=99999"))
            .bearer_auth(token),
        _ => http
            .get(format!("{url}/v1/{}", random_id(rng)))
            .bearer_auth(token),
    }
}

/// What the probes measured.
#[derive(Default)]
struct Probe {
    latencies: Vec<Duration>,
    throttled: u64,
    other: BTreeMap<u16, u64>,
    errors: u64,
}

/// Each user's own relay requests, timed: `GET /v1/messages?wait=0&limit=1`
/// with the user's session, round robin, about 40 a second. Requests that
/// found the relay down (killed) count as errors, not latencies.
fn prober(url: &str, tokens: &[(String, String)], shared: &Shared) -> Probe {
    let rt = runtime();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client");
    let mut probe = Probe::default();
    let mut i = 0;
    while !shared.stop.load(Ordering::SeqCst) {
        let token = &tokens[i % tokens.len()].1;
        i += 1;
        let started = Instant::now();
        let result = rt.block_on(async {
            let r = http
                .get(format!("{url}/v1/messages?wait=0&limit=1"))
                .bearer_auth(token)
                .send()
                .await?;
            let status = r.status().as_u16();
            r.bytes().await?;
            Ok::<u16, reqwest::Error>(status)
        });
        let took = started.elapsed();
        match result {
            Ok(200 | 204) => probe.latencies.push(took),
            Ok(429) => probe.throttled += 1,
            Ok(code) => *probe.other.entry(code).or_default() += 1,
            Err(_) => probe.errors += 1,
        }
        sleep_unless_stopped(Duration::from_millis(25), shared);
    }
    probe
}

/// When and for how long.
struct Schedule {
    seed: u64,
    length: Duration,
}

/// What the chaos thread did.
#[derive(Default)]
struct Chaos {
    kills: BTreeMap<String, u64>,
    relay_self_exits: u64,
    disk_phase: String,
}

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
fn chaos_monkey(
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

/// Fills the file system at `dir` up to [`FILL_LEAVE`] bytes; returns MB written.
fn fill(dir: &Path) -> u64 {
    let free = free_bytes(dir);
    let want = free.saturating_sub(FILL_LEAVE);
    let mut f = std::fs::File::create(dir.join("filler")).expect("filler");
    let chunk = vec![0x5au8; 1 << 20];
    let mut written = 0u64;
    while written < want {
        let n = chunk.len().min((want - written) as usize);
        if f.write_all(&chunk[..n]).is_err() {
            break;
        }
        written += n as u64;
    }
    written >> 20
}

/// Deletes the filler and makes the file system bigger.
fn free(dir: &Path) {
    let _ = std::fs::remove_file(dir.join("filler"));
    let _ = Command::new("mount")
        .args(["-o"])
        .arg(format!("remount,size={TMPFS_FREED}"))
        .arg(dir)
        .status();
}

fn free_bytes(dir: &Path) -> u64 {
    let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: statvfs(3) fills the zeroed struct we pass.
    unsafe {
        let mut s: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut s) != 0 {
            return 0;
        }
        s.f_bavail as u64 * s.f_frsize as u64
    }
}

fn percentile(samples: &[Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut v = samples.to_vec();
    v.sort();
    let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
    v[i]
}

impl Report {
    /// Prints the table; true when every check holds.
    fn print(&self) -> bool {
        let mut checks: Vec<(&str, bool, String)> = Vec::new();
        let total: u64 = self.accepted.values().sum();
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
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
        let flood_429 = self.flood_codes.get(&429).copied().unwrap_or(0);
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

        checks.push((
            "every accepted message delivered",
            self.lost == 0 && self.delivered == total && total > 0,
            format!(
                "{} of {total}; lost e.g. {:?}",
                self.delivered, self.lost_examples
            ),
        ));
        checks.push((
            "exactly once",
            self.duplicates == 0,
            format!("{} duplicates", self.duplicates),
        ));
        checks.push((
            "in per-sender order",
            self.out_of_order == 0,
            format!("{} inversions", self.out_of_order),
        ));
        checks.push((
            "bodies intact",
            self.body_mismatch == 0,
            format!("{} mismatches", self.body_mismatch),
        ));
        checks.push((
            "no accepted send ended failed",
            self.sender_failed_state == 0,
            format!("{}", self.sender_failed_state),
        ));
        checks.push((
            "drained: outboxes and relay mailboxes empty",
            self.mailboxes_empty,
            String::new(),
        ));
        checks.push((
            "no secret or body in any log",
            self.leaks.is_empty(),
            format!("{} leaks", self.leaks.len()),
        ));
        checks.push((
            "no body at rest on the relay",
            self.at_rest_leaks == 0,
            format!("{}", self.at_rest_leaks),
        ));
        checks.push(("the flood met 429s", flood_429 > 0, format!("{flood_429}")));
        checks.push((
            "others never throttled",
            self.probe_429 == 0,
            format!("{}", self.probe_429),
        ));
        checks.push((
            "others' p99 under 200 ms",
            !self.probe_latencies.is_empty() && p99 < P99_BOUND,
            ms(p99),
        ));
        checks.push((
            "SQLite files intact",
            self.integrity.values().all(|r| r == "ok"),
            format!("{:?}", self.integrity),
        ));
        if self.tmpfs.is_some() {
            checks.push((
                "the relay's disk filled up",
                self.disk_full_seen,
                self.disk_phase.clone(),
            ));
        }
        let mut ok = true;
        for (what, pass, detail) in &checks {
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
}

fn or_none(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}
