//! `conversation.*`: the conversation list, read marks and focus.

use serde::{Deserialize, Serialize};

use super::views::ConversationView;

/// Params of `conversation.list` (none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversationListParams {}

/// Result of `conversation.list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationListResult {
    /// Conversations, most recent first.
    pub conversations: Vec<ConversationView>,
}

/// Params of `conversation.mark_read`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversationMarkReadParams {
    /// The conversation whose incoming messages become read.
    pub peer: String,
}

/// Result of `conversation.mark_read`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationMarkReadResult {
    /// How many messages changed from unread to read.
    pub marked: u64,
}

/// Params of `conversation.focus`; the focus ends when the connection closes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversationFocusParams {
    /// The conversation on screen, or none to clear the focus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
}

/// Result of `conversation.focus` (empty).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationFocusResult {}
