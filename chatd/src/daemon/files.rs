//! Files (docs/PROTOCOL.md §15, docs/IPC.md `file.*`): a frontend streams
//! a file in (`file.upload_*`), chatd seals it chunk by chunk into a spool
//! with a fresh key, uploads the blob (resuming where the relay stopped),
//! and only then queues the message. Received files come down by
//! themselves up to `[files] auto_download_mib`, bigger ones on request;
//! each is kept under `files/` named by sender and id, never by the name a
//! peer gave, and only once every chunk and the SHA-256 checked. Frontends
//! read it back with `file.read` (chatd may not see the caller's files, nor
//! the caller chatd's).

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use ipc_schema::FileOffer;
use ipc_schema::methods::{Direction, FileState, MessageState, MessageView};

use super::{Daemon, DaemonError, backoff, stopped};
use crate::crypto::file::{self as chunks, FileKey, Sealer};
use crate::files::{FilesError, Want, download_resuming, partial_path, upload_spool};
use crate::relay_client::RelayError;
use crate::store::{KeptFile, new_message_id, now_ms};

/// Uploads being streamed in at once, over all frontends.
const MAX_SESSIONS: usize = 4;

/// An upload nobody fed for this long is dropped (its spool removed).
const IDLE: Duration = Duration::from_secs(300);

/// How long the file tasks wait for a session before looking again.
const NOT_LOGGED_IN_WAIT: Duration = Duration::from_secs(5);

/// Largest piece `file.read` returns.
pub const READ_MAX: usize = chunks::CHUNK;

/// The two file tasks.
#[derive(Debug, Clone, Copy)]
enum Transfers {
    Uploads,
    Downloads,
}

/// A file being streamed in by a frontend.
struct Session {
    to: String,
    name: String,
    media_type: String,
    reply_to: Option<String>,
    size: u64,
    blob: String,
    key: String,
    sealer: Sealer,
    spool: std::io::BufWriter<std::fs::File>,
    spool_path: PathBuf,
    received: u64,
    touched: Instant,
}

/// The uploads being streamed in, by upload id.
#[derive(Default)]
pub(super) struct Sessions(std::sync::Mutex<HashMap<String, Session>>);

impl Sessions {
    fn reap(map: &mut HashMap<String, Session>) {
        let stale: Vec<String> = map
            .iter()
            .filter(|(_, s)| s.touched.elapsed() > IDLE)
            .map(|(k, _)| k.clone())
            .collect();
        for k in stale {
            if let Some(s) = map.remove(&k) {
                let _ = std::fs::remove_file(&s.spool_path);
            }
        }
    }
}

/// Where file (`sender`, `id`) is kept.
fn kept_path(dir: &std::path::Path, sender: &str, id: &str) -> PathBuf {
    dir.join(format!("{sender}-{id}"))
}

fn spool_dir(dir: &std::path::Path) -> PathBuf {
    dir.join("spool")
}

/// A relay or file failure as the message shows it.
fn failure_text(e: &FilesError) -> String {
    match e {
        FilesError::NoBlob(_) => {
            "the relay has no such file (expired, deleted, or never uploaded)".into()
        }
        FilesError::File(e) => format!("the file does not check ({}): refused", e.name()),
        FilesError::Relay(RelayError::Refused { status: 413, .. }) => {
            "too large for the relay".into()
        }
        FilesError::Relay(RelayError::Refused { status: 507, .. }) => {
            "the relay's file quota for this account is full".into()
        }
        other => other.to_string(),
    }
}

/// True when trying again later may work.
fn transient(e: &FilesError) -> bool {
    match e {
        FilesError::Relay(r) => r.is_transient() || r.is_unauthorized() || r.is_rate_limited(),
        FilesError::Io(_) => true,
        FilesError::File(_) | FilesError::NoBlob(_) => false,
    }
}

