//! Accepting and refusing a contact's changed key through `update`: the
//! confirmations, what is sent, chatd's answers, and confirmations that the
//! list made stale.

use ipc_schema::methods::{Contact, ContactChangedEvent, Event, EventEnvelope};
use ipc_schema::time::TimeZone;

use super::*;
use crate::app::state::KeyChoice;
use crate::app::{Action, update};
use crate::theme::{Theme, ThemeName};

const OLD: &str = "c7e1 0d59 a8f3 6b2e 94c0 1f7a 3e85 d26b 5a09 e7c4 82f1 4d3b b06e 19a7 f5c2 6e80";
const NEW: &str = "3b9f 02d4 e1c8 77a5 0f6e 9d21 c4b8 5e03 a7f1 6c92 d05b 8e4a 21f7 b3c6 9e08 4d5a";
const OTHER: &str =
    "ef2a 9c41 07be d5e8 1a6c 44f0 b9ed 2e71 8c05 6a1f e4d2 97be 50c8 2f6e a1d9 7be4";

/// bob, pinned to [`OLD`], with `pending` seen in the directory and 3 waiting.
fn bob(pending: Option<&str>) -> Contact {
    Contact {
        user: "bob".into(),
        fingerprint: OLD.into(),
        verified: true,
        added_at: 0,
        pending_fingerprint: pending.map(str::to_owned),
        quarantined: 3,
        dropped: 0,
        rotated: false,
        frozen: false,
    }
}

/// carol: messages wait and some were lost, but no other key was found.
fn carol() -> Contact {
    Contact {
        user: "carol".into(),
        fingerprint: OTHER.into(),
        verified: false,
        added_at: 0,
        pending_fingerprint: None,
        quarantined: 2,
        dropped: 1,
        rotated: false,
        frozen: false,
    }
}

/// Online, the contacts view open on `contacts`, the first highlighted.
fn opened(contacts: Vec<Contact>) -> AppState {
    let mut s = AppState::new("x", Theme::named(ThemeName::None), TimeZone::Fixed(0));
    update(&mut s, Action::DaemonOnline);
    update(&mut s, Action::Contacts(contacts));
    update(&mut s, Action::ShowContacts);
    s
}

fn view(s: &AppState) -> &ContactsView {
    match &s.overlay {
        Some(Overlay::Contacts(v)) => v,
        other => panic!("the contacts view is not open: {other:?}"),
    }
}

fn key_event(change: ContactChange, contact: Contact) -> Action {
    Action::Event(EventEnvelope {
        seq: 1,
        ts: 0,
        event: Event::ContactChanged(ContactChangedEvent {
            change,
            contact,
            old_fingerprint: Some(OLD.into()),
            new_fingerprint: Some(NEW.into()),
        }),
    })
}

#[test]
fn accepting_asks_first_then_sends_the_fingerprint_the_prompt_holds() {
    let mut s = opened(vec![bob(Some(NEW)), carol()]);
    assert!(update(&mut s, Action::ContactAcceptKey).is_empty());
    assert_eq!(
        view(&s).prompt,
        Some(ContactPrompt::AcceptKey {
            user: "bob".into(),
            fingerprint: NEW.into(),
            choice: None
        })
    );
    assert_eq!(
        update(&mut s, Action::PromptSubmit),
        vec![Effect::AcceptKey {
            user: "bob".into(),
            fingerprint: NEW.into()
        }]
    );
    assert!(view(&s).busy);
    // A second y while chatd works sends nothing more.
    assert!(update(&mut s, Action::PromptSubmit).is_empty());
}

#[test]
fn y_sends_what_the_confirmation_holds_never_what_the_list_says() {
    let mut s = opened(vec![bob(Some(NEW))]);
    update(&mut s, Action::ContactAcceptKey);
    // Were the list to differ (`settle` closes such a prompt first), y
    // still sends the prompt's fingerprint, which is the one drawn.
    s.contacts[0].pending_fingerprint = Some(OTHER.into());
    assert_eq!(
        update(&mut s, Action::PromptSubmit),
        vec![Effect::AcceptKey {
            user: "bob".into(),
            fingerprint: NEW.into()
        }]
    );
}

