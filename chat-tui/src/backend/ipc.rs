//! The real chatd, over `ipc_schema::client`.

use std::path::PathBuf;

use ipc_schema::Secret;
use ipc_schema::client::{Client, ClientError};
use ipc_schema::methods::{
    Contact, ContactAcceptKeyParams, ContactAcceptKeyResult, ContactAddParams, ContactListParams,
    ContactRefuseKeyParams, ContactRefuseKeyResult, ContactRemoveParams, ContactVerifyParams,
    ConversationFocusParams, ConversationListParams, ConversationMarkReadParams, ConversationView,
    DeviceLinkParams, DeviceLinkResult, DeviceListParams, DeviceRenameParams, DeviceRevokeParams,
    DeviceView, FileDownloadParams, FileDownloadResult, FileReadParams, FileReadResult,
    FileUploadCancelParams, FileUploadChunkParams, FileUploadChunkResult, FileUploadFinishParams,
    FileUploadFinishResult, FileUploadStartParams, FileUploadStartResult, IdentityCardParams,
    IdentityShowParams, IdentityShowResult, MessageDeleteParams, MessageDeleteResult,
    MessageEditParams, MessageEditResult, MessageListParams, MessageListResult, MessageReactParams,
    MessageReactResult, MessageSearchParams, MessageSearchResult, MessageSendParams,
    MessageSendResult, StatusParams, StatusResult,
};
use tokio::sync::mpsc;

use super::{Connector, Daemon, Subscription};

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
    async fn group_info(
        &mut self,
        group: String,
    ) -> Result<ipc_schema::methods::GroupInfoResult, ClientError> {
        self.client
            .call(ipc_schema::methods::GroupInfoParams { group })
            .await
    }
    async fn group_create(
        &mut self,
        name: String,
        members: Vec<String>,
    ) -> Result<ipc_schema::methods::GroupView, ClientError> {
        Ok(self
            .client
            .call(ipc_schema::methods::GroupCreateParams { name, members })
            .await?
            .group)
    }
    async fn group_change(
        &mut self,
        group: String,
        user: String,
        add: bool,
    ) -> Result<(), ClientError> {
        let users = vec![user];
        if add {
            self.client
                .call(ipc_schema::methods::GroupAddParams { group, users })
                .await?;
        } else {
            self.client
                .call(ipc_schema::methods::GroupRemoveParams { group, users })
                .await?;
        }
        Ok(())
    }
    async fn groups(&mut self) -> Result<Vec<ipc_schema::methods::GroupView>, ClientError> {
        Ok(self
            .client
            .call(ipc_schema::methods::GroupListParams {})
            .await?
            .groups)
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
    async fn send(
        &mut self,
        to: String,
        body: String,
        reply_to: Option<String>,
    ) -> Result<MessageSendResult, ClientError> {
        self.client
            .call(MessageSendParams { to, body, reply_to })
            .await
    }
    async fn message_edit(
        &mut self,
        id: String,
        body: String,
    ) -> Result<MessageEditResult, ClientError> {
        self.client.call(MessageEditParams { id, body }).await
    }
    async fn message_delete(&mut self, id: String) -> Result<MessageDeleteResult, ClientError> {
        self.client.call(MessageDeleteParams { id }).await
    }
    async fn message_react(
        &mut self,
        id: String,
        peer: Option<String>,
        emoji: Option<String>,
    ) -> Result<MessageReactResult, ClientError> {
        self.client
            .call(MessageReactParams { id, peer, emoji })
            .await
    }
    async fn message_search(
        &mut self,
        query: String,
        peer: Option<String>,
        before: Option<u64>,
        limit: u32,
    ) -> Result<MessageSearchResult, ClientError> {
        self.client
            .call(MessageSearchParams {
                query,
                peer,
                before,
                limit: Some(limit),
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
    async fn contact_accept_key(
        &mut self,
        user: String,
        fingerprint: String,
    ) -> Result<ContactAcceptKeyResult, ClientError> {
        self.client
            .call(ContactAcceptKeyParams { user, fingerprint })
            .await
    }
    async fn contact_refuse_key(
        &mut self,
        user: String,
    ) -> Result<ContactRefuseKeyResult, ClientError> {
        self.client.call(ContactRefuseKeyParams { user }).await
    }
    async fn devices(&mut self) -> Result<Vec<DeviceView>, ClientError> {
        Ok(self.client.call(DeviceListParams {}).await?.devices)
    }
    async fn device_revoke(
        &mut self,
        id: String,
        password: Secret,
        new_password: Secret,
    ) -> Result<(), ClientError> {
        self.client
            .call(DeviceRevokeParams {
                id,
                password,
                new_password,
            })
            .await?;
        Ok(())
    }
    async fn device_rename(&mut self, id: String, name: String) -> Result<(), ClientError> {
        self.client.call(DeviceRenameParams { id, name }).await?;
        Ok(())
    }
    async fn device_link(&mut self, with_history: bool) -> Result<DeviceLinkResult, ClientError> {
        self.client.call(DeviceLinkParams { with_history }).await
    }
    async fn file_download(
        &mut self,
        peer: Option<String>,
        id: String,
    ) -> Result<FileDownloadResult, ClientError> {
        self.client.call(FileDownloadParams { peer, id }).await
    }
    async fn file_read(
        &mut self,
        peer: Option<String>,
        id: String,
        offset: u64,
    ) -> Result<FileReadResult, ClientError> {
        self.client
            .call(FileReadParams {
                peer,
                id,
                offset,
                length: None,
            })
            .await
    }
    async fn file_upload_start(
        &mut self,
        params: FileUploadStartParams,
    ) -> Result<FileUploadStartResult, ClientError> {
        self.client.call(params).await
    }
    async fn file_upload_chunk(
        &mut self,
        upload: String,
        data: String,
    ) -> Result<FileUploadChunkResult, ClientError> {
        self.client
            .call(FileUploadChunkParams { upload, data })
            .await
    }
    async fn file_upload_finish(
        &mut self,
        upload: String,
    ) -> Result<FileUploadFinishResult, ClientError> {
        self.client.call(FileUploadFinishParams { upload }).await
    }
    async fn file_upload_cancel(&mut self, upload: String) -> Result<(), ClientError> {
        self.client.call(FileUploadCancelParams { upload }).await?;
        Ok(())
    }
    async fn subscribe(&mut self, after: Option<u64>) -> Result<Subscription, ClientError> {
        // Events need a connection of their own: a subscribed one takes no calls.
        let mut stream = Client::connect_as(&self.path, CLIENT_NAME)
            .await?
            .subscribe(after)
            .await?;
        let last_seq = stream.last_seq();
        let (tx, rx) = mpsc::channel(256);
        tokio::spawn(async move {
            loop {
                // The stream is dropped right after `closed` wins, as
                // EventStream::next asks of a select.
                let event = tokio::select! {
                    () = tx.closed() => return,
                    event = stream.next() => event,
                };
                match event {
                    None => return,
                    Some(Ok(event)) => {
                        if tx.send(event).await.is_err() {
                            return;
                        }
                    }
                    Some(Err(e)) => tracing::warn!("unreadable event: {e}"),
                }
            }
        });
        Ok(Subscription {
            last_seq,
            events: rx,
        })
    }
}
