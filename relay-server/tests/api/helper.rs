//! A relay on its own loopback port and data dir, and users who talk to it over
//! real HTTP, so that tests read like sentences:
//!
//! ```ignore
//! let relay = Relay::start().await;
//! let (alice, bob) = (relay.register("alice").await, relay.register("bob").await);
//! let hello = alice.seal("bob", "hello");
//! alice.put(&hello).await.assert_status(201);
//! bob.fetch("").await.assert_messages(&[&hello]);
//! ```
//!
//! Cards and envelopes are real (chatd's crypto), made from the two frozen
//! identities of chatd's vectors file, because generating RSA keys is slow.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chatd::crypto::{Card, Identity};
use ipc_schema::envelope::{Envelope, Payload};

use relay_server::{Config, run};
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Argon2id cost for tests: the real one (19 MiB, t = 2) only where a test says so.
pub const TEST_ARGON2_MEMORY_KIB: u32 = 1024;
/// Argon2id passes for tests.
pub const TEST_ARGON2_ITERATIONS: u32 = 1;

/// How long any one request may take before the test fails instead of hanging.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The error body the router's fallback answers for paths it does not know.
pub const NO_SUCH_ROUTE: &str = r#"{"error":{"code":"not_found","message":"no such route"}}"#;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    relay_server::store::sqlite::now_ms()
}

/// The first per-user login delay in tests (the real one is 250 ms).
pub const TEST_LOGIN_DELAY: Duration = Duration::from_millis(5);
/// The longest per-user login delay in tests (the real one is 4 s).
pub const TEST_LOGIN_DELAY_MAX: Duration = Duration::from_millis(40);

/// Which store the suite runs on: SQLite unless `CHAT_RELAY_BACKEND=postgres`,
/// which takes a database of its own per data dir in the cluster named by
/// `CHAT_TEST_PG` (scripts/test runs the suite both ways).
pub fn on_postgres() -> bool {
    match std::env::var("CHAT_RELAY_BACKEND").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Err(_) => false,
        Ok(other) => panic!("CHAT_RELAY_BACKEND={other}: sqlite or postgres"),
    }
}

/// The PostgreSQL database of the relay on `data_dir` (created the first
/// time and remembered, so a restarted relay finds it again), or `None` on
/// SQLite.
pub fn database_for(data_dir: &Path) -> Option<String> {
    static DATABASES: Mutex<Option<HashMap<PathBuf, String>>> = Mutex::new(None);
    if !on_postgres() {
        return None;
    }
    let mut known = DATABASES.lock().unwrap();
    let known = known.get_or_insert_with(HashMap::new);
    if let Some(url) = known.get(data_dir) {
        return Some(url.clone());
    }
    let url = new_database("api", "CHAT_RELAY_BACKEND=postgres needs");
    known.insert(data_dir.to_owned(), url.clone());
    Some(url)
}

/// Creates a database named `prefix_<random>` in the `CHAT_TEST_PG`
/// cluster and returns its URL; `who` says in the panic what needs it.
fn new_database(prefix: &str, who: &str) -> String {
    let admin = std::env::var("CHAT_TEST_PG").unwrap_or_else(|_| {
        panic!(
            "{who} CHAT_TEST_PG, an admin URL of a cluster: \
             export CHAT_TEST_PG=$(scripts/pg start /tmp/pgtest)"
        )
    });
    let name = format!("{prefix}_{:016x}", rand::random::<u64>());
    // On a thread of its own: callers may be inside a runtime or not.
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(relay_server::store::postgres::create_database(
                &admin, &name,
            ))
    })
    .join()
    .expect("database creation")
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A fresh PostgreSQL database for relays that share it, whichever store
/// the rest of the suite runs on (several instances need PostgreSQL); needs
/// `CHAT_TEST_PG`.
pub fn shared_database() -> String {
    new_database("api_shared", "two relay instances on PostgreSQL need")
}

/// Defaults of the relay, with a cheap Argon2id so registering is fast and
/// short login delays so that failing on purpose is fast too; on the store
/// the suite runs on (`on_postgres`).
pub fn test_config(data_dir: &Path) -> Config {
    let mut config = Config::new(data_dir);
    config.database = database_for(data_dir);
    config.argon2_memory_kib = TEST_ARGON2_MEMORY_KIB;
    config.argon2_iterations = TEST_ARGON2_ITERATIONS;
    config.login_delay = TEST_LOGIN_DELAY;
    config.login_delay_max = TEST_LOGIN_DELAY_MAX;
    config
}

