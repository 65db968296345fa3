//! Text from a hostile contact or relay reaches the terminal inert: escape
//! sequences and bidi controls become visible stand-ins in human output and
//! error lines, while `--json` keeps them exactly (docs/IPC.md §9).

use ipc_schema::jsonrpc::code;
use serde_json::{Value, json};

use crate::helper::{FakeDaemon, Subscribers, chat_ctl, error, fake_chatd, ok};

/// What a hostile contact sends: a clipboard write (OSC 52), a hidden link
/// (OSC 8), a screen clear with a fake line after it (CSI 2J), a right-to-left
/// override, and the one-byte C1 form of CSI.
const HOSTILE: &str = "hi \x1b]52;c;cm0gLXJmIH4=\x07 \x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\ \x1b[2J\x1b[Hbob: fake line \u{202e}gnp.exe \u{9b}2J";

/// Asserts that `out` holds nothing a terminal would act on, and shows the
/// stand-ins of [`HOSTILE`].
fn assert_inert(out: &str) {
    let active: Vec<char> = out
        .chars()
        .filter(|c| {
            matches!(c, '\x00'..='\x08' | '\x0b'..='\x1f' | '\x7f'..='\u{9f}' | '\u{202a}'..='\u{202e}')
        })
        .collect();
    assert!(active.is_empty(), "active characters {active:?} in {out:?}");
    for stand_in in [
        "␛]52;c;cm0gLXJmIH4=␇",
        "␛]8;;https://evil.example␛\\click",
        "␛[2J␛[Hbob: fake line",
        "\u{fffd}gnp.exe",
        "\u{fffd}2J",
    ] {
        assert!(out.contains(stand_in), "{stand_in:?} in {out:?}");
    }
}

fn message(id: &str, direction: &str, kind: &str, body: Option<&str>, state: &str) -> Value {
    let (from, to) = if direction == "in" {
        ("bob", "alice")
    } else {
        ("alice", "bob")
    };
    let failure = (state == "failed").then_some(HOSTILE);
    json!({"id": id, "from": from, "to": to, "ts": 1764000000123u64, "direction": direction,
           "kind": kind, "body": body, "reply_to": null, "state": state,
           "failure": failure, "seq": 1, "truncated": false})
}

fn event(seq: u64, method: &str, mut params: Value) -> Value {
    params["seq"] = json!(seq);
    params["ts"] = json!(1764000000200u64 + seq);
    json!({"jsonrpc": "2.0", "method": method, "params": params})
}

/// bob's texts, a payload kind, a failure reason, relay refusals and a lost
/// relay link, each carrying [`HOSTILE`].
fn daemon() -> FakeDaemon {
    fake_chatd(|req: &Value, subs: &Subscribers| {
        let params = &req["params"];
        match req["method"].as_str().unwrap() {
            "message.list" => vec![ok(
                req,
                json!({"messages": [
                    message("aa", "in", "text", Some(HOSTILE), "delivered"),
                    message("ab", "in", &format!("x{HOSTILE}"), None, "delivered"),
                    message("ac", "out", "text", Some("sorry?"), "failed"),
                ], "has_more": false}),
            )],
            "subscribe" if params["after"] == 0 => vec![
                ok(req, json!({"subscribed": true, "last_seq": 3})),
                event(
                    1,
                    "message.received",
                    json!({"message": message("aa", "in", "text", Some(HOSTILE), "delivered")}),
                ),
                event(
                    2,
                    "message.state",
                    json!({"id": "ac", "peer": "bob", "state": "failed", "failure": HOSTILE}),
                ),
                event(
                    3,
                    "connection.changed",
                    json!({"connection": "offline", "error": HOSTILE}),
                ),
                Value::Null,
            ],
            "subscribe" => vec![ok(req, json!({"subscribed": true, "last_seq": 3}))],
            "message.send" if params["body"] == "wait" => {
                subs.broadcast(&event(
                    4,
                    "message.state",
                    json!({"id": "ad", "peer": "bob", "state": "failed", "failure": HOSTILE}),
                ));
                vec![ok(req, json!({"id": "ad", "ts": 1764000005123u64}))]
            }
            "message.send" => vec![error(
                req,
                code::RELAY_REFUSED,
                &format!("the relay refused: {HOSTILE}"),
                Some(json!({"status": 403, "error": {"code": "forbidden", "message": HOSTILE}})),
            )],
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
fn log_shows_hostile_bodies_kinds_and_failure_reasons_inert() {
    let d = daemon();
    let stdout = chat_ctl(d.socket(), &["log", "bob"], "").assert_ok();
    assert_inert(&stdout);
    assert!(stdout.contains("[unsupported message type: x"), "{stdout}");
    assert!(stdout.contains("✗ failed: hi ␛]52"), "{stdout}");
}

#[test]
fn log_json_keeps_the_text_exactly() {
    let d = daemon();
    let stdout = chat_ctl(d.socket(), &["--json", "log", "bob"], "").assert_ok();
    let log: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(log[0]["body"], HOSTILE);
    assert!(
        !stdout.contains('\x1b'),
        "JSON escapes ESC: {stdout:?} (U+202E may stay, JSON is not for the terminal)"
    );
}

#[test]
fn watch_shows_hostile_events_inert() {
    let d = daemon();
    let run = chat_ctl(d.socket(), &["watch", "--since", "0"], "");
    run.assert_failed_with(3);
    assert_eq!(run.lines().len(), 3, "{run:#?}");
    assert_inert(&run.stdout);
    assert!(run.stdout.contains("#1 "), "{}", run.stdout);
    assert!(run.stdout.contains("#3 "), "{}", run.stdout);

    let run = chat_ctl(d.socket(), &["--json", "watch", "--since", "0"], "");
    let first: Value = serde_json::from_str(run.lines()[0]).unwrap();
    assert_eq!(first["message"]["body"], HOSTILE);
    let last: Value = serde_json::from_str(run.lines()[2]).unwrap();
    assert_eq!(last["error"], HOSTILE);
}

#[test]
fn error_lines_carrying_relay_text_and_failure_reasons_are_inert() {
    let d = daemon();
    let line = chat_ctl(d.socket(), &["send", "bob", "hi"], "").assert_failed_with(5);
    assert_inert(&line);
    let run = chat_ctl(d.socket(), &["send", "--wait", "bob", "wait"], "");
    let line = run.assert_failed_with(5);
    assert_inert(&line);
    assert!(line.contains("message ad to bob failed: hi ␛]52"), "{line}");
}
