//! `message.*` and `conversation.*`.

use ipc_schema::methods::{
    ConversationListResult, ConversationMarkReadParams, ConversationMarkReadResult,
    MESSAGE_LIST_DEFAULT_LIMIT, MESSAGE_LIST_MAX_LIMIT, MessageGetParams, MessageGetResult,
    MessageListParams, MessageListResult, MessageSendParams, MessageSendResult,
};

use crate::daemon::{Daemon, DaemonError};

pub(super) fn send(d: &Daemon, p: MessageSendParams) -> Result<MessageSendResult, DaemonError> {
    let (id, ts) = d.send(&p.to, p.body, p.reply_to)?;
    Ok(MessageSendResult { id, ts })
}

pub(super) fn list(d: &Daemon, p: MessageListParams) -> Result<MessageListResult, DaemonError> {
    let limit = p
        .limit
        .unwrap_or(MESSAGE_LIST_DEFAULT_LIMIT)
        .clamp(1, MESSAGE_LIST_MAX_LIMIT) as usize;
    let (messages, has_more) = d.messages(&p.peer, p.before, limit)?;
    Ok(MessageListResult { messages, has_more })
}

pub(super) fn get(d: &Daemon, p: MessageGetParams) -> Result<MessageGetResult, DaemonError> {
    Ok(MessageGetResult {
        message: d.message(&p.peer, &p.id, p.direction)?,
    })
}

pub(super) fn conversations(d: &Daemon) -> Result<ConversationListResult, DaemonError> {
    Ok(ConversationListResult {
        conversations: d.conversations()?,
    })
}

pub(super) fn mark_read(
    d: &Daemon,
    p: ConversationMarkReadParams,
) -> Result<ConversationMarkReadResult, DaemonError> {
    Ok(ConversationMarkReadResult {
        marked: d.mark_read(&p.peer)?,
    })
}
