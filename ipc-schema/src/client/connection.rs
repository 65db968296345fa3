//! One connection's bytes: framing, request ids, and waiting for the answer.

use std::io;
use std::path::{Path, PathBuf};

use interprocess::local_socket::tokio::Stream;
use interprocess::local_socket::tokio::prelude::*;
use interprocess::local_socket::{GenericFilePath, ToFsName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::ClientError;
use crate::frame::{FrameDecoder, encode_frame};
use crate::jsonrpc::{CallError, Id, Request, Response};
use crate::methods::{Call, ServerMessage};

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 64 * 1024;

/// One connection's bytes: writes frames, reads and parses what chatd sends.
#[derive(Debug)]
pub(super) struct Connection {
    stream: Stream,
    decoder: FrameDecoder,
    /// Reused read buffer.
    chunk: Box<[u8]>,
    pub(super) path: PathBuf,
    next_id: i64,
}

impl Connection {
    pub(super) async fn open(path: &Path) -> Result<Connection, ClientError> {
        let name = path
            .to_fs_name::<GenericFilePath>()
            .map_err(|source| ClientError::Connect {
                path: path.to_owned(),
                source,
            })?;
        let stream = Stream::connect(name).await.map_err(|source| {
            let reason = match source.kind() {
                io::ErrorKind::NotFound => Some("no socket"),
                io::ErrorKind::ConnectionRefused => Some("connection refused"),
                _ => None,
            };
            match reason {
                Some(reason) => ClientError::NotRunning {
                    path: path.to_owned(),
                    reason,
                    source,
                },
                None => ClientError::Connect {
                    path: path.to_owned(),
                    source,
                },
            }
        })?;
        // Before the first byte: see peer.rs for who could be listening instead.
        super::peer::check_stream(&stream, path)?;
        Ok(Connection {
            stream,
            decoder: FrameDecoder::new(),
            chunk: vec![0u8; READ_CHUNK].into_boxed_slice(),
            path: path.to_owned(),
            next_id: 1,
        })
    }

    /// Sends `params` as a request with a fresh id; returns that id.
    async fn send<P: Call>(&mut self, params: P) -> Result<Id, ClientError> {
        let id = Id::Number(self.next_id);
        self.next_id += 1;
        let frame = encode_frame(&Request::new(id.clone(), params))
            .map_err(|e| ClientError::Protocol(format!("cannot send `{}`: {e}", P::METHOD)))?;
        self.stream
            .write_all(&frame)
            .await
            .map_err(ClientError::from_io)?;
        Ok(id)
    }

    /// The next frame from chatd; `None` when it closed the connection cleanly.
    /// An error here means the byte stream is unusable.
    pub(super) async fn next_frame(&mut self) -> Result<Option<Vec<u8>>, ClientError> {
        loop {
            match self.decoder.next_frame() {
                Ok(Some(frame)) => return Ok(Some(frame)),
                Ok(None) => {}
                Err(e) => return Err(ClientError::Protocol(e.to_string())),
            }
            let n = self
                .stream
                .read(&mut self.chunk)
                .await
                .map_err(ClientError::from_io)?;
            if n == 0 {
                if self.decoder.buffered() > 0 {
                    return Err(ClientError::Protocol(
                        "chatd closed the connection in the middle of a frame".to_owned(),
                    ));
                }
                return Ok(None);
            }
            self.decoder
                .push(&self.chunk[..n])
                .map_err(|e| ClientError::Protocol(e.to_string()))?;
        }
    }

    /// The next message from chatd; `None` when it closed the connection cleanly.
    async fn next_message(&mut self) -> Result<Option<ServerMessage>, ClientError> {
        match self.next_frame().await? {
            Some(frame) => parse_message(&frame).map(Some),
            None => Ok(None),
        }
    }

    /// Waits for the response to request `id`, skipping notifications.
    async fn response_to(&mut self, id: &Id) -> Result<Response, ClientError> {
        loop {
            match self.next_message().await? {
                None => return Err(ClientError::Disconnected),
                Some(ServerMessage::Response(response)) => {
                    return match &response.id {
                        Some(got) if got == id => Ok(response),
                        // chatd could not read our request's id (a parse error): still our answer.
                        None => match response.outcome {
                            Err(e) => Err(e.into()),
                            Ok(_) => Err(ClientError::Protocol(
                                "chatd sent a result without an id".to_owned(),
                            )),
                        },
                        Some(got) => Err(ClientError::Protocol(format!(
                            "chatd answered request {got} while request {id} was pending"
                        ))),
                    };
                }
                // Events belong to subscribed connections, and unknown notifications
                // come from a newer chatd: neither answers this call.
                Some(ServerMessage::Event(_) | ServerMessage::Unknown(_)) => {}
            }
        }
    }

    pub(super) async fn call<P: Call>(&mut self, params: P) -> Result<P::Result, ClientError> {
        let id = self.send(params).await?;
        let response = self.response_to(&id).await?;
        response.decode::<P>().map_err(|e| match e {
            CallError::Decode(why) => {
                ClientError::Protocol(format!("unexpected result for `{}`: {why}", P::METHOD))
            }
            CallError::Rpc(e) => e.into(),
        })
    }
}

/// Parses one frame from chatd.
pub(super) fn parse_message(frame: &[u8]) -> Result<ServerMessage, ClientError> {
    ServerMessage::from_slice(frame)
        .map_err(|e| ClientError::Protocol(format!("chatd sent a frame that is not JSON-RPC: {e}")))
}
