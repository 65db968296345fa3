//! `message.*` and `conversation.*`.

use base64::Engine as _;
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

pub(super) fn file_upload_start(
    d: &Daemon,
    p: ipc_schema::methods::FileUploadStartParams,
) -> Result<ipc_schema::methods::FileUploadStartResult, DaemonError> {
    let upload = d.file_upload_start(&p.to, &p.name, p.size, p.media_type, p.reply_to)?;
    Ok(ipc_schema::methods::FileUploadStartResult {
        upload,
        piece: ipc_schema::methods::FILE_PIECE as u64,
    })
}

pub(super) fn file_upload_chunk(
    d: &Daemon,
    p: ipc_schema::methods::FileUploadChunkParams,
) -> Result<ipc_schema::methods::FileUploadChunkResult, DaemonError> {
    let data = base64::engine::general_purpose::STANDARD
        .decode(p.data.as_bytes())
        .map_err(|_| DaemonError::Invalid("`data` is not standard base64".into()))?;
    Ok(ipc_schema::methods::FileUploadChunkResult {
        received: d.file_upload_chunk(&p.upload, &data)?,
    })
}

pub(super) fn file_upload_finish(
    d: &Daemon,
    p: ipc_schema::methods::FileUploadFinishParams,
) -> Result<ipc_schema::methods::FileUploadFinishResult, DaemonError> {
    let (id, ts) = d.file_upload_finish(&p.upload)?;
    Ok(ipc_schema::methods::FileUploadFinishResult { id, ts })
}

/// A conversation as `file.*` names it: a contact, or `#` and a group id.
fn file_peer(peer: Option<&str>) -> Result<Option<String>, DaemonError> {
    Ok(match peer {
        Some(p) if p.starts_with('#') => {
            Some(crate::store::group_peer(crate::daemon::parse_group_id(p)?))
        }
        other => other.map(str::to_owned),
    })
}

pub(super) fn file_download(
    d: &Daemon,
    p: ipc_schema::methods::FileDownloadParams,
) -> Result<ipc_schema::methods::FileDownloadResult, DaemonError> {
    let kept = d.file_download(file_peer(p.peer.as_deref())?.as_deref(), &p.id)?;
    Ok(ipc_schema::methods::FileDownloadResult {
        id: kept.id,
        from: kept.sender,
        name: kept.name,
        size: kept.size,
        state: kept.state,
    })
}

pub(super) fn file_read(
    d: &Daemon,
    p: ipc_schema::methods::FileReadParams,
) -> Result<ipc_schema::methods::FileReadResult, DaemonError> {
    let len = p
        .length
        .unwrap_or(crate::daemon::READ_MAX as u64)
        .min(crate::daemon::READ_MAX as u64) as usize;
    let (data, size) = d.file_read(
        file_peer(p.peer.as_deref())?.as_deref(),
        &p.id,
        p.offset,
        len,
    )?;
    Ok(ipc_schema::methods::FileReadResult {
        data: base64::engine::general_purpose::STANDARD.encode(data),
        size,
    })
}
