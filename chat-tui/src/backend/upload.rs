//! Sending a file, for the worker. chatd never takes a path (docs/IPC.md:
//! it may not see the user's files), so the file is opened here, from the
//! path as the user typed it, and checked on the opened file itself to be
//! a regular one before chatd hears of it. Then `file.upload_start`, the
//! file in order a piece at a time as chatd asked (`file.upload_chunk`,
//! standard base64; one piece in memory at a time, whatever the file's
//! size), and `file.upload_finish`. Anything that goes wrong once the
//! upload started cancels it (`file.upload_cancel`), so chatd keeps
//! nothing of it.

use std::io::ErrorKind;

use ipc_schema::files::guess_media_type;
use ipc_schema::methods::{FILE_PIECE, FileUploadStartParams};
use tokio::fs::File;
use tokio::io::AsyncReadExt;

use super::files::expand_home;
use super::{Daemon, base64};
use crate::app::Action;
use crate::app::upload::FileSend;

/// Sends `s`'s file; every failure, a lost connection included, is the
/// answer's.
pub async fn send<D: Daemon>(daemon: &mut D, s: FileSend) -> Action {
    let result = upload(daemon, &s).await;
    Action::FileSent {
        to: s.to,
        name: s.name,
        result,
    }
}

/// Opens `s`'s file, streams it to chatd and has chatd send it; cancels
/// the upload when that fails part way.
async fn upload<D: Daemon>(daemon: &mut D, s: &FileSend) -> Result<(), String> {
    let (mut file, size) = open(&s.path).await?;
    let started = daemon
        .file_upload_start(FileUploadStartParams {
            to: s.to.clone(),
            name: s.name.clone(),
            size,
            media_type: Some(guess_media_type(&s.name).to_owned()),
            reply_to: s.reply_to.clone(),
        })
        .await
        .map_err(|e| e.to_string())?;
    let upload = started.upload;
    let streamed = match usize::try_from(started.piece) {
        Ok(piece @ 1..=FILE_PIECE) => stream(daemon, &upload, &mut file, size, piece).await,
        _ => Err(format!(
            "chatd asked for pieces of {} bytes (at most {FILE_PIECE})",
            started.piece
        )),
    };
    let done = match streamed {
        Ok(()) => daemon
            .file_upload_finish(upload.clone())
            .await
            .map(drop)
            .map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    if done.is_err() {
        // What counts is why it failed; chatd also drops an upload left
        // without a piece for 5 minutes.
        if let Err(e) = daemon.file_upload_cancel(upload).await {
            tracing::debug!("file.upload_cancel: {e}");
        }
    }
    done
}

/// Opens the file at `typed` (a leading `~/` is the home directory) to
/// read, with its size. Only a regular file: checked on the file opened,
/// so nothing can be swapped in between; opened non-blocking, so that a
/// named pipe cannot hold the task up before it is refused.
async fn open(typed: &str) -> Result<(File, u64), String> {
    let path = expand_home(typed)?;
    let file = tokio::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&path)
        .await
        .map_err(|e| match e.kind() {
            ErrorKind::NotFound => format!("no such file: {typed}"),
            _ => format!("cannot read {typed}: {e}"),
        })?;
    let meta = file
        .metadata()
        .await
        .map_err(|e| format!("cannot read {typed}: {e}"))?;
    if meta.is_dir() {
        return Err(format!("{typed} is a directory; only files can be sent"));
    }
    if !meta.is_file() {
        return Err(format!("{typed} is not a regular file"));
    }
    Ok((file, meta.len()))
}

/// Sends the first `size` bytes of `file` in pieces of `piece` bytes, the
/// last one shorter (an empty file is one empty piece), reading each just
/// before it goes.
async fn stream<D: Daemon>(
    daemon: &mut D,
    upload: &str,
    file: &mut File,
    size: u64,
    piece: usize,
) -> Result<(), String> {
    let mut buf = vec![0u8; usize::try_from(size).map_or(piece, |s| s.min(piece))];
    let mut sent = 0u64;
    loop {
        let n = usize::try_from(size - sent).map_or(piece, |left| left.min(piece));
        file.read_exact(&mut buf[..n])
            .await
            .map_err(|e| match e.kind() {
                ErrorKind::UnexpectedEof => "the file got shorter while it was sent".to_owned(),
                _ => format!("cannot read it: {e}"),
            })?;
        let answer = daemon
            .file_upload_chunk(upload.to_owned(), base64::encode(&buf[..n]))
            .await
            .map_err(|e| e.to_string())?;
        sent += n as u64;
        if answer.received != sent {
            return Err(format!(
                "chatd has {} bytes of the {sent} sent",
                answer.received
            ));
        }
        if sent == size {
            return Ok(());
        }
    }
}
