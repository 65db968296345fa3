//! The one thin async IPC client that chat-ctl, chat-tui and the tests share
//! (DESIGN §1, §6): connect, `hello`, typed calls, and `subscribe`.
//!
//! No business logic: a [`Client`] sends one request at a time and waits for
//! its answer; [`Client::subscribe`] hands the connection over to an
//! [`EventStream`]. Open a second connection to call methods while listening.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ipc_schema::client::ClientError> {
//! use ipc_schema::client::{Client, default_socket_path};
//! use ipc_schema::methods::MessageSendParams;
//!
//! let mut client = Client::connect_as(default_socket_path(), "my-script/1.0").await?;
//! let sent = client
//!     .call(MessageSendParams { to: "bob".into(), body: "hi".into(), reply_to: None })
//!     .await?;
//! println!("queued {}", sent.id);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

use std::io;
use std::path::{Path, PathBuf};

use interprocess::local_socket::tokio::Stream;
use interprocess::local_socket::tokio::prelude::*;
use interprocess::local_socket::{GenericFilePath, ToFsName};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::frame::{FrameDecoder, encode_frame};
use crate::jsonrpc::{CallError, ErrorObject, Id, Request, Response, code};
use crate::methods::{
    Call, EventEnvelope, HelloParams, HelloResult, PROTOCOL_VERSION, ServerMessage, SubscribeParams,
};

pub use crate::paths::{SOCKET_ENV, default_socket_path};

