//! The outbox: one queue per recipient, each with its own backoff.

use std::time::Duration;

use ipc_schema::methods::{Event, MessageState};

use crate::helper::{Chatd, Relay, SOON, acquainted, eventually};

/// docs/SECURITY.md §2.3: a contact who keeps her mailbox full (507) must
/// not freeze what the victim sends to anyone else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_mailbox_holds_back_only_its_own_recipient() {
    let relay = Relay::with_quota(3).await;
    let alice = Chatd::start("alice", "").await;
    let mut bob = Chatd::start("bob", "").await;
    let carol = Chatd::start("carol", "").await;
    acquainted(&relay, &[&alice, &bob, &carol]).await;

    // bob is away: three texts fill his mailbox, two more get 507.
    bob.stop().await;
    for i in 1..=5 {
        alice.send("bob", &format!("to bob {i}")).await;
    }
    eventually(SOON, "three of five accepted by the relay", || async {
        (alice.status().await.outbox_pending == 2).then_some(())
    })
    .await;

    // carol's text is not stuck behind bob's.
    alice.send("carol", "to carol").await;
    eventually(Duration::from_secs(5), "carol's text", || async {
        (carol.received("alice").await == ["to carol"]).then_some(())
    })
    .await;
    assert_eq!(
        alice.status().await.outbox_pending,
        2,
        "bob's two still wait"
    );

    // bob comes back and drains his mailbox: the rest follows, in order.
    bob.start_again().await;
    let want: Vec<String> = (1..=5).map(|i| format!("to bob {i}")).collect();
    eventually(
        Duration::from_secs(60),
        "all five at bob, in order",
        || async { (bob.received("alice").await == want).then_some(()) },
    )
    .await;
    eventually(SOON, "alice's outbox empty", || async {
        (alice.status().await.outbox_pending == 0).then_some(())
    })
    .await;
}

/// Removing a contact ends its queued texts with a clear failed state,
/// instead of leaving them queued forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_contact_fails_its_queued_texts() {
    let relay = Relay::with_quota(1).await;
    let alice = Chatd::start("alice", "").await;
    let mut bob = Chatd::start("bob", "").await;
    acquainted(&relay, &[&alice, &bob]).await;
    bob.stop().await;
    let first = alice.send("bob", "fits").await;
    let stuck = alice.send("bob", "gets 507").await;
    eventually(SOON, "the first accepted", || async {
        (alice.status().await.outbox_pending == 1).then_some(())
    })
    .await;
    let mut events = alice.events(None).await;
    alice
        .client()
        .await
        .call(ipc_schema::methods::ContactRemoveParams { user: "bob".into() })
        .await
        .unwrap();
    let failed = loop {
        let e = tokio::time::timeout(SOON, events.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Event::MessageState(s) = e.event
            && s.state == MessageState::Failed
        {
            break s;
        }
    };
    assert_eq!(failed.id, stuck);
    assert_eq!(
        failed.failure.as_deref(),
        Some("recipient was removed from the contacts")
    );
    assert_eq!(alice.status().await.outbox_pending, 0);
    let log = alice.log("bob").await;
    let state = |id: &str| log.iter().find(|m| m.id == id).unwrap().state;
    assert_eq!(state(&first), MessageState::Sent);
    assert_eq!(state(&stuck), MessageState::Failed);
}
