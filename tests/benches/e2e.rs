//! End-to-end benchmarks through the real parts: a relay process with its
//! SQLite file on loopback, two chatd processes (3072-bit keys, keys in a
//! real gnome-keyring on a private D-Bus session), driven through the IPC
//! client and `chat-ctl`. Every figure comes with a bound measured in the
//! same run, in this process, on the same machine.
//!
//! ```text
//! cargo build --release -p chatd -p chat-ctl -p relay-server --bins
//! cargo bench -p e2e --bench e2e -- [latency|throughput|backlog|footprint|all] [--messages N]
//! ```
//!
//! `scripts/bench` does both and prints the table kept in docs/BENCHMARKS.md.
//!
//! - **latency**: messages sent one at a time; from `message.send` returning
//!   to bob's `message.received` (sealing happens in between, in alice's
//!   outbox). Bound: one seal + one open.
//! - **throughput**: alice's frontend keeps the outbox full (as many sends in
//!   flight as there are cores); messages/s from the first send to bob's last
//!   `message.received`. Bound: bob's open rate on all cores. Because alice
//!   seals on the same cores, the machine bound is also given: messages/s if
//!   both cores did nothing but one seal and one open per message.
//! - **backlog**: the messages wait on the relay while bob's daemon is down;
//!   from its start until all are committed and acknowledged (the relay's
//!   queue is empty). Bound: bob's open rate on all cores.
//! - **group**: alice and 20 members (21 chatd processes on this machine);
//!   messages to the group one at a time, from `message.send` returning to
//!   the last member's `message.received`. Bound: one seal for 20 recipients
//!   (measured here) + ⌈20 / cores⌉ opens, since the members share the cores.
//! - **footprint**: chatd RSS idle and after the backlog, `chat-ctl send` wall
//!   time (process start included) against a bound of `chat-ctl --version`
//!   (`message.send` answers after one commit; the outbox seals), and the
//!   relay's RSS with 10,000 idle long-polls (relay-bench).

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use chatd::crypto::{Card, Identity, KeyBits, Peers, open, seal, seal_v2_as};
use e2e::{Daemon, World, bin, cpu_time};
use ipc_schema::Payload;
use ipc_schema::client::{Client, EventStream};
use ipc_schema::envelope::Envelope;
use ipc_schema::methods::{
    Event, GroupCreateParams, GroupListParams, MessageSendParams, MessageState,
};

const BITS: u32 = 3072;

fn main() {
    let mut what = "all".to_owned();
    let mut messages: Option<usize> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--messages" => {
                messages = Some(
                    args.next()
                        .and_then(|v| v.parse().ok())
                        .expect("--messages N"),
                )
            }
            "--bench" => {}
            "latency" | "throughput" | "backlog" | "footprint" | "group" | "restore" | "join"
            | "all" => what = a,
            other => {
                eprintln!(
                    "usage: e2e [latency|throughput|backlog|footprint|group|restore|join|all] [--messages N] (got {other:?})"
                );
                std::process::exit(2);
            }
        }
    }
    let all = what == "all";
    let mut table = Table::default();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("e2e bench: {BITS}-bit keys, {cores} cores");
    let bounds = Bounds::measure(cores);
    table.row(
        "bound: seal + open, one message",
        format!(
            "seal {:.2} ms + open {:.2} ms = {:.2} ms",
            ms(bounds.seal),
            ms(bounds.open),
            ms(bounds.seal + bounds.open)
        ),
        "",
    );
    table.row(
        "bound: bob's open rate, all cores",
        format!("{:.0} msg/s on {cores} cores", bounds.open_rate),
        "",
    );
    table.row(
        "bound: seal+open on the same cores",
        format!("{:.0} msg/s", bounds.machine_rate),
        "",
    );

    if all || what == "latency" {
        latency(messages.unwrap_or(1000), &bounds, &mut table);
    }
    if all || what == "throughput" {
        throughput(messages.unwrap_or(10_000), &bounds, &mut table);
    }
    if all || what == "backlog" || what == "footprint" {
        backlog_and_footprint(messages.unwrap_or(10_000), &bounds, &mut table);
    }
    if all || what == "group" {
        group_latency(
            GROUP_MEMBERS,
            messages.unwrap_or(200).min(200),
            &bounds,
            cores,
            &mut table,
        );
    }
    if all || what == "restore" {
        restore(&mut table);
    }
    if all || what == "join" {
        join_with_history(messages.unwrap_or(10_000), &mut table);
    }
    table.print();
}

