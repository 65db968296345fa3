//! Terminal events to actions; which action a key means depends on the pane.

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEventKind,
};

use crate::app::action::Action;
use crate::app::composer::Edit;
use crate::app::keymap::{Bound, KeyMap};
use crate::app::state::{
    AppState, ContactPrompt, DevicePrompt, DevicesView, KeyChoice, MemberPrompt, MessagePrompt,
    Overlay, Pane, RevokeStep,
};

/// Every key, for the help overlay; a row with no key is a heading. `{name}`
/// stands for the key bound to `name` in `[keys]` (see [`help_rows`]).
pub const HELP: &[(&str, &str)] = &[
    ("", "Everywhere"),
    ("{next_pane} / {prev_pane}", "next / previous pane"),
    ("{help}", "this help (j/k scroll it, Esc closes)"),
    ("Esc", "close help or search, back to the list"),
    ("{quit}", "quit (not while writing)"),
    ("{contacts}", "contacts (not while writing)"),
    (
        "{identity}",
        "own identity: fingerprint and QR code of your card",
    ),
    (
        "{members}",
        "the open group's members: admins, and who is unverified",
    ),
    (
        "{devices}",
        "this account's devices: revoke, rename, link a new machine",
    ),
    ("Ctrl+C", "quit, always"),
    (
        "{picker}",
        "fuzzy conversation picker: type, ↑ ↓, Enter opens",
    ),
    (
        "{older} / {newer}",
        "scroll messages; {older} at the top loads older",
    ),
    (
        "mouse wheel / click",
        "scroll / select a conversation or pane",
    ),
    ("", "Conversation list"),
    ("{down} {up} / ↓ ↑", "next / previous conversation"),
    ("{top} {bottom} / Home End", "first / last conversation"),
    ("Enter / {open} / →", "open the conversation"),
    ("{write}", "write in the open conversation"),
    ("{search}", "search all conversations"),
    ("", "Messages"),
    ("{down} {up} / ↓ ↑", "select the next / previous message"),
    ("{half_page_down} / {half_page_up}", "half a page down / up"),
    ("{top} / {bottom}", "oldest loaded / newest message"),
    ("{search}", "search this conversation (Tab: all)"),
    ("{write} / Enter", "write"),
    ("{list} / ←", "back to the conversation list"),
    ("{reply}", "reply to the selected message"),
    ("{edit}", "edit your selected message (Enter saves)"),
    ("{delete} / Delete", "delete yours for everyone (asks y/n)"),
    ("{react}", "react: 1–6 or type an emoji; again undoes"),
    ("{save_file}", "save the selected file (asks where)"),
    (
        "{open_file}",
        "open the selected file (an unknown type asks y/N)",
    ),
    ("{attach_file}", "send a file here: asks for its path"),
    ("Esc", "forget the selection, then back to the list"),
    ("", "Search"),
    ("type, Enter", "search the whole history through chatd"),
    ("Tab", "this conversation / all conversations"),
    (
        "↑ ↓ / Ctrl+K Ctrl+J",
        "select a hit; the last loads older ones",
    ),
    ("Enter", "open the hit's conversation, at the hit"),
    (
        "{search_next} / {search_prev}",
        "after Esc: next older / newer hit",
    ),
    ("Esc", "close (Esc again forgets the search)"),
    ("", "Composer"),
    ("Enter", "send (a reply, or the edit)"),
    ("Esc", "cancel a reply or an edit, else to messages"),
    ("Alt+Enter / Shift+Enter / Ctrl+J", "new line"),
    ("← → ↑ ↓ Home End", "move the cursor"),
    ("Ctrl+← / Ctrl+→", "word left / right"),
    ("Backspace / Delete", "delete a character"),
    ("Ctrl+W", "delete the previous word"),
    ("Ctrl+U", "delete to the start of the line"),
    ("{editor}", "edit the draft in $EDITOR"),
    ("/file PATH, Enter", "send the file at PATH (~/ is home)"),
    ("//TEXT, Enter", "send /TEXT as a text, not a command"),
    ("paste", "inserted as is, newlines kept"),
    ("", "Contacts"),
    ("{down} {up} / ↓ ↑", "next / previous contact"),
    (
        "{contact_add}",
        "add: a card file path, or USER FINGERPRINT",
    ),
    (
        "{contact_verify}",
        "verify: type the fingerprint you got out of band",
    ),
    ("{contact_remove}", "remove (asks y/n)"),
    (
        "{contact_accept_key}",
        "changed key: accept it after comparing (y/n)",
    ),
    (
        "{contact_refuse_key}",
        "changed key: refuse it; what waited is deleted",
    ),
    (
        "{contact_accept_key}",
        "frozen: choose fingerprint 1 or 2, then y/n",
    ),
    (
        "{contact_refuse_key}",
        "frozen: no refusing, one must be accepted",
    ),
    ("Esc", "close the prompt, then the view"),
    ("", "Devices"),
    ("{down} {up} / ↓ ↑", "next / previous device"),
    (
        "{device_revoke}",
        "revoke (asks y/n, the password, then a new one twice)",
    ),
    ("{device_rename}", "rename"),
    (
        "{device_link} / {device_link_history}",
        "link a new machine: one-time code and QR / with history",
    ),
    ("Esc", "close the prompt or forget the code, then the view"),
];

