//! The identity view, the fuzzy picker, and rebinding keys, with the
//! help that shows them.

use super::*;

/// Snapshots live beside ui.rs's, in tests/snapshots.
macro_rules! snapshot {
    ($screen:expr) => {
        insta::with_settings!({ snapshot_path => "../snapshots" }, {
            insta::assert_snapshot!($screen);
        })
    };
}

fn identity_action(card: &str) -> Action {
    Action::Identity {
        show: ipc_schema::methods::IdentityShowResult {
            user: "alice".into(),
            fingerprint: status().fingerprint.unwrap(),
            key_bits: 3072,
        },
        card: card.into(),
    }
}

#[test]
fn snapshot_identity_with_qr_80x40() {
    let mut s = online(80, 40);
    assert_eq!(
        app::update(&mut s, Action::ShowIdentity),
        vec![Effect::LoadIdentity]
    );
    assert!(render(&s).contains("loading…"));
    app::update(
        &mut s,
        identity_action(r#"{"enc":"MIIB","sig":"MIIC","user":"alice","v":1}"#),
    );
    snapshot!(render(&s));
}

#[test]
fn identity_says_when_the_terminal_is_too_small_for_the_qr_code() {
    let mut s = online(80, 24);
    app::update(&mut s, Action::ShowIdentity);
    let card = format!(
        r#"{{"enc":"{}","sig":"{}","user":"alice","v":1}}"#,
        "A".repeat(564),
        "B".repeat(564)
    );
    app::update(&mut s, identity_action(&card));
    let screen = render(&s);
    assert!(screen.contains("too small"), "{screen}");
    assert!(!screen.contains('▀'));
    assert!(screen.contains("3f2a 9c41"));
    // Large enough, it draws.
    app::update(&mut s, Action::Resize(200, 90));
    assert!(render(&s).contains('▀'));
    use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
    assert_eq!(
        app::keys::map_event(
            &s,
            TermEvent::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE))
        ),
        Some(Action::CloseOverlay)
    );
    app::update(&mut s, Action::CloseOverlay);
    assert_eq!(s.overlay, None);
}

#[test]
fn snapshot_picker_filtering_80x24() {
    let mut s = online(80, 24);
    app::update(&mut s, Action::Contacts(contact_list()));
    app::update(
        &mut s,
        Action::Contacts(vec![Contact {
            user: "bobby-tables".into(),
            fingerprint: BOB_FP.into(),
            verified: false,
            added_at: 0,
            pending_fingerprint: None,
            quarantined: 0,
            dropped: 0,
            rotated: false,
            frozen: false,
        }]),
    );
    app::update(&mut s, Action::OpenPicker);
    type_prompt(&mut s, "bo");
    snapshot!(render(&s));
}

#[test]
fn picker_filters_by_subsequence_and_enter_opens() {
    use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
    let key = |c, m| TermEvent::Key(KeyEvent::new(c, m));
    let mut s = online(80, 24);
    open_with(&mut s, "bob", vec![], false);
    // Ctrl+P works even while writing.
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Char('p'), KeyModifiers::CONTROL)),
        Some(Action::OpenPicker)
    );
    app::update(&mut s, Action::OpenPicker);
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Char('q'), KeyModifiers::NONE)),
        Some(Action::PromptEdit(Edit::Insert('q')))
    );
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Down, KeyModifiers::NONE)),
        Some(Action::SelectNext)
    );
    // "eb" is a subsequence of echo-bot only.
    type_prompt(&mut s, "eb");
    let Some(app::Overlay::Picker(p)) = &s.overlay else {
        panic!()
    };
    let hits = app::picker::matches(&s, &p.query.text);
    assert_eq!(hits, vec![2]);
    // "o": prefix none, contiguous in all three; earlier position first (bob, echo-bot at 3, carol at 1).
    app::update(&mut s, Action::PromptEdit(Edit::DeleteToLineStart));
    type_prompt(&mut s, "o");
    let order: Vec<_> = app::picker::matches(&s, "o")
        .into_iter()
        .map(|i| s.conversations[i].peer.clone())
        .collect();
    assert_eq!(order, ["bob", "carol", "echo-bot"]);
    app::update(&mut s, Action::SelectNext);
    app::update(&mut s, Action::SelectNext);
    app::update(&mut s, Action::SelectNext);
    let fx = app::update(&mut s, Action::PromptSubmit);
    assert_eq!(s.overlay, None);
    assert_eq!(s.open.as_ref().unwrap().peer, "echo-bot");
    assert!(fx.contains(&Effect::LoadMessages {
        peer: "echo-bot".into()
    }));
    // No match: Enter keeps the picker; Esc closes it.
    app::update(&mut s, Action::OpenPicker);
    type_prompt(&mut s, "zzz");
    assert!(app::update(&mut s, Action::PromptSubmit).is_empty());
    assert!(s.overlay.is_some());
    app::update(&mut s, Action::CloseOverlay);
    assert_eq!(s.overlay, None);
}

#[test]
fn a_rebound_key_takes_effect_and_the_old_one_is_free() {
    use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
    let key = |c, m| TermEvent::Key(KeyEvent::new(c, m));
    let mut s = online(80, 24);
    s.keys = rebound(&[("help", "f1"), ("quit", "ctrl+q"), ("down", "alt+down")]);
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::F(1), KeyModifiers::NONE)),
        Some(Action::ToggleHelp)
    );
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Char('?'), KeyModifiers::NONE)),
        None
    );
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Char('q'), KeyModifiers::CONTROL)),
        Some(Action::Quit)
    );
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Char('q'), KeyModifiers::NONE)),
        None
    );
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Down, KeyModifiers::ALT)),
        Some(Action::SelectNext)
    );
    // The arrow keys stay, whatever the vim keys are bound to.
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Down, KeyModifiers::NONE)),
        Some(Action::SelectNext)
    );
    app::update(&mut s, Action::ToggleHelp);
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::F(1), KeyModifiers::NONE)),
        Some(Action::CloseOverlay)
    );
}

#[test]
fn help_overlay_shows_the_configured_keys() {
    let mut s = online(80, 24);
    s.keys = rebound(&[("help", "f1"), ("quit", "ctrl+q"), ("picker", "alt+enter")]);
    app::update(&mut s, Action::ToggleHelp);
    let screen = render(&s);
    let row = |what: &str| {
        screen
            .lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no {what:?} row in\n{screen}"))
            .to_owned()
    };
    assert!(row("this help").contains("  F1  "), "{screen}");
    assert!(
        row("quit (not while writing)").contains("Ctrl+Q"),
        "{screen}"
    );
    assert!(
        row("fuzzy conversation picker").contains("Alt+Enter"),
        "{screen}"
    );
    assert!(
        !row("fuzzy conversation picker").contains("Ctrl+P"),
        "{screen}"
    );
    // The defaults render as before.
    let rows = app::keys::help_rows(&app::keymap::KeyMap::default());
    assert!(rows.contains(&(
        "Ctrl+P".into(),
        "fuzzy conversation picker: type, ↑ ↓, Enter opens".into()
    )));
    assert!(rows.contains(&("Tab / Shift+Tab".into(), "next / previous pane".into())));
    assert!(
        rows.iter()
            .all(|(k, w)| !k.contains('{') && !w.contains('{'))
    );
}
