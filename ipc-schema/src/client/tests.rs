//! The client against the scripted fake chatd of crate::fake.

use std::path::PathBuf;

use super::*;
use crate::fake::{FakeDaemon, ok};
use crate::jsonrpc::code;
use crate::methods::{Event, MessageSendParams, MessageState, MessageStateEvent, StatusParams};
use serde_json::{Value, json};

/// What the fake daemon answers to one request: the frames to write back;
/// a JSON `null` among them makes it hang up instead.
type Script = fn(&Value) -> Vec<Value>;

/// The shared fake chatd (crate::fake) answering each request with `script`.
fn fake_daemon(script: Script) -> (FakeDaemon, PathBuf) {
    let fake = FakeDaemon::start(move |request, _| script(request));
    let path = fake.socket().to_owned();
    (fake, path)
}

fn state_event(seq: u64, state: &str) -> Value {
    json!({"jsonrpc": "2.0", "method": "message.state", "params": {
        "seq": seq, "ts": 1764000000000u64 + seq, "id": "ab", "peer": "bob",
        "state": state, "failure": null}})
}

/// A well-behaved daemon: hello, status, send to bob only, subscribe with two events.
fn good(request: &Value) -> Vec<Value> {
    let params = &request["params"];
    match request["method"].as_str().unwrap() {
        "hello" => {
            assert_eq!(params["protocol"], json!(PROTOCOL_VERSION));
            assert_eq!(params["client"], json!("test/1"));
            vec![ok(
                request,
                json!({"protocol": 1, "version": "9.9.9", "user": "alice"}),
            )]
        }
        "status" => vec![
            // A notification the client must skip while waiting for its answer.
            json!({"jsonrpc": "2.0", "method": "typing.started", "params": {}}),
            ok(
                request,
                json!({"version": "9.9.9", "user": "alice", "fingerprint": null,
                "relay_url": null, "connection": "logged_out", "unread": 0,
                "outbox_pending": 0, "dropped": {"malformed": 0, "unknown_sender": 0,
                "bad_signature": 0, "undecryptable": 0, "replay": 0}}),
            ),
        ],
        "message.send" if params["to"] == "bob" => {
            vec![ok(request, json!({"id": "ab", "ts": 5}))]
        }
        "message.send" => vec![json!({"jsonrpc": "2.0", "id": request["id"], "error": {
            "code": code::UNKNOWN_CONTACT, "message": "carol is not a contact",
            "data": {"user": "carol"}}})],
        "subscribe" => {
            assert_eq!(params["after"], json!(3));
            // The result and the first event in one write, the second after it.
            vec![
                ok(request, json!({"subscribed": true, "last_seq": 5})),
                state_event(4, "sent"),
                json!({"jsonrpc": "2.0", "method": "future.event", "params": {"seq": 9}}),
                state_event(5, "delivered"),
            ]
        }
        other => panic!("unexpected method {other}"),
    }
}

#[test]
fn clients_and_streams_can_move_to_other_tasks() {
    fn send<T: Send + 'static>() {}
    send::<Client>();
    send::<EventStream>();
    send::<ClientError>();
}

#[tokio::test]
async fn hello_comes_first_and_its_answer_is_kept() {
    let (_fake, path) = fake_daemon(good);
    let client = Client::connect_as(&path, "test/1").await.unwrap();
    assert_eq!(client.hello().version, "9.9.9");
    assert_eq!(client.hello().user.as_deref(), Some("alice"));
    assert_eq!(client.path(), path);
}

#[tokio::test]
async fn calls_are_typed_and_skip_stray_notifications() {
    let (_fake, path) = fake_daemon(good);
    let mut client = Client::connect_as(&path, "test/1").await.unwrap();
    let status = client.call(StatusParams {}).await.unwrap();
    assert_eq!(status.user.as_deref(), Some("alice"));
    let sent = client
        .call(MessageSendParams {
            to: "bob".into(),
            body: "hi".into(),
            reply_to: None,
        })
        .await
        .unwrap();
    assert_eq!((sent.id.as_str(), sent.ts), ("ab", 5));
}

