//! Saving and opening the selected file message (docs/PROTOCOL.md §15.4,
//! docs/IPC.md `file.*`): `s` asks where to save it, `o` opens it with the
//! desktop's opener, after a y/N when its type is unknown or may run
//! something. Opening is always the user's own act: nothing here opens a
//! file by itself.
//!
//! Pure, like the rest of `app`. A [`FileJob`] waits here until chatd has
//! the file (`file.download`, then the `message.changed` events that follow
//! it); then the backend reads it back (`file.read`) and writes it out
//! ([`Effect::WriteFile`]) and says how that went. Files are written only
//! under their shown name ([`shown_name`]), never a path a peer gave.

use std::ffi::OsString;
use std::path::PathBuf;

use ipc_schema::files::{opening_is_risky, shown_name};
use ipc_schema::methods::{FileState, MessageView};

use crate::app::action::Effect;
use crate::app::composer::{Composer, Edit};
use crate::app::keymap::Bound;
use crate::app::state::{AppState, DaemonLink, MessageKey, MessagePrompt, Overlay};

#[cfg(test)]
mod tests;

/// Where a file is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteTo {
    /// A path as the user typed it: a leading `~/` is the home directory,
    /// and an existing directory gets the shown name; an existing file is
    /// never replaced.
    Path(String),
    /// The private cache for opening (made 0700), in a directory of the
    /// message's own, under the shown name; then `opener` runs on it.
    Open {
        /// The cache's `open/` directory.
        cache: PathBuf,
        /// The program that opens a file (`xdg-open`, `open`).
        opener: OsString,
    },
}

/// A kept file for the backend to read back and write out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileWrite {
    /// The job it is for.
    pub job: u64,
    /// The conversation (a contact, or `#` and a group's id).
    pub peer: String,
    /// The message.
    pub key: MessageKey,
    /// The file's shown name.
    pub name: String,
    /// Where it goes.
    pub to: WriteTo,
}

/// What writing a file out did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// Where the file is now.
    pub path: PathBuf,
    /// Whether the opener was started on it.
    pub opened: bool,
}

/// A save or an open: waiting for chatd to have the file, then being
/// written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileJob {
    /// Names the job in the backend's answers.
    pub id: u64,
    /// The conversation.
    pub peer: String,
    /// The message.
    pub key: MessageKey,
    /// The file's shown name.
    pub name: String,
    /// Where it goes.
    pub to: WriteTo,
    /// The file is being read and written (else: chatd is fetching it).
    pub writing: bool,
}

impl FileJob {
    /// What the user asked for, as a notice says it.
    fn verb(&self) -> &'static str {
        match self.to {
            WriteTo::Path(_) => "saved",
            WriteTo::Open { .. } => "opened",
        }
    }
}

/// Files being saved or opened, and how opening is done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Files {
    /// The saves and opens under way.
    pub jobs: Vec<FileJob>,
    /// The next job's id.
    pub next: u64,
    /// The program that opens a file: `xdg-open` (`open` on macOS), or
    /// `$CHAT_TUI_OPENER` (main sets it). Run with the file's path as its
    /// only argument, never through a shell.
    pub opener: OsString,
    /// The private cache's `open/` directory; `None` (no `$XDG_CACHE_HOME`
    /// or `$HOME`) refuses to open files.
    pub cache: Option<PathBuf>,
}

impl Default for Files {
    fn default() -> Self {
        Files {
            jobs: Vec::new(),
            next: 1,
            opener: default_opener(),
            cache: None,
        }
    }
}

/// The desktop's opener: `open` on macOS, `xdg-open` elsewhere.
pub fn default_opener() -> OsString {
    if cfg!(target_os = "macos") {
        "open".into()
    } else {
        "xdg-open".into()
    }
}

/// Whether `m` is a file message whose file can be saved or opened.
pub fn is_file(m: &MessageView) -> bool {
    m.kind == "file" && m.file.is_some() && !m.deleted
}

/// The file keys for the hint under the message pane, when `m` is a file.
pub fn hints(state: &AppState, m: &MessageView) -> Vec<(String, &'static str)> {
    if !is_file(m) {
        return Vec::new();
    }
    vec![
        (state.keys.key(Bound::SaveFile).to_string(), "save"),
        (state.keys.key(Bound::OpenFile).to_string(), "open"),
    ]
}

