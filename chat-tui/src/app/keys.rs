//! Terminal events to actions; which action a key means depends on the pane.

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEventKind,
};

use crate::app::action::Action;
use crate::app::composer::Edit;
use crate::app::state::{AppState, ContactPrompt, Overlay, Pane};

/// Every key, for the help overlay; a row with no key is a heading.
pub const HELP: &[(&str, &str)] = &[
    ("", "Everywhere"),
    ("Tab / Shift+Tab", "next / previous pane"),
    ("?", "this help (j/k scroll it, Esc closes)"),
    ("Esc", "close help or search, back to the list"),
    ("q", "quit (not while writing)"),
    ("c", "contacts (not while writing)"),
    ("I", "own identity: fingerprint and QR code of your card"),
    ("Ctrl+C", "quit, always"),
    (
        "Ctrl+P",
        "fuzzy conversation picker: type, ↑ ↓, Enter opens",
    ),
    (
        "PageUp / PageDown",
        "scroll messages; PageUp at the top loads older",
    ),
    (
        "mouse wheel / click",
        "scroll / select a conversation or pane",
    ),
    ("", "Conversation list"),
    ("j k / ↓ ↑", "next / previous conversation"),
    ("g G / Home End", "first / last conversation"),
    ("Enter / l / →", "open the conversation"),
    ("i", "write in the open conversation"),
    ("", "Messages"),
    ("j k / ↓ ↑", "scroll one row"),
    ("Ctrl+D / Ctrl+U", "half a page down / up"),
    ("g / G", "oldest loaded / newest message"),
    ("/", "search; Enter runs it, n older, N newer"),
    ("i / Enter", "write"),
    ("", "Composer"),
    ("Enter", "send"),
    ("Alt+Enter / Shift+Enter / Ctrl+J", "new line"),
    ("← → ↑ ↓ Home End", "move the cursor"),
    ("Ctrl+← / Ctrl+→", "word left / right"),
    ("Backspace / Delete", "delete a character"),
    ("Ctrl+W", "delete the previous word"),
    ("Ctrl+U", "delete to the start of the line"),
    ("Ctrl+E", "edit the draft in $EDITOR"),
    ("paste", "inserted as is, newlines kept"),
    ("", "Contacts"),
    ("j k / ↓ ↑", "next / previous contact"),
    ("a", "add: a card file path, or USER FINGERPRINT"),
    ("v", "verify: type the fingerprint you got out of band"),
    ("d", "remove (asks y/n)"),
    ("Esc", "close the prompt, then the view"),
];

/// The action a terminal event means in `state`, if any.
pub fn map_event(state: &AppState, event: Event) -> Option<Action> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => map_key(state, key),
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

