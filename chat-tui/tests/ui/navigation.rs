//! Moving around: paging and scrolling the messages, the keys of each
//! pane, and the mouse.

use super::*;

#[test]
fn page_up_at_the_top_loads_older_by_the_oldest_id_once() {
    let mut s = online(80, 24);
    let page: Vec<_> = (100..110)
        .map(|i| msg(i, "bob", false, "x", MessageState::Read))
        .collect();
    open_with(&mut s, "bob", page, true);
    let mut older = None;
    for _ in 0..10 {
        let fx = app::update(&mut s, Action::PageUp);
        if let Some(e) = fx
            .into_iter()
            .find(|e| matches!(e, Effect::LoadOlder { .. }))
        {
            older = Some(e);
            break;
        }
    }
    assert_eq!(
        older,
        Some(Effect::LoadOlder {
            peer: "bob".into(),
            before: 100
        })
    );
    // While loading, no second request.
    assert!(app::update(&mut s, Action::PageUp).is_empty());
    app::update(
        &mut s,
        Action::Messages {
            peer: "bob".into(),
            page: MessageListResult {
                messages: vec![msg(99, "bob", false, "older", MessageState::Read)],
                has_more: false,
            },
            older: true,
        },
    );
    let open = s.open.as_ref().unwrap();
    assert_eq!(open.messages.len(), 11);
    assert_eq!(open.messages[0].body.as_deref(), Some("older"));
    assert!(!open.has_more);
}

#[test]
fn scrolling_is_clamped_and_g_goes_home() {
    let mut s = online(80, 24);
    let page: Vec<_> = (0..50)
        .map(|i| msg(i, "bob", false, "x", MessageState::Read))
        .collect();
    open_with(&mut s, "bob", page, false);
    app::update(&mut s, Action::Focus(Pane::Messages));
    app::update(&mut s, Action::ScrollTop);
    let top = s.open.as_ref().unwrap().scroll;
    assert!(top > 0);
    app::update(&mut s, Action::ScrollUp(5));
    assert_eq!(s.open.as_ref().unwrap().scroll, top);
    app::update(&mut s, Action::HalfPageDown);
    assert!(s.open.as_ref().unwrap().scroll < top);
    app::update(&mut s, Action::ScrollBottom);
    assert_eq!(s.open.as_ref().unwrap().scroll, 0);
    assert!(render(&s).contains("x"));
}

#[test]
fn keys_map_by_pane_and_ctrl_c_always_quits() {
    use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
    let key = |c, m| TermEvent::Key(KeyEvent::new(c, m));
    let mut s = online(80, 24);
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Char('q'), KeyModifiers::NONE)),
        Some(Action::Quit)
    );
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Char('j'), KeyModifiers::NONE)),
        Some(Action::SelectNext)
    );
    open_with(&mut s, "bob", vec![], false);
    assert_eq!(s.focus, Pane::Composer);
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Char('q'), KeyModifiers::NONE)),
        Some(Action::Edit(Edit::Insert('q')))
    );
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Enter, KeyModifiers::ALT)),
        Some(Action::Edit(Edit::Newline))
    );
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Enter, KeyModifiers::NONE)),
        Some(Action::Submit)
    );
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Char('c'), KeyModifiers::CONTROL)),
        Some(Action::Quit)
    );
    assert_eq!(
        app::keys::map_event(&s, TermEvent::Paste("a\nb".into())),
        Some(Action::Edit(Edit::InsertStr("a\nb".into())))
    );
    app::update(&mut s, Action::Focus(Pane::Messages));
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Char('u'), KeyModifiers::CONTROL)),
        Some(Action::HalfPageUp)
    );
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Char('G'), KeyModifiers::SHIFT)),
        Some(Action::ScrollBottom)
    );
    app::update(&mut s, Action::ToggleHelp);
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Esc, KeyModifiers::NONE)),
        Some(Action::CloseOverlay)
    );
}

#[test]
fn mouse_click_on_the_list_opens_that_conversation() {
    let mut s = online(80, 24);
    // Row 1 is the list's first entry (inside the border); carol is entry 1 at rows 3–4.
    let fx = app::update(&mut s, Action::MouseClick { column: 3, row: 3 });
    assert_eq!(s.open.as_ref().unwrap().peer, "carol");
    assert!(fx.contains(&Effect::MarkRead {
        peer: "carol".into()
    }));
}
