//! Moving a file through the relay (docs/PROTOCOL.md §15, docs/RELAY.md
//! §5.5), one chunk in memory at a time: sealing a file into a spool file,
//! uploading the spool from wherever the relay says it stopped, and
//! downloading and opening a blob into a file that is kept only once every
//! chunk and the whole file's SHA-256 check.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use ipc_schema::Secret;
use ipc_schema::relay::BlobCreate;
use rand_core::CryptoRng;

use crate::crypto::file::{self, FileError, FileKey, Opener, Sealer};
use crate::relay_client::{RelayClient, RelayError};

/// Bytes of the spool sent in one `PUT` (one sealed chunk's worth).
const PIECE: usize = file::CHUNK + 64;

/// Why moving a file failed.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// Reading or writing a local file.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The relay refused or could not be reached.
    #[error("{0}")]
    Relay(#[from] RelayError),
    /// The blob does not open as the file described (§15.3).
    #[error("{0}")]
    File(#[from] FileError),
    /// The relay has no such blob for this account (or not all of it yet).
    #[error("the relay has no blob {0} for this account")]
    NoBlob(String),
}

/// A file sealed into a spool file, ready to upload.
pub struct SealedFile {
    /// The blob's id (32 hex digits).
    pub id: String,
    /// The file's key.
    pub key: FileKey,
    /// The file's size.
    pub size: u64,
    /// The file's SHA-256.
    pub sha256: [u8; 32],
    /// The sealed blob on disk.
    pub spool: PathBuf,
}

/// Seals `src` (read 1 MiB at a time) into `spool` with a fresh key and id.
pub fn seal_to_spool<R: CryptoRng + ?Sized>(
    src: &Path,
    spool: &Path,
    rng: &mut R,
) -> Result<SealedFile, FilesError> {
    let mut input = std::fs::File::open(src)?;
    let size = input.metadata()?.len();
    let key = FileKey::generate(rng);
    let mut id = [0u8; 16];
    rng.fill_bytes(&mut id);
    let mut sealer = Sealer::new(
        FileKey::from_bytes(key.bytes()).expect("64 bytes"),
        id,
        size,
    );
    let mut out = std::io::BufWriter::new(std::fs::File::create(spool)?);
    let mut chunk = zeroize::Zeroizing::new(vec![0u8; file::CHUNK]);
    while let Some(n) = sealer.next_len() {
        input.read_exact(&mut chunk[..n])?;
        out.write_all(&sealer.seal_chunk(&chunk[..n], rng)?)?;
    }
    // A file that grew while it was read is sent as it was at the start.
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(SealedFile {
        id: ipc_schema::fingerprint::to_hex(&id),
        key,
        size,
        sha256: sealer.finish()?,
        spool: spool.to_owned(),
    })
}

/// Uploads `sealed`'s spool for `readers`, from the bytes the relay holds
/// already (a second call after an interruption resumes).
pub async fn upload(
    relay: &RelayClient,
    token: &Secret,
    sealed: &SealedFile,
    readers: &[String],
) -> Result<(), FilesError> {
    upload_spool(
        relay,
        token,
        &sealed.id,
        sealed.size,
        &sealed.spool,
        readers,
        &mut |_| {},
    )
    .await
}

/// Uploads blob `id` (a file of `size` bytes, sealed into `spool`) for
/// `readers`, from the bytes the relay holds already; `progress` hears the
/// sealed bytes stored after each piece.
pub async fn upload_spool(
    relay: &RelayClient,
    token: &Secret,
    id: &str,
    size: u64,
    spool: &Path,
    readers: &[String],
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<(), FilesError> {
    let total = file::sealed_len(size);
    let status = relay
        .create_blob(
            token,
            &BlobCreate {
                id: id.to_owned(),
                size: total,
                readers: readers.to_vec(),
            },
        )
        .await?;
    let mut at = match relay.blob_stored(token, id).await? {
        Some(stored) => stored,
        None => status.stored,
    };
    let mut spool = std::fs::File::open(spool)?;
    while at < total {
        let n = PIECE.min((total - at) as usize);
        let mut piece = vec![0u8; n];
        spool.seek(SeekFrom::Start(at))?;
        spool.read_exact(&mut piece)?;
        at = relay.put_blob(token, id, at, total, piece).await?.stored;
        progress(at);
    }
    Ok(())
}

/// Downloads blob `id` of a file of `size` bytes and opens it into `dest`
/// (through a temporary file next to it, renamed only once the whole file
/// checked against `sha256`).
pub async fn download(
    relay: &RelayClient,
    token: &Secret,
    id: &str,
    key: FileKey,
    size: u64,
    sha256: &[u8; 32],
    dest: &Path,
) -> Result<(), FilesError> {
    let want = Want {
        id,
        key,
        size,
        sha256,
    };
    download_resuming(relay, token, want, dest, &mut |_| {}).await
}

/// What a download must bring: blob `id`, opened with `key` into a file of
/// `size` bytes whose SHA-256 is `sha256`.
pub struct Want<'a> {
    /// The blob's id.
    pub id: &'a str,
    /// The file's key.
    pub key: FileKey,
    /// The file's size.
    pub size: u64,
    /// The file's SHA-256.
    pub sha256: &'a [u8; 32],
}

/// The temporary file a download of `dest` writes.
pub fn partial_path(dest: &Path) -> PathBuf {
    let mut name = dest.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// Like [`download`], going on from the whole chunks an interrupted
/// download left in the temporary file (they are hashed again, and the
/// digest still checks the whole file); `progress` hears the file's bytes
/// opened so far. A blob that fails a check leaves nothing behind; one the
/// relay could not serve leaves the chunks so far.
pub async fn download_resuming(
    relay: &RelayClient,
    token: &Secret,
    want: Want<'_>,
    dest: &Path,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<(), FilesError> {
    let id_bytes = blob_id(want.id).ok_or_else(|| FilesError::NoBlob(want.id.to_owned()))?;
    let partial = partial_path(dest);
    let opened = open_into(relay, token, want, id_bytes, &partial, progress).await;
    match opened {
        Ok(()) => Ok(std::fs::rename(&partial, dest)?),
        Err(e) => {
            // Nothing of a file that did not check is kept.
            if matches!(e, FilesError::File(_) | FilesError::NoBlob(_)) {
                let _ = std::fs::remove_file(&partial);
            }
            Err(e)
        }
    }
}

/// A blob id's 16 bytes, from its 32 lowercase hex digits.
fn blob_id(hex: &str) -> Option<[u8; 16]> {
    if !ipc_schema::envelope::is_valid_message_id(hex) {
        return None;
    }
    let mut id = [0u8; 16];
    for (i, b) in id.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(id)
}

async fn open_into(
    relay: &RelayClient,
    token: &Secret,
    want: Want<'_>,
    id_bytes: [u8; 16],
    partial: &Path,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<(), FilesError> {
    let mut opener = Opener::new(want.key, id_bytes, want.size);
    let mut out = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(partial)?;
    // Whole chunks kept from before (written only after their tags
    // verified); a torn last one is written again.
    let kept = out.metadata()?.len();
    let mut plain = zeroize::Zeroizing::new(vec![0u8; file::CHUNK]);
    let mut done = 0u64;
    out.seek(SeekFrom::Start(0))?;
    while opener.next_len().is_some() {
        let n = file::plain_len(want.size, opener.opened());
        if done + n as u64 > kept || n == 0 {
            break;
        }
        out.read_exact(&mut plain[..n])?;
        opener.resume_chunk(&plain[..n]);
        done += n as u64;
    }
    out.set_len(done)?;
    out.seek(SeekFrom::Start(done))?;
    let mut at: u64 = (0..opener.opened())
        .map(|i| file::sealed_chunk_len(file::plain_len(want.size, i)) as u64)
        .sum();
    let mut out = std::io::BufWriter::new(out);
    while let Some(n) = opener.next_len() {
        let sealed = match relay.get_blob(token, want.id, at, at + n as u64).await {
            Ok(Some(sealed)) => sealed,
            Ok(None) => return Err(FilesError::NoBlob(want.id.to_owned())),
            // The blob ends before §15.2 says it does: chunks are missing.
            Err(RelayError::Refused { status: 416, .. }) => {
                return Err(FileError::BadCount {
                    got: opener.opened(),
                    want: file::chunks(want.size),
                }
                .into());
            }
            Err(e) => return Err(e.into()),
        };
        let chunk = opener.open_chunk(&sealed)?;
        out.write_all(chunk.expose_secret())?;
        at += n as u64;
        done += chunk.expose_secret().len() as u64;
        progress(done);
    }
    opener.finish(want.sha256)?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(())
}