fn map_key(state: &AppState, key: KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let shift = key.modifiers.contains(KeyModifiers::SHIFT);
    if ctrl && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    if state.overlay == Some(Overlay::Help) {
        return match key.code {
            KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') => Some(Action::CloseOverlay),
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
    if ctrl && key.code == KeyCode::Char('p') {
        return Some(Action::OpenPicker);
    }
    if state.overlay == Some(Overlay::Identity) {
        return match key.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('I') => Some(Action::CloseOverlay),
            _ => None,
        };
    }
    if let Some(Overlay::Contacts(view)) = &state.overlay {
        return match &view.prompt {
            Some(ContactPrompt::Remove { .. }) => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => Some(Action::PromptSubmit),
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => {
                    Some(Action::CloseOverlay)
                }
                _ => None,
            },
            Some(_) => prompt_key(key),
            None => match key.code {
                KeyCode::Char('j') | KeyCode::Down => Some(Action::SelectNext),
                KeyCode::Char('k') | KeyCode::Up => Some(Action::SelectPrev),
                KeyCode::Char('g') | KeyCode::Home => Some(Action::SelectFirst),
                KeyCode::Char('G') | KeyCode::End => Some(Action::SelectLast),
                KeyCode::Char('a') => Some(Action::ContactAdd),
                KeyCode::Char('v') => Some(Action::ContactVerify),
                KeyCode::Char('d') | KeyCode::Delete => Some(Action::ContactRemove),
                KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('c') => {
                    Some(Action::CloseOverlay)
                }
                _ => None,
            },
        };
    }
    if state.search.as_ref().is_some_and(|s| s.editing) {
        return match key.code {
            KeyCode::Esc => Some(Action::CloseOverlay),
            KeyCode::Enter => Some(Action::SearchSubmit),
            KeyCode::Backspace => Some(Action::SearchEdit(Edit::Backspace)),
            KeyCode::Char('w') if ctrl => Some(Action::SearchEdit(Edit::DeleteWord)),
            KeyCode::Char(c) if !ctrl => Some(Action::SearchEdit(Edit::Insert(c))),
            _ => None,
        };
    }
    match key.code {
        KeyCode::Tab => return Some(Action::FocusNext),
        KeyCode::BackTab => return Some(Action::FocusPrev),
        KeyCode::PageUp => return Some(Action::PageUp),
        KeyCode::PageDown => return Some(Action::PageDown),
        _ => {}
    }
    match state.focus {
        Pane::Composer => {
            let edit = match key.code {
                KeyCode::Enter if alt || shift => Edit::Newline,
                KeyCode::Enter => return Some(Action::Submit),
                KeyCode::Char('j') if ctrl => Edit::Newline,
                KeyCode::Char('w') if ctrl => Edit::DeleteWord,
                KeyCode::Char('u') if ctrl => Edit::DeleteToLineStart,
                KeyCode::Char('a') if ctrl => Edit::Home,
                KeyCode::Char('e') if ctrl => return Some(Action::OpenEditor),
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
                KeyCode::Esc => return Some(Action::Focus(Pane::Messages)),
                _ => return None,
            };
            Some(Action::Edit(edit))
        }
        Pane::List => match key.code {
            KeyCode::Char('j') | KeyCode::Down => Some(Action::SelectNext),
            KeyCode::Char('k') | KeyCode::Up => Some(Action::SelectPrev),
            KeyCode::Char('g') | KeyCode::Home => Some(Action::SelectFirst),
            KeyCode::Char('G') | KeyCode::End => Some(Action::SelectLast),
            KeyCode::Enter | KeyCode::Char('l') | KeyCode::Right => Some(Action::OpenSelected),
            KeyCode::Char('i') => Some(Action::Focus(Pane::Composer)),
            _ => common(key),
        },
        Pane::Messages => match key.code {
            KeyCode::Char('j') | KeyCode::Down => Some(Action::ScrollDown(1)),
            KeyCode::Char('k') | KeyCode::Up => Some(Action::ScrollUp(1)),
            KeyCode::Char('d') if ctrl => Some(Action::HalfPageDown),
            KeyCode::Char('u') if ctrl => Some(Action::HalfPageUp),
            KeyCode::Char('g') | KeyCode::Home => Some(Action::ScrollTop),
            KeyCode::Char('G') | KeyCode::End => Some(Action::ScrollBottom),
            KeyCode::Char('/') => Some(Action::SearchStart),
            KeyCode::Char('n') => Some(Action::SearchNext),
            KeyCode::Char('N') => Some(Action::SearchPrev),
            KeyCode::Char('i') | KeyCode::Enter => Some(Action::Focus(Pane::Composer)),
            KeyCode::Char('h') | KeyCode::Left => Some(Action::Focus(Pane::List)),
            _ => common(key),
        },
    }
}

fn common(key: KeyEvent) -> Option<Action> {
    match key.code {
        KeyCode::Char('q') => Some(Action::Quit),
        KeyCode::Char('?') => Some(Action::ToggleHelp),
        KeyCode::Char('c') => Some(Action::ShowContacts),
        KeyCode::Char('I') => Some(Action::ShowIdentity),
        KeyCode::Esc => Some(Action::CloseOverlay),
        _ => None,
    }
}

/// Whether a one-line prompt (add, verify) takes typed text.
fn has_prompt(state: &AppState) -> bool {
    match &state.overlay {
        Some(Overlay::Picker(_)) => true,
        Some(Overlay::Contacts(v)) => {
            matches!(
                v.prompt,
                Some(ContactPrompt::Add(_) | ContactPrompt::Verify { .. })
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
