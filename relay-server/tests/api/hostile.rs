//! Hostile input: malformed JSON, wrong types, huge strings, invalid
//! usernames, non-UTF-8. Always a 4xx with the JSON error shape, never a 500,
//! never a crash.

use reqwest::Method;
use serde_json::json;

use crate::helper::*;

/// Bodies no route accepts.
fn bad_bodies() -> Vec<Vec<u8>> {
    let huge = "x".repeat(1 << 20);
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    vec![
        b"".to_vec(),
        b"{".to_vec(),
        b"}".to_vec(),
        b"null".to_vec(),
        b"true".to_vec(),
        b"12".to_vec(),
        b"\"string\"".to_vec(),
        b"[]".to_vec(),
        b"{\"a\":}".to_vec(),
        b"{} trailing".to_vec(),
        vec![0xff, 0xfe, 0xfd],
        b"{\"username\":\"\xff\xfe\",\"password\":\"\xc3\x28\"}".to_vec(),
        b"\xef\xbb\xbf{}".to_vec(),
        nested.into_bytes(),
        json!({"username": huge, "password": huge, "card": huge, "ids": [huge]})
            .to_string()
            .into_bytes(),
        json!({"username": 1, "password": [], "card": {}, "ids": {}, "invite": 5})
            .to_string()
            .into_bytes(),
        json!({"username": "alice\u{0}", "password": "\u{0}".repeat(10), "card": null})
            .to_string()
            .into_bytes(),
        json!({"ids": [null, 1, "x"], "password": null})
            .to_string()
            .into_bytes(),
        b"{\"username\":\"\\ud800\",\"password\":\"\\udfff\"}".to_vec(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_get_a_json_4xx_on_every_route() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    relay.register("bob").await;
    let id = random_id();
    let routes = [
        (Method::POST, "/v1/accounts".to_owned()),
        (Method::POST, "/v1/sessions".to_owned()),
        (Method::DELETE, "/v1/accounts/me".to_owned()),
        (Method::PUT, format!("/v1/messages/{id}")),
        (Method::POST, "/v1/messages/ack".to_owned()),
    ];
    for (method, path) in &routes {
        for body in bad_bodies() {
            let shown = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
            // Raw HTTP: past a route's cap the relay answers 413 before the
            // body is read, and an HTTP client still writing it would see a
            // broken pipe instead of the answer.
            let length = format!("Content-Length: {}", body.len());
            let head = raw_head(
                method.as_str(),
                path,
                Some(&alice.token),
                &["Content-Type: application/json", &length],
            );
            let reply = raw_http(&relay, &head, &body).await;
            assert!(
                (400..500).contains(&reply.code()),
                "{method} {path} with {shown:?}: {} {}",
                reply.code(),
                reply.text()
            );
            reply.assert_error_shape();
        }
    }
    // Still alive, and nothing changed.
    relay.health().await.assert_status(200);
    alice.fetch("").await.assert_status(204);
    relay.log_in("alice").await;
}

#[tokio::test]
async fn hostile_paths_and_queries_get_a_json_4xx() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let long = "a".repeat(16 << 10);
    let paths = [
        "/v1/directory/%FF%FE".to_owned(),
        "/v1/directory/%00".to_owned(),
        "/v1/directory/alice%2F..%2F..".to_owned(),
        format!("/v1/directory/{long}"),
        "/v1/messages/%FF".to_owned(),
        "/v1/messages/..%2Fack".to_owned(),
        format!("/v1/messages/{long}"),
        "/v1/messages?wait=%FF".to_owned(),
        "/v1/messages?from=%FF%FE".to_owned(),
        "/v1/messages?from=alice&from=bob".to_owned(),
        "/v1/messages?limit=1e3".to_owned(),
        "/v1/messages?since=99999999999999999999999".to_owned(),
        format!("/v1/messages?from={long}"),
        "/v1/directory?prefix=%FF".to_owned(),
        format!("/v1/directory?prefix={long}"),
        "/v1/directory?limit=1&limit=2".to_owned(),
    ];
    for path in &paths {
        let reply = send(alice.request(Method::GET, path)).await;
        let shown = &path[..path.len().min(60)];
        assert!(
            (400..500).contains(&reply.code()),
            "GET {shown}: {} {}",
            reply.code(),
            reply.text()
        );
        reply.assert_error_shape();
    }
    relay.health().await.assert_status(200);
}

#[tokio::test]
async fn huge_and_odd_credentials_are_refused_cleanly() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    // As large as a login body may be (16 KiB) and nowhere near a username
    // or password: the answer of a wrong password.
    let long = "u".repeat(8 << 10);
    for (user, password) in [
        (long.as_str(), "password"),
        ("alice", long.as_str()),
        ("", ""),
        ("alice\u{0}", "x"),
        ("ALICE", "x"),
    ] {
        let reply = relay.login(user, password).await;
        reply.assert_error(401, "invalid_credentials");
    }
    // Past the cap, the body is refused before it is parsed.
    let huge = "u".repeat(4 << 20);
    for (user, password) in [(huge.as_str(), "password"), ("alice", huge.as_str())] {
        let body = serde_json::json!({"username": user, "password": password}).to_string();
        let length = format!("Content-Length: {}", body.len());
        let head = raw_head(
            "POST",
            "/v1/sessions",
            None,
            &["Content-Type: application/json", &length],
        );
        raw_http(&relay, &head, body.as_bytes())
            .await
            .assert_error(413, "payload_too_large");
    }
    relay.health().await.assert_status(200);
    relay.log_in("alice").await;
}
