//! `GET /v1/messages?wait=…`: long-polls and the listing filters.

use std::time::{Duration, Instant};

use crate::helper::*;

/// Gives a just-sent long-poll time to reach the relay and start waiting.
const SETTLE: Duration = Duration::from_millis(200);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_get_returns_within_50_ms_of_a_put() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let bob = relay.register("bob").await;
    let hello = alice.seal("bob", "hello");

    let waiting = tokio::spawn({
        let bob = bob.clone();
        async move {
            let reply = bob.fetch_wait(10).await;
            (reply, Instant::now())
        }
    });
    tokio::time::sleep(SETTLE).await;
    assert!(
        !waiting.is_finished(),
        "the long-poll waits while there is no mail"
    );

    let put_started = Instant::now();
    alice.put(&hello).await.assert_status(201);
    let put_done = Instant::now();
    let (reply, get_done) = waiting.await.unwrap();
    reply.assert_messages(&[&hello]);
    assert!(
        get_done > put_started,
        "it returned only because of the put"
    );
    let late = get_done.saturating_duration_since(put_done);
    assert!(
        late <= Duration::from_millis(50),
        "the long-poll returned {late:?} after the put's 201"
    );
}

#[tokio::test]
async fn a_wait_without_mail_ends_with_204_after_the_wait() {
    let relay = Relay::start().await;
    let bob = relay.register("bob").await;
    let (reply, took) = timed(Duration::from_secs(5), bob.fetch_wait(1)).await;
    reply.assert_status(204);
    assert!(reply.body.is_empty());
    assert!(
        took >= Duration::from_millis(900),
        "returned after {took:?}"
    );
    assert!(
        took < Duration::from_millis(2500),
        "returned after {took:?}"
    );

    // Without `wait`, the answer is immediate.
    let (reply, took) = timed(Duration::from_secs(5), bob.fetch("")).await;
    reply.assert_status(204);
    assert!(took < Duration::from_millis(500), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_waiters_are_woken_only_by_their_own_mail() {
    let relay = Relay::start().await;
    let names: Vec<String> = (0..20).map(|i| format!("user{i:02}")).collect();
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let users = relay.register_all(&name_refs).await;
    let alice = relay.register("alice").await;
    let mail = alice.seal("user07", "only for user07");

    let wait_secs = 2;
    let started = Instant::now();
    let waiters: Vec<_> = users
        .iter()
        .cloned()
        .map(|u| {
            tokio::spawn(async move {
                let reply = u.fetch_wait(wait_secs).await;
                (u.name, reply, Instant::now())
            })
        })
        .collect();
    tokio::time::sleep(SETTLE).await;
    assert!(waiters.iter().all(|w| !w.is_finished()));

    alice.put(&mail).await.assert_status(201);
    let put_done = Instant::now();
    tokio::time::sleep(SETTLE).await;
    for (i, w) in waiters.iter().enumerate() {
        assert_eq!(
            w.is_finished(),
            i == 7,
            "user{i:02} finished {:?} after the put",
            put_done.elapsed()
        );
    }

    for waiter in waiters {
        let (name, reply, done) = waiter.await.unwrap();
        if name == "user07" {
            reply.assert_messages(&[&mail]);
            assert!(done.saturating_duration_since(put_done) <= Duration::from_millis(50));
        } else {
            reply.assert_status(204);
            let waited = done - started;
            assert!(
                waited >= Duration::from_millis(wait_secs * 1000 - 100),
                "{name} returned after {waited:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_wait_over_60_seconds_is_400() {
    let relay = Relay::start().await;
    let bob = relay.register("bob").await;
    for query in ["wait=61", "wait=3600", "wait=-1", "wait=soon", "wait=1.5"] {
        let (reply, took) = timed(Duration::from_secs(5), bob.fetch(query)).await;
        reply.assert_error(400, "bad_request");
        assert!(took < Duration::from_millis(500));
    }
}

#[tokio::test]
async fn the_listing_filters_by_sender_time_and_count() {
    let relay = Relay::start().await;
    let users = relay.register_all(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&users[0], &users[1], &users[2]);
    let a1000 = alice.seal_at("bob", "a1000", 1000);
    let c1500 = carol.seal_at("bob", "c1500", 1500);
    let a2000 = alice.seal_at("bob", "a2000", 2000);
    let a3000 = alice.seal_at("bob", "a3000", 3000);
    alice.put(&a1000).await.assert_status(201);
    carol.put(&c1500).await.assert_status(201);
    alice.put(&a2000).await.assert_status(201);
    alice.put(&a3000).await.assert_status(201);

    bob.fetch("from=carol").await.assert_messages(&[&c1500]);
    bob.fetch("from=alice")
        .await
        .assert_messages(&[&a1000, &a2000, &a3000]);
    bob.fetch("since=2000")
        .await
        .assert_messages(&[&a2000, &a3000]);
    // `until` is exclusive.
    bob.fetch("until=2000")
        .await
        .assert_messages(&[&a1000, &c1500]);
    bob.fetch("since=1500&until=3000")
        .await
        .assert_messages(&[&c1500, &a2000]);
    bob.fetch("from=alice&since=1001&until=3001")
        .await
        .assert_messages(&[&a2000, &a3000]);
    bob.fetch("limit=2")
        .await
        .assert_messages(&[&a1000, &c1500]);
    bob.fetch("limit=1&from=alice&since=1500")
        .await
        .assert_messages(&[&a2000]);
    bob.fetch("limit=1000")
        .await
        .assert_messages(&[&a1000, &c1500, &a2000, &a3000]);
    assert_eq!(bob.fetch("from=dave").await.code(), 204);
    assert_eq!(bob.fetch("since=3001").await.code(), 204);
    assert_eq!(bob.fetch("until=1000").await.code(), 204);

    for bad in [
        "limit=0",
        "limit=1001",
        "limit=x",
        "from=Alice",
        "from=a",
        "since=-5",
        "until=later",
        "colour=blue",
    ] {
        let reply = bob.fetch(bad).await;
        assert_eq!(reply.code(), 400, "{bad}: {}", reply.text());
        reply.assert_error(400, "bad_request");
    }
}

/// Filters compare timestamps as numbers, even beyond the signed 64-bit range
/// SQLite stores.
#[tokio::test]

async fn time_filters_beyond_i64_range_compare_as_numbers() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let bob = relay.register("bob").await;
    let mail = alice.seal_at("bob", "hello", 1000);
    alice.put(&mail).await.assert_status(201);
    let huge = u64::MAX;
    assert_eq!(bob.fetch(&format!("since={huge}")).await.code(), 204);
    bob.fetch(&format!("until={huge}"))
        .await
        .assert_messages(&[&mail]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filtered_long_poll_keeps_waiting_through_other_mail() {
    let relay = Relay::start().await;
    let users = relay.register_all(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&users[0], &users[1], &users[2]);
    let from_carol = carol.seal("bob", "the one bob waits for");

    let waiting = tokio::spawn({
        let bob = bob.clone();
        async move { (bob.fetch("wait=5&from=carol").await, Instant::now()) }
    });
    tokio::time::sleep(SETTLE).await;
    alice
        .put(&alice.seal("bob", "not this one"))
        .await
        .assert_status(201);
    tokio::time::sleep(SETTLE).await;
    assert!(!waiting.is_finished(), "mail from alice does not end it");

    carol.put(&from_carol).await.assert_status(201);
    let put_done = Instant::now();
    let (reply, done) = waiting.await.unwrap();
    reply.assert_messages(&[&from_carol]);
    assert!(done.saturating_duration_since(put_done) <= Duration::from_millis(50));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_already_waiting_is_returned_at_once() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let bob = relay.register("bob").await;
    let hello = alice.seal("bob", "hello");
    alice.put(&hello).await.assert_status(201);
    let (reply, took) = timed(Duration::from_secs(5), bob.fetch_wait(30)).await;
    reply.assert_messages(&[&hello]);
    assert!(took < Duration::from_millis(500), "{took:?}");
}
