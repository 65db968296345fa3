//! The contacts view drawn with TestBackend and insta snapshots, and its
//! keys and prompts through `update`: add, verify and remove.

use super::*;

/// Snapshots live beside ui.rs's, in tests/snapshots.
macro_rules! snapshot {
    ($screen:expr) => {
        insta::with_settings!({ snapshot_path => "../snapshots" }, {
            insta::assert_snapshot!($screen);
        })
    };
}

#[test]
fn snapshot_contacts_view_80x24() {
    let mut s = with_contacts(80, 24);
    app::update(&mut s, Action::SelectNext);
    snapshot!(render(&s));
}

#[test]
fn snapshot_contacts_remove_confirmation_80x24() {
    let mut s = with_contacts(80, 24);
    app::update(&mut s, Action::SelectNext);
    app::update(&mut s, Action::ContactRemove);
    snapshot!(render(&s));
}

#[test]
fn snapshot_contacts_verify_mismatch_80x24() {
    let mut s = with_contacts(80, 24);
    app::update(&mut s, Action::SelectLast);
    app::update(&mut s, Action::ContactVerify);
    type_prompt(&mut s, BOB_FP);
    app::update(&mut s, Action::PromptSubmit);
    app::update(
        &mut s,
        Action::ContactResult(Err(ContactFailed::FingerprintMismatch(
            "fingerprint does not match the pinned card".into(),
        ))),
    );
    snapshot!(render(&s));
}

#[test]
fn contacts_keys_open_the_view_and_its_prompts() {
    use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
    let key = |c| TermEvent::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    let mut s = online(80, 24);
    assert_eq!(
        app::keys::map_event(&s, key('c')),
        Some(Action::ShowContacts)
    );
    app::update(&mut s, Action::Contacts(contact_list()));
    app::update(&mut s, Action::ShowContacts);
    assert_eq!(
        app::keys::map_event(&s, key('d')),
        Some(Action::ContactRemove)
    );
    app::update(&mut s, Action::ContactRemove);
    // In the confirmation only y and n mean something.
    assert_eq!(app::keys::map_event(&s, key('q')), None);
    assert_eq!(
        app::keys::map_event(&s, key('y')),
        Some(Action::PromptSubmit)
    );
    assert_eq!(
        app::keys::map_event(&s, key('n')),
        Some(Action::CloseOverlay)
    );
    app::update(&mut s, Action::CloseOverlay);
    assert!(matches!(s.overlay, Some(app::Overlay::Contacts(ref v)) if v.prompt.is_none()));
    app::update(&mut s, Action::ContactAdd);
    // Typed letters go to the prompt, pastes too.
    assert_eq!(
        app::keys::map_event(&s, key('d')),
        Some(Action::PromptEdit(Edit::Insert('d')))
    );
    assert_eq!(
        app::keys::map_event(&s, TermEvent::Paste("x".into())),
        Some(Action::PromptEdit(Edit::InsertStr("x".into())))
    );
    // Esc closes the prompt, then the view.
    app::update(&mut s, Action::CloseOverlay);
    app::update(&mut s, Action::CloseOverlay);
    assert_eq!(s.overlay, None);
    assert!(app::keys::help_rows(&s.keys).iter().any(|(k, _)| k == "c"));
}

#[test]
fn remove_asks_first_then_calls_and_the_event_updates_the_lists() {
    let mut s = with_contacts(80, 24);
    app::update(&mut s, Action::SelectNext);
    assert!(app::update(&mut s, Action::ContactRemove).is_empty());
    let fx = app::update(&mut s, Action::PromptSubmit);
    assert_eq!(
        fx,
        vec![Effect::RemoveContact {
            user: "carol".into()
        }]
    );
    let removed = ContactDone::Removed {
        user: "carol".into(),
    };
    let fx = app::update(&mut s, Action::ContactResult(Ok(removed)));
    assert_eq!(fx, vec![], "no reload: chatd's contact.changed follows");
    let Some(app::Overlay::Contacts(v)) = &s.overlay else {
        panic!()
    };
    assert_eq!(v.prompt, None);
    // The event: the list shrinks, the highlight stays on it.
    let carol = contact_list()[1].clone();
    app::update(
        &mut s,
        Action::Event(EventEnvelope {
            seq: 9,
            ts: T0,
            event: Event::ContactChanged(ContactChangedEvent {
                change: ContactChange::Removed,
                contact: carol,
                old_fingerprint: None,
                new_fingerprint: None,
            }),
        }),
    );
    assert_eq!(s.contacts, contact_list()[..1].to_vec());
    let Some(app::Overlay::Contacts(v)) = &s.overlay else {
        panic!()
    };
    assert_eq!(v.selected, 0);
}

#[test]
fn verify_checks_the_input_locally_then_sends_it_grouped() {
    let mut s = with_contacts(80, 24);
    app::update(&mut s, Action::ContactVerify);
    type_prompt(&mut s, "c7e1 0d59");
    assert!(app::update(&mut s, Action::PromptSubmit).is_empty());
    let Some(app::Overlay::Contacts(v)) = &s.overlay else {
        panic!()
    };
    assert!(matches!(&v.message, Some(Err(e)) if e.contains("64 hex digits")));
    app::update(&mut s, Action::PromptEdit(Edit::DeleteToLineStart));
    type_prompt(&mut s, &BOB_FP.replace(' ', "").to_uppercase());
    let fx = app::update(&mut s, Action::PromptSubmit);
    assert_eq!(
        fx,
        vec![Effect::VerifyContact {
            user: "bob".into(),
            fingerprint: BOB_FP.into()
        }]
    );
    // A second Enter while chatd thinks does nothing.
    assert!(app::update(&mut s, Action::PromptSubmit).is_empty());
    // A mismatch keeps the prompt open with the error.
    let refused = ContactFailed::Refused("mismatch".into());
    app::update(&mut s, Action::ContactResult(Err(refused)));
    let Some(app::Overlay::Contacts(v)) = &s.overlay else {
        panic!()
    };
    assert!(v.prompt.is_some());
    assert_eq!(v.message, Some(Err("mismatch".into())));
}

#[test]
fn add_takes_a_path_or_a_directory_lookup() {
    let mut s = with_contacts(80, 24);
    app::update(&mut s, Action::ContactAdd);
    type_prompt(&mut s, "~/bob.card");
    assert_eq!(
        app::update(&mut s, Action::PromptSubmit),
        vec![Effect::AddContactCard {
            path: "~/bob.card".into()
        }]
    );
    app::update(&mut s, Action::CloseOverlay);
    app::update(&mut s, Action::ContactAdd);
    type_prompt(&mut s, &format!("dave {}", BOB_FP.replace(' ', "")));
    assert_eq!(
        app::update(&mut s, Action::PromptSubmit),
        vec![Effect::AddContactDirectory {
            user: "dave".into(),
            fingerprint: BOB_FP.into()
        }]
    );
}
