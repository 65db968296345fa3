//! Graceful shutdown of `relay_server::run`.

use std::time::{Duration, Instant};

use crate::helper::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_waiting_long_polls_and_run_returns_ok() {
    let mut relay = Relay::start().await;
    let bob = relay.register("bob").await;
    let carol = relay.register("carol").await;
    let waiting: Vec<_> = [bob.clone(), carol.clone()]
        .into_iter()
        .map(|u| tokio::spawn(async move { (u.fetch_wait(30).await, Instant::now()) }))
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(waiting.iter().all(|w| !w.is_finished()));

    let stopping = Instant::now();
    let (result, took) = timed(Duration::from_secs(3), relay.shutdown()).await;
    result.expect("run returns Ok");
    assert!(took < Duration::from_secs(2), "run took {took:?} to return");
    for w in waiting {
        let (reply, done) = w.await.unwrap();
        reply.assert_status(204);
        assert!(
            done - stopping < Duration::from_millis(500),
            "the long-poll ended {:?} after shutdown",
            done - stopping
        );
    }

    // The port no longer accepts requests.
    assert!(
        relay
            .http
            .get(relay.url("/v1/health"))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_with_idle_keep_alive_connections_is_prompt() {
    let mut relay = Relay::start().await;
    let alice = relay.register("alice").await;
    relay.register("bob").await;
    // Leave pooled keep-alive connections open.
    alice.put(&alice.seal("bob", "hi")).await.assert_status(201);
    relay.health().await.assert_status(200);
    let (result, took) = timed(Duration::from_secs(3), relay.shutdown()).await;
    result.expect("run returns Ok");
    assert!(took < Duration::from_secs(2), "run took {took:?}");
}