impl Daemon {
    /// Starts an upload of a file of `size` bytes for conversation `to`;
    /// returns its upload id. The name is sent as [`shown_name`] makes it.
    ///
    /// [`shown_name`]: ipc_schema::files::shown_name
    pub fn file_upload_start(
        &self,
        to: &str,
        name: &str,
        size: u64,
        media_type: Option<String>,
        reply_to: Option<String>,
    ) -> Result<String, DaemonError> {
        self.identity()?;
        let to = self.sendable(to)?;
        let reply_to = self.reply_target(&to, reply_to)?;
        let max = self.config.files.max_send();
        if size > max {
            return Err(DaemonError::Invalid(format!(
                "{} is over this device's limit of {} (`[files] max_send_mib`)",
                ipc_schema::text::human_size(size),
                ipc_schema::text::human_size(max)
            )));
        }
        let media_type = media_type.unwrap_or_else(|| "application/octet-stream".into());
        if !ipc_schema::files::is_valid_media_type(&media_type) {
            return Err(DaemonError::Invalid(format!(
                "media type {media_type:?} is not type/subtype"
            )));
        }
        let mut map = self.uploads.0.lock().expect("uploads lock");
        Sessions::reap(&mut map);
        if map.len() >= MAX_SESSIONS {
            return Err(DaemonError::Invalid(format!(
                "{MAX_SESSIONS} uploads are being streamed already; try again when one ends"
            )));
        }
        let dir = spool_dir(self.store.files_dir());
        crate::keystore::create_private_dir(&dir)
            .map_err(|e| DaemonError::Internal(format!("{}: {e}", dir.display())))?;
        let mut rng = rand::rng();
        let key = FileKey::generate(&mut rng);
        let mut id = [0u8; 16];
        rand::Rng::fill_bytes(&mut rng, &mut id);
        let blob = ipc_schema::fingerprint::to_hex(&id);
        let spool_path = dir.join(&blob);
        let spool = std::fs::File::create(&spool_path)
            .map_err(|e| DaemonError::Internal(format!("{}: {e}", spool_path.display())))?;
        let upload = new_message_id();
        map.insert(
            upload.clone(),
            Session {
                to,
                name: ipc_schema::files::shown_name(name),
                media_type,
                reply_to,
                size,
                key: base64::engine::general_purpose::STANDARD.encode(key.bytes()),
                sealer: Sealer::new(key, id, size),
                blob,
                spool: std::io::BufWriter::new(spool),
                spool_path,
                received: 0,
                touched: Instant::now(),
            },
        );
        Ok(upload)
    }

    /// The next piece of upload `upload`: exactly the next chunk (1 MiB,
    /// the last one shorter). Returns the bytes received so far.
    pub fn file_upload_chunk(&self, upload: &str, data: &[u8]) -> Result<u64, DaemonError> {
        let mut map = self.uploads.0.lock().expect("uploads lock");
        let s = map
            .get_mut(upload)
            .ok_or_else(|| DaemonError::UnknownMessage(format!("no upload {upload}")))?;
        let want = s.sealer.next_len().unwrap_or(0);
        if data.len() != want || s.received == s.size && s.size > 0 {
            return Err(DaemonError::Invalid(format!(
                "upload {upload} takes {want} bytes next (1 MiB pieces, the last one shorter), not {}",
                data.len()
            )));
        }
        let sealed = s
            .sealer
            .seal_chunk(data, &mut rand::rng())
            .map_err(|e| DaemonError::Invalid(e.to_string()))?;
        s.spool
            .write_all(&sealed)
            .map_err(|e| DaemonError::Internal(format!("spool: {e}")))?;
        s.received += data.len() as u64;
        s.touched = Instant::now();
        Ok(s.received)
    }

