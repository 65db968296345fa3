//! chatd behind a trait: the real one over `ipc_schema::client`, a fake for
//! tests, and the worker that runs effects and keeps reconnecting.

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ipc_schema::client::{Client, ClientError};
use ipc_schema::methods::{
    Contact, ContactListParams, ConversationFocusParams, ConversationListParams,
    ConversationMarkReadParams, ConversationView, EventEnvelope, MessageCursor, MessageListParams,
    MessageListResult, MessageSendParams, MessageSendResult, StatusParams, StatusResult,
};
use tokio::sync::mpsc;

use crate::app::action::{Action, Effect, PAGE_SIZE};

/// The calls chat-tui makes; one connection, one call at a time.
pub trait Daemon: Send + 'static {
    /// `status`.
    fn status(&mut self) -> impl Future<Output = Result<StatusResult, ClientError>> + Send;
    /// `conversation.list`.
    fn conversations(
        &mut self,
    ) -> impl Future<Output = Result<Vec<ConversationView>, ClientError>> + Send;
    /// `contact.list`.
    fn contacts(&mut self) -> impl Future<Output = Result<Vec<Contact>, ClientError>> + Send;
    /// `message.list {peer, before, limit}`.
    fn messages(
        &mut self,
        peer: String,
        before: Option<String>,
        limit: u32,
    ) -> impl Future<Output = Result<MessageListResult, ClientError>> + Send;
    /// `message.send`.
    fn send(
        &mut self,
        to: String,
        body: String,
    ) -> impl Future<Output = Result<MessageSendResult, ClientError>> + Send;
    /// `conversation.mark_read`.
    fn mark_read(&mut self, peer: String) -> impl Future<Output = Result<u64, ClientError>> + Send;
    /// `conversation.focus`; lasts as long as this connection.
    fn focus(
        &mut self,
        peer: Option<String>,
    ) -> impl Future<Output = Result<(), ClientError>> + Send;
    /// Events from now on; the channel closes when chatd goes away.
    fn subscribe(
        &mut self,
    ) -> impl Future<Output = Result<mpsc::Receiver<EventEnvelope>, ClientError>> + Send;
}

/// Makes fresh connections to chatd, for the first start and every reconnect.
pub trait Connector: Send + Sync + 'static {
    /// The connection type.
    type Daemon: Daemon;
    /// Connects and says hello.
    fn connect(&self) -> impl Future<Output = Result<Self::Daemon, ClientError>> + Send;
}

/// The real chatd at a socket path.
#[derive(Clone, Debug)]
pub struct IpcConnector {
    /// The socket.
    pub path: PathBuf,
}

/// The client name chat-tui sends in `hello`.
pub const CLIENT_NAME: &str = concat!("chat-tui/", env!("CARGO_PKG_VERSION"));

impl Connector for IpcConnector {
    type Daemon = IpcDaemon;
    async fn connect(&self) -> Result<IpcDaemon, ClientError> {
        let client = Client::connect_as(&self.path, CLIENT_NAME).await?;
        Ok(IpcDaemon {
            client,
            path: self.path.clone(),
        })
    }
}

/// A live connection to chatd.
#[derive(Debug)]
pub struct IpcDaemon {
    client: Client,
    path: PathBuf,
}

