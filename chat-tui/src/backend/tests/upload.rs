//! Sending a file against a chatd: a path that is no file is refused
//! before chatd hears of it; a file is streamed in order, a piece at a
//! time as chatd asks, then finished; chatd's refusal is the notice, and a
//! failure part way cancels the upload. Against the in-memory fake and,
//! through the worker and the real client, a scripted chatd on a socket
//! (`ipc_schema::fake`).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ipc_schema::methods::{
    Event, EventEnvelope, FileState, FileView, MessageListResult, MessageReceivedEvent,
    MessageState,
};
use ipc_schema::time::TimeZone;
use serde_json::json;
use tokio::sync::mpsc;

use super::{FakeDaemon, execute, msg, run, status};
use crate::app::{self, Action, AppState, Edit, Effect, OpenConversation, Pane};
use crate::backend::files::expand_home;
use crate::backend::{Connector, IpcConnector, base64};
use crate::theme::{Theme, ThemeName};

const MIB: usize = 1 << 20;

/// `len` bytes with every value in them.
fn bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// chatd as alice, taking pieces of 64 bytes.
fn fake() -> FakeDaemon {
    let fake = FakeDaemon::default();
    {
        let mut s = fake.0.lock().unwrap();
        s.status = Some(status());
        s.piece = 64;
    }
    fake
}

/// Online with bob's conversation open (one message of his), the message
/// pane focused.
fn app() -> AppState {
    let mut s = AppState::new("x", Theme::named(ThemeName::None), TimeZone::Fixed(0));
    app::update(&mut s, Action::Resize(80, 24));
    app::update(&mut s, Action::DaemonOnline);
    s.open = Some(OpenConversation::new("bob"));
    app::update(
        &mut s,
        Action::Messages {
            peer: "bob".into(),
            page: MessageListResult {
                messages: vec![msg(1, "bob", false, "the log?", MessageState::Read)],
                has_more: false,
            },
            older: false,
        },
    );
    app::update(&mut s, Action::Focus(Pane::Messages));
    s
}

/// `a`, `path` typed, Enter: the effects.
fn attach(s: &mut AppState, path: &str) -> Vec<Effect> {
    app::update(s, Action::AttachFile);
    app::update(s, Action::PromptEdit(Edit::InsertStr(path.into())));
    app::update(s, Action::PromptSubmit)
}

/// Runs `fx` against `fake` and feeds `update` the answers, as the worker
/// would.
async fn run_effects(fake: &mut FakeDaemon, s: &mut AppState, fx: Vec<Effect>) {
    let mut queue = std::collections::VecDeque::from(fx);
    let (tx, mut rx) = mpsc::unbounded_channel();
    while let Some(effect) = queue.pop_front() {
        execute(fake, effect, &tx).await.unwrap();
        while let Ok(action) = rx.try_recv() {
            queue.extend(app::update(s, action));
        }
    }
}

fn calls(fake: &FakeDaemon) -> Vec<String> {
    fake.0.lock().unwrap().calls.clone()
}

#[tokio::test]
async fn a_missing_path_a_directory_or_a_pipe_is_a_notice_and_nothing_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let mut fake = fake();
    let mut s = app();
    let missing = dir.path().join("nope.log").display().to_string();
    let fx = attach(&mut s, &missing);
    assert_eq!(s.notice.as_deref(), Some("sending nope.log…"));
    run_effects(&mut fake, &mut s, fx).await;
    assert_eq!(
        s.notice,
        Some(format!("nope.log not sent to bob: no such file: {missing}"))
    );
    // A directory, named without a trailing slash: only the disk tells.
    let sub = dir.path().join("logs");
    std::fs::create_dir(&sub).unwrap();
    let typed = sub.display().to_string();
    let fx = attach(&mut s, &typed);
    run_effects(&mut fake, &mut s, fx).await;
    assert_eq!(
        s.notice,
        Some(format!(
            "logs not sent to bob: {typed} is a directory; only files can be sent"
        ))
    );
    // A named pipe nobody writes to: refused at once, never waited on.
    let pipe = dir.path().join("pipe");
    let c_path = std::ffi::CString::new(pipe.display().to_string()).unwrap();
    // SAFETY: a NUL-terminated path that lives through the call.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let typed = pipe.display().to_string();
    let fx = attach(&mut s, &typed);
    tokio::time::timeout(Duration::from_secs(5), run_effects(&mut fake, &mut s, fx))
        .await
        .expect("a pipe is not waited on");
    assert_eq!(
        s.notice,
        Some(format!(
            "pipe not sent to bob: {typed} is not a regular file"
        ))
    );
    assert!(calls(&fake).is_empty(), "{:?}", calls(&fake));
}