/// The selected message and its conversation, if it is a file; else the
/// notice says why not.
fn selected_file(state: &mut AppState) -> Option<(MessageView, String)> {
    let peer = state.open.as_ref()?.peer.clone();
    let why = match state.selected_message() {
        None => format!(
            "select a message first ({}/{})",
            state.keys.key(Bound::Up),
            state.keys.key(Bound::Down)
        ),
        Some((_, m)) if m.deleted => "that message was deleted".into(),
        Some((_, m)) if !is_file(m) => "only files can be saved or opened".into(),
        Some((_, m)) => {
            let m = m.clone();
            state.notice = None;
            return Some((m, peer));
        }
    };
    state.notice = Some(why);
    None
}

/// The shown name of `m`'s file.
fn name_of(m: &MessageView) -> String {
    shown_name(m.file.as_ref().map_or("", |f| f.name.as_str()))
}

/// `s`: asks where to save the selected file, offering
/// `~/Downloads/<shown name>`.
pub fn save(state: &mut AppState) {
    let Some((m, _)) = selected_file(state) else {
        return;
    };
    let input = Composer::with_text(format!("~/Downloads/{}", name_of(&m)));
    state.overlay = Some(Overlay::Message(MessagePrompt::SaveFile {
        key: MessageKey::of(&m),
        input,
        error: None,
    }));
}

/// `o`: opens the selected file; a risky type asks first.
pub fn open(state: &mut AppState, fx: &mut Vec<Effect>) {
    let Some((m, peer)) = selected_file(state) else {
        return;
    };
    let name = name_of(&m);
    let media_type = m.file.as_ref().map_or("", |f| f.media_type.as_str());
    if opening_is_risky(&name, media_type) {
        state.overlay = Some(Overlay::Message(MessagePrompt::OpenRisky {
            key: MessageKey::of(&m),
            name,
            media_type: media_type.to_owned(),
        }));
        return;
    }
    start(state, &m, peer, None, fx);
}

/// Whether the save prompt or the open question is up.
pub fn is_open(state: &AppState) -> bool {
    matches!(
        state.overlay,
        Some(Overlay::Message(
            MessagePrompt::SaveFile { .. } | MessagePrompt::OpenRisky { .. }
        ))
    )
}

/// Types in the save prompt; one line.
pub fn prompt_edit(state: &mut AppState, edit: Edit) {
    if let Some(Overlay::Message(MessagePrompt::SaveFile { input, error, .. })) = &mut state.overlay
    {
        match edit {
            Edit::Newline => {}
            Edit::InsertStr(s) => input.apply(Edit::InsertStr(s.replace(['\r', '\n'], ""))),
            e => input.apply(e),
        }
        *error = None;
    }
}

/// Enter in the save prompt saves where it says; `y` to the question
/// opens.
pub fn prompt_submit(state: &mut AppState, fx: &mut Vec<Effect>) {
    let (key, save_to) = match state.overlay.take() {
        Some(Overlay::Message(MessagePrompt::SaveFile { key, input, .. })) => {
            let path = input.text.trim().to_owned();
            if path.is_empty() {
                state.overlay = Some(Overlay::Message(MessagePrompt::SaveFile {
                    key,
                    input,
                    error: Some("type a path to save it to".into()),
                }));
                return;
            }
            (key, Some(path))
        }
        Some(Overlay::Message(MessagePrompt::OpenRisky { key, .. })) => (key, None),
        other => {
            state.overlay = other;
            return;
        }
    };
    let Some(open) = &state.open else { return };
    let Some(m) = open.messages.iter().rev().find(|m| key.names(m)).cloned() else {
        state.notice = Some("that message is no longer loaded".into());
        return;
    };
    let peer = open.peer.clone();
    start(state, &m, peer, save_to, fx);
}

/// Starts saving `m`'s file to `save_to`, or opening it when `None`:
/// written at once when chatd has it, else asked for first.
fn start(
    state: &mut AppState,
    m: &MessageView,
    peer: String,
    save_to: Option<String>,
    fx: &mut Vec<Effect>,
) {
    let Some(file) = m.file.as_ref().filter(|_| is_file(m)) else {
        return;
    };
    let name = name_of(m);
    let verb = if save_to.is_some() { "saved" } else { "opened" };
    if state.daemon != DaemonLink::Online {
        state.notice = Some(format!("daemon offline — {name} not {verb}"));
        return;
    }
    let to = match (save_to, &state.files.cache) {
        (Some(path), _) => WriteTo::Path(path),
        (None, Some(cache)) => WriteTo::Open {
            cache: cache.clone(),
            opener: state.files.opener.clone(),
        },
        (None, None) => {
            state.notice = Some(format!(
                "{name} not opened: no cache directory ($XDG_CACHE_HOME and $HOME are unset)"
            ));
            return;
        }
    };
    let job = FileJob {
        id: state.files.next,
        peer,
        key: MessageKey::of(m),
        name,
        to,
        writing: false,
    };
    state.files.next += 1;
    state.files.jobs.push(job);
    let last = state.files.jobs.len() - 1;
    if file.state == FileState::Ready {
        ready(state, last, fx);
    } else {
        let job = &state.files.jobs[last];
        state.notice = Some(format!("fetching {}…", job.name));
        fx.push(download(job));
    }
}

