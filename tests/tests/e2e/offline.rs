//! Offline delivery: while bob's daemon is down his mail waits at the relay;
//! when it comes back he gets all of it, in order, exactly once.

use std::time::Duration;

use e2e::{World, eventually, pair, runtime};
use ipc_schema::methods::MessageSendParams;

#[test]
fn bob_gets_100_messages_sent_while_his_daemon_was_down_in_order_exactly_once() {
    let world = World::start();
    let (alice, mut bob) = pair(&world, "alice", "bob");
    bob.stop();

    let bodies: Vec<String> = (0..100)
        .map(|i| format!("offline message {i:03}"))
        .collect();
    let ids: Vec<String> = runtime().block_on(async {
        let mut client = alice.client().await;
        let mut ids = Vec::new();
        for body in &bodies {
            let sent = client
                .call(MessageSendParams {
                    to: "bob".into(),
                    body: body.clone(),
                    reply_to: None,
                })
                .await
                .expect("message.send");
            ids.push(sent.id);
        }
        ids
    });

    // Everything is at the relay before bob comes back.
    eventually(Duration::from_secs(30), "alice's outbox drains", || {
        (alice.status()["outbox_pending"] == 0).then_some(())
    });
    let out = alice.log_n("bob", 100);
    assert_eq!(out.len(), 100);
    assert!(out.iter().all(|m| m["state"] == "sent"), "{out:?}");

    bob.start_again(&[]);
    let incoming = eventually(Duration::from_secs(30), "bob has all 100", || {
        let incoming = bob.incoming("alice");
        (incoming.len() >= 100).then_some(incoming)
    });
    let got_bodies: Vec<&str> = incoming
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(got_bodies, bodies, "all 100, in the order they were sent");
    let got_ids: Vec<&str> = incoming.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(got_ids, ids);
    assert!(
        incoming
            .iter()
            .all(|m| m["from"] == "alice" && m["to"] == "bob" && m["state"] == "delivered")
    );

    // Bob's receipts make all 100 `delivered` on alice's side: by then bob
    // has processed and acked everything, and still has each message once.
    eventually(
        Duration::from_secs(30),
        "alice sees all 100 delivered",
        || {
            let out = alice.log_n("bob", 100);
            out.iter().all(|m| m["state"] == "delivered").then_some(())
        },
    );
    let api = world.relay.api();
    let bob_token = api.login("bob", "bob-password");
    assert!(api.pending(&bob_token).is_empty(), "bob acked everything");
    assert_eq!(bob.incoming("alice").len(), 100, "exactly once");
    let status = bob.status();
    assert_eq!(status["unread"], 100);
    assert_eq!(status["dropped"]["replay"], 0);
}

#[test]
fn one_delivered_receipt_per_sender_per_batch() {
    let world = World::start();
    let (mut alice, mut bob) = pair(&world, "alice", "bob");
    bob.stop();
    for i in 0..5 {
        alice
            .ctl(&["send", "bob", &format!("batch {i}"), "--wait"])
            .success();
    }
    // Alice is away too, so bob's receipts wait in her mailbox to be counted.
    alice.stop();
    let api = world.relay.api();
    let alice_token = api.login("alice", "alice-password");
    let bob_token = api.login("bob", "bob-password");
    assert_eq!(api.pending(&bob_token).len(), 5);

    bob.start_again(&[]);
    eventually(Duration::from_secs(20), "bob acked the batch", || {
        (api.pending(&bob_token).is_empty() && bob.incoming("alice").len() == 5).then_some(())
    });
    let receipts = eventually(Duration::from_secs(20), "bob's receipt", || {
        let pending = api.pending(&alice_token);
        (!pending.is_empty()).then_some(pending)
    });
    assert_eq!(receipts.len(), 1, "one receipt envelope for the 5 texts");
    assert_eq!(receipts[0]["from"], "bob");

    alice.start_again(&[]);
    eventually(Duration::from_secs(20), "all 5 delivered", || {
        let log = alice.log("bob");
        (log.len() == 5 && log.iter().all(|m| m["state"] == "delivered")).then_some(())
    });
}