#[tokio::test]
async fn a_file_goes_in_order_a_piece_at_a_time_then_is_finished() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("build.log");
    std::fs::write(&path, bytes(300)).unwrap();
    let mut fake = fake();
    let mut s = app();
    // Replying to bob's message.
    app::update(&mut s, Action::MessageSelect(-1));
    app::update(&mut s, Action::Reply);
    app::update(&mut s, Action::Focus(Pane::Messages));
    let fx = attach(&mut s, &path.display().to_string());
    run_effects(&mut fake, &mut s, fx).await;
    // Sent: the notice is done, the message comes by chatd's events.
    assert_eq!(s.notice, None);
    let mut want = vec![format!(
        "file.upload_start bob build.log 300 text/plain {:032x}",
        1
    )];
    want.extend(["64", "64", "64", "64", "44"].map(|n| format!("file.upload_chunk up1 {n}")));
    want.push("file.upload_finish up1".into());
    assert_eq!(calls(&fake), want);
    let sent = fake.0.lock().unwrap().sent_files.clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].bytes, bytes(300));
    // An empty file is one empty piece.
    let empty = dir.path().join("empty.bin");
    std::fs::write(&empty, b"").unwrap();
    fake.0.lock().unwrap().calls.clear();
    let fx = attach(&mut s, &empty.display().to_string());
    run_effects(&mut fake, &mut s, fx).await;
    assert_eq!(
        calls(&fake),
        [
            "file.upload_start bob empty.bin 0 application/octet-stream -",
            "file.upload_chunk up1 0",
            "file.upload_finish up1",
        ]
    );
    assert_eq!(fake.0.lock().unwrap().sent_files[1].bytes, b"");
}

#[tokio::test]
async fn a_refused_start_sends_no_piece_and_a_failure_part_way_cancels() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("build.log");
    std::fs::write(&path, bytes(300)).unwrap();
    let typed = path.display().to_string();
    let mut fake = fake();
    fake.0.lock().unwrap().upload_refusal = Some("bob is frozen: choose a key first".into());
    let mut s = app();
    let fx = attach(&mut s, &typed);
    run_effects(&mut fake, &mut s, fx).await;
    assert_eq!(
        s.notice.as_deref(),
        Some("build.log not sent to bob: bob is frozen: choose a key first")
    );
    assert_eq!(
        calls(&fake),
        ["file.upload_start bob build.log 300 text/plain -"]
    );
    // chatd fails on the second piece: the upload is cancelled.
    {
        let mut state = fake.0.lock().unwrap();
        state.upload_refusal = None;
        state.chunk_fails_at = Some(2);
        state.calls.clear();
    }
    let fx = attach(&mut s, &typed);
    run_effects(&mut fake, &mut s, fx).await;
    assert_eq!(
        s.notice.as_deref(),
        Some("build.log not sent to bob: spool: no space left on device")
    );
    assert_eq!(
        calls(&fake),
        [
            "file.upload_start bob build.log 300 text/plain -",
            "file.upload_chunk up1 64",
            "file.upload_chunk up1 64",
            "file.upload_cancel up1",
        ]
    );
    let state = fake.0.lock().unwrap();
    assert!(state.uploads.is_empty() && state.sent_files.is_empty());
}

#[test]
fn a_leading_tilde_is_the_home_directory() {
    let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) else {
        return;
    };
    let home = Path::new(&home);
    assert_eq!(expand_home("~/a/b.log").unwrap(), home.join("a/b.log"));
    assert_eq!(expand_home("~").unwrap(), home);
    assert_eq!(expand_home("~bob/x").unwrap(), Path::new("~bob/x"));
    assert_eq!(expand_home("a/~/x").unwrap(), Path::new("a/~/x"));
}

