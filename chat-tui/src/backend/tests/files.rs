//! Saving and opening against a chatd: the calls a save makes
//! (`file.download`, then `file.read` a piece at a time), the bytes it
//! writes, what a refused or failed save leaves (nothing), the private
//! cache and the opener; the worker writing in a task of its own, against
//! the in-memory fake and, through the real client, a scripted chatd on a
//! socket (`ipc_schema::fake`).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipc_schema::methods::{
    Event, EventEnvelope, FileState, FileView, MessageChangeKind, MessageChangedEvent,
    MessageListResult, MessageState, MessageView,
};
use ipc_schema::time::TimeZone;
use serde_json::json;
use tokio::sync::mpsc;

use super::{FakeDaemon, answer, execute, msg, run, status};
use crate::app::files::{FileWrite, WriteTo};
use crate::app::{self, Action, AppState, Edit, Effect, MessageKey, OpenConversation, Pane};
use crate::backend::base64;
use crate::backend::{Connector, IpcConnector};
use crate::theme::{Theme, ThemeName};

fn id(i: usize) -> String {
    format!("{i:032x}")
}

/// bob's file message `i`.
fn file_msg(i: usize, name: &str, media_type: &str, state: FileState, size: u64) -> MessageView {
    let mut m = msg(i, "bob", false, name, MessageState::Read);
    m.kind = "file".into();
    m.file = Some(Box::new(FileView {
        name: name.into(),
        size,
        media_type: media_type.into(),
        state,
        done: 0,
        failure: None,
    }));
    m
}

/// 300 bytes with every value in them.
fn bytes() -> Vec<u8> {
    (0..300u32).map(|i| (i * 7 % 256) as u8).collect()
}

/// chatd as alice with `messages` from bob, `bytes` the file of message 1
/// (fetchable), read back in pieces of 64 bytes.
fn fake(messages: Vec<MessageView>, bytes: Option<Vec<u8>>) -> FakeDaemon {
    let fake = FakeDaemon::default();
    {
        let mut s = fake.0.lock().unwrap();
        s.status = Some(status());
        s.history.insert("bob".into(), messages);
        if let Some(bytes) = bytes {
            s.files.insert(id(1), bytes);
        }
        s.piece = 64;
    }
    fake
}

/// Online with bob's conversation open on `messages`, the message pane
/// focused and the newest selected; files open from `cache` with `opener`.
fn app_with(messages: Vec<MessageView>, cache: &Path, opener: &Path) -> AppState {
    let mut s = AppState::new("x", Theme::named(ThemeName::None), TimeZone::Fixed(0));
    app::update(&mut s, Action::Resize(80, 24));
    app::update(&mut s, Action::DaemonOnline);
    s.files.cache = Some(cache.to_owned());
    s.files.opener = opener.as_os_str().to_owned();
    s.open = Some(OpenConversation::new("bob"));
    app::update(
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
    app::update(&mut s, Action::Focus(Pane::Messages));
    app::update(&mut s, Action::MessageSelect(-1));
    s
}

/// `s`, the path typed over the offered one, Enter: the effects.
fn save_as(s: &mut AppState, path: &str) -> Vec<Effect> {
    app::update(s, Action::SaveFile);
    app::update(s, Action::PromptEdit(Edit::DeleteToLineStart));
    app::update(s, Action::PromptEdit(Edit::InsertStr(path.into())));
    app::update(s, Action::PromptSubmit)
}

/// Runs `fx` and every effect their answers lead to, feeding `update` the
/// answers and then the fake's file events (there is no subscription
/// here), in the order the worker would.
async fn run_files(fake: &mut FakeDaemon, s: &mut AppState, fx: Vec<Effect>) {
    let mut queue = std::collections::VecDeque::from(fx);
    let (tx, mut rx) = mpsc::unbounded_channel();
    while let Some(effect) = queue.pop_front() {
        execute(fake, effect, &tx).await.unwrap();
        while let Ok(action) = rx.try_recv() {
            queue.extend(app::update(s, action));
        }
        let events = std::mem::take(&mut fake.0.lock().unwrap().file_events);
        for event in events {
            queue.extend(app::update(s, Action::Event(event)));
        }
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn s_fetches_then_reads_every_piece_and_writes_the_exact_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let waiting = file_msg(1, "build.log", "text/plain", FileState::Waiting, 300);
    let mut fake = fake(vec![waiting.clone()], Some(bytes()));
    let mut s = app_with(vec![waiting], dir.path(), Path::new("/nowhere"));
    // A directory: the file goes in it under its shown name.
    let fx = save_as(&mut s, &dir.path().display().to_string());
    run_files(&mut fake, &mut s, fx).await;
    let saved = dir.path().join("build.log");
    assert_eq!(std::fs::read(&saved).unwrap(), bytes());
    assert_eq!(mode(&saved), 0o600);
    assert!(!dir.path().join("build.log.part").exists());
    assert_eq!(s.notice, Some(format!("saved {}", saved.display())));
    let mut calls = vec![format!("file.download bob {}", id(1))];
    calls.extend(
        (0..300)
            .step_by(64)
            .map(|at| format!("file.read bob {} {at}", id(1))),
    );
    assert_eq!(fake.0.lock().unwrap().calls, calls);
    // The message shows the file here.
    let shown = &s.open.as_ref().unwrap().messages[0];
    assert_eq!(shown.file.as_ref().unwrap().state, FileState::Ready);
    assert!(s.files.jobs.is_empty());
}

#[tokio::test]
async fn a_save_never_replaces_a_file_and_a_failed_one_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ready = file_msg(1, "build.log", "text/plain", FileState::Ready, 300);
    let mut fake = fake(vec![ready.clone()], Some(bytes()));
    let write = |path: &Path| {
        Effect::WriteFile(FileWrite {
            job: 7,
            peer: "bob".into(),
            key: MessageKey::of(&ready),
            name: "build.log".into(),
            to: WriteTo::Path(path.display().to_string()),
        })
    };
    let mine = dir.path().join("mine.log");
    std::fs::write(&mine, "mine").unwrap();
    let Action::FileWritten { job: 7, result } = answer(&mut fake, write(&mine)).await else {
        panic!("no answer");
    };
    assert_eq!(result, Err(format!("{} exists", mine.display())));
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "mine");
    assert!(fake.0.lock().unwrap().calls.is_empty(), "nothing was read");
    // chatd fails half way: neither the file nor its .part is left.
    fake.0.lock().unwrap().read_fails_at = Some(128);
    let out = dir.path().join("out.log");
    let Action::FileWritten { result, .. } = answer(&mut fake, write(&out)).await else {
        panic!("no answer");
    };
    assert!(result.unwrap_err().contains("input/output error"));
    assert!(!out.exists());
    assert!(!dir.path().join("out.log.part").exists());
    assert_eq!(
        fake.0.lock().unwrap().calls,
        [0, 64, 128].map(|at| format!("file.read bob {} {at}", id(1)))
    );
}

