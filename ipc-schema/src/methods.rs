//! The methods chatd offers on its local socket, their params and results, and
//! the events it pushes to subscribers (DESIGN §6).
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
#![warn(missing_docs)]

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::jsonrpc::{JsonRpc2, Notification, Response};
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
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
            type Err = UnknownName;

            fn from_str(s: &str) -> Result<Self, UnknownName> {
                match s {
                    $( $wire => Ok($name::$variant), )*
                    other => Err(UnknownName {
                        kind: stringify!($name),
                        name: other.to_owned(),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
            /// Every method name, in the order of DESIGN §6.
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
    /// Own username, fingerprint and key size.
    IdentityShow = "identity.show" (IdentityShowParams) -> IdentityShowResult;
    /// Own contact card, to hand to others.
    IdentityCard = "identity.card" (IdentityCardParams) -> IdentityCardResult;
    /// Add a contact from a card or from the relay directory.
    ContactAdd = "contact.add" (ContactAddParams) -> ContactAddResult;
    /// All contacts.
    ContactList = "contact.list" (ContactListParams) -> ContactListResult;
    /// Forget a contact.
    ContactRemove = "contact.remove" (ContactRemoveParams) -> ContactRemoveResult;
    /// Mark a contact verified after comparing fingerprints out of band.
    ContactVerify = "contact.verify" (ContactVerifyParams) -> ContactVerifyResult;
    /// Queue a text message.
    MessageSend = "message.send" (MessageSendParams) -> MessageSendResult;
    /// A page of one conversation's history.
    MessageList = "message.list" (MessageListParams) -> MessageListResult;
    /// One message with its whole body.
    MessageGet = "message.get" (MessageGetParams) -> MessageGetResult;
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

// ---------------------------------------------------------------------------
// Shared views

wire_enum! {
    /// The daemon's link to its relay.
    pub enum ConnectionState {
        /// Logged in and the last relay request succeeded.
        Online = "online",
        /// Logged in, but the relay cannot be reached; chatd retries with backoff.
        Offline = "offline",
        /// Logged in and (re)connecting.
        Connecting = "connecting",
        /// No account, or no valid session: nothing is sent or received.
        LoggedOut = "logged_out",
    }
}

wire_enum! {
    /// Why chatd dropped an envelope instead of showing it.
    pub enum DropReason {
        /// Refused by the shape checks.
        Malformed = "malformed",
        /// From someone who is not a contact.
        UnknownSender = "unknown_sender",
        /// The signature did not verify (or anything else before decryption).
        BadSignature = "bad_signature",
        /// Signed correctly, but could not be opened.
        Undecryptable = "undecryptable",
        /// Seen before.
        Replay = "replay",
    }
}

impl DroppedCounters {
    /// The counter for `reason`.
    pub fn get_mut(&mut self, reason: DropReason) -> &mut u64 {
        match reason {
            DropReason::Malformed => &mut self.malformed,
            DropReason::UnknownSender => &mut self.unknown_sender,
            DropReason::BadSignature => &mut self.bad_signature,
            DropReason::Undecryptable => &mut self.undecryptable,
            DropReason::Replay => &mut self.replay,
        }
    }

    /// The counter for `reason`.
    pub fn get(&self, reason: DropReason) -> u64 {
        let mut copy = *self;
        *copy.get_mut(reason)
    }

    /// Every counter with its reason, in [`DropReason::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL.iter().map(|&r| (r, self.get(r)))
    }
}

/// Counters of envelopes chatd dropped instead of showing, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DroppedCounters {
    /// Refused by the shape checks (bad JSON, sizes, version, or not addressed to us).
    pub malformed: u64,
    /// From someone who is not a contact.
    pub unknown_sender: u64,
    /// The signature did not verify against the contact's pinned key.
    pub bad_signature: u64,
    /// Signed correctly but the key unwrap, MAC, decryption or payload failed.
    pub undecryptable: u64,
    /// An (`from`, `id`) pair seen before.
    pub replay: u64,
}

/// A pinned contact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// The contact's username.
    pub user: String,
    /// Fingerprint of the pinned card, grouped hex.
    pub fingerprint: String,
    /// Whether the user confirmed the fingerprint out of band.
    pub verified: bool,
    /// When the contact was added (ms).
    pub added_at: u64,
}

wire_enum! {
    /// Which way a message went.
    pub enum Direction {
        /// Received from the peer.
        In = "in",
        /// Sent by us.
        Out = "out",
    }
}

wire_enum! {
    /// Where a message is in its life.
    ///
    /// Outgoing: `queued → sent → delivered → read`, or `failed`. Incoming messages
    /// are `delivered` until marked read, then `read`.
    pub enum MessageState {
        /// Committed locally, not yet accepted by the relay.
        Queued = "queued",
        /// Stored by the relay.
        Sent = "sent",
        /// The recipient's daemon committed it (or, incoming: we did).
        Delivered = "delivered",
        /// The recipient read it (or, incoming: we did).
        Read = "read",
        /// Given up on; `failure` says why.
        Failed = "failed",
    }
}

impl MessageState {
    /// Order of outgoing states: a late `delivered` never overwrites `read`,
    /// and nothing moves a message out of `failed`.
    pub fn rank(self) -> u8 {
        match self {
            MessageState::Queued => 0,
            MessageState::Sent => 1,
            MessageState::Delivered => 2,
            MessageState::Read => 3,
            MessageState::Failed => 4,
        }
    }
}

/// One message as frontends show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    /// Envelope id, 32 lowercase hex digits.
    pub id: String,
    /// Sender's username.
    pub from: String,
    /// Recipient's username.
    pub to: String,
    /// Sender's timestamp (ms).
    pub ts: u64,
    /// Incoming or outgoing.
    pub direction: Direction,
    /// The payload `type`: `"text"`, or an unknown type kept and shown as unsupported.
    pub kind: String,
    /// The text for `kind == "text"`; `null` for unsupported payloads.
    pub body: Option<String>,
    /// Id of the message this one answers.
    pub reply_to: Option<String>,
    /// Delivery state.
    pub state: MessageState,
    /// Why it failed, when `state` is `failed`.
    pub failure: Option<String>,
    /// This daemon's own order of the message: a sequence number given when
    /// it was received or queued, never the sender's clock. History is
    /// ordered and paged by it (`message.list` `before`).
    pub seq: u64,
    /// True when `body` is cut short: `message.list` sends at most
    /// [`LIST_BODY_MAX`] bytes of each body; `message.get` returns all of it.
    #[serde(default)]
    pub truncated: bool,
}

