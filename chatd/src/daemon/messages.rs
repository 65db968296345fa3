//! Messages: sending a text (one commit; the outbox seals and sends it),
//! the history, and marking conversations read.

use ipc_schema::Payload;
use ipc_schema::methods::{ConversationView, Direction, MessageState, MessageView};

use super::{Daemon, DaemonError};
use crate::crypto;
use crate::store::{new_message_id, now_ms};

impl Daemon {
    /// Queues a text; returns (id, ts) once committed locally. Sealing and
    /// sending happen in the outbox, so this answers after one commit.
    pub fn send(
        &self,
        to: &str,
        body: String,
        reply_to: Option<String>,
    ) -> Result<(String, u64), DaemonError> {
        let me = self.identity()?;
        let to = self.sendable(to)?;
        let to = to.as_str();
        let reply_to = self.reply_target(to, reply_to)?;
        let payload = Payload::Text {
            body,
            reply_to,
            to: None,
        };
        // Refused now what sealing would refuse later, without any key.
        crypto::sealable(&payload).map_err(|e| DaemonError::Invalid(e.to_string()))?;
        let Payload::Text { body, reply_to, .. } = payload else {
            unreachable!("a text was built just above");
        };
        let view = MessageView {
            id: new_message_id(),
            from: me.user().to_owned(),
            to: to.to_owned(),
            ts: now_ms(),
            direction: Direction::Out,
            kind: "text".into(),
            body: Some(body),
            reply_to,
            state: MessageState::Queued,
            failure: None,
            seq: 0,
            truncated: false,
            group: ipc_schema::methods::group_peer(to).map(str::to_owned),
            deliveries: Vec::new(),
            edited: false,
            deleted: false,
            reactions: Vec::new(),
            file: None,
        };
        let queued = self.publish(self.store.queue_text(&view)?);
        self.outbox_wake.notify_one();
        Ok((queued.id, queued.ts))
    }

    /// The conversation `to` names (a contact, or `#` and a group's id)
    /// if this user may send to it now.
    pub(super) fn sendable(&self, to: &str) -> Result<String, DaemonError> {
        Ok(match ipc_schema::methods::group_peer(to) {
            Some(id) => {
                self.store.group_sendable(id)??;
                crate::store::group_peer(id)
            }
            None if to.starts_with('#') => {
                return Err(super::groups::parse_group(to)
                    .err()
                    .unwrap_or_else(|| DaemonError::Invalid(format!("{to} is not a group id"))));
            }
            None if !self.store.is_contact(to)? => {
                return Err(DaemonError::UnknownContact(to.to_owned()));
            }
            // Sealing to either of two competing keys could be sealing to
            // whoever else holds the key they came from.
            None if self.store.frozen_contacts()?.contains(to) => {
                return Err(crate::store::StoreError::Frozen(to.to_owned()).into());
            }
            None => to.to_owned(),
        })
    }

    /// The whole id of the message of conversation `to` a reply answers,
    /// given maybe by the first hex digits of its id.
    pub(super) fn reply_target(
        &self,
        to: &str,
        reply_to: Option<String>,
    ) -> Result<Option<String>, DaemonError> {
        Ok(match reply_to {
            Some(given) if given.len() < 32 => match self.store.resolve_id(to, &given)? {
                Ok(id) => Some(id),
                Err(crate::store::ChangeError::Unknown(_)) => {
                    return Err(DaemonError::UnknownMessage(format!(
                        "{given} (to reply to)"
                    )));
                }
                Err(e) => return Err(DaemonError::Invalid(e.to_string())),
            },
            other => other,
        })
    }

