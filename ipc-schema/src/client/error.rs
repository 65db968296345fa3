//! Why talking to chatd failed.

use std::io;
use std::path::PathBuf;

use serde_json::Value;

use crate::jsonrpc::{CallError, ErrorObject, code};

/// Why talking to chatd failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing listens on the socket: it does not exist, or the connection was refused.
    #[error("chatd is not running ({reason} at {})", path.display())]
    NotRunning {
        /// The socket that was tried.
        path: PathBuf,
        /// `no socket` or `connection refused`.
        reason: &'static str,
        /// The error from the connect call.
        #[source]
        source: io::Error,
    },
    /// The socket exists but could not be connected to for another reason (e.g. permissions).
    #[error("cannot connect to chatd at {}: {source}", path.display())]
    Connect {
        /// The socket that was tried.
        path: PathBuf,
        /// The error from the connect call.
        #[source]
        source: io::Error,
    },
    /// The process listening on the socket runs as another user: it may be
    /// a socket another local user planted, so nothing was sent to it.
    #[error(
        "refusing the socket at {}: the process listening there runs as uid {theirs}, \
         not as this user (uid {ours}); another local user may have put it there",
        path.display()
    )]
    OtherUser {
        /// The socket that was tried.
        path: PathBuf,
        /// This process's effective uid.
        ours: u32,
        /// The listening process's effective uid.
        theirs: u32,
    },
    /// chatd closed the connection before answering.
    #[error("chatd closed the connection")]
    Disconnected,
    /// chatd answered with a JSON-RPC error.
    #[error("{message}")]
    Rpc {
        /// One of the [`code`] constants.
        code: i64,
        /// chatd's sentence.
        message: String,
        /// Structured detail, e.g. the relay's status and error body for `relay_refused`.
        data: Option<Value>,
    },
    /// chatd broke the protocol: a bad frame, or an answer that does not fit the call.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// Reading or writing the socket failed.
    #[error("I/O error talking to chatd: {0}")]
    Io(#[source] io::Error),
}

impl ClientError {
    /// The JSON-RPC error code, for [`ClientError::Rpc`].
    pub fn rpc_code(&self) -> Option<i64> {
        match self {
            ClientError::Rpc { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The snake_case name of the JSON-RPC error code, when it is one [`code`] defines.
    pub fn rpc_name(&self) -> Option<&'static str> {
        self.rpc_code().and_then(code::name)
    }

    pub(super) fn from_io(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => ClientError::Disconnected,
            _ => ClientError::Io(e),
        }
    }
}

impl From<ErrorObject> for ClientError {
    fn from(e: ErrorObject) -> Self {
        ClientError::Rpc {
            code: e.code,
            message: e.message,
            data: e.data,
        }
    }
}

impl From<CallError> for ClientError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Rpc(e) => e.into(),
            CallError::Decode(why) => ClientError::Protocol(why),
        }
    }
}
