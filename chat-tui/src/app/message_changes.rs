//! Replying to, editing, deleting and reacting to the selected message
//! (docs/PROTOCOL.md §14), and what chatd answers. Pure: effects only.
//! Only a message's author may edit or delete it; chatd refuses anyone
//! else, and the keys are not offered for anyone else's message.

use ipc_schema::changes::is_valid_emoji;
use ipc_schema::methods::{Direction, MessageChangeKind, MessageView, ReactionView};

use crate::app::action::Effect;
use crate::app::composer::{Composer, Edit};
use crate::app::keymap::Bound;
use crate::app::lists::{self, preview};
use crate::app::state::{
    AppState, ComposeMode, DaemonLink, MessageKey, MessagePrompt, Overlay, Pane,
};

#[cfg(test)]
mod tests;

/// The quick reactions, by their number in the prompt (1–6).
pub const QUICK: [&str; 6] = ["👍", "❤️", "😂", "🎉", "😮", "😢"];

/// Something the user can do to a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Answer it.
    Reply,
    /// Give one's own text a new version.
    Edit,
    /// Delete one's own message for everyone.
    Delete,
    /// React with an emoji, or take the reaction back.
    React,
}

impl Change {
    /// Every change, in the order the hints list them.
    pub const ALL: [Change; 4] = [Change::Reply, Change::Edit, Change::Delete, Change::React];

    /// Its key in the key map.
    pub fn bound(self) -> Bound {
        match self {
            Change::Reply => Bound::Reply,
            Change::Edit => Bound::EditMessage,
            Change::Delete => Bound::DeleteMessage,
            Change::React => Bound::React,
        }
    }

    /// Its name in the hints.
    pub fn label(self) -> &'static str {
        match self {
            Change::Reply => "reply",
            Change::Edit => "edit",
            Change::Delete => "delete",
            Change::React => "react",
        }
    }
}

/// Why `change` cannot be done to `m`, or `None` when it can.
pub fn refusal(m: &MessageView, change: Change) -> Option<&'static str> {
    let own = m.direction == Direction::Out;
    match change {
        _ if m.deleted => Some("that message was deleted"),
        _ if m.kind != "text" => Some("only texts can be answered or changed"),
        Change::Edit if !own => Some("only your own messages can be edited"),
        Change::Delete if !own => Some("only your own messages can be deleted"),
        // Saving a cut text would lose the rest of it.
        Change::Edit if m.truncated || m.body.is_none() => {
            Some("too long to edit here (cut at 64 KiB)")
        }
        _ => None,
    }
}

/// The keys that work on the selected message, with their names, for the
/// hint under the message pane (a file's save and open keys last).
pub fn hints(state: &AppState) -> Vec<(String, &'static str)> {
    let Some((_, m)) = state.selected_message() else {
        return Vec::new();
    };
    let mut hints: Vec<_> = Change::ALL
        .into_iter()
        .filter(|c| refusal(m, *c).is_none())
        .map(|c| (state.keys.key(c.bound()).to_string(), c.label()))
        .collect();
    hints.extend(crate::app::files::hints(state, m));
    hints
}

/// Whether `r` holds this user's own reaction.
pub fn is_mine(state: &AppState, r: &ReactionView) -> bool {
    let me = state.status.user.as_deref();
    r.users.iter().any(|u| Some(u.as_str()) == me)
}

/// The selected message and its conversation, if `change` can be done to
/// it; else the notice says why not.
fn target(state: &mut AppState, change: Change) -> Option<(MessageView, String)> {
    let peer = state.open.as_ref()?.peer.clone();
    let Some((_, m)) = state.selected_message() else {
        let keys = format!(
            "{}/{}",
            state.keys.key(Bound::Up),
            state.keys.key(Bound::Down)
        );
        state.notice = Some(format!("select a message first ({keys})"));
        return None;
    };
    if let Some(why) = refusal(m, change) {
        state.notice = Some(why.to_owned());
        return None;
    }
    let m = m.clone();
    state.notice = None;
    Some((m, peer))
}