#[tokio::test]
async fn a_file_that_fails_to_come_down_writes_nothing_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let waiting = file_msg(1, "build.log", "text/plain", FileState::Waiting, 300);
    // chatd cannot fetch it: the blob is gone.
    let mut fake = fake(vec![waiting.clone()], None);
    let mut s = app_with(vec![waiting], dir.path(), Path::new("/nowhere"));
    let fx = save_as(&mut s, &dir.path().display().to_string());
    run_files(&mut fake, &mut s, fx).await;
    assert_eq!(s.notice.as_deref(), Some("build.log not saved: blob_gone"));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    assert_eq!(
        fake.0.lock().unwrap().calls,
        [format!("file.download bob {}", id(1))]
    );
}

/// An opener that writes the path it was given to `record`.
fn recording_opener(dir: &Path, record: &Path) -> PathBuf {
    let opener = dir.join("opener.sh");
    let script = format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", record.display());
    std::fs::write(&opener, script).unwrap();
    std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();
    opener
}

async fn wait_for(path: &Path) -> String {
    for _ in 0..500 {
        if let Ok(text) = std::fs::read_to_string(path)
            && !text.is_empty()
        {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{} never came", path.display());
}

#[tokio::test]
async fn o_asks_for_a_script_and_opens_a_picture_from_the_private_cache() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("opened");
    let opener = recording_opener(dir.path(), &record);
    let cache = dir.path().join("cache/chat/open");
    let shot = file_msg(1, "shot.png", "image/png", FileState::Waiting, 300);
    let script = file_msg(2, "run.sh", "text/plain", FileState::Ready, 5);
    let mut fake = fake(vec![shot.clone(), script.clone()], Some(bytes()));
    let mut s = app_with(vec![shot, script], &cache, &opener);
    // The script, newest: asked about; no (Esc) does nothing at all.
    assert!(app::update(&mut s, Action::OpenFile).is_empty());
    assert!(crate::app::files::is_open(&s));
    assert!(app::update(&mut s, Action::CloseOverlay).is_empty());
    assert!(!crate::app::files::is_open(&s));
    // The picture: fetched, kept in the cache, opened.
    app::update(&mut s, Action::MessageSelect(-1));
    let fx = app::update(&mut s, Action::OpenFile);
    run_files(&mut fake, &mut s, fx).await;
    let kept = cache.join(format!("bob-{}", id(1))).join("shot.png");
    assert_eq!(wait_for(&record).await, kept.display().to_string());
    assert_eq!(std::fs::read(&kept).unwrap(), bytes());
    assert_eq!(mode(&cache), 0o700);
    assert_eq!(mode(kept.parent().unwrap()), 0o700);
    assert_eq!(mode(&kept), 0o600);
    let names: Vec<_> = std::fs::read_dir(kept.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["shot.png"], "nothing but the file");
    assert_eq!(s.notice.as_deref(), Some("opened shot.png"));
    // Only the picture was asked for and read.
    let calls = fake.0.lock().unwrap().calls.clone();
    assert!(calls.iter().all(|c| c.contains(&id(1))), "{calls:?}");
}

/// Runs the worker against `connector` the way main does, opens bob's
/// conversation on `messages`, saves the newest as `dest`, and returns the
/// state once the worker said how the save went.
async fn save_through_the_worker<C: Connector>(
    connector: C,
    messages: Vec<MessageView>,
    dest: &Path,
) -> AppState {
    let (effect_tx, effect_rx) = mpsc::unbounded_channel();
    let (action_tx, mut action_rx) = mpsc::unbounded_channel();
    let worker = tokio::spawn(run(
        connector,
        effect_rx,
        action_tx,
        Duration::from_millis(20),
    ));
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(5), action_rx.recv())
            .await
            .expect("the worker answers")
            .expect("the worker runs")
    };
    let mut s = AppState::new("x", Theme::named(ThemeName::None), TimeZone::Fixed(0));
    loop {
        let action = next().await;
        let online = action == Action::DaemonOnline;
        for e in app::update(&mut s, action) {
            effect_tx.send(e).unwrap();
        }
        if online {
            break;
        }
    }
    s.open = Some(OpenConversation::new("bob"));
    app::update(
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
    app::update(&mut s, Action::Focus(Pane::Messages));
    app::update(&mut s, Action::MessageSelect(-1));
    for e in save_as(&mut s, &dest.display().to_string()) {
        effect_tx.send(e).unwrap();
    }
    loop {
        let action = next().await;
        let done = matches!(action, Action::FileWritten { .. });
        for e in app::update(&mut s, action) {
            effect_tx.send(e).unwrap();
        }
        if done {
            break;
        }
    }
    worker.abort();
    s
}

