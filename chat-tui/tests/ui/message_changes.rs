//! Edited, deleted, reacted-to and replying messages drawn with TestBackend
//! and insta snapshots, with the selected message's key hints, the reply
//! and edit composers and the delete and react questions; and peers' text
//! in all of them drawn inert. (The flows' `update` logic is tested in
//! src/app/message_changes/tests.rs, the worker's calls in
//! src/backend/tests/changes.rs.)

use chat_tui::app::{self, Action, AppState, Pane};
use ipc_schema::methods::{MessageState, MessageView, ReactionView};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;

use super::{HOSTILE, assert_drawn_inert, msg, online, open_with, render};

/// Snapshots live beside ui.rs's, in tests/snapshots.
macro_rules! snapshot {
    ($screen:expr) => {
        insta::with_settings!({ snapshot_path => "../snapshots" }, {
            insta::assert_snapshot!($screen);
        })
    };
}

fn id(i: usize) -> String {
    format!("{i:032x}")
}

fn reactions(list: &[(&str, &[&str])]) -> Vec<ReactionView> {
    list.iter()
        .map(|(emoji, users)| ReactionView {
            emoji: (*emoji).into(),
            users: users.iter().map(|u| u.to_string()).collect(),
        })
        .collect()
}

/// A conversation with bob where each kind of change shows once: alice's
/// edited text with two reactions, bob's deleted one, bob's reply to the
/// edited text (alice reacted to it too), and alice's reply to a message
/// that is not loaded.
fn changed() -> Vec<MessageView> {
    let question = msg(
        1,
        "bob",
        false,
        "are we still on for friday?",
        MessageState::Read,
    );
    let mut edited = msg(
        2,
        "bob",
        true,
        "yes, 8pm at the usual place by the river\nbring the map",
        MessageState::Read,
    );
    edited.edited = true;
    edited.reactions = reactions(&[("👍", &["bob"]), ("🎉", &["bob", "alice"])]);
    let mut deleted = msg(3, "bob", false, "", MessageState::Read);
    deleted.deleted = true;
    deleted.body = None;
    let mut reply = msg(
        4,
        "bob",
        false,
        "perfect, see you there",
        MessageState::Read,
    );
    reply.reply_to = Some(id(2));
    reply.reactions = reactions(&[("❤️", &["alice"])]);
    let mut earlier = msg(5, "bob", true, "and about last week…", MessageState::Read);
    earlier.reply_to = Some(id(999));
    vec![question, edited, deleted, reply, earlier]
}

/// Online, the conversation with bob open on [`changed`], the message
/// pane focused.
fn conversation() -> AppState {
    let mut s = online(80, 24);
    open_with(&mut s, "bob", changed(), false);
    app::update(&mut s, Action::Focus(Pane::Messages));
    s
}

/// Selects the message `back` messages before the newest (0: the newest).
fn select(s: &mut AppState, back: i64) {
    app::update(s, Action::MessageSelect(-1 - back));
}

#[test]
fn snapshot_edited_deleted_reactions_and_replies_80x24() {
    let s = conversation();
    let screen = render(&s);
    for row in [
        "alice 14:07 (edited)",
        "  [deleted]",
        "  👍 1  🎉 2",
        "  ↪ alice: yes, 8pm at the usual place by the river",
        "  ❤️ 1",
        "  ↪ earlier message",
    ] {
        assert!(screen.contains(row), "no {row:?} in\n{screen}");
    }
    snapshot!(screen);
}

#[test]
fn a_reply_quote_is_one_row_cut_with_an_ellipsis() {
    let mut s = online(60, 24);
    open_with(&mut s, "bob", changed(), false);
    let screen = render(&s);
    let rows: Vec<&str> = screen.lines().collect();
    let at = rows
        .iter()
        .position(|l| l.contains("↪ alice"))
        .unwrap_or_else(|| panic!("no quote in\n{screen}"));
    assert!(
        rows[at].contains("↪ alice: yes, 8pm at the usual pl…│"),
        "{screen}"
    );
    // Its second line and the rest of the first are not quoted.
    assert!(
        rows[at + 1].contains("│  perfect, see you there"),
        "{screen}"
    );
}

