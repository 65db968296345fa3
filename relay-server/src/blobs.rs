//! Blob files (docs/RELAY.md §5.5): each blob's bytes in
//! `<data-dir>/blobs/<id>`, written as they arrive and read back in pieces,
//! so that no blob is ever held whole in memory. SQLite (`store`) records
//! how many bytes of each file are durable; bytes past that are leftovers of
//! an upload cut short and are cut off by the next one.

use std::collections::HashSet;
use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use futures_util::StreamExt as _;
use tokio::fs::{File, OpenOptions};
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _, AsyncWriteExt as _};

/// A blob id: 32 lowercase hex digits, so it is safe as a file name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobId(String);

impl BlobId {
    /// The id if `s` is one.
    pub fn parse(s: &str) -> Option<BlobId> {
        ipc_schema::envelope::is_valid_message_id(s).then(|| BlobId(s.to_owned()))
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Bytes read from a file per piece of a download.
const READ_PIECE: usize = 64 * 1024;

/// The blob directory, and which blobs an upload is writing right now.
pub struct BlobFiles {
    /// `<data-dir>/blobs`.
    dir: PathBuf,
    /// Blobs with an upload in progress: a second one is refused (409)
    /// rather than interleaving its bytes.
    uploading: Mutex<HashSet<String>>,
}

/// Holds a blob's upload slot; dropping it frees the slot.
pub struct UploadSlot {
    files: Arc<BlobFiles>,
    id: String,
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        self.files
            .uploading
            .lock()
            .expect("upload slots")
            .remove(&self.id);
    }
}

/// How an upload's body ended.
#[derive(Debug)]
pub enum Appended {
    /// The body ended; this many bytes were written, all durable.
    Whole(u64),
    /// The body broke off (the client went away, or paused longer than
    /// allowed); the bytes that did arrive, durable.
    CutShort(u64),
    /// The body had more bytes than allowed: nothing of it was kept.
    TooLong,
}

impl BlobFiles {
    /// The blob files in `dir` (`Config::blob_dir`).
    pub fn new(dir: &Path) -> BlobFiles {
        BlobFiles {
            dir: dir.to_owned(),
            uploading: Mutex::new(HashSet::new()),
        }
    }

    fn path(&self, id: &BlobId) -> PathBuf {
        self.dir.join(id.as_str())
    }

    /// The blob's upload slot, unless another upload holds it.
    pub fn begin_upload(self: &Arc<Self>, id: &BlobId) -> Option<UploadSlot> {
        let mut uploading = self.uploading.lock().expect("upload slots");
        uploading.insert(id.0.clone()).then(|| UploadSlot {
            files: self.clone(),
            id: id.0.clone(),
        })
    }

    /// Writes `body` into the blob's file from byte `from` (the durable
    /// length), at most `max` bytes, and makes what was written durable
    /// before returning. A piece that has not arrived `idle` after the last
    /// one ends the body. The slot proves no other upload writes the file.
    pub async fn append(
        &self,
        _slot: &UploadSlot,
        id: &BlobId,
        from: u64,
        max: u64,
        body: Body,
        idle: Duration,
    ) -> std::io::Result<Appended> {
        tokio::fs::create_dir_all(&self.dir).await?;
        let path = self.path(id);
        let created = !tokio::fs::try_exists(&path).await?;
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .await?;
        if created {
            // The new name must survive a crash as well as the bytes.
            File::open(&self.dir).await?.sync_all().await?;
        }
        // Whatever lies past the durable length is a cut-off upload's tail.
        file.set_len(from).await?;
        file.seek(SeekFrom::Start(from)).await?;
        let mut stream = body.into_data_stream();
        let mut written = 0u64;
        let mut whole = true;
        loop {
            let piece = match tokio::time::timeout(idle, stream.next()).await {
                Ok(Some(Ok(piece))) => piece,
                Ok(None) => break,
                Ok(Some(Err(_))) | Err(_) => {
                    whole = false;
                    break;
                }
            };
            if written + piece.len() as u64 > max {
                file.set_len(from).await?;
                file.sync_all().await?;
                return Ok(Appended::TooLong);
            }
            file.write_all(&piece).await?;
            written += piece.len() as u64;
        }
        file.flush().await?;
        file.sync_all().await?;
        Ok(if whole {
            Appended::Whole(written)
        } else {
            Appended::CutShort(written)
        })
    }

    /// `len` bytes of the blob from byte `start`, as a body read from disk
    /// piece by piece.
    pub async fn read(&self, id: &BlobId, start: u64, len: u64) -> std::io::Result<Body> {
        let mut file = File::open(self.path(id)).await?;
        file.seek(SeekFrom::Start(start)).await?;
        let pieces = futures_util::stream::unfold((file, len), |(mut file, left)| async move {
            if left == 0 {
                return None;
            }
            let want = left.min(READ_PIECE as u64) as usize;
            let mut buf = vec![0u8; want];
            match file.read(&mut buf).await {
                Ok(0) => Some((
                    Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "blob file is shorter than its stored length",
                    )),
                    (file, 0),
                )),
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(Bytes::from(buf)), (file, left - n as u64)))
                }
                Err(e) => Some((Err(e), (file, 0))),
            }
        });
        Ok(Body::from_stream(pieces))
    }

    /// Deletes the files of these blobs (those already gone are fine).
    pub async fn remove(&self, ids: &[String]) {
        for id in ids.iter().filter_map(|id| BlobId::parse(id)) {
            match tokio::fs::remove_file(self.path(&id)).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(blob = %id.as_str(), error = %e, "could not delete a blob file")
                }
            }
        }
    }

    /// The ids of the blob files on disk (for the sweep to find files whose
    /// row is gone, e.g. after a crash between the two deletions).
    pub async fn on_disk(&self) -> Vec<String> {
        let mut ids = Vec::new();
        let Ok(mut dir) = tokio::fs::read_dir(&self.dir).await else {
            return ids;
        };
        while let Ok(Some(entry)) = dir.next_entry().await {
            if let Some(name) = entry.file_name().to_str()
                && BlobId::parse(name).is_some()
            {
                ids.push(name.to_owned());
            }
        }
        ids
    }
}