    /// Upload `upload` got all its bytes: the message is committed (its
    /// file `uploading`) and the blob goes up; returns (id, ts).
    pub fn file_upload_finish(&self, upload: &str) -> Result<(String, u64), DaemonError> {
        let me = self.identity()?;
        // Held until the message is committed, so that a sweep sees the
        // spool either as this session's or as an upload's, never neither.
        let mut sessions = self.uploads.0.lock().expect("uploads lock");
        let s = sessions
            .remove(upload)
            .ok_or_else(|| DaemonError::UnknownMessage(format!("no upload {upload}")))?;
        let Session {
            to,
            name,
            media_type,
            reply_to,
            size,
            blob,
            key,
            sealer,
            spool,
            spool_path,
            received,
            ..
        } = s;
        let fail = |e: String| {
            let _ = std::fs::remove_file(&spool_path);
            DaemonError::Invalid(e)
        };
        if received != size || sealer.next_len().is_some() && size > 0 {
            return Err(fail(format!(
                "upload {upload} got {received} of {size} bytes; start again"
            )));
        }
        let sha256 = sealer.finish().map_err(|e| fail(e.to_string()))?;
        spool
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(|f| f.sync_all())
            .map_err(|e| fail(format!("spool: {e}")))?;
        let offer = FileOffer {
            blob,
            size,
            name: name.clone(),
            media_type,
            key,
            sha256: ipc_schema::fingerprint::to_hex(&sha256),
            reply_to: reply_to.clone(),
            group: None,
            to: None,
        };
        offer
            .check()
            .map_err(|e| fail(format!("file offer: {e}")))?;
        let readers = self.store.file_readers(me.user(), &to)?;
        let view = MessageView {
            id: new_message_id(),
            from: me.user().to_owned(),
            to: to.clone(),
            ts: now_ms(),
            direction: Direction::Out,
            kind: "file".into(),
            body: Some(name),
            reply_to,
            state: MessageState::Queued,
            failure: None,
            seq: 0,
            truncated: false,
            group: ipc_schema::methods::group_peer(&to).map(str::to_owned),
            deliveries: Vec::new(),
            edited: false,
            deleted: false,
            reactions: Vec::new(),
            file: None,
        };
        let queued = self.publish(self.store.queue_file(&view, &offer, &readers)?);
        drop(sessions);
        self.uploads_wake.notify_one();
        Ok((queued.id, queued.ts))
    }

    /// Drops upload `upload` (the frontend gave up).
    pub fn file_upload_cancel(&self, upload: &str) -> Result<(), DaemonError> {
        let s = self
            .uploads
            .0
            .lock()
            .expect("uploads lock")
            .remove(upload)
            .ok_or_else(|| DaemonError::UnknownMessage(format!("no upload {upload}")))?;
        let _ = std::fs::remove_file(&s.spool_path);
        Ok(())
    }

    /// The file of message `id` of conversation `peer`.
    fn kept(&self, peer: Option<&str>, id: &str) -> Result<KeptFile, DaemonError> {
        self.store.kept_file(peer, id)?.ok_or_else(|| {
            DaemonError::UnknownMessage(match peer {
                Some(peer) => format!("no file message {id} with {peer}"),
                None => format!("no file message {id} (or more than one: name the conversation)"),
            })
        })
    }

    /// The user asks for message `id`'s file: it comes down whatever its
    /// size (a failed one is tried again). Returns where it is now.
    pub fn file_download(&self, peer: Option<&str>, id: &str) -> Result<KeptFile, DaemonError> {
        self.kept(peer, id)?;
        let kept = self
            .store
            .request_file(peer, id)?
            .ok_or_else(|| DaemonError::UnknownMessage(format!("no file message {id}")))?;
        self.downloads_wake.notify_one();
        Ok(kept)
    }

    /// Up to `len` bytes (at most [`READ_MAX`]) of message `id`'s kept
    /// file from `offset`, and the file's size.
    pub fn file_read(
        &self,
        peer: Option<&str>,
        id: &str,
        offset: u64,
        len: usize,
    ) -> Result<(Vec<u8>, u64), DaemonError> {
        let kept = self.kept(peer, id)?;
        if kept.state != FileState::Ready {
            return Err(DaemonError::Invalid(format!(
                "the file of {} is not here yet ({}): `file.download` fetches it",
                kept.id,
                serde_json::to_string(&kept.state)
                    .unwrap_or_default()
                    .trim_matches('"')
            )));
        }
        let path = kept_path(self.store.files_dir(), &kept.sender, &kept.id);
        let mut f = std::fs::File::open(&path)
            .map_err(|e| DaemonError::Internal(format!("kept file: {e}")))?;
        let len = len.min(READ_MAX) as u64;
        let end = (offset.saturating_add(len)).min(kept.size);
        let mut buf = vec![0u8; end.saturating_sub(offset) as usize];
        f.seek(SeekFrom::Start(offset.min(kept.size)))
            .and_then(|_| f.read_exact(&mut buf))
            .map_err(|e| DaemonError::Internal(format!("kept file: {e}")))?;
        Ok((buf, kept.size))
    }

