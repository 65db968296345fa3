//! Wiring: shared state, the router, and `run` (plain HTTP or rustls, served
//! by `serve`).

use std::future::Future;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum_server::tls_rustls::RustlsConfig;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::trace::TraceLayer;

use crate::auth::{Passwords, RateLimiter, Throttle};
use crate::blobs::BlobFiles;
use crate::config::Config;
use crate::error::AppError;
use crate::mailbox::Waiters;
use crate::polls::Polls;
use crate::routes;
use crate::serve;
use crate::store::sqlite::now_ms;
use crate::store::{PgStore, SqliteStore, Store, StoreError};

/// Largest request body, that of `PUT /v1/messages/{id}`: a v1 envelope is
/// at most 6 MiB of JSON, a sealed v2 envelope (up to 1,000 recipients) 7 MiB
/// (docs/PROTOCOL.md §6, §8.2). Other routes take far less
/// (`routes::SMALL_BODY`).
pub const MAX_BODY: usize = ipc_schema::envelope_v2::MAX_SEALED_V2_JSON;

/// State shared by every handler.
#[derive(Clone)]
pub struct AppState {
    /// Persistent storage.
    pub store: Arc<dyn Store>,
    /// Settings.
    pub config: Arc<Config>,
    /// Argon2id hasher.
    pub passwords: Arc<Passwords>,
    /// Failed-login throttle.
    pub throttle: Arc<Throttle>,
    /// Per-token request rate limit.
    pub rate_limiter: Arc<RateLimiter>,
    /// Long-poll wake-ups.
    pub waiters: Arc<Waiters>,
    /// Long-polls waiting per token, to cap them.
    pub polls: Arc<Polls>,
    /// Becomes `true` when the relay shuts down, so long-polls return at once.
    pub shutdown: watch::Receiver<bool>,
    /// The OpenAPI document, rendered once when the router is built.
    pub openapi: Arc<OnceLock<String>>,
    /// Blob files, and the uploads writing them.
    pub blobs: Arc<BlobFiles>,
}

/// A ready state plus the handle that signals shutdown to long-polls.
pub struct Relay {
    /// State for `router`.
    pub state: AppState,
    /// Send `true` to end long-polls.
    pub stop: watch::Sender<bool>,
}

impl Relay {
    /// Opens the SQLite store in `config.data_dir` and builds the state.
    pub fn open(config: Config) -> Result<Relay, StoreError> {
        let waiters = Arc::new(Waiters::default());
        let hook = {
            let waiters = waiters.clone();
            Arc::new(move |users: &[String]| waiters.wake(users))
        };
        let store = SqliteStore::open(&config.data_dir, hook)?;
        Ok(Relay::with_store(config, Arc::new(store), waiters))
    }

    /// Opens the store `config` names: PostgreSQL when it gives a database,
    /// else SQLite in `config.data_dir`.
    pub async fn open_any(config: Config) -> Result<Relay, StoreError> {
        let Some(url) = config.database.clone() else {
            return Relay::open(config);
        };
        let waiters = Arc::new(Waiters::default());
        let hook = {
            let waiters = waiters.clone();
            Arc::new(move |users: &[String]| waiters.wake(users))
        };
        // The data dir, when given, holds blob files: private like SQLite's.
        if !config.data_dir.as_os_str().is_empty() {
            std::fs::create_dir_all(&config.data_dir)
                .map_err(|e| StoreError::Backend(format!("{}: {e}", config.data_dir.display())))?;
        }
        let store = PgStore::open(&url, config.database_pool, hook).await?;
        Ok(Relay::with_store(config, Arc::new(store), waiters))
    }

    /// Builds the state around any store (its commit hook must call `waiters.wake`).
    pub fn with_store(config: Config, store: Arc<dyn Store>, waiters: Arc<Waiters>) -> Relay {
        let (stop, shutdown) = watch::channel(false);
        let blobs = Arc::new(BlobFiles::new(&config.blob_dir));
        let state = AppState {
            store,
            passwords: Arc::new(Passwords::new(
                config.argon2_memory_kib,
                config.argon2_iterations,
                config.hash_queue,
            )),
            throttle: Arc::new(Throttle::new(
                config.login_failures,
                config.login_window,
                config.login_delay,
                config.login_delay_max,
            )),
            rate_limiter: Arc::new(RateLimiter::new(config.token_rate, config.token_burst)),
            polls: Arc::new(Polls::new(config.max_polls_per_token)),
            config: Arc::new(config),
            waiters,
            shutdown,
            openapi: Arc::new(OnceLock::new()),
            blobs,
        };
        Relay { state, stop }
    }
}

