//! Everything the screen shows, in one struct that `update` changes and `draw` reads.

use std::collections::HashMap;

use ipc_schema::Secret;
use ipc_schema::methods::{
    ConnectionState, Contact, ConversationView, DeviceLinkResult, DeviceView, IdentityShowResult,
    MessageView, SearchHit,
};
use ratatui::layout::Rect;

use crate::app::composer::Composer;
use crate::app::masked::MaskedInput;
use crate::layout::Areas;
use crate::qr::Qr;
use crate::theme::Theme;
use ipc_schema::time::TimeZone;

/// Which pane has the keyboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    /// The conversation list.
    List,
    /// The message pane.
    Messages,
    /// The composer.
    Composer,
}

/// The link between this frontend and chatd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DaemonLink {
    /// Not connected yet.
    Connecting,
    /// Connected and subscribed.
    Online,
    /// chatd is unreachable; the backend retries every second.
    Offline {
        /// Why the last attempt failed.
        reason: String,
    },
}

/// A window drawn over the panes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Overlay {
    /// The key reference.
    Help,
    /// The contacts view.
    Contacts(ContactsView),
    /// Own identity: fingerprint and a QR code of the card.
    Identity,
    /// The open group's members.
    Members(MembersView),
    /// The fuzzy conversation picker.
    Picker(Picker),
    /// The account's devices: revoke one, rename one, link a new machine.
    Devices(DevicesView),
    /// A question about the selected message (delete it, which emoji,
    /// where to save its file), or the path of a file to send.
    Message(MessagePrompt),
    /// The search prompt and its hits ([`AppState::search`]).
    Search,
}

/// A question about one message of the open conversation, or about a file
/// to send into it, asked over the message pane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessagePrompt {
    /// y/n before deleting one's own message for everyone.
    Delete {
        /// The message's id: exactly what `y` sends.
        id: String,
        /// Its first line (own text, drawn through `truncate` all the same).
        quote: String,
    },
    /// Which emoji: a quick choice by its number, or one typed.
    React {
        /// The message.
        key: MessageKey,
        /// The emoji being typed.
        input: Composer,
        /// Why the typed one was refused.
        error: Option<String>,
    },
    /// Where to save a file message's file: a path, prefilled with
    /// `~/Downloads/` and the shown name.
    SaveFile {
        /// The message.
        key: MessageKey,
        /// The path being typed.
        input: Composer,
        /// Why the typed one was refused.
        error: Option<String>,
    },
    /// The path of a file to send into the open conversation, typed in
    /// an empty prompt (`a`).
    SendFile {
        /// The path being typed.
        input: Composer,
        /// Why the typed one was refused.
        error: Option<String>,
    },
    /// y/N before opening a file whose type is unknown or may run
    /// something ([`ipc_schema::files::opening_is_risky`]).
    OpenRisky {
        /// The message.
        key: MessageKey,
        /// The file's shown name (a peer's text: drawn through `wrap`).
        name: String,
        /// The media type the sender gave.
        media_type: String,
    },
}

/// Names one message of a conversation: ids are unique per sender, so the
/// sender is part of the name (a hostile peer can reuse one of ours).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageKey {
    /// The message's id.
    pub id: String,
    /// Its sender.
    pub from: String,
}

impl MessageKey {
    /// The key of `m`.
    pub fn of(m: &MessageView) -> Self {
        MessageKey {
            id: m.id.clone(),
            from: m.from.clone(),
        }
    }

    /// Whether `m` is the message this key names.
    pub fn names(&self, m: &MessageView) -> bool {
        m.id == self.id && m.from == self.from
    }
}

/// What the composer's Enter does when it is not a plain new message; one
/// per conversation, beside its draft.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ComposeMode {
    /// A reply: the text goes with `reply_to`.
    Reply {
        /// The message answered.
        to: MessageKey,
        /// Its first line, for the composer's title (peer text: drawn
        /// through `truncate`).
        quote: String,
    },
    /// A new text for one of one's own messages: Enter sends `message.edit`.
    Edit {
        /// The message's id.
        id: String,
        /// The draft there was before, given back once the edit is sent or
        /// cancelled.
        stashed: Composer,
    },
}

/// The devices view: the account's devices, at most one prompt over them,
/// or a one-time link code in their place. Closing it drops everything,
/// which zeroizes the passwords typed and the code.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DevicesView {
    /// `device.list`, active devices first; `None` until it came.
    pub devices: Option<Vec<DeviceView>>,
    /// Index of the highlighted device.
    pub selected: usize,
    /// The prompt being answered, if any.
    pub prompt: Option<DevicePrompt>,
    /// The link made for a new machine, shown instead of the list until
    /// Esc or its expiry; its `code` is a [`Secret`].
    pub link: Option<DeviceLinkResult>,
    /// The call on its way, as the user reads it (`revoking 'laptop'…`).
    pub pending: Option<String>,
    /// The last call's outcome, or why the input was refused.
    pub message: Option<Result<String, String>>,
}

