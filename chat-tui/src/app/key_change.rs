//! A contact's changed key in the contacts view (docs/SECURITY.md §4.2):
//! accepting it after a confirmation that shows the new fingerprint again,
//! refusing it, and what chatd answered. A contact frozen between two
//! rotations has its own module, [`frozen`]. Pure: effects only; chatd
//! checks the fingerprint again and has the last word.

use ipc_schema::fingerprint;
use ipc_schema::methods::{Contact, ContactChange};
use ipc_schema::text::sanitize;

use crate::app::action::{ContactDone, ContactFailed, Effect};
use crate::app::contacts::{self, normalize_fingerprint};
use crate::app::state::{AppState, ContactPrompt, ContactsView, DaemonLink, Overlay};

pub mod frozen;

fn view(state: &mut AppState) -> Option<&mut ContactsView> {
    match &mut state.overlay {
        Some(Overlay::Contacts(v)) => Some(v),
        _ => None,
    }
}

/// The highlighted contact, when the view is idle (no prompt, no call).
fn idle_selection(state: &AppState) -> Option<&Contact> {
    match &state.overlay {
        Some(Overlay::Contacts(v)) if v.prompt.is_none() && !v.busy => {
            state.contacts.get(v.selected)
        }
        _ => None,
    }
}

/// `user`'s pending fingerprint in the list, grouped, if it has a readable one.
fn pending_of(state: &AppState, user: &str) -> Option<String> {
    let contact = state.contacts.iter().find(|c| c.user == user)?;
    fingerprint::normalize(contact.pending_fingerprint.as_deref()?)
}

/// "1 waiting message", "3 waiting messages".
pub fn waiting(n: u64) -> String {
    match n {
        1 => "1 waiting message".to_owned(),
        n => format!("{n} waiting messages"),
    }
}

/// `A`: asks to confirm the highlighted contact's new key; the prompt keeps
/// the fingerprint it shows, which is what `y` sends. A frozen contact is
/// first asked which of its two fingerprints ([`frozen::ask`]). Nothing
/// happens for a contact without a changed key.
pub fn accept(state: &mut AppState) {
    let Some(contact) = idle_selection(state) else {
        return;
    };
    let prompt = if contact.frozen {
        frozen::ask(contact)
    } else {
        let Some(pending) = contact.pending_fingerprint.as_deref() else {
            return;
        };
        let user = contact.user.clone();
        normalize_fingerprint(pending)
            .map(|fingerprint| ContactPrompt::AcceptKey {
                user,
                fingerprint,
                choice: None,
            })
            .map_err(|_| {
                format!(
                    "chatd sent no readable fingerprint for {}'s new key: nothing to accept",
                    sanitize(&contact.user)
                )
            })
    };
    let Some(v) = view(state) else { return };
    match prompt {
        Ok(prompt) => {
            v.prompt = Some(prompt);
            v.message = None;
        }
        Err(why) => v.message = Some(Err(why)),
    }
}

/// `R`: asks to confirm refusing the highlighted contact's new key; for a
/// frozen contact, only says that refusing is no choice. Nothing happens
/// for a contact without a changed key.
pub fn refuse(state: &mut AppState) {
    let Some(contact) = idle_selection(state) else {
        return;
    };
    let user = contact.user.clone();
    if contact.frozen {
        return frozen::refuse(state, &user);
    }
    if contact.pending_fingerprint.is_none() {
        return;
    }
    if let Some(v) = view(state) {
        v.prompt = Some(ContactPrompt::RefuseKey { user });
        v.message = None;
    }
}

/// Whether the view waits for chatd's answer to accepting or refusing a key.
fn asked(v: &ContactsView) -> bool {
    v.busy
        && matches!(
            v.prompt,
            Some(ContactPrompt::AcceptKey { .. } | ContactPrompt::RefuseKey { .. })
        )
}

/// Whether `result` answers accepting or refusing a key: its kind, or the
/// prompt that waits for it.
pub fn answers(state: &AppState, result: &Result<ContactDone, ContactFailed>) -> bool {
    let waiting = matches!(&state.overlay, Some(Overlay::Contacts(v)) if asked(v));
    waiting
        || matches!(
            result,
            Ok(ContactDone::KeyAccepted { .. } | ContactDone::KeyRefused { .. })
        )
}

