//! Sending a file into the open conversation (docs/IPC.md
//! `file.upload_start`…): `a` on the message pane asks for its path, or
//! `/file PATH` is typed in the composer; either answers the message being
//! replied to (`r`), if any. In the composer, a leading `//` is a text that
//! starts with `/`; an edit is always the text as typed.
//!
//! Pure, like the rest of `app`: the path goes to the backend as typed
//! ([`Effect::SendFile`]), which expands `~/`, opens it and checks that it
//! is a regular file before chatd hears of it, then streams it a piece at
//! a time in a task of its own. What went wrong comes back as
//! [`crate::app::Action::FileSent`] and becomes a notice; the message itself
//! shows through chatd's events, like any other.

use std::path::Path;

use ipc_schema::files::shown_name;

use crate::app::action::Effect;
use crate::app::composer::{Composer, Edit};
use crate::app::state::{AppState, ComposeMode, DaemonLink, MessagePrompt, Overlay};

#[cfg(test)]
mod tests;

/// A file for the backend to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSend {
    /// The conversation (a contact, or `#` and a group's id).
    pub to: String,
    /// The path as the user typed it: a leading `~/` is the home directory,
    /// anything else is as the file system reads it.
    pub path: String,
    /// The file's name as sent: the path's last part (chatd sends only its
    /// shown name).
    pub name: String,
    /// The id of the message it answers.
    pub reply_to: Option<String>,
}

/// What Enter in the composer sends, read from the draft's start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Typed<'a> {
    /// A text: the draft, less the first `/` of a leading `//`.
    Text(&'a str),
    /// `/file PATH`: the file at PATH, trimmed (empty when none was typed).
    File(&'a str),
}

/// Reads a draft: `/file`, alone or followed by a space or a tab and a
/// path, is a file to send; `//` at the start stands for a `/`; anything
/// else is a text as it is.
pub fn parse(draft: &str) -> Typed<'_> {
    if draft.starts_with("//") {
        return Typed::Text(&draft[1..]);
    }
    match draft.strip_prefix("/file") {
        Some(rest) if rest.is_empty() || rest.starts_with([' ', '\t']) => Typed::File(rest.trim()),
        _ => Typed::Text(draft),
    }
}

/// A text draft as it is sent: a leading `//` is a leading `/`.
pub fn unescape(mut draft: String) -> String {
    if matches!(parse(&draft), Typed::Text(text) if text.len() < draft.len()) {
        draft.remove(0);
    }
    draft
}

/// The name the file at `path` goes by: the path's last part, else the path.
fn name_of(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_owned(), |n| n.to_string_lossy().into_owned())
}

/// Why `path` cannot name a file to send, as far as the text tells: none
/// typed, more than one line, or a directory's trailing `/`. What is on
/// the disk the backend checks.
fn unusable(path: &str) -> Option<String> {
    if path.is_empty() {
        Some("type the path of a file to send".into())
    } else if path.contains(['\n', '\r']) {
        Some("a file's path is one line".into())
    } else if path == "~" || path.ends_with('/') {
        Some(format!("{path} is a directory; only files can be sent"))
    } else {
        None
    }
}

/// `a`: asks for the path of a file to send, in an empty prompt.
pub fn attach(state: &mut AppState) {
    if state.open.is_none() {
        return;
    }
    state.notice = None;
    state.overlay = Some(Overlay::Message(MessagePrompt::SendFile {
        input: Composer::default(),
        error: None,
    }));
}

/// Whether the prompt for a file to send is up.
pub fn is_open(state: &AppState) -> bool {
    matches!(
        state.overlay,
        Some(Overlay::Message(MessagePrompt::SendFile { .. }))
    )
}

/// Types in the prompt; one line.
pub fn prompt_edit(state: &mut AppState, edit: Edit) {
    if let Some(Overlay::Message(MessagePrompt::SendFile { input, error })) = &mut state.overlay {
        match edit {
            Edit::Newline => {}
            Edit::InsertStr(s) => input.apply(Edit::InsertStr(s.replace(['\r', '\n'], ""))),
            e => input.apply(e),
        }
        *error = None;
    }
}

/// Enter in the prompt: the file at the typed path is sent; a path that
/// cannot be one keeps the prompt up, saying why.
pub fn prompt_submit(state: &mut AppState, fx: &mut Vec<Effect>) {
    let Some(Overlay::Message(MessagePrompt::SendFile { input, error })) = &mut state.overlay
    else {
        return;
    };
    let path = input.text.trim().to_owned();
    if let Some(why) = unusable(&path) {
        *error = Some(why);
        return;
    }
    state.overlay = None;
    send(state, path, fx);
}

/// Enter in the composer on `/file PATH`: the draft is gone once the file
/// is on its way; else it stays, and the notice says why.
pub fn from_composer(state: &mut AppState, path: String, fx: &mut Vec<Effect>) {
    if let Some(why) = unusable(&path) {
        let usage = if path.is_empty() { ": /file PATH" } else { "" };
        state.notice = Some(format!("{why}{usage}"));
        return;
    }
    if send(state, path, fx)
        && let Some(composer) = state.composer_mut()
    {
        composer.take();
    }
}

/// Sends the file at `path` (as typed) into the open conversation, as the
/// answer to the message being replied to, if any; false when it cannot
/// go now.
fn send(state: &mut AppState, path: String, fx: &mut Vec<Effect>) -> bool {
    let Some(to) = state.open.as_ref().map(|o| o.peer.clone()) else {
        return false;
    };
    let name = name_of(&path);
    if state.daemon != DaemonLink::Online {
        state.notice = Some(format!("daemon offline — {} not sent", shown_name(&name)));
        return false;
    }
    // The reply is this file: the composer writes a new message again.
    let reply_to = match state.modes.get(&to) {
        Some(ComposeMode::Reply { to: answered, .. }) => Some(answered.id.clone()),
        _ => None,
    };
    if reply_to.is_some() {
        state.modes.remove(&to);
    }
    if let Some(open) = &mut state.open {
        open.selected = None;
        open.scroll = 0;
    }
    state.notice = Some(sending(&name));
    fx.push(Effect::SendFile(FileSend {
        to,
        path,
        name,
        reply_to,
    }));
    true
}

/// The notice while `name` is streamed to chatd.
fn sending(name: &str) -> String {
    format!("sending {}…", shown_name(name))
}

/// What sending `name` to `to` came to. Sent: its message shows by
/// chatd's events, so the notice that said it was on its way goes.
/// Refused: the notice says why, in chatd's words.
pub fn sent(state: &mut AppState, to: &str, name: &str, result: Result<(), String>) {
    match result {
        Ok(()) => {
            if state.notice.as_deref() == Some(sending(name).as_str()) {
                state.notice = None;
            }
        }
        Err(why) => {
            state.notice = Some(format!(
                "{} not sent to {}: {why}",
                shown_name(name),
                state.peer_label(to)
            ));
        }
    }
}