/// Every user's password in these tests.
pub fn password_of(user: &str) -> String {
    format!("{user} correct horse battery staple")
}

/// The registration body of `user` with the usual password and a real card.
pub fn registration(user: &str) -> Value {
    json!({
        "username": user,
        "password": password_of(user),
        "card": card(user).to_value(),
    })
}

/// An HTTP client that never goes through a proxy and never hangs a test.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("HTTP client builds")
}

/// A fresh 128-bit message id (32 lowercase hex digits).
pub fn random_id() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh 256-bit token in the relay's encoding, unknown to any relay.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

// --- identities ---------------------------------------------------------------

struct Keys {
    alice: (Vec<u8>, Vec<u8>),
    bob: (Vec<u8>, Vec<u8>),
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../chatd/tests/vectors/envelope-v1.json");
        let text = std::fs::read_to_string(&path).expect("chatd's vectors file is committed");
        let vectors: Value = serde_json::from_str(&text).expect("vectors file is JSON");
        let pair = |name: &str| {
            let der = |field: &str| {
                B64.decode(vectors["keys"][name][field].as_str().expect("key field"))
                    .expect("key is base64")
            };
            (der("enc_private_pkcs8"), der("sig_private_pkcs8"))
        };
        Keys {
            alice: pair("alice"),
            bob: pair("bob"),
        }
    })
}

/// The private identity of `user`: bob's frozen keys for "bob", alice's for
/// everybody else (the relay never looks inside cards or envelopes beyond
/// their shape, so sharing keys between test users changes nothing).
pub fn identity(user: &str) -> Arc<Identity> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Identity>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(id) = cache.lock().unwrap().get(user) {
        return id.clone();
    }
    let (enc, sig) = if user == "bob" {
        &keys().bob
    } else {
        &keys().alice
    };
    let id = Arc::new(Identity::from_pkcs8(user, enc, sig).expect("frozen keys load"));
    cache
        .lock()
        .unwrap()
        .entry(user.to_owned())
        .or_insert(id)
        .clone()
}

/// `user`'s public contact card.
pub fn card(user: &str) -> Card {
    identity(user).card().clone()
}

// --- envelopes ----------------------------------------------------------------

/// A sealed envelope and the exact JSON text that gets put.
#[derive(Clone, Debug)]
pub struct Sealed {
    /// Its id.
    pub id: String,
    /// The wire JSON, byte for byte what the tests PUT.
    pub json: String,
    /// The parsed fields.
    pub envelope: Envelope,
}

impl Sealed {
    fn of(envelope: Envelope) -> Sealed {
        Sealed {
            id: envelope.id.clone(),
            json: serde_json::to_string(&envelope).expect("envelopes serialize"),
            envelope,
        }
    }

    /// Seals `text` from `from` to `to` with timestamp `ts`.
    pub fn new(from: &str, to: &str, text: &str, ts: u64) -> Sealed {
        let envelope = chatd::crypto::seal(
            &identity(from),
            &card(to),
            &Payload::text(text),
            ts,
            &mut rand::rng(),
        )
        .expect("sealing works");
        Sealed::of(envelope)
    }

    /// The same envelope with other fields changed (it no longer verifies,
    /// which the relay cannot tell: it only checks the shape).
    pub fn altered(&self, change: impl FnOnce(&mut Envelope)) -> Sealed {
        let mut envelope = self.envelope.clone();
        change(&mut envelope);
        Sealed::of(envelope)
    }

    /// The same crypto fields under a fresh id: a cheap distinct envelope for
    /// load tests (sealing thousands with 3072-bit RSA would dominate them).
    pub fn with_fresh_id(&self) -> Sealed {
        self.altered(|e| e.id = random_id())
    }
}

/// `{"messages":[…]}` exactly as the relay must answer for these envelopes.
pub fn messages_body(envelopes: &[&Sealed]) -> String {
    let inner: Vec<&str> = envelopes.iter().map(|s| s.json.as_str()).collect();
    format!("{{\"messages\":[{}]}}", inner.join(","))
}

// --- replies ------------------------------------------------------------------