    /// Removes kept files (and partial downloads) no message names any
    /// more (deleted for everyone), and spooled blobs no upload needs (a
    /// file deleted before it went up).
    pub(super) fn sweep_files(&self) -> Result<(), DaemonError> {
        let dir = self.store.files_dir();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(());
        };
        let kept: std::collections::HashSet<String> = self
            .store
            .file_keys()?
            .into_iter()
            .map(|(s, i)| format!("{s}-{i}"))
            .collect();
        // Sessions first, then the uploads: see `file_upload_finish`.
        let sessions = self.uploads.0.lock().expect("uploads lock");
        let mut spooled: std::collections::HashSet<String> =
            sessions.values().map(|s| s.blob.clone()).collect();
        spooled.extend(self.store.uploading_blobs()?);
        if let Ok(spool) = std::fs::read_dir(spool_dir(dir)) {
            for entry in spool.flatten() {
                if !spooled.contains(entry.file_name().to_string_lossy().as_ref()) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        drop(sessions);
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_file = entry.file_type().is_ok_and(|t| t.is_file());
            let key = name.strip_suffix(".partial").unwrap_or(&name);
            if is_file && !kept.contains(key) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(())
    }

    /// Uploads due blobs until shutdown.
    pub(super) async fn run_uploads(self: Arc<Self>) {
        self.run_files(Transfers::Uploads).await
    }

    /// Downloads due files until shutdown.
    pub(super) async fn run_downloads(self: Arc<Self>) {
        let _ = self.sweep_files();
        self.run_files(Transfers::Downloads).await
    }

    /// Runs passes of `which` until shutdown: when woken, when the next
    /// retry is due, and with backoff after a local failure (the store,
    /// the disk), never in a tight loop.
    async fn run_files(self: Arc<Self>, which: Transfers) {
        let mut stop = self.shutdown.subscribe();
        let mut failures = 0;
        let wake = match which {
            Transfers::Uploads => &self.uploads_wake,
            Transfers::Downloads => &self.downloads_wake,
        };
        loop {
            if self.stopping() {
                return;
            }
            let pass = match which {
                Transfers::Uploads => self.upload_pass().await,
                Transfers::Downloads => self.download_pass().await,
            };
            let wait = match pass {
                Ok(true) => {
                    failures = 0;
                    self.next_file_wait()
                }
                Ok(false) => NOT_LOGGED_IN_WAIT,
                Err(e) => {
                    failures += 1;
                    tracing::warn!(error = %e, ?which, "file pass failed");
                    backoff(failures)
                }
            };
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = stopped(&mut stop) => return,
            }
        }
    }

    fn next_file_wait(&self) -> Duration {
        let files = &self.config.files;
        match self
            .store
            .next_file_due(files.auto_limit(), files.auto_budget())
        {
            Ok(Some(at)) => Duration::from_millis(at.saturating_sub(now_ms()).max(50)),
            _ => Duration::from_secs(3600),
        }
    }

