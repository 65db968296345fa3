//! `relay-bench --group N`: a sealed v2 envelope for N recipients against v1
//! PUTs of the same ciphertext to one recipient each (docs/BENCHMARKS.md,
//! "Relay: v2 PUT for 100 recipients").

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::*;

/// Bytes of an RSA block with 3072-bit keys (`wk`, `sig`).
const GROUP_RSA_BYTES: usize = 384;
/// Bytes of `ct` for a 1 KiB text: its payload JSON padded to 1,280 bytes,
/// plus a block of PKCS#7 (what `chatd` seals; `chatd/benches/envelope.rs`).
const GROUP_CT_BYTES: usize = 1296;
/// Where a template's id goes (`_` is not in the base64 alphabet).
const ID_MARK: &str = "ID_MARK_ID_MARK";
/// Rounds of (v1, v2), so that neither version alone runs on the larger store.
const GROUP_ROUNDS: u32 = 2;

/// An envelope's JSON around its id: the relay checks shapes and sizes, not
/// the cryptography, so one set of random bytes under fresh ids is a faithful
/// load (as the relay tests' `with_fresh_id`), and the client spends its CPU
/// on HTTP, not on RSA.
#[derive(Clone)]
struct Template {
    head: String,
    tail: String,
}

impl Template {
    fn of(env: Value) -> Template {
        let text = env.to_string();
        let (head, tail) = text
            .split_once(ID_MARK)
            .expect("the template holds the id mark");
        Template {
            head: head.to_owned(),
            tail: tail.to_owned(),
        }
    }

    /// A fresh id and the envelope's JSON with it.
    fn fresh(&self) -> (String, String) {
        let id = random_id();
        let body = format!("{}{id}{}", self.head, self.tail);
        (id, body)
    }

    fn len(&self) -> usize {
        self.head.len() + 32 + self.tail.len()
    }
}

/// The members both versions share: a 1 KiB text sealed with 3072-bit keys.
fn common_members(from: &str) -> serde_json::Map<String, Value> {
    let v = json!({
        "id": ID_MARK, "from": from, "ts": 1_764_000_000_000u64,
        "iv": random_b64(16), "ct": random_b64(GROUP_CT_BYTES),
        "tag": random_b64(32), "sig": random_b64(GROUP_RSA_BYTES),
    });
    v.as_object().expect("object").clone()
}

fn v1_template(from: &str, to: &str) -> Template {
    let mut env = common_members(from);
    env.insert("v".into(), json!(1));
    env.insert("to".into(), json!(to));
    env.insert("wk".into(), json!(random_b64(GROUP_RSA_BYTES)));
    Template::of(Value::Object(env))
}

fn v2_template(from: &str, members: &[String]) -> Template {
    let mut env = common_members(from);
    env.insert("v".into(), json!(2));
    env.insert("kc".into(), json!(random_b64(32)));
    let to: Vec<Value> = members
        .iter()
        .map(|m| json!({"user": m, "wk": random_b64(GROUP_RSA_BYTES)}))
        .collect();
    env.insert("to".into(), Value::Array(to));
    Template::of(Value::Object(env))
}

/// Registers `name` without logging in (a recipient only receives).
async fn register(http: &reqwest::Client, url: &str, name: &str) {
    let card = json!({"v": 1, "user": name, "enc": random_b64(294), "sig": random_b64(294)});
    let r = http
        .post(format!("{url}/v1/accounts"))
        .json(&json!({"username": name, "password": PASSWORD, "card": card}))
        .send()
        .await
        .expect("register");
    assert!(r.status().is_success(), "register {name}: {}", r.status());
}

