//! Crashes at the worst moments: bob's daemon dies (like `kill -9`) after it
//! committed a batch but before it acked it, and the relay is `kill -9`ed in
//! the middle of 1,000 sends. Nothing is lost, nothing is doubled.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use e2e::{World, eventually, pair, runtime};
use ipc_schema::client::Client;
use ipc_schema::methods::MessageSendParams;

async fn send(client: &mut Client, to: &str, body: String) -> String {
    client
        .call(MessageSendParams {
            to: to.into(),
            body,
            reply_to: None,
        })
        .await
        .expect("message.send")
        .id
}

/// Alice sends `n` messages while bob's daemon is down and waits until the
/// relay has them all; returns the bodies.
fn queue_at_relay(alice: &e2e::Daemon, n: usize) -> Vec<String> {
    let bodies: Vec<String> = (0..n).map(|i| format!("before the crash {i}")).collect();
    runtime().block_on(async {
        let mut client = alice.client().await;
        for body in &bodies {
            send(&mut client, "bob", body.clone()).await;
        }
    });
    eventually(Duration::from_secs(20), "alice's outbox drains", || {
        (alice.status()["outbox_pending"] == 0).then_some(())
    });
    bodies
}

#[test]
fn a_crash_between_commit_and_ack_loses_nothing_and_doubles_nothing() {
    let world = World::start();
    let (alice, mut bob) = pair(&world, "alice", "bob");
    bob.stop();
    let bodies = queue_at_relay(&alice, 5);

    // Bob fetches the batch, commits it, and dies before the ack.
    bob.start_again(&[("CHATD_FAILPOINT", "abort-after-commit")]);
    bob.wait_crash(Duration::from_secs(20));
    let api = world.relay.api();
    let bob_token = api.login("bob", "bob-password");
    assert_eq!(
        api.pending(&bob_token).len(),
        5,
        "not acked: the relay still has the batch"
    );

    // Restarted without the failpoint: the relay redelivers the batch and
    // the seen-ids table swallows every repeat.
    bob.start_again(&[]);
    eventually(
        Duration::from_secs(20),
        "the redelivered batch is acked",
        || api.pending(&bob_token).is_empty().then_some(()),
    );
    let incoming = bob.incoming("alice");
    let got: Vec<&str> = incoming
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(got, bodies, "each message once, in order");
    assert_eq!(bob.status()["dropped"]["replay"], 5);
    assert_eq!(bob.status()["unread"], 5);
}

#[test]
fn after_a_crash_between_commit_and_ack_the_sender_still_gets_delivered_receipts() {
    let world = World::start();
    let (alice, mut bob) = pair(&world, "alice", "bob");
    bob.stop();
    queue_at_relay(&alice, 3);
    bob.start_again(&[("CHATD_FAILPOINT", "abort-after-commit")]);
    bob.wait_crash(Duration::from_secs(20));
    bob.start_again(&[]);
    eventually(Duration::from_secs(20), "bob has all 3", || {
        (bob.incoming("alice").len() == 3).then_some(())
    });
    // Bob has the messages: alice's copies must turn `delivered`
    // (`send --wait-delivered` would otherwise hang until its timeout).
    eventually(Duration::from_secs(20), "alice sees delivered", || {
        let log = alice.log("bob");
        log.iter().all(|m| m["state"] == "delivered").then_some(())
    });
}

#[test]
fn kill_9_of_the_relay_during_1000_sends_delivers_each_exactly_once() {
    let mut world = World::start();
    let (alice, bob) = pair(&world, "alice", "bob");
    let started = Instant::now();
    let relay = &mut world.relay;
    let (ids, at_kill) = std::thread::scope(|s| {
        // The relay dies mid-stream: alice is still queueing and PUTting,
        // bob is fetching, committing and acking.
        let killer = s.spawn(|| {
            eventually(Duration::from_secs(60), "bob has 300", || {
                (bob.status()["unread"].as_u64().unwrap() >= 300).then_some(())
            });
            let at_kill = (
                alice.status()["outbox_pending"].as_u64().unwrap(),
                bob.status()["unread"].as_u64().unwrap(),
            );
            relay.kill9_and_restart();
            at_kill
        });
        let ids = runtime().block_on(async {
            let mut client = alice.client().await;
            let mut ids = Vec::new();
            for i in 0..1000 {
                ids.push(send(&mut client, "bob", format!("burst {i:04}")).await);
            }
            ids
        });
        (ids, killer.join().expect("killer thread"))
    });
    let queued = started.elapsed();

    let incoming = eventually(Duration::from_secs(120), "bob has all 1000", || {
        let incoming = bob.incoming("alice");
        (incoming.len() >= 1000).then_some(incoming)
    });
    eprintln!(
        "relay kill -9 with {} in alice's outbox and {} at bob: 1000 queued after {queued:?}, all delivered after {:?}",
        at_kill.0,
        at_kill.1,
        started.elapsed()
    );
    let got: HashSet<&str> = incoming.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(incoming.len(), 1000, "none doubled");
    assert_eq!(got.len(), 1000, "no id twice");
    assert_eq!(got, ids.iter().map(String::as_str).collect(), "none lost");
    let bodies: HashSet<&str> = incoming
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies.len(), 1000);
    assert_eq!(alice.status()["outbox_pending"], 0);
    // Once bob acked everything nothing more can come: still exactly 1000.
    let api = world.relay.api();
    let bob_token = api.login("bob", "bob-password");
    eventually(Duration::from_secs(30), "bob's mailbox is empty", || {
        api.pending(&bob_token).is_empty().then_some(())
    });
    assert_eq!(bob.incoming("alice").len(), 1000);
}

#[test]
fn messages_queued_while_the_relay_is_down_arrive_in_order() {
    let mut world = World::start();
    let (alice, bob) = pair(&world, "alice", "bob");
    world.relay.kill9();
    let bodies: Vec<String> = (0..8).map(|i| format!("queued offline {i}")).collect();
    runtime().block_on(async {
        let mut client = alice.client().await;
        for body in &bodies {
            send(&mut client, "bob", body.clone()).await;
        }
    });
    eventually(
        Duration::from_secs(10),
        "alice notices the relay is gone",
        || (alice.status()["connection"] == "offline").then_some(()),
    );
    world.relay.start_again();
    let incoming = eventually(Duration::from_secs(60), "bob has all 8", || {
        let incoming = bob.incoming("alice");
        (incoming.len() >= 8).then_some(incoming)
    });
    let got: Vec<&str> = incoming
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(got, bodies);
}