#[test]
fn a_fingerprint_in_another_spelling_is_shown_and_sent_grouped() {
    let squashed = NEW.replace(' ', "").to_uppercase();
    let mut s = opened(vec![bob(Some(&squashed))]);
    update(&mut s, Action::ContactAcceptKey);
    assert!(matches!(
        &view(&s).prompt,
        Some(ContactPrompt::AcceptKey { fingerprint, .. }) if fingerprint == NEW
    ));
    // A key that is no fingerprint cannot be compared, so not accepted.
    let mut s = opened(vec![bob(Some("3b9f \u{1b}[2J"))]);
    assert!(update(&mut s, Action::ContactAcceptKey).is_empty());
    assert_eq!(view(&s).prompt, None);
    assert!(matches!(&view(&s).message, Some(Err(e)) if e.contains("no readable fingerprint")));
}

#[test]
fn without_a_changed_key_accept_and_refuse_do_nothing() {
    // carol has messages waiting and lost, but no other key to decide on.
    let mut s = opened(vec![bob(None), carol()]);
    for select in [0, 1] {
        if let Some(Overlay::Contacts(v)) = &mut s.overlay {
            v.selected = select;
        }
        let before = s.overlay.clone();
        assert!(update(&mut s, Action::ContactRefuseKey).is_empty());
        assert!(update(&mut s, Action::ContactAcceptKey).is_empty());
        assert_eq!(s.overlay, before);
        assert!(update(&mut s, Action::PromptSubmit).is_empty());
    }
    // Nor with the view closed.
    let mut s = opened(vec![bob(Some(NEW))]);
    s.overlay = None;
    update(&mut s, Action::ContactRefuseKey);
    update(&mut s, Action::ContactAcceptKey);
    assert_eq!(s.overlay, None);
}

#[test]
fn refusing_asks_first_and_n_keeps_everything() {
    let mut s = opened(vec![bob(Some(NEW))]);
    assert!(update(&mut s, Action::ContactRefuseKey).is_empty());
    assert_eq!(
        view(&s).prompt,
        Some(ContactPrompt::RefuseKey { user: "bob".into() })
    );
    // n (or Esc) closes the confirmation, not the view.
    assert!(update(&mut s, Action::CloseOverlay).is_empty());
    assert_eq!(view(&s).prompt, None);
    update(&mut s, Action::ContactRefuseKey);
    assert_eq!(
        update(&mut s, Action::PromptSubmit),
        vec![Effect::RefuseKey { user: "bob".into() }]
    );
}

#[test]
fn offline_nothing_is_sent_and_the_prompt_stays() {
    let mut s = opened(vec![bob(Some(NEW))]);
    update(&mut s, Action::DaemonOffline("gone".into()));
    update(&mut s, Action::ContactAcceptKey);
    assert!(update(&mut s, Action::PromptSubmit).is_empty());
    assert!(matches!(&view(&s).message, Some(Err(e)) if e.contains("offline")));
    assert!(!view(&s).busy);
}

#[test]
fn answers_show_in_the_status_line_and_reload_the_lists() {
    let reload = vec![Effect::LoadContacts, Effect::LoadConversations];
    let mut s = opened(vec![bob(Some(NEW))]);
    update(&mut s, Action::ContactAcceptKey);
    update(&mut s, Action::PromptSubmit);
    let done = ContactDone::KeyAccepted {
        user: "bob".into(),
        opened: 3,
        dropped: 0,
    };
    assert_eq!(update(&mut s, Action::ContactResult(Ok(done))), reload);
    assert_eq!(view(&s).prompt, None);
    assert!(!view(&s).busy);
    assert_eq!(
        view(&s).message,
        Some(Ok(
            "accepted bob's new key: 3 waiting messages opened — it is not verified yet".into()
        ))
    );

    update(&mut s, Action::ContactRefuseKey);
    update(&mut s, Action::PromptSubmit);
    let done = ContactDone::KeyRefused {
        user: "bob".into(),
        deleted: 1,
    };
    assert_eq!(update(&mut s, Action::ContactResult(Ok(done))), reload);
    assert!(matches!(
        &view(&s).message,
        Some(Ok(m)) if m.ends_with("the old one stays: 1 waiting message deleted")
    ));
}