    /// A page of a conversation (see `Store::messages`).
    pub fn messages(
        &self,
        peer: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<(Vec<MessageView>, bool), DaemonError> {
        if peer.starts_with('#') {
            let id = super::groups::parse_group(peer)?;
            self.group_info(id)?;
            return Ok(self
                .store
                .messages(&crate::store::group_peer(id), before, limit)?);
        }
        let page = self.store.messages(peer, before, limit)?;
        // History outlives a removed contact; a name with neither is a typo.
        if page.0.is_empty() && before.is_none() && !self.store.is_contact(peer)? {
            return Err(DaemonError::UnknownContact(peer.to_owned()));
        }
        Ok(page)
    }

    /// One message, whole.
    pub fn message(
        &self,
        peer: &str,
        id: &str,
        direction: Option<Direction>,
    ) -> Result<MessageView, DaemonError> {
        self.store
            .message(peer, id, direction)?
            .ok_or_else(|| DaemonError::UnknownMessage(format!("no message {id} with {peer}")))
    }

    /// Conversations, most recent first.
    pub fn conversations(&self) -> Result<Vec<ConversationView>, DaemonError> {
        Ok(self.store.conversations()?)
    }

    /// Marks a conversation read, and queues read receipts when the user
    /// enabled them; returns how many messages were marked.
    pub fn mark_read(&self, peer: &str) -> Result<u64, DaemonError> {
        if !self.store.is_contact(peer)? && !self.store.has_history(peer)? {
            return Err(DaemonError::UnknownContact(peer.to_owned()));
        }
        // In groups, only with their own opt-in: each sender learns when
        // this user read its message.
        let receipts = if peer.starts_with('#') {
            self.config.group_read_receipts
        } else {
            self.config.read_receipts
        };
        let me = self.identity()?;
        let sync = self.has_other_devices();
        let marked = self.publish(
            self.store
                .mark_read(peer, receipts, sync.then(|| me.user()))?,
        );
        if (receipts || sync) && marked > 0 {
            self.outbox_wake.notify_one();
        }
        Ok(marked)
    }
}

impl Daemon {
    /// Edits, deletes or reacts to a message (docs/PROTOCOL.md §14): applied
    /// here at once, then queued for the conversation and this account's
    /// other devices. Returns the conversation and the message now.
    pub fn change_message(
        &self,
        id: &str,
        what: crate::store::UserChange,
        peer: Option<&str>,
    ) -> Result<(String, MessageView), DaemonError> {
        use crate::store::{ChangeError, UserChange};
        let me = self.identity()?;
        // Refused now what sealing would refuse later (the id may be a
        // prefix here: the store finds the message).
        if !(8..=32).contains(&id.len())
            || !id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(DaemonError::Invalid(format!(
                "{id:?} is not a message id (8 to 32 lowercase hex digits)"
            )));
        }
        match &what {
            UserChange::Edit(body) if body.len() > ipc_schema::envelope::MAX_BODY => {
                return Err(DaemonError::Invalid(format!(
                    "the text is {} bytes; at most {} fit",
                    body.len(),
                    ipc_schema::envelope::MAX_BODY
                )));
            }
            UserChange::React(Some(e)) if !ipc_schema::changes::is_valid_emoji(e) => {
                return Err(DaemonError::Invalid(format!(
                    "{e:?} is not a reaction: one emoji, at most {} bytes, no spaces",
                    ipc_schema::changes::MAX_EMOJI
                )));
            }
            _ => {}
        }
        // A file deleted for everyone goes from the relay too (its key is
        // gone from every store; the ciphertext need not wait for expiry).
        let blob = match &what {
            UserChange::Delete => self.store.own_blob(me.user(), id)?,
            _ => None,
        };
        let done = match self.store.change_message(me.user(), id, what, peer)? {
            Ok(done) => done,
            Err(ChangeError::Unknown(id)) => return Err(DaemonError::UnknownMessage(id)),
            Err(ChangeError::Frozen(user)) => {
                return Err(crate::store::StoreError::Frozen(user).into());
            }
            Err(e) => return Err(DaemonError::Invalid(e.to_string())),
        };
        let done = self.publish(done);
        self.outbox_wake.notify_one();
        // Only a deleted file of ours leaves something to sweep (its kept
        // copy or its spool); an edit or a reaction leaves nothing.
        if blob.is_some() {
            let _ = self.sweep_files();
        }
        if let (Some(blob), Some(token), Ok(relay)) = (blob, self.token(), self.relay()) {
            tokio::spawn(async move {
                if let Err(e) = relay.delete_blob(&token, &blob).await {
                    tracing::info!(error = %e, "a deleted file's blob stays on the relay until it expires");
                }
            });
        }
        Ok(done)
    }
}

impl Daemon {
    /// Messages with every word of `query`, newest first, in `peer`'s
    /// conversation (a contact, or `#` and a group's id) when given; the
    /// bool says whether more are left.
    pub fn search(
        &self,
        query: &str,
        peer: Option<&str>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<(Vec<ipc_schema::methods::SearchHit>, bool), DaemonError> {
        let peer = match peer {
            Some(p) if p.starts_with('#') => {
                let id = super::groups::parse_group(p)?;
                self.group_info(id)?;
                Some(crate::store::group_peer(id))
            }
            other => other.map(str::to_owned),
        };
        self.store
            .search(query, peer.as_deref(), before, limit)?
            .ok_or_else(|| DaemonError::Invalid("nothing to search for: give a word".into()))
    }
}
