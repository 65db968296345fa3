//! `GET /v1/openapi.json` describes exactly the routes of docs/RELAY.md, and the
//! router serves exactly those.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::json;

use crate::helper::*;

/// The API's routes (docs/RELAY.md).
const ROUTES: [(&str, &str); 27] = [
    ("POST", "/v1/blobs"),
    ("PUT", "/v1/blobs/{id}"),
    ("GET", "/v1/blobs/{id}"),
    ("HEAD", "/v1/blobs/{id}"),
    ("DELETE", "/v1/blobs/{id}"),
    ("PUT", "/v1/backup"),
    ("GET", "/v1/backup"),
    ("DELETE", "/v1/backup"),
    ("POST", "/v1/accounts"),
    ("PUT", "/v1/accounts/me/password"),
    ("GET", "/v1/devices"),
    ("DELETE", "/v1/devices/{id}"),
    ("PATCH", "/v1/devices/{id}"),
    ("PUT", "/v1/directory/me"),
    ("PUT", "/v1/links/{handle}"),
    ("POST", "/v1/links/{handle}/claim"),
    ("POST", "/v1/sessions"),
    ("DELETE", "/v1/sessions/current"),
    ("DELETE", "/v1/accounts/me"),
    ("GET", "/v1/directory/{user}"),
    ("GET", "/v1/directory"),
    ("PUT", "/v1/messages/{id}"),
    ("GET", "/v1/messages"),
    ("GET", "/v1/messages/{id}"),
    ("POST", "/v1/messages/ack"),
    ("GET", "/v1/health"),
    ("GET", "/v1/openapi.json"),
];

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

async fn documented_routes(relay: &Relay) -> BTreeSet<(String, String)> {
    let reply = relay.health().await;
    reply.assert_status(200);
    let reply = send(relay.request(Method::GET, "/v1/openapi.json")).await;
    reply.assert_status(200);
    assert!(
        reply.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let doc = reply.json();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with('3'),
        "an OpenAPI 3 document"
    );
    let paths = doc["paths"].as_object().expect("paths");
    let mut routes = BTreeSet::new();
    for (path, item) in paths {
        for (key, operation) in item.as_object().unwrap() {
            if METHODS.contains(&key.as_str()) {
                assert!(
                    operation["responses"].is_object(),
                    "{key} {path} has responses"
                );
                routes.insert((key.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

fn api_routes() -> BTreeSet<(String, String)> {
    ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect()
}

fn concrete(path: &str, id: &str) -> String {
    path.replace("{user}", "alice").replace("{id}", id)
}

#[tokio::test]
async fn the_document_lists_exactly_the_api_routes() {
    let relay = Relay::start().await;
    let documented = documented_routes(&relay).await;
    assert_eq!(documented, api_routes());
}

#[tokio::test]
async fn every_documented_route_is_routed() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let id = random_id();
    for (method, path) in documented_routes(&relay).await {
        // Logging out last, so the token works for the others.
        if path == "/v1/sessions/current" {
            continue;
        }
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let reply = send(
            alice
                .request(method.clone(), &concrete(&path, &id))
                .json(&json!({})),
        )
        .await;
        assert_ne!(reply.text(), NO_SUCH_ROUTE, "{method} {path} is not routed");
        assert_ne!(reply.code(), 405, "{method} {path}: {}", reply.text());
        assert_ne!(reply.code(), 401, "{method} {path}: {}", reply.text());
        assert!(reply.code() < 500, "{method} {path}: {}", reply.text());
    }
    alice.logout().await.assert_status(204);
}

/// The router has no routes the document leaves out: every other method on
/// a documented path is 405, and near-miss paths are the fallback's 404.
#[tokio::test]
async fn the_router_serves_nothing_undocumented() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let documented = documented_routes(&relay).await;
    let id = random_id();
    let paths: BTreeSet<&String> = documented.iter().map(|(_, p)| p).collect();
    for path in paths {
        for method in ["GET", "PUT", "POST", "DELETE", "PATCH"] {
            if documented.contains(&(method.to_owned(), path.clone())) {
                continue;
            }
            let m = Method::from_bytes(method.as_bytes()).unwrap();
            let reply = send(alice.request(m, &concrete(path, &id))).await;
            assert_eq!(reply.code(), 405, "{method} {path}: {}", reply.text());
            reply.assert_error(405, "method_not_allowed");
        }
    }
    for path in [
        "/v1/account",
        "/v1/accounts/alice",
        "/v1/sessions/alice",
        "/v1/directory/alice/card",
        "/v1/message",
        "/v1/messages/ack/all",
        "/v1/openapi.yaml",
        "/openapi.json",
        "/health",
    ] {
        let reply = send(alice.request(Method::GET, path)).await;
        assert_eq!(reply.text(), NO_SUCH_ROUTE, "GET {path}");
    }
}

/// Every 429 and 503 the document lists says it comes with `Retry-After`
/// (the relay always sends it: `relay-server/src/error.rs`).
#[tokio::test]
async fn every_429_and_503_documents_retry_after() {
    let relay = Relay::start().await;
    let doc = send(relay.request(Method::GET, "/v1/openapi.json"))
        .await
        .json();
    let mut seen = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(responses) = operation["responses"].as_object() else {
                continue;
            };
            for status in ["429", "503"] {
                if let Some(response) = responses.get(status) {
                    seen += 1;
                    assert!(
                        response["headers"]["Retry-After"].is_object(),
                        "{method} {path} {status} does not document Retry-After: {response}"
                    );
                }
            }
        }
    }
    assert!(seen >= 12, "only {seen} 429/503 answers documented");
}