impl Daemon for IpcDaemon {
    async fn status(&mut self) -> Result<StatusResult, ClientError> {
        self.client.call(StatusParams {}).await
    }
    async fn conversations(&mut self) -> Result<Vec<ConversationView>, ClientError> {
        Ok(self
            .client
            .call(ConversationListParams {})
            .await?
            .conversations)
    }
    async fn contacts(&mut self) -> Result<Vec<Contact>, ClientError> {
        Ok(self.client.call(ContactListParams {}).await?.contacts)
    }
    async fn messages(
        &mut self,
        peer: String,
        before: Option<String>,
        limit: u32,
    ) -> Result<MessageListResult, ClientError> {
        self.client
            .call(MessageListParams {
                peer,
                before: before.map(MessageCursor::Id),
                limit: Some(limit),
            })
            .await
    }
    async fn send(&mut self, to: String, body: String) -> Result<MessageSendResult, ClientError> {
        self.client
            .call(MessageSendParams {
                to,
                body,
                reply_to: None,
            })
            .await
    }
    async fn mark_read(&mut self, peer: String) -> Result<u64, ClientError> {
        Ok(self
            .client
            .call(ConversationMarkReadParams { peer })
            .await?
            .marked)
    }
    async fn focus(&mut self, peer: Option<String>) -> Result<(), ClientError> {
        self.client.call(ConversationFocusParams { peer }).await?;
        Ok(())
    }
    async fn subscribe(&mut self) -> Result<mpsc::Receiver<EventEnvelope>, ClientError> {
        // Events need a connection of their own: a subscribed one takes no calls.
        let mut stream = Client::connect_as(&self.path, CLIENT_NAME)
            .await?
            .subscribe(None)
            .await?;
        let (tx, rx) = mpsc::channel(256);
        tokio::spawn(async move {
            while let Some(event) = stream.next().await {
                match event {
                    Ok(event) => {
                        if tx.send(event).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => tracing::warn!("unreadable event: {e}"),
                }
            }
        });
        Ok(rx)
    }
}

/// Whether an error means the connection is gone (rather than one call refused).
pub fn is_connection_error(e: &ClientError) -> bool {
    !matches!(e, ClientError::Rpc { .. })
}

/// Runs effects against chatd, forwards its events, and reconnects every
/// `retry` while it is away; everything comes back to the app as actions.
/// Ends when the effect channel closes.
pub async fn run<C: Connector>(
    connector: C,
    mut effects: mpsc::UnboundedReceiver<Effect>,
    actions: mpsc::UnboundedSender<Action>,
    retry: Duration,
) {
    loop {
        let connected = async {
            let mut daemon = connector.connect().await?;
            let events = daemon.subscribe().await?;
            Ok::<_, ClientError>((daemon, events))
        }
        .await;
        let (mut daemon, mut events) = match connected {
            Ok(pair) => pair,
            Err(e) => {
                tracing::info!("chatd unreachable: {e}");
                let _ = actions.send(Action::DaemonOffline(e.to_string()));
                let sleep = tokio::time::sleep(retry);
                tokio::pin!(sleep);
                loop {
                    tokio::select! {
                        () = &mut sleep => break,
                        effect = effects.recv() => match effect {
                            None => return,
                            // Nothing to run them against; `update` already kept drafts.
                            Some(effect) => tracing::debug!("dropped while offline: {effect:?}"),
                        },
                    }
                }
                continue;
            }
        };
        tracing::info!("connected to chatd");
        let _ = actions.send(Action::DaemonOnline);
        let reason = loop {
            tokio::select! {
                effect = effects.recv() => {
                    let Some(effect) = effect else { return };
                    match execute(&mut daemon, effect, &actions).await {
                        Ok(()) => {}
                        Err(e) if is_connection_error(&e) => break e.to_string(),
                        Err(e) => { let _ = actions.send(Action::CallFailed(e.to_string())); }
                    }
                }
                event = events.recv() => match event {
                    Some(event) => { let _ = actions.send(Action::Event(event)); }
                    None => break "chatd closed the connection".to_owned(),
                },
            }
        };
        tracing::info!("lost chatd: {reason}");
        let _ = actions.send(Action::DaemonOffline(reason));
        tokio::time::sleep(retry).await;
    }
}

/// Runs one effect; its answer goes to `actions`.
pub async fn execute<D: Daemon>(
    daemon: &mut D,
    effect: Effect,
    actions: &mpsc::UnboundedSender<Action>,
) -> Result<(), ClientError> {
    let action = match effect {
        Effect::LoadStatus => Action::Status(daemon.status().await?),
        Effect::LoadConversations => Action::Conversations(daemon.conversations().await?),
        Effect::LoadContacts => Action::Contacts(daemon.contacts().await?),
        Effect::LoadMessages { peer } => Action::Messages {
            page: daemon.messages(peer.clone(), None, PAGE_SIZE).await?,
            peer,
            older: false,
        },
        Effect::LoadOlder { peer, before } => Action::Messages {
            page: daemon
                .messages(peer.clone(), Some(before), PAGE_SIZE)
                .await?,
            peer,
            older: true,
        },
        Effect::Send { to, body } => match daemon.send(to.clone(), body).await {
            Ok(_) => return Ok(()),
            Err(e) if !is_connection_error(&e) => {
                Action::CallFailed(format!("not sent to {to}: {e}"))
            }
            Err(e) => return Err(e),
        },
        Effect::MarkRead { peer } => {
            daemon.mark_read(peer).await?;
            return Ok(());
        }
        Effect::Focus { peer } => {
            daemon.focus(peer).await?;
            return Ok(());
        }
        // The terminal owner handles this one; it never reaches the worker.
        Effect::OpenEditor(_) => return Ok(()),
    };
    let _ = actions.send(action);
    Ok(())
}

/// What the fake saw and what it answers with, shared with the test.
#[derive(Debug, Default)]
pub struct FakeState {
    /// Status answer.
    pub status: Option<StatusResult>,
    /// Conversation list answer.
    pub conversations: Vec<ConversationView>,
    /// Contact list answer.
    pub contacts: Vec<Contact>,
    /// Full histories by peer, oldest first; pages are cut from them.
    pub history: std::collections::HashMap<String, Vec<ipc_schema::methods::MessageView>>,
    /// Every call made, as `method arg…`, in order.
    pub calls: Vec<String>,
    /// Where subscribed events come from; set by `subscribe`.
    pub events: Option<mpsc::Sender<EventEnvelope>>,
    /// Whether connecting fails (chatd "down").
    pub down: bool,
}

/// An in-memory chatd for tests.
#[derive(Clone, Debug, Default)]
pub struct FakeDaemon(pub Arc<Mutex<FakeState>>);

impl FakeDaemon {
    fn with<T>(&self, f: impl FnOnce(&mut FakeState) -> T) -> T {
        f(&mut self.0.lock().expect("fake poisoned"))
    }

