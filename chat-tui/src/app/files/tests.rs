//! Saving and opening through `update` and the key map: what `s` and `o`
//! offer and send, the y/N before a risky type, and chatd's answers and
//! events moving a job on. (The backend's reads and writes are tested in
//! src/backend/tests/files.rs, the drawing in tests/ui/files.rs.)

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use ipc_schema::methods::{
    Direction, Event, EventEnvelope, FileState, FileView, MessageChangeKind, MessageChangedEvent,
    MessageListResult, MessageState,
};
use ipc_schema::time::TimeZone;

use super::*;
use crate::app::keys::map_event;
use crate::app::state::Pane;
use crate::app::{Action, update};
use crate::theme::{Theme, ThemeName};

fn id(i: usize) -> String {
    format!("{i:032x}")
}

/// bob's message `i`: a text, or a file when `file` is given.
fn msg(i: usize, file: Option<FileView>) -> MessageView {
    MessageView {
        id: id(i),
        from: "bob".into(),
        to: "alice".into(),
        ts: 1_795_615_500_000 + i as u64 * 60_000,
        direction: Direction::In,
        kind: if file.is_some() { "file" } else { "text" }.into(),
        body: Some(file.as_ref().map_or("hi".into(), |f| f.name.clone())),
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
        file: file.map(Box::new),
    }
}

fn file(name: &str, media_type: &str, state: FileState) -> FileView {
    FileView {
        name: name.into(),
        size: 2_300_000,
        media_type: media_type.into(),
        state,
        done: 0,
        failure: None,
    }
}

