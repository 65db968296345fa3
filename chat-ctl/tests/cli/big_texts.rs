//! `chat-ctl log` with texts too big for a `message.list` page: chatd cuts
//! their bodies at 64 KiB there, and chat-ctl fetches each one whole.

use ipc_schema::jsonrpc::code;
use ipc_schema::methods::LIST_BODY_MAX;
use serde_json::{Value, json};

use crate::helper::{FakeDaemon, Subscribers, chat_ctl, error, fake_chatd, ok};

const BIG_IN: &str = "a0000000000000000000000000000001";
const BIG_OUT: &str = "a0000000000000000000000000000002";
const SMALL: &str = "a0000000000000000000000000000003";

/// A 4 MiB text that ends in `end`, so a cut one is easy to tell.
fn big(end: &str) -> String {
    let mut text = "lorem ipsum ".repeat(4 * 1024 * 1024 / 12);
    text.push_str(end);
    text
}

fn message(id: &str, direction: &str, body: &str, cut: bool) -> Value {
    let (from, to) = if direction == "in" {
        ("bob", "alice")
    } else {
        ("alice", "bob")
    };
    let body = if cut { &body[..LIST_BODY_MAX] } else { body };
    json!({"id": id, "from": from, "to": to, "ts": 1764000000123u64, "direction": direction,
           "kind": "text", "body": body, "reply_to": null, "state": "read",
           "failure": null, "seq": 1, "truncated": cut})
}

/// A conversation with a big text each way and a small one; `message.get`
/// answers with whole bodies.
fn daemon() -> FakeDaemon {
    fake_chatd(|req: &Value, _: &Subscribers| {
        let params = &req["params"];
        match req["method"].as_str().unwrap() {
            "message.list" => vec![ok(
                req,
                json!({"messages": [
                    message(BIG_IN, "in", &big("the end of bob's"), true),
                    message(BIG_OUT, "out", &big("the end of mine"), true),
                    message(SMALL, "in", "short", false),
                ], "has_more": false}),
            )],
            "message.get" => {
                let (direction, end) = match params["id"].as_str().unwrap() {
                    BIG_IN => ("in", "the end of bob's"),
                    BIG_OUT => ("out", "the end of mine"),
                    _ => return vec![error(req, code::UNKNOWN_MESSAGE, "no such message", None)],
                };
                let id = params["id"].as_str().unwrap();
                vec![ok(
                    req,
                    json!({"message": message(id, direction, &big(end), false)}),
                )]
            }
            other => vec![error(
                req,
                code::METHOD_NOT_FOUND,
                &format!("no {other}"),
                None,
            )],
        }
    })
}

#[test]
fn log_fetches_each_truncated_body_whole_with_message_get() {
    let d = daemon();
    let stdout = chat_ctl(d.socket(), &["--json", "log", "bob"], "").assert_ok();
    let log: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(log[0]["body"], big("the end of bob's"));
    assert_eq!(log[1]["body"], big("the end of mine"));
    assert_eq!(log[2]["body"], "short");
    assert_eq!(
        d.params_of("message.get"),
        vec![
            json!({"peer": "bob", "id": BIG_IN, "direction": "in"}),
            json!({"peer": "bob", "id": BIG_OUT, "direction": "out"}),
        ],
        "one call per cut body, none for the whole one"
    );

    let stdout = chat_ctl(d.socket(), &["log", "bob"], "").assert_ok();
    assert!(
        stdout.contains("the end of bob's\n"),
        "the human log is whole too"
    );
    assert!(stdout.contains("the end of mine  ✓✓ read\n"));
}
