//! A contact's text full of terminal escapes, through the real relay and
//! daemons: `chat-ctl log` and `watch` show it inert to its recipient, and
//! `--json` still carries it exactly (docs/IPC.md §9).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use e2e::{Daemon, World, bin, eventually, pair};

const T: Duration = Duration::from_secs(20);

/// A clipboard write (OSC 52), a hidden link (OSC 8), a screen clear with a
/// fake line after it (CSI 2J), a right-to-left override, and CSI's one-byte
/// C1 form.
const HOSTILE: &str = "hi \x1b]52;c;cm0gLXJmIH4=\x07 \x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\ \x1b[2J\x1b[Hbob: fake line \u{202e}gnp.exe \u{9b}2J";

/// Asserts that `out` holds nothing a terminal acts on and shows the
/// stand-ins of [`HOSTILE`].
fn assert_inert(out: &str) {
    let active: Vec<char> = out
        .chars()
        .filter(|c| {
            matches!(c, '\x00'..='\x08' | '\x0b'..='\x1f' | '\x7f'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    assert!(active.is_empty(), "active characters {active:?} in {out:?}");
    for stand_in in [
        "␛]52;c;cm0gLXJmIH4=␇",
        "␛]8;;https://evil.example␛\\click",
        "␛[2J␛[Hbob: fake line",
        "\u{fffd}gnp.exe",
        "\u{fffd}2J",
    ] {
        assert!(out.contains(stand_in), "{stand_in:?} in {out:?}");
    }
}

/// `chat-ctl watch --since SEQ` for humans, until it prints a line with
/// `needle` (within [`T`]); returns that line.
fn human_watch_until(daemon: &Daemon, since: u64, needle: &str) -> String {
    let mut child = Command::new(bin("chat-ctl"))
        .arg("--socket")
        .arg(&daemon.socket)
        .args(["watch", "--since", &since.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run chat-ctl watch");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + T;
    let found = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(needle) => break Some(line),
            Ok(_) => {}
            Err(_) => break None,
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    found.unwrap_or_else(|| panic!("chat-ctl watch printed no line with {needle:?} within {T:?}"))
}

#[test]
fn a_contacts_escape_sequences_reach_log_and_watch_inert_and_json_exactly() {
    let world = World::start();
    let (alice, bob) = pair(&world, "alice", "bob");
    let since = bob.last_seq();

    alice.ctl_in(&["send", "bob"], HOSTILE).success();
    let received = eventually(T, "bob has alice's text", || {
        bob.incoming("alice")
            .into_iter()
            .find(|m| m["body"] == HOSTILE)
    });
    // `log --json`: exactly what alice sent.
    assert_eq!(received["body"], HOSTILE);

    let log = bob.ctl(&["log", "alice"]);
    assert_inert(log.success());

    let line = human_watch_until(&bob, since, "alice → you:");
    assert_inert(&line);

    // `watch --json`: the event carries the text exactly.
    let watcher = bob.watch(&["--since", &since.to_string()]);
    let events = watcher.until(T, |e| e["event"] == "message.received");
    assert_eq!(events.last().unwrap()["message"]["body"], HOSTILE);
}