/// A complete HTTP answer.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Vec<u8>,
}

impl Reply {
    /// Reads a whole response.
    pub async fn read(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("body reads").to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }

    /// The status code as a number.
    pub fn code(&self) -> u16 {
        self.status.as_u16()
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Reply {
        assert_eq!(
            self.code(),
            status,
            "unexpected status; body: {}",
            self.text()
        );
        self
    }

    /// Asserts an error answer: this status, a JSON content type and exactly
    /// `{"error":{"code":code,"message":"<a sentence>"}}`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> &Reply {
        self.assert_status(status);
        self.assert_error_shape();
        assert_eq!(self.json()["error"]["code"], code, "body: {}", self.text());
        self
    }

    /// Asserts the API's error shape, whatever the status and code.
    #[track_caller]
    pub fn assert_error_shape(&self) -> &Reply {
        let content_type = self
            .headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(
            content_type.starts_with("application/json"),
            "error content type {content_type:?}; body: {}",
            self.text()
        );
        let body = self.json();
        let object = body.as_object().expect("error body is an object");
        assert_eq!(object.len(), 1, "only `error`: {body}");
        let error = body["error"].as_object().expect("`error` is an object");
        assert_eq!(error.len(), 2, "only code and message: {body}");
        let code = error["code"].as_str().expect("code is a string");
        assert!(
            !code.is_empty() && code.bytes().all(|c| c.is_ascii_lowercase() || c == b'_'),
            "code is snake_case: {code}"
        );
        assert!(
            !error["message"]
                .as_str()
                .expect("message is a string")
                .is_empty(),
            "message is a sentence: {body}"
        );
        self
    }

    /// The envelopes of a 200 answer to `GET /v1/messages`.
    #[track_caller]
    pub fn messages(&self) -> Vec<Value> {
        self.assert_status(200);
        let body = self.json();
        body["messages"]
            .as_array()
            .unwrap_or_else(|| panic!("no `messages` array: {body}"))
            .clone()
    }

    /// The ids of a 200 answer to `GET /v1/messages`, in order.
    #[track_caller]
    pub fn ids(&self) -> Vec<String> {
        self.messages()
            .iter()
            .map(|m| m["id"].as_str().expect("envelope id").to_owned())
            .collect()
    }

    /// Asserts a 200 answer carrying exactly these envelopes, byte for byte.
    #[track_caller]
    pub fn assert_messages(&self, expected: &[&Sealed]) -> &Reply {
        self.assert_status(200);
        assert_eq!(self.text(), messages_body(expected));
        self
    }

    /// The `Retry-After` header in whole seconds.
    #[track_caller]
    pub fn retry_after(&self) -> u64 {
        self.headers
            .get(reqwest::header::RETRY_AFTER)
            .expect("a Retry-After header")
            .to_str()
            .expect("Retry-After is text")
            .parse()
            .expect("Retry-After is whole seconds")
    }
}

/// Sends a request and reads the whole answer.
pub async fn send(request: RequestBuilder) -> Reply {
    Reply::read(request.send().await.expect("the relay answers")).await
}

// --- the relay ----------------------------------------------------------------

/// Where a relay answers, and a client for it: what registering, logging in
/// and users need, whether the relay runs in-process or as the binary.
#[derive(Clone)]
pub struct Endpoint {
    /// `http://127.0.0.1:PORT` (or `https://`).
    pub base: String,
    /// A client for this relay (trusting its certificate when it has one).
    pub http: reqwest::Client,
}