/// The new machine's RSS high-water mark, KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    e2e::status_kib(pid, "VmHWM:")
}

/// A new machine set up from a backup file (docs/PROTOCOL.md §10): the wall
/// time of `chat-ctl backup import` and the new chatd's peak RSS, against
/// the bound of one Argon2id derivation at chatd's cost, measured here.
fn restore(table: &mut Table) {
    use chatd::crypto::backup::{KdfParams, derive};
    const PASSPHRASE: &str = "Seven-horses Quietly Ate 41 lemons!";
    println!("restore: a new machine from a backup file (Argon2id m=64 MiB, t=3, p=1)");
    let (world, alice, _bob) = two_users();
    let file = world.dir.path().join("alice.backup");
    alice
        .ctl_in(
            &[
                "backup",
                "export",
                file.to_str().unwrap(),
                "--passphrase-stdin",
            ],
            &format!("{PASSPHRASE}\n"),
        )
        .success();
    let runs = 3;
    let start = Instant::now();
    for _ in 0..runs {
        derive(PASSPHRASE.as_bytes(), &[9; 16], KdfParams::DEFAULT).unwrap();
    }
    let bound = start.elapsed() / runs;
    let laptop = world.daemon("alice-laptop");
    let before = peak_rss_kib(laptop.pid().expect("running"));
    let start = Instant::now();
    laptop
        .ctl_in(
            &[
                "backup",
                "import",
                file.to_str().unwrap(),
                "--relay",
                &world.relay.url,
                "--user",
                "alice",
                "--device-name",
                "laptop",
                "--password-stdin",
                "--passphrase-stdin",
            ],
            &format!("alice-password\n{PASSPHRASE}\n"),
        )
        .success();
    let took = start.elapsed();
    let after = peak_rss_kib(laptop.pid().expect("running"));
    table.row(
        "restore from a backup file (chat-ctl backup import)",
        format!(
            "{:.0} ms; chatd peak RSS {:.1} MB (before {:.1} MB)",
            ms(took),
            after as f64 / 1024.0,
            before as f64 / 1024.0
        ),
        format!(
            "bound: one Argon2id (64 MiB, t=3) {:.0} ms: {:.2}x",
            ms(bound),
            took.as_secs_f64() / bound.as_secs_f64()
        ),
    );
}

