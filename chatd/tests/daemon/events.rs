//! The event log's retention.

use ipc_schema::client::ClientError;
use ipc_schema::jsonrpc::code;

use crate::helper::{Chatd, Relay, SOON, acquainted, eventually};

/// docs/IPC.md §6: events past the retention are pruned, and asking for
/// them is an error naming the oldest one kept, never a silent gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_for_pruned_events_is_an_error_naming_the_oldest_kept() {
    let relay = Relay::start().await;
    let mut alice = Chatd::start("alice", "").await;
    let bob = Chatd::start("bob", "").await;
    acquainted(&relay, &[&alice, &bob]).await;
    for i in 0..4 {
        alice.send("bob", &format!("text {i}")).await;
    }
    eventually(SOON, "all sent", || async {
        (alice.status().await.outbox_pending == 0).then_some(())
    })
    .await;
    let last = alice.events(None).await.last_seq();
    assert!(last > 5, "{last}");

    alice.stop().await;
    alice.write_config("[events]\nretention_count = 3\n");
    alice.start_again().await;

    let Err(err) = alice.client().await.subscribe(Some(0)).await else {
        panic!("a replay from seq 0 was accepted after a prune");
    };
    let ClientError::Rpc { code: c, data, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*c, code::EVENTS_EXPIRED, "{err}");
    let oldest = data.as_ref().unwrap()["oldest_seq"].as_u64().unwrap();
    assert!(oldest > 1 && oldest <= last, "{oldest} of {last}");
    assert!(err.to_string().contains(&oldest.to_string()), "{err}");
    // A place beyond the newest event (a client that kept its seq while
    // chatd started afresh) is refused the same way, not a silent gap.
    let Err(ahead) = alice.client().await.subscribe(Some(last + 100)).await else {
        panic!("a replay from beyond the newest event was accepted");
    };
    assert_eq!(ahead.rpc_code(), Some(code::EVENTS_EXPIRED), "{ahead}");
    // From the oldest kept on, the replay works.
    let mut stream = alice
        .client()
        .await
        .subscribe(Some(oldest - 1))
        .await
        .unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.seq, oldest);
}