/// Online as alice with bob's conversation open on `messages`, the newest
/// selected, and a cache to open files from.
fn conversation(messages: Vec<MessageView>) -> AppState {
    let mut s = AppState::new("x", Theme::named(ThemeName::None), TimeZone::Fixed(0));
    update(&mut s, Action::Resize(80, 24));
    update(&mut s, Action::DaemonOnline);
    s.status.user = Some("alice".into());
    s.files.cache = Some("/cache/chat/open".into());
    s.files.opener = "/bin/opener".into();
    s.open = Some(crate::app::OpenConversation::new("bob"));
    update(
        &mut s,
        Action::Messages {
            peer: "bob".into(),
            page: MessageListResult {
                messages,
                has_more: false,
            },
            older: false,
        },
    );
    update(&mut s, Action::Focus(Pane::Messages));
    update(&mut s, Action::MessageSelect(-1));
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

/// chatd's `message.changed` for `m`'s file.
fn file_changed(m: MessageView) -> Action {
    Action::Event(EventEnvelope {
        seq: 9,
        ts: 0,
        event: Event::MessageChanged(MessageChangedEvent {
            change: MessageChangeKind::File,
            by: "bob".into(),
            peer: "bob".into(),
            message: Box::new(m),
        }),
    })
}

fn prompt_text(s: &AppState) -> &str {
    match &s.overlay {
        Some(Overlay::Message(MessagePrompt::SaveFile { input, .. })) => &input.text,
        other => panic!("no save prompt: {other:?}"),
    }
}

fn written(path: &str, opened: bool) -> Result<Written, String> {
    Ok(Written {
        path: path.into(),
        opened,
    })
}

#[test]
fn s_and_o_are_offered_on_a_file_and_only_there() {
    let mut s = conversation(vec![
        msg(1, None),
        msg(2, Some(file("build.log", "text/plain", FileState::Waiting))),
    ]);
    assert_eq!(key(&s, KeyCode::Char('s')), Some(Action::SaveFile));
    assert_eq!(key(&s, KeyCode::Char('o')), Some(Action::OpenFile));
    let hint = crate::app::message_changes::hints(&s);
    assert_eq!(hint, [("s".to_owned(), "save"), ("o".to_owned(), "open")]);
    // The text before it: reply and react, no file keys; s says why not.
    update(&mut s, Action::MessageSelect(-1));
    let hint = crate::app::message_changes::hints(&s);
    assert!(
        hint.iter()
            .all(|(_, what)| !["save", "open"].contains(what))
    );
    assert!(press(&mut s, KeyCode::Char('s')).is_empty());
    assert_eq!(s.overlay, None);
    assert_eq!(
        s.notice.as_deref(),
        Some("only files can be saved or opened")
    );
}

#[test]
fn s_asks_where_with_the_shown_name_and_a_waiting_file_is_fetched_then_written() {
    let hostile = "../../.config/\x1b[2Jrun\u{202e}gol.sh";
    let waiting = msg(1, Some(file(hostile, "text/plain", FileState::Waiting)));
    let mut s = conversation(vec![waiting.clone()]);
    assert!(press(&mut s, KeyCode::Char('s')).is_empty());
    // Never the peer's path, nor its controls.
    assert_eq!(prompt_text(&s), "~/Downloads/[2Jrungol.sh");
    // Esc changes nothing; the prompt again, retyped, Enter.
    assert!(press(&mut s, KeyCode::Esc).is_empty());
    assert_eq!(s.overlay, None);
    press(&mut s, KeyCode::Char('s'));
    update(&mut s, Action::PromptEdit(Edit::DeleteToLineStart));
    update(
        &mut s,
        Action::PromptEdit(Edit::InsertStr("/tmp/out/\nrun.log".into())),
    );
    assert_eq!(prompt_text(&s), "/tmp/out/run.log");
    let fx = press(&mut s, KeyCode::Enter);
    assert_eq!(
        fx,
        [Effect::DownloadFile {
            job: 1,
            peer: "bob".into(),
            id: id(1),
        }]
    );
    assert_eq!(s.overlay, None);
    assert_eq!(s.notice.as_deref(), Some("fetching [2Jrungol.sh…"));
    // chatd says it is on its way: nothing to do until it is here.
    let on_its_way = Action::FileFetched {
        job: 1,
        result: Ok(FileState::Downloading),
    };
    assert!(update(&mut s, on_its_way).is_empty());
    let mut coming = waiting.clone();
    coming.file.as_mut().unwrap().state = FileState::Downloading;
    coming.file.as_mut().unwrap().done = 1_000_000;
    assert!(update(&mut s, file_changed(coming)).is_empty());
    // The event that makes it ready: read and written now, once.
    let mut ready = waiting.clone();
    ready.file.as_mut().unwrap().state = FileState::Ready;
    let fx = update(&mut s, file_changed(ready.clone()));
    let write = Effect::WriteFile(FileWrite {
        job: 1,
        peer: "bob".into(),
        key: MessageKey::of(&waiting),
        name: "[2Jrungol.sh".into(),
        to: WriteTo::Path("/tmp/out/run.log".into()),
    });
    assert_eq!(fx, [write]);
    assert!(update(&mut s, file_changed(ready)).is_empty());
    // The message shows it ready.
    let shown = &s.open.as_ref().unwrap().messages[0];
    assert_eq!(shown.file.as_ref().unwrap().state, FileState::Ready);
    update(
        &mut s,
        Action::FileWritten {
            job: 1,
            result: written("/tmp/out/run.log", false),
        },
    );
    assert_eq!(s.notice.as_deref(), Some("saved /tmp/out/run.log"));
    assert!(s.files.jobs.is_empty());
}

#[test]
fn a_file_here_is_written_at_once_and_a_failed_one_says_why() {
    let mut s = conversation(vec![
        msg(1, Some(file("a.txt", "text/plain", FileState::Ready))),
        msg(2, Some(file("b.txt", "text/plain", FileState::Waiting))),
    ]);
    // The newest, b.txt, waits: fetched; then a.txt, here: written at once.
    press(&mut s, KeyCode::Char('s'));
    assert!(matches!(
        press(&mut s, KeyCode::Enter)[..],
        [Effect::DownloadFile { job: 1, .. }]
    ));
    update(&mut s, Action::MessageSelect(-1));
    press(&mut s, KeyCode::Char('s'));
    assert_eq!(prompt_text(&s), "~/Downloads/a.txt");
    assert!(matches!(
        &press(&mut s, KeyCode::Enter)[..],
        [Effect::WriteFile(FileWrite { job: 2, name, .. })] if name == "a.txt"
    ));
    // b.txt fails to come down: the job ends with chatd's reason.
    let mut failed = msg(2, Some(file("b.txt", "text/plain", FileState::Failed)));
    failed.file.as_mut().unwrap().failure = Some("bad_digest".into());
    assert!(update(&mut s, file_changed(failed)).is_empty());
    assert_eq!(s.notice.as_deref(), Some("b.txt not saved: bad_digest"));
    // a.txt could not be written.
    update(
        &mut s,
        Action::FileWritten {
            job: 2,
            result: Err("/x/a.txt exists".into()),
        },
    );
    assert_eq!(
        s.notice.as_deref(),
        Some("a.txt not saved: /x/a.txt exists")
    );
    assert!(s.files.jobs.is_empty());
    // A refused file.download ends its job too.
    update(&mut s, Action::MessageSelect(1));
    press(&mut s, KeyCode::Char('s'));
    assert!(matches!(
        press(&mut s, KeyCode::Enter)[..],
        [Effect::DownloadFile { job: 3, .. }]
    ));
    update(
        &mut s,
        Action::FileFetched {
            job: 3,
            result: Err("unknown message".into()),
        },
    );
    assert_eq!(
        s.notice.as_deref(),
        Some("b.txt not saved: unknown message")
    );
}

#[test]
fn o_on_a_risky_type_asks_and_anything_but_y_does_nothing() {
    let script = msg(1, Some(file("run.sh", "text/plain", FileState::Ready)));
    let mut s = conversation(vec![script.clone()]);
    for no in [
        KeyCode::Char('n'),
        KeyCode::Esc,
        KeyCode::Enter,
        KeyCode::Char('x'),
    ] {
        assert!(press(&mut s, KeyCode::Char('o')).is_empty());
        assert_eq!(
            s.overlay,
            Some(Overlay::Message(MessagePrompt::OpenRisky {
                key: MessageKey::of(&script),
                name: "run.sh".into(),
                media_type: "text/plain".into(),
            }))
        );
        assert!(press(&mut s, no).is_empty(), "{no:?}");
        assert_eq!(s.overlay, None, "{no:?}");
        assert!(s.files.jobs.is_empty());
    }
    press(&mut s, KeyCode::Char('o'));
    let fx = press(&mut s, KeyCode::Char('y'));
    assert_eq!(
        fx,
        [Effect::WriteFile(FileWrite {
            job: 1,
            peer: "bob".into(),
            key: MessageKey::of(&script),
            name: "run.sh".into(),
            to: WriteTo::Open {
                cache: "/cache/chat/open".into(),
                opener: "/bin/opener".into(),
            },
        })]
    );
    update(
        &mut s,
        Action::FileWritten {
            job: 1,
            result: written("/cache/chat/open/bob-1/run.sh", true),
        },
    );
    assert_eq!(s.notice.as_deref(), Some("opened run.sh"));
}

#[test]
fn o_on_a_picture_opens_without_asking_once_it_is_here() {
    let shot = msg(1, Some(file("shot.png", "image/png", FileState::Waiting)));
    let mut s = conversation(vec![shot.clone()]);
    let fx = press(&mut s, KeyCode::Char('o'));
    assert_eq!(s.overlay, None);
    assert!(matches!(fx[..], [Effect::DownloadFile { job: 1, .. }]));
    let mut ready = shot;
    ready.file.as_mut().unwrap().state = FileState::Ready;
    let fx = update(&mut s, file_changed(ready));
    assert!(matches!(
        &fx[..],
        [Effect::WriteFile(FileWrite {
            to: WriteTo::Open { .. },
            ..
        })]
    ));
    // A picture that says it is a script is a script.
    let mut s = conversation(vec![msg(
        1,
        Some(file("shot.png", "application/x-sh", FileState::Ready)),
    )]);
    press(&mut s, KeyCode::Char('o'));
    assert!(matches!(
        s.overlay,
        Some(Overlay::Message(MessagePrompt::OpenRisky { .. }))
    ));
}

#[test]
fn nothing_is_opened_without_a_cache_nor_saved_while_offline() {
    let mut s = conversation(vec![msg(
        1,
        Some(file("shot.png", "image/png", FileState::Ready)),
    )]);
    s.files.cache = None;
    assert!(press(&mut s, KeyCode::Char('o')).is_empty());
    assert!(s.notice.as_deref().unwrap().contains("no cache directory"));
    update(&mut s, Action::DaemonOffline("gone".into()));
    press(&mut s, KeyCode::Char('s'));
    assert!(press(&mut s, KeyCode::Enter).is_empty());
    assert_eq!(
        s.notice.as_deref(),
        Some("daemon offline — shot.png not saved")
    );
    assert!(s.files.jobs.is_empty());
}

#[test]
fn a_deleted_file_or_one_that_is_deleted_while_waited_for_ends_there() {
    let waiting = msg(1, Some(file("a.txt", "text/plain", FileState::Waiting)));
    let mut s = conversation(vec![waiting.clone()]);
    press(&mut s, KeyCode::Char('s'));
    press(&mut s, KeyCode::Enter);
    let mut gone = waiting;
    gone.deleted = true;
    gone.body = None;
    assert!(update(&mut s, file_changed(gone)).is_empty());
    assert_eq!(
        s.notice.as_deref(),
        Some("a.txt not saved: the message was deleted")
    );
    assert!(press(&mut s, KeyCode::Char('s')).is_empty());
    assert_eq!(s.notice.as_deref(), Some("that message was deleted"));
    assert!(crate::app::message_changes::hints(&s).is_empty());
}

#[test]
fn a_reconnect_asks_again_for_the_files_still_waited_for() {
    let mut s = conversation(vec![
        msg(1, Some(file("a.txt", "text/plain", FileState::Ready))),
        msg(2, Some(file("b.txt", "text/plain", FileState::Waiting))),
    ]);
    press(&mut s, KeyCode::Char('s'));
    press(&mut s, KeyCode::Enter);
    update(&mut s, Action::MessageSelect(-1));
    press(&mut s, KeyCode::Char('o'));
    update(&mut s, Action::DaemonOffline("gone".into()));
    let again = Effect::DownloadFile {
        job: 1,
        peer: "bob".into(),
        id: id(2),
    };
    // The one being written (a.txt) is the backend's; b.txt is asked for again.
    assert!(update(&mut s, Action::DaemonResumed).contains(&again));
    update(&mut s, Action::DaemonOffline("gone".into()));
    let fx = update(&mut s, Action::DaemonOnline);
    assert_eq!(
        fx.iter()
            .filter(|e| matches!(e, Effect::DownloadFile { .. }))
            .collect::<Vec<_>>(),
        [&again]
    );
}

#[test]
fn ones_own_file_still_going_up_is_asked_for_once_it_is_sent() {
    let mut mine = msg(1, Some(file("a.txt", "text/plain", FileState::Uploading)));
    mine.direction = Direction::Out;
    mine.from = "alice".into();
    let mut s = conversation(vec![mine.clone()]);
    press(&mut s, KeyCode::Char('s'));
    let asked = press(&mut s, KeyCode::Enter);
    assert!(matches!(asked[..], [Effect::DownloadFile { job: 1, .. }]));
    // chatd cannot fetch what is still going up: the job waits.
    let uploading = Action::FileFetched {
        job: 1,
        result: Ok(FileState::Uploading),
    };
    assert!(update(&mut s, uploading).is_empty());
    mine.file.as_mut().unwrap().state = FileState::Uploaded;
    assert_eq!(update(&mut s, file_changed(mine.clone())), asked);
    mine.file.as_mut().unwrap().state = FileState::Ready;
    assert!(matches!(
        update(&mut s, file_changed(mine))[..],
        [Effect::WriteFile(FileWrite { job: 1, .. })]
    ));
}
