//! The local socket: a private directory (0700, ours, not a symlink:
//! `socket_dir.rs`), 0600 socket, peer uid checked, 16 MiB frames, hello
//! first; a client that breaks the framing is dropped and nobody else
//! notices. An answer too large for a frame is an error answer, never a
//! hang-up (docs/IPC.md §2).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use interprocess::local_socket::tokio::{Listener, Stream};
use interprocess::local_socket::traits::tokio::Listener as _;
use interprocess::local_socket::{GenericFilePath, ListenerOptions, ToFsName};
use ipc_schema::jsonrpc::{ErrorObject, Id, Request, Response, code};
use ipc_schema::methods::EventEnvelope;
use ipc_schema::methods::Method;
use ipc_schema::{FrameDecoder, FrameError, encode_frame};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::broadcast;

use super::handlers::{self, Outcome};
use crate::daemon::{Daemon, DaemonError};

/// Makes sure the socket's directory is private (creating it if needed)
/// and listens on `path` (mode 0600).
pub fn bind(path: &Path) -> std::io::Result<Listener> {
    if let Some(dir) = path.parent() {
        super::socket_dir::ensure_private(dir)?;
    }
    let name = path.to_fs_name::<GenericFilePath>()?;
    let mut options = ListenerOptions::new().name(name).try_overwrite(true);
    #[cfg(unix)]
    {
        use interprocess::os::unix::local_socket::ListenerOptionsExt;
        options = options.mode(0o600);
    }
    let listener = options.create_tokio()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(listener)
}

/// Accepts clients until shutdown.
pub async fn serve(daemon: Arc<Daemon>, listener: Listener) {
    let next_id = AtomicU64::new(1);
    let mut stop = daemon.shutdown.subscribe();
    loop {
        let conn = tokio::select! {
            c = listener.accept() => c,
            _ = crate::daemon::stopped(&mut stop) => return,
        };
        let conn = match conn {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                continue;
            }
        };
        if !same_user(&conn) {
            tracing::warn!("refused a local client running as another user");
            continue;
        }
        let id = next_id.fetch_add(1, Ordering::Relaxed);
        let daemon = daemon.clone();
        tokio::spawn(async move {
            if let Err(e) = Connection::new(daemon.clone(), conn, id).run().await {
                tracing::debug!(client = id, error = %e, "client disconnected");
            }
            daemon.set_focus(id, None);
        });
    }
}

#[cfg(unix)]
fn same_user(conn: &Stream) -> bool {
    use interprocess::local_socket::traits::StreamCommon as _;
    match conn.peer_creds() {
        // SAFETY: geteuid has no preconditions.
        Ok(creds) => creds.euid() == Some(unsafe { libc::geteuid() }),
        Err(_) => false,
    }
}

#[cfg(not(unix))]
fn same_user(_: &Stream) -> bool {
    true
}

struct Connection {
    daemon: Arc<Daemon>,
    stream: Stream,
    id: u64,
    hello: bool,
}

impl Connection {
    fn new(daemon: Arc<Daemon>, stream: Stream, id: u64) -> Self {
        Connection {
            daemon,
            stream,
            id,
            hello: false,
        }
    }

    async fn send<T: Serialize>(&self, value: &T) -> std::io::Result<()> {
        let frame = encode_frame(value).map_err(std::io::Error::other)?;
        (&self.stream).write_all(&frame).await
    }

    /// Sends the answer to request `id`; one too large for a frame becomes
    /// a `frame_too_large` error answer, so the client hears why.
    async fn answer<T: Serialize>(&self, id: Id, response: &Response<T>) -> std::io::Result<()> {
        match encode_frame(response) {
            Ok(frame) => (&self.stream).write_all(&frame).await,
            Err(e) => {
                tracing::warn!(client = self.id, error = %e, "an answer is too large to send");
                let err = ErrorObject::new(
                    code::FRAME_TOO_LARGE,
                    format!("the answer is too large to send ({e}); ask for less"),
                );
                self.send(&Response::<()>::error(Some(id), err)).await
            }
        }
    }

