//! The one thin async IPC client that chat-ctl, chat-tui and the tests share
//! (docs/IPC.md §10): connect, `hello`, typed calls, and `subscribe`.
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

use std::path::Path;

use crate::methods::{Call, HelloParams, HelloResult, PROTOCOL_VERSION, SubscribeParams};

mod connection;
mod error;
mod events;
mod peer;
#[cfg(all(test, unix))]
mod tests;

pub use crate::paths::{SOCKET_ENV, default_socket_path};
use connection::Connection;
pub use error::ClientError;
pub use events::EventStream;
pub use peer::check_peer;

/// The `client` name sent in `hello` by [`Client::connect`].
pub const DEFAULT_CLIENT_NAME: &str = concat!("ipc-schema/", env!("CARGO_PKG_VERSION"));

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
    /// Fails with [`ClientError::NotRunning`] when no daemon listens there,
    /// with [`ClientError::OtherUser`] (before anything is sent) when the
    /// process listening there runs as another user, and with
    /// [`ClientError::Rpc`] (`protocol_mismatch`) when chatd speaks another protocol.
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
        Ok(EventStream::new(self.conn, result.last_seq))
    }
}
