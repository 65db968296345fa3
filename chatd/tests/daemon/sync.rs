//! The sync loop against a hostile relay.

use chatd::crypto::{Card, Identity, KeyBits, seal};
use ipc_schema::Payload;

use crate::helper::{Chatd, SOON, eventually};
use crate::mock_relay::MockRelay;

/// An identity made in the test, and bob registered at the mock with it as
/// a contact.
async fn bob_knows(relay: &MockRelay, bob: &Chatd, alice: &Identity) {
    bob.register(&relay.url).await;
    bob.client()
        .await
        .call(ipc_schema::methods::ContactAddParams::Card {
            card: alice.card().to_value(),
        })
        .await
        .unwrap();
}

fn sealed_to(bob_card: &serde_json::Value, from: &Identity, body: &str, ts: u64) -> String {
    let card = Card::from_value(bob_card).unwrap();
    let env = seal(from, &card, &Payload::text(body), ts, &mut rand::rng()).unwrap();
    serde_json::to_string(&env).unwrap()
}

/// docs/SECURITY.md §4: a relay that repeats an envelope within one batch
/// buys no extra private-key operations (each costs RSA time, and RSA
/// timing is what RUSTSEC-2023-0071 is about).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_envelope_repeated_in_one_batch_is_opened_once() {
    let relay = MockRelay::start().await;
    let alice = Identity::generate("alice", KeyBits::B2048, &mut rand::rng()).unwrap();
    let bob = Chatd::start("bob", "").await;
    bob_knows(&relay, &bob, &alice).await;
    let me = bob.daemon().identity().unwrap();
    let before = me.private_key_operations();

    let env = sealed_to(&bob.card().await, &alice, "once", 1);
    relay
        .script
        .batches
        .lock()
        .unwrap()
        .push_back(vec![env.clone(), env.clone(), env]);
    eventually(SOON, "the batch acknowledged", || async {
        (relay.script.acked.lock().unwrap().len() == 3).then_some(())
    })
    .await;
    eventually(SOON, "bob's delivered receipt", || async {
        (relay.script.puts.lock().unwrap().len() == 1).then_some(())
    })
    .await;
    assert_eq!(bob.received("alice").await, ["once"]);
    assert_eq!(bob.status().await.dropped.replay, 2);
    // One unwrap to open it, one signature for the receipt: the two copies
    // cost nothing.
    assert_eq!(me.private_key_operations() - before, 2);
}

/// docs/SECURITY.md §2.3: a sender's clock far in the future does not hide
/// a message from the history; order is the order chatd received them in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timestamp_from_the_future_does_not_hide_a_message() {
    let relay = MockRelay::start().await;
    let alice = Identity::generate("alice", KeyBits::B2048, &mut rand::rng()).unwrap();
    let bob = Chatd::start("bob", "").await;
    bob_knows(&relay, &bob, &alice).await;
    let card = bob.card().await;
    let batches = vec![
        vec![sealed_to(&card, &alice, "from the future", i64::MAX as u64)],
        vec![sealed_to(&card, &alice, "from 1970", 1)],
    ];
    relay.script.batches.lock().unwrap().extend(batches);
    eventually(SOON, "both listed, in the order received", || async {
        (bob.received("alice").await == ["from the future", "from 1970"]).then_some(())
    })
    .await;
    let log = bob.log("alice").await;
    assert_eq!(
        log[0].ts,
        i64::MAX as u64,
        "the sender's clock is shown as data"
    );
    assert!(log[0].seq < log[1].seq);
}