#[tokio::test]
async fn rpc_errors_keep_code_message_and_data() {
    let (_fake, path) = fake_daemon(good);
    let mut client = Client::connect_as(&path, "test/1").await.unwrap();
    let err = client
        .call(MessageSendParams {
            to: "carol".into(),
            body: "hi".into(),
            reply_to: None,
        })
        .await
        .unwrap_err();
    let ClientError::Rpc {
        code: c,
        ref message,
        ref data,
    } = err
    else {
        panic!("expected an rpc error, got {err:?}");
    };
    assert_eq!(c, code::UNKNOWN_CONTACT);
    assert_eq!(message, "carol is not a contact");
    assert_eq!(data, &Some(json!({"user": "carol"})));
    assert_eq!(err.rpc_name(), Some("unknown_contact"));
    assert_eq!(err.to_string(), "carol is not a contact");
    // The connection is still usable after an error answer.
    assert!(client.call(StatusParams {}).await.is_ok());
}

#[tokio::test]
async fn subscribe_sends_after_and_streams_events_in_order() {
    let (_fake, path) = fake_daemon(good);
    let client = Client::connect_as(&path, "test/1").await.unwrap();
    let mut events = client.subscribe(Some(3)).await.unwrap();
    assert_eq!(events.last_seq(), 5);
    let first = events.next().await.unwrap().unwrap();
    assert_eq!(first.seq, 4);
    let Event::MessageState(MessageStateEvent { state, .. }) = first.event else {
        panic!("expected message.state");
    };
    assert_eq!(state, MessageState::Sent);
    let second = events.next().await.unwrap().unwrap();
    assert_eq!(
        second.seq, 5,
        "the unknown notification in between is skipped"
    );
}

#[tokio::test]
async fn a_bad_event_is_reported_and_the_stream_ends_when_chatd_hangs_up() {
    fn hang_up_after_subscribe(request: &Value) -> Vec<Value> {
        match request["method"].as_str().unwrap() {
            "hello" => vec![ok(
                request,
                json!({"protocol": 1, "version": "1", "user": null}),
            )],
            "subscribe" => vec![
                ok(request, json!({"subscribed": true, "last_seq": 0})),
                state_event(1, "queued"),
                json!("not a notification"),
                state_event(2, "sent"),
                Value::Null,
            ],
            _ => vec![],
        }
    }
    let (_fake, path) = fake_daemon(hang_up_after_subscribe);
    let mut events = Client::connect(&path)
        .await
        .unwrap()
        .subscribe(None)
        .await
        .unwrap();
    assert_eq!(events.next().await.unwrap().unwrap().seq, 1);
    assert!(matches!(
        events.next().await,
        Some(Err(ClientError::Protocol(_)))
    ));
    assert_eq!(events.next().await.unwrap().unwrap().seq, 2);
    assert!(events.next().await.is_none());
    assert!(events.next().await.is_none());
}

#[tokio::test]
async fn a_protocol_mismatch_is_an_rpc_error_from_connect() {
    fn refuse(request: &Value) -> Vec<Value> {
        vec![json!({"jsonrpc": "2.0", "id": request["id"], "error": {
            "code": code::PROTOCOL_MISMATCH,
            "message": "chatd speaks IPC protocol 2, the client asked for 1"}})]
    }
    let (_fake, path) = fake_daemon(refuse);
    let err = Client::connect(&path).await.unwrap_err();
    assert_eq!(err.rpc_code(), Some(code::PROTOCOL_MISMATCH));
}

#[tokio::test]
async fn garbage_and_hang_ups_are_protocol_errors_or_disconnects() {
    fn garbage(_: &Value) -> Vec<Value> {
        vec![json!({"hello": "there"})]
    }
    let (_fake, path) = fake_daemon(garbage);
    let err = Client::connect(&path).await.unwrap_err();
    assert!(matches!(err, ClientError::Protocol(_)), "{err:?}");

    fn hang_up(_: &Value) -> Vec<Value> {
        vec![Value::Null]
    }
    let (_fake, path) = fake_daemon(hang_up);
    let err = Client::connect(&path).await.unwrap_err();
    assert!(matches!(err, ClientError::Disconnected), "{err:?}");
}

#[tokio::test]
async fn no_daemon_is_not_running_with_the_path_in_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chatd.sock");
    let err = Client::connect(&path).await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::NotRunning {
                reason: "no socket",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains(&path.display().to_string()));

    // A socket file whose daemon is gone refuses connections.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let err = Client::connect(&path).await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::NotRunning {
                reason: "connection refused",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "chatd is not running (connection refused at {})",
            path.display()
        )
    );
}