/// A relay served in-process on `127.0.0.1:0` with its own data dir.
pub struct Relay {
    /// Where it answers.
    pub endpoint: Endpoint,
    /// The settings it was started with.
    pub config: Config,
    dir: Arc<TempDir>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Relay {
    /// A relay with the test defaults.
    pub async fn start() -> Relay {
        Relay::start_with(|_| {}).await
    }

    /// A relay with the test defaults changed by `tune`.
    pub async fn start_with(tune: impl FnOnce(&mut Config)) -> Relay {
        let dir = Arc::new(TempDir::new().expect("temp dir"));
        Relay::start_in(dir, tune).await
    }

    /// A relay on an existing data dir.
    pub async fn start_in(dir: Arc<TempDir>, tune: impl FnOnce(&mut Config)) -> Relay {
        let mut config = test_config(dir.path());
        tune(&mut config);
        Relay::launch(dir, config).await
    }

    async fn launch(dir: Arc<TempDir>, config: Config) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("bound address");
        let (http, scheme) = match &config.tls {
            None => (http_client(), "http"),
            Some(files) => {
                let pem = std::fs::read(&files.cert).expect("certificate file");
                let root = reqwest::Certificate::from_pem(&pem).expect("certificate PEM");
                let client = reqwest::Client::builder()
                    .no_proxy()
                    .timeout(REQUEST_TIMEOUT)
                    .tls_certs_only([root])
                    .build()
                    .expect("HTTPS client builds");
                (client, "https")
            }
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run(config.clone(), listener, async move {
            // Dropping the sender (the `Relay`) also stops the relay.
            let _ = stopped.await;
        }));
        Relay {
            endpoint: Endpoint {
                base: format!("{scheme}://{addr}"),
                http,
            },
            config,
            dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Where `relay.db` lives.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The database file.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir().join("relay.db")
    }

    /// Signals shutdown and waits for `run` to return; hands back the data dir.
    pub async fn stop(mut self) -> Arc<TempDir> {
        self.shutdown().await.expect("run returns Ok");
        self.dir.clone()
    }

    /// Signals shutdown and returns what `run` returned, failing the test if
    /// that takes more than a few seconds.
    pub async fn shutdown(&mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().expect("the relay runs");
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("run returns within 5 s of shutdown")
            .expect("run does not panic")
    }

    /// Stops this relay and starts a new one on the same data dir and settings.
    pub async fn restart(self) -> Relay {
        let config = self.config.clone();
        let dir = self.stop().await;
        Relay::launch(dir, config).await
    }
}

impl std::ops::Deref for Relay {
    type Target = Endpoint;
    fn deref(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl Endpoint {
    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request without a token.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// A request with `token` as the bearer token.
    pub fn request_as(&self, token: &str, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(token)
    }

    /// `GET /v1/health`.
    pub async fn health(&self) -> Reply {
        send(self.request(Method::GET, "/v1/health")).await
    }

    /// `POST /v1/accounts` with any body.
    pub async fn try_register(&self, body: Value) -> Reply {
        send(self.request(Method::POST, "/v1/accounts").json(&body)).await
    }

    /// Registers `user` (201 expected) and logs in.
    pub async fn register(&self, user: &str) -> User {
        self.try_register(registration(user))
            .await
            .assert_status(201);
        self.log_in(user).await
    }

    /// Registers every one of `users`, concurrently.
    pub async fn register_all(&self, users: &[&str]) -> Vec<User> {
        let mut out = Vec::new();
        for chunk in users.chunks(8) {
            let joined = join_all(chunk.iter().map(|u| self.register(u))).await;
            out.extend(joined);
        }
        out
    }

    /// `POST /v1/sessions` with any credentials.
    pub async fn login(&self, user: &str, password: &str) -> Reply {
        send(
            self.request(Method::POST, "/v1/sessions")
                .json(&json!({"username": user, "password": password})),
        )
        .await
    }

    /// Logs `user` in with the usual password (201 expected).
    pub async fn log_in(&self, user: &str) -> User {
        let reply = self.login(user, &password_of(user)).await;
        reply.assert_status(201);
        let token = reply.json()["token"]
            .as_str()
            .expect("token is a string")
            .to_owned();
        self.user_with_token(user, &token)
    }

    /// `user` acting with an arbitrary token.
    pub fn user_with_token(&self, user: &str, token: &str) -> User {
        User {
            name: user.to_owned(),
            token: token.to_owned(),
            base: self.base.clone(),
            http: self.http.clone(),
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        // Dropping `stop` resolves the shutdown future; the task winds down on
        // its own if the runtime still runs.
        self.stop.take();
    }
}

/// Runs futures concurrently and collects their outputs in order.
pub async fn join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    let mut pending: Vec<_> = futures.into_iter().enumerate().collect();
    std::future::poll_fn(|cx| {
        pending.retain_mut(|(i, f)| match f.as_mut().poll(cx) {
            std::task::Poll::Ready(v) => {
                outputs[*i] = Some(v);
                false
            }
            std::task::Poll::Pending => true,
        });
        if pending.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|o| o.expect("every future finished"))
        .collect()
}

/// The store of `data_dir` on the backend the suite runs on, opened directly
/// (no relay serving it).
pub async fn open_store(data_dir: &Path) -> Arc<dyn relay_server::store::Store> {
    relay_server::Relay::open_any(test_config(data_dir))
        .await
        .expect("the store opens")
        .state
        .store
}

/// Creates `count` invite codes in the store of `data_dir` (as `relay-server
/// invite create` does), before a relay is started on it.
pub async fn create_invites(data_dir: &Path, count: usize) -> Vec<String> {
    let codes: Vec<String> = (0..count)
        .map(|_| relay_server::auth::new_token())
        .collect();
    let relay = relay_server::Relay::open_any(test_config(data_dir))
        .await
        .expect("store opens");
    relay
        .state
        .store
        .create_invites(codes.clone())
        .await
        .expect("invites stored");
    drop(relay);
    codes
}

// --- the router without a socket ----------------------------------------------

/// The relay's router called in-process with `oneshot`, for tests that look
/// inside its state (how many passwords it checked) or speak from many
/// client addresses without a proxy.
pub struct InProcess {
    /// The relay's state; `state.passwords.verifications()` counts checks.
    pub state: relay_server::AppState,
    router: axum::Router,
    _stop: tokio::sync::watch::Sender<bool>,
    _dir: TempDir,
}

impl InProcess {
    /// A relay with the test defaults changed by `tune`.
    pub async fn open(tune: impl FnOnce(&mut Config)) -> InProcess {
        let dir = TempDir::new().expect("temp dir");
        let mut config = test_config(dir.path());
        tune(&mut config);
        let relay = relay_server::Relay::open_any(config)
            .await
            .expect("the store opens");
        InProcess {
            router: relay_server::router(relay.state.clone()),
            state: relay.state,
            _stop: relay.stop,
            _dir: dir,
        }
    }

    /// Sends `method path` with a JSON body (and `token`, if any) as if from
    /// the TCP peer `from`, with `headers` added.
    pub async fn call(
        &self,
        from: std::net::SocketAddr,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Value,
    ) -> Reply {
        use tower::ServiceExt as _;
        let mut request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut request = request
            .body(axum::body::Body::from(body.to_string()))
            .expect("a valid request");
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(from));
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .expect("the body reads");
        Reply {
            status: parts.status,
            headers: parts.headers,
            body: body.to_vec(),
        }
    }

    /// Registers `user` with the usual password (201 expected).
    pub async fn register(&self, user: &str) {
        self.call(
            peer(1),
            Method::POST,
            "/v1/accounts",
            None,
            &[],
            registration(user),
        )
        .await
        .assert_status(201);
    }

    /// `POST /v1/sessions` as if from `from`.
    pub async fn login(&self, from: std::net::SocketAddr, user: &str, password: &str) -> Reply {
        self.call(
            from,
            Method::POST,
            "/v1/sessions",
            None,
            &[],
            json!({"username": user, "password": password}),
        )
        .await
    }
}

/// A client address of its own for each `n`: 10.x.y.z port 40000.
pub fn peer(n: u32) -> std::net::SocketAddr {
    let ip = std::net::Ipv4Addr::from(0x0a00_0000 | (n & 0x00ff_ffff));
    std::net::SocketAddr::from((ip, 40000))
}

// --- users --------------------------------------------------------------------

/// A logged-in user of one relay.
#[derive(Clone)]
pub struct User {
    /// The username.
    pub name: String,
    /// The bearer token of this session.
    pub token: String,
    base: String,
    http: reqwest::Client,
}

impl User {
    /// A request with this user's token.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    /// Seals `text` to `to`, stamped now.
    pub fn seal(&self, to: &str, text: &str) -> Sealed {
        Sealed::new(&self.name, to, text, now_ms())
    }

    /// Seals `text` to `to` with timestamp `ts`.
    pub fn seal_at(&self, to: &str, text: &str, ts: u64) -> Sealed {
        Sealed::new(&self.name, to, text, ts)
    }

    /// `PUT /v1/messages/{id}` with the envelope's exact bytes.
    pub async fn put(&self, sealed: &Sealed) -> Reply {
        self.put_raw(&sealed.id, sealed.json.clone().into_bytes())
            .await
    }

    /// `PUT /v1/messages/{id}` with any body.
    pub async fn put_raw(&self, id: &str, body: Vec<u8>) -> Reply {
        send(
            self.request(Method::PUT, &format!("/v1/messages/{id}"))
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body),
        )
        .await
    }

    /// `GET /v1/messages?{query}`.
    pub async fn fetch(&self, query: &str) -> Reply {
        send(self.request(Method::GET, &format!("/v1/messages?{query}"))).await
    }

    /// `GET /v1/messages?wait={wait}`.
    pub async fn fetch_wait(&self, wait: u64) -> Reply {
        self.fetch(&format!("wait={wait}")).await
    }

    /// The ids of every pending envelope (none when the answer is 204).
    pub async fn pending_ids(&self) -> Vec<String> {
        let reply = self.fetch("limit=1000").await;
        if reply.code() == 204 {
            return Vec::new();
        }
        reply.ids()
    }

    /// `GET /v1/messages/{id}`.
    pub async fn get_message(&self, id: &str) -> Reply {
        send(self.request(Method::GET, &format!("/v1/messages/{id}"))).await
    }

    /// `POST /v1/messages/ack`.
    pub async fn ack(&self, ids: &[&str]) -> Reply {
        send(
            self.request(Method::POST, "/v1/messages/ack")
                .json(&json!({ "ids": ids })),
        )
        .await
    }

    /// `DELETE /v1/sessions/current`.
    pub async fn logout(&self) -> Reply {
        send(self.request(Method::DELETE, "/v1/sessions/current")).await
    }

    /// `DELETE /v1/accounts/me` with `password`.
    pub async fn delete_account(&self, password: &str) -> Reply {
        send(
            self.request(Method::DELETE, "/v1/accounts/me")
                .json(&json!({ "password": password })),
        )
        .await
    }

    /// `GET /v1/directory/{user}`.
    pub async fn card_of(&self, user: &str) -> Reply {
        send(self.request(Method::GET, &format!("/v1/directory/{user}"))).await
    }

    /// `GET /v1/directory?{query}`.
    pub async fn directory(&self, query: &str) -> Reply {
        send(self.request(Method::GET, &format!("/v1/directory?{query}"))).await
    }
}

/// Fails the test unless `f` finishes within `limit`; returns its output and
/// how long it took.
pub async fn timed<T>(limit: Duration, f: impl std::future::Future<Output = T>) -> (T, Duration) {
    let start = Instant::now();
    let out = tokio::time::timeout(limit, f)
        .await
        .unwrap_or_else(|_| panic!("did not finish within {limit:?}"));
    (out, start.elapsed())
}

/// Sends `head` then `body` on a fresh plain-HTTP connection and reads the
/// answer until the relay closes the connection. Writing stops quietly when
/// the relay answers (and closes) before reading the whole body, which is what
/// it does with bodies over the cap; reqwest would report that as a broken
/// pipe instead of the answer.
pub async fn raw_http(endpoint: &Endpoint, head: &str, body: &[u8]) -> Reply {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = endpoint
        .base
        .strip_prefix("http://")
        .expect("a plain-HTTP relay");
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    let (mut read, mut write) = stream.into_split();
    let request = [head.as_bytes(), body].concat();
    let writer = tokio::spawn(async move {
        let _ = write.write_all(&request).await;
        // Keep the write half open until the reader is done.
        write
    });
    let mut answer = Vec::new();
    // A reset after the answer arrived is fine: what was read is kept.
    let _ = tokio::time::timeout(REQUEST_TIMEOUT, read.read_to_end(&mut answer))
        .await
        .expect("the relay answers and closes");
    writer.abort();
    parse_raw_answer(&answer)
}

fn parse_raw_answer(answer: &[u8]) -> Reply {
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete answer: {:?}", String::from_utf8_lossy(answer)));
    let head = std::str::from_utf8(&answer[..split]).expect("ASCII head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let code: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("status line {status_line:?}"));
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':').expect("header line");
        headers.append(
            reqwest::header::HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
            value.trim().parse().unwrap(),
        );
    }
    let mut body = answer[split + 4..].to_vec();
    if let Some(len) = headers
        .get(reqwest::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
    {
        body.truncate(len);
    }
    Reply {
        status: StatusCode::from_u16(code).unwrap(),
        headers,
        body,
    }
}

/// The head of a plain HTTP/1.1 request that closes the connection after.
pub fn raw_head(method: &str, path: &str, token: Option<&str>, extra: &[&str]) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n");
    if let Some(token) = token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    for line in extra {
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head
}

// --- the binary ---------------------------------------------------------------

/// The `relay-server` binary built for these tests.
pub fn relay_binary() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_relay-server"));
    command
        .env("RELAY_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    command
}

/// A `relay-server serve` process and the address it announced.
pub struct RelayProcess {
    /// Where it answers.
    pub endpoint: Endpoint,
    /// The one line it printed on stdout.
    pub announced: String,
    /// The process.
    pub child: tokio::process::Child,
    stdout: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

impl RelayProcess {
    /// Runs `relay-server serve --listen 127.0.0.1:0 --data-dir DIR ARGS…` and
    /// waits for its `listening on …` line.
    pub async fn serve(data_dir: &Path, args: &[&str]) -> RelayProcess {
        use tokio::io::AsyncBufReadExt as _;
        let mut command = relay_binary();
        command
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir);
        if let Some(url) = database_for(data_dir) {
            command.env("RELAY_DATABASE", url);
        }
        let mut child = command
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("relay-server starts");
        let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let announced = tokio::time::timeout(Duration::from_secs(10), stdout.next_line())
            .await
            .expect("the relay announces its address within 10 s")
            .expect("stdout reads")
            .expect("a line before stdout closes");
        let base = announced
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {announced:?}"))
            .to_owned();
        RelayProcess {
            endpoint: Endpoint {
                base,
                http: http_client(),
            },
            announced,
            child,
            stdout,
        }
    }