/// A new machine joined with a device link carrying `n` messages of history
/// (docs/PROTOCOL.md §12): the time of `chat-ctl device link --with-history`
/// on the first machine, of `chat-ctl device join` on the new one, and the
/// new chatd's peak RSS, against the bound of opening and parsing the same
/// link in this process (the crypto and JSON the join cannot avoid). The
/// history is written into alice's database while her chatd is stopped:
/// 10,000 messages through the relay would measure the relay, not the join.
fn join_with_history(n: usize, table: &mut Table) {
    use chatd::crypto::backup::BackupContents;
    use chatd::crypto::link::{self, LinkCode};
    println!("join: a new machine from a device link with {n} messages of history");
    let (world, mut alice, bob) = two_users();
    alice.stop();
    {
        let db = rusqlite::Connection::open(alice.data_dir.join("chatd.db")).expect("alice's db");
        let tx = db.unchecked_transaction().expect("tx");
        let mut insert = tx
            .prepare(
                "INSERT INTO messages (id, peer, direction, sender, recipient, ts, received_at, kind, body, state)
                 VALUES (?1, 'bob', ?2, ?3, ?4, ?5, ?5, 'text', ?6, 'read')",
            )
            .expect("insert");
        for i in 0..n {
            let (dir, from, to) = if i % 2 == 0 {
                ("in", "bob", "alice")
            } else {
                ("out", "alice", "bob")
            };
            let body = format!(
                "message {i:05} of the history: deploy at 18:00, then check the dashboards"
            );
            insert
                .execute(rusqlite::params![
                    format!("{i:032x}"),
                    dir,
                    from,
                    to,
                    1_764_000_000_000i64 + i as i64,
                    body
                ])
                .expect("row");
        }
        drop(insert);
        tx.commit().expect("commit");
    }
    alice.start_again(&[]);
    let start = Instant::now();
    let link_out = alice
        .ctl(&["--json", "device", "link", "--with-history"])
        .json();
    let made = start.elapsed();
    let code = link_out["code"].as_str().expect("code").to_owned();
    assert_eq!(link_out["messages"].as_u64(), Some(n as u64), "{link_out}");
    let bytes = link_out["bytes"].as_u64().unwrap_or(0);
    let laptop = world.daemon("alice-laptop");
    let before = peak_rss_kib(laptop.pid().expect("running"));
    let start = Instant::now();
    let joined = laptop
        .ctl_in(
            &[
                "--json",
                "device",
                "join",
                &code,
                "--relay",
                &world.relay.url,
                "--user",
                "alice",
                "--name",
                "laptop",
                "--password-stdin",
            ],
            "alice-password\n",
        )
        .json();
    let took = start.elapsed();
    let after = peak_rss_kib(laptop.pid().expect("running"));
    assert_eq!(joined["messages"].as_u64(), Some(n as u64), "{joined}");
    let code_for_bound = LinkCode::generate(&mut rand::rng());
    // The bound: contents of the same shape (a 3072-bit identity, one
    // contact, the same history), sealed under a fresh code, then opened and
    // parsed here, as the new chatd must.
    let text = {
        use base64::Engine as _;
        use chatd::crypto::backup::{BackupContact, HistoryItem};
        let b64 = base64::engine::general_purpose::STANDARD;
        let me = Identity::generate("alice", KeyBits::B3072, &mut rand::rng()).expect("keys");
        let history = (0..n)
            .map(|i| HistoryItem {
                id: format!("{i:032x}"),
                peer: "bob".into(),
                dir: if i % 2 == 0 { "in" } else { "out" }.into(),
                from: if i % 2 == 0 { "bob" } else { "alice" }.into(),
                to: if i % 2 == 0 { "alice" } else { "bob" }.into(),
                ts: 1_764_000_000_000 + i as u64,
                kind: "text".into(),
                body: Some(format!(
                    "message {i:05} of the history: deploy at 18:00, then check the dashboards"
                )),
                reply_to: None,
                state: "read".into(),
            })
            .collect();
        let contents = BackupContents {
            v: 1,
            user: "alice".into(),
            enc: b64.encode(me.enc_private_pkcs8().expose_secret()),
            sig: b64.encode(me.sig_private_pkcs8().expose_secret()),
            contacts: vec![BackupContact {
                card: serde_json::value::RawValue::from_string(bob.card()).expect("card"),
                verified: false,
            }],
            groups: Vec::new(),
            history,
            created_at: 1,
        };
        link::seal(
            &code_for_bound,
            &serde_json::to_vec(&contents).expect("json"),
            &mut rand::rng(),
        )
    };
    let runs = 3;
    let start = Instant::now();
    for _ in 0..runs {
        let opened = link::open(&code_for_bound, text.as_bytes()).expect("opens");
        BackupContents::parse(opened.expose_secret(), "alice").expect("parses");
    }
    let bound = start.elapsed() / runs;
    table.row(
        &format!("device link with {n} messages (chat-ctl device link --with-history)"),
        format!("{:.0} ms; {:.1} MB sealed", ms(made), bytes as f64 / 1e6),
        "",
    );
    table.row(
        &format!("join with {n} messages of history (chat-ctl device join)"),
        format!(
            "{:.0} ms; chatd peak RSS {:.1} MB (before {:.1} MB)",
            ms(took),
            after as f64 / 1024.0,
            before as f64 / 1024.0
        ),
        format!(
            "bound: open + parse the link in-process {:.0} ms: {:.2}x",
            ms(bound),
            took.as_secs_f64() / bound.as_secs_f64()
        ),
    );
}

