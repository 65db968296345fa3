//! `--postgres ADMIN_URL`: the relay on PostgreSQL (docs/BENCHMARKS.md,
//! "Relay on PostgreSQL"), each run in databases of its own in the cluster
//! ADMIN_URL names:
//! 1. one instance: peak envelopes/s, against a raw PostgreSQL bound measured
//!    in the same run (the same rows in batches of N, synchronous commit on);
//! 2. two instances on one database, every pair's sender on one and its
//!    receiver on the other: peak envelopes/s and where the cores went
//!    (CPU seconds of each relay, of PostgreSQL's processes and of the bench);
//! 3. the same at half that rate: cross-instance delivery latency (PUT
//!    answered → the other instance's long-poll returned it), p50 and p99;
//! 4. `--idle` long-polls spread over the two instances: each one's RSS.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{Args, account, envelope, ms, percentile, phase, rss_kib, spawn_relay};

/// CPU seconds (user + system) a process has used.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command's closing parenthesis; utime and stime are
    // the 14th and 15th of the whole line.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| {
        f.iter().filter_map(|v| v.parse::<f64>().ok()).sum()
    });
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks / hz
}

/// The PostgreSQL server's processes: the postmaster and its children.
fn postgres_pids(data_dir: &str) -> Vec<u32> {
    let Some(master) = std::fs::read_to_string(format!("{data_dir}/postmaster.pid"))
        .ok()
        .and_then(|t| t.lines().next()?.trim().parse::<u32>().ok())
    else {
        return Vec::new();
    };
    let mut pids = vec![master];
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let parent = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                let rest = s.rsplit_once(')')?.1.to_owned();
                rest.split_whitespace().nth(1)?.parse::<u32>().ok()
            });
        if parent == Some(master) {
            pids.push(pid);
        }
    }
    pids
}

/// CPU seconds of every process, now and later, for a phase's share.
struct Cpu {
    relays: Vec<u32>,
    postgres: String,
}

impl Cpu {
    fn sample(&self) -> (Vec<f64>, f64, f64) {
        let relays = self.relays.iter().map(|&p| cpu_seconds(p)).collect();
        // Backends come and go; those alive now are summed (the pool keeps
        // the relays' connections open through a phase).
        let pg = postgres_pids(&self.postgres)
            .iter()
            .map(|&p| cpu_seconds(p))
            .sum();
        (relays, pg, cpu_seconds(std::process::id()))
    }
}

async fn new_database(admin: &str) -> String {
    let name = format!("bench_{:016x}", rand::random::<u64>());
    relay_server::store::postgres::create_database(admin, &name)
        .await
        .unwrap_or_else(|e| crate::die(&e))
}

