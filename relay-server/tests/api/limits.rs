//! The relay's resource limits (docs/RELAY.md, "Limits"): body caps per
//! route, sessions per account, long-polls per token, connections, and the
//! timeouts that close slow or idle connections.

use std::time::Duration;

use serde_json::json;

use crate::helper::*;

/// The defaults are the ones docs/RELAY.md's "Limits" table gives.
#[test]
fn the_limits_default_to_the_documented_values() {
    let c = relay_server::Config::new("/nonexistent");
    assert_eq!(c.quota.max_count, 10_000);
    assert_eq!(c.quota.max_bytes, 1 << 30);
    assert_eq!(relay_server::routes::SMALL_BODY, 16 << 10);
    assert_eq!(relay_server::routes::ACK_BODY, 64 << 10);
    assert_eq!(relay_server::server::MAX_BODY, 7 << 20);
    assert_eq!(c.body_timeout, Duration::from_secs(60));
    assert_eq!(c.hash_queue, 64);
    assert_eq!(c.login_failures, 10);
    assert_eq!(c.login_window, Duration::from_secs(15 * 60));
    assert_eq!(c.login_delay, Duration::from_millis(250));
    assert_eq!(c.login_delay_max, Duration::from_secs(4));
    assert_eq!(c.max_sessions_per_user, 32);
    assert_eq!(c.max_polls_per_token, 8);
    assert_eq!((c.token_rate, c.token_burst), (1000.0, 2000.0));
    assert_eq!(c.max_connections, 16_384);
    assert_eq!(c.header_timeout, Duration::from_secs(10));
    assert_eq!(c.idle_timeout, Duration::from_secs(60));
    assert!(c.trusted_proxies.is_empty());
}

/// `method path` with `body` over raw HTTP (the relay may answer before it
/// has read a body that is over the cap).
async fn raw(relay: &Relay, method: &str, path: &str, token: Option<&str>, body: &[u8]) -> Reply {
    let length = format!("Content-Length: {}", body.len());
    let head = raw_head(
        method,
        path,
        token,
        &["Content-Type: application/json", &length],
    );
    raw_http(relay, &head, body).await
}

/// A JSON object of exactly `size` bytes: `{"username":"…","password":"…"}`
/// with a password that fills it.
fn login_body(size: usize) -> Vec<u8> {
    let empty = json!({"username": "alice", "password": ""}).to_string();
    let body = json!({"username": "alice", "password": "p".repeat(size - empty.len())});
    let body = body.to_string().into_bytes();
    assert_eq!(body.len(), size);
    body
}

#[tokio::test]
async fn routes_without_a_large_body_refuse_one_over_16_kib_with_413() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let cap = relay_server::routes::SMALL_BODY;
    assert_eq!(cap, 16 * 1024);
    let token = Some(alice.token.as_str());
    for (method, path, token) in [
        ("POST", "/v1/accounts", None),
        ("POST", "/v1/sessions", None),
        ("DELETE", "/v1/accounts/me", token),
    ] {
        raw(&relay, method, path, token, &login_body(cap + 1))
            .await
            .assert_error(413, "payload_too_large");
        // At the cap, the body is read and judged (a 4xx of its own).
        let reply = raw(&relay, method, path, token, &login_body(cap)).await;
        assert!(
            matches!(reply.code(), 400 | 401),
            "{method} {path}: {}",
            reply.text()
        );
    }
    // A registration as chatd sends it is far below the cap.
    assert!(registration("bob").to_string().len() < cap / 4);
    alice.fetch("").await.assert_status(204);
}

#[tokio::test]
async fn an_ack_takes_a_thousand_ids_and_refuses_a_body_over_64_kib() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let ids: Vec<String> = (0..1000).map(|_| random_id()).collect();
    let body = json!({ "ids": ids }).to_string();
    raw(
        &relay,
        "POST",
        "/v1/messages/ack",
        Some(&alice.token),
        body.as_bytes(),
    )
    .await
    .assert_status(204);
    let cap = relay_server::routes::ACK_BODY;
    let padded = format!("{{\"ids\":[]{}}}", " ".repeat(cap + 1 - 10));
    assert_eq!(padded.len(), cap + 1);
    raw(
        &relay,
        "POST",
        "/v1/messages/ack",
        Some(&alice.token),
        padded.as_bytes(),
    )
    .await
    .assert_error(413, "payload_too_large");
}

#[tokio::test]
async fn an_envelope_keeps_its_6_mib_cap() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    relay.register("bob").await;
    // 5 MiB of ciphertext, well over every other route's cap.
    let big = alice
        .seal("bob", "big")
        .altered(|e| e.ct = "A".repeat(5 << 20));
    assert!(big.json.len() > 5 << 20);
    alice.put(&big).await.assert_status(201);
}

