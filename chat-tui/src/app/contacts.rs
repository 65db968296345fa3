//! The contacts view's logic: fingerprint handling, parsing the add prompt, and
//! the `update` arms for its actions (still pure: effects only). A changed
//! key has its own module, [`key_change`].

use ipc_schema::fingerprint;

use crate::app::action::{ContactDone, ContactFailed, Effect};
use crate::app::composer::{Composer, Edit};
use crate::app::key_change;
use crate::app::state::{AppState, ContactPrompt, ContactsView, DaemonLink, Overlay};

/// `text` as 16 groups of 4 hex digits, the form chatd shows, if it is a
/// fingerprint in any spacing or case (`ipc_schema::fingerprint`); else why not.
pub fn normalize_fingerprint(text: &str) -> Result<String, String> {
    fingerprint::normalize(text).ok_or_else(|| {
        let digits = text.chars().filter(char::is_ascii_hexdigit).count();
        format!("a fingerprint is 64 hex digits (16 groups of 4); this has {digits}")
    })
}

/// What the add prompt's text asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddRequest {
    /// A card file to read.
    Card(String),
    /// A directory lookup checked against a fingerprint.
    Directory {
        /// Username.
        user: String,
        /// Grouped fingerprint.
        fingerprint: String,
    },
}

/// Parses the add prompt: a path (anything with a `/`, starting with `~` or `.`,
/// or a single word) is a card file; `USER` followed by a fingerprint (spaced
/// any way) is the directory form.
pub fn parse_add(text: &str) -> Result<AddRequest, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("type a card file path, or USER FINGERPRINT".into());
    }
    let mut words = text.split_whitespace();
    let first = words.next().unwrap_or_default();
    let rest: Vec<&str> = words.collect();
    let looks_like_path = text.contains('/') || text.starts_with(['~', '.']) || rest.is_empty();
    if looks_like_path {
        return Ok(AddRequest::Card(text.to_owned()));
    }
    let fingerprint =
        normalize_fingerprint(&rest.join(" ")).map_err(|e| format!("USER FINGERPRINT: {e}"))?;
    Ok(AddRequest::Directory {
        user: first.to_owned(),
        fingerprint,
    })
}

/// The contacts view, if it is open.
fn view(state: &mut AppState) -> Option<&mut ContactsView> {
    match &mut state.overlay {
        Some(Overlay::Contacts(v)) => Some(v),
        _ => None,
    }
}

/// Opens the contacts view and refreshes the list.
pub fn show(state: &mut AppState, fx: &mut Vec<Effect>) {
    state.overlay = Some(Overlay::Contacts(ContactsView::default()));
    if state.daemon == DaemonLink::Online {
        fx.push(Effect::LoadContacts);
    }
}

/// Moves the highlight by `delta` (clamped); `i64::MIN`/`MAX` go to the ends.
pub fn select(state: &mut AppState, delta: i64) {
    let len = state.contacts.len();
    if let Some(v) = view(state).filter(|v| v.prompt.is_none()) {
        let last = len.saturating_sub(1) as i64;
        v.selected = (v.selected as i64).saturating_add(delta).clamp(0, last) as usize;
    }
}

fn selected_user(state: &AppState) -> Option<(String, String)> {
    let Some(Overlay::Contacts(v)) = &state.overlay else {
        return None;
    };
    state
        .contacts
        .get(v.selected)
        .map(|c| (c.user.clone(), c.fingerprint.clone()))
}

/// Opens a prompt (a, v, d) unless one is open.
pub fn prompt(state: &mut AppState, kind: fn(String) -> Option<ContactPrompt>) {
    let user = selected_user(state).map(|(u, _)| u).unwrap_or_default();
    if let Some(v) = view(state).filter(|v| v.prompt.is_none()) {
        v.prompt = kind(user);
        v.message = None;
    }
}

/// The prompt constructors for [`prompt`].
pub fn add_prompt(_: String) -> Option<ContactPrompt> {
    Some(ContactPrompt::Add(Composer::default()))
}

/// See [`add_prompt`]; needs a highlighted contact.
pub fn verify_prompt(user: String) -> Option<ContactPrompt> {
    (!user.is_empty()).then(|| ContactPrompt::Verify {
        user,
        input: Composer::default(),
    })
}

/// See [`add_prompt`]; needs a highlighted contact.
pub fn remove_prompt(user: String) -> Option<ContactPrompt> {
    (!user.is_empty()).then_some(ContactPrompt::Remove { user })
}

/// Edits the prompt's text; one line only (pasted newlines become spaces).
pub fn edit(state: &mut AppState, edit: Edit) {
    let Some(v) = view(state) else { return };
    let input = match &mut v.prompt {
        Some(ContactPrompt::Add(c)) | Some(ContactPrompt::Verify { input: c, .. }) => c,
        _ => return,
    };
    let edit = match edit {
        Edit::Newline => return,
        Edit::InsertStr(s) => Edit::InsertStr(s.replace(['\r', '\n'], " ")),
        e => e,
    };
    input.apply(edit);
}