/// The help rows with the configured keys filled in.
pub fn help_rows(keys: &KeyMap) -> Vec<(String, String)> {
    let fill = |text: &str| {
        let mut out = String::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}').map(|c| open + c) else {
                break;
            };
            out.push_str(&rest[..open]);
            match keys.by_name(&rest[open + 1..close]) {
                Some(key) => out.push_str(&key.to_string()),
                None => out.push_str(&rest[open..=close]),
            }
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        out
    };
    HELP.iter().map(|(k, what)| (fill(k), fill(what))).collect()
}

/// The action a terminal event means in `state`, if any.
pub fn map_event(state: &AppState, event: Event) -> Option<Action> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => map_key(state, &state.keys, key),
        Event::Paste(text)
            if matches!(&state.overlay, Some(Overlay::Members(_))) && has_prompt(state) =>
        {
            Some(Action::MemberPromptEdit(Edit::InsertStr(text)))
        }
        Event::Paste(text) if state.overlay == Some(Overlay::Search) => {
            Some(Action::SearchEdit(Edit::InsertStr(text)))
        }
        Event::Paste(text) if has_prompt(state) => Some(Action::PromptEdit(Edit::InsertStr(text))),
        Event::Paste(_) if state.overlay.is_some() => None,
        Event::Paste(text) => state
            .open
            .as_ref()
            .map(|_| Action::Edit(Edit::InsertStr(text))),
        Event::Resize(w, h) => Some(Action::Resize(w, h)),
        Event::Mouse(m) => match m.kind {
            MouseEventKind::ScrollUp => Some(Action::MouseScroll {
                column: m.column,
                row: m.row,
                up: true,
            }),
            MouseEventKind::ScrollDown => Some(Action::MouseScroll {
                column: m.column,
                row: m.row,
                up: false,
            }),
            MouseEventKind::Down(MouseButton::Left) => Some(Action::MouseClick {
                column: m.column,
                row: m.row,
            }),
            _ => None,
        },
        _ => None,
    }
}

