//! The members view of a group (`m`): the `update` arms for its highlight,
//! its add prompt and its removal confirmation (pure: effects only). chatd
//! decides who may change the group and says why not.

use crate::app::action::Effect;
use crate::app::composer::{Composer, Edit};
use crate::app::state::{AppState, DaemonLink, MemberPrompt, MembersView, Overlay};

fn view(state: &mut AppState) -> Option<&mut MembersView> {
    match &mut state.overlay {
        Some(Overlay::Members(v)) => Some(v),
        _ => None,
    }
}

/// The group the view shows (its id).
fn group(state: &AppState) -> Option<String> {
    state.members.as_ref().map(|m| m.group.id.clone())
}

/// Opens the view for the open group conversation and loads its members.
pub fn show(state: &mut AppState, fx: &mut Vec<Effect>) {
    let Some(group) = state
        .open
        .as_ref()
        .and_then(|o| ipc_schema::methods::group_peer(&o.peer))
        .map(str::to_owned)
    else {
        state.notice = Some("members: open a group conversation first".into());
        return;
    };
    if state.members.as_ref().is_some_and(|m| m.group.id != group) {
        state.members = None;
    }
    state.overlay = Some(Overlay::Members(MembersView::default()));
    if state.daemon == DaemonLink::Online {
        fx.push(Effect::LoadGroupInfo { group });
    }
}

/// Moves the highlight.
pub fn select(state: &mut AppState, delta: i64) {
    let n = state.members.as_ref().map_or(0, |m| m.members.len());
    if let Some(v) = view(state).filter(|v| v.prompt.is_none()) {
        let last = n.saturating_sub(1) as i64;
        v.selected = (v.selected as i64).saturating_add(delta).clamp(0, last) as usize;
    }
}

/// Opens the add prompt.
pub fn add_prompt(state: &mut AppState) {
    if let Some(v) = view(state).filter(|v| v.prompt.is_none()) {
        v.prompt = Some(MemberPrompt::Add(Composer::default()));
        v.message = None;
    }
}

/// Asks whether to remove the highlighted member.
pub fn remove_prompt(state: &mut AppState) {
    let Some(Overlay::Members(v)) = &state.overlay else {
        return;
    };
    let user = state
        .members
        .as_ref()
        .and_then(|m| m.members.get(v.selected))
        .map(|m| m.user.clone());
    if let (Some(user), Some(v)) = (user, view(state)) {
        v.prompt = Some(MemberPrompt::Remove { user });
        v.message = None;
    }
}

/// Edits the add prompt (one line).
pub fn edit(state: &mut AppState, edit: Edit) {
    if let Some(MemberPrompt::Add(input)) = view(state).and_then(|v| v.prompt.as_mut()) {
        let edit = match edit {
            Edit::Newline => return,
            Edit::InsertStr(s) => Edit::InsertStr(s.replace(['\r', '\n'], " ")),
            e => e,
        };
        input.apply(edit);
    }
}

/// Adds the typed user, or removes the member asked about.
pub fn submit(state: &mut AppState, fx: &mut Vec<Effect>) {
    let Some(group) = group(state) else { return };
    let online = state.daemon == DaemonLink::Online;
    let Some(v) = view(state) else { return };
    let (user, add) = match v.prompt.take() {
        Some(MemberPrompt::Add(input)) => (input.text.trim().to_owned(), true),
        Some(MemberPrompt::Remove { user }) => (user, false),
        None => return,
    };
    if !ipc_schema::envelope::is_valid_username(&user) {
        v.message = Some(format!("`{user}` is not a username"));
        v.prompt = add.then(|| MemberPrompt::Add(Composer::default()));
        return;
    }
    if !online {
        v.message = Some("daemon offline".into());
        return;
    }
    v.message = Some(if add {
        format!("adding {user}…")
    } else {
        format!("removing {user}…")
    });
    fx.push(Effect::GroupChange { group, user, add });
}

/// Closes the prompt, keeping the view.
pub fn cancel(state: &mut AppState) {
    if let Some(v) = view(state) {
        v.prompt = None;
    }
}

/// Shows what a change did.
pub fn result(state: &mut AppState, result: Result<String, String>) {
    if let Some(v) = view(state) {
        v.message = Some(match result {
            Ok(line) | Err(line) => line,
        });
    }
}