    /// Sends a signal with `kill -SIGNAL PID`.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("the relay still runs");
        let status = std::process::Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {pid}");
    }

    /// Waits (at most `limit`) for the process to exit; returns its status and
    /// whatever else it printed on stdout.
    pub async fn wait(mut self, limit: Duration) -> (std::process::ExitStatus, Vec<String>) {
        let status = tokio::time::timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the relay exits within {limit:?}"))
            .expect("wait works");
        let mut rest = Vec::new();
        while let Ok(Some(line)) = self.stdout.next_line().await {
            rest.push(line);
        }
        (status, rest)
    }
}

impl std::ops::Deref for RelayProcess {
    type Target = Endpoint;
    fn deref(&self) -> &Endpoint {
        &self.endpoint
    }
}

/// A sealed v2 envelope from `from` to `to` and its exact JSON text.
pub fn seal_v2(from: &str, to: &[&str], text: &str) -> (ipc_schema::envelope_v2::SealedV2, String) {
    let cards: Vec<_> = to.iter().map(|u| card(u)).collect();
    let refs: Vec<_> = cards.iter().collect();
    let mut id = [0u8; 16];
    rand::fill(&mut id);
    let sealed = chatd::crypto::seal_v2_as(
        &identity(from),
        &refs,
        &Payload::text(text),
        id,
        now_ms(),
        &mut rand::rng(),
    )
    .unwrap();
    let json = serde_json::to_string(&sealed).unwrap();
    (sealed, json)
}

// --- looking inside the store, on either backend -------------------------------

/// The store of a relay's data dir, for the tests that look inside it: its
/// SQLite file, or its PostgreSQL database (`on_postgres`). Queries are
/// plain SQL both understand; every value comes back as text (a blob as
/// `\x` and hex, PostgreSQL's text form of bytea).
pub enum Db {
    /// `relay.db` of a data dir.
    Sqlite(PathBuf),
    /// A database URL.
    Postgres(String),
}

impl Db {
    /// The store of the relay on `data_dir`.
    pub fn at(data_dir: &Path) -> Db {
        match database_for(data_dir) {
            Some(url) => Db::Postgres(url),
            None => Db::Sqlite(data_dir.join("relay.db")),
        }
    }

