//! chatd behind a trait ([`Daemon`], made by a [`Connector`]): the real one
//! over `ipc_schema::client` ([`ipc`]), an in-memory fake for tests, and the
//! [`worker`] that runs effects against it and keeps reconnecting.
//!
//! The backend reports what happened as typed [`Action`](crate::app::Action)s;
//! the words the user reads are the app's.

use std::future::Future;

use ipc_schema::Secret;
use ipc_schema::client::ClientError;
use ipc_schema::methods::{
    Contact, ContactAcceptKeyResult, ContactAddParams, ContactRefuseKeyResult, ConversationView,
    DeviceLinkResult, DeviceView, EventEnvelope, FileDownloadResult, FileReadResult,
    FileUploadChunkResult, FileUploadFinishResult, FileUploadStartParams, FileUploadStartResult,
    IdentityShowResult, MessageDeleteResult, MessageEditResult, MessageListResult,
    MessageReactResult, MessageSearchResult, MessageSendResult, StatusResult,
};
use tokio::sync::mpsc;

mod base64;
#[cfg(test)]
mod fake;
pub mod files;
mod ipc;
#[cfg(test)]
mod tests;
mod upload;
mod worker;

pub use ipc::{CLIENT_NAME, IpcConnector, IpcDaemon};
pub use worker::{execute, run};

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
    /// `group.info`.
    fn group_info(
        &mut self,
        group: String,
    ) -> impl Future<Output = Result<ipc_schema::methods::GroupInfoResult, ClientError>> + Send;
    /// `group.create`.
    fn group_create(
        &mut self,
        name: String,
        members: Vec<String>,
    ) -> impl Future<Output = Result<ipc_schema::methods::GroupView, ClientError>> + Send;
    /// `group.add` (when `add`) or `group.remove` of one user.
    fn group_change(
        &mut self,
        group: String,
        user: String,
        add: bool,
    ) -> impl Future<Output = Result<(), ClientError>> + Send;
    /// `group.list`.
    fn groups(
        &mut self,
    ) -> impl Future<Output = Result<Vec<ipc_schema::methods::GroupView>, ClientError>> + Send;
    /// `message.list {peer, before, limit}`.
    fn messages(
        &mut self,
        peer: String,
        before: Option<u64>,
        limit: u32,
    ) -> impl Future<Output = Result<MessageListResult, ClientError>> + Send;
    /// `message.send`, answering the message `reply_to` if any.
    fn send(
        &mut self,
        to: String,
        body: String,
        reply_to: Option<String>,
    ) -> impl Future<Output = Result<MessageSendResult, ClientError>> + Send;
    /// `message.edit` of one's own message.
    fn message_edit(
        &mut self,
        id: String,
        body: String,
    ) -> impl Future<Output = Result<MessageEditResult, ClientError>> + Send;
    /// `message.delete` of one's own message, for everyone.
    fn message_delete(
        &mut self,
        id: String,
    ) -> impl Future<Output = Result<MessageDeleteResult, ClientError>> + Send;
    /// `message.react`; `emoji: None` takes the reaction back.
    fn message_react(
        &mut self,
        id: String,
        peer: Option<String>,
        emoji: Option<String>,
    ) -> impl Future<Output = Result<MessageReactResult, ClientError>> + Send;
    /// `message.search {query, peer, before, limit}`.
    fn message_search(
        &mut self,
        query: String,
        peer: Option<String>,
        before: Option<u64>,
        limit: u32,
    ) -> impl Future<Output = Result<MessageSearchResult, ClientError>> + Send;
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
    /// `contact.accept_key`: pins the new key whose fingerprint the user compared.
    fn contact_accept_key(
        &mut self,
        user: String,
        fingerprint: String,
    ) -> impl Future<Output = Result<ContactAcceptKeyResult, ClientError>> + Send;
    /// `contact.refuse_key`: keeps the old key; what waited is deleted.
    fn contact_refuse_key(
        &mut self,
        user: String,
    ) -> impl Future<Output = Result<ContactRefuseKeyResult, ClientError>> + Send;
    /// `device.list`.
    fn devices(&mut self) -> impl Future<Output = Result<Vec<DeviceView>, ClientError>> + Send;
    /// `device.revoke`, with the relay password's change it requires.
    fn device_revoke(
        &mut self,
        id: String,
        password: Secret,
        new_password: Secret,
    ) -> impl Future<Output = Result<(), ClientError>> + Send;
    /// `device.rename`.
    fn device_rename(
        &mut self,
        id: String,
        name: String,
    ) -> impl Future<Output = Result<(), ClientError>> + Send;
    /// `device.link`.
    fn device_link(
        &mut self,
        with_history: bool,
    ) -> impl Future<Output = Result<DeviceLinkResult, ClientError>> + Send;
    /// `file.download`: fetch message `id`'s file now, whatever its size.
    fn file_download(
        &mut self,
        peer: Option<String>,
        id: String,
    ) -> impl Future<Output = Result<FileDownloadResult, ClientError>> + Send;
    /// `file.read`: the next piece (at most 1 MiB) of message `id`'s kept
    /// file from `offset`.
    fn file_read(
        &mut self,
        peer: Option<String>,
        id: String,
        offset: u64,
    ) -> impl Future<Output = Result<FileReadResult, ClientError>> + Send;
    /// `file.upload_start`: an upload of a file to send; chatd checks the
    /// conversation, the size and the reply, and says how big a piece is.
    fn file_upload_start(
        &mut self,
        params: FileUploadStartParams,
    ) -> impl Future<Output = Result<FileUploadStartResult, ClientError>> + Send;
    /// `file.upload_chunk`: the upload's next piece, standard base64.
    fn file_upload_chunk(
        &mut self,
        upload: String,
        data: String,
    ) -> impl Future<Output = Result<FileUploadChunkResult, ClientError>> + Send;
    /// `file.upload_finish`: every piece is in; the message is committed.
    fn file_upload_finish(
        &mut self,
        upload: String,
    ) -> impl Future<Output = Result<FileUploadFinishResult, ClientError>> + Send;
    /// `file.upload_cancel`: chatd drops the upload and what it got of it.
    fn file_upload_cancel(
        &mut self,
        upload: String,
    ) -> impl Future<Output = Result<(), ClientError>> + Send;
    /// `subscribe {after}` on a connection of its own: the stored events
    /// after `after` first, then live ones; only live ones without `after`.
    fn subscribe(
        &mut self,
        after: Option<u64>,
    ) -> impl Future<Output = Result<Subscription, ClientError>> + Send;
}

/// chatd's events, as [`Daemon::subscribe`] hands them over.
#[derive(Debug)]
pub struct Subscription {
    /// The newest event's `seq` when the subscription started.
    pub last_seq: u64,
    /// The events, in `seq` order; closes when chatd goes away.
    pub events: mpsc::Receiver<EventEnvelope>,
}

/// Makes fresh connections to chatd, for the first start and every reconnect.
pub trait Connector: Send + Sync + 'static {
    /// The connection type.
    type Daemon: Daemon;
    /// Connects and says hello.
    fn connect(&self) -> impl Future<Output = Result<Self::Daemon, ClientError>> + Send;
}

/// Whether an error means the connection is gone (rather than one call refused).
pub fn is_connection_error(e: &ClientError) -> bool {
    !matches!(e, ClientError::Rpc { .. })
}