/// Longest body `message.list` sends whole; a longer one is cut at a
/// character boundary and marked `truncated` (a few 4 MiB texts must not
/// make a page too large to send).
pub const LIST_BODY_MAX: usize = 64 * 1024;

/// Most body bytes in one `message.list` page: a page stops before the
/// message that would go past it (one message is always returned).
pub const LIST_PAGE_BYTES: usize = 1024 * 1024;

/// One line of the conversation list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationView {
    /// The other party.
    pub peer: String,
    /// Short preview of the last message (first line, shortened by chatd).
    pub last_message: Option<String>,
    /// Timestamp of the last message (ms).
    pub last_ts: Option<u64>,
    /// Incoming messages not yet marked read.
    pub unread: u64,
    /// Whether the peer is a verified contact.
    pub verified: bool,
}

// ---------------------------------------------------------------------------
// hello

/// Params of `hello`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HelloParams {
    /// The protocol the frontend speaks; [`PROTOCOL_VERSION`].
    pub protocol: u32,
    /// The frontend's name and version, e.g. `chat-ctl/0.1.0`, for logs.
    pub client: String,
}

/// Result of `hello`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloResult {
    /// The protocol chatd speaks (equal to the one asked for, or the call fails).
    pub protocol: u32,
    /// chatd's version.
    pub version: String,
    /// The logged-in or registered user, if any.
    pub user: Option<String>,
}

// ---------------------------------------------------------------------------
// status

/// Params of `status` (none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusParams {}

/// Result of `status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusResult {
    /// chatd's version.
    pub version: String,
    /// The registered user, if any.
    pub user: Option<String>,
    /// Own fingerprint, if registered.
    pub fingerprint: Option<String>,
    /// The relay this account lives on, if registered.
    pub relay_url: Option<String>,
    /// The link to the relay.
    pub connection: ConnectionState,
    /// Incoming messages not yet read, over all conversations.
    pub unread: u64,
    /// Outgoing messages not yet accepted by the relay.
    pub outbox_pending: u64,
    /// Envelopes dropped since the account was created.
    pub dropped: DroppedCounters,
}

// ---------------------------------------------------------------------------
// account.*

/// Params of `account.register`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountRegisterParams {
    /// Base URL of the relay, e.g. `https://relay.example.org`.
    pub relay_url: String,
    /// The username to claim.
    pub username: String,
    /// The relay account's password.
    pub password: Secret,
    /// Invite code, for relays that require one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite: Option<String>,
    /// RSA modulus size for the new keys: 2048, 3072 (default) or 4096.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_bits: Option<u32>,
}

