//! A relay and daemons in this process, and helpers that make each test read
//! like a sentence.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chatd::daemon::Daemon;
use chatd::keystore::MemoryStore;
use chatd::run::{KeystoreChoice, Options};
use ipc_schema::Secret;
use ipc_schema::client::{Client, EventStream};
use ipc_schema::methods::*;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long a test waits for something that should happen at once.
pub const SOON: Duration = Duration::from_secs(10);

/// A real relay on a loopback port, SQLite in a temp dir.
pub struct Relay {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Relay {
    /// A relay whose mailboxes hold at most `max_envelopes`.
    pub async fn with_quota(max_envelopes: u64) -> Relay {
        let dir = tempfile::tempdir().unwrap();
        let mut config = relay_server::Config::new(dir.path());
        config.quota.max_count = max_envelopes;
        // Cheap hashing: these tests are about chatd, not Argon2.
        config.argon2_memory_kib = 1024;
        config.argon2_iterations = 1;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            relay_server::run(config, listener, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Relay {
            url,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
        }
    }

    /// A relay with the default quota.
    pub async fn start() -> Relay {
        Relay::with_quota(10_000).await
    }

    /// A relay serving HTTPS with `cert` and `key` (PEM), reached as
    /// `https://localhost:PORT`.
    pub async fn with_tls(cert_pem: &str, key_pem: &str) -> Relay {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "https://localhost:{}",
            listener.local_addr().unwrap().port()
        );
        let mut relay = Relay {
            url,
            stop: None,
            task: None,
            _dir: dir,
        };
        relay.serve_tls(listener, cert_pem, key_pem);
        relay
    }

    /// Stops this TLS relay and starts it again on the same port and data
    /// with another certificate (its operator renewed or replaced it).
    pub async fn restart_tls(&mut self, cert_pem: &str, key_pem: &str) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        let addr = format!("127.0.0.1:{}", self.url.rsplit(':').next().unwrap());
        let listener = eventually(SOON, "the port free again", || async {
            tokio::net::TcpListener::bind(&addr).await.ok()
        })
        .await;
        self.serve_tls(listener, cert_pem, key_pem);
    }

