//! Serving connections (docs/RELAY.md, "Limits"): the accept loop with its
//! connection cap, each connection's timeouts, TLS, and graceful shutdown.
//!
//! The relay drives hyper itself rather than through `axum::serve`, which
//! has no header timeout and no connection cap.

mod conn;
mod fds;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

pub use fds::{connection_cap, raise_open_files_limit};

/// How long connections may take to finish once shutdown begins; then they
/// are closed.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Most requests at once on one HTTP/2 connection (hyper's default is 200).
const MAX_STREAMS: u32 = 64;

/// The connection-level limits, from `Config`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most connections served at once; past it the relay stops accepting
    /// and new connections wait in the kernel's backlog.
    pub max_connections: usize,
    /// Time for a connection's TLS handshake and each request head, counted
    /// from the connection's start or the end of its previous answer.
    pub header_timeout: Duration,
    /// Time a connection may stay open with no request in flight.
    pub idle_timeout: Duration,
}

/// Serves `app` on `listener` until `shutdown` resolves; then stops
/// accepting, lets open connections finish (at most `SHUTDOWN_GRACE`) and
/// returns.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<RustlsConfig>,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopping) = watch::channel(false);
    let builder = Arc::new(builder(&limits));
    let tls = tls.map(|c| RustlsAcceptor::new(c).handshake_timeout(limits.header_timeout));
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        // A free slot first, then a connection: at the cap the relay does
        // not accept, so a flood waits in the backlog instead of holding
        // file descriptors.
        let slot = tokio::select! {
            biased;
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
        };
        let connection = conn::Connection {
            peer,
            app: app.clone(),
            builder: builder.clone(),
            limits,
            stopping: stopping.clone(),
            _slot: slot,
        };
        // Two kinds of task, each sized for its own future: one future for
        // both would make every plain connection carry room for a TLS
        // session (measured: +3.6 KB per idle long-poll, docs/BENCHMARKS.md).
        match &tls {
            None => connections.spawn(connection.serve(stream)),
            Some(tls) => connections.spawn(connection.serve_tls(stream, tls.clone())),
        };
    }
    drop(listener);
    let _ = stop.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "connections still open after the shutdown grace period; closing them"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// HTTP/1.1 and HTTP/2 (by ALPN over TLS, by prior knowledge in plain).
fn builder(limits: &Limits) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_STREAMS);
    builder
}

/// A failed accept: a client that gave up is nothing; anything else (out of
/// file descriptors) is logged and waited out briefly instead of spinning.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_millis(100)).await;
}
