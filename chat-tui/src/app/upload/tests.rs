//! Sending a file through `update` and the key map: how the composer reads
//! `/file PATH` and `//`, what `a` opens, what Enter sends (with the reply
//! it answers), what is refused before anything is sent, and chatd's answer
//! as a notice. (The backend's checks and streaming are tested in
//! src/backend/tests/upload.rs, the drawing in tests/ui/files.rs.)

use std::collections::BTreeMap;

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use ipc_schema::methods::{Direction, MessageListResult, MessageState, MessageView};
use ipc_schema::time::TimeZone;

use super::*;
use crate::app::keymap::KeyMap;
use crate::app::keys::{help_rows, map_event};
use crate::app::state::Pane;
use crate::app::{Action, update};
use crate::theme::{Theme, ThemeName};

fn id(i: usize) -> String {
    format!("{i:032x}")
}

/// Message `i` with bob: alice's when `out`, else bob's.
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

/// Online as alice with bob's conversation open on two messages, the
/// message pane focused and nothing selected.
fn conversation() -> AppState {
    let mut s = AppState::new("x", Theme::named(ThemeName::None), TimeZone::Fixed(0));
    update(&mut s, Action::Resize(80, 24));
    update(&mut s, Action::DaemonOnline);
    s.status.user = Some("alice".into());
    s.open = Some(crate::app::OpenConversation::new("bob"));
    update(
        &mut s,
        Action::Messages {
            peer: "bob".into(),
            page: MessageListResult {
                messages: vec![msg(1, false, "send me the log?"), msg(2, true, "sure")],
                has_more: false,
            },
            older: false,
        },
    );
    update(&mut s, Action::Focus(Pane::Messages));
    s
}