/// `file.download` for `job`.
fn download(job: &FileJob) -> Effect {
    Effect::DownloadFile {
        job: job.id,
        peer: job.peer.clone(),
        id: job.key.id.clone(),
    }
}

/// Job `i`'s file is here: it is read and written now.
fn ready(state: &mut AppState, i: usize, fx: &mut Vec<Effect>) {
    let job = &mut state.files.jobs[i];
    if job.writing {
        return;
    }
    job.writing = true;
    let doing = match job.to {
        WriteTo::Path(_) => "saving",
        WriteTo::Open { .. } => "opening",
    };
    state.notice = Some(format!("{doing} {}…", job.name));
    fx.push(Effect::WriteFile(FileWrite {
        job: job.id,
        peer: job.peer.clone(),
        key: job.key.clone(),
        name: job.name.clone(),
        to: job.to.clone(),
    }));
}

/// Job `i` is over without its file: the notice says why.
fn fail(state: &mut AppState, i: usize, why: &str) {
    let job = state.files.jobs.remove(i);
    state.notice = Some(format!("{} not {}: {why}", job.name, job.verb()));
}

/// chatd's answer to `file.download` for job `job`: where the file is
/// now, or why not. A file on its way is waited for (its events).
pub fn fetched(
    state: &mut AppState,
    job: u64,
    result: Result<FileState, String>,
    fx: &mut Vec<Effect>,
) {
    let Some(i) = state
        .files
        .jobs
        .iter()
        .position(|j| j.id == job && !j.writing)
    else {
        return;
    };
    match result {
        Ok(FileState::Ready) => ready(state, i, fx),
        Ok(FileState::Failed) => fail(state, i, "chatd could not fetch it"),
        Ok(_) => {}
        Err(why) => fail(state, i, &why),
    }
}

/// A `message.changed` event: the jobs waiting for this message's file go
/// on once it is here, and end when it failed or the message is gone; one's
/// own file that was still going up is asked for once it is sent.
pub fn changed(state: &mut AppState, message: &MessageView, fx: &mut Vec<Effect>) {
    let mut i = 0;
    while i < state.files.jobs.len() {
        let job = &state.files.jobs[i];
        if job.writing || !job.key.names(message) {
            i += 1;
            continue;
        }
        match message
            .file
            .as_ref()
            .map(|f| (f.state, f.failure.as_deref()))
        {
            _ if message.deleted => fail(state, i, "the message was deleted"),
            Some((FileState::Ready, _)) => {
                ready(state, i, fx);
                i += 1;
            }
            Some((FileState::Failed, why)) => fail(state, i, why.unwrap_or("unknown reason")),
            // One's own file, sent while it was waited for: it is not kept
            // here, so it is asked for now.
            Some((FileState::Uploaded, _)) => {
                fx.push(download(job));
                i += 1;
            }
            _ => i += 1,
        }
    }
}

/// The backend wrote job `job`'s file out, or could not.
pub fn written(state: &mut AppState, job: u64, result: Result<Written, String>) {
    let Some(i) = state.files.jobs.iter().position(|j| j.id == job) else {
        return;
    };
    match result {
        Ok(w) if w.opened => {
            let job = state.files.jobs.remove(i);
            state.notice = Some(format!("opened {}", job.name));
        }
        Ok(w) => {
            state.files.jobs.remove(i);
            state.notice = Some(format!("saved {}", w.path.display()));
        }
        Err(why) => fail(state, i, &why),
    }
}

/// chatd is back: the jobs still waiting for a file ask for it again (the
/// request or its events may have been lost on the way).
pub fn reconnected(state: &AppState, fx: &mut Vec<Effect>) {
    fx.extend(state.files.jobs.iter().filter(|j| !j.writing).map(download));
}
