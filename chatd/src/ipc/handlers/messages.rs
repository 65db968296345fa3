//! `message.*` and `conversation.*`.

use ipc_schema::methods::{
    ConversationListResult, ConversationMarkReadParams, ConversationMarkReadResult,
    MESSAGE_LIST_DEFAULT_LIMIT, MESSAGE_LIST_MAX_LIMIT, MessageGetParams, MessageGetResult,
    MessageListParams, MessageListResult, MessageSendParams, MessageSendResult,
};

use crate::daemon::{Daemon, DaemonError};
use crate::store::UserChange;

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

pub(super) fn edit(
    d: &Daemon,
    p: ipc_schema::methods::MessageEditParams,
) -> Result<ipc_schema::methods::MessageEditResult, DaemonError> {
    let (peer, message) = d.change_message(&p.id, UserChange::Edit(p.body), None)?;
    Ok(ipc_schema::methods::MessageEditResult { peer, message })
}

pub(super) fn delete(
    d: &Daemon,
    p: ipc_schema::methods::MessageDeleteParams,
) -> Result<ipc_schema::methods::MessageDeleteResult, DaemonError> {
    let (peer, message) = d.change_message(&p.id, UserChange::Delete, None)?;
    Ok(ipc_schema::methods::MessageDeleteResult { peer, message })
}

pub(super) fn react(
    d: &Daemon,
    p: ipc_schema::methods::MessageReactParams,
) -> Result<ipc_schema::methods::MessageReactResult, DaemonError> {
    let (peer, message) = d.change_message(&p.id, UserChange::React(p.emoji), p.peer.as_deref())?;
    Ok(ipc_schema::methods::MessageReactResult { peer, message })
}

pub(super) fn search(
    d: &Daemon,
    p: ipc_schema::methods::MessageSearchParams,
) -> Result<ipc_schema::methods::MessageSearchResult, DaemonError> {
    let limit = p.limit.unwrap_or(20).clamp(1, 100) as usize;
    let (hits, has_more) = d.search(&p.query, p.peer.as_deref(), p.before, limit)?;
    Ok(ipc_schema::methods::MessageSearchResult { hits, has_more })
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
