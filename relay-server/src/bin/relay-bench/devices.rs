//! `relay-bench --devices D`: envelopes to accounts with D devices each,
//! against the same load to accounts with one device (docs/BENCHMARKS.md,
//! "Relay: delivery to several devices"). Every device long-polls and acks
//! its own copy; an envelope is delivered durably once the relay has
//! released it, its last copy acked. Reports, per setting, PUTs accepted
//! per second and envelopes fully delivered per second, in alternating
//! rounds; then, with no device fetching, the bytes stored per envelope and
//! its copy rows.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::*;

/// Rounds of (one device, D devices), so that neither runs only on the
/// larger store.
const ROUNDS: u32 = 2;

/// Logs `name` in as a new device called `device`; returns its token.
async fn device_login(http: &reqwest::Client, url: &str, name: &str, device: &str) -> String {
    let r: Value = http
        .post(format!("{url}/v1/sessions"))
        .json(&json!({"username": name, "password": PASSWORD, "device": {"name": device}}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login body");
    r["token"]
        .as_str()
        .unwrap_or_else(|| die(&format!("device login {name}: {r}")))
        .to_owned()
}

/// One receiving account: its name and one token per device.
struct Receiver {
    name: String,
    devices: Vec<String>,
}

/// What one round measured.
struct Round {
    puts: usize,
    released: usize,
    elapsed: Duration,
}

/// Senders PUT as fast as the relay takes them, each to its receiver, whose
/// every device fetches and acks, for `duration`; then the devices drain
/// what is left. `released` counts envelopes whose last copy was acked.
async fn round(
    http: &reqwest::Client,
    url: &str,
    db: &std::path::Path,
    pairs: &[(String, String, &Receiver)],
    duration: Duration,
) -> Round {
    let stop_at = Instant::now() + duration;
    let puts = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for (s_token, s_name, receiver) in pairs {
        let mut premade: Vec<(String, String)> = (0..PREMADE)
            .map(|_| envelope(s_name, &receiver.name))
            .collect();
        let (http2, url2, puts2) = (http.clone(), url.to_owned(), puts.clone());
        let (s_token, s_name, r_name) = (s_token.clone(), s_name.clone(), receiver.name.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < stop_at {
                let (id, body) = premade.pop().unwrap_or_else(|| envelope(&s_name, &r_name));
                let r = http2
                    .put(format!("{url2}/v1/messages/{id}"))
                    .bearer_auth(&s_token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("put");
                assert_eq!(r.status(), 201, "put refused");
                puts2.fetch_add(1, Ordering::Relaxed);
            }
        }));
        for token in &receiver.devices {
            let (http, url, token) = (http.clone(), url.to_owned(), token.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let r = http
                        .get(format!("{url}/v1/messages?wait=1&limit=1000"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .expect("get");
                    if r.status() == 204 {
                        if Instant::now() > stop_at {
                            break;
                        }
                        continue;
                    }
                    let body: Value = r.json().await.expect("messages");
                    let ids: Vec<&str> = body["messages"]
                        .as_array()
                        .expect("array")
                        .iter()
                        .map(|m| m["id"].as_str().unwrap())
                        .collect();
                    let r = http
                        .post(format!("{url}/v1/messages/ack"))
                        .bearer_auth(&token)
                        .json(&json!({ "ids": ids }))
                        .send()
                        .await
                        .expect("ack");
                    assert_eq!(r.status(), 204);
                }
            }));
        }
    }
    let begin = Instant::now();
    for t in tasks {
        t.await.expect("bench task");
    }
    let elapsed = begin.elapsed();
    let puts = puts.load(Ordering::Relaxed);
    // Every device stopped on an empty mailbox; what is still stored for
    // these receivers was not released.
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open relay.db");
    let mut left = 0i64;
    for (_, _, r) in pairs {
        left += conn
            .query_row(
                "SELECT count(*) FROM mailbox WHERE recipient = ?1",
                [&r.name],
                |row| row.get::<_, i64>(0),
            )
            .expect("mailbox count");
    }
    Round {
        puts,
        released: puts.saturating_sub(left as usize),
        elapsed,
    }
}