#[test]
fn own_reactions_are_highlighted_and_others_are_not() {
    let s = conversation();
    let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
    t.draw(|f| chat_tui::ui::draw(f, &s)).unwrap();
    let buffer = t.backend().buffer();
    let cell_of = |symbol: &str| {
        let area = buffer.area;
        (area.top()..area.bottom())
            .flat_map(|y| (area.left()..area.right()).map(move |x| (x, y)))
            .find(|&(x, y)| buffer[(x, y)].symbol() == symbol)
            .unwrap_or_else(|| panic!("no {symbol} drawn"))
    };
    let reversed = |symbol: &str| {
        buffer[cell_of(symbol)]
            .style()
            .add_modifier
            .contains(Modifier::REVERSED)
    };
    // The None theme highlights by reversing.
    assert!(reversed("🎉"), "alice chose 🎉");
    assert!(reversed("❤️"), "alice chose ❤️");
    assert!(!reversed("👍"), "only bob chose 👍");
}

#[test]
fn snapshot_selected_message_with_its_keys_80x24() {
    let mut s = conversation();
    select(&mut s, 3);
    let screen = render(&s);
    assert!(screen.contains("▶ alice 14:07 (edited)"), "{screen}");
    assert!(
        screen.contains(" r reply · e edit · d delete · + react · Esc "),
        "{screen}"
    );
    snapshot!(screen);
    // bob's: only reply and react.
    select(&mut s, 1);
    let screen = render(&s);
    assert!(screen.contains(" r reply · + react · Esc "), "{screen}");
}

#[test]
fn snapshot_replying_composer_80x24() {
    let mut s = conversation();
    select(&mut s, 4);
    app::update(&mut s, Action::Reply);
    app::update(&mut s, Action::Edit(app::Edit::InsertStr("yes!".into())));
    let screen = render(&s);
    // The quote is cut so that how to cancel stays in sight.
    assert!(
        screen.contains("replying to bob: are we still on for fr… · Esc cancels "),
        "{screen}"
    );
    snapshot!(screen);
}

#[test]
fn the_edit_composer_holds_the_text_and_says_so() {
    let mut s = conversation();
    select(&mut s, 3);
    app::update(&mut s, Action::EditMessage);
    let screen = render(&s);
    assert!(
        screen.contains("editing your message · Enter saves · Esc cancels"),
        "{screen}"
    );
    assert!(screen.contains("│yes, 8pm at the usual place"), "{screen}");
}

#[test]
fn snapshot_delete_confirmation_80x24() {
    let mut s = conversation();
    select(&mut s, 3);
    app::update(&mut s, Action::DeleteMessage);
    let screen = render(&s);
    assert!(screen.contains("Delete for everyone?"), "{screen}");
    snapshot!(screen);
}

#[test]
fn snapshot_react_prompt_with_the_own_reaction_80x24() {
    let mut s = conversation();
    select(&mut s, 3);
    app::update(&mut s, Action::React);
    let screen = render(&s);
    assert!(
        screen.contains("yours is 🎉; choosing it again takes it back"),
        "{screen}"
    );
    snapshot!(screen);
}

#[test]
fn hostile_bodies_emoji_and_quotes_of_changed_messages_are_drawn_inert() {
    let mut s = online(200, 40);
    let mut evil = msg(1, "bob", false, HOSTILE, MessageState::Read);
    evil.edited = true;
    evil.reactions = reactions(&[
        ("\x1b[2J\x1b[H", &["bob"]),
        ("\u{202e}\u{9b}2J", &["alice"]),
    ]);
    let mut reply = msg(2, "bob", false, HOSTILE, MessageState::Read);
    reply.reply_to = Some(id(1));
    open_with(&mut s, "bob", vec![evil, reply], false);
    app::update(&mut s, Action::Focus(Pane::Messages));
    let whole = ["␛]52;c;cm0gLXJmIH4=␇", "␛[2J␛[H 1", "\u{fffd}\u{fffd}2J 1"];
    let screen = render(&s);
    assert_drawn_inert(&screen, &whole);
    // The quote of the hostile body, inert too.
    assert!(
        screen.contains("↪ bob: hi ␛]52;c;cm0gLXJmIH4=␇"),
        "{screen}"
    );
    // The reply composer's title, the reaction prompt and its "yours".
    select(&mut s, 1);
    app::update(&mut s, Action::Reply);
    assert_drawn_inert(&render(&s), &["replying to bob: hi ␛]52;c;"]);
    app::update(&mut s, Action::CancelCompose);
    app::update(&mut s, Action::Focus(Pane::Messages));
    app::update(&mut s, Action::React);
    assert_drawn_inert(&render(&s), &["yours is \u{fffd}\u{fffd}2J"]);
    // A hostile emoji typed or pasted into the prompt.
    app::update(
        &mut s,
        Action::PromptEdit(app::Edit::InsertStr("\x1b]52;c;x\x07".into())),
    );
    assert_drawn_inert(&render(&s), &["> ␛]52;c;x␇"]);
}
