//! The users: each one types to a random other user through `chat-ctl send`,
//! again and again, and keeps what was accepted.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use e2e::{bin, wait_exit};
use rand::rngs::StdRng;
use rand::{Rng as _, RngExt as _, SeedableRng};

use crate::phase::{Shared, sleep_unless_stopped};
use crate::{AWAY, USERS};

/// Body size of the messages sent to the away user while the disk fills.
const BIG_BODY: usize = 512 * 1024;

/// One `chat-ctl send` that succeeded.
#[derive(Clone)]
pub struct Sent {
    /// The sender.
    pub from: &'static str,
    /// The recipient.
    pub to: &'static str,
    /// The message id chatd gave it.
    pub id: String,
    /// What was sent.
    pub body: String,
    /// A big one, to the away user while the disk fills.
    pub big: bool,
}

/// What a sender thread did.
#[derive(Default)]
pub struct SenderLog {
    /// Every send that succeeded, in order.
    pub accepted: Vec<Sent>,
    /// Failed sends by chat-ctl exit code (-1: killed after 30 s).
    pub failed: BTreeMap<i32, u64>,
    /// Wall time of each successful `chat-ctl send`, and whether it was big.
    pub latencies: Vec<(Duration, bool)>,
}

/// A user typing: `chat-ctl send` to a random other user, again and again.
pub fn sender(me: &'static str, socket: &Path, tag: &str, seed: u64, shared: &Shared) -> SenderLog {
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
