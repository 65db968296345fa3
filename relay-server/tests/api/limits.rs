//! The relay's resource limits (docs/RELAY.md, "Limits"): body caps per
//! route, sessions per account, long-polls per token, connections, and the
//! timeouts that close slow or idle connections.

use std::time::Duration;

use serde_json::json;

use crate::helper::*;

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
    let db = rusqlite::Connection::open_with_flags(
        relay.db_path(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let count: i64 = db
        .query_row(
            "SELECT count(*) FROM sessions WHERE username = 'alice'",
            [],
            |r| r.get(0),
        )
        .unwrap();
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