fn map_key(state: &AppState, keys: &KeyMap, key: KeyEvent) -> Option<Action> {
    let is = |b: Bound| keys.is(b, &key);
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let shift = key.modifiers.contains(KeyModifiers::SHIFT);
    if ctrl && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    if state.overlay == Some(Overlay::Help) {
        return match key.code {
            _ if is(Bound::Help) || is(Bound::Quit) => Some(Action::CloseOverlay),
            KeyCode::Esc => Some(Action::CloseOverlay),
            KeyCode::Char('j') | KeyCode::Down => Some(Action::ScrollDown(1)),
            KeyCode::Char('k') | KeyCode::Up => Some(Action::ScrollUp(1)),
            _ => None,
        };
    }
    if matches!(state.overlay, Some(Overlay::Picker(_))) {
        return match key.code {
            KeyCode::Up => Some(Action::SelectPrev),
            KeyCode::Down => Some(Action::SelectNext),
            KeyCode::Char('p') | KeyCode::Char('k') if ctrl => Some(Action::SelectPrev),
            KeyCode::Char('n') | KeyCode::Char('j') if ctrl => Some(Action::SelectNext),
            _ => prompt_key(key),
        };
    }
    if state.overlay == Some(Overlay::Search) {
        return search_key(key);
    }
    if is(Bound::Picker) {
        return Some(Action::OpenPicker);
    }
    if let Some(Overlay::Message(prompt)) = &state.overlay {
        return message_prompt_key(prompt, key);
    }
    if state.overlay == Some(Overlay::Identity) {
        return match key.code {
            _ if is(Bound::Identity) || is(Bound::Quit) => Some(Action::CloseOverlay),
            KeyCode::Esc => Some(Action::CloseOverlay),
            _ => None,
        };
    }
    if let Some(Overlay::Members(view)) = &state.overlay {
        return match &view.prompt {
            Some(MemberPrompt::Remove { .. }) => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => Some(Action::MemberPromptSubmit),
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => {
                    Some(Action::MemberPromptCancel)
                }
                _ => None,
            },
            Some(MemberPrompt::Add(_)) => match prompt_key(key)? {
                Action::PromptEdit(e) => Some(Action::MemberPromptEdit(e)),
                Action::PromptSubmit => Some(Action::MemberPromptSubmit),
                _ => Some(Action::MemberPromptCancel),
            },
            None => match key.code {
                _ if is(Bound::Down) => Some(Action::MemberSelect(1)),
                _ if is(Bound::Up) => Some(Action::MemberSelect(-1)),
                _ if is(Bound::ContactAdd) => Some(Action::MemberAddPrompt),
                _ if is(Bound::ContactRemove) => Some(Action::MemberRemovePrompt),
                _ if is(Bound::Members) || is(Bound::Quit) => Some(Action::CloseOverlay),
                KeyCode::Down => Some(Action::MemberSelect(1)),
                KeyCode::Up => Some(Action::MemberSelect(-1)),
                KeyCode::Delete => Some(Action::MemberRemovePrompt),
                KeyCode::Esc => Some(Action::CloseOverlay),
                _ => None,
            },
        };
    }
    if let Some(Overlay::Devices(view)) = &state.overlay {
        return devices_key(keys, view, key);
    }
    if let Some(Overlay::Contacts(view)) = &state.overlay {
        return match &view.prompt {
            Some(
                ContactPrompt::Remove { .. }
                | ContactPrompt::AcceptKey { .. }
                | ContactPrompt::RefuseKey { .. },
            ) => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => Some(Action::PromptSubmit),
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => {
                    Some(Action::CloseOverlay)
                }
                _ => None,
            },
            Some(ContactPrompt::ChooseKey { .. }) => match key.code {
                KeyCode::Char('1') => Some(Action::ContactChooseKey(KeyChoice::First)),
                KeyCode::Char('2') => Some(Action::ContactChooseKey(KeyChoice::Second)),
                KeyCode::Esc => Some(Action::CloseOverlay),
                _ => None,
            },
            Some(_) => prompt_key(key),
            None => match key.code {
                _ if is(Bound::Down) => Some(Action::SelectNext),
                _ if is(Bound::Up) => Some(Action::SelectPrev),
                _ if is(Bound::Top) => Some(Action::SelectFirst),
                _ if is(Bound::Bottom) => Some(Action::SelectLast),
                _ if is(Bound::ContactAdd) => Some(Action::ContactAdd),
                _ if is(Bound::ContactVerify) => Some(Action::ContactVerify),
                _ if is(Bound::ContactRemove) => Some(Action::ContactRemove),
                _ if is(Bound::ContactAcceptKey) => Some(Action::ContactAcceptKey),
                _ if is(Bound::ContactRefuseKey) => Some(Action::ContactRefuseKey),
                _ if is(Bound::Quit) || is(Bound::Contacts) => Some(Action::CloseOverlay),
                KeyCode::Down => Some(Action::SelectNext),
                KeyCode::Up => Some(Action::SelectPrev),
                KeyCode::Home => Some(Action::SelectFirst),
                KeyCode::End => Some(Action::SelectLast),
                KeyCode::Delete => Some(Action::ContactRemove),
                KeyCode::Esc => Some(Action::CloseOverlay),
                _ => None,
            },
        };
    }
    for (bound, action) in [
        (Bound::NextPane, Action::FocusNext),
        (Bound::PrevPane, Action::FocusPrev),
        (Bound::Older, Action::PageUp),
        (Bound::Newer, Action::PageDown),
    ] {
        if is(bound) {
            return Some(action);
        }
    }
    match state.focus {
        Pane::Composer => {
            if is(Bound::Editor) {
                return Some(Action::OpenEditor);
            }
            let edit = match key.code {
                KeyCode::Enter if alt || shift => Edit::Newline,
                KeyCode::Enter => return Some(Action::Submit),
                KeyCode::Char('j') if ctrl => Edit::Newline,
                KeyCode::Char('w') if ctrl => Edit::DeleteWord,
                KeyCode::Char('u') if ctrl => Edit::DeleteToLineStart,
                KeyCode::Char('a') if ctrl => Edit::Home,
                KeyCode::Char('h') if ctrl => Edit::Backspace,
                KeyCode::Backspace if alt || ctrl => Edit::DeleteWord,
                KeyCode::Char(c) if !ctrl => Edit::Insert(c),
                KeyCode::Backspace => Edit::Backspace,
                KeyCode::Delete => Edit::Delete,
                KeyCode::Left if ctrl || alt => Edit::WordLeft,
                KeyCode::Right if ctrl || alt => Edit::WordRight,
                KeyCode::Left => Edit::Left,
                KeyCode::Right => Edit::Right,
                KeyCode::Home => Edit::Home,
                KeyCode::End => Edit::End,
                KeyCode::Up => Edit::Up,
                KeyCode::Down => Edit::Down,
                KeyCode::Esc if state.compose_mode().is_some() => {
                    return Some(Action::CancelCompose);
                }
                KeyCode::Esc => return Some(Action::Focus(Pane::Messages)),
                _ => return None,
            };
            Some(Action::Edit(edit))
        }
        Pane::List => match key.code {
            _ if is(Bound::Down) => Some(Action::SelectNext),
            _ if is(Bound::Up) => Some(Action::SelectPrev),
            _ if is(Bound::Top) => Some(Action::SelectFirst),
            _ if is(Bound::Bottom) => Some(Action::SelectLast),
            _ if is(Bound::Open) => Some(Action::OpenSelected),
            _ if is(Bound::Write) => Some(Action::Focus(Pane::Composer)),
            _ if is(Bound::Search) => Some(Action::SearchStart),
            _ if is(Bound::SearchNext) => Some(Action::SearchNext),
            _ if is(Bound::SearchPrev) => Some(Action::SearchPrev),
            KeyCode::Down => Some(Action::SelectNext),
            KeyCode::Up => Some(Action::SelectPrev),
            KeyCode::Home => Some(Action::SelectFirst),
            KeyCode::End => Some(Action::SelectLast),
            KeyCode::Enter | KeyCode::Right => Some(Action::OpenSelected),
            _ => common(keys, key),
        },
        Pane::Messages => match key.code {
            _ if is(Bound::Down) => Some(Action::MessageSelect(1)),
            _ if is(Bound::Up) => Some(Action::MessageSelect(-1)),
            _ if is(Bound::Reply) => Some(Action::Reply),
            _ if is(Bound::EditMessage) => Some(Action::EditMessage),
            _ if is(Bound::DeleteMessage) => Some(Action::DeleteMessage),
            _ if is(Bound::React) => Some(Action::React),
            _ if is(Bound::SaveFile) => Some(Action::SaveFile),
            _ if is(Bound::OpenFile) => Some(Action::OpenFile),
            _ if is(Bound::AttachFile) => Some(Action::AttachFile),
            _ if is(Bound::HalfPageDown) => Some(Action::HalfPageDown),
            _ if is(Bound::HalfPageUp) => Some(Action::HalfPageUp),
            _ if is(Bound::Top) => Some(Action::ScrollTop),
            _ if is(Bound::Bottom) => Some(Action::ScrollBottom),
            _ if is(Bound::Search) => Some(Action::SearchStart),
            _ if is(Bound::SearchNext) => Some(Action::SearchNext),
            _ if is(Bound::SearchPrev) => Some(Action::SearchPrev),
            _ if is(Bound::Write) => Some(Action::Focus(Pane::Composer)),
            _ if is(Bound::ToList) => Some(Action::Focus(Pane::List)),
            KeyCode::Down => Some(Action::MessageSelect(1)),
            KeyCode::Up => Some(Action::MessageSelect(-1)),
            KeyCode::Delete => Some(Action::DeleteMessage),
            KeyCode::Home => Some(Action::ScrollTop),
            KeyCode::End => Some(Action::ScrollBottom),
            KeyCode::Enter => Some(Action::Focus(Pane::Composer)),
            KeyCode::Left => Some(Action::Focus(Pane::List)),
            _ => common(keys, key),
        },
    }
}

