//! A relay reached at several URLs (its instances): chatd uses one at a
//! time, moves on to the next when its URL cannot be reached or is shutting
//! down, stays there, and `status` says which one is in use and why the
//! others were left.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use ipc_schema::jsonrpc::code;
use ipc_schema::methods::{ConnectionState, RelayUrlsParams};

use crate::helper::{Chatd, Relay, SOON, eventually};

/// A loopback URL nothing listens on.
fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

/// Serves `app` on a loopback port: its URL and the task.
async fn serve(app: axum::Router) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, task)
}

/// An instance shutting down: every request is a 503 with `Retry-After`,
/// as relay-server answers once its store is closing. Counts requests.
async fn draining() -> (String, Arc<AtomicU64>, tokio::task::JoinHandle<()>) {
    let seen = Arc::new(AtomicU64::new(0));
    let count = seen.clone();
    let app = axum::Router::new().fallback(move || {
        let count = count.clone();
        async move {
            count.fetch_add(1, Ordering::SeqCst);
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::RETRY_AFTER, "5"),
                ],
                r#"{"error":{"code":"internal","message":"relay is shutting down"}}"#,
            )
                .into_response()
        }
    });
    let (url, task) = serve(app).await;
    (url, seen, task)
}

/// A front for the relay whose answers are lost after the relay did the
/// work: each request is passed on to `relay` and answered 502, as a proxy
/// whose upstream hung up answers. Counts requests.
async fn answers_lost(relay: String) -> (String, Arc<AtomicU64>, tokio::task::JoinHandle<()>) {
    let seen = Arc::new(AtomicU64::new(0));
    let count = seen.clone();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let (count, http, relay) = (count.clone(), http.clone(), relay.clone());
        async move {
            count.fetch_add(1, Ordering::SeqCst);
            let (mut parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
            parts.headers.remove(header::HOST);
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let _ = http
                .request(parts.method, format!("{relay}{path}"))
                .headers(parts.headers)
                .body(body)
                .send()
                .await;
            (StatusCode::BAD_GATEWAY, "upstream closed the connection").into_response()
        }
    });
    let (url, task) = serve(app).await;
    (url, seen, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_url_nobody_listens_on_is_passed_over_and_status_shows_the_switch() {
    let relay = Relay::start().await;
    let dead = dead_url();
    let alice = Chatd::start("alice", "").await;
    let bob = Chatd::start("bob", "").await;
    alice
        .try_register(&dead, |p| {
            p.relay_url = vec![dead.clone(), relay.url.clone()].into();
        })
        .await
        .unwrap();
    bob.register(&relay.url).await;
    alice.add(&bob).await;
    bob.add(&alice).await;

    let status = alice.status().await;
    assert_eq!(status.relay_url.as_deref(), Some(relay.url.as_str()));
    let urls: Vec<(&str, bool)> = status
        .relays
        .iter()
        .map(|r| (r.url.as_str(), r.in_use))
        .collect();
    assert_eq!(urls, [(dead.as_str(), false), (relay.url.as_str(), true)]);
    let why = status.relays[0].failure.as_deref().unwrap();
    assert!(why.contains("refused"), "{why}");
    assert!(status.relays[0].failed_at.is_some());
    assert_eq!(status.relays[1].failure, None);

    // Both ways, through the second URL; the dead one is not asked again.
    alice.send("bob", "through the second URL").await;
    bob.send("alice", "and back").await;
    eventually(SOON, "bob has alice's text", || async {
        (bob.received("alice").await == ["through the second URL"]).then_some(())
    })
    .await;
    eventually(SOON, "alice has bob's text", || async {
        (alice.received("bob").await == ["and back"]).then_some(())
    })
    .await;
    let status = alice.status().await;
    assert_eq!(status.connection, ConnectionState::Online);
    assert!(status.relays[1].in_use);
    assert_eq!(status.outbox_pending, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_shutting_down_passes_requests_on_and_is_left_for_the_next() {
    let relay = Relay::start().await;
    let (draining, asked, _task) = draining().await;
    let alice = Chatd::start("alice", "").await;
    let bob = Chatd::start("bob", "").await;
    alice
        .try_register(&draining, |p| {
            p.relay_url = vec![draining.clone(), relay.url.clone()].into();
        })
        .await
        .unwrap();
    bob.register(&relay.url).await;
    alice.add(&bob).await;
    bob.add(&alice).await;
    let status = alice.status().await;
    assert!(status.relays[1].in_use);
    let why = status.relays[0].failure.as_deref().unwrap();
    assert!(
        why.contains("503") && why.contains("shutting down"),
        "{why}"
    );
    // Registering asked the draining instance once: the second URL has
    // been used since (sticky), for sends and long-polls alike.
    let before = asked.load(Ordering::SeqCst);
    assert_eq!(before, 1);
    alice.send("bob", "one").await;
    alice.send("bob", "two").await;
    eventually(SOON, "bob has both", || async {
        (bob.received("alice").await == ["one", "two"]).then_some(())
    })
    .await;
    assert_eq!(asked.load(Ordering::SeqCst), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_urls_changes_where_the_relay_is_reached_and_checks_each_url() {
    let relay = Relay::start().await;
    let alice = Chatd::start("alice", "").await;
    let bob = Chatd::start("bob", "").await;
    alice.register(&relay.url).await;
    bob.register(&relay.url).await;
    alice.add(&bob).await;
    bob.add(&alice).await;
    let mut client = alice.client().await;
    for bad in [
        vec![],
        vec![relay.url.clone(), "http://relay.invalid".into()],
        vec![relay.url.clone(), format!("{}/", relay.url)],
    ] {
        let err = client
            .call(RelayUrlsParams { urls: bad.clone() })
            .await
            .unwrap_err();
        assert_eq!(err.rpc_code(), Some(code::INVALID_PARAMS), "{bad:?}: {err}");
    }

    // A dead URL first: the next request passes it over, and sticks to
    // the live one.
    let dead = dead_url();
    let set = client
        .call(RelayUrlsParams {
            urls: vec![dead.clone(), relay.url.clone()],
        })
        .await
        .unwrap();
    assert_eq!(set.relay_url, dead, "the first is tried first");
    assert!(set.relays[0].in_use && !set.relays[1].in_use);
    alice.send("bob", "after the change").await;
    eventually(SOON, "bob has it", || async {
        (bob.received("alice").await == ["after the change"]).then_some(())
    })
    .await;
    let status = alice.status().await;
    assert_eq!(status.relay_url.as_deref(), Some(relay.url.as_str()));
    assert!(status.relays[0].failure.is_some());
}

/// Back to the first URL once it answers again: chatd moved on while
/// nothing listened there; when the first URL comes up (here a TCP
/// forwarder to the same relay, as an instance restarted behind it), the
/// background look every `[relay] return_to_first_secs` (1 s here, 300 by
/// default) takes chatd back, and mail goes through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chatd_goes_back_to_the_first_url_once_it_answers_again() {
    let relay = Relay::start().await;
    let relay_addr = relay.url.trim_start_matches("http://").to_owned();
    let first = dead_url();
    let first_addr = first.trim_start_matches("http://").to_owned();
    let alice = Chatd::start("alice", "[relay]\nreturn_to_first_secs = 1\n").await;
    let bob = Chatd::start("bob", "").await;
    alice
        .try_register(&first, |p| {
            p.relay_url = vec![first.clone(), relay.url.clone()].into();
        })
        .await
        .unwrap();
    bob.register(&relay.url).await;
    alice.add(&bob).await;
    bob.add(&alice).await;
    assert_eq!(
        alice.status().await.relay_url.as_deref(),
        Some(relay.url.as_str())
    );

    // Still away a while later: the first URL was looked at (a request
    // after the period asks for a look) and is still dead.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    alice.send("bob", "while the first is down").await;
    let status = alice.status().await;
    assert_eq!(status.relay_url.as_deref(), Some(relay.url.as_str()));

    let connections = Arc::new(AtomicU64::new(0));
    let listener = tokio::net::TcpListener::bind(&first_addr).await.unwrap();
    let count = connections.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            let to = relay_addr.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&to).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });

    // Requests go on as usual (each one is a chance for the look, which
    // never holds it up) until chatd is back on the first URL.
    let mut sent = vec!["while the first is down".to_owned()];
    eventually(SOON, "alice is back on the first URL", || {
        let text = format!("message {}", sent.len());
        sent.push(text.clone());
        let (alice, first) = (&alice, &first);
        async move {
            alice.send("bob", &text).await;
            let status = alice.status().await;
            (status.relay_url.as_deref() == Some(first.as_str())).then_some(())
        }
    })
    .await;
    let status = alice.status().await;
    assert!(status.relays[0].in_use && !status.relays[1].in_use);
    assert_eq!(status.relays[0].failure, None, "its failure is cleared");
    let before = connections.load(Ordering::SeqCst);
    alice.send("bob", "through the first again").await;
    sent.push("through the first again".to_owned());
    sent.sort();
    eventually(SOON, "bob has every text, once", || async {
        let mut got = bob.received("alice").await;
        got.sort();
        (got == sent).then_some(())
    })
    .await;
    assert!(
        connections.load(Ordering::SeqCst) > 0 && before > 0,
        "the first URL was used"
    );
}

/// A request that must not arrive twice is never sent to the next URL once
/// it may have reached the relay: the first URL passes the registration on
/// and loses the answer (502). chatd reports that failure; sent again
/// through the second URL it would have met its own account ("taken") and
/// made a second set of keys wait for nothing. The account is on the relay
/// once, as the relay's answer to registering it again shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_that_may_have_arrived_is_not_sent_to_the_next_url() {
    let relay = Relay::start().await;
    let (lossy, asked, _task) = answers_lost(relay.url.clone()).await;
    let alice = Chatd::start("alice", "").await;
    let lost = alice
        .try_register(&lossy, |p| {
            p.relay_url = vec![lossy.clone(), relay.url.clone()].into();
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(lost.contains("502") && !lost.contains("taken"), "{lost}");
    assert_eq!(
        asked.load(Ordering::SeqCst),
        1,
        "sent once, to the first URL"
    );
    let again = alice
        .try_register(&relay.url, |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(again.contains("409") && again.contains("taken"), "{again}");
}