    fn serve_tls(&mut self, listener: tokio::net::TcpListener, cert_pem: &str, key_pem: &str) {
        let dir = self._dir.path();
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, cert_pem).unwrap();
        std::fs::write(&key, key_pem).unwrap();
        let mut config = relay_server::Config::new(dir.join("data"));
        config.argon2_memory_kib = 1024;
        config.argon2_iterations = 1;
        config.tls = Some(relay_server::TlsFiles { cert, key });
        let (stop, stopped) = oneshot::channel::<()>();
        self.task = Some(tokio::spawn(async move {
            relay_server::run(config, listener, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        }));
        self.stop = Some(stop);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// One chatd in this process. Its data dir and keystore outlive restarts.
pub struct Chatd {
    /// The username it registers as.
    pub name: String,
    dir: tempfile::TempDir,
    keystore: Arc<MemoryStore>,
    running: Option<(Arc<Daemon>, oneshot::Sender<()>, JoinHandle<()>)>,
}

impl Chatd {
    /// Starts a daemon called `name` with `config` as its config.toml.
    pub async fn start(name: &str, config: &str) -> Chatd {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        let mut d = Chatd {
            name: name.to_owned(),
            dir,
            keystore: Arc::new(MemoryStore::default()),
            running: None,
        };
        d.spawn().await;
        d
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("run/chatd.sock")
    }

    async fn spawn(&mut self) {
        let listener = chatd::ipc::bind(&self.socket()).unwrap();
        let opts = Options {
            data_dir: self.dir.path().join("data"),
            config: self.dir.path().join("config.toml"),
            keystore: KeystoreChoice::Memory(self.keystore.clone()),
        };
        let running = chatd::run::start(listener, opts).await.unwrap();
        let daemon = running.daemon.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(running.until(async {
            let _ = stopped.await;
        }));
        self.running = Some((daemon, stop, task));
    }

    /// Stops the daemon (its data and keys stay).
    pub async fn stop(&mut self) {
        if let Some((_, stop, task)) = self.running.take() {
            let _ = stop.send(());
            task.await.unwrap();
        }
    }

    /// Starts it again after [`Chatd::stop`].
    pub async fn start_again(&mut self) {
        self.spawn().await;
    }

    /// Rewrites config.toml (read at the next start).
    pub fn write_config(&self, config: &str) {
        std::fs::write(self.dir.path().join("config.toml"), config).unwrap();
    }

    /// The running daemon.
    pub fn daemon(&self) -> Arc<Daemon> {
        self.running.as_ref().expect("running").0.clone()
    }

    /// A fresh IPC client.
    pub async fn client(&self) -> Client {
        Client::connect_as(self.socket(), "chatd-tests")
            .await
            .unwrap()
    }

    /// An event stream from `after` (None: from now).
    pub async fn events(&self, after: Option<u64>) -> EventStream {
        self.client().await.subscribe(after).await.unwrap()
    }

    /// Registers on `relay_url` with 2048-bit keys (fast to make).
    pub async fn register(&self, relay_url: &str) {
        self.try_register(relay_url, |_| {}).await.unwrap();
    }

    /// Registers with the params `adjust` sets (trust settings, say).
    pub async fn try_register(
        &self,
        relay_url: &str,
        adjust: impl FnOnce(&mut AccountRegisterParams),
    ) -> Result<AccountRegisterResult, ipc_schema::client::ClientError> {
        let mut params = AccountRegisterParams {
            relay_url: relay_url.into(),
            username: self.name.clone(),
            password: Secret::new(format!("{} relay password", self.name)),
            invite: None,
            key_bits: Some(2048),
            insecure_http: false,
            relay_ca: None,
            relay_pin: None,
            device_name: None,
            replace_keys: false,
        };
        adjust(&mut params);
        self.client().await.call(params).await
    }

    /// Our card.
    pub async fn card(&self) -> serde_json::Value {
        self.client()
            .await
            .call(IdentityCardParams {})
            .await
            .unwrap()
            .card
    }

    /// Pins `other`'s card.
    pub async fn add(&self, other: &Chatd) {
        let card = other.card().await;
        self.client()
            .await
            .call(ContactAddParams::Card { card })
            .await
            .unwrap();
    }

    /// Sends a text; returns its id.
    pub async fn send(&self, to: &str, body: &str) -> String {
        self.client()
            .await
            .call(MessageSendParams {
                to: to.to_owned(),
                body: body.to_owned(),
                reply_to: None,
            })
            .await
            .unwrap()
            .id
    }

    /// The newest messages of a conversation, oldest first.
    pub async fn log(&self, peer: &str) -> Vec<MessageView> {
        self.client()
            .await
            .call(MessageListParams {
                peer: peer.to_owned(),
                before: None,
                limit: Some(500),
            })
            .await
            .unwrap()
            .messages
    }

    /// Bodies of the texts received from `peer`, oldest first.
    pub async fn received(&self, peer: &str) -> Vec<String> {
        self.log(peer)
            .await
            .into_iter()
            .filter(|m| m.direction == Direction::In)
            .filter_map(|m| m.body)
            .collect()
    }

    /// `status`.
    pub async fn status(&self) -> StatusResult {
        self.client().await.call(StatusParams {}).await.unwrap()
    }
}

/// Registers each daemon and makes every pair contacts.
pub async fn acquainted(relay: &Relay, daemons: &[&Chatd]) {
    for d in daemons {
        d.register(&relay.url).await;
    }
    for a in daemons {
        for b in daemons {
            if a.name != b.name {
                a.add(b).await;
            }
        }
    }
}

/// Polls `f` every 20 ms until it returns `Some`, or panics after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