/// The rows printed at the end.
#[derive(Default)]
struct Table(Vec<(String, String, String)>);

impl Table {
    fn row(&mut self, what: &str, figure: String, versus: impl Into<String>) {
        let versus = versus.into();
        println!("  {what}: {figure} {versus}");
        self.0.push((what.to_owned(), figure, versus));
    }

    fn print(&self) {
        println!();
        println!("| measure | figure | against the bound / goal |");
        println!("|---|---|---|");
        for (a, b, c) in &self.0 {
            println!("| {a} | {b} | {c} |");
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `q`-quantile of sorted durations.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

struct Contacts(HashMap<String, Card>);

impl Peers for Contacts {
    fn contact(&self, user: &str) -> Option<&Card> {
        self.0.get(user)
    }
    fn already_seen(&self, _: &str, _: &str) -> bool {
        false
    }
}

/// What the crypto costs on this machine, now.
struct Bounds {
    /// Median time of one seal of a short text.
    seal: Duration,
    /// Median time of one open of it.
    open: Duration,
    /// Opens per second with one thread per core.
    open_rate: f64,
    /// Messages per second if all cores only sealed and opened.
    machine_rate: f64,
}

impl Bounds {
    fn measure(cores: usize) -> Bounds {
        let mut rng = rand::rng();
        let alice = Identity::generate("alice", KeyBits::B3072, &mut rng).expect("keys");
        let bob = Identity::generate("bob", KeyBits::B3072, &mut rng).expect("keys");
        let contacts = Contacts(HashMap::from([("alice".to_owned(), alice.card().clone())]));
        let payload = Payload::text("bench 000123 the quick brown fox".to_owned());
        let mut seals = Vec::new();
        let mut envs: Vec<Envelope> = Vec::new();
        for _ in 0..60 {
            let t = Instant::now();
            envs.push(seal(&alice, bob.card(), &payload, 1, &mut rand::rng()).expect("seal"));
            seals.push(t.elapsed());
        }
        let mut opens = Vec::new();
        for env in &envs {
            let t = Instant::now();
            open(&bob, env, &contacts, &mut rand::rng()).expect("open");
            opens.push(t.elapsed());
        }
        seals.sort();
        opens.sort();
        let (seal_t, open_t) = (quantile(&seals, 0.5), quantile(&opens, 0.5));
        // Bob's open rate on every core at once, for about two seconds.
        let run = Duration::from_secs(2);
        let start = Instant::now();
        let opened: usize = std::thread::scope(|s| {
            let workers: Vec<_> = (0..cores)
                .map(|_| {
                    s.spawn(|| {
                        let mut n = 0;
                        while start.elapsed() < run {
                            open(&bob, &envs[n % envs.len()], &contacts, &mut rand::rng())
                                .expect("open");
                            n += 1;
                        }
                        n
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().expect("worker")).sum()
        });
        let open_rate = opened as f64 / start.elapsed().as_secs_f64();
        let machine_rate = cores as f64 / (seal_t + open_t).as_secs_f64();
        Bounds {
            seal: seal_t,
            open: open_t,
            open_rate,
            machine_rate,
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A world with alice and bob registered (3072-bit) and each other's contacts.
fn two_users() -> (World, Daemon, Daemon) {
    let world = World::start();
    let alice = world.daemon("alice");
    let bob = world.daemon("bob");
    alice.register_bits(&world.relay, BITS);
    bob.register_bits(&world.relay, BITS);
    alice.add_contact(&bob);
    bob.add_contact(&alice);
    (world, alice, bob)
}

async fn send(client: &mut Client, to: &str, body: String) -> String {
    client
        .call(MessageSendParams {
            to: to.to_owned(),
            body,
            reply_to: None,
        })
        .await
        .expect("message.send")
        .id
}

fn latency(n: usize, bounds: &Bounds, table: &mut Table) {
    println!("latency: {n} messages, one at a time");
    let (_world, alice, bob) = two_users();
    let rt = runtime();
    let samples = rt.block_on(async {
        let mut a = alice.client().await;
        let mut events = bob.client().await.subscribe(None).await.expect("subscribe");
        let mut samples = Vec::with_capacity(n);
        // 20 unmeasured messages first: connections, caches, SQLite pages.
        for i in 0..n + 20 {
            let id = send(&mut a, "bob", format!("latency {i:05} the quick brown fox")).await;
            let sent = Instant::now();
            loop {
                if let Event::MessageReceived(m) = next_event(&mut events, 30).await
                    && m.message.id == id
                {
                    break;
                }
            }
            if i >= 20 {
                samples.push(sent.elapsed());
            }
        }
        samples
    });
    let mut sorted = samples.clone();
    sorted.sort();
    let (p50, p99, max) = (
        quantile(&sorted, 0.5),
        quantile(&sorted, 0.99),
        *sorted.last().unwrap(),
    );
    let bound = bounds.seal + bounds.open;
    table.row(
        "delivery latency p50 / p99 / max",
        format!("{:.2} / {:.2} / {:.2} ms", ms(p50), ms(p99), ms(max)),
        format!(
            "bound {:.2} ms; p50 = bound + {:.2} ms (goal + 5), p99 = bound + {:.2} ms (goal + 25)",
            ms(bound),
            ms(p50) - ms(bound),
            ms(p99) - ms(bound)
        ),
    );
}

/// Members of the group bench besides alice.
const GROUP_MEMBERS: usize = 20;

/// The median time to seal one short text for `n` recipients (one PSS
/// signature, `n` OAEP encryptions), measured here.
fn seal_for(n: usize) -> Duration {
    let mut rng = rand::rng();
    let alice = Identity::generate("alice", KeyBits::B3072, &mut rng).expect("keys");
    let member = Identity::generate("member", KeyBits::B3072, &mut rng).expect("keys");
    let cards: Vec<Card> = (0..n)
        .map(|i| {
            Card::from_der(
                &format!("member{i:03}"),
                member.card().enc_der(),
                member.card().sig_der(),
            )
            .expect("card")
        })
        .collect();
    let refs: Vec<&Card> = cards.iter().collect();
    let payload = Payload::text("bench 000123 the quick brown fox".to_owned());
    let mut times: Vec<Duration> = (0..30)
        .map(|_| {
            let t = Instant::now();
            seal_v2_as(&alice, &refs, &payload, [7; 16], 1, &mut rand::rng()).expect("seal");
            t.elapsed()
        })
        .collect();
    times.sort();
    quantile(&times, 0.5)
}

/// alice and `n` members, each its own chatd; `m` group messages one at a
/// time, each timed until the last member has it.
fn group_latency(n: usize, m: usize, bounds: &Bounds, cores: usize, table: &mut Table) {
    println!("group: {n} members and alice, {m} messages one at a time");
    let world = World::start();
    let alice = world.daemon("alice");
    alice.register_bits(&world.relay, BITS);
    let members: Vec<Daemon> = (0..n)
        .map(|i| {
            let d = world.daemon(&format!("member{i:02}"));
            d.register_bits(&world.relay, BITS);
            alice.add_contact(&d);
            d.add_contact(&alice);
            d
        })
        .collect();
    let names: Vec<String> = (0..n).map(|i| format!("member{i:02}")).collect();
    let rt = runtime();
    let samples = rt.block_on(async {
        let mut a = alice.client().await;
        let id = a
            .call(GroupCreateParams {
                name: "bench".into(),
                members: names,
            })
            .await
            .expect("group.create")
            .group
            .id;
        // Every member has the group before the clock starts.
        for d in &members {
            let mut c = d.client().await;
            let deadline = Instant::now() + Duration::from_secs(120);
            while c
                .call(GroupListParams {})
                .await
                .expect("group.list")
                .groups
                .is_empty()
            {
                assert!(Instant::now() < deadline, "the group reached every member");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let mut streams = Vec::with_capacity(n);
        for d in &members {
            streams.push(d.client().await.subscribe(None).await.expect("subscribe"));
        }
        let peer = format!("#{id}");
        let mut samples = Vec::with_capacity(m);
        // 5 unmeasured messages first.
        for i in 0..m + 5 {
            let id = send(&mut a, &peer, format!("group {i:05} the quick brown fox")).await;
            let sent = Instant::now();
            for events in &mut streams {
                loop {
                    if let Event::MessageReceived(e) = next_event(events, 60).await
                        && e.message.id == id
                    {
                        break;
                    }
                }
            }
            if i >= 5 {
                samples.push(sent.elapsed());
            }
        }
        samples
    });
    drop(members);
    let mut sorted = samples;
    sorted.sort();
    let (p50, p99) = (quantile(&sorted, 0.5), quantile(&sorted, 0.99));
    let seal_n = seal_for(n);
    let bound = seal_n + bounds.open * n.div_ceil(cores) as u32;
    table.row(
        &format!("group of {} (alice + {n} chatd on this machine): send until all have it, p50 / p99", n + 1),
        format!("{:.1} / {:.1} ms", ms(p50), ms(p99)),
        format!(
            "bound = seal for {n} ({:.2} ms) + ⌈{n}/{cores}⌉ × open ({:.2} ms) = {:.1} ms; p50 = {:.2}× bound, p99 = {:.2}× bound",
            ms(seal_n),
            ms(bounds.open),
            ms(bound),
            p50.as_secs_f64() / bound.as_secs_f64(),
            p99.as_secs_f64() / bound.as_secs_f64()
        ),
    );
}

/// Sends `n` messages from `alice` with `lanes` sends in flight; returns when
/// every send has returned.
async fn flood(alice: &Daemon, n: usize, lanes: usize, tag: &str) {
    let mut tasks = Vec::new();
    for lane in 0..lanes {
        let mut client = alice.client().await;
        let tag = tag.to_owned();
        tasks.push(tokio::spawn(async move {
            for i in (lane..n).step_by(lanes) {
                send(
                    &mut client,
                    "bob",
                    format!("{tag} {i:05} the quick brown fox"),
                )
                .await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("sender");
    }
}

/// The next event on `events`, which must come within `secs` seconds.
async fn next_event(events: &mut EventStream, secs: u64) -> Event {
    tokio::time::timeout(Duration::from_secs(secs), events.next())
        .await
        .unwrap_or_else(|_| panic!("an event within {secs} s"))
        .expect("event stream open")
        .expect("readable event")
        .event
}

/// Waits for `n` `message.received` events on `events`.
async fn received(events: &mut EventStream, n: usize) {
    let mut got = 0;
    while got < n {
        if matches!(next_event(events, 120).await, Event::MessageReceived(_)) {
            got += 1;
        }
    }
}

/// Where the CPU went during a run: per process, in ms per message.
struct CpuShare(Vec<(&'static str, u32, Duration)>);

impl CpuShare {
    fn start(procs: &[(&'static str, u32)]) -> CpuShare {
        CpuShare(
            procs
                .iter()
                .map(|&(name, pid)| (name, pid, cpu_time(pid)))
                .collect(),
        )
    }

    fn report(&self, n: usize, elapsed: Duration) -> String {
        let mut parts = Vec::new();
        let mut total = Duration::ZERO;
        for (name, pid, before) in &self.0 {
            let used = cpu_time(*pid).saturating_sub(*before);
            total += used;
            parts.push(format!("{name} {:.2}", ms(used) / n as f64));
        }
        format!(
            "CPU ms per message: {} (cores busy {:.2})",
            parts.join(", "),
            total.as_secs_f64() / elapsed.as_secs_f64()
        )
    }
}

fn throughput(n: usize, bounds: &Bounds, table: &mut Table) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("throughput: {n} messages, {cores} sends in flight");
    let (world, alice, bob) = two_users();
    let rt = runtime();
    let cpu = CpuShare::start(&[
        ("alice", alice.pid().expect("running")),
        ("bob", bob.pid().expect("running")),
        ("relay", world.relay.pid()),
        ("bench", std::process::id()),
    ]);
    let (all_sent, all_received) = rt.block_on(async {
        let mut events = bob.client().await.subscribe(None).await.expect("subscribe");
        let start = Instant::now();
        let sending = flood(&alice, n, cores, "throughput");
        let receiving = received(&mut events, n);
        let (sent_at, received_at) = tokio::join!(
            async {
                sending.await;
                start.elapsed()
            },
            async {
                receiving.await;
                start.elapsed()
            }
        );
        (sent_at, received_at)
    });
    let rate = n as f64 / all_received.as_secs_f64();
    table.row(
        "throughput, end to end",
        format!(
            "{rate:.0} msg/s ({n} in {:.1} s; all sends returned at {:.1} s)",
            all_received.as_secs_f64(),
            all_sent.as_secs_f64()
        ),
        format!(
            "{:.2} of bob's open rate (goal 0.80); {:.2} of the seal+open machine bound",
            rate / bounds.open_rate,
            rate / bounds.machine_rate
        ),
    );
    table.row(
        "throughput, where the CPU went",
        cpu.report(n, all_received),
        format!(
            "bound: seal {:.2} + open {:.2} ms",
            ms(bounds.seal),
            ms(bounds.open)
        ),
    );
}

fn rss_kib(pid: u32) -> u64 {
    e2e::status_kib(pid, "VmRSS:")
}

fn backlog_and_footprint(n: usize, bounds: &Bounds, table: &mut Table) {
    println!("backlog: {n} messages waiting on the relay");
    let (world, alice, mut bob) = two_users();
    // Idle: registered, contacts added, nothing happening.
    std::thread::sleep(Duration::from_secs(3));
    let idle = rss_kib(bob.pid().expect("running"));
    table.row(
        "chatd RSS, idle",
        format!("{:.1} MB", idle as f64 / 1024.0),
        "goal ≤ 15 MB",
    );
    ctl_send_time(&alice, table);
    // The backlog is exactly the relay's default mailbox quota (10,000):
    // bob's mailbox must be empty before he goes offline.
    let api = world.relay.api();
    let token = api.login("bob", "bob-password");
    e2e::eventually(Duration::from_secs(60), "bob's mailbox drained", || {
        api.pending(&token).is_empty().then_some(())
    });
    bob.stop();
    let rt = runtime();
    rt.block_on(async {
        let mut events = alice
            .client()
            .await
            .subscribe(None)
            .await
            .expect("subscribe");
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let waiting = async {
            let mut sent = 0;
            while sent < n {
                if let Event::MessageState(s) = next_event(&mut events, 120).await
                    && s.state == MessageState::Sent
                {
                    sent += 1;
                }
            }
        };
        tokio::join!(flood(&alice, n, cores, "backlog"), waiting);
    });
    let start = Instant::now();
    bob.start_again(&[]);
    let committed = rt.block_on(async {
        let mut events = bob
            .client()
            .await
            .subscribe(Some(0))
            .await
            .expect("subscribe");
        received(&mut events, n).await;
        start.elapsed()
    });
    let acked = loop {
        if api.pending(&token).is_empty() {
            break start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let rate = n as f64 / acked.as_secs_f64();
    table.row(
        "offline backlog, start to all acked",
        format!(
            "{:.1} s = {rate:.0} msg/s (all committed at {:.1} s)",
            acked.as_secs_f64(),
            committed.as_secs_f64()
        ),
        format!(
            "{:.2} of bob's open rate (goal 0.80)",
            rate / bounds.open_rate
        ),
    );
    let after = rss_kib(bob.pid().expect("running"));
    table.row(
        "chatd RSS, after the backlog",
        format!("{:.1} MB", after as f64 / 1024.0),
        format!("idle {:.1} MB", idle as f64 / 1024.0),
    );
    relay_idle_polls(table);
}

/// `chat-ctl send` wall time, process start included. `message.send`
/// answers after one SQLite commit (the outbox seals afterwards), so the
/// bound is what any chat-ctl command costs: starting the process
/// (`--version`); `status` (one IPC round trip, no write) is shown too.
fn ctl_send_time(alice: &Daemon, table: &mut Table) {
    let run = |args: &[&str]| {
        let t = Instant::now();
        let out = Command::new(bin("chat-ctl"))
            .arg("--socket")
            .arg(&alice.socket)
            .args(args)
            .output()
            .expect("chat-ctl");
        assert!(out.status.success(), "chat-ctl {args:?}: {out:?}");
        t.elapsed()
    };
    let (mut sends, mut starts, mut statuses) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..50 {
        starts.push(run(&["--version"]));
        statuses.push(run(&["status"]));
        sends.push(run(&["send", "bob", &format!("from a script {i}")]));
        // One send a while, as from a script: the outbox seals each one
        // before the next starts.
        std::thread::sleep(Duration::from_millis(30));
    }
    for v in [&mut sends, &mut starts, &mut statuses] {
        v.sort();
    }
    let (send50, send90) = (quantile(&sends, 0.5), quantile(&sends, 0.9));
    let bound = quantile(&starts, 0.5);
    table.row(
        "chat-ctl send wall time p50 / p90",
        format!("{:.2} / {:.2} ms", ms(send50), ms(send90)),
        format!(
            "bound (process start) {:.2} ms, `status` {:.2} ms; send/bound {:.2}; goal ≤ 10 ms",
            ms(bound),
            ms(quantile(&statuses, 0.5)),
            send50.as_secs_f64() / bound.as_secs_f64()
        ),
    );
}

/// The relay's RSS with 10,000 idle long-polls, measured by relay-bench.
fn relay_idle_polls(table: &mut Table) {
    let out = Command::new(bin("relay-bench"))
        .args(["--senders", "16", "--seconds", "3", "--idle", "10000"])
        .output()
        .expect("relay-bench (cargo build --release -p relay-server --bins)");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("idle long-polls"));
    match line {
        Some(line) if out.status.success() => {
            let held = line
                .rsplit("KiB with them held")
                .nth(1)
                .and_then(|s| s.rsplit(' ').find(|w| !w.is_empty()))
                .and_then(|v| v.parse::<f64>().ok());
            let before = line
                .split(" KiB before polls")
                .next()
                .and_then(|s| s.rsplit(' ').next())
                .and_then(|v| v.parse::<f64>().ok());
            table.row(
                "relay RSS, 10,000 idle long-polls",
                held.map_or("?".into(), |k| format!("{:.1} MB", k / 1024.0)),
                before.map_or(String::new(), |b| {
                    format!("{:.1} MB before the polls; goal ≤ 200 MB", b / 1024.0)
                }),
            );
        }
        _ => table.row(
            "relay RSS, 10,000 idle long-polls",
            "not measured".into(),
            format!(
                "relay-bench failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ),
    }
}