/// Ends replying or editing in `peer`'s composer; an edit gives back the
/// draft from before it.
fn leave_mode(state: &mut AppState, peer: &str) {
    if let Some(ComposeMode::Edit { stashed, .. }) = state.modes.remove(peer) {
        state.drafts.insert(peer.to_owned(), stashed);
    }
}

/// `r`: the composer writes a reply to the selected message.
pub fn reply(state: &mut AppState) {
    let Some((m, peer)) = target(state, Change::Reply) else {
        return;
    };
    leave_mode(state, &peer);
    let quote = preview(m.body.as_deref().unwrap_or_default());
    let to = MessageKey::of(&m);
    state.modes.insert(peer, ComposeMode::Reply { to, quote });
    state.focus = Pane::Composer;
}

/// `e`: the composer holds the selected message's text, and Enter saves it
/// as the new version; the draft there was waits until then.
pub fn edit(state: &mut AppState) {
    let Some((m, peer)) = target(state, Change::Edit) else {
        return;
    };
    leave_mode(state, &peer);
    let stashed = state.drafts.remove(&peer).unwrap_or_default();
    let text = Composer::with_text(m.body.unwrap_or_default());
    state.drafts.insert(peer.clone(), text);
    state
        .modes
        .insert(peer, ComposeMode::Edit { id: m.id, stashed });
    state.focus = Pane::Composer;
}

/// Esc in the composer: no more replying or editing.
pub fn cancel(state: &mut AppState) {
    if let Some(peer) = state.open.as_ref().map(|o| o.peer.clone()) {
        leave_mode(state, &peer);
    }
}

/// What Enter sends for `body` in `to`'s composer, which the mode decides:
/// a new message, a reply, or an edit (none when the text is unchanged).
pub fn submit(state: &mut AppState, to: String, body: String) -> Option<Effect> {
    if let Some(open) = &mut state.open {
        open.selected = None;
    }
    let reply_to = match state.modes.remove(&to) {
        None => None,
        Some(ComposeMode::Reply { to: answered, .. }) => Some(answered.id),
        Some(ComposeMode::Edit { id, stashed }) => {
            state.drafts.insert(to, stashed);
            return edit_of(state, id, body);
        }
    };
    Some(Effect::Send { to, body, reply_to })
}

/// `message.edit` of one's own message `id`, unless `body` is what it says already.
fn edit_of(state: &mut AppState, id: String, body: String) -> Option<Effect> {
    let unchanged = state.open.as_ref().is_some_and(|o| {
        o.messages.iter().any(|m| {
            m.id == id && m.direction == Direction::Out && m.body.as_deref() == Some(&*body)
        })
    });
    if unchanged {
        state.notice = Some("not edited: the text is the same".into());
        return None;
    }
    Some(Effect::EditMessage { id, body })
}

/// Enter on a blank composer: an edit says why nothing happens.
pub fn submit_blank(state: &mut AppState) {
    if let Some(ComposeMode::Edit { .. }) = state.compose_mode() {
        state.notice = Some(format!(
            "an edit cannot be empty; to remove the message, delete it ({})",
            state.keys.key(Bound::DeleteMessage)
        ));
    }
}

/// `d`: asks whether to delete the selected message for everyone.
pub fn delete(state: &mut AppState) {
    if let Some((m, _)) = target(state, Change::Delete) {
        let quote = preview(m.body.as_deref().unwrap_or_default());
        state.overlay = Some(Overlay::Message(MessagePrompt::Delete { id: m.id, quote }));
    }
}

/// `+`: asks which emoji to react to the selected message with.
pub fn react(state: &mut AppState) {
    if let Some((m, _)) = target(state, Change::React) {
        state.overlay = Some(Overlay::Message(MessagePrompt::React {
            key: MessageKey::of(&m),
            input: Composer::default(),
            error: None,
        }));
    }
}

/// Whether a question about a message is open.
pub fn is_open(state: &AppState) -> bool {
    matches!(state.overlay, Some(Overlay::Message(_)))
}