/// Keys of the list and message panes (not the composer).
fn common(keys: &KeyMap, key: KeyEvent) -> Option<Action> {
    let is = |b: Bound| keys.is(b, &key);
    match key.code {
        _ if is(Bound::Quit) => Some(Action::Quit),
        _ if is(Bound::Help) => Some(Action::ToggleHelp),
        _ if is(Bound::Contacts) => Some(Action::ShowContacts),
        _ if is(Bound::Identity) => Some(Action::ShowIdentity),
        _ if is(Bound::Members) => Some(Action::ShowMembers),
        _ if is(Bound::Devices) => Some(Action::ShowDevices),
        KeyCode::Esc => Some(Action::CloseOverlay),
        _ => None,
    }
}

/// Keys in the search window: the words are typed, the arrows move in
/// the hits, Tab switches between the open conversation and all.
fn search_key(key: KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Up => Some(Action::SearchSelect(-1)),
        KeyCode::Down => Some(Action::SearchSelect(1)),
        KeyCode::PageUp => Some(Action::SearchSelect(-10)),
        KeyCode::PageDown => Some(Action::SearchSelect(10)),
        KeyCode::Char('p') | KeyCode::Char('k') if ctrl => Some(Action::SearchSelect(-1)),
        KeyCode::Char('n') | KeyCode::Char('j') if ctrl => Some(Action::SearchSelect(1)),
        KeyCode::Tab => Some(Action::SearchScope),
        KeyCode::Enter => Some(Action::SearchSubmit),
        _ => match prompt_key(key)? {
            Action::PromptEdit(edit) => Some(Action::SearchEdit(edit)),
            other => Some(other),
        },
    }
}