/// A question the devices view asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DevicePrompt {
    /// Revoking a device, one step after the other.
    Revoke(Revoke),
    /// A new name for a device.
    Rename {
        /// The device's id.
        id: String,
        /// Its name now (the relay's text: sanitize before drawing).
        name: String,
        /// The new name being typed.
        input: Composer,
    },
}

/// A revocation being prepared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revoke {
    /// The device's id.
    pub id: String,
    /// Its name (the relay's text: sanitize before drawing).
    pub name: String,
    /// How far the user got.
    pub step: RevokeStep,
}

/// The steps of a revocation: confirm, then the passwords. Each step holds
/// the secrets typed so far and nothing else sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevokeStep {
    /// y/n, with what revoking does spelled out.
    Confirm,
    /// The current relay password.
    Current(MaskedInput),
    /// The new relay password.
    New {
        /// The current password, as typed.
        password: Secret,
        /// The new one, being typed.
        input: MaskedInput,
    },
    /// The new relay password again.
    Repeat {
        /// The current password, as typed.
        password: Secret,
        /// The new one, as typed the first time.
        new_password: Secret,
        /// The new one, being typed again.
        input: MaskedInput,
    },
}

/// The members view: the highlight and an open prompt.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MembersView {
    /// Index into the members.
    pub selected: usize,
    /// Adding someone, or confirming a removal.
    pub prompt: Option<MemberPrompt>,
    /// What the last change did (or why it failed).
    pub message: Option<String>,
}

/// A prompt of the members view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberPrompt {
    /// The username of a contact to add.
    Add(Composer),
    /// Remove this member? (y/n)
    Remove {
        /// The member.
        user: String,
    },
}

/// The fuzzy conversation picker's query and highlight.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Picker {
    /// What is typed.
    pub query: Composer,
    /// Index into the matches, best first.
    pub selected: usize,
}

/// Own identity, as chatd reports it, with the card's QR code ready to draw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// `identity.show`.
    pub show: IdentityShowResult,
    /// The card as one line of JSON.
    pub card: String,
    /// The card's QR code, or why there is none.
    pub qr: Result<Qr, String>,
}

/// The contacts view: a list, and at most one prompt over it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContactsView {
    /// Index of the highlighted contact.
    pub selected: usize,
    /// The prompt being answered, if any.
    pub prompt: Option<ContactPrompt>,
    /// A call is on its way; its answer clears the prompt or shows the error.
    pub busy: bool,
    /// chatd's last answer to a prompt, or a local input error.
    pub message: Option<Result<String, String>>,
}

/// A question the contacts view asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContactPrompt {
    /// `a`: a card file path, or `USER FINGERPRINT…`.
    Add(Composer),
    /// `v`: the fingerprint the user got out of band, for `user`.
    Verify {
        /// The contact.
        user: String,
        /// What was typed or pasted.
        input: Composer,
    },
    /// `d`: y/n before forgetting `user`.
    Remove {
        /// The contact.
        user: String,
    },
    /// `A` on a frozen contact: `1` or `2`, which of its two fingerprints
    /// to accept; the choice is then confirmed as [`ContactPrompt::AcceptKey`].
    ChooseKey {
        /// The contact.
        user: String,
        /// Choice 1, grouped: the pinned fingerprint, the card it rotated
        /// to first.
        first: String,
        /// Choice 2, grouped: the other card's fingerprint.
        second: String,
    },
    /// `A`: y/n before pinning `user`'s changed key, with its fingerprint
    /// shown again.
    AcceptKey {
        /// The contact.
        user: String,
        /// The new fingerprint as the prompt shows it (grouped): what `y`
        /// sends, whatever the list says by then.
        fingerprint: String,
        /// Which of a frozen contact's two fingerprints it is; `None` for a
        /// plain changed key.
        choice: Option<KeyChoice>,
    },
    /// `R`: y/n before keeping `user`'s old key and deleting what waited.
    RefuseKey {
        /// The contact.
        user: String,
    },
}

/// One of a frozen contact's two fingerprints (docs/PROTOCOL.md §13.4),
/// numbered as the contacts view shows them. Neither is known to be right.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyChoice {
    /// `1`: the pinned fingerprint, the card the contact rotated to first.
    First,
    /// `2`: the pending fingerprint, the other card.
    Second,
}