    fn check(&self) -> Result<(), ClientError> {
        if self.with(|s| s.down) {
            Err(ClientError::Disconnected)
        } else {
            Ok(())
        }
    }
}

impl Connector for FakeDaemon {
    type Daemon = FakeDaemon;
    async fn connect(&self) -> Result<FakeDaemon, ClientError> {
        self.check()?;
        Ok(self.clone())
    }
}

impl Daemon for FakeDaemon {
    async fn status(&mut self) -> Result<StatusResult, ClientError> {
        self.check()?;
        self.with(|s| {
            s.calls.push("status".into());
            s.status.clone().ok_or(ClientError::Disconnected)
        })
    }
    async fn conversations(&mut self) -> Result<Vec<ConversationView>, ClientError> {
        self.check()?;
        Ok(self.with(|s| {
            s.calls.push("conversation.list".into());
            s.conversations.clone()
        }))
    }
    async fn contacts(&mut self) -> Result<Vec<Contact>, ClientError> {
        self.check()?;
        Ok(self.with(|s| {
            s.calls.push("contact.list".into());
            s.contacts.clone()
        }))
    }
    async fn messages(
        &mut self,
        peer: String,
        before: Option<String>,
        limit: u32,
    ) -> Result<MessageListResult, ClientError> {
        self.check()?;
        Ok(self.with(|s| {
            s.calls.push(format!(
                "message.list {peer} {}",
                before.as_deref().unwrap_or("-")
            ));
            let all = s.history.get(&peer).cloned().unwrap_or_default();
            let end = match &before {
                Some(id) => all.iter().position(|m| &m.id == id).unwrap_or(0),
                None => all.len(),
            };
            let start = end.saturating_sub(limit as usize);
            MessageListResult {
                messages: all[start..end].to_vec(),
                has_more: start > 0,
            }
        }))
    }
    async fn send(&mut self, to: String, body: String) -> Result<MessageSendResult, ClientError> {
        self.check()?;
        self.with(|s| s.calls.push(format!("message.send {to} {body}")));
        Ok(MessageSendResult {
            id: "0".repeat(32),
            ts: 0,
        })
    }
    async fn mark_read(&mut self, peer: String) -> Result<u64, ClientError> {
        self.check()?;
        self.with(|s| s.calls.push(format!("conversation.mark_read {peer}")));
        Ok(0)
    }
    async fn focus(&mut self, peer: Option<String>) -> Result<(), ClientError> {
        self.check()?;
        self.with(|s| {
            s.calls.push(format!(
                "conversation.focus {}",
                peer.as_deref().unwrap_or("-")
            ))
        });
        Ok(())
    }
    async fn subscribe(&mut self) -> Result<mpsc::Receiver<EventEnvelope>, ClientError> {
        self.check()?;
        let (tx, rx) = mpsc::channel(64);
        self.with(|s| {
            s.calls.push("subscribe".into());
            s.events = Some(tx);
        });
        Ok(rx)
    }
}
