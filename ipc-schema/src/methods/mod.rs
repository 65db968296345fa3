//! The methods chatd offers on its local socket, their params and results, and
//! the events it pushes to subscribers (docs/IPC.md §5 and §6).
//!
//! One [`Method`] enum names every call; each variant wraps a `…Params` struct
//! and the [`Call`] trait ties that struct to its `…Result` struct. Params are
//! strict (`deny_unknown_fields`): a typo in a script is an error, not a silent
//! no-op. Results and events are lenient about extra fields so that a newer
//! daemon can add some without breaking older frontends.
//!
//! Conventions: times are milliseconds since the Unix epoch (`u64`); users are
//! usernames; fingerprints are shown as 16 space-separated groups of 4 lowercase
//! hex digits and accepted in any spacing or case; optional params may be left
//! out or given as `null`; optional result fields are always present, as `null`.
//!
//! The types live in files by group (`views.rs`: what several results share;
//! one file per method group; `events.rs`) and are all re-exported here, so
//! each has one path: `ipc_schema::methods::Name`.
#![warn(missing_docs)]

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::secret::Secret;

/// The IPC protocol version this crate speaks; `hello` must name it.
pub const PROTOCOL_VERSION: u32 = 1;

/// How many messages `message.list` returns when `limit` is not given.
pub const MESSAGE_LIST_DEFAULT_LIMIT: u32 = 50;
/// The largest `limit` `message.list` accepts.
pub const MESSAGE_LIST_MAX_LIMIT: u32 = 500;