#[test]
fn a_refusal_closes_the_confirmation_and_says_why_in_the_status_line() {
    let mut s = opened(vec![bob(Some(NEW))]);
    update(&mut s, Action::ContactAcceptKey);
    update(&mut s, Action::PromptSubmit);
    let failed = ContactFailed::FingerprintMismatch("the directory has another".into());
    let fx = update(&mut s, Action::ContactResult(Err(failed)));
    assert_eq!(fx, vec![Effect::LoadContacts, Effect::LoadConversations]);
    assert_eq!(view(&s).prompt, None, "y again would only fail again");
    assert_eq!(
        view(&s).message,
        Some(Err(
            "fingerprint mismatch — nothing accepted, do not trust this key (the directory has another)".into()
        ))
    );
    // Any other refusal, as chatd words it.
    update(&mut s, Action::ContactRefuseKey);
    update(&mut s, Action::PromptSubmit);
    let failed = ContactFailed::Refused("not logged in".into());
    update(&mut s, Action::ContactResult(Err(failed)));
    assert_eq!(view(&s).message, Some(Err("not logged in".into())));
}

#[test]
fn a_key_that_changes_again_closes_the_confirmation_before_y() {
    let mut s = opened(vec![bob(Some(NEW))]);
    update(&mut s, Action::ContactAcceptKey);
    update(&mut s, Action::Contacts(vec![bob(Some(OTHER))]));
    assert_eq!(view(&s).prompt, None);
    assert!(matches!(&view(&s).message, Some(Err(e)) if e.contains("changed again")));
    assert!(update(&mut s, Action::PromptSubmit).is_empty());
    // Asked again, it shows and sends the key the list has now.
    update(&mut s, Action::ContactAcceptKey);
    assert_eq!(
        update(&mut s, Action::PromptSubmit),
        vec![Effect::AcceptKey {
            user: "bob".into(),
            fingerprint: OTHER.into()
        }]
    );
}

#[test]
fn a_key_settled_elsewhere_closes_the_confirmation_and_is_announced() {
    let mut s = opened(vec![bob(Some(NEW))]);
    update(&mut s, Action::ContactRefuseKey);
    let accepted = Contact {
        fingerprint: NEW.into(),
        verified: false,
        pending_fingerprint: None,
        quarantined: 0,
        ..bob(None)
    };
    update(
        &mut s,
        key_event(ContactChange::KeyAccepted, accepted.clone()),
    );
    assert_eq!(s.contacts, vec![accepted]);
    assert_eq!(view(&s).prompt, None);
    assert!(matches!(&view(&s).message, Some(Err(e)) if e.contains("no changed key waiting")));
    assert_eq!(
        s.notice.as_deref(),
        Some("bob's new key was accepted: pinned, not verified yet")
    );
}

#[test]
fn the_event_of_the_own_call_leaves_the_waiting_confirmation_to_the_answer() {
    let mut s = opened(vec![bob(Some(NEW))]);
    update(&mut s, Action::ContactRefuseKey);
    update(&mut s, Action::PromptSubmit);
    // chatd's event can come before its answer.
    let refused = Contact {
        pending_fingerprint: None,
        quarantined: 0,
        dropped: 3,
        ..bob(None)
    };
    update(&mut s, key_event(ContactChange::KeyRefused, refused));
    assert!(view(&s).busy);
    assert!(matches!(
        view(&s).prompt,
        Some(ContactPrompt::RefuseKey { .. })
    ));
    let done = ContactDone::KeyRefused {
        user: "bob".into(),
        deleted: 3,
    };
    update(&mut s, Action::ContactResult(Ok(done)));
    assert!(matches!(&view(&s).message, Some(Ok(m)) if m.contains("3 waiting messages deleted")));
    assert_eq!(s.contacts[0].dropped, 3);
}