/// An account holds at most `max_sessions_per_user` sessions: a login past
/// the cap works and revokes the oldest session, not the new one.
#[tokio::test]
async fn a_login_past_the_session_cap_revokes_the_oldest_session() {
    let relay = Relay::start_with(|c| c.max_sessions_per_user = 3).await;
    let first = relay.register("alice").await;
    // Used once, so its lookup is cached: revocation must clear that too.
    first.fetch("").await.assert_status(204);
    let mut sessions = vec![first];
    for _ in 0..4 {
        sessions.push(relay.log_in("alice").await);
    }
    for (i, session) in sessions.iter().enumerate() {
        let reply = session.fetch("").await;
        if i < 2 {
            reply.assert_error(401, "unauthorized");
        } else {
            reply.assert_status(204);
        }
    }
    let count = Db::of(&relay).count("SELECT count(*) FROM sessions WHERE username = 'alice'");
    assert_eq!(count, 3);
    // Another account's sessions are its own.
    let bob = relay.register("bob").await;
    sessions[4].fetch("").await.assert_status(204);
    bob.fetch("").await.assert_status(204);
}

/// Gives a just-sent long-poll time to reach the relay and start waiting.
const SETTLE: Duration = Duration::from_millis(200);

/// A token may have `max_polls_per_token` long-polls waiting: the next one
/// answers the oldest with 204 at once and waits in its place. Other tokens,
/// even of the same user, are not affected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_past_the_cap_answers_the_tokens_oldest_with_204() {
    let relay = Relay::start_with(|c| c.max_polls_per_token = 2).await;
    let alice = relay.register("alice").await;
    let bob = relay.register("bob").await;
    let bob_elsewhere = relay.log_in("bob").await;
    let poll = |user: &User| {
        let user = user.clone();
        tokio::spawn(async move { user.fetch_wait(10).await })
    };
    let elsewhere = poll(&bob_elsewhere);
    let first = poll(&bob);
    tokio::time::sleep(SETTLE).await;
    let second = poll(&bob);
    tokio::time::sleep(SETTLE).await;
    assert!(!first.is_finished() && !second.is_finished());

    let third = poll(&bob);
    let (reply, _) = timed(Duration::from_secs(2), first).await;
    reply.unwrap().assert_status(204);
    tokio::time::sleep(SETTLE).await;
    assert!(!second.is_finished(), "only the oldest gives way");
    assert!(!third.is_finished());
    assert!(!elsewhere.is_finished(), "the cap is per token");

    let hello = alice.seal("bob", "hello");
    alice.put(&hello).await.assert_status(201);
    for waiting in [second, third, elsewhere] {
        let (reply, _) = timed(Duration::from_secs(2), waiting).await;
        reply.unwrap().assert_messages(&[&hello]);
    }
}

// --- connections --------------------------------------------------------------

/// The relay's `host:port`.
fn addr(relay: &Relay) -> String {
    relay
        .base
        .split_once("://")
        .map(|(_, a)| a.to_owned())
        .expect("a base URL")
}

/// Reads from `stream` until the relay closes it; returns how long that took
/// (failing the test past `limit`) and what it sent.
async fn until_closed(
    stream: &mut tokio::net::tcp::OwnedReadHalf,
    limit: Duration,
) -> (Duration, Vec<u8>) {
    use tokio::io::AsyncReadExt as _;
    let started = std::time::Instant::now();
    let mut got = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the connection is still open after {limit:?}");
    (started.elapsed(), got)
}

/// A connection that trickles `line` every 200 ms (slowloris), after `first`.
async fn trickling(
    relay: &Relay,
    first: &str,
    line: &'static str,
) -> tokio::net::tcp::OwnedReadHalf {
    use tokio::io::AsyncWriteExt as _;
    let stream = tokio::net::TcpStream::connect(addr(relay)).await.unwrap();
    let (read, mut write) = stream.into_split();
    write.write_all(first.as_bytes()).await.unwrap();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if write.write_all(line.as_bytes()).await.is_err() {
                return;
            }
        }
    });
    read
}

fn short_timeouts(c: &mut relay_server::Config) {
    c.header_timeout = Duration::from_secs(1);
    c.idle_timeout = Duration::from_secs(1);
    c.body_timeout = Duration::from_secs(1);
}

/// Slowloris: clients that trickle header lines are closed once the header
/// timeout has passed, however steadily they send, and the relay serves on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_trickling_a_request_head_are_closed_after_the_header_timeout() {
    let relay = Relay::start_with(short_timeouts).await;
    let mut slow = Vec::new();
    for _ in 0..50 {
        slow.push(
            trickling(
                &relay,
                "GET /v1/health HTTP/1.1\r\nHost: relay\r\n",
                "X-Slow: yes\r\n",
            )
            .await,
        );
    }
    for read in &mut slow {
        let (took, _) = until_closed(read, Duration::from_secs(4)).await;
        assert!(took < Duration::from_secs(3), "closed after {took:?}");
    }
    relay.health().await.assert_status(200);
}

/// A connection that sends nothing, or too little to tell its protocol, is
/// closed after the header timeout too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_half_started_connections_are_closed_after_the_header_timeout() {
    use tokio::io::AsyncWriteExt as _;
    let relay = Relay::start_with(short_timeouts).await;
    for first in [&b""[..], b"GET /v1/h", b"PRI * HTTP/2.0\r\n"] {
        let stream = tokio::net::TcpStream::connect(addr(&relay)).await.unwrap();
        let (mut read, mut write) = stream.into_split();
        write.write_all(first).await.unwrap();
        let (took, _) = until_closed(&mut read, Duration::from_secs(4)).await;
        assert!(
            took < Duration::from_secs(3),
            "{first:?}: closed after {took:?}"
        );
        drop(write);
    }
}