/// Result of `account.register`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRegisterResult {
    /// The registered username.
    pub user: String,
    /// The new identity's fingerprint.
    pub fingerprint: String,
    /// The relay it lives on.
    pub relay_url: String,
}

/// Params of `account.login`; user and relay are the registered ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountLoginParams {
    /// The relay account's password.
    pub password: Secret,
}

/// Result of `account.login`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountLoginResult {
    /// The logged-in user.
    pub user: String,
    /// When the relay session expires (ms).
    pub expires_at: u64,
}

/// Params of `account.logout` (none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountLogoutParams {}

/// Result of `account.logout` (empty).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountLogoutResult {}

/// Params of `account.delete`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountDeleteParams {
    /// The relay account's password, asked again on purpose.
    pub password: Secret,
}

/// Result of `account.delete` (empty).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDeleteResult {}

// ---------------------------------------------------------------------------
// identity.*

/// Params of `identity.show` (none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityShowParams {}

/// Result of `identity.show`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityShowResult {
    /// Own username.
    pub user: String,
    /// Own fingerprint, grouped hex.
    pub fingerprint: String,
    /// RSA modulus size of both key pairs.
    pub key_bits: u32,
}

/// Params of `identity.card` (none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityCardParams {}

/// Result of `identity.card`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityCardResult {
    /// The contact card: `{"v":1,"user":…,"enc":…,"sig":…}`.
    pub card: Value,
}

// ---------------------------------------------------------------------------
// contact.*

/// Params of `contact.add`: one of two forms, told apart by the `card` member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ContactAddParams {
    /// `{card}`: a card received in person, by file or QR code.
    Card {
        /// The contact card JSON.
        card: Value,
    },
    /// `{user, fingerprint}`: fetch the card from the relay directory and pin it
    /// only if its fingerprint matches the one the user got out of band.
    Directory {
        /// The username to look up.
        user: String,
        /// The fingerprint the card must have.
        fingerprint: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactAddCard {
    card: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactAddDirectory {
    user: String,
    fingerprint: String,
}

impl<'de> Deserialize<'de> for ContactAddParams {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(deserializer)?;
        let form = if map.contains_key("card") {
            serde_json::from_value::<ContactAddCard>(Value::Object(map))
                .map(|f| ContactAddParams::Card { card: f.card })
        } else if map.contains_key("user") || map.contains_key("fingerprint") {
            serde_json::from_value::<ContactAddDirectory>(Value::Object(map)).map(|f| {
                ContactAddParams::Directory {
                    user: f.user,
                    fingerprint: f.fingerprint,
                }
            })
        } else {
            return Err(de::Error::custom(
                "expected `card`, or `user` and `fingerprint`",
            ));
        };
        form.map_err(de::Error::custom)
    }
}

/// Result of `contact.add`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactAddResult {
    /// The new contact.
    pub contact: Contact,
}

/// Params of `contact.list` (none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactListParams {}

/// Result of `contact.list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactListResult {
    /// All contacts, by username.
    pub contacts: Vec<Contact>,
}

/// Params of `contact.remove`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactRemoveParams {
    /// The contact to forget; history is kept.
    pub user: String,
}

/// Result of `contact.remove` (empty).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRemoveResult {}

/// Params of `contact.verify`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactVerifyParams {
    /// The contact to mark verified.
    pub user: String,
    /// The fingerprint the user compared; must equal the pinned one, so a
    /// frontend verifies exactly what it showed.
    pub fingerprint: String,
}

/// Result of `contact.verify`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactVerifyResult {
    /// The contact, now verified.
    pub contact: Contact,
}

// ---------------------------------------------------------------------------
// message.*

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
    /// Page size; [`MESSAGE_LIST_DEFAULT_LIMIT`] when absent, at most [`MESSAGE_LIST_MAX_LIMIT`].
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

// ---------------------------------------------------------------------------
// conversation.*

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

// ---------------------------------------------------------------------------
// subscribe, daemon.shutdown, rpc.discover

/// Params of `subscribe`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscribeParams {
    /// Replay stored events with `seq > after` first; only new events when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
}

/// Result of `subscribe`; the events follow it on the same connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscribeResult {
    /// Always true.
    pub subscribed: bool,
    /// The newest event's `seq` at the time of subscribing (0 when none); resume from it.
    pub last_seq: u64,
}

