//! Load bench for relay-server (a bench binary, never a test).
//!
//! ```sh
//! cargo run --release -p relay-server --bin relay-bench -- [--senders 32] [--seconds 10] [--idle 10000]
//! ```
//!
//! It starts the release `relay-server` next to itself on a loopback port with
//! a temporary data dir (or drives `--url` with `--pid` for RSS), then:
//! 1. **peak**: N senders PUT 1 KiB envelopes as fast as the relay accepts
//!    them to N receivers, who long-poll and ack; reports accepted
//!    envelopes/s and p50/p99 PUT latency;
//! 2. **half load**: the same at half the peak rate, paced; reports delivery
//!    latency (PUT answered → the receiver's long-poll returned it);
//! 3. **raw bound**: the same number of rows inserted straight into SQLite
//!    with the relay's schema and pragmas, in batches of N (the relay's group
//!    commit size under N concurrent writers), and the relay's rate as a ratio
//!    of it;
//! 4. **idle long-polls**: `--idle` long-polls held open, and the relay's RSS
//!    (spread over enough tokens for the relay's cap of long-polls per token).
//!
//! `--postgres ADMIN_URL` runs instead the relay on PostgreSQL, with one and
//! two instances (docs/BENCHMARKS.md, "Relay on PostgreSQL"; see
//! `postgres.rs`).
//!
//! `--devices D` runs instead the several-devices comparison
//! (docs/BENCHMARKS.md, "Relay: delivery to several devices").
//!
//! `--group N` runs instead the envelope v2 comparison (docs/BENCHMARKS.md,
//! "Relay: v2 PUT for 100 recipients"): the N senders PUT sealed v2 envelopes
//! to the same `--group` registered recipients, against v1 PUTs of the same
//! ciphertext to one recipient each, in alternating rounds; then the bytes the
//! relay stored once against what the recipients download.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rand::Rng as _;
use relay_server::config::defaults;
use serde_json::{Value, json};

mod devices;
mod group;
mod postgres;

struct Args {
    senders: usize,
    seconds: u64,
    idle: usize,
    group: usize,
    devices: usize,
    url: Option<String>,
    pid: Option<u32>,
    postgres: Option<String>,
}

fn parse_args() -> Args {
    let mut args = Args {
        senders: 32,
        seconds: 10,
        idle: 10_000,
        group: 0,
        devices: 0,
        url: None,
        pid: None,
        postgres: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| die(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--senders" => args.senders = value().parse().unwrap_or_else(|_| die("bad --senders")),
            "--seconds" => args.seconds = value().parse().unwrap_or_else(|_| die("bad --seconds")),
            "--idle" => args.idle = value().parse().unwrap_or_else(|_| die("bad --idle")),
            "--group" => {
                args.group = value().parse().unwrap_or_else(|_| die("bad --group"));
                if !(1..=ipc_schema::envelope_v2::MAX_RECIPIENTS).contains(&args.group) {
                    die("--group takes 1 to 1000 recipients");
                }
            }
            "--devices" => {
                args.devices = value().parse().unwrap_or_else(|_| die("bad --devices"));
                if !(2..=ipc_schema::relay::MAX_DEVICES).contains(&args.devices) {
                    die("--devices takes 2 to 10");
                }
            }
            "--url" => args.url = Some(value()),
            "--postgres" => args.postgres = Some(value()),
            "--pid" => args.pid = Some(value().parse().unwrap_or_else(|_| die("bad --pid"))),
            "--help" | "-h" => {
                println!(
                    "relay-bench [--senders N] [--seconds S] [--idle N] [--url URL --pid PID]\n\
                     relay-bench --group RECIPIENTS [--senders N] [--seconds S]\n\
                     relay-bench --devices D [--senders N] [--seconds S]"
                );
                std::process::exit(0);
            }
            other => die(&format!("unknown argument {other}")),
        }
    }
    args
}

fn die(msg: &str) -> ! {
    eprintln!("relay-bench: {msg}");
    std::process::exit(2);
}