/// Declares a fieldless enum that travels as a snake_case string, with
/// `as_str`, `FromStr` and `Display` from the same table, so the names exist
/// once (the store, `--json` and the frontends all use these).
macro_rules! wire_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $( $(#[$vdoc:meta])* $variant:ident = $wire:literal, )* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name {
            $( $(#[$vdoc])* #[serde(rename = $wire)] $variant, )*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The name on the wire and in the store.
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $wire, )* }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::methods::UnknownName;

            fn from_str(s: &str) -> Result<Self, $crate::methods::UnknownName> {
                match s {
                    $( $wire => Ok($name::$variant), )*
                    other => Err($crate::methods::UnknownName {
                        kind: stringify!($name),
                        name: other.to_owned(),
                    }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A string that names no value of a [`wire_enum!`] type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{name}`")]
pub struct UnknownName {
    /// The type's name.
    pub kind: &'static str,
    /// What was given.
    pub name: String,
}

/// A params type that knows its method name and the result type it gets back.
pub trait Call: Into<Method> {
    /// The method name on the wire.
    const METHOD: &'static str;
    /// What a successful call returns.
    type Result: Serialize + DeserializeOwned;
}

/// Declares [`Method`], [`MethodResult`] and the glue between them from one table,
/// so a method cannot be added in one place and forgotten in another.
macro_rules! methods {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal ($params:ident) -> $result:ident; )*) => {
        /// One call from a frontend to chatd: the `method` name and its `params`.
        #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(tag = "method", content = "params", deny_unknown_fields)]
        pub enum Method {
            $( $(#[$doc])* #[serde(rename = $name)] $variant($params), )*
        }

        /// The result of any method, as chatd sends it.
        ///
        /// Serialize-only: which variant a result is depends on the request it
        /// answers, so decode with [`Method::decode_result`] or [`Call`].
        #[derive(Clone, Debug, PartialEq, Eq, Serialize)]
        #[serde(untagged)]
        pub enum MethodResult {
            $( $(#[$doc])* $variant($result), )*
        }

        impl Method {
            /// Every method name, in the order of docs/IPC.md §5.
            pub const NAMES: &'static [&'static str] = &[$($name),*];

            /// This call's method name on the wire.
            pub fn name(&self) -> &'static str {
                match self { $( Method::$variant(_) => $name, )* }
            }

            /// Decodes the `result` of a response to this call into its typed result.
            pub fn decode_result(&self, result: Value) -> Result<MethodResult, serde_json::Error> {
                match self {
                    $( Method::$variant(_) => serde_json::from_value::<$result>(result).map(MethodResult::$variant), )*
                }
            }
        }

        impl MethodResult {
            /// The name of the method this is a result of.
            pub fn name(&self) -> &'static str {
                match self { $( MethodResult::$variant(_) => $name, )* }
            }
        }

        $(
            impl Call for $params {
                const METHOD: &'static str = $name;
                type Result = $result;
            }
            impl From<$params> for Method {
                fn from(params: $params) -> Self {
                    Method::$variant(params)
                }
            }
            impl From<$result> for MethodResult {
                fn from(result: $result) -> Self {
                    MethodResult::$variant(result)
                }
            }
        )*
    };
}

// After the macros: `wire_enum!` is used by the modules below.
mod account;
mod contact;
mod conversation;
mod daemon;
mod device;
mod events;
mod file;
mod group;
mod identity;
mod message;
mod views;

pub use account::*;
pub use contact::*;
pub use conversation::*;
pub use daemon::*;
pub use device::*;
pub use events::*;
pub use file::*;
pub use group::*;
pub use identity::*;
pub use message::*;
pub use views::*;

methods! {
    /// Handshake; must be the first call on a connection.
    Hello = "hello" (HelloParams) -> HelloResult;
    /// Account, relay connection, counters.
    Status = "status" (StatusParams) -> StatusResult;
    /// Create keys, register on a relay, and log in.
    AccountRegister = "account.register" (AccountRegisterParams) -> AccountRegisterResult;
    /// Get a fresh relay session for the registered account.
    AccountLogin = "account.login" (AccountLoginParams) -> AccountLoginResult;
    /// Revoke the relay session.
    AccountLogout = "account.logout" (AccountLogoutParams) -> AccountLogoutResult;
    /// Delete the account on the relay (mailbox, sessions, directory entry).
    AccountDelete = "account.delete" (AccountDeleteParams) -> AccountDeleteResult;
    /// Change how the relay's certificate is checked.
    RelayTrust = "relay.trust" (RelayTrustParams) -> RelayTrustResult;
    /// Change the URLs the relay is reached at (its instances).
    RelayUrls = "relay.urls" (RelayUrlsParams) -> RelayUrlsResult;
    /// Change the relay password (kept for session renewal).
    AccountPassword = "account.password" (AccountPasswordParams) -> AccountPasswordResult;
    /// The account's devices on the relay.
    DeviceList = "device.list" (DeviceListParams) -> DeviceListResult;
    /// Revoke a device, changing the relay password in the same step.
    DeviceRevoke = "device.revoke" (DeviceRevokeParams) -> DeviceRevokeResult;
    /// Rename a device of the account.
    DeviceRename = "device.rename" (DeviceRenameParams) -> DeviceRenameResult;
    /// Leave a one-time device link on the relay; returns its code.
    DeviceLink = "device.link" (DeviceLinkParams) -> DeviceLinkResult;
    /// The identity and contacts, sealed under a passphrase.
    BackupExport = "backup.export" (BackupExportParams) -> BackupExportResult;
    /// Keep a backup on the relay, sealed again when contacts change.
    BackupEnable = "backup.enable" (BackupEnableParams) -> BackupEnableResult;
    /// Stop keeping a backup on the relay, and delete it there.
    BackupDisable = "backup.disable" (BackupDisableParams) -> BackupDisableResult;
    /// Restore a backup here and join the account as a new device.
    AccountRestore = "account.restore" (AccountRestoreParams) -> AccountRestoreResult;
    /// Join the account as a new device with a code from `device.link`.
    AccountJoin = "account.join" (AccountJoinParams) -> AccountJoinResult;
    /// Own username, fingerprint and key size.
    IdentityShow = "identity.show" (IdentityShowParams) -> IdentityShowResult;
    /// Own contact card, to hand to others.
    IdentityCard = "identity.card" (IdentityCardParams) -> IdentityCardResult;
    /// New key pairs, the directory's card replaced, and a signed transition
    /// for every contact.
    IdentityRotate = "identity.rotate" (IdentityRotateParams) -> IdentityRotateResult;
    /// Add a contact from a card or from the relay directory.
    ContactAdd = "contact.add" (ContactAddParams) -> ContactAddResult;
    /// All contacts.
    ContactList = "contact.list" (ContactListParams) -> ContactListResult;
    /// Forget a contact.
    ContactRemove = "contact.remove" (ContactRemoveParams) -> ContactRemoveResult;
    /// Mark a contact verified after comparing fingerprints out of band.
    ContactVerify = "contact.verify" (ContactVerifyParams) -> ContactVerifyResult;
    /// Accept a contact's changed key after comparing its fingerprint.
    ContactAcceptKey = "contact.accept_key" (ContactAcceptKeyParams) -> ContactAcceptKeyResult;
    /// Refuse a contact's changed key; what waited for it is deleted.
    ContactRefuseKey = "contact.refuse_key" (ContactRefuseKeyParams) -> ContactRefuseKeyResult;
    /// Queue a text message.
    MessageSend = "message.send" (MessageSendParams) -> MessageSendResult;
    /// A page of one conversation's history.
    MessageList = "message.list" (MessageListParams) -> MessageListResult;
    /// One message with its whole body.
    MessageGet = "message.get" (MessageGetParams) -> MessageGetResult;
    /// Edit one's own message, for everyone.
    MessageEdit = "message.edit" (MessageEditParams) -> MessageEditResult;
    /// Delete one's own message, for everyone.
    MessageDelete = "message.delete" (MessageDeleteParams) -> MessageDeleteResult;
    /// React to a message with an emoji, or take the reaction back.
    MessageReact = "message.react" (MessageReactParams) -> MessageReactResult;
    /// Search all history for words.
    MessageSearch = "message.search" (MessageSearchParams) -> MessageSearchResult;
    /// Start streaming a file in, to send it.
    FileUploadStart = "file.upload_start" (FileUploadStartParams) -> FileUploadStartResult;
    /// The next piece of a file being streamed in.
    FileUploadChunk = "file.upload_chunk" (FileUploadChunkParams) -> FileUploadChunkResult;
    /// A file streamed in is whole: the message is committed and sent once
    /// its blob is up.
    FileUploadFinish = "file.upload_finish" (FileUploadFinishParams) -> FileUploadFinishResult;
    /// Give up a file being streamed in.
    FileUploadCancel = "file.upload_cancel" (FileUploadCancelParams) -> FileUploadCancelResult;
    /// Fetch a received file now, whatever its size.
    FileDownload = "file.download" (FileDownloadParams) -> FileDownloadResult;
    /// Read a kept file back, a piece at a time.
    FileRead = "file.read" (FileReadParams) -> FileReadResult;
    /// Creates a group with contacts.
    GroupCreate = "group.create" (GroupCreateParams) -> GroupCreateResult;
    /// Adds contacts to a group (admins only).
    GroupAdd = "group.add" (GroupAddParams) -> GroupAddResult;
    /// Removes members from a group (admins only).
    GroupRemove = "group.remove" (GroupRemoveParams) -> GroupRemoveResult;
    /// Promotes or demotes a member (admins only).
    GroupAdmin = "group.admin" (GroupAdminParams) -> GroupAdminResult;
    /// Renames a group (admins only).
    GroupRename = "group.rename" (GroupRenameParams) -> GroupRenameResult;
    /// Leaves a group.
    GroupLeave = "group.leave" (GroupLeaveParams) -> GroupLeaveResult;
    /// The groups this user is or was in.
    GroupList = "group.list" (GroupListParams) -> GroupListResult;
    /// A group with its members.
    GroupInfo = "group.info" (GroupInfoParams) -> GroupInfoResult;
    /// All conversations, most recent first.
    ConversationList = "conversation.list" (ConversationListParams) -> ConversationListResult;
    /// Mark a conversation's incoming messages read.
    ConversationMarkRead = "conversation.mark_read" (ConversationMarkReadParams) -> ConversationMarkReadResult;
    /// Tell chatd which conversation this frontend shows (no notifications for it).
    ConversationFocus = "conversation.focus" (ConversationFocusParams) -> ConversationFocusResult;
    /// Turn this connection into an event stream.
    Subscribe = "subscribe" (SubscribeParams) -> SubscribeResult;
    /// Stop the daemon cleanly.
    DaemonShutdown = "daemon.shutdown" (DaemonShutdownParams) -> DaemonShutdownResult;
    /// The OpenRPC document describing this API.
    RpcDiscover = "rpc.discover" (RpcDiscoverParams) -> RpcDiscoverResult;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_match_the_wire_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for name in Method::NAMES.iter().chain(Event::NAMES) {
            assert!(seen.insert(*name), "duplicate name {name}");
        }
        assert_eq!(Method::NAMES.len(), 54);
        let m = Method::from(StatusParams {});
        assert_eq!(m.name(), "status");
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"method": "status", "params": {}})
        );
        assert_eq!(<MessageSendParams as Call>::METHOD, "message.send");
    }

    #[test]
    fn wire_enums_round_trip_through_their_names() {
        use std::str::FromStr;
        for s in MessageState::ALL {
            assert_eq!(MessageState::from_str(s.as_str()), Ok(*s));
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
        }
        for s in ConnectionState::ALL {
            assert_eq!(s.as_str().parse::<ConnectionState>(), Ok(*s));
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.to_string()));
        }
        assert_eq!(ConnectionState::LoggedOut.as_str(), "logged_out");
        assert_eq!(Direction::In.as_str(), "in");
        let err = "queud".parse::<MessageState>().unwrap_err();
        assert_eq!(err.to_string(), "unknown MessageState `queud`");
        let mut d = DroppedCounters::default();
        *d.get_mut(DropReason::Replay) += 2;
        assert_eq!(d.replay, 2);
        assert_eq!(d.get(DropReason::Replay), 2);
        assert_eq!(d.iter().count(), DropReason::ALL.len());
    }

    #[test]
    fn results_decode_by_the_method_they_answer() {
        let m = Method::from(MessageSendParams {
            to: "bob".into(),
            body: "hi".into(),
            reply_to: None,
        });
        let r = m.decode_result(json!({"id": "ab", "ts": 9})).unwrap();
        assert_eq!(
            r,
            MethodResult::MessageSend(MessageSendResult {
                id: "ab".into(),
                ts: 9
            })
        );
        assert_eq!(r.name(), "message.send");
        assert!(m.decode_result(json!({"contacts": []})).is_err());
    }
}