/// Params of `daemon.shutdown` (none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonShutdownParams {}

/// Result of `daemon.shutdown` (empty); sent before the daemon stops.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonShutdownResult {}

/// Params of `rpc.discover` (none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RpcDiscoverParams {}

/// Result of `rpc.discover`: the OpenRPC document itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RpcDiscoverResult(pub Value);

// ---------------------------------------------------------------------------
// Events

/// Payload of `message.received`: a new message in the store.
///
/// Sent for outgoing messages too (`direction: "out"`), so that every frontend
/// sees what another one sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageReceivedEvent {
    /// The message.
    pub message: MessageView,
}

/// Payload of `message.state`: a message moved to another state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageStateEvent {
    /// The message's id.
    pub id: String,
    /// The conversation it belongs to.
    pub peer: String,
    /// Its new state.
    pub state: MessageState,
    /// Why it failed, when `state` is `failed`.
    pub failure: Option<String>,
}

wire_enum! {
    /// What happened to a contact.
    pub enum ContactChange {
        /// Newly pinned.
        Added = "added",
        /// Forgotten.
        Removed = "removed",
        /// Marked verified.
        Verified = "verified",
    }
}

/// Payload of `contact.changed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactChangedEvent {
    /// What happened.
    pub change: ContactChange,
    /// The contact after the change (as it was, for `removed`).
    pub contact: Contact,
}

/// Payload of `connection.changed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionChangedEvent {
    /// The new state of the relay link.
    pub connection: ConnectionState,
    /// Why the link went down, when it did.
    pub error: Option<String>,
}

/// Something that happened in chatd, pushed to subscribers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// `message.received`
    MessageReceived(MessageReceivedEvent),
    /// `message.state`
    MessageState(MessageStateEvent),
    /// `contact.changed`
    ContactChanged(ContactChangedEvent),
    /// `connection.changed`
    ConnectionChanged(ConnectionChangedEvent),
}

impl Event {
    /// Every event name.
    pub const NAMES: &'static [&'static str] = &[
        "message.received",
        "message.state",
        "contact.changed",
        "connection.changed",
    ];

    /// This event's name, which is the notification's `method`.
    pub fn name(&self) -> &'static str {
        match self {
            Event::MessageReceived(_) => "message.received",
            Event::MessageState(_) => "message.state",
            Event::ContactChanged(_) => "contact.changed",
            Event::ConnectionChanged(_) => "connection.changed",
        }
    }
}

/// A persisted event as one notification: the event name is the `method`, and
/// `params` holds `seq` and `ts` followed by the event's own fields:
///
/// `{"jsonrpc":"2.0","method":"message.state","params":{"seq":7,"ts":…,"id":…,…}}`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventEnvelope {
    /// Position in chatd's event log, strictly increasing; resume with `subscribe {after: seq}`.
    pub seq: u64,
    /// When chatd recorded the event (ms).
    pub ts: u64,
    /// What happened.
    pub event: Event,
}

#[derive(Serialize)]
struct EventParams<'a, E> {
    seq: u64,
    ts: u64,
    #[serde(flatten)]
    event: &'a E,
}

impl Serialize for EventEnvelope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        fn out<S: Serializer, E: Serialize>(
            serializer: S,
            env: &EventEnvelope,
            event: &E,
        ) -> Result<S::Ok, S::Error> {
            let mut st = serializer.serialize_struct("Notification", 3)?;
            st.serialize_field("jsonrpc", &JsonRpc2)?;
            st.serialize_field("method", env.event.name())?;
            st.serialize_field(
                "params",
                &EventParams {
                    seq: env.seq,
                    ts: env.ts,
                    event,
                },
            )?;
            st.end()
        }
        match &self.event {
            Event::MessageReceived(e) => out(serializer, self, e),
            Event::MessageState(e) => out(serializer, self, e),
            Event::ContactChanged(e) => out(serializer, self, e),
            Event::ConnectionChanged(e) => out(serializer, self, e),
        }
    }
}