struct PutResult {
    accepted: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

/// Each (token, template) PUTs fresh copies as fast as the relay answers,
/// for `duration`. Every answer must be 201 and, for v2, name `recipients`
/// stored recipients.
async fn put_as_fast_as_possible(
    http: &reqwest::Client,
    url: &str,
    senders: &[(String, Template)],
    recipients: Option<usize>,
    duration: Duration,
) -> PutResult {
    let begin = Instant::now();
    let stop_at = begin + duration;
    let tasks: Vec<_> = senders
        .iter()
        .cloned()
        .map(|(token, template)| {
            let (http, url) = (http.clone(), url.to_owned());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < stop_at {
                    let (id, body) = template.fresh();
                    let start = Instant::now();
                    let r = http
                        .put(format!("{url}/v1/messages/{id}"))
                        .bearer_auth(&token)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .expect("put");
                    let status = r.status();
                    let answer = r.bytes().await.expect("put answer");
                    let done = Instant::now();
                    assert_eq!(
                        status,
                        201,
                        "put refused: {}",
                        String::from_utf8_lossy(&answer)
                    );
                    if let Some(n) = recipients {
                        let a: Value = serde_json::from_slice(&answer).expect("v2 answer");
                        assert_eq!(a["stored"], n, "not stored for everyone: {a}");
                    }
                    latencies.push(done - start);
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.expect("sender"));
    }
    let elapsed = begin.elapsed();
    latencies.sort();
    PutResult {
        accepted: latencies.len(),
        elapsed,
        latencies,
    }
}

/// Logical size of the relay's database (its pages, WAL included), as a
/// reader sees it.
fn db_bytes(db: &std::path::Path) -> i64 {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open relay.db");
    let pages: i64 = conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .expect("page_count");
    let size: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .expect("page_size");
    pages * size
}

fn thousands(n: f64) -> String {
    let s = format!("{:.0}", n);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(super) async fn group_bench(args: &Args) {
    if args.url.is_some() {
        die("--group starts its own relay (it reads the relay's database); drop --url");
    }
    // No quota stops a long run: every recipient gets one entry per group PUT.
    let (url, pid, spawned) = spawn_relay(&["--mailbox-max-envelopes", "100000000"]);
    let db = spawned.dir.path().join("relay.db");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(usize::MAX)
        .timeout(Duration::from_secs(120))
        .build()
        .expect("http client");
    let (n, k) = (args.senders, args.group);
    let members: Vec<String> = (0..k).map(|i| format!("member{i:04}")).collect();
    // A few registrations at a time: each is an Argon2 run at the real cost.
    for names in members.chunks(8) {
        let regs: Vec<_> = names
            .iter()
            .map(|name| {
                let (http, url, name) = (http.clone(), url.clone(), name.clone());
                tokio::spawn(async move { register(&http, &url, &name).await })
            })
            .collect();
        for r in regs {
            r.await.expect("register task");
        }
    }
    let mut v1 = Vec::new();
    let mut v2 = Vec::new();
    for i in 0..n {
        let (s, r) = (format!("sender{i:03}"), format!("single{i:03}"));
        let (token, ()) = tokio::join!(account(&http, &url, &s), register(&http, &url, &r));
        v1.push((token.clone(), v1_template(&s, &r)));
        v2.push((token, v2_template(&s, &members)));
    }
    let (v1_len, v2_len) = (v1[0].1.len(), v2[0].1.len());
    let round = Duration::from_secs_f64(args.seconds as f64 / GROUP_ROUNDS as f64);
    println!(
        "relay {url} (pid {pid}); {n} senders; v2 to the same {k} recipients ({v2_len} B sealed) \
         against v1 to one recipient each ({v1_len} B); both: a {GROUP_CT_BYTES}-byte ct \
         (a 1 KiB text), 3072-bit wk and sig; {GROUP_ROUNDS} rounds of v1 then v2, {:.1} s each",
        round.as_secs_f64()
    );

    let (mut one, mut group) = (Vec::new(), Vec::new());
    let (mut one_time, mut group_time) = (Duration::ZERO, Duration::ZERO);
    let mut growth = 0i64;
    for r in 1..=GROUP_ROUNDS {
        let a = put_as_fast_as_possible(&http, &url, &v1, None, round).await;
        let before = db_bytes(&db);
        let b = put_as_fast_as_possible(&http, &url, &v2, Some(k), round).await;
        growth += db_bytes(&db) - before;
        let (ra, rb) = (
            a.accepted as f64 / a.elapsed.as_secs_f64(),
            b.accepted as f64 / b.elapsed.as_secs_f64(),
        );
        println!(
            "round {r}: v1 {ra:.0} PUTs/s, v2 {rb:.0} group PUTs/s ({:.0} recipient entries/s); v2 costs {:.1}x a v1 PUT",
            rb * k as f64,
            ra / rb
        );
        one_time += a.elapsed;
        group_time += b.elapsed;
        one.extend(a.latencies);
        group.extend(b.latencies);
    }
    one.sort();
    group.sort();
    let one_rate = one.len() as f64 / one_time.as_secs_f64();
    let group_rate = group.len() as f64 / group_time.as_secs_f64();
    println!(
        "v1 bound: {} durable PUTs to one recipient in {:.2} s = {one_rate:.0} PUTs/s; PUT p50 {:.2} ms, p99 {:.2} ms",
        one.len(),
        one_time.as_secs_f64(),
        ms(percentile(&one, 0.50)),
        ms(percentile(&one, 0.99)),
    );
    println!(
        "v2: {} durable group PUTs to {k} recipients in {:.2} s = {group_rate:.1} group envelopes/s \
         ({} recipient entries/s); PUT p50 {:.2} ms, p99 {:.2} ms",
        group.len(),
        group_time.as_secs_f64(),
        thousands(group_rate * k as f64),
        ms(percentile(&group, 0.50)),
        ms(percentile(&group, 0.99)),
    );
    println!(
        "v2 for {k} recipients costs {:.1}x a v1 PUT; {k} v1 PUTs (one per recipient) would cost {k}x: \
         v2 delivers to {k} recipients {:.1}x faster",
        one_rate / group_rate,
        group_rate * k as f64 / one_rate,
    );

    // What the relay kept: the common part once per group envelope, a small
    // entry per recipient; `size` is what each recipient downloads.
    let conn =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open relay.db");
    let (bodies, common): (i64, i64) = conn
        .query_row(
            "SELECT count(*), coalesce(sum(length(common)), 0) FROM bodies",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("bodies");
    let (entries, entry_bytes, delivered): (i64, i64, i64) = conn
        .query_row(
            "SELECT count(*), coalesce(sum(length(body)), 0), coalesce(sum(size), 0)
             FROM mailbox WHERE shared IS NOT NULL",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("mailbox");
    let stored = common + entry_bytes;
    let per = |x: i64| x as f64 / bodies.max(1) as f64;
    println!(
        "stored once: {bodies} bodies.common ({} B, {:.0} B each) + {entries} mailbox entries ({} B, {:.0} B each) \
         = {:.0} B per group envelope; the recipients' delivered forms (mailbox.size) sum to {:.0} B per group \
         envelope ({:.1}x); {k} v1 envelopes would be {} B ({:.1}x)",
        thousands(common as f64),
        per(common),
        thousands(entry_bytes as f64),
        entry_bytes as f64 / entries.max(1) as f64,
        per(stored),
        per(delivered),
        delivered as f64 / stored.max(1) as f64,
        thousands((k * v1_len) as f64),
        (k * v1_len) as f64 / per(stored),
    );
    println!(
        "database growth during the v2 rounds: {} B = {:.0} B per group envelope (pages, indexes and the \
         recipients' quota rows included)",
        thousands(growth as f64),
        growth as f64 / group.len().max(1) as f64,
    );
}