/// The `client` name sent in `hello` by [`Client::connect`].
pub const DEFAULT_CLIENT_NAME: &str = concat!("ipc-schema/", env!("CARGO_PKG_VERSION"));

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 64 * 1024;

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

    fn from_io(e: io::Error) -> Self {
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

/// One connection's bytes: writes frames, reads and parses what chatd sends.
#[derive(Debug)]
struct Connection {
    stream: Stream,
    decoder: FrameDecoder,
    /// Reused read buffer.
    chunk: Box<[u8]>,
    path: PathBuf,
    next_id: i64,
}

impl Connection {
    async fn open(path: &Path) -> Result<Connection, ClientError> {
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
    async fn next_frame(&mut self) -> Result<Option<Vec<u8>>, ClientError> {
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

    async fn call<P: Call>(&mut self, params: P) -> Result<P::Result, ClientError> {
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
fn parse_message(frame: &[u8]) -> Result<ServerMessage, ClientError> {
    ServerMessage::from_slice(frame)
        .map_err(|e| ClientError::Protocol(format!("chatd sent a frame that is not JSON-RPC: {e}")))
}

/// A connection to chatd on which `hello` has succeeded.
///
/// Calls go one at a time (`&mut self`). A call future that is dropped before
/// it finishes leaves the connection in an unknown state: drop the client too.
#[derive(Debug)]
pub struct Client {
    conn: Connection,
    hello: HelloResult,
}

impl Client {
    /// Connects to the socket at `path` and says `hello` as [`DEFAULT_CLIENT_NAME`].
    pub async fn connect(path: impl AsRef<Path>) -> Result<Client, ClientError> {
        Client::connect_as(path, DEFAULT_CLIENT_NAME).await
    }

    /// Connects to the socket at `path` and says `hello` with `client` as the
    /// frontend's name (e.g. `chat-ctl/0.1.0`, for chatd's logs).
    ///
    /// Fails with [`ClientError::NotRunning`] when no daemon listens there, and
    /// with [`ClientError::Rpc`] (`protocol_mismatch`) when chatd speaks another protocol.
    pub async fn connect_as(path: impl AsRef<Path>, client: &str) -> Result<Client, ClientError> {
        let mut conn = Connection::open(path.as_ref()).await?;
        let hello = conn
            .call(HelloParams {
                protocol: PROTOCOL_VERSION,
                client: client.to_owned(),
            })
            .await?;
        if hello.protocol != PROTOCOL_VERSION {
            return Err(ClientError::Protocol(format!(
                "chatd answered hello with protocol {}, this client speaks {PROTOCOL_VERSION}",
                hello.protocol
            )));
        }
        Ok(Client { conn, hello })
    }

    /// What chatd said in answer to `hello`: its protocol, version and user.
    pub fn hello(&self) -> &HelloResult {
        &self.hello
    }

    /// The socket this client is connected to.
    pub fn path(&self) -> &Path {
        &self.conn.path
    }

    /// Calls the method whose params are `params` and decodes its typed result.
    pub async fn call<P: Call>(&mut self, params: P) -> Result<P::Result, ClientError> {
        self.conn.call(params).await
    }

    /// Subscribes this connection to chatd's events and turns it into an [`EventStream`].
    ///
    /// With `after: Some(n)`, the stream first replays every stored event with
    /// `seq > n`, then goes on with live ones; with `None`, only events newer
    /// than the subscription come. [`EventStream::last_seq`] tells where the
    /// log stood at the time of subscribing.
    pub async fn subscribe(mut self, after: Option<u64>) -> Result<EventStream, ClientError> {
        let result = self.conn.call(SubscribeParams { after }).await?;
        if !result.subscribed {
            return Err(ClientError::Protocol(
                "chatd answered subscribe with `subscribed: false`".to_owned(),
            ));
        }
        Ok(EventStream {
            conn: self.conn,
            last_seq: result.last_seq,
            done: false,
        })
    }
}

/// chatd's events on a subscribed connection, in `seq` order.
#[derive(Debug)]
pub struct EventStream {
    conn: Connection,
    last_seq: u64,
    done: bool,
}

impl EventStream {
    /// The newest event's `seq` when the subscription started (0 when there was none).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The socket this stream reads from.
    pub fn path(&self) -> &Path {
        &self.conn.path
    }

    /// The next event; `None` once chatd closed the connection or after an
    /// error that ends the stream (a broken frame, an I/O error, a response
    /// where only events belong).
    ///
    /// An event this version cannot read is reported as
    /// [`ClientError::Protocol`] and the stream goes on; notifications with
    /// unknown names (from a newer chatd) are skipped. Cancel-safe only
    /// between frames: use it in `select!` or with a timeout only if the
    /// stream is dropped afterwards.
    pub async fn next(&mut self) -> Option<Result<EventEnvelope, ClientError>> {
        if self.done {
            return None;
        }
        loop {
            let frame = match self.conn.next_frame().await {
                Ok(Some(frame)) => frame,
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            // One unreadable frame is reported; the framing itself is intact, so go on after it.
            let message = match parse_message(&frame) {
                Ok(message) => message,
                Err(e) => return Some(Err(e)),
            };
            match message {
                ServerMessage::Event(event) => return Some(Ok(event)),
                ServerMessage::Unknown(_) => {}
                ServerMessage::Response(response) => {
                    self.done = true;
                    return Some(Err(match response.outcome {
                        Err(e) => e.into(),
                        Ok(_) => ClientError::Protocol(
                            "chatd sent a response on a subscribed connection".to_owned(),
                        ),
                    }));
                }
            }
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::methods::{Event, MessageSendParams, MessageState, MessageStateEvent, StatusParams};
    use serde_json::json;
    use tokio::io::{AsyncBufReadExt, BufReader};
    use tokio::net::{UnixListener, UnixStream};

    /// What the fake daemon answers to one request: the frames to write back;
    /// a JSON `null` among them makes it hang up instead.
    type Script = fn(&Value) -> Vec<Value>;

    /// A fake chatd on a temp socket that answers each request with `script`.
    async fn fake_daemon(script: Script) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chatd.sock");
        let listener = UnixListener::bind(&path).unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, script));
            }
        });
        (dir, path)
    }

    async fn serve(stream: UnixStream, script: Script) {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let request: Value = serde_json::from_str(&line).unwrap();
            for frame in script(&request) {
                if frame.is_null() {
                    return;
                }
                let mut bytes = serde_json::to_vec(&frame).unwrap();
                bytes.push(b'\n');
                if write.write_all(&bytes).await.is_err() {
                    return;
                }
            }
        }
    }

    fn ok(request: &Value, result: Value) -> Value {
        json!({"jsonrpc": "2.0", "id": request["id"], "result": result})
    }

    fn state_event(seq: u64, state: &str) -> Value {
        json!({"jsonrpc": "2.0", "method": "message.state", "params": {
            "seq": seq, "ts": 1764000000000u64 + seq, "id": "ab", "peer": "bob",
            "state": state, "failure": null}})
    }

    /// A well-behaved daemon: hello, status, send to bob only, subscribe with two events.
    fn good(request: &Value) -> Vec<Value> {
        let params = &request["params"];
        match request["method"].as_str().unwrap() {
            "hello" => {
                assert_eq!(params["protocol"], json!(PROTOCOL_VERSION));
                assert_eq!(params["client"], json!("test/1"));
                vec![ok(
                    request,
                    json!({"protocol": 1, "version": "9.9.9", "user": "alice"}),
                )]
            }
            "status" => vec![
                // A notification the client must skip while waiting for its answer.
                json!({"jsonrpc": "2.0", "method": "typing.started", "params": {}}),
                ok(
                    request,
                    json!({"version": "9.9.9", "user": "alice", "fingerprint": null,
                    "relay_url": null, "connection": "logged_out", "unread": 0,
                    "outbox_pending": 0, "dropped": {"malformed": 0, "unknown_sender": 0,
                    "bad_signature": 0, "undecryptable": 0, "replay": 0}}),
                ),
            ],
            "message.send" if params["to"] == "bob" => {
                vec![ok(request, json!({"id": "ab", "ts": 5}))]
            }
            "message.send" => vec![json!({"jsonrpc": "2.0", "id": request["id"], "error": {
                "code": code::UNKNOWN_CONTACT, "message": "carol is not a contact",
                "data": {"user": "carol"}}})],
            "subscribe" => {
                assert_eq!(params["after"], json!(3));
                // The result and the first event in one write, the second after it.
                vec![
                    ok(request, json!({"subscribed": true, "last_seq": 5})),
                    state_event(4, "sent"),
                    json!({"jsonrpc": "2.0", "method": "future.event", "params": {"seq": 9}}),
                    state_event(5, "delivered"),
                ]
            }
            other => panic!("unexpected method {other}"),
        }
    }

    #[test]
    fn clients_and_streams_can_move_to_other_tasks() {
        fn send<T: Send + 'static>() {}
        send::<Client>();
        send::<EventStream>();
        send::<ClientError>();
    }

    #[tokio::test]
    async fn hello_comes_first_and_its_answer_is_kept() {
        let (_dir, path) = fake_daemon(good).await;
        let client = Client::connect_as(&path, "test/1").await.unwrap();
        assert_eq!(client.hello().version, "9.9.9");
        assert_eq!(client.hello().user.as_deref(), Some("alice"));
        assert_eq!(client.path(), path);
    }

    #[tokio::test]
    async fn calls_are_typed_and_skip_stray_notifications() {
        let (_dir, path) = fake_daemon(good).await;
        let mut client = Client::connect_as(&path, "test/1").await.unwrap();
        let status = client.call(StatusParams {}).await.unwrap();
        assert_eq!(status.user.as_deref(), Some("alice"));
        let sent = client
            .call(MessageSendParams {
                to: "bob".into(),
                body: "hi".into(),
                reply_to: None,
            })
            .await
            .unwrap();
        assert_eq!((sent.id.as_str(), sent.ts), ("ab", 5));
    }

    #[tokio::test]
    async fn rpc_errors_keep_code_message_and_data() {
        let (_dir, path) = fake_daemon(good).await;
        let mut client = Client::connect_as(&path, "test/1").await.unwrap();
        let err = client
            .call(MessageSendParams {
                to: "carol".into(),
                body: "hi".into(),
                reply_to: None,
            })
            .await
            .unwrap_err();
        let ClientError::Rpc {
            code: c,
            ref message,
            ref data,
        } = err
        else {
            panic!("expected an rpc error, got {err:?}");
        };
        assert_eq!(c, code::UNKNOWN_CONTACT);
        assert_eq!(message, "carol is not a contact");
        assert_eq!(data, &Some(json!({"user": "carol"})));
        assert_eq!(err.rpc_name(), Some("unknown_contact"));
        assert_eq!(err.to_string(), "carol is not a contact");
        // The connection is still usable after an error answer.
        assert!(client.call(StatusParams {}).await.is_ok());
    }

    #[tokio::test]
    async fn subscribe_sends_after_and_streams_events_in_order() {
        let (_dir, path) = fake_daemon(good).await;
        let client = Client::connect_as(&path, "test/1").await.unwrap();
        let mut events = client.subscribe(Some(3)).await.unwrap();
        assert_eq!(events.last_seq(), 5);
        let first = events.next().await.unwrap().unwrap();
        assert_eq!(first.seq, 4);
        let Event::MessageState(MessageStateEvent { state, .. }) = first.event else {
            panic!("expected message.state");
        };
        assert_eq!(state, MessageState::Sent);
        let second = events.next().await.unwrap().unwrap();
        assert_eq!(
            second.seq, 5,
            "the unknown notification in between is skipped"
        );
    }

    #[tokio::test]
    async fn a_bad_event_is_reported_and_the_stream_ends_when_chatd_hangs_up() {
        fn hang_up_after_subscribe(request: &Value) -> Vec<Value> {
            match request["method"].as_str().unwrap() {
                "hello" => vec![ok(
                    request,
                    json!({"protocol": 1, "version": "1", "user": null}),
                )],
                "subscribe" => vec![
                    ok(request, json!({"subscribed": true, "last_seq": 0})),
                    state_event(1, "queued"),
                    json!("not a notification"),
                    state_event(2, "sent"),
                    Value::Null,
                ],
                _ => vec![],
            }
        }
        let (_dir, path) = fake_daemon(hang_up_after_subscribe).await;
        let mut events = Client::connect(&path)
            .await
            .unwrap()
            .subscribe(None)
            .await
            .unwrap();
        assert_eq!(events.next().await.unwrap().unwrap().seq, 1);
        assert!(matches!(
            events.next().await,
            Some(Err(ClientError::Protocol(_)))
        ));
        assert_eq!(events.next().await.unwrap().unwrap().seq, 2);
        assert!(events.next().await.is_none());
        assert!(events.next().await.is_none());
    }

    #[tokio::test]
    async fn a_protocol_mismatch_is_an_rpc_error_from_connect() {
        fn refuse(request: &Value) -> Vec<Value> {
            vec![json!({"jsonrpc": "2.0", "id": request["id"], "error": {
                "code": code::PROTOCOL_MISMATCH,
                "message": "chatd speaks IPC protocol 2, the client asked for 1"}})]
        }
        let (_dir, path) = fake_daemon(refuse).await;
        let err = Client::connect(&path).await.unwrap_err();
        assert_eq!(err.rpc_code(), Some(code::PROTOCOL_MISMATCH));
    }

    #[tokio::test]
    async fn garbage_and_hang_ups_are_protocol_errors_or_disconnects() {
        fn garbage(_: &Value) -> Vec<Value> {
            vec![json!({"hello": "there"})]
        }
        let (_dir, path) = fake_daemon(garbage).await;
        let err = Client::connect(&path).await.unwrap_err();
        assert!(matches!(err, ClientError::Protocol(_)), "{err:?}");

        fn hang_up(_: &Value) -> Vec<Value> {
            vec![Value::Null]
        }
        let (_dir, path) = fake_daemon(hang_up).await;
        let err = Client::connect(&path).await.unwrap_err();
        assert!(matches!(err, ClientError::Disconnected), "{err:?}");
    }

    #[tokio::test]
    async fn no_daemon_is_not_running_with_the_path_in_the_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chatd.sock");
        let err = Client::connect(&path).await.unwrap_err();
        assert!(
            matches!(
                err,
                ClientError::NotRunning {
                    reason: "no socket",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains(&path.display().to_string()));

        // A socket file whose daemon is gone refuses connections.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let err = Client::connect(&path).await.unwrap_err();
        assert!(
            matches!(
                err,
                ClientError::NotRunning {
                    reason: "connection refused",
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "chatd is not running (connection refused at {})",
                path.display()
            )
        );
    }
}