#[tokio::test]
async fn the_worker_saves_in_a_task_of_its_own_when_the_event_says_the_file_is_here() {
    let dir = tempfile::tempdir().unwrap();
    let waiting = file_msg(1, "build.log", "text/plain", FileState::Waiting, 300);
    let fake = fake(vec![waiting.clone()], Some(bytes()));
    let dest = dir.path().join("saved.log");
    let s = save_through_the_worker(fake.clone(), vec![waiting], &dest).await;
    assert_eq!(s.notice, Some(format!("saved {}", dest.display())));
    assert_eq!(std::fs::read(&dest).unwrap(), bytes());
    let calls = fake.0.lock().unwrap().calls.clone();
    let files: Vec<_> = calls.iter().filter(|c| c.starts_with("file.")).collect();
    assert_eq!(files[0], &format!("file.download bob {}", id(1)));
    assert_eq!(files.len(), 1 + 300usize.div_ceil(64), "{calls:?}");
}

#[tokio::test]
async fn the_real_client_saves_through_a_scripted_chatd() {
    use ipc_schema::fake::{FakeDaemon as Chatd, error, hello, ok};
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..2500u32).map(|i| (i % 251) as u8).collect();
    let waiting = file_msg(1, "build.log", "text/plain", FileState::Waiting, 2500);
    let mut ready = waiting.clone();
    ready.file.as_mut().unwrap().state = FileState::Ready;
    let served = data.clone();
    let chatd = Chatd::start(move |req, subscribers| {
        let params = &req["params"];
        match req["method"].as_str().unwrap_or_default() {
            "hello" => vec![hello(req, Some("alice"))],
            "subscribe" => vec![ok(req, json!({"subscribed": true, "last_seq": 0}))],
            "file.download" => {
                // It comes down at once: the event may even beat the answer.
                let event = EventEnvelope {
                    seq: 1,
                    ts: 0,
                    event: Event::MessageChanged(MessageChangedEvent {
                        change: MessageChangeKind::File,
                        by: "bob".into(),
                        peer: "bob".into(),
                        message: Box::new(ready.clone()),
                    }),
                };
                subscribers.broadcast(&serde_json::to_value(&event).unwrap());
                vec![ok(
                    req,
                    json!({"id": id(1), "from": "bob", "name": "build.log",
                           "size": 2500, "state": "downloading"}),
                )]
            }
            "file.read" => {
                let at = params["offset"].as_u64().unwrap() as usize;
                let piece = &served[at.min(2500)..(at + 1000).min(2500)];
                vec![ok(
                    req,
                    json!({"data": base64::encode(piece), "size": 2500}),
                )]
            }
            _ => vec![error(req, -32601, "not in this script", None)],
        }
    });
    let dest = dir.path().join("saved.log");
    let connector = IpcConnector {
        path: chatd.socket().to_owned(),
    };
    let s = save_through_the_worker(connector, vec![waiting], &dest).await;
    assert_eq!(s.notice, Some(format!("saved {}", dest.display())));
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    assert_eq!(
        chatd.params_of("file.download"),
        [json!({"peer": "bob", "id": id(1)})]
    );
    assert_eq!(
        chatd.params_of("file.read"),
        [0, 1000, 2000].map(|at| json!({"peer": "bob", "id": id(1), "offset": at}))
    );
}
