//! Search over all history (docs/IPC.md, message.search) on a database of
//! 1,000,000 messages, seeded directly (sealing a million envelopes would
//! take hours): SQL inserts through the same schema, whose triggers fill
//! the FTS5 index as chatd's own writes do.
//!
//! `cargo bench -p chatd --bench search` (`-- --messages 100000` for a
//! smaller run)
//!
//! Goal: a one-word search that 1 % of the messages match, newest 20
//! first, under 50 ms at the 95th percentile. Bound, measured in the same
//! run on the same database: one page of a conversation (`message.list`,
//! 20 messages by `seq`), the cheapest read the history has. Also says how
//! much of the database the index takes.

use std::time::{Duration, Instant};

use chatd::store::Store;
use rusqlite::{Connection, params};

/// Distinct made-up words the bodies are drawn from.
const VOCABULARY: u64 = 20_000;
/// Conversations the messages are spread over.
const PEERS: u64 = 47;
/// Searches timed per kind.
const RUNS: usize = 200;

/// A cheap deterministic generator (xorshift), so that runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Message `i`'s body: 12 words from the vocabulary; every 100th also has
/// `deploy` (1 %), every 10,000th `zeppelin` (0.01 %).
fn body(rng: &mut Rng, i: u64) -> String {
    let mut words: Vec<String> = (0..12)
        .map(|_| format!("w{}", rng.next() % VOCABULARY))
        .collect();
    if i % 100 == 7 {
        words[3] = "deploy".into();
    }
    if i % 10_000 == 77 {
        words[8] = "zeppelin".into();
    }
    words.join(" ")
}

fn seed(path: &std::path::Path, n: u64) -> Duration {
    drop(Store::open(path).expect("schema"));
    let mut c = Connection::open(path).unwrap();
    c.pragma_update(None, "synchronous", "OFF").unwrap();
    let start = Instant::now();
    let tx = c.transaction().unwrap();
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO messages (id, peer, direction, sender, recipient, ts, received_at, kind, body, state)
                 VALUES (?1, ?2, 'in', ?2, 'me', ?3, ?3, 'text', ?4, 'read')",
            )
            .unwrap();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for i in 0..n {
            let peer = format!("user{:02}", i % PEERS);
            let id = format!("{:032x}", u128::from(i) * 0x1000_0000_0000_0001);
            insert
                .execute(params![
                    id,
                    peer,
                    1_700_000_000_000i64 + i as i64,
                    body(&mut rng, i)
                ])
                .unwrap();
        }
    }
    tx.commit().unwrap();
    c.execute_batch("INSERT INTO messages_fts (messages_fts) VALUES ('optimize'); VACUUM;")
        .unwrap();
    start.elapsed()
}

fn percentile(mut times: Vec<Duration>, p: f64) -> Duration {
    times.sort();
    times[((times.len() as f64 * p).ceil() as usize).saturating_sub(1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let mut n: u64 = 1_000_000;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--messages" {
            n = args
                .next()
                .and_then(|v| v.parse().ok())
                .expect("--messages N");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chatd.db");
    eprintln!("seeding {n} messages…");
    let seeded = seed(&path, n);
    let store = Store::open(&path).unwrap();

    let time = |f: &dyn Fn() -> usize| -> (Vec<Duration>, usize) {
        let mut times = Vec::with_capacity(RUNS);
        let mut found = 0;
        for _ in 0..RUNS {
            let t = Instant::now();
            found = f();
            times.push(t.elapsed());
        }
        (times, found)
    };
    let search = |q: &str, peer: Option<&str>| {
        let q = q.to_owned();
        let peer = peer.map(str::to_owned);
        let store = &store;
        move || {
            store
                .search(&q, peer.as_deref(), None, 20)
                .unwrap()
                .unwrap()
                .0
                .len()
        }
    };
    let (bound, _) = time(&|| store.messages("user07", None, 20).unwrap().0.len());
    let bound95 = percentile(bound.clone(), 0.95);
    println!(
        "search over {n} messages (seeded in {:.1} s)",
        seeded.as_secs_f64()
    );
    println!(
        "  bound: one page of a conversation (20 by seq): p50 {}  p95 {}",
        ms(percentile(bound.clone(), 0.5)),
        ms(bound95)
    );
    for (what, f) in [
        (
            "\"deploy\" (1 % of messages), newest 20",
            Box::new(search("deploy", None)) as Box<dyn Fn() -> usize>,
        ),
        (
            "\"deploy\" in one conversation (0.02 %)",
            Box::new(search("deploy", Some("user07"))),
        ),
        ("\"zeppelin\" (0.01 %)", Box::new(search("zeppelin", None))),
        (
            "two words, \"deploy w1\" (prefix)",
            Box::new(search("deploy w1", None)),
        ),
    ] {
        let (times, found) = time(&*f);
        let p95 = percentile(times.clone(), 0.95);
        println!(
            "  {what}: {found} hits  p50 {}  p95 {}  p99 {}  = {:.1}× the bound",
            ms(percentile(times.clone(), 0.5)),
            ms(p95),
            ms(percentile(times, 0.99)),
            p95.as_secs_f64() / bound95.as_secs_f64()
        );
    }
    let c = Connection::open(&path).unwrap();
    let page: i64 = c.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
    let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
    let index: i64 = c
        .query_row(
            "SELECT (SELECT coalesce(sum(length(block)), 0) FROM messages_fts_data)
                  + (SELECT count(*) * 24 FROM messages_fts_idx)
                  + (SELECT coalesce(sum(length(sz)), 0) FROM messages_fts_docsize)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let db = page * pages;
    println!(
        "  database {:.1} MiB; the index {:.1} MiB of it ({:.0} %)",
        db as f64 / 1048576.0,
        index as f64 / 1048576.0,
        100.0 * index as f64 / db as f64
    );
}
