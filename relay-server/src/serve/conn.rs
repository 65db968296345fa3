//! One connection: its TLS handshake, its requests, and the timers that
//! close it when it is slow or idle. A request in flight (a long-poll
//! waiting for mail included) is never cut by them.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum_server::accept::Accept as _;
use axum_server::tls_rustls::RustlsAcceptor;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio::time::Instant;
use tower::ServiceExt as _;

use super::Limits;

/// What serving one accepted connection needs.
pub(super) struct Connection {
    /// The TCP peer (a proxy's address when behind one).
    pub peer: SocketAddr,
    /// The application.
    pub app: Router,
    /// HTTP settings shared by all connections.
    pub builder: Arc<Builder<TokioExecutor>>,
    /// Timeouts.
    pub limits: Limits,
    /// Becomes `true` when the relay shuts down.
    pub stopping: watch::Receiver<bool>,
    /// This connection's place under the cap, given back when it closes.
    pub _slot: OwnedSemaphorePermit,
}

impl Connection {
    /// Serves plain HTTP.
    pub async fn serve(mut self, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        self.drive(TokioIo::new(stream), activity).await;
    }

    /// Serves HTTPS: the handshake, too, must end within the header timeout.
    pub async fn serve_tls(mut self, stream: TcpStream, tls: RustlsAcceptor) {
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let handshake = tokio::time::timeout(self.limits.header_timeout, tls.accept(stream, ()));
        let stream = tokio::select! {
            done = handshake => match done {
                Ok(Ok((stream, _))) => stream,
                // Timed out, or not TLS, or refused: nothing to answer.
                _ => return,
            },
            _ = self.stopping.wait_for(|s| *s) => return,
        };
        self.drive(TokioIo::new(stream), activity).await;
    }

    async fn drive<I>(&mut self, io: I, activity: Arc<Activity>)
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let (app, peer, tracked) = (self.app.clone(), self.peer, activity.clone());
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            let in_flight = tracked.begin();
            request.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move {
                let response = app.oneshot(request).await?;
                Ok::<_, Infallible>(response.map(|body| Counted {
                    body,
                    _in_flight: in_flight,
                }))
            }
        });
        let connection = self.builder.serve_connection(io, service);
        tokio::pin!(connection);
        // Set once the connection was asked to close: it then has one more
        // header timeout to finish before it is dropped.
        let mut closing: Option<Instant> = None;
        loop {
            let deadline = match closing {
                Some(since) => since + self.limits.header_timeout,
                None => activity.deadline(&self.limits),
            };
            tokio::select! {
                _ = connection.as_mut() => return,
                _ = self.stopping.wait_for(|s| *s), if closing.is_none() => {
                    connection.as_mut().graceful_shutdown();
                    closing = Some(Instant::now());
                }
                () = tokio::time::sleep_until(deadline) => {
                    if closing.is_some() {
                        return;
                    }
                    if activity.expired(&self.limits) {
                        // HTTP/2: a GOAWAY; HTTP/1.1: closed when idle, or
                        // dropped at the next deadline mid-head.
                        connection.as_mut().graceful_shutdown();
                        closing = Some(Instant::now());
                    }
                }
            }
        }
    }
}

/// Requests in flight on one connection, and since when it has had none.
struct Activity {
    state: Mutex<ActivityState>,
}

struct ActivityState {
    /// Requests whose answer is not fully sent yet.
    in_flight: usize,
    /// When `in_flight` last became 0 (or the connection opened).
    idle_since: Instant,
    /// Whether any request arrived yet.
    served: bool,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            state: Mutex::new(ActivityState {
                in_flight: 0,
                idle_since: Instant::now(),
                served: false,
            }),
        }
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        let mut s = self.state.lock().expect("activity lock");
        s.in_flight += 1;
        s.served = true;
        InFlight(self.clone())
    }

    /// How long this connection may stay without a request: until its first
    /// request (TLS handshake and head included), the header timeout; after
    /// that, the idle timeout.
    fn limit(s: &ActivityState, limits: &Limits) -> std::time::Duration {
        if s.served {
            limits.idle_timeout
        } else {
            limits.header_timeout
        }
    }

    /// When to look again: when the idle time would run out, or, with a
    /// request in flight, one idle timeout from now.
    fn deadline(&self, limits: &Limits) -> Instant {
        let s = self.state.lock().expect("activity lock");
        if s.in_flight > 0 {
            Instant::now() + limits.idle_timeout
        } else {
            s.idle_since + Self::limit(&s, limits)
        }
    }

    /// Whether the connection has had no request in flight for its limit.
    fn expired(&self, limits: &Limits) -> bool {
        let s = self.state.lock().expect("activity lock");
        s.in_flight == 0 && s.idle_since + Self::limit(&s, limits) <= Instant::now()
    }
}

/// One request in flight; dropped once its answer is fully sent (or the
/// request is abandoned).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut s = self.0.state.lock().expect("activity lock");
        s.in_flight -= 1;
        if s.in_flight == 0 {
            s.idle_since = Instant::now();
        }
    }
}

/// A response body that keeps its request counted in flight until hyper
/// has sent (or dropped) it.
struct Counted {
    body: Body,
    _in_flight: InFlight,
}

impl HttpBody for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