/// An HTTP/1.1 keep-alive connection waiting for its next request is waiting
/// for a request head: it is closed after the header timeout, even when the
/// idle timeout is longer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    use tokio::io::AsyncWriteExt as _;
    let relay = Relay::start_with(|c| {
        short_timeouts(c);
        c.idle_timeout = Duration::from_secs(5);
    })
    .await;
    let stream = tokio::net::TcpStream::connect(addr(&relay)).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    write
        .write_all(b"GET /v1/health HTTP/1.1\r\nHost: relay\r\n\r\n")
        .await
        .unwrap();
    let (took, answer) = until_closed(&mut read, Duration::from_secs(4)).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert!(took < Duration::from_secs(3), "closed after {took:?}");
    drop(write);
}

/// A client that sends its head but trickles its body gets 408 once the body
/// timeout has passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_body_is_408_after_the_body_timeout() {
    let relay = Relay::start_with(short_timeouts).await;
    let head = "POST /v1/sessions HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"username\":";
    let mut read = trickling(&relay, head, " ").await;
    let (took, answer) = until_closed(&mut read, Duration::from_secs(4)).await;
    assert!(took < Duration::from_secs(3), "answered after {took:?}");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");
}

/// Long-polls hold a request open for up to a minute: neither the header
/// nor the idle timeout cuts one that is waiting for mail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_long_poll_outlives_the_header_and_idle_timeouts() {
    let relay = Relay::start_with(short_timeouts).await;
    let bob = relay.register("bob").await;
    let (reply, took) = timed(Duration::from_secs(10), bob.fetch_wait(3)).await;
    reply.assert_status(204);
    assert!(took >= Duration::from_millis(2900), "{took:?}");

    // And one that gets mail late in its wait gets the mail.
    let alice = relay.register("alice").await;
    let hello = alice.seal("bob", "late");
    let waiting = tokio::spawn({
        let bob = bob.clone();
        async move { bob.fetch_wait(5).await }
    });
    tokio::time::sleep(Duration::from_millis(2500)).await;
    alice.put(&hello).await.assert_status(201);
    waiting.await.unwrap().assert_messages(&[&hello]);
}

/// HTTP/2: a connection with no request in flight is closed after the idle
/// timeout; one with a long-poll waiting is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_http2_connection_is_closed_but_not_one_with_a_long_poll() {
    let relay = Relay::start_with(short_timeouts).await;
    let bob = relay.register("bob").await;
    let stream = tokio::net::TcpStream::connect(addr(&relay)).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .expect("h2c handshake");
    let started = std::time::Instant::now();
    let connection = tokio::spawn(connection);
    let request = axum::http::Request::get(format!("{}/v1/messages?wait=3", relay.base))
        .header("authorization", format!("Bearer {}", bob.token))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = sender
        .send_request(request)
        .await
        .expect("the long-poll is answered");
    assert_eq!(response.status(), 204);
    assert!(started.elapsed() >= Duration::from_millis(2900));
    // The client keeps its end open: only the relay can close it.
    let (closed, idle) = timed(Duration::from_secs(4), connection).await;
    closed.unwrap().expect("closed cleanly (GOAWAY)");
    assert!(idle >= Duration::from_millis(900), "closed after {idle:?}");
    assert!(idle < Duration::from_secs(3), "closed after {idle:?}");
    drop(sender);
}

/// At the connection cap the relay stops accepting: a new client waits until
/// a connection closes, then is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_new_clients_wait_until_one_closes() {
    let relay = Relay::start_with(|c| c.max_connections = 2).await;
    let first = tokio::net::TcpStream::connect(addr(&relay)).await.unwrap();
    let second = tokio::net::TcpStream::connect(addr(&relay)).await.unwrap();
    let waiting = tokio::spawn({
        let endpoint = relay.endpoint.clone();
        async move { endpoint.health().await }
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!waiting.is_finished(), "a third connection was served");
    drop(first);
    let (reply, _) = timed(Duration::from_secs(5), waiting).await;
    reply.unwrap().assert_status(200);
    drop(second);
}

/// TLS handshakes are held to the header timeout too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_client_that_never_finishes_its_handshake_is_closed() {
    use tokio::io::AsyncWriteExt as _;
    let certs = tempfile::TempDir::new().unwrap();
    let files = crate::tls::self_signed(certs.path());
    let relay = Relay::start_with(|c| {
        short_timeouts(c);
        c.tls = Some(files);
    })
    .await;
    let stream = tokio::net::TcpStream::connect(addr(&relay)).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    // The first bytes of a ClientHello, and no more.
    write
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00])
        .await
        .unwrap();
    let (took, _) = until_closed(&mut read, Duration::from_secs(4)).await;
    assert!(took < Duration::from_secs(3), "closed after {took:?}");
    relay.health().await.assert_status(200);
}