/// The same rows straight into the relay's PostgreSQL schema, `batch` rows
/// per transaction (one multi-row INSERT and one UPDATE of the counts),
/// synchronous commit on: what the relay's writes cost at the least.
async fn raw_bound(admin: &str, rows: usize, batch: usize, recipients: usize) -> f64 {
    let url = new_database(admin).await;
    // Opening a store migrates the schema.
    drop(
        relay_server::store::PgStore::open(&url, 1, Arc::new(|_: &[String]| {}))
            .await
            .expect("schema"),
    );
    let (mut client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    for i in 0..recipients {
        client
            .execute(
                "INSERT INTO accounts (username, password_hash, card, created_at) VALUES ($1, 'x', '{}', 0)",
                &[&format!("r{i}")],
            )
            .await
            .expect("account");
    }
    let bodies: Vec<(String, String)> =
        (0..rows).map(|i| envelope(&format!("s{i}"), "r")).collect();
    let start = Instant::now();
    for chunk in bodies.chunks(batch) {
        let tx = client.transaction().await.expect("begin");
        let recipient: Vec<String> = (0..chunk.len())
            .map(|n| format!("r{}", n % recipients))
            .collect();
        let ids: Vec<&str> = chunk.iter().map(|(id, _)| id.as_str()).collect();
        let body: Vec<&[u8]> = chunk.iter().map(|(_, b)| b.as_bytes()).collect();
        let digest: Vec<Vec<u8>> = (0..chunk.len()).map(|n| vec![n as u8; 32]).collect();
        let size: Vec<i64> = chunk.iter().map(|(_, b)| b.len() as i64).collect();
        tx.execute(
            "INSERT INTO mailbox (recipient, sender, id, ts, body, digest, received_at, size)
             SELECT r, 's', i, 0, b, d, 0, z
             FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bytea[], $5::bigint[]) AS t(r, i, b, d, z)",
            &[&recipient, &ids, &body, &digest, &size],
        )
        .await
        .expect("insert");
        tx.execute(
            "UPDATE accounts a SET pending_count = pending_count + c.n, pending_bytes = pending_bytes + c.b
             FROM (SELECT r, count(*) AS n, sum(z) AS b FROM unnest($1::text[], $2::bigint[]) AS t(r, z)
                   GROUP BY r) c
             WHERE a.username = c.r",
            &[&recipient, &size],
        )
        .await
        .expect("update");
        tx.commit().await.expect("commit");
    }
    rows as f64 / start.elapsed().as_secs_f64()
}

/// Registers `n` sender/receiver pairs through `url`.
async fn pairs(
    http: &reqwest::Client,
    url: &str,
    n: usize,
) -> Vec<(String, String, String, String)> {
    let mut pairs = Vec::new();
    for i in 0..n {
        let (s, r) = (format!("sender{i:03}"), format!("receiver{i:03}"));
        let (st, rt) = tokio::join!(account(http, url, &s), account(http, url, &r));
        pairs.push((st, s, rt, r));
    }
    pairs
}

