//! What can happen (actions) and what `update` asks the outside world to do (effects).

use ipc_schema::Secret;
use ipc_schema::methods::{
    Contact, ConversationView, DeviceLinkResult, DeviceView, EventEnvelope, IdentityShowResult,
    MessageChangeKind, MessageListResult, MessageSearchResult, MessageView, StatusResult,
};

use crate::app::composer::Edit;
use crate::app::files::{FileWrite, Written};
use crate::app::state::{KeyChoice, Pane};
use crate::app::upload::FileSend;

/// Something that happened: a key, a mouse event, a tick, or an answer from chatd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Leave the program.
    Quit,
    /// Give the keyboard to the next pane (Tab).
    FocusNext,
    /// Give the keyboard to the previous pane (Shift+Tab).
    FocusPrev,
    /// Give the keyboard to a pane.
    Focus(Pane),
    /// Highlight the next list entry.
    SelectNext,
    /// Highlight the previous list entry.
    SelectPrev,
    /// Highlight the first list entry.
    SelectFirst,
    /// Highlight the last list entry.
    SelectLast,
    /// Open the highlighted conversation.
    OpenSelected,
    /// Scroll the message pane up (towards older) by rows.
    ScrollUp(usize),
    /// Scroll the message pane down (towards newer) by rows.
    ScrollDown(usize),
    /// Half a page up (Ctrl+U).
    HalfPageUp,
    /// Half a page down (Ctrl+D).
    HalfPageDown,
    /// A page up; at the top of what is loaded, fetch older history (PageUp).
    PageUp,
    /// A page down (PageDown).
    PageDown,
    /// To the oldest loaded message (g).
    ScrollTop,
    /// To the newest message (G).
    ScrollBottom,
    /// Edit the composer.
    Edit(Edit),
    /// Send the composer's text (Enter).
    Submit,
    /// Show or hide the help overlay.
    ToggleHelp,
    /// Close the overlay or search (Esc).
    CloseOverlay,
    /// Open the search prompt (/): over the open conversation when the
    /// message pane has the keyboard, else over all conversations.
    SearchStart,
    /// Edit the search's words.
    SearchEdit(Edit),
    /// Enter in the search: search for new words, else open the
    /// highlighted hit.
    SearchSubmit,
    /// Search the open conversation only, or all conversations (Tab).
    SearchScope,
    /// Move the highlight in the hits; reaching the last loads older hits.
    SearchSelect(i64),
    /// Jump to the next older hit (n).
    SearchNext,
    /// Jump to the next newer hit (N).
    SearchPrev,
    /// Answer to `message.search`, or chatd's refusal (its error text).
    SearchResults {
        /// The words asked for.
        query: String,
        /// The conversation searched, or all.
        peer: Option<String>,
        /// The page asked for: hits before this `seq`.
        before: Option<u64>,
        /// The hits, or why not.
        result: Result<MessageSearchResult, String>,
    },
    /// Mouse wheel at a cell; `up` is towards older messages.
    MouseScroll {
        /// Column.
        column: u16,
        /// Row.
        row: u16,
        /// Wheel direction.
        up: bool,
    },
    /// Left click at a cell.
    MouseClick {
        /// Column.
        column: u16,
        /// Row.
        row: u16,
    },
    /// The terminal has a new size.
    Resize(u16, u16),
    /// The clock moved (ms since the epoch).
    Tick(u64),
    /// Edit the draft in `$EDITOR` (Ctrl+E).
    OpenEditor,
    /// The composer's text came back from `$EDITOR`.
    EditorDone(String),
    /// chatd answered `hello` and the event subscription is live, from now
    /// on: everything shown must be loaded afresh.
    DaemonOnline,
    /// chatd is back and the events missed while it was away follow (the
    /// subscription resumed after the last one seen): nothing to reload.
    DaemonResumed,
    /// chatd is unreachable; retrying.
    DaemonOffline(String),
    /// Answer to `status`.
    Status(StatusResult),
    /// Answer to `conversation.list`.
    Conversations(Vec<ConversationView>),
    /// Answer to `contact.list`.
    Contacts(Vec<Contact>),
    /// Answer to `group.list`.
    Groups(Vec<ipc_schema::methods::GroupView>),
    /// Answer to `message.list`.
    Messages {
        /// The conversation.
        peer: String,
        /// The page.
        page: MessageListResult,
        /// Whether this is an older page to put in front.
        older: bool,
    },
    /// A call was refused (chatd's error text); shown as a notice.
    CallFailed(String),
    /// chatd refused to queue a message; the text went back to no draft.
    SendFailed {
        /// The recipient.
        to: String,
        /// chatd's error text.
        error: String,
    },
    /// An event from chatd.
    Event(EventEnvelope),
    /// Open the contacts view.
    ShowContacts,
    /// In the contacts view: ask for a card path or `USER FINGERPRINT` (a).
    ContactAdd,
    /// In the contacts view: verify the highlighted contact (v).
    ContactVerify,
    /// In the contacts view: forget the highlighted contact, after y/n (d).
    ContactRemove,
    /// In the contacts view: accept the highlighted contact's changed key,
    /// after y/n (A).
    ContactAcceptKey,
    /// In the contacts view: refuse the highlighted contact's changed key,
    /// after y/n (R).
    ContactRefuseKey,
    /// In the contacts view, asked which of a frozen contact's two
    /// fingerprints to accept: that one, to confirm with y/n (1 or 2).
    ContactChooseKey(KeyChoice),
    /// Edit the open prompt's text.
    PromptEdit(Edit),
    /// Answer the open prompt (Enter, or y in a confirmation).
    PromptSubmit,
    /// chatd's answer to a contacts-view call: what happened, or why not.
    ContactResult(Result<ContactDone, ContactFailed>),
    /// Open the own identity view.
    ShowIdentity,
    /// Show the open group's members.
    ShowMembers,
    /// Move the highlight in the members view.
    MemberSelect(i64),
    /// Open the add prompt of the members view.
    MemberAddPrompt,
    /// Ask to remove the highlighted member.
    MemberRemovePrompt,
    /// Edit the add prompt.
    MemberPromptEdit(crate::app::composer::Edit),
    /// Add the typed user, or remove the member asked about.
    MemberPromptSubmit,
    /// Close the members view's prompt.
    MemberPromptCancel,
    /// What `group.create` did: the group, or why not.
    GroupCreated(Result<ipc_schema::methods::GroupView, String>),
    /// What a `group.add` or `group.remove` did: a line for the user.
    MemberResult(Result<String, String>),
    /// Answer to `group.info`.
    GroupInfo(ipc_schema::methods::GroupInfoResult),
    /// Open the fuzzy conversation picker (Ctrl+P).
    OpenPicker,
    /// Answers to `identity.show` and `identity.card` (the card as JSON text).
    Identity {
        /// `identity.show`.
        show: IdentityShowResult,
        /// The card, one line of JSON.
        card: String,
    },
    /// Open the devices view (D).
    ShowDevices,
    /// Answer to `device.list`, or why there is none.
    Devices(Result<Vec<DeviceView>, DeviceFailed>),
    /// Move the highlight in the devices view; `i64::MIN`/`MAX` go to the ends.
    DeviceSelect(i64),
    /// Start revoking the highlighted device (r).
    DeviceRevoke,
    /// Rename the highlighted device (e).
    DeviceRename,
    /// Make a one-time link for a new machine (l; L with the history).
    DeviceLink {
        /// Carry the message history too.
        with_history: bool,
    },
    /// What `device.revoke` did.
    DeviceRevoked {
        /// The device.
        id: String,
        /// Done, or why not.
        result: Result<(), DeviceFailed>,
    },
    /// What `device.rename` did.
    DeviceRenamed {
        /// The device.
        id: String,
        /// The name asked for.
        name: String,
        /// Done, or why not.
        result: Result<(), DeviceFailed>,
    },
    /// What `device.link` gave: the code and what the link carries.
    DeviceLinked(Result<DeviceLinkResult, DeviceFailed>),
    /// Move the message selection by messages: negative towards older
    /// (k), positive towards newer (j).
    MessageSelect(i64),
    /// Write a reply to the selected message (r).
    Reply,
    /// Edit the selected message, one's own text (e).
    EditMessage,
    /// Delete the selected message for everyone, one's own, after y/n (d).
    DeleteMessage,
    /// Ask which emoji to react to the selected message with (+).
    React,
    /// In the reaction prompt: the quick choice of this number (1–6).
    ReactQuick(usize),
    /// Stop replying or editing; the draft from before an edit comes back
    /// (Esc in the composer).
    CancelCompose,
    /// chatd's answer to an edit, a delete or a reaction: the message now.
    MessageChanged {
        /// Its conversation.
        peer: String,
        /// The message as it is now.
        message: MessageView,
    },
    /// chatd refused an edit, a delete or a reaction.
    MessageChangeFailed {
        /// Which.
        change: MessageChangeKind,
        /// chatd's error text.
        error: String,
    },
    /// Save the selected file: asks where (s).
    SaveFile,
    /// Open the selected file with the desktop's opener (o).
    OpenFile,
    /// chatd's answer to `file.download` for a save or an open.
    FileFetched {
        /// The job ([`crate::app::files::FileJob`]).
        job: u64,
        /// Where the file is now, or chatd's refusal.
        result: Result<ipc_schema::methods::FileState, String>,
    },
    /// A file was read back and written out (and the opener started), or
    /// why not.
    FileWritten {
        /// The job.
        job: u64,
        /// Where it is, or why it is not.
        result: Result<Written, String>,
    },
    /// Send a file into the open conversation: asks for its path (a).
    AttachFile,
    /// A file was streamed to chatd, which now sends it (its message
    /// comes by event), or why not: the path was no file, or chatd
    /// refused (its error text).
    FileSent {
        /// The conversation.
        to: String,
        /// The file's name, as sent.
        name: String,
        /// Sent, or why not.
        result: Result<(), String>,
    },
}

