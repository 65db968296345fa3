//! `message.*`: send, page through a conversation, fetch one message whole.

use serde::{Deserialize, Serialize};

use super::views::{Direction, MessageView};

/// Params of `message.send`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageSendParams {
    /// Recipient; must be a contact.
    pub to: String,
    /// The text, at most [`crate::envelope::MAX_BODY`] bytes.
    pub body: String,
    /// Id of the message this one answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
}

/// Result of `message.send`: the message is committed locally and queued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageSendResult {
    /// The new message's id.
    pub id: String,
    /// Its timestamp (ms).
    pub ts: u64,
}

/// Params of `message.list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageListParams {
    /// The other party of the conversation.
    pub peer: String,
    /// Page backwards from here: only messages whose `seq` is below this;
    /// the newest messages when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<u64>,
    /// Page size; [`MESSAGE_LIST_DEFAULT_LIMIT`](super::MESSAGE_LIST_DEFAULT_LIMIT) when absent, at most [`MESSAGE_LIST_MAX_LIMIT`](super::MESSAGE_LIST_MAX_LIMIT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// Result of `message.list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageListResult {
    /// The page, oldest first (by `seq`).
    pub messages: Vec<MessageView>,
    /// Whether older messages exist before the first one returned.
    pub has_more: bool,
}

/// Params of `message.get`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageGetParams {
    /// The other party of the conversation.
    pub peer: String,
    /// The message's id.
    pub id: String,
    /// Which way it went. Ids are unique per sender, so a conversation can
    /// hold one incoming and one outgoing message with the same id (only a
    /// hostile peer makes that happen); without `direction` chatd answers
    /// with the incoming one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
}

/// Result of `message.get`: the message with its whole body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageGetResult {
    /// The message, never truncated.
    pub message: MessageView,
}

/// Params of `message.edit`: only one's own messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageEditParams {
    /// The message's id (one this user sent).
    pub id: String,
    /// Its new text, at most [`crate::envelope::MAX_BODY`] bytes.
    pub body: String,
}

/// Params of `message.delete`: only one's own messages, for everyone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageDeleteParams {
    /// The message's id (one this user sent).
    pub id: String,
}

/// Params of `message.react`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageReactParams {
    /// The message's id.
    pub id: String,
    /// The conversation (a contact or `#group`), needed only when two
    /// conversations hold a message with that id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// The emoji; `null` takes this user's reaction back.
    pub emoji: Option<String>,
}

/// Result of `message.edit`: the message as it is now (the edit is queued
/// for the others).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageEditResult {
    /// The conversation it belongs to.
    pub peer: String,
    /// The message now.
    pub message: MessageView,
}

/// Result of `message.delete`: the tombstone (the delete is queued for the
/// others).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageDeleteResult {
    /// The conversation it belonged to.
    pub peer: String,
    /// The message now.
    pub message: MessageView,
}

/// Result of `message.react`: the message with its reactions now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageReactResult {
    /// The conversation it belongs to.
    pub peer: String,
    /// The message now.
    pub message: MessageView,
}

/// Params of `message.search`: plain words, never index syntax.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageSearchParams {
    /// Words to find, all of them (the last one also as a prefix). Quotes,
    /// dashes, `AND`, `*` and the like are words or ignored, never syntax.
    pub query: String,
    /// Only this conversation (a contact, or `#` and a group's id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// Only messages whose `seq` is below this (the next page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<u64>,
    /// At most this many hits (default 20, at most 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// One message a search found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    /// The conversation it is in.
    pub peer: String,
    /// The message (its body cut as in `message.list`).
    pub message: MessageView,
    /// A short piece of the body around the words found.
    pub snippet: String,
    /// Where the words found are in `snippet`: [start, end) byte offsets.
    pub highlights: Vec<[u32; 2]>,
}

/// Result of `message.search`: newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageSearchResult {
    /// The hits, most recent first (by `seq`).
    pub hits: Vec<SearchHit>,
    /// Whether older hits exist (ask again with `before` = the last `seq`).
    pub has_more: bool,
}
