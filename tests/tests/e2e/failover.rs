//! A relay reached at two URLs (`register --relay A --relay B`): the relay
//! behind the first is killed with `kill -9` mid-session and comes back on
//! the second URL's port with the same data, and the daemons go on there by
//! themselves; nothing sent before, during or after is lost or doubled.
//! (Two instances on one PostgreSQL share the data the same way; SQLite
//! allows one process at a time, so here the second instance is the first
//! one, restarted elsewhere.)

use std::time::Duration;

use e2e::{Daemon, Relay, Setup, World, eventually};

/// A loopback address nothing listens on yet.
fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

fn register_at_both(d: &Daemon, first: &str, second: &str) {
    d.try_register_at(first, 2048, &["--relay", second])
        .success();
}

fn bodies(d: &Daemon, peer: &str) -> Vec<String> {
    d.incoming(peer)
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_relay_killed_mid_session_is_left_for_its_next_url_and_nothing_is_lost() {
    let logs = tempfile::tempdir().unwrap();
    let mut world = World::start_with(Setup {
        log_dir: Some(logs.path().to_owned()),
        ..Setup::default()
    });
    let first = world.relay.url.clone();
    let second_addr = free_addr();
    let second = format!("http://{second_addr}");
    let alice = world.daemon("alice");
    let bob = world.daemon("bob");
    register_at_both(&alice, &first, &second);
    register_at_both(&bob, &first, &second);
    alice.add_contact(&bob);
    bob.add_contact(&alice);
    let status = alice.status();
    assert_eq!(status["relay_url"], first.as_str());
    assert_eq!(status["relays"][0]["in_use"], true);
    assert_eq!(status["relays"][1]["url"], second.as_str());

    alice.ctl(&["send", "bob", "before"]).success();
    eventually(Duration::from_secs(20), "bob has the first", || {
        (bodies(&bob, "alice") == ["before"]).then_some(())
    });

    // kill -9 under the daemons' long-polls; both write while it is down.
    world.relay.kill9();
    alice.ctl(&["send", "bob", "while it was down"]).success();
    bob.ctl(&["send", "alice", "bob, while it was down"])
        .success();
    eventually(Duration::from_secs(20), "alice sees the relay gone", || {
        (alice.status()["connection"] == "offline").then_some(())
    });
    // The same relay (same data) comes back at the second URL.
    let _back = Relay::start(world.relay.data_dir(), Some(&second_addr));

    eventually(
        Duration::from_secs(60),
        "bob has alice's queued text",
        || (bodies(&bob, "alice") == ["before", "while it was down"]).then_some(()),
    );
    eventually(
        Duration::from_secs(60),
        "alice has bob's queued text",
        || (bodies(&alice, "bob") == ["bob, while it was down"]).then_some(()),
    );
    alice.ctl(&["send", "bob", "after"]).success();
    bob.ctl(&["send", "alice", "bob, after"]).success();
    eventually(Duration::from_secs(20), "both have the last", || {
        (bodies(&bob, "alice").len() == 3 && bodies(&alice, "bob").len() == 2).then_some(())
    });
    assert_eq!(
        bodies(&bob, "alice"),
        ["before", "while it was down", "after"]
    );
    assert_eq!(
        bodies(&alice, "bob"),
        ["bob, while it was down", "bob, after"]
    );

    for d in [&alice, &bob] {
        let status = d.status();
        assert_eq!(status["connection"], "online", "{status}");
        assert_eq!(status["relay_url"], second.as_str(), "{status}");
        assert_eq!(status["relays"][0]["in_use"], false, "{status}");
        assert!(status["relays"][0]["failure"].is_string(), "{status}");
        assert!(status["relays"][0]["failed_at"].is_u64(), "{status}");
        assert_eq!(status["relays"][1]["in_use"], true, "{status}");
        assert_eq!(status["relays"][1]["failure"], serde_json::Value::Null);
        assert_eq!(status["outbox_pending"], 0, "{status}");
    }
    let human = alice.ctl(&["status"]).success().to_owned();
    assert!(human.contains(&format!("2. {second} · in use")), "{human}");

    // One log line says where chatd went and why, and no secret.
    let log = std::fs::read_to_string(logs.path().join("chatd-alice.log")).unwrap();
    let moved: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("relay URL failed; using the next"))
        .collect();
    assert!(!moved.is_empty(), "{log}");
    for line in moved {
        assert!(line.contains(&first) && line.contains(&second), "{line}");
        assert!(!line.contains("alice-password") && !line.to_lowercase().contains("bearer"));
    }
}