pub(super) async fn devices_bench(args: &Args) {
    if args.url.is_some() {
        die("--devices starts its own relay (it reads the relay's database); drop --url");
    }
    let (url, pid, spawned) = spawn_relay(&["--mailbox-max-envelopes", "100000000"]);
    let db = spawned.dir.path().join("relay.db");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(usize::MAX)
        .timeout(Duration::from_secs(120))
        .build()
        .expect("http client");
    let (n, d) = (args.senders, args.devices);
    let mut senders = Vec::new();
    let mut single = Vec::new();
    let mut several = Vec::new();
    for i in 0..n {
        let (s, one, many) = (
            format!("sender{i:03}"),
            format!("one{i:03}"),
            format!("many{i:03}"),
        );
        let (s_token, one_token, many_first) = tokio::join!(
            account(&http, &url, &s),
            account(&http, &url, &one),
            account(&http, &url, &many)
        );
        let mut devices = vec![many_first];
        for k in 1..d {
            devices.push(device_login(&http, &url, &many, &format!("device {k}")).await);
        }
        senders.push((s_token, s));
        single.push(Receiver {
            name: one,
            devices: vec![one_token],
        });
        several.push(Receiver {
            name: many,
            devices,
        });
    }
    fn pairs<'a>(
        senders: &[(String, String)],
        receivers: &'a [Receiver],
    ) -> Vec<(String, String, &'a Receiver)> {
        senders
            .iter()
            .zip(receivers)
            .map(|((t, s), r)| (t.clone(), s.clone(), r))
            .collect()
    }
    let (one_pairs, many_pairs) = (pairs(&senders, &single), pairs(&senders, &several));
    let each = Duration::from_secs_f64(args.seconds as f64 / (2 * ROUNDS) as f64);
    println!(
        "relay {url} (pid {pid}); {n} senders PUT 1 KiB v1 envelopes as fast as taken, each to \
         its receiver: accounts with 1 device, then with {d}, {ROUNDS} rounds of {:.1} s each; \
         every device long-polls and acks its own copy",
        each.as_secs_f64()
    );
    let (mut one, mut many) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        one.push(round(&http, &url, &db, &one_pairs, each).await);
        many.push(round(&http, &url, &db, &many_pairs, each).await);
    }
    let rate = |rounds: &[Round], f: fn(&Round) -> usize| {
        let total: usize = rounds.iter().map(f).sum();
        let secs: f64 = rounds.iter().map(|r| r.elapsed.as_secs_f64()).sum();
        total as f64 / secs
    };
    let (one_put, many_put) = (rate(&one, |r| r.puts), rate(&many, |r| r.puts));
    let (one_rel, many_rel) = (rate(&one, |r| r.released), rate(&many, |r| r.released));
    println!(
        "1 device:  {one_put:.0} PUTs/s accepted, {one_rel:.0} envelopes/s released (every copy acked)"
    );
    println!(
        "{d} devices: {many_put:.0} PUTs/s accepted, {many_rel:.0} envelopes/s released; \
         {:.2}x the one-device rate",
        many_rel / one_rel
    );

    // Storage: one envelope to a D-device account, nobody fetching.
    let (s_token, s_name) = &senders[0];
    let (id, body) = envelope(s_name, &several[0].name);
    let r = http
        .put(format!("{url}/v1/messages/{id}"))
        .bearer_auth(s_token)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 201);
    let conn =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open relay.db");
    let (bodies, bytes): (i64, i64) = conn
        .query_row(
            "SELECT count(*), sum(length(body)) FROM mailbox WHERE id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("mailbox row");
    let copies: i64 = conn
        .query_row(
            "SELECT count(*) FROM copies c JOIN mailbox m ON m.seq = c.seq WHERE m.id = ?1",
            [&id],
            |r| r.get(0),
        )
        .expect("copies");
    println!(
        "stored for one {}-byte envelope to {d} devices: {bodies} body of {bytes} bytes and {copies} copy rows",
        body.len()
    );
    drop(spawned);
}