fn key(s: &AppState, code: KeyCode) -> Option<Action> {
    map_event(s, TermEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

/// Presses `code` the way main does: the key's action, if any, into `update`.
fn press(s: &mut AppState, code: KeyCode) -> Vec<Effect> {
    match key(s, code) {
        Some(action) => update(s, action),
        None => Vec::new(),
    }
}

/// Types `text` key by key.
fn type_keys(s: &mut AppState, text: &str) {
    for c in text.chars() {
        press(s, KeyCode::Char(c));
    }
}

/// Writes `text` in the composer and presses Enter there.
fn submit_draft(s: &mut AppState, text: &str) -> Vec<Effect> {
    update(s, Action::Focus(Pane::Composer));
    type_keys(s, text);
    press(s, KeyCode::Enter)
}

fn draft(s: &AppState) -> &str {
    s.composer().map_or("", |c| c.text.as_str())
}

fn prompt(s: &AppState) -> (&str, Option<&str>) {
    match &s.overlay {
        Some(Overlay::Message(MessagePrompt::SendFile { input, error })) => {
            (&input.text, error.as_deref())
        }
        other => panic!("no prompt for a file to send: {other:?}"),
    }
}

fn send(path: &str, name: &str, reply_to: Option<String>) -> Effect {
    Effect::SendFile(FileSend {
        to: "bob".into(),
        path: path.into(),
        name: name.into(),
        reply_to,
    })
}

#[test]
fn the_composer_reads_slash_file_as_a_file_and_a_double_slash_as_a_text() {
    assert_eq!(parse("/file ~/x"), Typed::File("~/x"));
    assert_eq!(
        parse("/file   ~/my notes.txt  \n"),
        Typed::File("~/my notes.txt")
    );
    assert_eq!(parse("/file\t/tmp/a"), Typed::File("/tmp/a"));
    // Nothing after it is still the command, whose path is missing.
    assert_eq!(parse("/file"), Typed::File(""));
    assert_eq!(parse("/file  "), Typed::File(""));
    // `//` escapes the slash: the text is sent with one.
    assert_eq!(parse("//file ~/x"), Typed::Text("/file ~/x"));
    assert_eq!(parse("//"), Typed::Text("/"));
    assert_eq!(unescape("//file ~/x".into()), "/file ~/x");
    assert_eq!(unescape("///".into()), "//");
    // Anything else is a text as it is.
    for text in [
        "plain text",
        "/files are here",
        "/filex",
        "/shrug",
        " /file x",
        "see /file x",
        "/file\nx",
        "/",
    ] {
        assert_eq!(parse(text), Typed::Text(text), "{text:?}");
        assert_eq!(unescape(text.into()), text);
    }
}

#[test]
fn a_opens_the_empty_path_prompt_and_is_typed_in_the_composer() {
    let mut s = conversation();
    assert_eq!(key(&s, KeyCode::Char('a')), Some(Action::AttachFile));
    assert!(press(&mut s, KeyCode::Char('a')).is_empty());
    assert_eq!(prompt(&s), ("", None));
    // Typed and pasted on one line; Esc closes it, sending nothing.
    type_keys(&mut s, "~/build");
    update(&mut s, Action::PromptEdit(Edit::InsertStr(".log\n".into())));
    assert_eq!(prompt(&s), ("~/build.log", None));
    assert!(press(&mut s, KeyCode::Esc).is_empty());
    assert_eq!(s.overlay, None);
    // Open again, it is empty again, as the save prompt is filled afresh.
    press(&mut s, KeyCode::Char('a'));
    assert_eq!(prompt(&s), ("", None));
    // In the composer, `a` is a letter.
    update(&mut s, Action::CloseOverlay);
    update(&mut s, Action::Focus(Pane::Composer));
    assert_eq!(
        key(&s, KeyCode::Char('a')),
        Some(Action::Edit(Edit::Insert('a')))
    );
    // The key is configurable.
    let keys = KeyMap::from_config(&BTreeMap::from([(
        "attach_file".to_owned(),
        "F5".to_owned(),
    )]))
    .unwrap();
    let mut s = conversation();
    s.keys = keys;
    assert_eq!(key(&s, KeyCode::F(5)), Some(Action::AttachFile));
    assert_eq!(key(&s, KeyCode::Char('a')), None);
}

#[test]
fn enter_in_the_prompt_sends_the_path_as_typed_answering_the_reply() {
    let mut s = conversation();
    // r on bob's question, then back to the message pane, a.
    update(&mut s, Action::MessageSelect(-1));
    update(&mut s, Action::MessageSelect(-1));
    update(&mut s, Action::Reply);
    assert!(matches!(s.compose_mode(), Some(ComposeMode::Reply { .. })));
    update(&mut s, Action::Focus(Pane::Messages));
    press(&mut s, KeyCode::Char('a'));
    type_keys(&mut s, "  ~/logs/build.log ");
    let fx = press(&mut s, KeyCode::Enter);
    assert_eq!(fx, [send("~/logs/build.log", "build.log", Some(id(1)))]);
    assert_eq!(s.overlay, None);
    assert_eq!(s.notice.as_deref(), Some("sending build.log…"));
    // The file was the reply: the composer writes a new message again.
    assert_eq!(s.compose_mode(), None);
    assert_eq!(s.open.as_ref().unwrap().selected, None);
    // Without a reply, no reply_to.
    press(&mut s, KeyCode::Char('a'));
    type_keys(&mut s, "/tmp/shot.png");
    assert_eq!(
        press(&mut s, KeyCode::Enter),
        [send("/tmp/shot.png", "shot.png", None)]
    );
}

#[test]
fn slash_file_in_the_composer_sends_the_file_and_a_double_slash_a_text() {
    let mut s = conversation();
    let fx = submit_draft(&mut s, "/file ~/build.log");
    assert_eq!(fx, [send("~/build.log", "build.log", None)]);
    assert_eq!(draft(&s), "", "the draft went with the file");
    assert_eq!(s.notice.as_deref(), Some("sending build.log…"));
    // Replying: the file answers.
    update(&mut s, Action::Focus(Pane::Messages));
    update(&mut s, Action::MessageSelect(-1));
    update(&mut s, Action::MessageSelect(-1));
    update(&mut s, Action::Reply);
    let fx = submit_draft(&mut s, "/file notes.txt");
    assert_eq!(fx, [send("notes.txt", "notes.txt", Some(id(1)))]);
    assert_eq!(s.compose_mode(), None);
    // `//file` is the text "/file …"; plain text is sent as it is.
    let text = |body: &str| Effect::Send {
        to: "bob".into(),
        body: body.into(),
        reply_to: None,
    };
    assert_eq!(
        submit_draft(&mut s, "//file ~/build.log"),
        [text("/file ~/build.log")]
    );
    assert_eq!(
        submit_draft(&mut s, "/files are big"),
        [text("/files are big")]
    );
    assert_eq!(submit_draft(&mut s, "plain"), [text("plain")]);
    // An edit is the new text exactly as typed, `/file` and `//` too.
    update(&mut s, Action::Focus(Pane::Messages));
    update(&mut s, Action::MessageSelect(-1));
    update(&mut s, Action::EditMessage);
    update(&mut s, Action::Edit(Edit::DeleteToLineStart));
    let fx = submit_draft(&mut s, "/file x");
    assert_eq!(
        fx,
        [Effect::EditMessage {
            id: id(2),
            body: "/file x".into(),
        }]
    );
}

#[test]
fn a_path_that_cannot_name_a_file_says_why_and_sends_nothing() {
    let mut s = conversation();
    assert!(submit_draft(&mut s, "/file").is_empty());
    assert_eq!(
        s.notice.as_deref(),
        Some("type the path of a file to send: /file PATH")
    );
    assert_eq!(draft(&s), "/file", "the draft stays, to be fixed");
    update(&mut s, Action::Edit(Edit::DeleteToLineStart));
    assert!(submit_draft(&mut s, "/file ~/Documents/").is_empty());
    assert_eq!(
        s.notice.as_deref(),
        Some("~/Documents/ is a directory; only files can be sent")
    );
    update(&mut s, Action::Edit(Edit::DeleteToLineStart));
    update(&mut s, Action::Edit(Edit::InsertStr("/file a\nb".into())));
    assert!(press(&mut s, KeyCode::Enter).is_empty());
    assert_eq!(s.notice.as_deref(), Some("a file's path is one line"));
    // In the prompt: it stays up, saying why; typing clears that.
    update(&mut s, Action::Focus(Pane::Messages));
    press(&mut s, KeyCode::Char('a'));
    assert!(press(&mut s, KeyCode::Enter).is_empty());
    assert_eq!(prompt(&s), ("", Some("type the path of a file to send")));
    type_keys(&mut s, "~");
    assert_eq!(prompt(&s), ("~", None));
    assert!(press(&mut s, KeyCode::Enter).is_empty());
    assert_eq!(
        prompt(&s),
        ("~", Some("~ is a directory; only files can be sent"))
    );
}

#[test]
fn offline_nothing_is_sent_and_the_draft_stays() {
    let mut s = conversation();
    update(&mut s, Action::DaemonOffline("gone".into()));
    assert!(submit_draft(&mut s, "/file ~/build.log").is_empty());
    assert_eq!(
        s.notice.as_deref(),
        Some("daemon offline — build.log not sent")
    );
    assert_eq!(draft(&s), "/file ~/build.log");
    update(&mut s, Action::Focus(Pane::Messages));
    press(&mut s, KeyCode::Char('a'));
    type_keys(&mut s, "~/build.log");
    assert!(press(&mut s, KeyCode::Enter).is_empty());
    assert_eq!(
        s.notice.as_deref(),
        Some("daemon offline — build.log not sent")
    );
}

#[test]
fn chatd_s_answer_ends_the_sending_notice_or_says_why_in_its_words() {
    let mut s = conversation();
    submit_draft(&mut s, "/file ~/build.log");
    let answer = |result| Action::FileSent {
        to: "bob".into(),
        name: "build.log".into(),
        result,
    };
    // Sent: the message shows by chatd's events; the notice is done.
    update(&mut s, answer(Ok(())));
    assert_eq!(s.notice, None);
    // A notice about something else is left alone.
    s.notice = Some("reconnected to chatd".into());
    update(&mut s, answer(Ok(())));
    assert_eq!(s.notice.as_deref(), Some("reconnected to chatd"));
    update(
        &mut s,
        answer(Err(
            "2.5 GB is over this device's limit of 100 MB (`[files] max_send_mib`)".into(),
        )),
    );
    assert_eq!(
        s.notice.as_deref(),
        Some(
            "build.log not sent to bob: 2.5 GB is over this device's limit of 100 MB (`[files] max_send_mib`)"
        )
    );
    // A file's own name is drawn as chatd sends it: never a path, no controls.
    update(
        &mut s,
        Action::FileSent {
            to: "bob".into(),
            name: "\x1b[2Jx.txt".into(),
            result: Err("no such file: ~/\x1b[2Jx.txt".into()),
        },
    );
    assert!(
        s.notice
            .as_deref()
            .unwrap()
            .starts_with("[2Jx.txt not sent to bob: ")
    );
}

#[test]
fn the_help_names_the_key_and_the_command() {
    let rows = help_rows(&KeyMap::default());
    let row = |k: &str, what: &str| (k.to_owned(), what.to_owned());
    assert!(rows.contains(&row("a", "send a file here: asks for its path")));
    assert!(rows.contains(&row(
        "/file PATH, Enter",
        "send the file at PATH (~/ is home)"
    )));
    assert!(rows.contains(&row("//TEXT, Enter", "send /TEXT as a text, not a command")));
}
