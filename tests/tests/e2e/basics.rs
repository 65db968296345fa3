//! Two people register, swap cards and chat both ways.

use std::time::Duration;

use e2e::{World, eventually, pair};

#[test]
fn alice_and_bob_chat_both_ways_with_delivered_receipts() {
    let world = World::start();
    let (alice, bob) = pair(&world, "alice", "bob");

    let sent = alice.ctl(&["--json", "send", "bob", "hello bob"]).json();
    let id = sent["id"].as_str().unwrap().to_owned();
    bob.ctl_in(&["send", "alice", "-"], "hi alice, from stdin\n")
        .success();

    let bob_log = eventually(Duration::from_secs(15), "bob has alice's message", || {
        let log = bob.log("alice");
        (log.len() == 2).then_some(log)
    });
    let incoming: Vec<_> = bob_log.iter().filter(|m| m["direction"] == "in").collect();
    assert_eq!(incoming.len(), 1);
    assert_eq!(incoming[0]["id"], id.as_str());
    assert_eq!(incoming[0]["body"], "hello bob");
    assert_eq!(incoming[0]["from"], "alice");

    // alice's copy turns `delivered` when bob's receipt arrives.
    let alice_log = eventually(Duration::from_secs(15), "alice sees delivered", || {
        let log = alice.log("bob");
        let mine = log.iter().find(|m| m["id"] == id.as_str())?.clone();
        (mine["state"] == "delivered" && log.len() == 2).then_some(log)
    });
    let from_bob: Vec<_> = alice_log
        .iter()
        .filter(|m| m["direction"] == "in")
        .collect();
    assert_eq!(
        from_bob.len(),
        1,
        "each message exactly once: {alice_log:?}"
    );
    assert_eq!(from_bob[0]["body"], "hi alice, from stdin");
    for m in &alice_log {
        let keys: Vec<&str> = m.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        let mut keys = keys;
        keys.sort();
        assert_eq!(
            keys,
            ["body", "direction", "from", "id", "state", "to", "ts"]
        );
    }
}
