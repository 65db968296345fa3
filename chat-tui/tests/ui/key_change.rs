//! A contact's changed key in the contacts view, drawn with TestBackend +
//! insta snapshots (the marked list with both fingerprints, the two
//! confirmations; a frozen contact with its two fingerprints and the
//! question which), its keys, that the fingerprint sent is the one on
//! screen, and that chatd's and peers' text is drawn inert. (Its `update`
//! logic is tested in src/app/key_change/tests.rs, the worker's calls in
//! src/backend/tests.rs.)

use chat_tui::app::{self, Action, AppState, ContactPrompt, Effect, KeyChoice, Overlay};
use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use ipc_schema::methods::Contact;

use super::{BOB_FP, CAROL_FP, HOSTILE, assert_drawn_inert, online, rebound, render};

const NEW_BOB_FP: &str =
    "3b9f 02d4 e1c8 77a5 0f6e 9d21 c4b8 5e03 a7f1 6c92 d05b 8e4a 21f7 b3c6 9e08 4d5a";

/// Snapshots live beside ui.rs's, in tests/snapshots.
macro_rules! snapshot {
    ($screen:expr) => {
        insta::with_settings!({ snapshot_path => "../snapshots" }, {
            insta::assert_snapshot!($screen);
        })
    };
}

fn contact(user: &str, fingerprint: &str) -> Contact {
    Contact {
        user: user.into(),
        fingerprint: fingerprint.into(),
        verified: false,
        added_at: 0,
        pending_fingerprint: None,
        quarantined: 0,
        dropped: 0,
        rotated: false,
        frozen: false,
    }
}

/// bob's key changed with 3 messages waiting; carol lost 2 to forgeries.
fn contacts() -> Vec<Contact> {
    vec![
        Contact {
            verified: true,
            pending_fingerprint: Some(NEW_BOB_FP.into()),
            quarantined: 3,
            ..contact("bob", BOB_FP)
        },
        Contact {
            dropped: 2,
            ..contact("carol", CAROL_FP)
        },
    ]
}

/// Online, `w`×`h`, the contacts view open on `list`, the first highlighted.
fn view_of(list: Vec<Contact>, w: u16, h: u16) -> AppState {
    let mut s = online(w, h);
    app::update(&mut s, Action::Contacts(list));
    app::update(&mut s, Action::ShowContacts);
    s
}

