//! The fake chatd's files: `file.download` fetches one (the event of it
//! coming down follows), `file.read` reads it back a piece at a time.

use ipc_schema::client::ClientError;
use ipc_schema::jsonrpc::code;
use ipc_schema::methods::{
    Event, EventEnvelope, FileDownloadResult, FileReadResult, FileState, MessageChangeKind,
    MessageChangedEvent,
};

use super::{FakeState, rpc};

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

    /// A piece of message `id`'s kept file from `offset`.
    pub(super) fn read(
        &mut self,
        peer: Option<&str>,
        id: &str,
        offset: u64,
    ) -> Result<FileReadResult, ClientError> {
        let piece = match self.piece {
            0 => ipc_schema::methods::FILE_PIECE,
            n => n,
        };
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
