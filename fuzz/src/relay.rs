//! `relay_body`: a fuzzed HTTP request (method, one of the real routes with
//! fuzzed segments, query, `Authorization`, `Content-Type`, body) sent
//! through relay-server's `router()` with `oneshot`, against a SQLite store in
//! a temp dir. A 5xx answer is a bug and panics, except 507 (mailbox quota),
//! which the API documents.
//!
//! Built once per process: the runtime, the store, and one registered user
//! with a session the input can use as its bearer token. Argon2 runs with the
//! smallest parameters so that the register and login routes stay cheap.
//! Long-polls return at once because the relay is told it is shutting down.
//! The store is shared by all inputs of a process (a fresh relay per input
//! would cost more than the request); if the user's session is revoked or
//! the account deleted, it is restored before the next input.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use relay_server::auth::{hash_token, new_token};
use relay_server::store::Quota;
use relay_server::{AppState, Config, RegistrationPolicy, Relay, router};
use tower::ServiceExt as _;

/// The user whose token the input may borrow.
const USER: &str = "fuzzer";
/// Its password; long and random enough that the fuzzer will not delete it.
const PASSWORD: &str = "k4Jq9-vX2m!pLr7Z-w3sT8";

/// Methods the input picks from.
const METHODS: [Method; 7] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::HEAD,
    Method::PATCH,
    Method::OPTIONS,
];

/// The relay's routes (`routes::api`); `{}` is replaced by the fuzzed segment.
const ROUTES: [&str; 12] = [
    "/v1/accounts",
    "/v1/accounts/me",
    "/v1/sessions",
    "/v1/sessions/current",
    "/v1/directory",
    "/v1/directory/{}",
    "/v1/messages",
    "/v1/messages/{}",
    "/v1/messages/ack",
    "/v1/health",
    "/v1/openapi.json",
    "/{}",
];

/// `Content-Type` values the input picks from (the last: none).
const CONTENT_TYPES: [&str; 4] = [
    "application/json",
    "text/plain",
    "application/json; charset=utf-8",
    "",
];

/// One request, as the fuzzer describes it. The one-byte selectors come first
/// and `rest` takes every remaining byte, so seeds are easy to write by hand:
/// `[method, route, auth, content type]` then `segment\nquery\nauth text\nbody`.
#[derive(Arbitrary, Debug)]
pub struct RelayInput<'a> {
    /// Index into [`METHODS`].
    pub method: u8,
    /// Index into [`ROUTES`].
    pub route: u8,
    /// 0: no header; 1: the valid token; 2: `Bearer <auth text>`; 3: the auth
    /// text as the whole header; 4: the valid token with the auth text appended.
    pub auth: u8,
    /// Index into [`CONTENT_TYPES`].
    pub content_type: u8,
    /// Segment, query, auth text and body, separated by the first three newlines.
    pub rest: &'a [u8],
}

