//! `chat-ctl watch`: events as they happen, and `--since SEQ` replaying
//! exactly what a watcher missed while it was down. Plus the acceptance
//! point: a shell script's `echo … | chat-ctl send bob` shows up in bob's
//! `chat-ctl watch --json`.

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::Duration;

use e2e::{World, eventually, pair};
use ipc_schema::client::Client;
use ipc_schema::methods::MessageSendParams;

const T: Duration = Duration::from_secs(20);

#[test]
fn watch_since_after_a_restart_of_the_watcher_replays_exactly_the_missed_events() {
    let world = World::start();
    let (alice, bob) = pair(&world, "alice", "bob");

    // The watcher runs for a while, sees bob's contact being added and a
    // first message, and is killed.
    let watcher = bob.watch(&["--since", "0"]);
    alice.ctl(&["send", "bob", "while watching"]).success();
    let mut seen = watcher.until(T, |e| {
        e["event"] == "message.received" && e["message"]["body"] == "while watching"
    });
    seen.extend(watcher.kill());
    let last = seen.last().unwrap()["seq"].as_u64().unwrap();
    let seqs: Vec<u64> = seen.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=last).collect::<Vec<_>>(),
        "--since 0 replays all, in order"
    );

    // While nobody watches: texts both ways, a receipt, a verification.
    for i in 0..3 {
        alice
            .ctl(&["send", "bob", &format!("missed {i}")])
            .success();
    }
    let reply = bob
        .ctl(&["send", "alice", "missed reply"])
        .success()
        .trim()
        .to_owned();
    let alice_fp = alice.ctl(&["--json", "id"]).json()["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    bob.ctl(&["contact", "verify", "alice", &alice_fp])
        .success();
    eventually(T, "bob's reply is delivered", || {
        let log = bob.log("alice");
        let reply = log.iter().find(|m| m["id"] == reply.as_str())?;
        (reply["state"] == "delivered" && log.len() == 5).then_some(())
    });

    // What happened meanwhile, read independently through the IPC client.
    let missed = bob.events_after(last);
    let names: HashSet<&str> = missed.iter().filter_map(|e| e["event"].as_str()).collect();
    for name in ["message.received", "message.state", "contact.changed"] {
        assert!(names.contains(name), "{name} among the missed: {missed:?}");
    }

    // The watcher comes back with the last seq it printed.
    let watcher = bob.watch(&["--since", &last.to_string()]);
    let replayed: Vec<serde_json::Value> = missed.iter().map(|_| watcher.next(T)).collect();
    assert_eq!(
        replayed, missed,
        "exactly the missed events, in order, same content"
    );
    let seqs: Vec<u64> = replayed
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        (last + 1..=last + missed.len() as u64).collect::<Vec<_>>(),
        "contiguous, no duplicates, nothing before --since"
    );
    for i in 0..3 {
        assert!(replayed.iter().any(|e| e["event"] == "message.received"
            && e["message"]["body"] == format!("missed {i}").as_str()));
    }

    // Then it goes on live, right after the replay.
    alice.ctl(&["send", "bob", "live again"]).success();
    let live = watcher.until(T, |e| e["message"]["body"] == "live again");
    let next = last + missed.len() as u64 + 1;
    assert_eq!(
        live[0]["seq"], next,
        "no gap between replay and live: {live:?}"
    );
}

#[test]
fn a_shell_script_pipes_build_done_into_chat_ctl_send_and_bobs_watch_prints_it() {
    let world = World::start();
    let (alice, bob) = pair(&world, "alice", "bob");
    // From the current end of the log on: no race with the watcher's start.
    let watcher = bob.watch(&["--since", &bob.last_seq().to_string()]);

    let bin_dir = e2e::bin("chat-ctl").parent().unwrap().to_owned();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .args(["-c", r#"echo "build done" | chat-ctl send bob"#])
        .env("PATH", path)
        .env("CHAT_SOCKET", &alice.socket)
        .stdin(Stdio::null())
        .output()
        .expect("sh");
    assert!(out.status.success(), "{out:?}");
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(id.len(), 32, "prints the id: {id:?}");

    let lines = watcher.until(T, |e| e["event"] == "message.received");
    let event = lines.last().unwrap();
    assert_eq!(
        event["message"]["body"], "build done",
        "echo's newline is dropped"
    );
    assert_eq!(event["message"]["from"], "alice");
    assert_eq!(event["message"]["id"], id.as_str());
    assert_eq!(event["message"]["direction"], "in");
    assert!(event["seq"].as_u64().unwrap() > 0);
}

#[test]
fn a_live_watcher_misses_no_event_while_many_clients_write_at_once() {
    let world = World::start();
    let (alice, bob) = pair(&world, "alice", "bob");
    let since = bob.last_seq();
    let watcher = bob.watch(&["--since", &since.to_string()]);
    // Eight connections send at once, four to each daemon: bob's store commits
    // events from several tasks (sends, the outbox, the sync loop) in parallel.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut writers = Vec::new();
        for w in 0..8 {
            let (socket, to) = if w % 2 == 0 {
                (bob.socket.clone(), "alice")
            } else {
                (alice.socket.clone(), "bob")
            };
            writers.push(tokio::spawn(async move {
                let mut client = Client::connect(&socket).await.unwrap();
                for i in 0..100 {
                    let body = format!("writer {w} message {i}");
                    let params = MessageSendParams {
                        to: to.into(),
                        body,
                        reply_to: None,
                    };
                    client.call(params).await.unwrap();
                }
            }));
        }
        for w in writers {
            w.await.unwrap();
        }
    });
    let mut seqs = Vec::new();
    eventually(Duration::from_secs(60), "the watcher catches up", || {
        while let Some(e) = watcher.try_next(Duration::from_millis(100)) {
            seqs.push(e["seq"].as_u64().unwrap());
        }
        (seqs.last() == Some(&bob.last_seq())).then_some(())
    });
    let last = *seqs.last().unwrap();
    let missing: Vec<u64> = (since + 1..=last).filter(|s| !seqs.contains(s)).collect();
    assert_eq!(missing, Vec::<u64>::new(), "events the live stream skipped");
    assert_eq!(seqs, (since + 1..=last).collect::<Vec<_>>());
}