/// Keys in a question about a message: y/n to deleting it; for a reaction,
/// a quick choice's number (while nothing is typed) or an emoji typed; a
/// path to save a file to, or of one to send; y/N to opening a risky
/// file, where any key but `y` is no.
fn message_prompt_key(prompt: &MessagePrompt, key: KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match prompt {
        MessagePrompt::Delete { .. } => match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => Some(Action::PromptSubmit),
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => Some(Action::CloseOverlay),
            _ => None,
        },
        MessagePrompt::React { input, .. } => match key.code {
            KeyCode::Char(c @ '1'..='6') if input.text.is_empty() && !ctrl => {
                Some(Action::ReactQuick(c as usize - '0' as usize))
            }
            _ => prompt_key(key),
        },
        MessagePrompt::SaveFile { .. } | MessagePrompt::SendFile { .. } => prompt_key(key),
        MessagePrompt::OpenRisky { .. } => match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') if !ctrl => Some(Action::PromptSubmit),
            _ => Some(Action::CloseOverlay),
        },
    }
}

/// Keys in the devices view: y/n to a confirmation, typing in a prompt, else
/// the view's own keys.
fn devices_key(keys: &KeyMap, view: &DevicesView, key: KeyEvent) -> Option<Action> {
    let is = |b: Bound| keys.is(b, &key);
    match &view.prompt {
        Some(DevicePrompt::Revoke(r)) if r.step == RevokeStep::Confirm => match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => Some(Action::PromptSubmit),
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => Some(Action::CloseOverlay),
            _ => None,
        },
        Some(_) => prompt_key(key),
        None => match key.code {
            _ if is(Bound::DeviceLink) => Some(Action::DeviceLink {
                with_history: false,
            }),
            _ if is(Bound::DeviceLinkHistory) => Some(Action::DeviceLink { with_history: true }),
            _ if is(Bound::Quit) || is(Bound::Devices) => Some(Action::CloseOverlay),
            KeyCode::Esc => Some(Action::CloseOverlay),
            // The code hides the list: only a new code or Esc mean something.
            _ if view.link.is_some() => None,
            _ if is(Bound::Down) => Some(Action::DeviceSelect(1)),
            _ if is(Bound::Up) => Some(Action::DeviceSelect(-1)),
            _ if is(Bound::Top) => Some(Action::DeviceSelect(i64::MIN)),
            _ if is(Bound::Bottom) => Some(Action::DeviceSelect(i64::MAX)),
            _ if is(Bound::DeviceRevoke) => Some(Action::DeviceRevoke),
            _ if is(Bound::DeviceRename) => Some(Action::DeviceRename),
            KeyCode::Down => Some(Action::DeviceSelect(1)),
            KeyCode::Up => Some(Action::DeviceSelect(-1)),
            KeyCode::Home => Some(Action::DeviceSelect(i64::MIN)),
            KeyCode::End => Some(Action::DeviceSelect(i64::MAX)),
            KeyCode::Delete => Some(Action::DeviceRevoke),
            _ => None,
        },
    }
}