    /// The store of `relay`.
    pub fn of(relay: &Relay) -> Db {
        Db::at(relay.data_dir())
    }

    /// Every row of `sql`, each column as text (NULL as `None`).
    pub fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        match self {
            Db::Sqlite(path) => {
                let conn = rusqlite::Connection::open_with_flags(
                    path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                )
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                let n = stmt.column_count();
                stmt.query_map([], |r| {
                    (0..n)
                        .map(|i| {
                            use rusqlite::types::ValueRef;
                            Ok(match r.get_ref(i)? {
                                ValueRef::Null => None,
                                ValueRef::Integer(v) => Some(v.to_string()),
                                ValueRef::Real(v) => Some(v.to_string()),
                                ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                                ValueRef::Blob(b) => Some(format!("\\x{}", hex(b))),
                            })
                        })
                        .collect()
                })
                .unwrap()
                .map(Result::unwrap)
                .collect()
            }
            Db::Postgres(url) => {
                let (url, sql) = (url.clone(), sql.to_owned());
                std::thread::spawn(move || {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap()
                        .block_on(async move {
                            let (client, conn) =
                                tokio_postgres::connect(&url, tokio_postgres::NoTls)
                                    .await
                                    .expect("the test database answers");
                            tokio::spawn(conn);
                            let mut rows = Vec::new();
                            for message in client
                                .simple_query(&sql)
                                .await
                                .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
                            {
                                if let tokio_postgres::SimpleQueryMessage::Row(row) = message {
                                    rows.push(
                                        (0..row.len())
                                            .map(|i| row.get(i).map(str::to_owned))
                                            .collect(),
                                    );
                                }
                            }
                            rows
                        })
                })
                .join()
                .expect("query thread")
            }
        }
    }