impl KeyChoice {
    /// The number the user presses for it.
    pub fn number(self) -> u8 {
        match self {
            KeyChoice::First => 1,
            KeyChoice::Second => 2,
        }
    }

    /// The fingerprint it names in (choice 1, choice 2).
    pub fn of<'a>(self, first: &'a str, second: &'a str) -> &'a str {
        match self {
            KeyChoice::First => first,
            KeyChoice::Second => second,
        }
    }
}

/// A search of the whole history through chatd (`message.search`): the
/// words typed, the hits so far and the highlight. It outlives its window,
/// so that n/N go on through the hits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Search {
    /// The words being typed.
    pub input: Composer,
    /// Only this conversation (a contact, or `#` and a group's id); all
    /// conversations when `None`.
    pub scope: Option<String>,
    /// The words and scope the hits are for; `None` before the first search.
    pub searched: Option<SearchQuery>,
    /// The hits, newest first (peers' text: sanitize before drawing).
    pub hits: Vec<SearchHit>,
    /// Whether chatd has older hits than the last one.
    pub has_more: bool,
    /// Index of the highlighted hit.
    pub selected: usize,
    /// The hit last jumped to, which n/N step from.
    pub current: Option<usize>,
    /// Whether a `message.search` is on its way.
    pub loading: bool,
}

/// What a `message.search` asked for; an answer to anything else is stale.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchQuery {
    /// The words, as sent.
    pub query: String,
    /// The conversation searched, or all of them.
    pub peer: Option<String>,
}

/// A message the open conversation is loading older pages to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Jump {
    /// The message.
    pub target: MessageKey,
    /// Its `seq`: once a loaded page starts at or before it, it is either
    /// loaded or gone.
    pub seq: u64,
    /// Older pages asked for so far.
    pub pages: usize,
}

/// The conversation on the right.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenConversation {
    /// The other party.
    pub peer: String,
    /// The loaded pages, oldest first; never the whole history unless asked for.
    pub messages: Vec<MessageView>,
    /// Whether chatd has older messages than the first loaded one.
    pub has_more: bool,
    /// Whether a page is being fetched.
    pub loading: bool,
    /// How many rows the view is scrolled up from the newest message.
    pub scroll: usize,
    /// The message the message pane's keys act on (reply, edit, delete,
    /// react); none until the user moves to one.
    pub selected: Option<MessageKey>,
    /// A search hit being brought into view, page by page.
    pub jump: Option<Jump>,
}

impl OpenConversation {
    /// A conversation that is being loaded.
    pub fn new(peer: impl Into<String>) -> Self {
        OpenConversation {
            peer: peer.into(),
            messages: Vec::new(),
            has_more: false,
            loading: true,
            scroll: 0,
            selected: None,
            jump: None,
        }
    }
}

/// What the status bar shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// Own username, once known.
    pub user: Option<String>,
    /// Own fingerprint, grouped hex.
    pub fingerprint: Option<String>,
    /// The relay's URLs in the order chatd tries them, once known (for
    /// the device-join command).
    pub relay_urls: Vec<String>,
    /// chatd's link to the relay.
    pub connection: Option<ConnectionState>,
    /// Why the relay link went down, when it did.
    pub connection_error: Option<String>,
    /// Unread messages over all conversations.
    pub unread: u64,
    /// Outgoing messages the relay has not accepted yet.
    pub outbox_pending: u64,
}

/// The whole application state.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Whether chatd is reachable.
    pub daemon: DaemonLink,
    /// The socket tried, for the offline screen.
    pub socket: String,
    /// Status bar contents.
    pub status: Status,
    /// Conversations (most recent first), then contacts without messages.
    pub conversations: Vec<ConversationView>,
    /// Pinned contacts, to list the ones without a conversation yet.
    pub contacts: Vec<Contact>,
    /// The groups this user is or was in, to name group conversations.
    pub groups: Vec<ipc_schema::methods::GroupView>,
    /// The open group's members, for the members view (`group.info`).
    pub members: Option<ipc_schema::methods::GroupInfoResult>,
    /// Index of the highlighted list entry.
    pub selected: usize,
    /// The conversation on the right, if any.
    pub open: Option<OpenConversation>,
    /// Drafts by peer; the open conversation's is the composer.
    pub drafts: HashMap<String, Composer>,
    /// Drafts that reply to or edit a message, by peer.
    pub modes: HashMap<String, ComposeMode>,
    /// Which pane has the keyboard.
    pub focus: Pane,
    /// A window over the panes, if any.
    pub overlay: Option<Overlay>,
    /// First row of the help overlay shown (it scrolls on small terminals).
    pub help_scroll: u16,
    /// The last search of the history, if any; [`Overlay::Search`] shows it.
    pub search: Option<Search>,
    /// A one-line message for the user (an error, a hint), shown in the status bar.
    pub notice: Option<String>,
    /// Terminal size, for layout-dependent keys (half page, mouse).
    pub viewport: Rect,
    /// Current time (ms), refreshed by ticks; relative times use it.
    pub now_ms: u64,
    /// How times are shown.
    pub tz: TimeZone,
    /// Colours.
    pub theme: Theme,
    /// The configurable keys, built once at startup from the config file.
    pub keys: crate::app::keymap::KeyMap,
    /// Own identity, once loaded for the identity view.
    pub identity: Option<Identity>,
    /// Files being saved or opened, and how opening is done.
    pub files: crate::app::files::Files,
    /// Set when the user asked to quit.
    pub should_quit: bool,
}

