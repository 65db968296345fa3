//! Replying, editing, deleting and reacting through `update` and the key
//! map: what is offered for which message, what each sends, and chatd's
//! answers and events applied to the conversation.

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use ipc_schema::methods::{
    Event, EventEnvelope, MessageChangedEvent, MessageListResult, MessageState,
};
use ipc_schema::time::TimeZone;

use super::*;
use crate::app::keys::map_event;
use crate::app::{Action, update};
use crate::theme::{Theme, ThemeName};

fn id(i: usize) -> String {
    format!("{i:032x}")
}

fn msg(i: usize, out: bool, body: &str) -> MessageView {
    let (from, to, direction) = if out {
        ("alice", "bob", Direction::Out)
    } else {
        ("bob", "alice", Direction::In)
    };
    MessageView {
        id: id(i),
        from: from.into(),
        to: to.into(),
        ts: 1_795_615_500_000 + i as u64 * 60_000,
        direction,
        kind: "text".into(),
        body: Some(body.into()),
        reply_to: None,
        state: MessageState::Read,
        failure: None,
        seq: i as u64,
        truncated: false,
        group: None,
        deliveries: Vec::new(),
        edited: false,
        deleted: false,
        reactions: Vec::new(),
        file: None,
    }
}

/// bob's "hi alice", alice's "see you at 6", bob's "ok".
fn three() -> Vec<MessageView> {
    vec![
        msg(1, false, "hi alice"),
        msg(2, true, "see you at 6"),
        msg(3, false, "ok"),
    ]
}

/// Online as alice, the conversation with bob open on `messages`, the
/// message pane focused.
fn conversation(messages: Vec<MessageView>, has_more: bool) -> AppState {
    let mut s = AppState::new("x", Theme::named(ThemeName::None), TimeZone::Fixed(0));
    update(&mut s, Action::Resize(80, 24));
    update(&mut s, Action::DaemonOnline);
    s.status.user = Some("alice".into());
    s.open = Some(crate::app::OpenConversation::new("bob"));
    update(
        &mut s,
        Action::Messages {
            peer: "bob".into(),
            page: MessageListResult { messages, has_more },
            older: false,
        },
    );
    update(&mut s, Action::Focus(Pane::Messages));
    s
}

/// Selects the message `back` messages before the newest (0: the newest).
fn select(s: &mut AppState, back: i64) {
    crate::app::selection::clear(s);
    update(s, Action::MessageSelect(-1));
    if back > 0 {
        update(s, Action::MessageSelect(-back));
    }
}