#[test]
fn a_changed_key_is_announced_and_marks_the_contact() {
    let mut s = opened(vec![bob(None)]);
    s.overlay = None;
    update(&mut s, key_event(ContactChange::KeyChanged, bob(Some(NEW))));
    assert_eq!(s.contacts[0].pending_fingerprint.as_deref(), Some(NEW));
    let notice = s.notice.clone().unwrap();
    assert!(
        notice.starts_with("bob's key changed to 3b9f 02d4"),
        "{notice}"
    );
    // A hostile name is announced inert.
    let hostile = Contact {
        user: "b\u{1b}[2Job".into(),
        ..bob(Some(NEW))
    };
    update(&mut s, key_event(ContactChange::KeyChanged, hostile));
    assert!(!s.notice.unwrap().contains('\u{1b}'));
}

#[test]
fn answers_after_the_view_closed_become_the_notice() {
    let mut s = opened(vec![bob(Some(NEW))]);
    update(&mut s, Action::ContactAcceptKey);
    update(&mut s, Action::PromptSubmit);
    s.overlay = None;
    let done = ContactDone::KeyAccepted {
        user: "bob".into(),
        opened: 0,
        dropped: 2,
    };
    update(&mut s, Action::ContactResult(Ok(done)));
    assert_eq!(
        s.notice.as_deref(),
        Some(
            "accepted bob's new key: 0 waiting messages opened, 2 did not open (dropped) — it is not verified yet"
        )
    );
}

#[test]
fn a_signed_rotation_is_told_with_its_new_fingerprint() {
    let contact = ipc_schema::methods::Contact {
        user: "bob\u{1b}[2J".into(),
        fingerprint: "aaaa".into(),
        verified: true,
        added_at: 0,
        pending_fingerprint: None,
        quarantined: 0,
        dropped: 0,
        rotated: true,
        frozen: false,
    };
    let line = notice(ContactChange::KeyRotated, &contact, Some("85f3 9ebb")).unwrap();
    assert!(
        line.contains("rotated their keys (signed by their previous key)"),
        "{line}"
    );
    assert!(line.contains("85f3 9ebb"), "{line}");
    assert!(!line.contains('\u{1b}'), "sanitized: {line}");
}

/// bob frozen between two rotations from his previous key: pinned to
/// [`OLD`] (the card he rotated to first), [`NEW`] the other, 3 waiting.
fn frozen_bob() -> Contact {
    Contact {
        verified: false,
        rotated: true,
        frozen: true,
        ..bob(Some(NEW))
    }
}

/// Online, the contacts view open on frozen bob, asked which fingerprint.
fn asked_which() -> AppState {
    let mut s = opened(vec![frozen_bob(), carol()]);
    assert!(update(&mut s, Action::ContactAcceptKey).is_empty());
    s
}