/// What the view's status line says about chatd's answer to accepting or
/// refusing a key.
pub fn describe(result: &Result<ContactDone, ContactFailed>) -> Result<String, String> {
    match result {
        Ok(ContactDone::KeyAccepted {
            user,
            opened,
            dropped,
        }) => {
            let mut text = match opened {
                0 if *dropped == 0 => format!("accepted {user}'s new key; no messages waited"),
                n => format!("accepted {user}'s new key: {} opened", waiting(*n)),
            };
            if *dropped > 0 {
                text.push_str(&format!(", {dropped} did not open (dropped)"));
            }
            text.push_str(" — it is not verified yet");
            Ok(text)
        }
        Ok(ContactDone::KeyRefused { user, deleted }) => Ok(format!(
            "refused {user}'s new key, the old one stays: {} deleted",
            waiting(*deleted)
        )),
        Err(ContactFailed::FingerprintMismatch(why)) => Err(format!(
            "fingerprint mismatch — nothing accepted, do not trust this key ({why})"
        )),
        other => contacts::describe(other),
    }
}

/// chatd answered accepting or refusing a key: the prompt closes either
/// way, the answer goes to the status line, and the lists are loaded again
/// (what waited is now in the conversations, or gone).
pub fn result(
    state: &mut AppState,
    result: Result<ContactDone, ContactFailed>,
    fx: &mut Vec<Effect>,
) {
    // The confirmation still waits for this answer: a frozen contact's
    // choice is told as such.
    let choice = match &state.overlay {
        Some(Overlay::Contacts(ContactsView {
            prompt: Some(ContactPrompt::AcceptKey { choice, .. }),
            busy: true,
            ..
        })) => *choice,
        _ => None,
    };
    let text = match choice {
        Some(choice) => frozen::describe(choice, &result),
        None => describe(&result),
    };
    match view(state) {
        Some(v) => {
            v.busy = false;
            v.prompt = None;
            v.message = Some(text);
        }
        None => state.notice = Some(text.unwrap_or_else(|e| e)),
    }
    if state.daemon == DaemonLink::Online {
        fx.extend([Effect::LoadContacts, Effect::LoadConversations]);
    }
}

/// The contacts changed: a confirmation whose contact no longer has the
/// key it shows closes, saying why, so that `y` never answers a question
/// that is not on screen; so does one about a plain changed key when the
/// contact froze. Not while chatd is answering it.
pub fn settle(state: &mut AppState) {
    let stale = match &state.overlay {
        Some(Overlay::Contacts(v)) if !v.busy => match &v.prompt {
            Some(
                prompt @ (ContactPrompt::ChooseKey { .. }
                | ContactPrompt::AcceptKey {
                    choice: Some(_), ..
                }),
            ) => frozen::stale(state, prompt),
            Some(ContactPrompt::AcceptKey { user, .. } | ContactPrompt::RefuseKey { user })
                if frozen::pair(state, user).is_some() =>
            {
                Some(frozen::froze(user))
            }
            Some(ContactPrompt::AcceptKey {
                user, fingerprint, ..
            }) => match pending_of(state, user) {
                Some(now) if now == *fingerprint => None,
                Some(_) => Some(format!(
                    "{}'s new key changed again: compare the fingerprint shown now",
                    sanitize(user)
                )),
                None => Some(format!(
                    "{} has no changed key waiting any more",
                    sanitize(user)
                )),
            },
            Some(ContactPrompt::RefuseKey { user }) => pending_of(state, user)
                .is_none()
                .then(|| format!("{} has no changed key waiting any more", sanitize(user))),
            _ => None,
        },
        _ => None,
    };
    if let (Some(why), Some(v)) = (stale, view(state)) {
        v.prompt = None;
        v.message = Some(Err(why));
    }
}

/// The status bar's notice for a key event: a changed key is a warning
/// the user must act on, a frozen contact all the more; accepting or
/// refusing it (here, on another device or with chat-ctl) ends that
/// warning.
pub fn notice(change: ContactChange, contact: &Contact, new: Option<&str>) -> Option<String> {
    let user = sanitize(&contact.user);
    match change {
        ContactChange::KeyChanged if contact.frozen => Some(frozen::notice(contact)),
        ContactChange::KeyChanged => Some(format!(
            "{user}'s key changed to {}: their messages wait; compare it with them, then accept (contacts view) or refuse",
            sanitize(new.unwrap_or("?")),
        )),
        ContactChange::KeyAccepted => Some(format!(
            "{user}'s new key was accepted: pinned, not verified yet"
        )),
        ContactChange::KeyRefused => {
            Some(format!("{user}'s new key was refused: the old key stays"))
        }
        // Anyone holding a stolen previous key could do the same: prominent.
        ContactChange::KeyRotated => Some(format!(
            "{user} rotated their keys (signed by their previous key): new fingerprint {}; verify it with them",
            sanitize(new.unwrap_or("?")),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
