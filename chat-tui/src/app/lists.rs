//! The conversation list and the contacts, kept in step with chatd: set
//! whole from its answers (at connect), then changed in place by its events,
//! so that a message or a contact change costs no reload.
//!
//! One window is not exact: a `conversation.list` or `status` answer that
//! crosses an event chatd committed while computing it counts that message
//! twice in the unread badges. Lists are loaded only when chatd's events
//! cannot be resumed (first connect, events expired), and opening the
//! conversation (mark read, a fresh `status`) settles the counts.

use ipc_schema::methods::{
    Contact, ContactChange, ConversationView, Direction, LIST_BODY_MAX, MessageView,
};
use ipc_schema::text::cut_at_char;

use crate::app::contacts;
use crate::app::state::AppState;

/// Bytes of a message kept as the list's preview: the list shows a few
/// dozen columns of it, and a 4 MiB text must not be copied per frame.
pub const PREVIEW_MAX: usize = 256;

/// The list's preview of a body: its first line, at most [`PREVIEW_MAX`] bytes.
pub fn preview(body: &str) -> String {
    let first = body.split('\n').next().unwrap_or_default();
    cut_at_char(first, PREVIEW_MAX).to_owned()
}

/// `m` with its body cut to [`LIST_BODY_MAX`] (and marked `truncated`) if
/// it is longer, as `message.list` sends it: events carry whole bodies of
/// up to 4 MiB, and the message pane lays out each shown body every frame.
pub fn bounded(mut m: MessageView) -> MessageView {
    if let Some(body) = &mut m.body
        && body.len() > LIST_BODY_MAX
    {
        let keep = cut_at_char(body, LIST_BODY_MAX).len();
        body.truncate(keep);
        body.shrink_to_fit();
        m.truncated = true;
    }
    m
}

/// The conversation on the other side of `m`: the contact, or `#` and the
/// group's id for a group message.
pub fn peer_of(m: &MessageView) -> String {
    match (&m.group, m.direction) {
        (Some(group), _) => format!("#{group}"),
        (None, Direction::In) => m.from.clone(),
        (None, Direction::Out) => m.to.clone(),
    }
}

/// Replaces the list with chatd's `list` (most recent first), then the
/// contacts without messages yet; the highlight stays on its peer.
pub fn set_conversations(state: &mut AppState, mut list: Vec<ConversationView>) {
    let selected = state.selected_peer().map(str::to_owned);
    for c in &mut list {
        if let Some(p) = &mut c.last_message {
            *p = preview(p);
        }
    }
    for c in &state.contacts {
        if !list.iter().any(|v| v.peer == c.user) {
            list.push(ConversationView {
                peer: c.user.clone(),
                last_message: None,
                last_ts: None,
                unread: 0,
                verified: c.verified,
            });
        }
    }
    // What is on screen is read, whatever an older answer says.
    if let Some(open) = &state.open
        && let Some(c) = list.iter_mut().find(|c| c.peer == open.peer)
    {
        c.unread = 0;
    }
    state.conversations = list;
    reselect(state, selected);
}

/// Replaces the contacts with chatd's `list` and the list's entries for
/// contacts without messages with theirs.
pub fn set_contacts(state: &mut AppState, list: Vec<Contact>) {
    state.contacts = list;
    contacts::clamp(state);
    let with_messages: Vec<_> = state
        .conversations
        .iter()
        .filter(|c| c.last_ts.is_some())
        .cloned()
        .collect();
    set_conversations(state, with_messages);
}

/// `m` entered chatd's store: its conversation moves to the top with the
/// new preview, and an incoming message not on screen is one more unread.
pub fn message_arrived(state: &mut AppState, m: &MessageView, on_screen: bool) {
    let peer = peer_of(m);
    let peer = peer.as_str();
    let selected = state.selected_peer().map(str::to_owned);
    let mut line = match state.conversations.iter().position(|c| c.peer == peer) {
        Some(i) => state.conversations.remove(i),
        None => ConversationView {
            peer: peer.to_owned(),
            last_message: None,
            last_ts: None,
            unread: 0,
            verified: state.is_verified(peer),
        },
    };
    line.last_message = m.body.as_deref().map(preview);
    line.last_ts = Some(m.ts);
    if m.direction == Direction::In && !on_screen {
        line.unread += 1;
        state.status.unread += 1;
    }
    state.conversations.insert(0, line);
    reselect(state, selected);
}

/// A contact was added, verified or removed, or its key changed, was
/// accepted or refused: the contacts, the verified marks and the entries
/// of contacts without messages follow.
pub fn contact_changed(state: &mut AppState, change: ContactChange, contact: Contact) {
    let user = contact.user.clone();
    let verified = change != ContactChange::Removed && contact.verified;
    let mut list = std::mem::take(&mut state.contacts);
    list.retain(|c| c.user != user);
    if change != ContactChange::Removed {
        // chatd lists contacts by username.
        let at = list.partition_point(|c| c.user < user);
        list.insert(at, contact);
    }
    if let Some(line) = state.conversations.iter_mut().find(|c| c.peer == user) {
        line.verified = verified;
    }
    set_contacts(state, list);
}

fn reselect(state: &mut AppState, peer: Option<String>) {
    state.selected = peer
        .and_then(|p| state.conversations.iter().position(|c| c.peer == p))
        .unwrap_or(0)
        .min(state.conversations.len().saturating_sub(1));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_are_the_first_line_and_short() {
        assert_eq!(preview("hi\nthere"), "hi");
        assert_eq!(preview(""), "");
        let big = "é".repeat(1024 * 1024);
        let p = preview(&big);
        assert!(
            p.len() <= PREVIEW_MAX && p.len() >= PREVIEW_MAX - 1,
            "{}",
            p.len()
        );
    }
}
