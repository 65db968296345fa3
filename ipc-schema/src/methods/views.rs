//! What several results and events share: contacts, messages, conversation
//! lines, and the wire enums for states and reasons.

use serde::{Deserialize, Serialize};

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
        /// A group message from someone who did not become a member within
        /// 10 minutes (docs/PROTOCOL.md §9.5).
        NotAMember = "not_a_member",
        /// A roster change that does not count (docs/PROTOCOL.md §9.3).
        BadRoster = "bad_roster",
        /// An edit, delete or reaction naming a message the reader does not
        /// have, or may not be changed by its sender (docs/PROTOCOL.md §14.2).
        BadTarget = "bad_target",
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
            DropReason::NotAMember => &mut self.not_a_member,
            DropReason::BadRoster => &mut self.bad_roster,
            DropReason::BadTarget => &mut self.bad_target,
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
    /// Group messages from someone not in the group's roster.
    #[serde(default)]
    pub not_a_member: u64,
    /// Roster changes that did not count (forged, from a non-admin, stale).
    #[serde(default)]
    pub bad_roster: u64,
    /// Edits, deletes and reactions of messages not there, or not the
    /// sender's to change.
    #[serde(default)]
    pub bad_target: u64,
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
    /// Another key the relay's directory has for the contact, seen when
    /// their envelopes stopped verifying, and not accepted (grouped hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_fingerprint: Option<String>,
    /// Envelopes from the contact waiting in quarantine for a decision on
    /// that key.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub quarantined: u64,
    /// Envelopes from the contact lost so far: signed by a key that was
    /// neither pinned nor accepted (forged, refused, expired, or over the
    /// quarantine's caps).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped: u64,
    /// The contact's key was continued by a signed rotation (their previous
    /// key signed the new one), and the user has not verified the new
    /// fingerprint yet: "verified, continued by signed rotation" when
    /// `verified`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rotated: bool,
    /// Two different signed rotations came from one key of the contact
    /// (someone else holds it): nothing from or to the contact moves until
    /// the user accepts one of the two fingerprints, `fingerprint` or
    /// `pending_fingerprint` (docs/PROTOCOL.md §13.4).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub frozen: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
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
    /// The group's id for a group message (then `to` is `#` and the id for
    /// an outgoing one); `null` otherwise.
    #[serde(default)]
    pub group: Option<String>,
    /// For an outgoing group message: each member's delivery, by username
    /// ("delivered to 7 of 9"); empty otherwise.
    #[serde(default)]
    pub deliveries: Vec<super::group::DeliveryView>,
    /// Its author edited it: `body` is the latest version.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub edited: bool,
    /// Its author deleted it for everyone: `body` is `null`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// Reactions, one per person: each emoji with who chose it, in the order
    /// they were first chosen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<ReactionView>,
    /// For `kind == "file"`: the file (then `body` is its name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<Box<FileView>>,
}

/// Where a file of a message is (docs/IPC.md, `file.*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    /// Being sent: the blob is going up to the relay (the message follows).
    Uploading,
    /// Sent from this device; not kept here (`file.download` fetches it).
    Uploaded,
    /// Received; bigger than the automatic download limit, or not fetched
    /// yet: `file.download` asks for it.
    Waiting,
    /// Being fetched from the relay.
    Downloading,
    /// Checked (every chunk and the SHA-256) and kept: `file.read` reads it.
    Ready,
    /// Could not be sent or received: `failure` says why.
    Failed,
}

/// A message's file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileView {
    /// Its name, made safe (docs/PROTOCOL.md §15.4): never a path, no
    /// control characters; still a peer's text.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// The media type the sender gave.
    pub media_type: String,
    /// Where it is.
    pub state: FileState,
    /// Bytes moved so far while uploading or downloading.
    #[serde(default)]
    pub done: u64,
    /// Why, when `state` is `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// One emoji reacted to a message, and who chose it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionView {
    /// The emoji (a peer's text: sanitize before showing).
    pub emoji: String,
    /// Who reacted with it, this user included.
    pub users: Vec<String>,
}

impl MessageView {
    /// For an outgoing group message: how many members have it (delivered
    /// or read) and how many it went to, "2 of 3"; `None` otherwise.
    pub fn delivered_of(&self) -> Option<(usize, usize)> {
        if self.deliveries.is_empty() {
            return None;
        }
        let have = self
            .deliveries
            .iter()
            .filter(|d| matches!(d.state, MessageState::Delivered | MessageState::Read))
            .count();
        Some((have, self.deliveries.len()))
    }
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

/// One URL of the account's relay (`status`, `relay.urls`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayUrlView {
    /// The base URL.
    pub url: String,
    /// Requests go here now (exactly one URL is in use).
    pub in_use: bool,
    /// Why the last request here failed (unreachable, TLS refused, the
    /// relay shutting down); `null` once it answers again.
    pub failure: Option<String>,
    /// When that was (ms).
    pub failed_at: Option<u64>,
}

/// How chatd checks its relay's certificate (`status`, `relay.trust`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayTrustView {
    /// Plain `http://` to a host that is not this machine is allowed.
    pub insecure_http: bool,
    /// The extra CA trusted, as its subject and the SHA-256 of the
    /// certificate (`null`: the system's roots only).
    pub ca: Option<String>,
    /// The pinned SHA-256 of the relay's SubjectPublicKeyInfo, 64 hex.
    pub pin: Option<String>,
}
