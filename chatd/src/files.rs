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
    let total = file::sealed_len(sealed.size);
    let status = relay
        .create_blob(
            token,
            &BlobCreate {
                id: sealed.id.clone(),
                size: total,
                readers: readers.to_vec(),
            },
        )
        .await?;
    let mut at = match relay.blob_stored(token, &sealed.id).await? {
        Some(stored) => stored,
        None => status.stored,
    };
    let mut spool = std::fs::File::open(&sealed.spool)?;
    while at < total {
        let n = PIECE.min((total - at) as usize);
        let mut piece = vec![0u8; n];
        spool.seek(SeekFrom::Start(at))?;
        spool.read_exact(&mut piece)?;
        at = relay
            .put_blob(token, &sealed.id, at, total, piece)
            .await?
            .stored;
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
    let id_bytes = blob_id(id).ok_or_else(|| FilesError::NoBlob(id.to_owned()))?;
    let partial = dest.with_extension("partial");
    let opened = open_into(relay, token, id, id_bytes, key, size, sha256, &partial).await;
    match opened {
        Ok(()) => Ok(std::fs::rename(&partial, dest)?),
        Err(e) => {
            // Nothing of a file that did not check is kept.
            let _ = std::fs::remove_file(&partial);
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

#[allow(clippy::too_many_arguments)]
async fn open_into(
    relay: &RelayClient,
    token: &Secret,
    id: &str,
    id_bytes: [u8; 16],
    key: FileKey,
    size: u64,
    sha256: &[u8; 32],
    partial: &Path,
) -> Result<(), FilesError> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(partial)?);
    let mut opener = Opener::new(key, id_bytes, size);
    let mut at = 0u64;
    while let Some(n) = opener.next_len() {
        let sealed = relay
            .get_blob(token, id, at, at + n as u64)
            .await?
            .ok_or_else(|| FilesError::NoBlob(id.to_owned()))?;
        out.write_all(opener.open_chunk(&sealed)?.expose_secret())?;
        at += n as u64;
    }
    opener.finish(sha256)?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(())
}
