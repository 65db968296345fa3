//! The relay's resource limits (docs/RELAY.md, "Limits"): body caps per
//! route, sessions per account, long-polls per token, connections, and the
//! timeouts that close slow or idle connections.

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