impl AppState {
    /// The state before chatd answered.
    pub fn new(socket: impl Into<String>, theme: Theme, tz: TimeZone) -> Self {
        AppState {
            daemon: DaemonLink::Connecting,
            socket: socket.into(),
            status: Status::default(),
            conversations: Vec::new(),
            contacts: Vec::new(),
            groups: Vec::new(),
            members: None,
            selected: 0,
            open: None,
            drafts: HashMap::new(),
            modes: HashMap::new(),
            focus: Pane::List,
            overlay: None,
            help_scroll: 0,
            search: None,
            notice: None,
            viewport: Rect::new(0, 0, 80, 24),
            now_ms: 0,
            tz,
            theme,
            keys: crate::app::keymap::KeyMap::default(),
            identity: None,
            files: crate::app::files::Files::default(),
            should_quit: false,
        }
    }

    /// The open conversation's draft, if a conversation is open.
    pub fn composer(&self) -> Option<&Composer> {
        let open = self.open.as_ref()?;
        Some(self.drafts.get(&open.peer).unwrap_or(&EMPTY))
    }

    /// The open conversation's draft as text and cursor, for the layout.
    pub fn draft(&self) -> Option<(&str, usize)> {
        self.composer().map(|c| (c.text.as_str(), c.cursor))
    }

    /// The screen's regions at the current terminal size.
    pub fn areas(&self) -> Areas {
        Areas::new(self.viewport, self.draft())
    }

    /// What the open conversation's draft replies to or edits, if anything.
    pub fn compose_mode(&self) -> Option<&ComposeMode> {
        self.modes.get(&self.open.as_ref()?.peer)
    }

    /// The open conversation's selected message and its index among the
    /// loaded ones.
    pub fn selected_message(&self) -> Option<(usize, &MessageView)> {
        let open = self.open.as_ref()?;
        let key = open.selected.as_ref()?;
        let i = open.messages.iter().rposition(|m| key.names(m))?;
        Some((i, &open.messages[i]))
    }

    /// The open conversation's draft, created on first use.
    pub fn composer_mut(&mut self) -> Option<&mut Composer> {
        let peer = self.open.as_ref()?.peer.clone();
        Some(self.drafts.entry(peer).or_default())
    }

    /// The peer of the highlighted list entry.
    pub fn selected_peer(&self) -> Option<&str> {
        self.conversations
            .get(self.selected)
            .map(|c| c.peer.as_str())
    }

    /// Whether `peer` is a verified contact.
    /// The group a conversation is, for a group peer (`#` and its id).
    pub fn group_of(&self, peer: &str) -> Option<&ipc_schema::methods::GroupView> {
        let id = ipc_schema::methods::group_peer(peer)?;
        self.groups.iter().find(|g| g.id == id)
    }

    /// How a conversation is named on screen: a contact by its username, a
    /// group as `#` and its name (or the start of its id until the name is
    /// known).
    pub fn peer_label(&self, peer: &str) -> String {
        match (self.group_of(peer), ipc_schema::methods::group_peer(peer)) {
            (Some(g), _) => format!("#{}", g.name),
            (None, Some(id)) => format!("#{}…", &id[..8]),
            (None, None) => peer.to_owned(),
        }
    }

    pub fn is_verified(&self, peer: &str) -> bool {
        self.contacts.iter().any(|c| c.user == peer && c.verified)
            || self
                .conversations
                .iter()
                .any(|c| c.peer == peer && c.verified)
    }
}

static EMPTY: Composer = Composer {
    text: String::new(),
    cursor: 0,
};