/// Runs the worker against `connector` the way main does, opens bob's
/// conversation, sends the file at `path` with `a` (then the effects
/// `then`), and returns the state and what the worker said of the file once
/// it did, and, when `shown`, once its message came by its event too.
async fn send_through_the_worker<C: Connector>(
    connector: C,
    path: &Path,
    then: Vec<Effect>,
    shown: bool,
) -> (AppState, Result<(), String>) {
    let (effect_tx, effect_rx) = mpsc::unbounded_channel();
    let (action_tx, mut action_rx) = mpsc::unbounded_channel();
    let worker = tokio::spawn(run(
        connector,
        effect_rx,
        action_tx,
        Duration::from_millis(20),
    ));
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(20), action_rx.recv())
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
                messages: Vec::new(),
                has_more: false,
            },
            older: false,
        },
    );
    app::update(&mut s, Action::Focus(Pane::Messages));
    for e in attach(&mut s, &path.display().to_string())
        .into_iter()
        .chain(then)
    {
        effect_tx.send(e).unwrap();
    }
    let mut sent = None;
    while sent.is_none() || shown && s.open.as_ref().unwrap().messages.is_empty() {
        let action = next().await;
        if let Action::FileSent { result, .. } = &action {
            sent = Some(result.clone());
        }
        for e in app::update(&mut s, action) {
            effect_tx.send(e).unwrap();
        }
    }
    worker.abort();
    (s, sent.unwrap())
}

/// A scripted chatd that takes uploads as chatd does (pieces of 1 MiB,
/// checked) and, when one is finished, sends the event of its message;
/// `refusal` refuses `file.upload_start` instead.
fn scripted_chatd(refusal: Option<(i64, &'static str)>) -> ipc_schema::fake::FakeDaemon {
    use ipc_schema::fake::{FakeDaemon as Chatd, error, hello, ok};
    let upload = Arc::new(Mutex::new((0u64, 0u64)));
    Chatd::start(move |req, subscribers| {
        let params = &req["params"];
        let mut upload = upload.lock().unwrap();
        match req["method"].as_str().unwrap_or_default() {
            "hello" => vec![hello(req, Some("alice"))],
            "subscribe" => vec![ok(req, json!({"subscribed": true, "last_seq": 0}))],
            "file.upload_start" => match refusal {
                Some((code, message)) => vec![error(req, code, message, None)],
                None => {
                    *upload = (params["size"].as_u64().unwrap(), 0);
                    vec![ok(req, json!({"upload": "u1", "piece": MIB}))]
                }
            },
            "file.upload_chunk" => {
                let data = base64::decode(params["data"].as_str().unwrap()).unwrap();
                let (size, received) = &mut *upload;
                let want = (*size - *received).min(MIB as u64);
                if data.len() as u64 != want {
                    return vec![error(req, -32602, "wrong piece", None)];
                }
                *received += want;
                vec![ok(req, json!({"received": *received}))]
            }
            "file.upload_finish" => {
                let mut m = msg(7, "bob", true, "build.log", MessageState::Queued);
                m.kind = "file".into();
                m.file = Some(Box::new(FileView {
                    name: "build.log".into(),
                    size: upload.0,
                    media_type: "text/plain".into(),
                    state: FileState::Uploading,
                    done: 0,
                    failure: None,
                }));
                let event = EventEnvelope {
                    seq: 1,
                    ts: 0,
                    event: Event::MessageReceived(MessageReceivedEvent { message: m }),
                };
                subscribers.broadcast(&serde_json::to_value(&event).unwrap());
                vec![ok(req, json!({"id": format!("{:032x}", 7), "ts": 0}))]
            }
            _ => vec![error(req, -32601, "not in this script", None)],
        }
    })
}

#[tokio::test]
async fn the_real_client_streams_2_5_mib_as_three_pieces_through_a_scripted_chatd() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("build.log");
    let data = bytes(2 * MIB + MIB / 2);
    std::fs::write(&path, &data).unwrap();
    let chatd = scripted_chatd(None);
    let connector = IpcConnector {
        path: chatd.socket().to_owned(),
    };
    let (s, sent) = send_through_the_worker(connector, &path, Vec::new(), true).await;
    assert_eq!(sent, Ok(()));
    assert_eq!(
        chatd.params_of("file.upload_start"),
        [json!({"to": "bob", "name": "build.log", "size": data.len(),
                "media_type": "text/plain"})]
    );
    let pieces: Vec<Vec<u8>> = chatd
        .params_of("file.upload_chunk")
        .iter()
        .map(|p| {
            assert_eq!(p["upload"], "u1");
            base64::decode(p["data"].as_str().unwrap()).unwrap()
        })
        .collect();
    let sizes: Vec<usize> = pieces.iter().map(Vec::len).collect();
    assert_eq!(sizes, [MIB, MIB, MIB / 2]);
    assert_eq!(pieces.concat(), data);
    assert_eq!(
        chatd.params_of("file.upload_finish"),
        [json!({"upload": "u1"})]
    );
    assert!(chatd.params_of("file.upload_cancel").is_empty());
    // The message shows, going up.
    let shown = &s.open.as_ref().unwrap().messages[0];
    assert_eq!(shown.file.as_ref().unwrap().state, FileState::Uploading);
}

