//! A contact frozen between two signed rotations from one key
//! (docs/PROTOCOL.md §13.4): someone else holds that key, so chatd opens
//! nothing from the contact and sends it nothing until the user accepts one
//! of its two fingerprints, `1` the pinned one (the card it rotated to
//! first) or `2` the other. Refusing is no choice; chatd refuses it too.
//! Pure, as [`super`] is; chatd checks the fingerprint again.

use ipc_schema::fingerprint;
use ipc_schema::methods::Contact;
use ipc_schema::text::sanitize;

use super::{view, waiting};
use crate::app::action::{ContactDone, ContactFailed};
use crate::app::keymap::Bound;
use crate::app::state::{AppState, ContactPrompt, KeyChoice};

/// `fp` grouped; as it is when it is no fingerprint, so that it matches no
/// prompt's.
fn grouped(fp: &str) -> String {
    fingerprint::normalize(fp).unwrap_or_else(|| fp.to_owned())
}

/// `user`'s two fingerprints (choice 1, choice 2), grouped, while the list
/// says it is frozen.
pub fn pair(state: &AppState, user: &str) -> Option<(String, String)> {
    let contact = state.contacts.iter().find(|c| c.user == user && c.frozen)?;
    let second = contact.pending_fingerprint.as_deref().unwrap_or_default();
    Some((grouped(&contact.fingerprint), grouped(second)))
}

/// `A` on frozen `contact`: the question which of its fingerprints, both
/// grouped as drawn; or why there is none to ask (one that is no
/// fingerprint cannot be compared, so not chosen).
pub fn ask(contact: &Contact) -> Result<ContactPrompt, String> {
    let first = fingerprint::normalize(&contact.fingerprint);
    let second = contact
        .pending_fingerprint
        .as_deref()
        .and_then(fingerprint::normalize);
    match (first, second) {
        (Some(first), Some(second)) => Ok(ContactPrompt::ChooseKey {
            user: contact.user.clone(),
            first,
            second,
        }),
        _ => Err(format!(
            "chatd sent no two readable fingerprints for frozen {}: nothing to choose",
            sanitize(&contact.user)
        )),
    }
}

/// `1` or `2` in the question: the confirmation of that fingerprint, which
/// is what `y` sends. Nothing happens without the question open.
pub fn choose(state: &mut AppState, choice: KeyChoice) {
    let Some(v) = view(state).filter(|v| !v.busy) else {
        return;
    };
    let confirm = match &v.prompt {
        Some(ContactPrompt::ChooseKey {
            user,
            first,
            second,
        }) => ContactPrompt::AcceptKey {
            user: user.clone(),
            fingerprint: choice.of(first, second).to_owned(),
            choice: Some(choice),
        },
        _ => return,
    };
    v.prompt = Some(confirm);
    v.message = None;
}

/// `R` on frozen `user`: nothing is asked or sent, since chatd would refuse
/// it; the status line says what the user can do instead.
pub fn refuse(state: &mut AppState, user: &str) {
    let accept = state.keys.key(Bound::ContactAcceptKey).to_string();
    let why = format!(
        "{} is frozen: refusing is no choice — accept one of the two fingerprints ({accept})",
        sanitize(user)
    );
    if let Some(v) = view(state) {
        v.message = Some(Err(why));
    }
}

/// Why `prompt` (the question, or the confirmation of a choice) no longer
/// matches the list, if it does not: its contact thawed, or the
/// fingerprint it shows is not that choice's any more.
pub fn stale(state: &AppState, prompt: &ContactPrompt) -> Option<String> {
    let user = match prompt {
        ContactPrompt::ChooseKey { user, .. } | ContactPrompt::AcceptKey { user, .. } => user,
        _ => return None,
    };
    let Some((first, second)) = pair(state, user) else {
        return Some(format!(
            "{} is not frozen any more: nothing to choose",
            sanitize(user)
        ));
    };
    let current = match prompt {
        ContactPrompt::ChooseKey {
            first: shown_first,
            second: shown_second,
            ..
        } => *shown_first == first && *shown_second == second,
        ContactPrompt::AcceptKey {
            fingerprint,
            choice: Some(choice),
            ..
        } => choice.of(&first, &second) == fingerprint,
        _ => true,
    };
    (!current).then(|| {
        format!(
            "{}'s two fingerprints changed: compare the ones shown now",
            sanitize(user)
        )
    })
}

/// Why a plain key confirmation for `user` closed: the contact froze
/// while it was open, and now has two fingerprints to choose from.
pub fn froze(user: &str) -> String {
    format!(
        "{} is frozen now: choose one of its two fingerprints",
        sanitize(user)
    )
}

/// What the view's status line says about chatd's answer to accepting
/// `choice`.
pub fn describe(
    choice: KeyChoice,
    result: &Result<ContactDone, ContactFailed>,
) -> Result<String, String> {
    match result {
        Ok(ContactDone::KeyAccepted {
            user,
            opened,
            dropped,
        }) => {
            let mut text = format!(
                "accepted fingerprint {} for {user}, no longer frozen: {} opened",
                choice.number(),
                waiting(*opened)
            );
            if *dropped > 0 {
                text.push_str(&format!(", {dropped} did not open (dropped)"));
            }
            text.push_str(" — it is not verified yet");
            Ok(text)
        }
        other => super::describe(other),
    }
}

/// The status bar's notice that `contact` froze: nothing more arrives from
/// it or goes to it until the user acts, so it must be said.
pub fn notice(contact: &Contact) -> String {
    let user = sanitize(&contact.user);
    format!(
        "{user} is FROZEN: two different key rotations came from their previous key, someone else may hold it; \
         nothing is sent to or opened from {user} until you accept one of the two fingerprints (contacts view)"
    )
}
