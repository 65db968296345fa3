//! `group.*`: group conversations (docs/IPC.md §5, docs/PROTOCOL.md §9).
//!
//! A group is named by its id, 32 lowercase hex digits, with or without a
//! leading `#`; in `message.send`, `message.list` and the other methods that
//! take a peer, a group is written `#` followed by its id. Names are only for
//! people: two groups may share one, and chat-ctl resolves `#NAME`.

use serde::{Deserialize, Serialize};

use super::views::MessageState;

wire_enum! {
    /// Where this user stands in a group.
    pub enum GroupState {
        /// A member: may read and send.
        Member = "member",
        /// Removed by an admin: history kept, sending refused.
        Removed = "removed",
        /// Left: history kept, sending refused.
        Left = "left",
    }
}

/// A group as the lists show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupView {
    /// The group's id, 32 lowercase hex digits.
    pub id: String,
    /// Its name (hostile text: sanitize before display).
    pub name: String,
    /// The roster version this daemon follows.
    pub version: u64,
    /// This user's standing.
    pub state: GroupState,
    /// Whether this user is an admin.
    pub admin: bool,
    /// Number of members, this user included when a member.
    pub members: u32,
}

/// One member in `group.info`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMemberView {
    /// Username.
    pub user: String,
    /// Whether the member is an admin.
    pub admin: bool,
    /// The roster version at which the member joined.
    pub since: u64,
    /// The card's fingerprint (16 groups of 4 hex digits).
    pub fingerprint: String,
    /// Whether the user verified this member's card (as a contact).
    pub verified: bool,
    /// The admin whose roster introduced this card, when the user did not pin
    /// it as a contact; `null` for contacts and for oneself.
    pub introduced_by: Option<String>,
}

/// One member's delivery of an outgoing group message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    /// The member.
    pub user: String,
    /// `queued` (not at the relay yet), `sent`, `delivered`, `read`, or
    /// `failed` (the relay has no such account).
    pub state: MessageState,
}

/// Params of `group.create`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupCreateParams {
    /// The group's name, 1 to 64 bytes, no control characters.
    pub name: String,
    /// The other members, each a contact.
    pub members: Vec<String>,
}

/// Params of `group.add`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupAddParams {
    /// The group's id.
    pub group: String,
    /// Users to add, each a contact.
    pub users: Vec<String>,
}

/// Params of `group.remove`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupRemoveParams {
    /// The group's id.
    pub group: String,
    /// Members to remove.
    pub users: Vec<String>,
}

/// Params of `group.admin`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupAdminParams {
    /// The group's id.
    pub group: String,
    /// The member to promote (or demote).
    pub user: String,
    /// Demote instead of promote.
    #[serde(default)]
    pub revoke: bool,
}

/// Params of `group.rename`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupRenameParams {
    /// The group's id.
    pub group: String,
    /// The new name.
    pub name: String,
}

/// Params of `group.leave`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupLeaveParams {
    /// The group's id.
    pub group: String,
}

/// Params of `group.info`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupInfoParams {
    /// The group's id.
    pub group: String,
}

/// Declares the results of the methods that change a group: each is the
/// group after the change (on its way to the members), as its own type.
macro_rules! change_results {
    ($($name:ident = $method:literal;)*) => {$(
        #[doc = concat!("Result of `", $method, "`: the group after the change.")]
        #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
        pub struct $name {
            /// The group now.
            pub group: GroupView,
        }
    )*};
}

change_results! {
    GroupCreateResult = "group.create";
    GroupAddResult = "group.add";
    GroupRemoveResult = "group.remove";
    GroupAdminResult = "group.admin";
    GroupRenameResult = "group.rename";
    GroupLeaveResult = "group.leave";
}

/// Params of `group.list` (none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupListParams {}

/// Result of `group.list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupListResult {
    /// Every group this user is or was in, by name.
    pub groups: Vec<GroupView>,
}

/// Result of `group.info`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupInfoResult {
    /// The group.
    pub group: GroupView,
    /// Its members, by username.
    pub members: Vec<GroupMemberView>,
}

/// Payload of `group.updated`: a roster change took effect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupUpdatedEvent {
    /// The group after it.
    pub group: GroupView,
    /// What changed, as one line per change ("alice added carol").
    pub changes: Vec<String>,
}

/// Payload of `group.removed`: this user was removed from a group, or left it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRemovedEvent {
    /// The group, with `state` `removed` or `left`.
    pub group: GroupView,
    /// Who removed this user (oneself when it left).
    pub by: String,
}

/// The id in a group peer (`#` and 32 lowercase hex digits), or `None` for a user.
pub fn group_peer(peer: &str) -> Option<&str> {
    peer.strip_prefix('#')
        .filter(|id| crate::envelope::is_valid_message_id(id))
}

/// A group id given with or without `#`, if it is one.
pub fn group_id(text: &str) -> Option<&str> {
    let id = text.strip_prefix('#').unwrap_or(text);
    crate::envelope::is_valid_message_id(id).then_some(id)
}