/// Sends the request `data` describes and checks the status.
pub fn relay_body(data: &[u8]) {
    let Ok(input) = RelayInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let relay = relay();
    let Some(request) = build(&input, &relay.token.lock().expect("token lock")) else {
        return;
    };
    // A HEAD answer has the headers of the GET answer and no body.
    let head = request.method() == Method::HEAD;
    relay.runtime.block_on(async {
        let response = relay
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a response body reads");
        if status.is_server_error() && status != StatusCode::INSUFFICIENT_STORAGE {
            panic!(
                "relay answered {status} to {input:?}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        if status.is_client_error() && !head {
            let error = serde_json::from_slice::<serde_json::Value>(&body)
                .unwrap_or_else(|e| panic!("{status} to {input:?} has no JSON error body ({e})"));
            assert!(
                error["error"]["code"].is_string(),
                "{status} to {input:?} names no error code: {error}"
            );
        }
        relay.keep_session().await;
    });
}

fn pick<T>(items: &[T], i: u8) -> &T {
    &items[usize::from(i) % items.len()]
}

/// Percent-encodes everything but unreserved characters and `keep`.
fn encode(bytes: &[u8], keep: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || keep.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn build(input: &RelayInput<'_>, token: &str) -> Option<Request<Body>> {
    let mut parts = input.rest.splitn(4, |b| *b == b'\n');
    let segment = parts.next().unwrap_or_default();
    let query = parts.next().unwrap_or_default();
    let auth_text = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();

    let mut uri = pick(&ROUTES, input.route).replace("{}", &encode(segment, b""));
    if !query.is_empty() {
        uri.push('?');
        uri.push_str(&encode(query, b"=&"));
    }
    let mut request = Request::builder()
        .method(pick(&METHODS, input.method).clone())
        .uri(uri)
        .body(Body::from(body.to_vec()))
        .ok()?;
    let headers = request.headers_mut();
    let auth = match input.auth % 5 {
        0 => None,
        1 => Some(format!("Bearer {token}").into_bytes()),
        2 => Some([b"Bearer ", auth_text].concat()),
        3 => Some(auth_text.to_vec()),
        _ => Some([format!("Bearer {token}").as_bytes(), auth_text].concat()),
    };
    if let Some(value) = auth.and_then(|v| HeaderValue::from_bytes(&v).ok()) {
        headers.insert(header::AUTHORIZATION, value);
    }
    let content_type = pick(&CONTENT_TYPES, input.content_type);
    if !content_type.is_empty() {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    Some(request)
}

/// The relay every input talks to.
struct FuzzRelay {
    runtime: tokio::runtime::Runtime,
    router: Router,
    state: AppState,
    /// The current valid token of [`USER`].
    token: Mutex<String>,
    /// Keeps long-polls short (the shutdown signal stays raised).
    _stop: tokio::sync::watch::Sender<bool>,
}

impl FuzzRelay {
    /// Gives [`USER`] a session again if the input logged out or deleted it.
    async fn keep_session(&self) {
        let store = &self.state.store;
        let hash = hash_token(&self.token.lock().expect("token lock"));
        if store.session(&hash).await.expect("store answers").is_some() {
            return;
        }
        if store.account(USER).await.expect("store answers").is_none() {
            register(&self.state).await;
        }
        let token = new_token();
        create_session(&self.state, &token).await;
        *self.token.lock().expect("token lock") = token;
    }
}

async fn register(state: &AppState) {
    // bob's keys under the fuzzer's name: the relay checks only the card's shape.
    let mut card = crate::fixtures::people().bob.card().to_value();
    card["user"] = USER.into();
    let hash = state
        .passwords
        .hash(ipc_schema::Secret::new(PASSWORD))
        .await
        .expect("hashing works");
    state
        .store
        .create_account(USER, &hash, &card.to_string(), None, "fuzz")
        .await
        .expect("account created");
}

async fn create_session(state: &AppState, token: &str) {
    let expires = relay_server::store::sqlite::now_ms() + 24 * 3600 * 1000;
    state
        .store
        .create_session(
            &hash_token(token),
            USER,
            relay_server::store::DeviceChoice::Oldest,
            expires,
            state.config.max_sessions_per_user,
        )
        .await
        .expect("session created");
}

/// Prefix of the store directories, one per process.
const DIR_PREFIX: &str = "chat-fuzz-relay-";

/// A fresh store directory for this process. Statics are never dropped, so
/// the directory outlives the process; those of processes that are gone are
/// removed here instead.
fn store_dir() -> PathBuf {
    let tmp = std::env::temp_dir();
    if let Ok(entries) = std::fs::read_dir(&tmp) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(DIR_PREFIX)) else {
                continue;
            };
            if !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let dir = tmp.join(format!("{DIR_PREFIX}{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("relay store dir");
    dir
}

fn relay() -> &'static FuzzRelay {
    static RELAY: OnceLock<FuzzRelay> = OnceLock::new();
    RELAY.get_or_init(|| {
        let dir = store_dir();
        let mut config = Config::new(&dir);
        config.registration = RegistrationPolicy::Open;
        // Small enough that the fuzzer reaches 507.
        config.quota = Quota {
            max_count: 64,
            max_bytes: 256 * 1024,
        };
        // The cheapest Argon2 there is: hashing is not what is fuzzed here.
        config.argon2_memory_kib = 8;
        config.argon2_iterations = 1;
        config.login_failures = 50;
        config.login_window = Duration::from_secs(60);
        // The per-user delay before a password check is served by sleeping;
        // inputs would spend seconds asleep instead of being fuzzed.
        config.login_delay = Duration::ZERO;
        config.login_delay_max = Duration::ZERO;
        config.token_rate = 1e9;
        config.token_burst = 1e9;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let relay = Relay::open(config).expect("relay store opens");
        let _ = relay.stop.send(true);
        let token = new_token();
        runtime.block_on(async {
            register(&relay.state).await;
            create_session(&relay.state, &token).await;
        });
        FuzzRelay {
            router: router(relay.state.clone()),
            state: relay.state,
            runtime,
            token: Mutex::new(token),
            _stop: relay.stop,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_layout_is_four_selector_bytes_then_the_rest() {
        let data = b"\x02\x07\x01\x00abc\nq=1\n\n{}";
        let input = RelayInput::arbitrary_take_rest(Unstructured::new(data)).unwrap();
        assert_eq!(
            (input.method, input.route, input.auth, input.content_type),
            (2, 7, 1, 0)
        );
        assert_eq!(input.rest, b"abc\nq=1\n\n{}");
        let request = build(&input, "tok").unwrap();
        assert_eq!(request.method(), Method::PUT);
        assert_eq!(request.uri(), "/v1/messages/abc?q=1");
        assert_eq!(request.headers()[header::AUTHORIZATION], "Bearer tok");
    }

    #[test]
    fn segments_are_percent_encoded_into_a_valid_uri() {
        assert_eq!(encode(b"a/b c\xff", b""), "a%2Fb%20c%FF");
        assert_eq!(encode(b"x=1&y", b"=&"), "x=1&y");
    }
}