#[tokio::test]
async fn a_refusal_through_a_scripted_chatd_is_the_notice_and_no_piece_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("build.log");
    std::fs::write(&path, bytes(3 * MIB)).unwrap();
    let chatd = scripted_chatd(Some((-32010, "bob is not a contact")));
    let connector = IpcConnector {
        path: chatd.socket().to_owned(),
    };
    let (s, sent) = send_through_the_worker(connector, &path, Vec::new(), false).await;
    assert_eq!(sent, Err("bob is not a contact".into()));
    assert_eq!(
        s.notice.as_deref(),
        Some("build.log not sent to bob: bob is not a contact")
    );
    assert_eq!(chatd.params_of("file.upload_start").len(), 1);
    assert!(chatd.params_of("file.upload_chunk").is_empty());
    assert!(chatd.params_of("file.upload_finish").is_empty());
}

#[tokio::test]
async fn an_upload_has_a_connection_of_its_own_and_holds_nothing_else_up() {
    use ipc_schema::fake::{FakeDaemon as Chatd, error, hello, ok};
    use std::sync::Condvar;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("build.log");
    std::fs::write(&path, bytes(100)).unwrap();
    // The piece is taken only once the text went out: were both on one
    // connection, the text would wait behind the piece, and the piece
    // would wait in vain.
    let texted = Arc::new((Mutex::new(false), Condvar::new()));
    let waited_in_vain = Arc::new(Mutex::new(false));
    let (seen, in_vain) = (texted.clone(), waited_in_vain.clone());
    let chatd = Chatd::start(
        move |req, _| match req["method"].as_str().unwrap_or_default() {
            "hello" => vec![hello(req, Some("alice"))],
            "subscribe" => vec![ok(req, json!({"subscribed": true, "last_seq": 0}))],
            "message.send" => {
                *seen.0.lock().unwrap() = true;
                seen.1.notify_all();
                vec![ok(req, json!({"id": format!("{:032x}", 8), "ts": 0}))]
            }
            "file.upload_start" => vec![ok(req, json!({"upload": "u1", "piece": MIB}))],
            "file.upload_chunk" => {
                let (done, timed_out) = seen
                    .1
                    .wait_timeout_while(seen.0.lock().unwrap(), Duration::from_secs(5), |t| !*t)
                    .unwrap();
                drop(done);
                *in_vain.lock().unwrap() = timed_out.timed_out();
                vec![ok(req, json!({"received": 100}))]
            }
            "file.upload_finish" => vec![ok(req, json!({"id": format!("{:032x}", 7), "ts": 0}))],
            _ => vec![error(req, -32601, "not in this script", None)],
        },
    );
    let connector = IpcConnector {
        path: chatd.socket().to_owned(),
    };
    let text = Effect::Send {
        to: "bob".into(),
        body: "here it comes".into(),
        reply_to: None,
    };
    let (_, sent) = send_through_the_worker(connector, &path, vec![text], false).await;
    assert_eq!(sent, Ok(()));
    assert!(
        !*waited_in_vain.lock().unwrap(),
        "the text waited behind the file"
    );
    assert_eq!(chatd.params_of("message.send").len(), 1);
}