#[test]
fn a_frozen_contact_is_asked_which_of_its_two_fingerprints() {
    let s = asked_which();
    assert_eq!(
        view(&s).prompt,
        Some(ContactPrompt::ChooseKey {
            user: "bob".into(),
            first: OLD.into(),
            second: NEW.into()
        })
    );
    // Both are shown grouped, however chatd spelled them.
    let squashed = Contact {
        fingerprint: OLD.replace(' ', ":").to_uppercase(),
        pending_fingerprint: Some(NEW.replace(' ', "")),
        ..frozen_bob()
    };
    let mut s = opened(vec![squashed]);
    update(&mut s, Action::ContactAcceptKey);
    assert!(matches!(
        &view(&s).prompt,
        Some(ContactPrompt::ChooseKey { first, second, .. }) if first == OLD && second == NEW
    ));
    // One that is no fingerprint cannot be compared, so not chosen.
    let unreadable = Contact {
        pending_fingerprint: Some("3b9f \u{1b}[2J".into()),
        ..frozen_bob()
    };
    let mut s = opened(vec![unreadable]);
    assert!(update(&mut s, Action::ContactAcceptKey).is_empty());
    assert_eq!(view(&s).prompt, None);
    assert!(
        matches!(&view(&s).message, Some(Err(e)) if e.contains("no two readable fingerprints"))
    );
}

#[test]
fn choice_1_confirms_then_sends_the_pinned_fingerprint() {
    let mut s = asked_which();
    // Enter is no answer to the question: only 1 or 2.
    assert!(update(&mut s, Action::PromptSubmit).is_empty());
    assert!(update(&mut s, Action::ContactChooseKey(KeyChoice::First)).is_empty());
    assert_eq!(
        view(&s).prompt,
        Some(ContactPrompt::AcceptKey {
            user: "bob".into(),
            fingerprint: OLD.into(),
            choice: Some(KeyChoice::First)
        })
    );
    assert_eq!(
        update(&mut s, Action::PromptSubmit),
        vec![Effect::AcceptKey {
            user: "bob".into(),
            fingerprint: OLD.into()
        }]
    );
    assert!(view(&s).busy);
    // Neither a second y nor a late 2 sends anything more.
    assert!(update(&mut s, Action::PromptSubmit).is_empty());
    assert!(update(&mut s, Action::ContactChooseKey(KeyChoice::Second)).is_empty());
}

#[test]
fn choice_2_confirms_then_sends_the_other_fingerprint() {
    let mut s = asked_which();
    update(&mut s, Action::ContactChooseKey(KeyChoice::Second));
    assert_eq!(
        view(&s).prompt,
        Some(ContactPrompt::AcceptKey {
            user: "bob".into(),
            fingerprint: NEW.into(),
            choice: Some(KeyChoice::Second)
        })
    );
    assert_eq!(
        update(&mut s, Action::PromptSubmit),
        vec![Effect::AcceptKey {
            user: "bob".into(),
            fingerprint: NEW.into()
        }]
    );
    let done = ContactDone::KeyAccepted {
        user: "bob".into(),
        opened: 2,
        dropped: 1,
    };
    let fx = update(&mut s, Action::ContactResult(Ok(done)));
    assert_eq!(fx, vec![Effect::LoadContacts, Effect::LoadConversations]);
    assert_eq!(view(&s).prompt, None);
    assert_eq!(
        view(&s).message,
        Some(Ok(
            "accepted fingerprint 2 for bob, no longer frozen: 2 waiting messages opened, 1 did not open (dropped) — it is not verified yet".into()
        ))
    );
}

#[test]
fn esc_cancels_the_choice_and_nothing_is_sent() {
    let mut s = asked_which();
    assert!(update(&mut s, Action::CloseOverlay).is_empty());
    assert_eq!(
        view(&s).prompt,
        None,
        "Esc closes the question, not the view"
    );
    // A 1 or y without the question open means nothing.
    assert!(update(&mut s, Action::ContactChooseKey(KeyChoice::First)).is_empty());
    assert!(update(&mut s, Action::PromptSubmit).is_empty());
    assert_eq!(view(&s).prompt, None);
    // Nor does n at the confirmation of a choice send it.
    update(&mut s, Action::ContactAcceptKey);
    update(&mut s, Action::ContactChooseKey(KeyChoice::Second));
    assert!(update(&mut s, Action::CloseOverlay).is_empty());
    assert!(update(&mut s, Action::PromptSubmit).is_empty());
    assert!(!view(&s).busy);
}

