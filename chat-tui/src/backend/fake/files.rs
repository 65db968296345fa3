//! The fake chatd's files: `file.download` fetches one (the event of it
//! coming down follows), `file.read` reads it back a piece at a time, and
//! `file.upload_*` takes one to send, a piece at a time, checked as chatd
//! checks them.

use ipc_schema::client::ClientError;
use ipc_schema::jsonrpc::code;
use ipc_schema::methods::{
    Event, EventEnvelope, FileDownloadResult, FileReadResult, FileState, FileUploadChunkResult,
    FileUploadFinishResult, FileUploadStartParams, FileUploadStartResult, MessageChangeKind,
    MessageChangedEvent,
};

use super::{FakeState, rpc};

/// An upload being streamed to the fake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeUpload {
    /// What `file.upload_start` asked for.
    pub params: FileUploadStartParams,
    /// The bytes so far.
    pub bytes: Vec<u8>,
    /// The pieces so far.
    pub pieces: usize,
}

/// A file `file.upload_finish` committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentFile {
    /// What `file.upload_start` asked for.
    pub params: FileUploadStartParams,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

impl FakeState {
    /// Fetches message `id`'s file, as chatd's downloads do: the event of
    /// it coming down (or failing) follows the answer.
    pub(super) fn fetch(
        &mut self,
        peer: Option<&str>,
        id: &str,
    ) -> Result<FileDownloadResult, ClientError> {
        let bytes = self.files.get(id).cloned();
        let (peer, m) = self.message(id, false, peer)?;
        let from = m.from.clone();
        let Some(file) = m.file.as_mut() else {
            return Err(rpc(code::UNKNOWN_MESSAGE, "not a file message"));
        };
        let answer = FileDownloadResult {
            id: id.to_owned(),
            from: from.clone(),
            name: file.name.clone(),
            size: file.size,
            state: file.state,
        };
        if file.state == FileState::Ready {
            return Ok(answer);
        }
        match bytes {
            Some(_) => {
                file.state = FileState::Ready;
                file.done = file.size;
                file.failure = None;
            }
            None => {
                file.state = FileState::Failed;
                file.failure = Some("blob_gone".into());
            }
        }
        let message = Box::new(m.clone());
        self.last_seq += 1;
        let event = EventEnvelope {
            seq: self.last_seq,
            ts: 0,
            event: Event::MessageChanged(MessageChangedEvent {
                change: MessageChangeKind::File,
                by: from,
                peer,
                message,
            }),
        };
        if let Some(events) = &self.events {
            let _ = events.try_send(event.clone());
        }
        self.file_events.push(event);
        Ok(FileDownloadResult {
            state: FileState::Downloading,
            ..answer
        })
    }

    /// Bytes per piece, `file.read`'s and `file.upload_chunk`'s.
    fn piece_len(&self) -> usize {
        match self.piece {
            0 => ipc_schema::methods::FILE_PIECE,
            n => n,
        }
    }

    /// `file.upload_start`: refused when the test says so, else an upload.
    pub(super) fn upload_start(
        &mut self,
        params: FileUploadStartParams,
    ) -> Result<FileUploadStartResult, ClientError> {
        let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        self.calls.push(format!(
            "file.upload_start {} {} {} {} {}",
            params.to,
            params.name,
            params.size,
            dash(&params.media_type),
            dash(&params.reply_to)
        ));
        if let Some(why) = &self.upload_refusal {
            return Err(rpc(code::INVALID_PARAMS, why));
        }
        let upload = format!("up{}", self.calls.len());
        let fresh = FakeUpload {
            params,
            bytes: Vec::new(),
            pieces: 0,
        };
        self.uploads.insert(upload.clone(), fresh);
        Ok(FileUploadStartResult {
            upload,
            piece: self.piece_len() as u64,
        })
    }

    /// `file.upload_chunk`: exactly the next piece (an empty file's one
    /// piece is empty), as chatd takes it.
    pub(super) fn upload_chunk(
        &mut self,
        upload: &str,
        data: &str,
    ) -> Result<FileUploadChunkResult, ClientError> {
        let piece = self.piece_len();
        let bytes = crate::backend::base64::decode(data)
            .map_err(|_| rpc(code::INVALID_PARAMS, "`data` is not standard base64"))?;
        self.calls
            .push(format!("file.upload_chunk {upload} {}", bytes.len()));
        let u = self
            .uploads
            .get_mut(upload)
            .ok_or_else(|| rpc(code::UNKNOWN_MESSAGE, &format!("no upload {upload}")))?;
        let size = u.params.size as usize;
        let left = size - u.bytes.len();
        let last_done = left == 0 && (size > 0 || u.pieces > 0);
        if bytes.len() != left.min(piece) || last_done {
            return Err(rpc(
                code::INVALID_PARAMS,
                &format!("upload {upload} takes {} bytes next", left.min(piece)),
            ));
        }
        u.pieces += 1;
        if self.chunk_fails_at == Some(u.pieces) {
            return Err(rpc(code::INTERNAL_ERROR, "spool: no space left on device"));
        }
        u.bytes.extend_from_slice(&bytes);
        Ok(FileUploadChunkResult {
            received: u.bytes.len() as u64,
        })
    }

    /// `file.upload_finish`: the file is committed when it came whole.
    pub(super) fn upload_finish(
        &mut self,
        upload: &str,
    ) -> Result<FileUploadFinishResult, ClientError> {
        self.calls.push(format!("file.upload_finish {upload}"));
        let u = self
            .uploads
            .remove(upload)
            .ok_or_else(|| rpc(code::UNKNOWN_MESSAGE, &format!("no upload {upload}")))?;
        if u.bytes.len() as u64 != u.params.size || u.pieces == 0 {
            return Err(rpc(
                code::INVALID_PARAMS,
                &format!("upload {upload} got {} bytes", u.bytes.len()),
            ));
        }
        self.sent_files.push(SentFile {
            params: u.params,
            bytes: u.bytes,
        });
        Ok(FileUploadFinishResult {
            id: format!("{:032x}", 0xf11e_0000 + self.sent_files.len()),
            ts: 0,
        })
    }

    /// A piece of message `id`'s kept file from `offset`.
    pub(super) fn read(
        &mut self,
        peer: Option<&str>,
        id: &str,
        offset: u64,
    ) -> Result<FileReadResult, ClientError> {
        let piece = self.piece_len();
        let bytes = self.files.get(id).cloned().unwrap_or_default();
        let (_, m) = self.message(id, false, peer)?;
        if m.file.as_ref().map(|f| f.state) != Some(FileState::Ready) {
            return Err(rpc(code::INVALID_PARAMS, "the file is not here yet"));
        }
        if self.read_fails_at == Some(offset) {
            return Err(rpc(code::INTERNAL_ERROR, "kept file: input/output error"));
        }
        let start = (offset as usize).min(bytes.len());
        let end = (start + piece).min(bytes.len());
        Ok(FileReadResult {
            data: crate::backend::base64::encode(&bytes[start..end]),
            size: bytes.len() as u64,
        })
    }
}
