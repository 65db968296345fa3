//! An in-memory chatd for the worker's and the app's tests (test-only).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ipc_schema::Secret;
use ipc_schema::client::ClientError;
use ipc_schema::jsonrpc::code;
use ipc_schema::methods::{
    Contact, ContactAcceptKeyResult, ContactAddParams, ContactRefuseKeyResult, ConversationView,
    DeviceLinkResult, DeviceView, Direction, EventEnvelope, FileDownloadResult, FileReadResult,
    FileUploadChunkResult, FileUploadFinishResult, FileUploadStartParams, FileUploadStartResult,
    IdentityShowResult, MessageDeleteResult, MessageEditResult, MessageListResult,
    MessageReactResult, MessageSearchResult, MessageSendResult, MessageView, ReactionView,
    StatusResult,
};
use tokio::sync::mpsc;

use self::files::{FakeUpload, SentFile};
use super::{Connector, Daemon, Subscription};

mod files;

/// What the fake saw and what it answers with, shared with the test.
#[derive(Debug, Default)]
pub struct FakeState {
    /// Status answer.
    pub status: Option<StatusResult>,
    /// Conversation list answer.
    pub conversations: Vec<ConversationView>,
    /// Contact list answer.
    pub contacts: Vec<Contact>,
    /// Group list answer.
    pub groups: Vec<ipc_schema::methods::GroupView>,
    /// Group info answer.
    pub group_info: Option<ipc_schema::methods::GroupInfoResult>,
    /// Full histories by peer, oldest first; pages are cut from them.
    pub history: HashMap<String, Vec<MessageView>>,
    /// Every call made, as `method arg…`, in order.
    pub calls: Vec<String>,
    /// Where subscribed events come from; set by `subscribe`.
    pub events: Option<mpsc::Sender<EventEnvelope>>,
    /// The newest event's `seq`, as `subscribe` reports it.
    pub last_seq: u64,
    /// The oldest event still kept: `subscribe {after}` below `oldest_seq - 1`
    /// is `events_expired`; 0 keeps everything.
    pub oldest_seq: u64,
    /// `identity.show` answer.
    pub identity: Option<IdentityShowResult>,
    /// `identity.card` answer.
    pub card: Option<serde_json::Value>,
    /// The account's devices, as `device.list` answers; revoking and
    /// renaming change them.
    pub devices: Vec<DeviceView>,
    /// The relay password `device.revoke` checks, and changes.
    pub password: Option<Secret>,
    /// `device.link` answer; none is `too_many_devices`.
    pub link: Option<DeviceLinkResult>,
    /// What `message.search` finds, newest first; pages are cut from it
    /// by `peer` and `before`.
    pub search_hits: Vec<ipc_schema::methods::SearchHit>,
    /// Whether connecting fails (chatd "down").
    pub down: bool,
    /// The bytes of the files chatd can fetch, by message id: `file.download`
    /// makes the file `downloading` and then, with an event, `ready`; a file
    /// not here fails (`blob_gone`).
    pub files: HashMap<String, Vec<u8>>,
    /// Bytes per `file.read` piece and per `file.upload_chunk`; 0 is
    /// chatd's 1 MiB.
    pub piece: usize,
    /// chatd's refusal of `file.upload_start` (`invalid_params`, this
    /// message), when set.
    pub upload_refusal: Option<String>,
    /// `file.upload_chunk` number this (from 1) is refused (`internal_error`).
    pub chunk_fails_at: Option<usize>,
    /// The uploads being streamed, by id.
    pub uploads: HashMap<String, FakeUpload>,
    /// The files `file.upload_finish` committed, in order.
    pub sent_files: Vec<SentFile>,
    /// `file.read` from this offset fails (chatd's disk, say).
    pub read_fails_at: Option<u64>,
    /// The `message.changed` events of files, also sent to the subscriber
    /// if there is one, for tests that feed `update` themselves.
    pub file_events: Vec<EventEnvelope>,
}