#[test]
fn refusing_a_frozen_contact_sends_nothing_and_says_it_is_frozen() {
    let mut s = opened(vec![frozen_bob()]);
    assert!(update(&mut s, Action::ContactRefuseKey).is_empty());
    assert_eq!(view(&s).prompt, None, "no confirmation to say y to");
    assert_eq!(
        view(&s).message,
        Some(Err(
            "bob is frozen: refusing is no choice — accept one of the two fingerprints (A)".into()
        ))
    );
    assert!(update(&mut s, Action::PromptSubmit).is_empty());
    // Even without a second fingerprint in the list.
    let mut s = opened(vec![Contact {
        pending_fingerprint: None,
        ..frozen_bob()
    }]);
    assert!(update(&mut s, Action::ContactRefuseKey).is_empty());
    assert!(matches!(&view(&s).message, Some(Err(e)) if e.contains("is frozen")));
}

#[test]
fn a_choice_the_list_made_stale_closes_before_y() {
    // Another fingerprint in place of choice 2: the question shows old ones.
    let mut s = asked_which();
    let moved = Contact {
        pending_fingerprint: Some(OTHER.into()),
        ..frozen_bob()
    };
    update(&mut s, Action::Contacts(vec![moved.clone()]));
    assert_eq!(view(&s).prompt, None);
    assert!(matches!(&view(&s).message, Some(Err(e)) if e.contains("two fingerprints changed")));
    // Choice 1 still is what its confirmation shows: it stays.
    update(&mut s, Action::ContactAcceptKey);
    update(&mut s, Action::ContactChooseKey(KeyChoice::First));
    update(&mut s, Action::Contacts(vec![moved]));
    assert!(matches!(
        view(&s).prompt,
        Some(ContactPrompt::AcceptKey {
            choice: Some(KeyChoice::First),
            ..
        })
    ));
    // Chosen elsewhere: bob thawed, nothing left to choose.
    let thawed = Contact {
        fingerprint: NEW.into(),
        pending_fingerprint: None,
        quarantined: 0,
        frozen: false,
        ..frozen_bob()
    };
    update(&mut s, Action::Contacts(vec![thawed]));
    assert_eq!(view(&s).prompt, None);
    assert!(matches!(&view(&s).message, Some(Err(e)) if e.contains("not frozen any more")));
    assert!(update(&mut s, Action::PromptSubmit).is_empty());
}

#[test]
fn a_contact_that_freezes_closes_its_plain_confirmations() {
    for ask in [Action::ContactAcceptKey, Action::ContactRefuseKey] {
        let mut s = opened(vec![bob(Some(NEW))]);
        update(&mut s, ask);
        assert!(view(&s).prompt.is_some());
        update(&mut s, Action::Contacts(vec![frozen_bob()]));
        assert_eq!(view(&s).prompt, None);
        assert!(matches!(&view(&s).message, Some(Err(e)) if e.contains("frozen now")));
        assert!(update(&mut s, Action::PromptSubmit).is_empty());
    }
}

#[test]
fn a_frozen_contact_is_announced_as_frozen() {
    let mut s = opened(vec![bob(None)]);
    s.overlay = None;
    update(&mut s, key_event(ContactChange::KeyChanged, frozen_bob()));
    assert!(s.contacts[0].frozen);
    let notice = s.notice.clone().unwrap();
    assert!(
        notice.starts_with("bob is FROZEN: two different key rotations"),
        "{notice}"
    );
    assert!(
        notice.contains("until you accept one of the two fingerprints"),
        "{notice}"
    );
    let hostile = Contact {
        user: "b\u{1b}]52;c;eA==\u{7}ob".into(),
        ..frozen_bob()
    };
    update(&mut s, key_event(ContactChange::KeyChanged, hostile));
    let notice = s.notice.unwrap();
    assert!(notice.contains("FROZEN"), "{notice}");
    assert!(!notice.contains(['\u{1b}', '\u{7}']), "sanitized: {notice}");
}