pub async fn postgres_bench(args: &Args, admin: &str) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(usize::MAX)
        .timeout(Duration::from_secs(120))
        .build()
        .expect("http client");
    let n = args.senders;
    let seconds = Duration::from_secs(args.seconds);
    let pg_dir = {
        let (client, conn) = tokio_postgres::connect(admin, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| crate::die(&format!("cannot connect to {admin}: {e}")));
        tokio::spawn(conn);
        let row = client
            .query_one("SHOW data_directory", &[])
            .await
            .expect("data dir");
        row.get::<_, String>(0)
    };
    let blobs = tempfile::tempdir().expect("blob dir");
    let instance = |url: &str| {
        spawn_relay(&[
            "--database",
            url,
            "--blob-dir",
            blobs.path().to_str().expect("UTF-8 temp path"),
        ])
    };
    println!(
        "relay on PostgreSQL ({admin}); {n} senders + {n} receivers, 1 KiB envelopes, {} s per phase",
        args.seconds
    );

    // 1. One instance.
    let url = new_database(admin).await;
    let (one, one_pid, one_proc) = instance(&url);
    let urls = [one.clone()];
    let set = pairs(&http, &one, n).await;
    let peak = phase(&http, &urls, &set, seconds, None).await;
    let one_rate = peak.accepted as f64 / peak.elapsed.as_secs_f64();
    println!(
        "1 instance: {} envelopes in {:.2} s = {one_rate:.0} envelopes/s; PUT p50 {:.2} ms, p99 {:.2} ms (relay pid {one_pid})",
        peak.accepted,
        peak.elapsed.as_secs_f64(),
        ms(percentile(&peak.put_latencies, 0.50)),
        ms(percentile(&peak.put_latencies, 0.99)),
    );
    drop(one_proc);
    let rows = peak.accepted.clamp(1000, 200_000);
    let raw = raw_bound(admin, rows, n, n).await;
    println!(
        "raw bound: {rows} rows straight into PostgreSQL (the relay's schema, batches of {n}, synchronous_commit on) = {raw:.0} rows/s; 1 instance / raw = {:.2}",
        one_rate / raw
    );

    // 2. Two instances, every envelope crossing from one to the other.
    let url = new_database(admin).await;
    let (a, a_pid, _a_proc) = instance(&url);
    let (b, b_pid, _b_proc) = instance(&url);
    let urls = [a.clone(), b.clone()];
    let set = pairs(&http, &a, n).await;
    let cpu = Cpu {
        relays: vec![a_pid, b_pid],
        postgres: pg_dir,
    };
    let before = cpu.sample();
    let peak = phase(&http, &urls, &set, seconds, None).await;
    let after = cpu.sample();
    let two_rate = peak.accepted as f64 / peak.elapsed.as_secs_f64();
    let wall = peak.elapsed.as_secs_f64();
    let used = |x: f64, y: f64| after_minus(x, y) / wall;
    println!(
        "2 instances: {} envelopes in {wall:.2} s = {two_rate:.0} envelopes/s ({:.2} of 1 instance, {:.2} of raw); PUT p50 {:.2} ms, p99 {:.2} ms",
        peak.accepted,
        two_rate / one_rate,
        two_rate / raw,
        ms(percentile(&peak.put_latencies, 0.50)),
        ms(percentile(&peak.put_latencies, 0.99)),
    );
    println!(
        "  cores busy over the phase (of {} available): relay A {:.2}, relay B {:.2}, PostgreSQL {:.2}, bench client {:.2}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        used(after.0[0], before.0[0]),
        used(after.0[1], before.0[1]),
        used(after.1, before.1),
        used(after.2, before.2),
    );

    // 3. Half that rate: the cross-instance wake.
    let interval = Duration::from_secs_f64(n as f64 / (two_rate / 2.0));
    let half = phase(&http, &urls, &set, seconds, Some(interval)).await;
    println!(
        "half load across instances: {:.0} envelopes/s offered, {} accepted; delivery (PUT answered on one -> long-poll returned on the other) p50 {:.2} ms, p99 {:.2} ms over {} envelopes ({} returned before their PUT's answer)",
        two_rate / 2.0,
        half.accepted,
        ms(percentile(&half.delivery, 0.50)),
        ms(percentile(&half.delivery, 0.99)),
        half.delivery.len(),
        half.early,
    );

    // 4. Idle long-polls over both.
    if args.idle > 0 {
        let before = (rss_kib(a_pid), rss_kib(b_pid));
        let tokens_needed = args
            .idle
            .div_ceil(relay_server::config::defaults::POLLS_PER_TOKEN);
        let users = tokens_needed
            .div_ceil(relay_server::config::defaults::SESSIONS_PER_USER)
            .max(1);
        let mut tokens = Vec::new();
        for i in 0..users {
            tokens.push(account(&http, &a, &format!("idle{i:03}")).await);
        }
        for i in users..tokens_needed {
            tokens.push(crate::login(&http, &b, &format!("idle{:03}", i % users)).await);
        }
        let mut polls = Vec::new();
        for i in 0..args.idle {
            let token = tokens[i % tokens.len()].clone();
            let url = urls[i % 2].clone();
            let http = http.clone();
            polls.push(tokio::spawn(async move {
                http.get(format!("{url}/v1/messages?wait=60"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            }));
        }
        tokio::time::sleep(Duration::from_secs(8)).await;
        let finished = polls.iter().filter(|p| p.is_finished()).count();
        let show = |v: Option<u64>| v.map_or("?".into(), |v| v.to_string());
        println!(
            "idle long-polls: {} open over 2 instances ({finished} already finished); RSS instance A {} -> {} KiB, instance B {} -> {} KiB",
            args.idle - finished,
            show(before.0),
            show(rss_kib(a_pid)),
            show(before.1),
            show(rss_kib(b_pid)),
        );
        for p in polls {
            p.abort();
        }
    }
}

fn after_minus(after: f64, before: f64) -> f64 {
    (after - before).max(0.0)
}