/// Whether a one-line prompt (add, verify) takes typed text.
fn has_prompt(state: &AppState) -> bool {
    match &state.overlay {
        Some(Overlay::Picker(_)) => true,
        Some(Overlay::Members(v)) => matches!(v.prompt, Some(MemberPrompt::Add(_))),
        Some(Overlay::Devices(v)) => match &v.prompt {
            Some(DevicePrompt::Revoke(r)) => r.step != RevokeStep::Confirm,
            Some(DevicePrompt::Rename { .. }) => true,
            None => false,
        },
        Some(Overlay::Contacts(v)) => {
            matches!(
                v.prompt,
                Some(ContactPrompt::Add(_) | ContactPrompt::Verify { .. })
            )
        }
        Some(Overlay::Message(p)) => {
            matches!(
                p,
                MessagePrompt::React { .. }
                    | MessagePrompt::SaveFile { .. }
                    | MessagePrompt::SendFile { .. }
            )
        }
        _ => false,
    }
}

/// Keys in a one-line prompt.
fn prompt_key(key: KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let edit = match key.code {
        KeyCode::Esc => return Some(Action::CloseOverlay),
        KeyCode::Enter => return Some(Action::PromptSubmit),
        KeyCode::Char('w') if ctrl => Edit::DeleteWord,
        KeyCode::Char('u') if ctrl => Edit::DeleteToLineStart,
        KeyCode::Char('a') if ctrl => Edit::Home,
        KeyCode::Char('e') if ctrl => Edit::End,
        KeyCode::Char(c) if !ctrl => Edit::Insert(c),
        KeyCode::Backspace => Edit::Backspace,
        KeyCode::Delete => Edit::Delete,
        KeyCode::Left => Edit::Left,
        KeyCode::Right => Edit::Right,
        KeyCode::Home => Edit::Home,
        KeyCode::End => Edit::End,
        _ => return None,
    };
    Some(Action::PromptEdit(edit))
}