/// Types in the reaction prompt; one line.
pub fn prompt_edit(state: &mut AppState, edit: Edit) {
    if let Some(Overlay::Message(MessagePrompt::React { input, error, .. })) = &mut state.overlay {
        match edit {
            Edit::Newline => {}
            Edit::InsertStr(s) => input.apply(Edit::InsertStr(s.replace(['\r', '\n'], ""))),
            e => input.apply(e),
        }
        *error = None;
    }
}

/// Answers the question: `y` deletes, Enter reacts with what was typed.
pub fn prompt_submit(state: &mut AppState, fx: &mut Vec<Effect>) {
    let typed = match &mut state.overlay {
        Some(Overlay::Message(MessagePrompt::Delete { id, .. })) => {
            let id = id.clone();
            state.overlay = None;
            if state.daemon == DaemonLink::Online {
                fx.push(Effect::DeleteMessage { id });
            } else {
                state.notice = Some("daemon offline — nothing deleted".into());
            }
            return;
        }
        Some(Overlay::Message(MessagePrompt::React { input, error, .. })) => {
            let typed = input.text.trim().to_owned();
            if typed.is_empty() {
                *error = Some("type an emoji, or press 1–6".into());
                return;
            }
            if !is_valid_emoji(&typed) {
                *error = Some("one emoji: no spaces, at most 32 bytes".into());
                return;
            }
            typed
        }
        _ => return,
    };
    react_with(state, typed, fx);
}

/// A number in the reaction prompt: that quick reaction.
pub fn react_quick(state: &mut AppState, number: usize, fx: &mut Vec<Effect>) {
    let Some(emoji) = number.checked_sub(1).and_then(|i| QUICK.get(i)) else {
        return;
    };
    react_with(state, (*emoji).to_owned(), fx);
}

/// Reacts to the prompt's message with `emoji`, or takes the reaction
/// back when it is the one this user already chose.
fn react_with(state: &mut AppState, emoji: String, fx: &mut Vec<Effect>) {
    let Some(Overlay::Message(MessagePrompt::React { key, .. })) = state.overlay.take() else {
        return;
    };
    let Some(open) = &state.open else { return };
    let Some(m) = open.messages.iter().rev().find(|m| key.names(m)) else {
        state.notice = Some("that message is no longer loaded".into());
        return;
    };
    let mine = m
        .reactions
        .iter()
        .find(|r| is_mine(state, r))
        .map(|r| r.emoji.as_str());
    let emoji = (mine != Some(emoji.as_str())).then_some(emoji);
    let peer = open.peer.clone();
    if state.daemon != DaemonLink::Online {
        state.notice = Some("daemon offline — no reaction sent".into());
        return;
    }
    fx.push(Effect::React {
        id: key.id,
        peer,
        emoji,
    });
}

/// The message as it is now, from chatd's answer or its `message.changed`
/// event (both come, in either order): replaced where it is shown. A
/// message deleted while being edited or answered here ends that.
pub fn changed(state: &mut AppState, peer: &str, message: MessageView) {
    if message.deleted {
        let key = MessageKey::of(&message);
        let notice = match state.modes.get(peer) {
            Some(ComposeMode::Edit { id, .. })
                if message.direction == Direction::Out && *id == key.id =>
            {
                Some("the message being edited was deleted; the draft from before is back")
            }
            Some(ComposeMode::Reply { to, .. }) if *to == key => {
                Some("the message being answered was deleted; the text is a new message now")
            }
            _ => None,
        };
        if let Some(notice) = notice {
            leave_mode(state, peer);
            state.notice = Some(notice.into());
        }
    }
    if let Some(open) = state.open.as_mut().filter(|o| o.peer == peer)
        && let Some(m) = open
            .messages
            .iter_mut()
            .rev()
            .find(|m| m.id == message.id && m.from == message.from)
    {
        *m = lists::bounded(message);
    }
}

/// chatd refused an edit, a delete or a reaction.
pub fn failed(state: &mut AppState, change: MessageChangeKind, error: String) {
    let what = match change {
        MessageChangeKind::Edited => "not edited",
        MessageChangeKind::Deleted => "not deleted",
        MessageChangeKind::Reacted => "reaction not sent",
        MessageChangeKind::File => "file not moved",
    };
    state.notice = Some(format!("{what}: {error}"));
}