    /// The first column of the first row.
    pub fn one(&self, sql: &str) -> String {
        self.rows(sql)
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .unwrap_or_else(|| panic!("{sql}: no value"))
    }

    /// A count (or any integer) query.
    pub fn count(&self, sql: &str) -> i64 {
        self.one(sql).parse().expect("an integer")
    }

    /// A table's columns, in order.
    pub fn columns(&self, table: &str) -> Vec<String> {
        let sql = match self {
            Db::Sqlite(_) => format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"),
            Db::Postgres(_) => format!(
                "SELECT column_name FROM information_schema.columns
                 WHERE table_schema = 'public' AND table_name = '{table}' ORDER BY ordinal_position"
            ),
        };
        self.rows(&sql)
            .into_iter()
            .map(|r| r[0].clone().unwrap())
            .collect()
    }

    /// The store's tables, by name, without the backend's own bookkeeping
    /// (`sqlite_sequence`, `relay_schema`).
    pub fn tables(&self) -> Vec<String> {
        let sql = match self {
            Db::Sqlite(_) => "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
            Db::Postgres(_) => {
                "SELECT table_name FROM information_schema.tables
                 WHERE table_schema = 'public' ORDER BY table_name"
            }
        };
        let mut tables: Vec<String> = self
            .rows(sql)
            .into_iter()
            .map(|r| r[0].clone().unwrap())
            .collect();
        tables.retain(|t| t != "sqlite_sequence" && t != "relay_schema");
        tables
    }

