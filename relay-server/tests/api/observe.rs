//! What operators see: `GET /metrics` on its own listener (docs/RELAY.md §9)
//! and the log formats, neither of which may name users, tokens, passwords
//! or bodies.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::helper::*;

/// A loopback address free a moment ago.
fn free_addr() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

async fn scrape(addr: std::net::SocketAddr) -> String {
    let reply = http_client()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .expect("the metrics listener answers");
    assert_eq!(reply.status(), 200);
    assert!(
        reply.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    reply.text().await.unwrap()
}

/// The value of the sample `name{labels}` (exactly that series).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_polls_mailboxes_and_commits_without_naming_anyone() {
    let addr = free_addr();
    let relay = Relay::start_with(|c| c.metrics_listen = Some(addr)).await;
    // Not on the public address.
    send(relay.request(Method::GET, "/metrics"))
        .await
        .assert_status(404);
    let users = relay.register_all(&["alice", "bob"]).await;
    let (alice, bob) = (&users[0], &users[1]);
    let mail = alice.seal("bob", "counted, never read");
    alice.put(&mail).await.assert_status(201);
    alice.put(&mail).await.assert_status(200);
    let waiting = {
        let alice = alice.clone();
        tokio::spawn(async move { alice.fetch_wait(30).await })
    };
    let text =
        eventually_scrape(addr, |t| sample(t, "relay_long_polls_waiting") == Some(1.0)).await;
    assert_eq!(
        sample(
            &text,
            r#"relay_requests_total{route="/v1/messages/{id}",method="PUT",status="201"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"relay_requests_total{route="/v1/messages/{id}",method="PUT",status="200"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"relay_request_duration_seconds_count{route="/v1/messages/{id}",method="PUT"}"#
        ),
        Some(2.0)
    );
    assert_eq!(sample(&text, "relay_accounts"), Some(2.0));
    assert_eq!(sample(&text, "relay_mailbox_envelopes"), Some(1.0));
    assert!(sample(&text, "relay_mailbox_bytes").unwrap() >= mail.json.len() as f64);
    assert!(sample(&text, "relay_store_commit_seconds_count").unwrap() >= 3.0);
    assert!(sample(&text, "relay_store_batch_size_count").unwrap() >= 3.0);
    // An unknown path is counted as such, not by what the client sent.
    send(relay.request(Method::GET, "/v1/alice-was-here"))
        .await
        .assert_status(404);
    // Wrong passwords until the throttle refuses.
    let mut refused = false;
    for _ in 0..30 {
        let reply = send(
            relay
                .request(Method::POST, "/v1/sessions")
                .json(&serde_json::json!({"username": "bob", "password": "not bob's password"})),
        )
        .await;
        if reply.code() == 429 {
            refused = true;
            break;
        }
    }
    assert!(refused, "the throttle refused at last");
    bob.fetch("").await.assert_status(200);
    let text = scrape(addr).await;
    assert!(sample(&text, "relay_logins_throttled_total").unwrap() >= 1.0);
    assert_eq!(
        sample(
            &text,
            r#"relay_requests_total{route="unmatched",method="GET",status="404"}"#
        ),
        Some(2.0),
        "/metrics on the API and the unknown path"
    );
    for secret in [
        "alice",
        "bob",
        "alice-was-here",
        mail.id.as_str(),
        alice.token.as_str(),
        bob.token.as_str(),
    ] {
        assert!(
            !text.contains(secret),
            "the metrics name {secret:?}:\n{text}"
        );
    }
    // Every line is a comment or `name{labels} value`.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (_, value) = line.rsplit_once(' ').unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
    waiting.abort();
}

async fn eventually_scrape(addr: std::net::SocketAddr, ok: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let text = scrape(addr).await;
        if ok(&text) {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "metrics never got there:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs the binary at `trace` with `format`, registers, logs in, puts and
/// fetches an envelope and a blob; returns the log and what must not be in it.
async fn traced_run(format: &str) -> (String, Vec<String>) {
    use tokio::io::AsyncBufReadExt as _;
    let dir = tempfile::TempDir::new().unwrap();
    let log = dir.path().join("relay.log");
    let mut command = relay_binary();
    command
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            format,
            "--data-dir",
        ])
        .arg(dir.path().join("data"))
        .env("RELAY_LOG", "trace")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap());
    if let Some(url) = database_for(&dir.path().join("data")) {
        command.env("RELAY_DATABASE", url);
    }
    let mut child = command.spawn().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let announced = lines.next_line().await.unwrap().unwrap();
    let endpoint = Endpoint {
        base: announced.strip_prefix("listening on ").unwrap().to_owned(),
        http: http_client(),
    };
    let alice = endpoint.register("alice").await;
    let bob = endpoint.register("bob").await;
    let mail = alice.seal("bob", "a body the log never shows");
    alice.put(&mail).await.assert_status(201);
    bob.fetch("").await.assert_status(200);
    let ciphertext = mail.envelope.ct.clone();
    let blob = "b10b".repeat(8);
    send(
        alice
            .request(Method::POST, "/v1/blobs")
            .json(&serde_json::json!({
                "id": blob, "size": 5, "readers": ["bob"],
            })),
    )
    .await
    .assert_status(201);
    send(
        alice
            .request(Method::PUT, &format!("/v1/blobs/{blob}"))
            .header("content-range", "bytes 0-4/5")
            .body("QWxpY"),
    )
    .await
    .assert_status(200);
    let _ = child.kill().await;
    let text = std::fs::read_to_string(&log).unwrap();
    let secrets = vec![
        password_of("alice"),
        password_of("bob"),
        alice.token.clone(),
        bob.token.clone(),
        ciphertext,
        mail.envelope.sig.clone(),
        "QWxpY".to_owned(),
    ];
    (text, secrets)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logs_in_text_and_json_hold_no_password_token_or_body() {
    for format in ["text", "json"] {
        let (text, secrets) = traced_run(format).await;
        assert!(
            text.lines().count() > 20,
            "{format}: logged at trace:\n{text}"
        );
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "the {format} log holds {secret:?}"
            );
        }
        if format == "json" {
            for line in text.lines() {
                let event: Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}"));
                assert!(
                    event["level"].is_string() && event["fields"].is_object(),
                    "{line}"
                );
            }
        }
    }
}
