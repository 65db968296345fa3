//! File messages drawn with TestBackend and insta snapshots: the one row
//! of each state, a hostile name and failure drawn inert, the selected
//! file's keys, the save prompt and the question before opening a risky
//! type; sending one: the `a` hint, its prompt and the composer on
//! `/file`. (The flows' `update` logic is tested in src/app/files/tests.rs
//! and src/app/upload/tests.rs, the reads, writes and uploads in
//! src/backend/tests/.)

use chat_tui::app::{self, Action, AppState, Pane};
use chat_tui::layout::{FilePart, file_row};
use ipc_schema::methods::{FileState, FileView, MessageState, MessageView};

use super::{HOSTILE, assert_drawn_inert, msg, online, open_with, render};

/// Snapshots live beside ui.rs's, in tests/snapshots.
macro_rules! snapshot {
    ($screen:expr) => {
        insta::with_settings!({ snapshot_path => "../snapshots" }, {
            insta::assert_snapshot!($screen);
        })
    };
}

fn file(name: &str, media_type: &str, state: FileState, done: u64) -> FileView {
    FileView {
        name: name.into(),
        size: 2_300_000,
        media_type: media_type.into(),
        state,
        done,
        failure: (state == FileState::Failed).then(|| "bad_digest".into()),
    }
}

/// Message `i` with bob, a file: bob's, or alice's when `out`.
fn file_msg(i: usize, out: bool, f: FileView) -> MessageView {
    let mut m = msg(i, "bob", out, &f.name, MessageState::Read);
    m.kind = "file".into();
    m.file = Some(Box::new(f));
    m
}

/// One file message in each state: bob's here, coming down, waiting and
/// failed; alice's going up and sent.
fn every_state() -> Vec<MessageView> {
    vec![
        file_msg(
            1,
            false,
            file("build.log", "text/plain", FileState::Ready, 0),
        ),
        file_msg(
            2,
            false,
            file("shot.png", "image/png", FileState::Downloading, 1_035_000),
        ),
        file_msg(
            3,
            false,
            file("big.tar", "application/x-tar", FileState::Waiting, 0),
        ),
        file_msg(
            4,
            false,
            file("notes.pdf", "application/pdf", FileState::Failed, 0),
        ),
        file_msg(
            5,
            true,
            file(
                "report.pdf",
                "application/pdf",
                FileState::Uploading,
                1_035_000,
            ),
        ),
        file_msg(
            6,
            true,
            file("done.txt", "text/plain", FileState::Uploaded, 0),
        ),
    ]
}

/// Online with bob's conversation open on `messages`, the message pane
/// focused.
fn conversation(messages: Vec<MessageView>) -> AppState {
    let mut s = online(80, 24);
    open_with(&mut s, "bob", messages, false);
    app::update(&mut s, Action::Focus(Pane::Messages));
    s
}

#[test]
fn snapshot_file_messages_in_each_state_80x24() {
    let s = conversation(every_state());
    let screen = render(&s);
    for row in [
        "│  📎 build.log  2.3 MB  ",
        "│  📎 shot.png  2.3 MB  downloading 45%  ",
        "│  📎 big.tar  2.3 MB  not fetched — s to save  ",
        "│  📎 notes.pdf  2.3 MB  failed: bad_digest  ",
        "│alice 14:10 ✓✓",
        "│  📎 report.pdf  2.3 MB  uploading 45%  ",
        "│  📎 done.txt  2.3 MB  ",
    ] {
        // The clip is two cells wide: the backend pads it with a blank.
        let drawn = screen.replace("📎 ", "📎");
        let row = row.replace("📎 ", "📎");
        assert!(drawn.contains(&row), "no {row:?} in\n{screen}");
    }
    snapshot!(screen);
}