fn key(s: &AppState, code: KeyCode) -> Option<Action> {
    map_event(s, TermEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn type_text(s: &mut AppState, text: &str) {
    for c in text.chars() {
        update(s, Action::Edit(Edit::Insert(c)));
    }
}

fn draft(s: &AppState) -> &str {
    s.composer().map_or("", |c| c.text.as_str())
}

#[test]
fn the_keys_are_r_e_d_plus_in_the_message_pane_and_j_k_select() {
    let s = conversation(three(), false);
    assert_eq!(key(&s, KeyCode::Char('r')), Some(Action::Reply));
    assert_eq!(key(&s, KeyCode::Char('e')), Some(Action::EditMessage));
    assert_eq!(key(&s, KeyCode::Char('d')), Some(Action::DeleteMessage));
    assert_eq!(key(&s, KeyCode::Char('+')), Some(Action::React));
    // As terminals send it from a shifted key.
    let plus = KeyEvent::new(KeyCode::Char('+'), KeyModifiers::SHIFT);
    assert_eq!(map_event(&s, TermEvent::Key(plus)), Some(Action::React));
    assert_eq!(key(&s, KeyCode::Char('k')), Some(Action::MessageSelect(-1)));
    assert_eq!(key(&s, KeyCode::Down), Some(Action::MessageSelect(1)));
}

#[test]
fn edit_is_offered_only_for_own_messages() {
    let mut s = conversation(three(), false);
    s.drafts
        .insert("bob".into(), Composer::with_text("half written"));
    select(&mut s, 0);
    assert_eq!(s.selected_message().unwrap().1.id, id(3));
    let labels = |s: &AppState| hints(s).into_iter().map(|(_, w)| w).collect::<Vec<_>>();
    assert_eq!(labels(&s), ["reply", "react"]);
    // bob's message: nothing changes, and the notice says why.
    assert!(update(&mut s, Action::EditMessage).is_empty());
    assert_eq!(s.compose_mode(), None);
    assert_eq!(draft(&s), "half written");
    assert_eq!(s.focus, Pane::Messages);
    assert!(s.notice.as_deref().unwrap().contains("only your own"));

    // alice's own: the composer holds its text, Enter sends message.edit.
    select(&mut s, 1);
    assert_eq!(labels(&s), ["reply", "edit", "delete", "react"]);
    assert!(update(&mut s, Action::EditMessage).is_empty());
    assert_eq!(s.focus, Pane::Composer);
    assert_eq!(draft(&s), "see you at 6");
    type_text(&mut s, " pm");
    assert_eq!(
        update(&mut s, Action::Submit),
        vec![Effect::EditMessage {
            id: id(2),
            body: "see you at 6 pm".into()
        }]
    );
    // The draft from before the edit is back.
    assert_eq!(s.compose_mode(), None);
    assert_eq!(draft(&s), "half written");
}

#[test]
fn an_edit_is_not_offered_for_deleted_or_cut_texts_and_esc_gives_the_draft_back() {
    let mut deleted = msg(4, true, "");
    deleted.deleted = true;
    deleted.body = None;
    let mut cut = msg(5, true, "long");
    cut.truncated = true;
    let mut s = conversation(vec![msg(2, true, "see you at 6"), deleted, cut], false);
    select(&mut s, 0);
    assert!(update(&mut s, Action::EditMessage).is_empty());
    assert!(s.notice.as_deref().unwrap().contains("too long"));
    select(&mut s, 1);
    assert!(hints(&s).is_empty());
    assert!(update(&mut s, Action::EditMessage).is_empty());
    assert!(update(&mut s, Action::DeleteMessage).is_empty());
    assert_eq!((s.compose_mode(), &s.overlay), (None, &None));

    s.drafts.insert("bob".into(), Composer::with_text("mine"));
    select(&mut s, 2);
    update(&mut s, Action::EditMessage);
    assert_eq!(draft(&s), "see you at 6");
    assert_eq!(key(&s, KeyCode::Esc), Some(Action::CancelCompose));
    update(&mut s, Action::CancelCompose);
    assert_eq!((s.compose_mode(), draft(&s)), (None, "mine"));
    // The same text again is no edit; a blank one is refused.
    select(&mut s, 2);
    update(&mut s, Action::EditMessage);
    assert!(update(&mut s, Action::Submit).is_empty());
    assert!(s.notice.as_deref().unwrap().contains("same"));
    select(&mut s, 2);
    update(&mut s, Action::EditMessage);
    s.composer_mut().unwrap().take();
    assert!(update(&mut s, Action::Submit).is_empty());
    assert!(s.notice.as_deref().unwrap().contains("cannot be empty"));
}

#[test]
fn delete_asks_first_and_sends_exactly_the_selected_id() {
    let mut s = conversation(three(), false);
    // Not bob's.
    select(&mut s, 0);
    assert!(update(&mut s, Action::DeleteMessage).is_empty());
    assert_eq!(s.overlay, None);
    assert!(s.notice.as_deref().unwrap().contains("only your own"));

    select(&mut s, 1);
    assert!(update(&mut s, Action::DeleteMessage).is_empty());
    assert!(matches!(
        &s.overlay,
        Some(Overlay::Message(MessagePrompt::Delete { id: i, quote })) if *i == id(2) && quote == "see you at 6"
    ));
    // n keeps it.
    assert_eq!(key(&s, KeyCode::Char('n')), Some(Action::CloseOverlay));
    assert!(update(&mut s, Action::CloseOverlay).is_empty());
    assert_eq!(s.overlay, None);
    // y deletes that one, even if the selection moved meanwhile.
    update(&mut s, Action::DeleteMessage);
    s.open.as_mut().unwrap().selected = Some(MessageKey::of(&msg(1, false, "")));
    assert_eq!(key(&s, KeyCode::Char('y')), Some(Action::PromptSubmit));
    assert_eq!(
        update(&mut s, Action::PromptSubmit),
        vec![Effect::DeleteMessage { id: id(2) }]
    );
    assert_eq!(s.overlay, None);
}

fn reacted(s: &mut AppState, i: usize, emoji: &str, users: &[&str]) {
    let mut m = s.open.as_ref().unwrap().messages[i].clone();
    m.reactions = vec![ReactionView {
        emoji: emoji.into(),
        users: users.iter().map(|u| u.to_string()).collect(),
    }];
    update(
        s,
        Action::MessageChanged {
            peer: "bob".into(),
            message: m,
        },
    );
}

fn react_effect(emoji: Option<&str>) -> Vec<Effect> {
    vec![Effect::React {
        id: id(3),
        peer: "bob".into(),
        emoji: emoji.map(str::to_owned),
    }]
}

#[test]
fn a_reaction_sends_the_choice_and_the_same_emoji_again_takes_it_back() {
    let mut s = conversation(three(), false);
    select(&mut s, 0);
    assert!(update(&mut s, Action::React).is_empty());
    assert_eq!(key(&s, KeyCode::Char('1')), Some(Action::ReactQuick(1)));
    assert_eq!(
        key(&s, KeyCode::Char('7')),
        Some(Action::PromptEdit(Edit::Insert('7')))
    );
    assert_eq!(
        update(&mut s, Action::ReactQuick(4)),
        react_effect(Some("🎉"))
    );
    assert_eq!(s.overlay, None);

    // bob's 👍 is not alice's: choosing 👍 adds hers.
    reacted(&mut s, 2, "👍", &["bob"]);
    update(&mut s, Action::React);
    assert_eq!(
        update(&mut s, Action::ReactQuick(1)),
        react_effect(Some("👍"))
    );
    // Now hers: the same again takes it back, another replaces it.
    reacted(&mut s, 2, "👍", &["bob", "alice"]);
    update(&mut s, Action::React);
    assert_eq!(update(&mut s, Action::ReactQuick(1)), react_effect(None));
    update(&mut s, Action::React);
    assert_eq!(
        update(&mut s, Action::ReactQuick(6)),
        react_effect(Some("😢"))
    );
}

#[test]
fn a_typed_reaction_is_one_emoji_and_numbers_then_type_along() {
    let mut s = conversation(three(), false);
    select(&mut s, 0);
    update(&mut s, Action::React);
    assert!(update(&mut s, Action::PromptSubmit).is_empty());
    update(&mut s, Action::PromptEdit(Edit::InsertStr("🦀 🦀".into())));
    assert!(update(&mut s, Action::PromptSubmit).is_empty());
    assert!(matches!(
        &s.overlay,
        Some(Overlay::Message(MessagePrompt::React { error: Some(e), .. })) if e.contains("no spaces")
    ));
    update(&mut s, Action::PromptEdit(Edit::Home));
    for _ in 0..2 {
        update(&mut s, Action::PromptEdit(Edit::Delete));
    }
    // Something typed: digits are text now.
    assert_eq!(
        key(&s, KeyCode::Char('2')),
        Some(Action::PromptEdit(Edit::Insert('2')))
    );
    assert_eq!(
        update(&mut s, Action::PromptSubmit),
        react_effect(Some("🦀"))
    );
}

#[test]
fn a_reply_sends_reply_to_and_esc_cancels_it() {
    let mut s = conversation(three(), false);
    select(&mut s, 2);
    assert!(update(&mut s, Action::Reply).is_empty());
    assert_eq!(s.focus, Pane::Composer);
    assert!(matches!(
        s.compose_mode(),
        Some(ComposeMode::Reply { to, quote }) if to.id == id(1) && quote == "hi alice"
    ));
    type_text(&mut s, "hi bob");
    assert_eq!(
        update(&mut s, Action::Submit),
        vec![Effect::Send {
            to: "bob".into(),
            body: "hi bob".into(),
            reply_to: Some(id(1)),
        }]
    );
    assert_eq!(s.compose_mode(), None);
    assert_eq!(s.open.as_ref().unwrap().selected, None);

    // Esc in the composer ends the reply and keeps the text.
    select(&mut s, 0);
    update(&mut s, Action::Reply);
    type_text(&mut s, "later");
    assert_eq!(key(&s, KeyCode::Esc), Some(Action::CancelCompose));
    update(&mut s, Action::CancelCompose);
    assert_eq!(s.focus, Pane::Composer);
    assert_eq!(key(&s, KeyCode::Esc), Some(Action::Focus(Pane::Messages)));
    assert_eq!(
        update(&mut s, Action::Submit),
        vec![Effect::Send {
            to: "bob".into(),
            body: "later".into(),
            reply_to: None,
        }]
    );
}

#[test]
fn answers_and_events_replace_the_message_in_place_once() {
    let mut s = conversation(three(), false);
    let mut edited = msg(2, true, "see you at 7");
    edited.edited = true;
    update(
        &mut s,
        Action::MessageChanged {
            peer: "bob".into(),
            message: edited.clone(),
        },
    );
    let event = Action::Event(EventEnvelope {
        seq: 9,
        ts: 0,
        event: Event::MessageChanged(MessageChangedEvent {
            change: MessageChangeKind::Edited,
            by: "alice".into(),
            peer: "bob".into(),
            message: Box::new(edited.clone()),
        }),
    });
    update(&mut s, event);
    let open = s.open.as_ref().unwrap();
    assert_eq!(open.messages.len(), 3);
    assert_eq!(open.messages[1], edited);
    // Another conversation's message of the same id is not this one.
    update(
        &mut s,
        Action::MessageChanged {
            peer: "carol".into(),
            message: msg(2, true, "elsewhere"),
        },
    );
    assert_eq!(s.open.as_ref().unwrap().messages[1], edited);
    update(
        &mut s,
        Action::MessageChangeFailed {
            change: MessageChangeKind::Deleted,
            error: "unknown message".into(),
        },
    );
    assert_eq!(s.notice.as_deref(), Some("not deleted: unknown message"));
}

#[test]
fn a_message_deleted_while_being_edited_gives_the_draft_back() {
    let mut s = conversation(three(), false);
    s.drafts.insert("bob".into(), Composer::with_text("before"));
    select(&mut s, 1);
    update(&mut s, Action::EditMessage);
    let mut gone = msg(2, true, "");
    gone.deleted = true;
    gone.body = None;
    update(
        &mut s,
        Action::MessageChanged {
            peer: "bob".into(),
            message: gone,
        },
    );
    assert_eq!((s.compose_mode(), draft(&s)), (None, "before"));
    assert!(s.notice.as_deref().unwrap().contains("deleted"));
}

#[test]
fn the_selection_moves_by_message_scrolls_into_sight_and_loads_older() {
    let page: Vec<_> = (10..60).map(|i| msg(i, i % 2 == 0, "x")).collect();
    let mut s = conversation(page, true);
    assert!(update(&mut s, Action::MessageSelect(-1)).is_empty());
    assert_eq!(s.selected_message().unwrap().1.id, id(59));
    update(&mut s, Action::MessageSelect(-20));
    assert_eq!(s.selected_message().unwrap().1.id, id(39));
    // 20 messages of 2 rows below it: scrolled so its header shows.
    let scroll = s.open.as_ref().unwrap().scroll;
    let page = s.areas().message_page();
    assert!(
        scroll > 0 && scroll <= 40 && 40 + 2 <= scroll + page,
        "{scroll}"
    );
    update(&mut s, Action::MessageSelect(5));
    assert_eq!(s.selected_message().unwrap().1.id, id(44));
    // Past the oldest: the page before it is asked for, once.
    let fx = update(&mut s, Action::MessageSelect(-100));
    assert_eq!(s.selected_message().unwrap().1.id, id(10));
    assert_eq!(
        fx,
        vec![Effect::LoadOlder {
            peer: "bob".into(),
            before: 10
        }]
    );
    // Esc forgets the selection before it leaves the pane.
    update(&mut s, Action::CloseOverlay);
    assert_eq!(
        (s.selected_message().is_none(), s.focus),
        (true, Pane::Messages)
    );
    update(&mut s, Action::CloseOverlay);
    assert_eq!(s.focus, Pane::List);
}
