//! Edits, deletes, reactions and replies against the fake chatd: what each
//! effect calls and comes back as, and the app's keys end to end.

use ipc_schema::methods::{MessageChangeKind, MessageState};

use super::{FakeDaemon, answer, msg, run_all, status};
use crate::app::{self, Action, AppState, Effect, Pane};
use crate::theme::{Theme, ThemeName};
use ipc_schema::time::TimeZone;

fn id(i: usize) -> String {
    format!("{i:032x}")
}

/// chatd as alice, with bob's "hi" and alice's "see you".
fn fake() -> FakeDaemon {
    let fake = FakeDaemon::default();
    {
        let mut s = fake.0.lock().unwrap();
        s.status = Some(status());
        s.history.insert(
            "bob".into(),
            vec![
                msg(1, "bob", false, "hi", MessageState::Read),
                msg(2, "bob", true, "see you", MessageState::Read),
            ],
        );
    }
    fake
}

#[tokio::test]
async fn change_effects_come_back_as_the_message_now_or_chatds_refusal() {
    let mut fake = fake();
    let edit = |i: usize| Effect::EditMessage {
        id: id(i),
        body: "see you at 7".into(),
    };
    let Action::MessageChanged { peer, message } = answer(&mut fake, edit(2)).await else {
        panic!("no answer to the edit");
    };
    assert_eq!(peer, "bob");
    assert_eq!(
        (message.body.as_deref(), message.edited),
        (Some("see you at 7"), true)
    );
    // bob's message is not alice's to edit: chatd refuses, the app says so.
    assert_eq!(
        answer(&mut fake, edit(1)).await,
        Action::MessageChangeFailed {
            change: MessageChangeKind::Edited,
            error: "unknown message".into(),
        }
    );
    let react = |emoji: Option<&str>| Effect::React {
        id: id(1),
        peer: "bob".into(),
        emoji: emoji.map(str::to_owned),
    };
    let Action::MessageChanged { message, .. } = answer(&mut fake, react(Some("👍"))).await
    else {
        panic!("no answer to the reaction");
    };
    assert_eq!(message.reactions[0].users, ["alice"]);
    let Action::MessageChanged { message, .. } = answer(&mut fake, react(None)).await else {
        panic!("no answer to taking it back");
    };
    assert!(message.reactions.is_empty());
    let delete = Effect::DeleteMessage { id: id(2) };
    let Action::MessageChanged { message, .. } = answer(&mut fake, delete).await else {
        panic!("no answer to the delete");
    };
    assert!(message.deleted && message.body.is_none());
    assert_eq!(
        fake.0.lock().unwrap().calls,
        [
            format!("message.edit {} see you at 7", id(2)),
            format!("message.edit {} see you at 7", id(1)),
            format!("message.react {} bob 👍", id(1)),
            format!("message.react {} bob -", id(1)),
            format!("message.delete {}", id(2)),
        ]
    );
}

#[tokio::test]
async fn a_lost_connection_during_a_change_is_an_error_not_a_refusal() {
    let mut fake = fake();
    fake.0.lock().unwrap().down = true;
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let delete = Effect::DeleteMessage { id: id(2) };
    assert!(super::execute(&mut fake, delete, &tx).await.is_err());
}

#[tokio::test]
async fn the_keys_reply_react_twice_and_delete_through_chatd() {
    let mut fake = fake();
    let mut s = AppState::new("x", Theme::named(ThemeName::None), TimeZone::Fixed(0));
    app::update(&mut s, Action::Resize(80, 24));
    let fx = app::update(&mut s, Action::DaemonOnline);
    run_all(&mut fake, &mut s, fx).await;
    s.open = Some(app::OpenConversation::new("bob"));
    run_all(
        &mut fake,
        &mut s,
        vec![Effect::LoadMessages { peer: "bob".into() }],
    )
    .await;
    app::update(&mut s, Action::Focus(Pane::Messages));
    fake.0.lock().unwrap().calls.clear();

    // Reply to bob's "hi".
    app::update(&mut s, Action::MessageSelect(-2));
    app::update(&mut s, Action::Reply);
    app::update(&mut s, Action::Edit(app::Edit::InsertStr("hello".into())));
    let fx = app::update(&mut s, Action::Submit);
    run_all(&mut fake, &mut s, fx).await;
    // 🎉 on it, then 🎉 again: added, then taken back.
    for reactions in [1, 0] {
        app::update(&mut s, Action::MessageSelect(-2));
        app::update(&mut s, Action::React);
        let fx = app::update(&mut s, Action::ReactQuick(4));
        run_all(&mut fake, &mut s, fx).await;
        let hi = &s.open.as_ref().unwrap().messages[0];
        assert_eq!(hi.reactions.len(), reactions);
    }
    // Delete alice's own, the next newer, after y.
    app::update(&mut s, Action::MessageSelect(1));
    app::update(&mut s, Action::DeleteMessage);
    let fx = app::update(&mut s, Action::PromptSubmit);
    run_all(&mut fake, &mut s, fx).await;
    assert!(s.open.as_ref().unwrap().messages[1].deleted);
    assert_eq!(
        fake.0.lock().unwrap().calls,
        [
            format!("message.send bob hello reply_to={}", id(1)),
            format!("message.react {} bob 🎉", id(1)),
            format!("message.react {} bob -", id(1)),
            format!("message.delete {}", id(2)),
        ]
    );
}