    /// One pass over the due uploads; false when there is no session to
    /// upload with.
    async fn upload_pass(&self) -> Result<bool, DaemonError> {
        let (Some(token), Ok(me)) = (self.token(), self.identity()) else {
            return Ok(false);
        };
        let relay = self.relay()?;
        let dir = spool_dir(self.store.files_dir());
        for up in self.store.uploads_due(me.user(), now_ms())? {
            if self.stopping() {
                return Ok(true);
            }
            let spool = dir.join(&up.blob);
            let total = chunks::sealed_len(up.size).max(1);
            let mut last = Instant::now();
            let mut progress = |at: u64| {
                if last.elapsed() > Duration::from_millis(250) {
                    last = Instant::now();
                    let done = (at as u128 * up.size as u128 / total as u128) as u64;
                    if let Ok(c) = self.store.file_progress(me.user(), &up.id, done) {
                        self.publish(c);
                    }
                }
            };
            let result = if spool.exists() {
                upload_spool(
                    &relay,
                    &token,
                    &up.blob,
                    up.size,
                    &spool,
                    &up.readers,
                    &mut progress,
                )
                .await
            } else {
                Err(FilesError::Io(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "its sealed copy is gone from the spool",
                )))
            };
            match result {
                Ok(()) => {
                    let _ = std::fs::remove_file(&spool);
                    self.publish(self.store.upload_done(me.user(), &up.id)?);
                    self.outbox_wake.notify_one();
                }
                Err(e) if transient(&e) && spool.exists() => {
                    let attempts = up.attempts + 1;
                    tracing::info!(id = %up.id, error = %e, attempts, "upload interrupted; it resumes");
                    let at = now_ms() + backoff(attempts).as_millis() as u64;
                    self.store.file_back_off(me.user(), &up.id, attempts, at)?;
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&spool);
                    self.publish(
                        self.store
                            .file_failed(me.user(), &up.id, &failure_text(&e))?,
                    );
                }
            }
        }
        Ok(true)
    }

    /// One pass over the due downloads; false when there is no session.
    async fn download_pass(&self) -> Result<bool, DaemonError> {
        let Some(token) = self.token() else {
            return Ok(false);
        };
        let relay = self.relay()?;
        let dir = self.store.files_dir().to_owned();
        crate::keystore::create_private_dir(&dir)
            .map_err(|e| DaemonError::Internal(format!("{}: {e}", dir.display())))?;
        let files = &self.config.files;
        let due = self
            .store
            .downloads_due(now_ms(), files.auto_limit(), files.auto_budget())?;
        for down in due {
            if self.stopping() {
                return Ok(true);
            }
            let (Some(key), Some(sha256)) = (
                ipc_schema::files::key_bytes(&down.offer.key).and_then(|k| FileKey::from_bytes(&k)),
                down.offer.sha256_bytes(),
            ) else {
                self.publish(
                    self.store
                        .file_failed(&down.sender, &down.id, "malformed offer")?,
                );
                continue;
            };
            self.publish(self.store.download_state(
                &down.sender,
                &down.id,
                FileState::Downloading,
            )?);
            let dest = kept_path(&dir, &down.sender, &down.id);
            let mut last = Instant::now();
            let mut progress = |done: u64| {
                if last.elapsed() > Duration::from_millis(250) {
                    last = Instant::now();
                    if let Ok(c) = self.store.file_progress(&down.sender, &down.id, done) {
                        self.publish(c);
                    }
                }
            };
            let want = Want {
                id: &down.offer.blob,
                key,
                size: down.offer.size,
                sha256: &sha256,
            };
            match download_resuming(&relay, &token, want, &dest, &mut progress).await {
                Ok(()) => {
                    self.publish(self.store.download_state(
                        &down.sender,
                        &down.id,
                        FileState::Ready,
                    )?);
                }
                Err(e) if transient(&e) => {
                    let attempts = down.attempts + 1;
                    tracing::info!(id = %down.id, error = %e, attempts, "download interrupted; it resumes");
                    let at = now_ms() + backoff(attempts).as_millis() as u64;
                    self.store
                        .file_back_off(&down.sender, &down.id, attempts, at)?;
                }
                Err(e) => {
                    let _ = std::fs::remove_file(partial_path(&dest));
                    tracing::warn!(id = %down.id, reason = %failure_text(&e), "a file was refused");
                    self.publish(self.store.file_failed(
                        &down.sender,
                        &down.id,
                        &failure_text(&e),
                    )?);
                }
            }
        }
        Ok(true)
    }
}