/// Why a `device.*` call did not go through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceFailed {
    /// The current relay password was wrong (the relay's 401 to a
    /// revocation): nothing was revoked or changed.
    WrongPassword,
    /// The account has no such active device (any more).
    UnknownDevice,
    /// The account is at its limit of devices.
    TooManyDevices,
    /// chatd refused for another reason (its error text).
    Refused(String),
}

/// What chatd did for the contacts view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContactDone {
    /// Pinned a new contact.
    Added {
        /// Who.
        user: String,
        /// From the relay directory, checked against a fingerprint (else from a card file).
        from_directory: bool,
    },
    /// Marked a contact verified.
    Verified {
        /// Who.
        user: String,
    },
    /// Forgot a contact.
    Removed {
        /// Who.
        user: String,
    },
    /// Pinned a contact's changed key and opened what waited.
    KeyAccepted {
        /// Who.
        user: String,
        /// Waiting messages that opened with the new key.
        opened: u64,
        /// Waiting messages that still did not open (dropped).
        dropped: u64,
    },
    /// Kept a contact's old key and deleted what waited.
    KeyRefused {
        /// Who.
        user: String,
        /// Waiting messages deleted.
        deleted: u64,
    },
}

/// Why a contacts-view request did not go through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContactFailed {
    /// The card file could not be read.
    CardUnreadable {
        /// The file, as typed.
        path: String,
        /// The system's reason.
        why: String,
    },
    /// The card file is not JSON.
    NotACard {
        /// The file, as typed.
        path: String,
        /// The parser's reason.
        why: String,
    },
    /// The fingerprint does not match the pinned or the directory's card:
    /// nothing was verified or pinned (chatd's error text).
    FingerprintMismatch(String),
    /// chatd refused for another reason (its error text).
    Refused(String),
}