impl EventEnvelope {
    /// Reads an event out of a notification; refuses unknown event names.
    pub fn from_notification(
        notification: Notification<Map<String, Value>>,
    ) -> Result<Self, serde_json::Error> {
        let Notification {
            method, mut params, ..
        } = notification;
        let mut take_u64 = |key: &str| {
            params.remove(key).and_then(|v| v.as_u64()).ok_or_else(|| {
                <serde_json::Error as de::Error>::custom(format!(
                    "event `{method}` needs an integer `{key}`"
                ))
            })
        };
        let seq = take_u64("seq")?;
        let ts = take_u64("ts")?;
        let params = Value::Object(params);
        let event = match method.as_str() {
            "message.received" => Event::MessageReceived(serde_json::from_value(params)?),
            "message.state" => Event::MessageState(serde_json::from_value(params)?),
            "contact.changed" => Event::ContactChanged(serde_json::from_value(params)?),
            "connection.changed" => Event::ConnectionChanged(serde_json::from_value(params)?),
            other => return Err(de::Error::custom(format!("unknown event `{other}`"))),
        };
        Ok(EventEnvelope { seq, ts, event })
    }
}

impl<'de> Deserialize<'de> for EventEnvelope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let notification = Notification::<Map<String, Value>>::deserialize(deserializer)?;
        EventEnvelope::from_notification(notification).map_err(de::Error::custom)
    }
}

/// Anything chatd writes to a frontend: a response, an event, or a notification
/// this version does not know (a frontend should skip it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerMessage {
    /// The answer to a call.
    Response(Response),
    /// An event, on a subscribed connection.
    Event(EventEnvelope),
    /// A notification with a method this version does not know.
    Unknown(Notification),
}

impl ServerMessage {
    /// Parses one frame from chatd: objects with an `id` are responses, the rest notifications.
    pub fn from_slice(frame: &[u8]) -> Result<Self, serde_json::Error> {
        let value: Value = serde_json::from_slice(frame)?;
        if value.get("id").is_some() {
            return serde_json::from_value(value).map(ServerMessage::Response);
        }
        let notification: Notification<Map<String, Value>> = serde_json::from_value(value)?;
        if Event::NAMES.contains(&notification.method.as_str()) {
            EventEnvelope::from_notification(notification).map(ServerMessage::Event)
        } else {
            let Notification { method, params, .. } = notification;
            Ok(ServerMessage::Unknown(Notification::new(
                method,
                Value::Object(params),
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonrpc::{Id, Request};
    use serde_json::json;

    #[test]
    fn passwords_never_show_in_debug_output() {
        let req = Request::new(
            Id::Number(1),
            AccountLoginParams {
                password: Secret::new("hunter2"),
            },
        );
        let dbg = format!("{req:?} {req:#?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        // It still travels: the daemon needs it.
        let wire = serde_json::to_string(&req).unwrap();
        assert!(
            wire.contains(r#""params":{"password":"hunter2"}"#),
            "{wire}"
        );
    }

    #[test]
    fn names_match_the_wire_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for name in Method::NAMES.iter().chain(Event::NAMES) {
            assert!(seen.insert(*name), "duplicate name {name}");
        }
        assert_eq!(Method::NAMES.len(), 21);
        let m = Method::from(StatusParams {});
        assert_eq!(m.name(), "status");
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"method": "status", "params": {}})
        );
        assert_eq!(<MessageSendParams as Call>::METHOD, "message.send");
    }

    #[test]
    fn contact_add_takes_exactly_one_of_two_forms() {
        let parse = |v: Value| serde_json::from_value::<ContactAddParams>(v);
        assert!(matches!(
            parse(json!({"card": {"v": 1}})).unwrap(),
            ContactAddParams::Card { .. }
        ));
        assert!(matches!(
            parse(json!({"user": "bob", "fingerprint": "ab"})).unwrap(),
            ContactAddParams::Directory { .. }
        ));
        for bad in [
            json!({}),
            json!({"user": "bob"}),
            json!({"card": {}, "user": "bob"}),
            json!({"user": "bob", "fingerprint": "ab", "verified": true}),
            json!({"name": "bob"}),
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
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

    #[test]
    fn events_refuse_missing_seq_and_unknown_names_are_skippable() {
        let no_seq = br#"{"jsonrpc":"2.0","method":"connection.changed","params":{"ts":1,"connection":"online","error":null}}"#;
        assert!(ServerMessage::from_slice(no_seq).is_err());
        let future = br#"{"jsonrpc":"2.0","method":"typing.started","params":{"seq":1}}"#;
        assert!(matches!(
            ServerMessage::from_slice(future).unwrap(),
            ServerMessage::Unknown(n) if n.method == "typing.started"
        ));
        assert!(serde_json::from_slice::<EventEnvelope>(future).is_err());
        let response = br#"{"jsonrpc":"2.0","id":1,"result":{}}"#;
        assert!(matches!(
            ServerMessage::from_slice(response).unwrap(),
            ServerMessage::Response(_)
        ));
    }
}