    async fn run(mut self) -> std::io::Result<()> {
        let mut decoder = FrameDecoder::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            loop {
                let frame = match decoder.next_frame() {
                    Ok(Some(f)) => f,
                    Ok(None) => break,
                    Err(e) => return self.refuse_framing(e).await,
                };
                if let Some(after) = self.handle(&frame).await? {
                    return self.stream_events(after).await;
                }
            }
            let n = (&self.stream).read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            if let Err(e) = decoder.push(&buf[..n]) {
                return self.refuse_framing(e).await;
            }
        }
    }

    async fn refuse_framing(&self, e: FrameError) -> std::io::Result<()> {
        tracing::warn!(client = self.id, error = %e, "dropping a client that broke the framing");
        let _ = self
            .send(&Response::<()>::error(
                None,
                ErrorObject::new(code::FRAME_TOO_LARGE, e.to_string()),
            ))
            .await;
        Ok(())
    }

    /// Answers one frame. `Some(after)` turns the connection into an event stream.
    async fn handle(&mut self, frame: &[u8]) -> std::io::Result<Option<u64>> {
        let request = match Request::from_slice(frame) {
            Ok(r) => r,
            Err(e) => {
                self.send(&e.to_response()).await?;
                return Ok(None);
            }
        };
        let Request { id, method, .. } = request;
        if !self.hello && !matches!(method, Method::Hello(_)) {
            let err = ErrorObject::new(code::HELLO_REQUIRED, "call `hello` first");
            self.send(&Response::<()>::error(Some(id), err)).await?;
            return Ok(None);
        }
        match handlers::dispatch(&self.daemon, self.id, method).await {
            Outcome::Reply(result) => {
                if matches!(result, ipc_schema::methods::MethodResult::Hello(_)) {
                    self.hello = true;
                }
                self.answer(id.clone(), &Response::ok(id, result)).await?;
                Ok(None)
            }
            Outcome::Subscribe { result, after } => {
                self.send(&Response::ok(id, result)).await?;
                Ok(Some(after))
            }
            Outcome::Error(err) => {
                self.send(&Response::<()>::error(Some(id), err)).await?;
                Ok(None)
            }
            Outcome::Shutdown(result) => {
                self.send(&Response::ok(id, result)).await?;
                let _ = self.daemon.shutdown.send(true);
                Ok(None)
            }
        }
    }

    /// Stored events after `after`; when they were pruned meanwhile (a
    /// subscriber that fell behind the retention), the stream ends with an
    /// `events_expired` notice instead of a silent gap.
    async fn stored_after(&self, after: u64, limit: usize) -> std::io::Result<Vec<EventEnvelope>> {
        match self.daemon.events_after(after, limit) {
            Ok(page) => Ok(page),
            Err(e @ DaemonError::EventsExpired(_)) => {
                let err = ErrorObject::from(e);
                let _ = self.send(&Response::<()>::error(None, err)).await;
                Err(std::io::Error::other("events expired under a subscriber"))
            }
            Err(e) => Err(std::io::Error::other(e.to_string())),
        }
    }

    /// Replays every stored event after `after`, then streams live ones,
    /// skipping any the replay already sent. Ends when the client leaves.
    async fn stream_events(self, after: u64) -> std::io::Result<()> {
        // Subscribe to live events before reading the log, so nothing falls
        // between the two.
        let mut live = self.daemon.live_events();
        let mut last = after;
        loop {
            let page = self.stored_after(last, 500).await?;
            if page.is_empty() {
                break;
            }
            for event in &page {
                self.send(event).await?;
                last = event.seq;
            }
        }
        let mut stop = self.daemon.shutdown.subscribe();
        let mut scratch = [0u8; 1024];
        let mut reader = &self.stream;
        loop {
            tokio::select! {
                event = live.recv() => match event {
                    Ok(event) if event.seq == last + 1 => {
                        last = event.seq;
                        self.send(&event).await?;
                    }
                    // Events are committed in seq order but published after
                    // the store lock is released, so they can arrive out of
                    // order; and a slow client may lag: fill from the log.
                    Ok(event) if event.seq > last => {
                        for e in self.stored_after(last, 10_000).await? {
                            last = e.seq;
                            self.send(&e).await?;
                        }
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        for e in self.stored_after(last, 10_000).await? {
                            last = e.seq;
                            self.send(&e).await?;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
                read = reader.read(&mut scratch) => {
                    // An event stream takes no more requests; EOF ends it.
                    if read? == 0 {
                        return Ok(());
                    }
                }
                _ = crate::daemon::stopped(&mut stop) => return Ok(()),
            }
        }
    }
}
