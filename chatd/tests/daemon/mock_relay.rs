//! A hostile or flaky relay, scripted by the test: it repeats envelopes
//! within a batch, refuses tokens, throttles logins. Only what chatd calls.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};

/// What the mock serves and what it saw.
#[derive(Default)]
pub struct Script {
    /// Batches `GET /v1/messages` answers with, one per call, as envelope
    /// JSON texts (repeats allowed: that is the point).
    pub batches: Mutex<VecDeque<Vec<String>>>,
    /// Answers to `POST /v1/sessions`, in order: (status, Retry-After);
    /// when none are left, a login succeeds.
    pub logins: Mutex<VecDeque<(u16, Option<u64>)>>,
    /// Tokens answered with 401.
    pub revoked: Mutex<HashSet<String>>,
    /// When set, `POST /v1/sessions` answers 307 to this URL (which a
    /// client that follows redirects would send the password to).
    pub redirect_logins: Mutex<Option<String>>,
    /// Every id acknowledged.
    pub acked: Mutex<Vec<String>>,
    /// Every envelope put.
    pub puts: Mutex<Vec<String>>,
    /// Logins asked for.
    pub login_calls: AtomicU64,
}

/// The mock on a loopback port.
pub struct MockRelay {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Shared with the handlers.
    pub script: Arc<Script>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MockRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn error(status: u16, code: &str, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    let body = format!(r#"{{"error":{{"code":"{code}","message":"{code} (mock)"}}}}"#);
    let mut r = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    if let Some(s) = retry_after {
        r.headers_mut().insert(header::RETRY_AFTER, s.into());
    }
    r
}

fn token_of(headers: &HeaderMap) -> String {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned()
}

async fn login(State(s): State<Arc<Script>>) -> Response {
    let n = s.login_calls.fetch_add(1, Ordering::SeqCst);
    if let Some(to) = s.redirect_logins.lock().unwrap().clone() {
        return (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, to)]).into_response();
    }
    if let Some((status, retry)) = s.logins.lock().unwrap().pop_front() {
        return error(status, "rate_limited", retry);
    }
    let body = format!(r#"{{"token":"tok-{n}","expires_at":99999999999999}}"#);
    (
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

async fn messages(State(s): State<Arc<Script>>, headers: HeaderMap) -> Response {
    if s.revoked.lock().unwrap().contains(&token_of(&headers)) {
        return error(401, "unauthorized", None);
    }
    let batch = s.batches.lock().unwrap().pop_front();
    match batch {
        Some(envs) => {
            let body = format!(r#"{{"messages":[{}]}}"#, envs.join(","));
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response()
        }
        None => {
            tokio::time::sleep(Duration::from_millis(100)).await;
            StatusCode::NO_CONTENT.into_response()
        }
    }
}

async fn ack(State(s): State<Arc<Script>>, body: Bytes) -> StatusCode {
    #[derive(serde::Deserialize)]
    struct Ack {
        ids: Vec<String>,
    }
    let ack: Ack = serde_json::from_slice(&body).unwrap();
    s.acked.lock().unwrap().extend(ack.ids);
    StatusCode::NO_CONTENT
}

async fn put_one(State(s): State<Arc<Script>>, Path(_id): Path<String>, body: Bytes) -> StatusCode {
    s.puts
        .lock()
        .unwrap()
        .push(String::from_utf8(body.to_vec()).unwrap());
    StatusCode::CREATED
}

impl MockRelay {
    /// Starts the mock.
    pub async fn start() -> MockRelay {
        let script = Arc::new(Script::default());
        let app = Router::new()
            .route("/v1/accounts", post(|| async { StatusCode::CREATED }))
            .route("/v1/sessions", post(login))
            .route("/v1/messages", get(messages))
            .route("/v1/messages/ack", post(ack))
            .route("/v1/messages/{id}", put(put_one))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        MockRelay { url, script, task }
    }
}