/// Work for the outside world; `update` never does I/O itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Fetch `status`.
    LoadStatus,
    /// Fetch `conversation.list`.
    LoadConversations,
    /// Fetch `contact.list`.
    LoadContacts,
    /// Fetch `group.list`.
    LoadGroups,
    /// `group.create` from the picker (`+NAME USER…`).
    CreateGroup {
        /// The name.
        name: String,
        /// The other members.
        members: Vec<String>,
    },
    /// `group.add` (`add`) or `group.remove` of one user, then `group.info`.
    GroupChange {
        /// The group's id.
        group: String,
        /// The user.
        user: String,
        /// Add (else remove).
        add: bool,
    },
    /// Fetch `group.info` of a group (its id).
    LoadGroupInfo {
        /// The group's id.
        group: String,
    },
    /// Fetch the newest page of a conversation.
    LoadMessages {
        /// The conversation.
        peer: String,
    },
    /// Fetch the page before `before` (a local sequence number).
    LoadOlder {
        /// The conversation.
        peer: String,
        /// The oldest loaded message's `seq`.
        before: u64,
    },
    /// `message.send`.
    Send {
        /// Recipient.
        to: String,
        /// Text.
        body: String,
        /// Id of the message it answers.
        reply_to: Option<String>,
    },
    /// `message.edit` of one's own message.
    EditMessage {
        /// The message's id.
        id: String,
        /// Its new text.
        body: String,
    },
    /// `message.delete` of one's own message, for everyone.
    DeleteMessage {
        /// The message's id.
        id: String,
    },
    /// `message.react`.
    React {
        /// The message's id.
        id: String,
        /// Its conversation.
        peer: String,
        /// The emoji; `None` takes the reaction back.
        emoji: Option<String>,
    },
    /// `message.search`, a page of [`SEARCH_PAGE`] hits.
    Search {
        /// The words.
        query: String,
        /// Only this conversation; all when `None`.
        peer: Option<String>,
        /// Only hits before this `seq` (the next page).
        before: Option<u64>,
    },
    /// `conversation.mark_read`.
    MarkRead {
        /// The conversation.
        peer: String,
    },
    /// `conversation.focus`.
    Focus {
        /// The conversation on screen, or none.
        peer: Option<String>,
    },
    /// Open `$EDITOR` on this text; the result comes back as [`Action::EditorDone`].
    OpenEditor(String),
    /// Read the card file at `path` (`~/` is the home directory) and `contact.add {card}` it.
    AddContactCard {
        /// The file, as typed.
        path: String,
    },
    /// `contact.add {user, fingerprint}`: from the relay directory, checked.
    AddContactDirectory {
        /// Username.
        user: String,
        /// Grouped fingerprint the card must have.
        fingerprint: String,
    },
    /// `contact.verify`.
    VerifyContact {
        /// The contact.
        user: String,
        /// Grouped fingerprint the user compared.
        fingerprint: String,
    },
    /// `contact.accept_key`.
    AcceptKey {
        /// The contact.
        user: String,
        /// Grouped new fingerprint, exactly as the confirmation showed it.
        fingerprint: String,
    },
    /// `contact.refuse_key`.
    RefuseKey {
        /// The contact.
        user: String,
    },
    /// `identity.show` and `identity.card`.
    LoadIdentity,
    /// `contact.remove`.
    RemoveContact {
        /// The contact.
        user: String,
    },
    /// `device.list`.
    LoadDevices,
    /// `device.revoke`, which changes the relay password in the same step.
    RevokeDevice {
        /// The device.
        id: String,
        /// The current relay password.
        password: Secret,
        /// The new one.
        new_password: Secret,
    },
    /// `device.rename`.
    RenameDevice {
        /// The device.
        id: String,
        /// Its new name.
        name: String,
    },
    /// `device.link`.
    LinkDevice {
        /// Carry the message history too.
        with_history: bool,
    },
    /// `file.download`: fetch a file message's file now, for a job.
    DownloadFile {
        /// The job; the answer is [`Action::FileFetched`].
        job: u64,
        /// The conversation.
        peer: String,
        /// The message's id.
        id: String,
    },
    /// Read a kept file back (`file.read`) and write it out, then open it
    /// if asked; the answer is [`Action::FileWritten`]. The worker runs it
    /// as a task of its own, on a connection of its own.
    WriteFile(FileWrite),
    /// Open a file, check it is one, and stream it to chatd
    /// (`file.upload_*`); the answer is [`Action::FileSent`]. The worker
    /// runs it as a task of its own, on a connection of its own.
    SendFile(FileSend),
}

/// Messages per `message.list` page.
pub const PAGE_SIZE: u32 = 100;

/// Hits per `message.search` page.
pub const SEARCH_PAGE: u32 = 20;