    /// The files that hold the store's data: the SQLite file and its WAL, or
    /// the PostgreSQL cluster's whole data directory (other tests' databases
    /// included) after a checkpoint.
    pub fn files(&self) -> Vec<PathBuf> {
        match self {
            Db::Sqlite(path) => {
                let dir = path.parent().unwrap();
                std::fs::read_dir(dir)
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .filter(|p| p.is_file())
                    .collect()
            }
            Db::Postgres(_) => {
                // This database's directory, and the WAL written lately.
                self.rows("CHECKPOINT");
                let root = PathBuf::from(self.one("SHOW data_directory"));
                let oid =
                    self.one("SELECT oid FROM pg_database WHERE datname = current_database()");
                let recent = std::time::SystemTime::now() - Duration::from_secs(120);
                let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("pg_wal"))
                    .unwrap()
                    .map(|e| e.unwrap())
                    .filter(|e| {
                        e.metadata()
                            .is_ok_and(|m| m.is_file() && m.modified().unwrap() > recent)
                    })
                    .map(|e| e.path())
                    .collect();
                let mut stack = vec![root.join("base").join(oid)];
                while let Some(dir) = stack.pop() {
                    for entry in std::fs::read_dir(&dir).unwrap() {
                        let path = entry.unwrap().path();
                        if path.is_dir() {
                            stack.push(path);
                        } else if path.is_file() {
                            files.push(path);
                        }
                    }
                }
                files
            }
        }
    }
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