fn key(c: char) -> TermEvent {
    TermEvent::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn prompt(s: &AppState) -> Option<&ContactPrompt> {
    match &s.overlay {
        Some(Overlay::Contacts(v)) => v.prompt.as_ref(),
        _ => None,
    }
}

#[test]
fn snapshot_contacts_changed_key_80x24() {
    let s = view_of(contacts(), 80, 24);
    snapshot!(render(&s));
}

#[test]
fn snapshot_contacts_accept_key_confirmation_80x24() {
    let mut s = view_of(contacts(), 80, 24);
    app::update(&mut s, Action::ContactAcceptKey);
    snapshot!(render(&s));
}

#[test]
fn snapshot_contacts_refuse_key_confirmation_80x24() {
    let mut s = view_of(contacts(), 80, 24);
    app::update(&mut s, Action::ContactRefuseKey);
    snapshot!(render(&s));
}

#[test]
fn the_detail_shows_the_pinned_and_the_new_fingerprint_of_the_highlighted_contact() {
    let mut s = view_of(contacts(), 100, 30);
    let screen = render(&s);
    for fp in [BOB_FP, NEW_BOB_FP] {
        assert!(screen.contains(fp), "{fp} not on\n{screen}");
    }
    assert!(screen.contains("Compare the new fingerprint with bob out of band"));
    // carol has no changed key: no fingerprint but her own, and why
    // messages of hers were lost.
    app::update(&mut s, Action::SelectNext);
    let screen = render(&s);
    assert!(!screen.contains(NEW_BOB_FP), "{screen}");
    assert!(
        screen.contains("2 messages from carol dropped so far"),
        "{screen}"
    );
}

#[test]
fn a_key_continued_by_a_signed_rotation_is_not_shown_as_plainly_verified() {
    let rotated = Contact {
        verified: true,
        rotated: true,
        frozen: false,
        ..contact("dave", CAROL_FP)
    };
    let screen = render(&view_of(vec![rotated], 100, 30));
    assert!(
        screen.contains("verified, continued by signed rotation"),
        "{screen}"
    );
}

/// The hex groups drawn in the confirmation, between its two sentences.
fn fingerprint_on(screen: &str) -> String {
    let rows: Vec<&str> = screen
        .lines()
        .skip_while(|l| !l.contains("New fingerprint of bob:"))
        .skip(1)
        .take_while(|l| !l.contains("Accept it only if"))
        .collect();
    let groups: Vec<&str> = rows
        .iter()
        .flat_map(|l| l.split(['│', ' ', '"']))
        .filter(|w| !w.is_empty())
        .collect();
    groups.join(" ")
}

#[test]
fn y_in_the_confirmation_sends_exactly_the_fingerprint_on_screen() {
    // chatd's spelling differs from the grouped one drawn.
    let mut list = contacts();
    list[0].pending_fingerprint = Some(NEW_BOB_FP.replace(' ', ":").to_uppercase());
    let mut s = view_of(list, 80, 24);
    assert_eq!(
        app::keys::map_event(&s, key('A')),
        Some(Action::ContactAcceptKey)
    );
    app::update(&mut s, Action::ContactAcceptKey);
    let shown = fingerprint_on(&render(&s));
    assert_eq!(shown, NEW_BOB_FP);
    assert_eq!(
        app::keys::map_event(&s, key('y')),
        Some(Action::PromptSubmit)
    );
    assert_eq!(
        app::update(&mut s, Action::PromptSubmit),
        vec![Effect::AcceptKey {
            user: "bob".into(),
            fingerprint: shown
        }]
    );
}

#[test]
fn the_confirmations_take_only_y_and_n() {
    let mut s = view_of(contacts(), 80, 24);
    assert_eq!(
        app::keys::map_event(&s, key('R')),
        Some(Action::ContactRefuseKey)
    );
    for open in [Action::ContactAcceptKey, Action::ContactRefuseKey] {
        app::update(&mut s, open);
        assert!(prompt(&s).is_some());
        for ignored in ['A', 'R', 'q', 'j', 'd'] {
            assert_eq!(app::keys::map_event(&s, key(ignored)), None, "{ignored}");
        }
        assert_eq!(
            app::keys::map_event(&s, key('n')),
            Some(Action::CloseOverlay)
        );
        app::update(&mut s, Action::CloseOverlay);
        assert_eq!(prompt(&s), None);
    }
}

#[test]
fn accept_and_refuse_are_rebindable_and_in_the_help() {
    let mut s = view_of(contacts(), 80, 24);
    s.keys = rebound(&[
        ("contact_accept_key", "ctrl+k"),
        ("contact_refuse_key", "x"),
    ]);
    let ctrl_k = TermEvent::Key(KeyEvent::new(KeyCode::Char('k'), KeyModifiers::CONTROL));
    assert_eq!(
        app::keys::map_event(&s, ctrl_k),
        Some(Action::ContactAcceptKey)
    );
    assert_eq!(
        app::keys::map_event(&s, key('x')),
        Some(Action::ContactRefuseKey)
    );
    assert_eq!(app::keys::map_event(&s, key('A')), None);
    let screen = render(&s);
    assert!(
        screen.contains("Ctrl+K accept the new key · x refuse it"),
        "{screen}"
    );
    let rows = app::keys::help_rows(&s.keys);
    assert!(
        rows.iter()
            .any(|(k, w)| k == "Ctrl+K" && w.contains("accept"))
    );
    assert!(rows.iter().any(|(k, w)| k == "x" && w.contains("refuse")));
    // A clash with another key of the view is refused.
    let clash = app::keymap::KeyMap::from_config(
        &[("contact_refuse_key".to_owned(), "d".to_owned())].into(),
    );
    assert!(clash.unwrap_err().contains("contact_remove"));
}

#[test]
fn names_and_fingerprints_from_chatd_are_drawn_inert() {
    let evil = format!("m{HOSTILE}");
    let list = vec![
        Contact {
            pending_fingerprint: Some(NEW_BOB_FP.into()),
            quarantined: 1,
            dropped: 4,
            ..contact(&evil, BOB_FP)
        },
        // A "fingerprint" that is none, pinned and pending.
        Contact {
            pending_fingerprint: Some(HOSTILE.into()),
            ..contact("nemo", HOSTILE)
        },
    ];
    let mut s = view_of(list, 200, 50);
    let stand_ins = ["␛]52;c;cm0gLXJmIH4=␇", "\u{fffd}gnp.exe"];
    // Each place the name is drawn shows its stand-ins (a terminal
    // backend drops some raw controls, so their absence alone proves little).
    let name = "mhi ␛]52;c;cm0gLXJmIH4=␇";
    let screen = render(&s);
    assert_drawn_inert(&screen, &stand_ins);
    for place in [format!("▶ {name}"), format!("KEY CHANGED  {name}")] {
        assert!(screen.contains(&place), "{place:?} not on\n{screen}");
    }
    app::update(&mut s, Action::ContactAcceptKey);
    assert!(matches!(prompt(&s), Some(ContactPrompt::AcceptKey { .. })));
    let screen = render(&s);
    assert_drawn_inert(&screen, &stand_ins);
    assert!(
        screen.contains(&format!("New fingerprint of {name}")),
        "{screen}"
    );
    assert!(
        screen.contains(&format!("Accept it only if {name}")),
        "{screen}"
    );
    app::update(&mut s, Action::CloseOverlay);
    app::update(&mut s, Action::ContactRefuseKey);
    let screen = render(&s);
    assert_drawn_inert(&screen, &stand_ins);
    assert!(screen.contains(&format!("Refuse {name}")), "{screen}");
    app::update(&mut s, Action::CloseOverlay);
    // nemo's: both "fingerprints" drawn inert (in the list and the
    // detail), and nothing to accept.
    app::update(&mut s, Action::SelectNext);
    let screen = render(&s);
    assert_drawn_inert(&screen, &stand_ins);
    assert_eq!(
        screen.matches("    hi ␛]52;c;cm0gLXJmIH4=␇").count(),
        3,
        "{screen}"
    );
    app::update(&mut s, Action::ContactAcceptKey);
    assert_eq!(prompt(&s), None);
    assert!(render(&s).contains("no readable fingerprint for nemo's new key"));
}

/// bob frozen between two rotations from his previous key: pinned to
/// [`BOB_FP`] (the card he rotated to first), [`NEW_BOB_FP`] the other, 3
/// waiting; carol as in [`contacts`].
fn frozen_contacts() -> Vec<Contact> {
    let mut list = contacts();
    list[0].frozen = true;
    list[0].rotated = true;
    list
}

#[test]
fn snapshot_contacts_frozen_80x24() {
    let s = view_of(frozen_contacts(), 80, 24);
    snapshot!(render(&s));
}

#[test]
fn snapshot_contacts_frozen_choice_80x24() {
    let mut s = view_of(frozen_contacts(), 80, 24);
    app::update(&mut s, Action::ContactAcceptKey);
    snapshot!(render(&s));
}

#[test]
fn snapshot_contacts_frozen_choice_2_confirmation_80x24() {
    let mut s = view_of(frozen_contacts(), 80, 24);
    app::update(&mut s, Action::ContactAcceptKey);
    app::update(&mut s, Action::ContactChooseKey(KeyChoice::Second));
    snapshot!(render(&s));
}

/// The hex groups drawn on the rows after the one holding `label`, up to
/// the next row without any.
fn fingerprint_after(screen: &str, label: &str) -> String {
    let groups: Vec<String> = screen
        .lines()
        .skip_while(|l| !l.contains(label))
        .skip(1)
        .map(|l| {
            l.split(['│', ' ', '"'])
                .filter(|w| w.len() == 4 && w.chars().all(|c| c.is_ascii_hexdigit()))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .take_while(|row| !row.is_empty())
        .collect();
    groups.join(" ")
}

#[test]
fn a_frozen_contact_shows_both_fingerprints_as_two_choices() {
    let s = view_of(frozen_contacts(), 100, 30);
    let screen = render(&s);
    assert!(!screen.contains("KEY CHANGED"), "{screen}");
    assert!(screen.contains("FROZEN   3 waiting"), "the row: {screen}");
    assert!(
        screen.contains("FROZEN  bob — 3 waiting messages held unopened"),
        "{screen}"
    );
    assert!(
        screen.contains("Two different key rotations came from bob's previous key"),
        "{screen}"
    );
    assert!(screen.contains("someone else may hold it"), "{screen}");
    assert_eq!(
        fingerprint_after(&screen, "Choice 1 — the card rotated to first"),
        BOB_FP
    );
    assert_eq!(
        fingerprint_after(&screen, "Choice 2 — the other card"),
        NEW_BOB_FP
    );
    assert!(
        screen.contains("whoever else holds the key: compare both with bob out of band"),
        "{screen}"
    );
    assert!(
        screen.contains("A choose 1 or 2, then accept it · R does nothing"),
        "{screen}"
    );
}

#[test]
fn a_frozen_contact_takes_1_or_2_and_y_sends_exactly_the_one_on_screen() {
    for (press, choice, sent) in [
        ('1', KeyChoice::First, BOB_FP),
        ('2', KeyChoice::Second, NEW_BOB_FP),
    ] {
        let mut s = view_of(frozen_contacts(), 80, 24);
        assert_eq!(
            app::keys::map_event(&s, key('A')),
            Some(Action::ContactAcceptKey)
        );
        app::update(&mut s, Action::ContactAcceptKey);
        let screen = render(&s);
        assert_eq!(fingerprint_after(&screen, "1 — the card rotated"), BOB_FP);
        assert_eq!(fingerprint_after(&screen, "2 — the other card"), NEW_BOB_FP);
        // Only 1, 2 and Esc answer the question.
        for ignored in ['y', 'n', 'A', 'R', '3', 'q', 'j'] {
            assert_eq!(app::keys::map_event(&s, key(ignored)), None, "{ignored}");
        }
        let enter = TermEvent::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        assert_eq!(app::keys::map_event(&s, enter), None);
        assert_eq!(
            app::keys::map_event(&s, key(press)),
            Some(Action::ContactChooseKey(choice))
        );
        app::update(&mut s, Action::ContactChooseKey(choice));
        let screen = render(&s);
        let label = format!("Choice {press} for bob, frozen:");
        let shown = fingerprint_after(&screen, &label);
        assert_eq!(shown, sent, "{screen}");
        assert_eq!(
            app::keys::map_event(&s, key('y')),
            Some(Action::PromptSubmit)
        );
        assert_eq!(
            app::update(&mut s, Action::PromptSubmit),
            vec![Effect::AcceptKey {
                user: "bob".into(),
                fingerprint: shown
            }]
        );
    }
}

#[test]
fn esc_closes_the_question_and_r_on_a_frozen_contact_asks_nothing() {
    let mut s = view_of(frozen_contacts(), 80, 24);
    app::update(&mut s, Action::ContactAcceptKey);
    let esc = TermEvent::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    assert_eq!(app::keys::map_event(&s, esc), Some(Action::CloseOverlay));
    assert!(app::update(&mut s, Action::CloseOverlay).is_empty());
    assert_eq!(prompt(&s), None);
    assert_eq!(
        app::keys::map_event(&s, key('R')),
        Some(Action::ContactRefuseKey)
    );
    assert!(app::update(&mut s, Action::ContactRefuseKey).is_empty());
    assert_eq!(prompt(&s), None);
    let screen = render(&s);
    assert!(
        screen.contains("bob is frozen: refusing is no choice — accept one of the two"),
        "{screen}"
    );
}

#[test]
fn a_frozen_contact_s_name_and_fingerprints_are_drawn_inert() {
    let evil = format!("m{HOSTILE}");
    let list = vec![Contact {
        frozen: true,
        pending_fingerprint: Some(HOSTILE.into()),
        quarantined: 1,
        ..contact(&evil, BOB_FP)
    }];
    let mut s = view_of(list, 200, 50);
    let stand_ins = ["␛]52;c;cm0gLXJmIH4=␇", "\u{fffd}gnp.exe"];
    let name = "mhi ␛]52;c;cm0gLXJmIH4=␇";
    let screen = render(&s);
    assert_drawn_inert(&screen, &stand_ins);
    assert!(
        screen.contains(&format!("FROZEN  {name}")),
        "{name:?} not on\n{screen}"
    );
    let second = screen
        .lines()
        .skip_while(|l| !l.contains("Choice 2 — the other card:"))
        .nth(1)
        .unwrap_or_default();
    assert!(second.contains("    hi ␛]52;c;cm0gLXJmIH4=␇"), "{screen}");
    assert!(
        screen.contains(&format!("rotations came from {name} ")),
        "{screen}"
    );
    // A second "fingerprint" that is none cannot be chosen.
    app::update(&mut s, Action::ContactAcceptKey);
    assert_eq!(prompt(&s), None);
    let screen = render(&s);
    assert_drawn_inert(&screen, &stand_ins);
    assert!(
        screen.contains(&format!("no two readable fingerprints for frozen {name}")),
        "{screen}"
    );
    // With two, the question draws the name inert too.
    s.contacts[0].pending_fingerprint = Some(NEW_BOB_FP.into());
    app::update(&mut s, Action::ContactAcceptKey);
    assert!(matches!(prompt(&s), Some(ContactPrompt::ChooseKey { .. })));
    let screen = render(&s);
    assert_drawn_inert(&screen, &stand_ins);
    assert!(
        screen.contains(&format!("Two rotations came from one key of {name}")),
        "{screen}"
    );
}