impl FakeState {
    /// The message `id` and its conversation, like chatd looks it up: one's
    /// own only when `own`, in `peer` when given.
    fn message(
        &mut self,
        id: &str,
        own: bool,
        peer: Option<&str>,
    ) -> Result<(String, &mut MessageView), ClientError> {
        self.history
            .iter_mut()
            .filter(|(p, _)| peer.is_none_or(|want| want == p.as_str()))
            .find_map(|(p, messages)| {
                let m = messages
                    .iter_mut()
                    .find(|m| m.id == id && (!own || m.direction == Direction::Out))?;
                Some((p.clone(), m))
            })
            .ok_or_else(|| rpc(code::UNKNOWN_MESSAGE, "unknown message"))
    }
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
    async fn group_info(
        &mut self,
        group: String,
    ) -> Result<ipc_schema::methods::GroupInfoResult, ClientError> {
        self.check()?;
        self.with(|s| {
            s.calls.push(format!("group.info {group}"));
            s.group_info.clone()
        })
        .ok_or(ClientError::Disconnected)
    }
    async fn group_create(
        &mut self,
        name: String,
        members: Vec<String>,
    ) -> Result<ipc_schema::methods::GroupView, ClientError> {
        self.check()?;
        self.with(|s| {
            s.calls
                .push(format!("group.create {name} {}", members.join(" ")))
        });
        Ok(ipc_schema::methods::GroupView {
            id: "0".repeat(32),
            name,
            version: 0,
            state: ipc_schema::methods::GroupState::Member,
            admin: true,
            members: members.len() as u32 + 1,
        })
    }
    async fn group_change(
        &mut self,
        group: String,
        user: String,
        add: bool,
    ) -> Result<(), ClientError> {
        self.check()?;
        self.with(|s| {
            let verb = if add { "group.add" } else { "group.remove" };
            s.calls.push(format!("{verb} {group} {user}"));
        });
        Ok(())
    }
    async fn groups(&mut self) -> Result<Vec<ipc_schema::methods::GroupView>, ClientError> {
        self.check()?;
        Ok(self.with(|s| {
            s.calls.push("group.list".into());
            s.groups.clone()
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
    async fn send(
        &mut self,
        to: String,
        body: String,
        reply_to: Option<String>,
    ) -> Result<MessageSendResult, ClientError> {
        self.check()?;
        let answering = reply_to.map_or(String::new(), |id| format!(" reply_to={id}"));
        self.with(|s| s.calls.push(format!("message.send {to} {body}{answering}")));
        Ok(MessageSendResult {
            id: "0".repeat(32),
            ts: 0,
        })
    }
    async fn message_edit(
        &mut self,
        id: String,
        body: String,
    ) -> Result<MessageEditResult, ClientError> {
        self.check()?;
        self.with(|s| {
            s.calls.push(format!("message.edit {id} {body}"));
            let (peer, m) = s.message(&id, true, None)?;
            m.body = Some(body);
            m.edited = true;
            Ok(MessageEditResult {
                peer,
                message: m.clone(),
            })
        })
    }
    async fn message_delete(&mut self, id: String) -> Result<MessageDeleteResult, ClientError> {
        self.check()?;
        self.with(|s| {
            s.calls.push(format!("message.delete {id}"));
            let (peer, m) = s.message(&id, true, None)?;
            m.body = None;
            m.deleted = true;
            m.reactions.clear();
            Ok(MessageDeleteResult {
                peer,
                message: m.clone(),
            })
        })
    }
    async fn message_react(
        &mut self,
        id: String,
        peer: Option<String>,
        emoji: Option<String>,
    ) -> Result<MessageReactResult, ClientError> {
        self.check()?;
        self.with(|s| {
            s.calls.push(format!(
                "message.react {id} {} {}",
                peer.as_deref().unwrap_or("-"),
                emoji.as_deref().unwrap_or("-")
            ));
            let me = s
                .status
                .as_ref()
                .and_then(|st| st.user.clone())
                .unwrap_or_else(|| "alice".into());
            let (peer, m) = s.message(&id, false, peer.as_deref())?;
            // One reaction per person: the new one replaces the old.
            for r in &mut m.reactions {
                r.users.retain(|u| *u != me);
            }
            m.reactions.retain(|r| !r.users.is_empty());
            if let Some(emoji) = emoji {
                match m.reactions.iter_mut().find(|r| r.emoji == emoji) {
                    Some(r) => r.users.push(me),
                    None => m.reactions.push(ReactionView {
                        emoji,
                        users: vec![me],
                    }),
                }
            }
            Ok(MessageReactResult {
                peer,
                message: m.clone(),
            })
        })
    }
    async fn message_search(
        &mut self,
        query: String,
        peer: Option<String>,
        before: Option<u64>,
        limit: u32,
    ) -> Result<MessageSearchResult, ClientError> {
        self.check()?;
        self.with(|s| {
            let dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
            s.calls.push(format!(
                "message.search {query} {} {} {limit}",
                dash(peer.clone()),
                dash(before.map(|b| b.to_string()))
            ));
            if !query.chars().any(char::is_alphanumeric) {
                return Err(rpc(code::INVALID_PARAMS, "query has no word to search for"));
            }
            let mut hits = s
                .search_hits
                .iter()
                .filter(|h| peer.as_ref().is_none_or(|p| *p == h.peer))
                .filter(|h| before.is_none_or(|b| h.message.seq < b));
            let page: Vec<_> = hits.by_ref().take(limit as usize).cloned().collect();
            Ok(MessageSearchResult {
                hits: page,
                has_more: hits.next().is_some(),
            })
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
                pending_fingerprint: None,
                quarantined: 0,
                dropped: 0,
                rotated: false,
                frozen: false,
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
                .ok_or_else(|| rpc(code::UNKNOWN_CONTACT, "unknown contact"))?;
            if c.fingerprint != fingerprint {
                return Err(rpc(
                    code::FINGERPRINT_MISMATCH,
                    "fingerprint does not match the pinned card",
                ));
            }
            c.verified = true;
            Ok(c.clone())
        })
    }
    async fn contact_accept_key(
        &mut self,
        user: String,
        fingerprint: String,
    ) -> Result<ContactAcceptKeyResult, ClientError> {
        self.check()?;
        self.with(|s| {
            s.calls
                .push(format!("contact.accept_key {user} {fingerprint}"));
            let c = s
                .contacts
                .iter_mut()
                .find(|c| c.user == user)
                .ok_or_else(|| rpc(code::UNKNOWN_CONTACT, "unknown contact"))?;
            if c.fingerprint == fingerprint {
                return Err(rpc(
                    code::INVALID_PARAMS,
                    &format!("{user}'s pinned key already has that fingerprint"),
                ));
            }
            // Like chatd: the pending key, else the directory's (here: none).
            if c.pending_fingerprint.as_deref() != Some(fingerprint.as_str()) {
                return Err(rpc(
                    code::FINGERPRINT_MISMATCH,
                    &format!(
                        "{user}'s card in the directory has another fingerprint; nothing accepted"
                    ),
                ));
            }
            c.fingerprint = fingerprint;
            c.pending_fingerprint = None;
            c.verified = false;
            let opened = std::mem::take(&mut c.quarantined);
            Ok(ContactAcceptKeyResult {
                contact: c.clone(),
                opened,
                dropped: 0,
            })
        })
    }
    async fn contact_refuse_key(
        &mut self,
        user: String,
    ) -> Result<ContactRefuseKeyResult, ClientError> {
        self.check()?;
        self.with(|s| {
            s.calls.push(format!("contact.refuse_key {user}"));
            let c = s
                .contacts
                .iter_mut()
                .find(|c| c.user == user)
                .ok_or_else(|| rpc(code::UNKNOWN_CONTACT, "unknown contact"))?;
            let deleted = std::mem::take(&mut c.quarantined);
            c.dropped += deleted;
            c.pending_fingerprint = None;
            Ok(ContactRefuseKeyResult {
                contact: c.clone(),
                deleted,
            })
        })
    }
    async fn devices(&mut self) -> Result<Vec<DeviceView>, ClientError> {
        self.check()?;
        Ok(self.with(|s| {
            s.calls.push("device.list".into());
            s.devices.clone()
        }))
    }
    async fn device_revoke(
        &mut self,
        id: String,
        password: Secret,
        new_password: Secret,
    ) -> Result<(), ClientError> {
        self.check()?;
        self.with(|s| {
            // Never the passwords: the calls are what a test may print.
            s.calls.push(format!("device.revoke {id}"));
            if s.password.as_ref() != Some(&password) {
                return Err(relay_refused(401, "invalid_credentials"));
            }
            let device = s
                .devices
                .iter_mut()
                .find(|d| d.id == id && d.gone.is_none())
                .ok_or_else(|| relay_refused(404, "unknown_device"))?;
            device.gone = Some("revoked".into());
            device.gone_at = Some(device.last_seen + 60_000);
            s.password = Some(new_password);
            Ok(())
        })
    }
    async fn device_rename(&mut self, id: String, name: String) -> Result<(), ClientError> {
        self.check()?;
        self.with(|s| {
            s.calls.push(format!("device.rename {id} {name}"));
            let device = s
                .devices
                .iter_mut()
                .find(|d| d.id == id && d.gone.is_none())
                .ok_or_else(|| relay_refused(404, "unknown_device"))?;
            device.name = name;
            Ok(())
        })
    }
    async fn device_link(&mut self, with_history: bool) -> Result<DeviceLinkResult, ClientError> {
        self.check()?;
        self.with(|s| {
            s.calls.push(format!("device.link {with_history}"));
            s.link
                .clone()
                .ok_or_else(|| relay_refused(403, "too_many_devices"))
        })
    }
    async fn file_download(
        &mut self,
        peer: Option<String>,
        id: String,
    ) -> Result<FileDownloadResult, ClientError> {
        self.check()?;
        self.with(|s| {
            let dash = peer.as_deref().unwrap_or("-");
            s.calls.push(format!("file.download {dash} {id}"));
            s.fetch(peer.as_deref(), &id)
        })
    }
    async fn file_read(
        &mut self,
        peer: Option<String>,
        id: String,
        offset: u64,
    ) -> Result<FileReadResult, ClientError> {
        self.check()?;
        self.with(|s| {
            let dash = peer.as_deref().unwrap_or("-");
            s.calls.push(format!("file.read {dash} {id} {offset}"));
            s.read(peer.as_deref(), &id, offset)
        })
    }
    async fn file_upload_start(
        &mut self,
        params: FileUploadStartParams,
    ) -> Result<FileUploadStartResult, ClientError> {
        self.check()?;
        self.with(|s| s.upload_start(params))
    }
    async fn file_upload_chunk(
        &mut self,
        upload: String,
        data: String,
    ) -> Result<FileUploadChunkResult, ClientError> {
        self.check()?;
        self.with(|s| s.upload_chunk(&upload, &data))
    }
    async fn file_upload_finish(
        &mut self,
        upload: String,
    ) -> Result<FileUploadFinishResult, ClientError> {
        self.check()?;
        self.with(|s| s.upload_finish(&upload))
    }
    async fn file_upload_cancel(&mut self, upload: String) -> Result<(), ClientError> {
        self.check()?;
        self.with(|s| {
            s.calls.push(format!("file.upload_cancel {upload}"));
            s.uploads.remove(&upload);
        });
        Ok(())
    }
    async fn subscribe(&mut self, after: Option<u64>) -> Result<Subscription, ClientError> {
        self.check()?;
        let (tx, rx) = mpsc::channel(64);
        self.with(|s| {
            s.calls.push(format!(
                "subscribe {}",
                after.map_or("-".to_owned(), |a| a.to_string())
            ));
            if after.is_some_and(|a| a.saturating_add(1) < s.oldest_seq) {
                return Err(ClientError::Rpc {
                    code: code::EVENTS_EXPIRED,
                    message: "those events are no longer kept".into(),
                    data: Some(serde_json::json!({"oldest_seq": s.oldest_seq})),
                });
            }
            s.events = Some(tx);
            Ok(Subscription {
                last_seq: s.last_seq,
                events: rx,
            })
        })
    }
}

fn rpc(code: i64, message: &str) -> ClientError {
    ClientError::Rpc {
        code,
        message: message.into(),
        data: None,
    }
}

/// chatd's `relay_refused`, with the relay's status and error code as data.
fn relay_refused(status: u16, relay_code: &str) -> ClientError {
    ClientError::Rpc {
        code: code::RELAY_REFUSED,
        message: format!("the relay refused: {relay_code}"),
        data: Some(serde_json::json!({"status": status, "code": relay_code})),
    }
}