/// A relay we started ourselves; killed on drop.
struct Spawned {
    child: Child,
    /// Its data dir (`relay.db`), removed on drop.
    dir: tempfile::TempDir,
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_relay(extra: &[&str]) -> (String, u32, Spawned) {
    let exe = std::env::current_exe().expect("own path");
    let relay = exe.with_file_name("relay-server");
    if !relay.exists() {
        die(
            "relay-server binary not found next to relay-bench; build with `cargo build --release -p relay-server`",
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(&relay)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(extra)
        .env("RELAY_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start relay-server");
    let mut line = String::new();
    use std::io::BufRead;
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read relay address");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| die(&format!("unexpected relay output {line:?}")))
        .to_owned();
    let pid = child.id();
    (url, pid, Spawned { child, dir })
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn random_b64(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    B64.encode(bytes)
}

fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A well-formed envelope of about 1 KiB of JSON. The relay checks shape,
/// sizes and `from`, never the cryptography, so random bytes are a faithful load.
fn envelope(from: &str, to: &str) -> (String, String) {
    let id = random_id();
    let env = json!({
        "v": 1, "id": id, "from": from, "to": to, "ts": 1_764_000_000_000u64,
        "wk": random_b64(256), "iv": random_b64(16), "ct": random_b64(272),
        "tag": random_b64(32), "sig": random_b64(256),
    });
    (id, env.to_string())
}

/// Every bench account's password.
const PASSWORD: &str = "bench password";

/// Registers and logs in `name`; returns its token.
async fn account(http: &reqwest::Client, url: &str, name: &str) -> String {
    let card = json!({"v": 1, "user": name, "enc": random_b64(294), "sig": random_b64(294)});
    let r = http
        .post(format!("{url}/v1/accounts"))
        .json(&json!({"username": name, "password": PASSWORD, "card": card}))
        .send()
        .await
        .expect("register");
    assert!(r.status().is_success(), "register {name}: {}", r.status());
    login(http, url, name).await
}

/// A new session of `name`; returns its token.
async fn login(http: &reqwest::Client, url: &str, name: &str) -> String {
    let r: Value = http
        .post(format!("{url}/v1/sessions"))
        .json(&json!({"username": name, "password": PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login body");
    r["token"]
        .as_str()
        .unwrap_or_else(|| die(&format!("login {name}: {r}")))
        .to_owned()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Envelopes premade per sender and phase.
const PREMADE: usize = 4000;

/// PUT answered instants by envelope id, for delivery latency.
type Sent = Arc<Mutex<HashMap<String, Instant>>>;

struct PhaseResult {
    accepted: usize,
    elapsed: Duration,
    put_latencies: Vec<Duration>,
    delivery: Vec<Duration>,
    early: usize,
}

/// Runs one phase: `pairs` (sender token, sender, receiver token, receiver);
/// `interval` paces each sender (None = as fast as possible). Pair `i`'s
/// sender talks to `urls[i]` and its receiver to `urls[i + 1]` (round the
/// list): with two instances of one relay, every envelope crosses over.
async fn phase(
    http: &reqwest::Client,
    urls: &[String],
    pairs: &[(String, String, String, String)],
    duration: Duration,
    interval: Option<Duration>,
) -> PhaseResult {
    let sent: Sent = Arc::default();
    let delivered = Arc::new(Mutex::new((Vec::new(), 0usize)));
    // Envelopes are made before the clock starts, so the client's own CPU
    // goes to HTTP during the phase, not to random bytes and JSON.
    let mut premade = pairs
        .iter()
        .map(|(_, s, _, r)| (0..PREMADE).map(|_| envelope(s, r)).collect::<Vec<_>>())
        .collect::<Vec<_>>()
        .into_iter();
    let stop_at = Instant::now() + duration;
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    for (i, (s_token, s_name, r_token, r_name)) in pairs.iter().enumerate() {
        let url = urls[i % urls.len()].as_str();
        let r_url = urls[(i + 1) % urls.len()].as_str();
        let (s_token, s_name) = (s_token.clone(), s_name.clone());
        let (r_token, r_name) = (r_token.clone(), r_name.clone());
        let mut ready = premade.next().expect("one list per sender");
        let (s_http, s_url, s_sent) = (http.clone(), url.to_owned(), sent.clone());
        senders.push(tokio::spawn(async move {
            let (http, url, sent) = (s_http, s_url, s_sent);
            let mut latencies = Vec::new();
            let mut next = Instant::now();
            while Instant::now() < stop_at {
                if let Some(iv) = interval {
                    tokio::time::sleep_until(next.into()).await;
                    next += iv;
                }
                let (id, body) = ready.pop().unwrap_or_else(|| envelope(&s_name, &r_name));
                let start = Instant::now();
                let r = http
                    .put(format!("{url}/v1/messages/{id}"))
                    .bearer_auth(&s_token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("put");
                let done = Instant::now();
                assert_eq!(r.status(), 201, "put refused");
                sent.lock().unwrap().insert(id, done);
                latencies.push(done - start);
            }
            latencies
        }));
        let (http, url, sent, delivered) = (
            http.clone(),
            r_url.to_owned(),
            sent.clone(),
            delivered.clone(),
        );
        receivers.push(tokio::spawn(async move {
            let deadline = stop_at + Duration::from_secs(5);
            while Instant::now() < deadline {
                let r = http
                    .get(format!("{url}/v1/messages?wait=1&limit=1000"))
                    .bearer_auth(&r_token)
                    .send()
                    .await
                    .expect("get");
                let got = Instant::now();
                if r.status() == 204 {
                    if Instant::now() > stop_at {
                        break;
                    }
                    continue;
                }
                let body: Value = r.json().await.expect("messages");
                let ids: Vec<String> = body["messages"]
                    .as_array()
                    .expect("array")
                    .iter()
                    .map(|m| m["id"].as_str().unwrap().to_owned())
                    .collect();
                {
                    let sent = sent.lock().unwrap();
                    let mut d = delivered.lock().unwrap();
                    for id in &ids {
                        match sent.get(id) {
                            Some(put_done) => d.0.push(got.saturating_duration_since(*put_done)),
                            // The long-poll answered before the PUT's own answer arrived.
                            None => d.1 += 1,
                        }
                    }
                }
                let r = http
                    .post(format!("{url}/v1/messages/ack"))
                    .bearer_auth(&r_token)
                    .json(&json!({"ids": ids}))
                    .send()
                    .await
                    .expect("ack");
                assert_eq!(r.status(), 204);
            }
        }));
    }
    let begin = Instant::now();
    let mut put_latencies = Vec::new();
    for s in senders {
        put_latencies.extend(s.await.expect("sender"));
    }
    let elapsed = begin.elapsed();
    for r in receivers {
        r.await.expect("receiver");
    }
    put_latencies.sort();
    let (mut delivery, early) = std::mem::take(&mut *delivered.lock().unwrap());
    delivery.sort();
    PhaseResult {
        accepted: put_latencies.len(),
        elapsed,
        put_latencies,
        delivery,
        early,
    }
}

/// The same rows straight into SQLite, same schema and pragmas, in batches.
fn raw_bound(rows: usize, batch: usize, senders: usize) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut conn = rusqlite::Connection::open(dir.path().join("raw.db")).expect("open");
    conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))
        .expect("wal");
    conn.pragma_update(None, "synchronous", "FULL")
        .expect("sync");
    conn.pragma_update(None, "foreign_keys", "ON").expect("fk");
    relay_server::store::schema::migrate(&mut conn).expect("schema");
    for i in 0..senders {
        conn.execute(
            "INSERT INTO accounts (username, password_hash, card, created_at) VALUES (?1, 'x', '{}', 0)",
            [format!("r{i}")],
        )
        .expect("account");
    }
    let bodies: Vec<(String, String)> = (0..rows)
        .map(|i| envelope(&format!("s{}", i % senders), "r"))
        .collect();
    let start = Instant::now();
    for chunk in bodies.chunks(batch) {
        let tx = conn.transaction().expect("tx");
        {
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO mailbox (recipient, sender, id, ts, body, digest, received_at, size)
                     VALUES (?1, ?2, ?3, 0, ?4, ?5, 0, ?6)",
                )
                .expect("prepare");
            let mut upd = tx
                .prepare_cached(
                    "UPDATE accounts SET pending_count = pending_count + 1, pending_bytes = pending_bytes + ?2
                     WHERE username = ?1",
                )
                .expect("prepare");
            for (n, (id, body)) in chunk.iter().enumerate() {
                let recipient = format!("r{}", n % senders);
                let digest = [n as u8; 32];
                ins.execute(rusqlite::params![
                    recipient,
                    "s",
                    id,
                    body.as_bytes(),
                    &digest[..],
                    body.len() as i64
                ])
                .expect("insert");
                upd.execute(rusqlite::params![recipient, body.len() as i64])
                    .expect("update");
            }
        }
        tx.commit().expect("commit");
    }
    rows as f64 / start.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    if args.group > 0 {
        return group::group_bench(&args).await;
    }
    if args.devices > 0 {
        return devices::devices_bench(&args).await;
    }
    if let Some(admin) = args.postgres.clone() {
        return postgres::postgres_bench(&args, &admin).await;
    }
    let needed = (args.idle + 200) as u64;
    if let Some(limit) = open_files_limit()
        && limit < needed
    {
        die(&format!(
            "open-files limit {limit} is below the {needed} that --idle {} needs; run `ulimit -n {needed}` first",
            args.idle
        ));
    }
    let (url, pid, _spawned) = match (&args.url, args.pid) {
        (Some(url), pid) => (url.clone(), pid.unwrap_or(0), None),
        (None, _) => {
            let (url, pid, s) = spawn_relay(&[]);
            (url, pid, Some(s))
        }
    };
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(usize::MAX)
        .timeout(Duration::from_secs(120))
        .build()
        .expect("http client");
    let n = args.senders;
    println!(
        "relay {url} (pid {pid}); {n} senders + {n} receivers, 1 KiB envelopes, {} s per phase",
        args.seconds
    );

    let mut pairs = Vec::new();
    for i in 0..n {
        let (s, r) = (format!("sender{i:03}"), format!("receiver{i:03}"));
        let (st, rt) = tokio::join!(account(&http, &url, &s), account(&http, &url, &r));
        pairs.push((st, s, rt, r));
    }

    let urls = [url.clone()];
    let peak = phase(
        &http,
        &urls,
        &pairs,
        Duration::from_secs(args.seconds),
        None,
    )
    .await;
    let peak_rate = peak.accepted as f64 / peak.elapsed.as_secs_f64();
    println!(
        "peak: {} envelopes in {:.2} s = {:.0} envelopes/s; PUT latency p50 {:.2} ms, p99 {:.2} ms",
        peak.accepted,
        peak.elapsed.as_secs_f64(),
        peak_rate,
        ms(percentile(&peak.put_latencies, 0.50)),
        ms(percentile(&peak.put_latencies, 0.99)),
    );

    let half_interval = Duration::from_secs_f64(n as f64 / (peak_rate / 2.0));
    let half = phase(
        &http,
        &urls,
        &pairs,
        Duration::from_secs(args.seconds),
        Some(half_interval),
    )
    .await;
    println!(
        "half load: {:.0} envelopes/s offered, {} accepted; PUT p50 {:.2} ms p99 {:.2} ms; delivery latency (PUT answered -> long-poll returned) p50 {:.2} ms, p99 {:.2} ms over {} envelopes ({} returned before their PUT's answer)",
        peak_rate / 2.0,
        half.accepted,
        ms(percentile(&half.put_latencies, 0.50)),
        ms(percentile(&half.put_latencies, 0.99)),
        ms(percentile(&half.delivery, 0.50)),
        ms(percentile(&half.delivery, 0.99)),
        half.delivery.len(),
        half.early,
    );

    let rows = peak.accepted.clamp(1000, 200_000);
    let raw = tokio::task::spawn_blocking(move || raw_bound(rows, n, n))
        .await
        .expect("raw");
    println!(
        "raw bound: {rows} rows straight into SQLite (WAL, synchronous=FULL, batches of {n}) = {raw:.0} rows/s; relay peak / raw = {:.2}",
        peak_rate / raw
    );

    if args.idle > 0 {
        let before = rss_kib(pid);
        // A token may have only so many long-polls waiting and an account
        // only so many sessions (the relay's defaults; docs/RELAY.md,
        // "Limits"), so the polls are spread over enough of both.
        let tokens_needed = args.idle.div_ceil(defaults::POLLS_PER_TOKEN);
        let users = 100
            .min(args.idle)
            .max(tokens_needed.div_ceil(defaults::SESSIONS_PER_USER));
        let mut tokens = Vec::new();
        for i in 0..users {
            tokens.push(account(&http, &url, &format!("idle{i:03}")).await);
        }
        let extra: Vec<String> = (users..tokens_needed)
            .map(|i| format!("idle{:03}", i % users))
            .collect();
        // A few logins at a time: each is an Argon2 run at the real cost.
        for names in extra.chunks(4) {
            let logins: Vec<_> = names
                .iter()
                .map(|name| {
                    let (http, url, name) = (http.clone(), url.clone(), name.clone());
                    tokio::spawn(async move { login(&http, &url, &name).await })
                })
                .collect();
            for l in logins {
                tokens.push(l.await.expect("login task"));
            }
        }
        let settled = rss_kib(pid);
        let mut polls = Vec::new();
        for i in 0..args.idle {
            let token = tokens[i % tokens.len()].clone();
            let (http, url) = (http.clone(), url.clone());
            polls.push(tokio::spawn(async move {
                http.get(format!("{url}/v1/messages?wait=60"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            }));
        }
        tokio::time::sleep(Duration::from_secs(8)).await;
        let held = rss_kib(pid);
        let finished = polls.iter().filter(|p| p.is_finished()).count();
        println!(
            "idle long-polls: {} open ({} already finished), relay RSS {} KiB before accounts, {} KiB before polls, {} KiB with them held",
            args.idle - finished,
            finished,
            before.map_or("?".into(), |v| v.to_string()),
            settled.map_or("?".into(), |v| v.to_string()),
            held.map_or("?".into(), |v| v.to_string()),
        );
        for p in polls {
            p.abort();
        }
    }
}