#[test]
fn a_file_row_keeps_its_size_and_state_in_sight_and_fits() {
    let f = FileView {
        name: "a-very-long-name-for-a-build-log-from-the-nightly-run.log".into(),
        ..file("x", "text/plain", FileState::Downloading, 2_300_000)
    };
    let row: String = file_row(&f, "s", 40).into_iter().map(|(t, _)| t).collect();
    assert_eq!(row, "📎 a-very-lon…  2.3 MB  downloading 100%");
    assert!(unicode_width::UnicodeWidthStr::width(row.as_str()) <= 40);
    // Too narrow even for that: cut, never wider.
    let row: String = file_row(&f, "s", 20).into_iter().map(|(t, _)| t).collect();
    assert!(
        unicode_width::UnicodeWidthStr::width(row.as_str()) <= 20,
        "{row}"
    );
    // A configured key is the one the row names; an empty file is whole.
    let waiting = FileView {
        size: 0,
        ..file("x", "text/plain", FileState::Waiting, 0)
    };
    let parts = file_row(&waiting, "F5", 60);
    assert_eq!(
        parts,
        [
            ("📎 x".to_owned(), FilePart::Name),
            ("  0 B".to_owned(), FilePart::Size),
            ("  not fetched — F5 to save".to_owned(), FilePart::Moving),
        ]
    );
}

#[test]
fn a_hostile_file_name_and_failure_are_drawn_inert_and_never_a_path() {
    let mut s = online(200, 30);
    let mut f = file(
        &format!("../../.ssh/\x1b[2J{HOSTILE}.png"),
        "image/png",
        FileState::Failed,
        0,
    );
    f.failure = Some(format!("{HOSTILE}\nsecond line"));
    open_with(&mut s, "bob", vec![file_msg(1, false, f)], false);
    let screen = render(&s);
    // The shown name: what follows the last slash, without its controls.
    assert!(
        screen.contains("📎 [2J[Hbob: fake line gnp.exe 2J.png  2.3 MB  failed: "),
        "{screen}"
    );
    assert!(!screen.contains("../"), "{screen}");
    assert!(!screen.contains(".ssh"), "{screen}");
    // The reason is chatd's words and drawn through the same filter.
    assert_drawn_inert(&screen, &["failed: hi ␛]52;c;cm0gLXJmIH4=␇"]);
}

#[test]
fn the_selected_file_offers_s_save_and_o_open() {
    let mut s = conversation(every_state());
    app::update(&mut s, Action::MessageSelect(-1));
    let screen = render(&s);
    assert!(screen.contains("▶ alice 14:11 ✓✓"), "{screen}");
    assert!(screen.contains("└ s save · o open · Esc "), "{screen}");
}

#[test]
fn snapshot_save_prompt_80x24() {
    let mut s = conversation(every_state());
    app::update(&mut s, Action::MessageSelect(-4));
    app::update(&mut s, Action::SaveFile);
    let screen = render(&s);
    assert!(screen.contains(" Save file "), "{screen}");
    assert!(screen.contains("> ~/Downloads/big.tar "), "{screen}");
    snapshot!(screen);
    // A long path keeps its end, where the cursor is, in sight.
    app::update(
        &mut s,
        Action::PromptEdit(app::Edit::InsertStr("/".repeat(60))),
    );
    let screen = render(&s);
    assert!(screen.contains("> …/"), "{screen}");
}

#[test]
fn the_question_before_opening_a_risky_type_names_it_and_defaults_to_no() {
    let mut s = online(200, 30);
    let script = file_msg(
        1,
        false,
        file("run.sh", "application/x-sh", FileState::Ready, 0),
    );
    open_with(&mut s, "bob", vec![script], false);
    app::update(&mut s, Action::Focus(Pane::Messages));
    app::update(&mut s, Action::MessageSelect(-1));
    assert!(app::update(&mut s, Action::OpenFile).is_empty());
    let screen = render(&s);
    assert!(
        screen.contains(
            "\"run.sh\" is application/x-sh — an unknown or executable type. Open it anyway? y/N"
        ),
        "{screen}"
    );
    assert!(
        screen.contains("y opens it · any other key does not"),
        "{screen}"
    );
}

