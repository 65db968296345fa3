//! What another local user sees in the process list (`/proc/PID/cmdline`,
//! readable by everyone): docs/SECURITY.md §2.4.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use e2e::{World, bin, eventually, pair};

/// The command line of `pid` once it is chat-ctl's (right after a spawn it
/// can still be the forked test's).
fn cmdline(pid: u32) -> String {
    eventually(Duration::from_secs(10), "chat-ctl's command line", || {
        let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let line = String::from_utf8_lossy(&raw).replace('\0', " ");
        line.contains("chat-ctl").then_some(line)
    })
}

/// A text given as an argument is in the command line for as long as
/// chat-ctl runs (kept on purpose: scripts rely on it); the same text
/// given on stdin is not, which is why SECURITY.md names stdin as the
/// private form.
#[test]
fn a_text_on_stdin_never_shows_in_the_process_list_and_one_in_argv_does() {
    let world = World::start();
    let (alice, bob) = pair(&world, "alice", "bob");

    let secret = "the launch code is 0000";
    let mut child = Command::new(bin("chat-ctl"))
        .arg("--socket")
        .arg(&alice.socket)
        .args(["send", "bob", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    // chat-ctl is waiting for its stdin: this is what anyone can read now.
    let shown = cmdline(child.id());
    assert!(shown.contains("send bob"), "{shown}");
    assert!(!shown.contains("launch"), "{shown}");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(secret.as_bytes()).unwrap();
    drop(stdin);
    assert!(child.wait().unwrap().success());
    eventually(Duration::from_secs(20), "bob has the stdin text", || {
        bob.log("alice")
            .iter()
            .any(|m| m["body"] == secret)
            .then_some(())
    });

    // As an argument, the text is in the command line: the documented
    // trade-off, asserted so the documentation stays true.
    let mut child = Command::new(bin("chat-ctl"))
        .arg("--socket")
        .arg(&alice.socket)
        .args([
            "send",
            "bob",
            "visible in ps",
            "--wait-delivered",
            "--timeout",
            "20",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    assert!(cmdline(child.id()).contains("visible in ps"));
    assert!(child.wait().unwrap().success());
}