/// The whole application; tests call it with `oneshot`.
pub fn router(state: AppState) -> Router {
    let (api_router, api) = routes::api().split_for_parts();
    let _ = state
        .openapi
        .set(serde_json::to_string_pretty(&api).expect("OpenAPI serializes"));
    api_router
        .fallback(|| async { AppError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            AppError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this route",
            )
        })
        .route_layer(axum::middleware::from_fn(crate::metrics::mark_route))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(crate::metrics::track))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves the relay on `listener` until `shutdown` resolves, then stops
/// accepting, lets in-flight requests finish (long-polls return at once) and
/// waits for the last store commit.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    run_announced(config, listener, shutdown, || {}).await
}

/// [`run`], calling `ready` once the store is open (and the TLS files are
/// read), just before serving: a relay that cannot open its store fails
/// without having said it is ready.
pub async fn run_announced(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    ready: impl FnOnce(),
) -> std::io::Result<()> {
    let tls = match &config.tls {
        Some(files) => Some(RustlsConfig::from_pem_file(&files.cert, &files.key).await?),
        None => None,
    };
    let limits = serve::Limits {
        max_connections: serve::connection_cap(config.max_connections),
        header_timeout: config.header_timeout,
        idle_timeout: config.idle_timeout,
    };
    let relay = Relay::open_any(config)
        .await
        .map_err(std::io::Error::other)?;
    let sweeper = tokio::spawn(expire_devices(relay.state.clone()));
    let metrics = match relay.state.config.metrics_listen {
        Some(addr) => {
            let listener = TcpListener::bind(addr).await.map_err(|e| {
                std::io::Error::new(e.kind(), format!("--metrics-listen {addr}: {e}"))
            })?;
            let app = crate::metrics::router(relay.state.clone());
            Some(tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).await {
                    tracing::error!(error = %e, "the metrics listener failed");
                }
            }))
        }
        None => None,
    };
    ready();
    let app = router(relay.state.clone());
    let stop = relay.stop;
    let shutdown = async move {
        shutdown.await;
        // Long-polls answer at once, so their connections can close.
        let _ = stop.send(true);
    };
    let result = serve::serve(listener, app, tls, limits, shutdown).await;
    sweeper.abort();
    let _ = sweeper.await;
    if let Some(metrics) = metrics {
        metrics.abort();
        let _ = metrics.await;
    }
    // Dropping the last state closes the store's queue; its writer commits
    // what it holds and exits before we return.
    drop(relay.state);
    result
}

/// Expires idle devices, unclaimed links and old blobs now and then every
/// `Config::sweep_every` (hourly; docs/RELAY.md, "Devices", §5.5).
async fn expire_devices(state: AppState) {
    loop {
        let idle_before = now_ms().saturating_sub(state.config.device_expiry.as_millis() as u64);
        match state.store.expire_devices(idle_before).await {
            Ok(gone) => {
                for (user, device) in gone {
                    tracing::info!(%user, %device, "device expired: not seen within the device expiry");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not expire idle devices"),
        }
        expire_blobs(&state).await;
        tokio::time::sleep(state.config.sweep_every).await;
    }
}

/// Deletes expired blobs and stale incomplete uploads, rows then files, and
/// any file whose row is gone.
async fn expire_blobs(state: &AppState) {
    let now = now_ms();
    let stale = now.saturating_sub(state.config.blob_upload_ttl.as_millis() as u64);
    match state.store.expire_blobs(now, stale).await {
        Ok(gone) => {
            if !gone.is_empty() {
                tracing::info!(count = gone.len(), "blobs expired");
            }
            state.blobs.remove(&gone).await;
        }
        Err(e) => tracing::warn!(error = %e, "could not expire blobs"),
    }
    let mut orphans = Vec::new();
    for id in state.blobs.on_disk().await {
        if let Ok(None) = state.store.blob(&id).await {
            orphans.push(id);
        }
    }
    state.blobs.remove(&orphans).await;
}