#[test]
fn the_help_lists_the_file_keys_with_the_message_keys() {
    let rows = app::keys::help_rows(&app::keymap::KeyMap::default());
    let messages = rows
        .iter()
        .position(|(_, what)| what == "Messages")
        .unwrap();
    let search = rows.iter().position(|(_, what)| what == "Search").unwrap();
    let keys: Vec<&str> = rows[messages..search]
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert!(
        keys.contains(&"s") && keys.contains(&"o") && keys.contains(&"a"),
        "{keys:?}"
    );
    assert!(rows.contains(&("s".into(), "save the selected file (asks where)".into())));
    let composer = rows
        .iter()
        .position(|(_, what)| what == "Composer")
        .unwrap();
    let slash_file = rows.iter().position(|(k, _)| k == "/file PATH, Enter");
    assert!(slash_file.is_some_and(|i| i > composer), "{rows:?}");
}

#[test]
fn with_no_message_selected_the_pane_offers_a_attach() {
    let mut s = conversation(every_state());
    let screen = render(&s);
    assert!(screen.contains("└ a attach · Esc "), "{screen}");
    assert!(screen.contains("/file PATH sends a file"), "{screen}");
    // A selected message's own keys take the place.
    app::update(&mut s, Action::MessageSelect(-1));
    assert!(!render(&s).contains("a attach"));
}

#[test]
fn snapshot_send_prompt_80x24() {
    let mut s = conversation(every_state());
    app::update(&mut s, Action::AttachFile);
    app::update(
        &mut s,
        Action::PromptEdit(app::Edit::InsertStr("~/logs/build.log".into())),
    );
    let screen = render(&s);
    assert!(screen.contains(" Send file "), "{screen}");
    assert!(screen.contains("│to bob "), "{screen}");
    assert!(screen.contains("> ~/logs/build.log "), "{screen}");
    assert!(
        screen.contains("Enter sends it · ~/ is your home · Esc cancels"),
        "{screen}"
    );
    snapshot!(screen);
    // A path that cannot be a file: the prompt says why.
    app::update(&mut s, Action::PromptEdit(app::Edit::Insert('/')));
    app::update(&mut s, Action::PromptSubmit);
    let screen = render(&s);
    assert!(
        screen.contains("~/logs/build.log/ is a directory; only files can be"),
        "{screen}"
    );
}

#[test]
fn the_send_prompt_names_the_message_it_answers() {
    let mut s = online(100, 30);
    let question = msg(
        1,
        "bob",
        false,
        "can you send the \x1b[2Jlog?",
        MessageState::Read,
    );
    open_with(&mut s, "bob", vec![question], false);
    app::update(&mut s, Action::Focus(Pane::Messages));
    app::update(&mut s, Action::MessageSelect(-1));
    app::update(&mut s, Action::Reply);
    app::update(&mut s, Action::Focus(Pane::Messages));
    app::update(&mut s, Action::AttachFile);
    let screen = render(&s);
    assert!(
        // The quote is bob's text: drawn inert.
        screen.contains("to bob, replying to bob: can you send the ␛[2Jlog?"),
        "{screen}"
    );
}

#[test]
fn the_composer_says_when_enter_sends_a_file() {
    let mut s = online(100, 30);
    open_with(&mut s, "bob", every_state(), false);
    app::update(
        &mut s,
        Action::Edit(app::Edit::InsertStr("/file ~/build.log".into())),
    );
    let screen = render(&s);
    assert!(
        screen.contains(" File for bob · Enter sends it · // for a text "),
        "{screen}"
    );
    // Escaped, it is a text again.
    app::update(&mut s, Action::Edit(app::Edit::Home));
    app::update(&mut s, Action::Edit(app::Edit::Insert('/')));
    let screen = render(&s);
    assert!(screen.contains(" Message bob "), "{screen}");
    assert!(!screen.contains("File for bob"), "{screen}");
}
