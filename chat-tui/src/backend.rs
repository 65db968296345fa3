//! chatd behind a trait: the real one over `ipc_schema::client`, a fake for
//! tests, and the worker that runs effects and keeps reconnecting.

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ipc_schema::client::{Client, ClientError};
use ipc_schema::methods::{
    Contact, ContactAddParams, ContactListParams, ContactRemoveParams, ContactVerifyParams,
    ConversationFocusParams, ConversationListParams, ConversationMarkReadParams, ConversationView,
    EventEnvelope, IdentityCardParams, IdentityShowParams, IdentityShowResult, MessageListParams,
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
        before: Option<u64>,
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
    /// `identity.show`.
    fn identity_show(
        &mut self,
    ) -> impl Future<Output = Result<IdentityShowResult, ClientError>> + Send;
    /// `identity.card`: the card JSON.
    fn identity_card(
        &mut self,
    ) -> impl Future<Output = Result<serde_json::Value, ClientError>> + Send;
    /// `contact.add`, either form.
    fn contact_add(
        &mut self,
        params: ContactAddParams,
    ) -> impl Future<Output = Result<Contact, ClientError>> + Send;
    /// `contact.remove`.
    fn contact_remove(
        &mut self,
        user: String,
    ) -> impl Future<Output = Result<(), ClientError>> + Send;
    /// `contact.verify`.
    fn contact_verify(
        &mut self,
        user: String,
        fingerprint: String,
    ) -> impl Future<Output = Result<Contact, ClientError>> + Send;
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
        before: Option<u64>,
        limit: u32,
    ) -> Result<MessageListResult, ClientError> {
        self.client
            .call(MessageListParams {
                peer,
                before,
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
    async fn identity_show(&mut self) -> Result<IdentityShowResult, ClientError> {
        self.client.call(IdentityShowParams {}).await
    }
    async fn identity_card(&mut self) -> Result<serde_json::Value, ClientError> {
        Ok(self.client.call(IdentityCardParams {}).await?.card)
    }
    async fn contact_add(&mut self, params: ContactAddParams) -> Result<Contact, ClientError> {
        Ok(self.client.call(params).await?.contact)
    }
    async fn contact_remove(&mut self, user: String) -> Result<(), ClientError> {
        self.client.call(ContactRemoveParams { user }).await?;
        Ok(())
    }
    async fn contact_verify(
        &mut self,
        user: String,
        fingerprint: String,
    ) -> Result<Contact, ClientError> {
        Ok(self
            .client
            .call(ContactVerifyParams { user, fingerprint })
            .await?
            .contact)
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
        Effect::AddContactCard { path } => match read_card(&path).await {
            Err(e) => Action::ContactResult(Err(e)),
            Ok(card) => contact_answer(
                daemon.contact_add(ContactAddParams::Card { card }).await,
                |c| format!("added {} — verify the fingerprint with them (v)", c.user),
            )?,
        },
        Effect::AddContactDirectory { user, fingerprint } => contact_answer(
            daemon
                .contact_add(ContactAddParams::Directory { user, fingerprint })
                .await,
            |c| format!("added {} from the directory; fingerprint matched", c.user),
        )?,
        Effect::VerifyContact { user, fingerprint } => contact_answer(
            daemon.contact_verify(user.clone(), fingerprint).await,
            |c| format!("{} is verified ✓", c.user),
        )?,
        Effect::LoadIdentity => Action::Identity {
            show: daemon.identity_show().await?,
            card: daemon.identity_card().await?.to_string(),
        },
        Effect::RemoveContact { user } => {
            contact_answer(daemon.contact_remove(user.clone()).await, |()| {
                format!("removed {user}; the history is kept")
            })?
        }
    };
    let _ = actions.send(action);
    Ok(())
}

/// A refused call becomes an error for the contacts view; a lost connection stays an error.
fn contact_answer<T>(
    result: Result<T, ClientError>,
    ok: impl FnOnce(T) -> String,
) -> Result<Action, ClientError> {
    match result {
        Ok(t) => Ok(Action::ContactResult(Ok(ok(t)))),
        Err(e) if !is_connection_error(&e) => Ok(Action::ContactResult(Err(match e.rpc_name() {
            Some("fingerprint_mismatch") => {
                format!("fingerprint mismatch — not verified, do not trust this key ({e})")
            }
            _ => e.to_string(),
        }))),
        Err(e) => Err(e),
    }
}

/// Reads a card file (`~/` is the home directory) as JSON.
pub async fn read_card(path: &str) -> Result<serde_json::Value, String> {
    let expanded = match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    };
    let text = tokio::fs::read_to_string(&expanded)
        .await
        .map_err(|e| format!("cannot read {path}: {e}"))?;
    serde_json::from_str(text.trim()).map_err(|e| format!("{path} is not a contact card: {e}"))
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
    /// `identity.show` answer.
    pub identity: Option<IdentityShowResult>,
    /// `identity.card` answer.
    pub card: Option<serde_json::Value>,
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
        before: Option<u64>,
        limit: u32,
    ) -> Result<MessageListResult, ClientError> {
        self.check()?;
        Ok(self.with(|s| {
            s.calls.push(format!(
                "message.list {peer} {}",
                before.map_or("-".to_owned(), |b| b.to_string())
            ));
            let all = s.history.get(&peer).cloned().unwrap_or_default();
            let end = match before {
                Some(seq) => all.iter().take_while(|m| m.seq < seq).count(),
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
    async fn identity_show(&mut self) -> Result<IdentityShowResult, ClientError> {
        self.check()?;
        self.with(|s| {
            s.calls.push("identity.show".into());
            s.identity.clone().ok_or(ClientError::Disconnected)
        })
    }
    async fn identity_card(&mut self) -> Result<serde_json::Value, ClientError> {
        self.check()?;
        self.with(|s| {
            s.calls.push("identity.card".into());
            s.card.clone().ok_or(ClientError::Disconnected)
        })
    }
    async fn contact_add(&mut self, params: ContactAddParams) -> Result<Contact, ClientError> {
        self.check()?;
        self.with(|s| {
            let (user, fingerprint) = match params {
                ContactAddParams::Card { card } => {
                    s.calls.push(format!("contact.add card {card}"));
                    let user = card["user"].as_str().unwrap_or("?").to_owned();
                    (user, "0000 ".repeat(16).trim_end().to_owned())
                }
                ContactAddParams::Directory { user, fingerprint } => {
                    s.calls.push(format!("contact.add {user} {fingerprint}"));
                    (user, fingerprint)
                }
            };
            let contact = Contact {
                user,
                fingerprint,
                verified: false,
                added_at: 0,
            };
            s.contacts.push(contact.clone());
            Ok(contact)
        })
    }
    async fn contact_remove(&mut self, user: String) -> Result<(), ClientError> {
        self.check()?;
        self.with(|s| {
            s.calls.push(format!("contact.remove {user}"));
            s.contacts.retain(|c| c.user != user);
        });
        Ok(())
    }
    async fn contact_verify(
        &mut self,
        user: String,
        fingerprint: String,
    ) -> Result<Contact, ClientError> {
        self.check()?;
        self.with(|s| {
            s.calls.push(format!("contact.verify {user} {fingerprint}"));
            let c = s
                .contacts
                .iter_mut()
                .find(|c| c.user == user)
                .ok_or_else(|| {
                    rpc(
                        ipc_schema::jsonrpc::code::UNKNOWN_CONTACT,
                        "unknown contact",
                    )
                })?;
            if c.fingerprint != fingerprint {
                return Err(rpc(
                    ipc_schema::jsonrpc::code::FINGERPRINT_MISMATCH,
                    "fingerprint does not match the pinned card",
                ));
            }
            c.verified = true;
            Ok(c.clone())
        })
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

fn rpc(code: i64, message: &str) -> ClientError {
    ClientError::Rpc {
        code,
        message: message.into(),
        data: None,
    }
}