/// Answers the prompt: checks the input and asks chatd.
pub fn submit(state: &mut AppState, fx: &mut Vec<Effect>) {
    let online = state.daemon == DaemonLink::Online;
    let Some(v) = view(state) else { return };
    if v.busy {
        return;
    }
    let effect = match &v.prompt {
        None => return,
        Some(ContactPrompt::Add(input)) => match parse_add(&input.text) {
            Ok(AddRequest::Card(path)) => Ok(Effect::AddContactCard { path }),
            Ok(AddRequest::Directory { user, fingerprint }) => {
                Ok(Effect::AddContactDirectory { user, fingerprint })
            }
            Err(e) => Err(e),
        },
        Some(ContactPrompt::Verify { user, input }) => {
            normalize_fingerprint(&input.text).map(|fingerprint| Effect::VerifyContact {
                user: user.clone(),
                fingerprint,
            })
        }
        Some(ContactPrompt::Remove { user }) => Ok(Effect::RemoveContact { user: user.clone() }),
        // Exactly the fingerprint the confirmation shows, never the list's.
        Some(ContactPrompt::AcceptKey {
            user, fingerprint, ..
        }) => Ok(Effect::AcceptKey {
            user: user.clone(),
            fingerprint: fingerprint.clone(),
        }),
        Some(ContactPrompt::RefuseKey { user }) => Ok(Effect::RefuseKey { user: user.clone() }),
        // The question which fingerprint takes `1` or `2`, not Enter.
        Some(ContactPrompt::ChooseKey { .. }) => return,
    };
    match effect {
        Err(e) => v.message = Some(Err(e)),
        Ok(_) if !online => v.message = Some(Err("daemon offline — try again later".into())),
        Ok(effect) => {
            v.busy = true;
            v.message = None;
            fx.push(effect);
        }
    }
}

/// What the contacts view says about chatd's answer.
pub fn describe(result: &Result<ContactDone, ContactFailed>) -> Result<String, String> {
    match result {
        Ok(ContactDone::Added {
            user,
            from_directory: false,
        }) => Ok(format!(
            "added {user} — verify the fingerprint with them (v)"
        )),
        Ok(ContactDone::Added {
            user,
            from_directory: true,
        }) => Ok(format!(
            "added {user} from the directory; fingerprint matched"
        )),
        Ok(ContactDone::Verified { user }) => Ok(format!("{user} is verified ✓")),
        Ok(ContactDone::Removed { user }) => Ok(format!("removed {user}; the history is kept")),
        Ok(ContactDone::KeyAccepted { .. } | ContactDone::KeyRefused { .. }) => {
            key_change::describe(result)
        }
        Err(ContactFailed::CardUnreadable { path, why }) => {
            Err(format!("cannot read {path}: {why}"))
        }
        Err(ContactFailed::NotACard { path, why }) => {
            Err(format!("{path} is not a contact card: {why}"))
        }
        Err(ContactFailed::FingerprintMismatch(why)) => Err(format!(
            "fingerprint mismatch — not verified, do not trust this key ({why})"
        )),
        Err(ContactFailed::Refused(why)) => Err(why.clone()),
    }
}

/// chatd answered add / verify / remove. The lists themselves follow the
/// `contact.changed` event chatd sends for the same change. Answers about
/// a changed key go to [`key_change::result`].
pub fn result(
    state: &mut AppState,
    result: Result<ContactDone, ContactFailed>,
    fx: &mut Vec<Effect>,
) {
    if key_change::answers(state, &result) {
        return key_change::result(state, result, fx);
    }
    let ok = result.is_ok();
    let result = describe(&result);
    match view(state) {
        Some(v) => {
            v.busy = false;
            if ok {
                v.prompt = None;
            }
            v.message = Some(result);
        }
        None => state.notice = Some(result.unwrap_or_else(|e| e)),
    }
}

/// Esc: closes the prompt, else the view. Returns whether it did anything.
pub fn close(state: &mut AppState) -> bool {
    let Some(v) = view(state) else { return false };
    if v.prompt.is_some() {
        v.prompt = None;
        v.busy = false;
        v.message = None;
    } else {
        state.overlay = None;
    }
    true
}

/// Keeps the highlight on the list after it changed, and closes a key
/// confirmation the change made stale ([`key_change::settle`]).
pub fn clamp(state: &mut AppState) {
    let len = state.contacts.len();
    if let Some(v) = view(state) {
        v.selected = v.selected.min(len.saturating_sub(1));
    }
    key_change::settle(state);
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str =
        "c7e1 0d59 a8f3 6b2e 94c0 1f7a 3e85 d26b 5a09 e7c4 82f1 4d3b b06e 19a7 f5c2 6e80";

    #[test]
    fn fingerprints_are_normalized_from_any_spacing() {
        let squashed: String = FP.split_whitespace().collect::<String>().to_uppercase();
        assert_eq!(normalize_fingerprint(&squashed).unwrap(), FP);
        assert_eq!(normalize_fingerprint(&FP.replace(' ', ":")).unwrap(), FP);
        assert!(
            normalize_fingerprint("c7e1 0d59")
                .unwrap_err()
                .contains("this has 8")
        );
        assert!(normalize_fingerprint("zz").is_err());
    }

    #[test]
    fn the_add_prompt_tells_paths_from_directory_lookups() {
        assert_eq!(
            parse_add(" ~/bob.card ").unwrap(),
            AddRequest::Card("~/bob.card".into())
        );
        assert_eq!(
            parse_add("bob.card").unwrap(),
            AddRequest::Card("bob.card".into())
        );
        assert_eq!(
            parse_add(&format!("bob {FP}")).unwrap(),
            AddRequest::Directory {
                user: "bob".into(),
                fingerprint: FP.into()
            }
        );
        assert!(parse_add("bob c7e1").unwrap_err().contains("FINGERPRINT"));
        assert!(parse_add("  ").is_err());
    }
}
