//! The real chat-ctl binary against a fake chatd on a temp socket: commands,
//! `--json` shapes, stdin handling and exit codes, as a script would see them.
#![cfg(unix)]

mod big_texts;
mod helper;
mod hostile_text;
mod relay_trust;
mod socket_owner;

use helper::{FakeDaemon, Subscribers, chat_ctl, error, fake_chatd, fixture, ok};
use ipc_schema::jsonrpc::code;
use serde_json::{Value, json};

const ID: &str = "0b7e4d2c9a1f48e6b3c5d7e9f1a2b4c6";
const FP: &str = "c7e1 0d59 a8f3 6b2e 94c0 1f7a 3e85 d26b 5a09 e7c4 82f1 4d3b b06e 19a7 f5c2 6e80";

fn state_event(seq: u64, state: &str, failure: Option<&str>) -> Value {
    json!({"jsonrpc": "2.0", "method": "message.state", "params": {
        "seq": seq, "ts": 1764000000200u64 + seq, "id": ID, "peer": "bob",
        "state": state, "failure": failure}})
}

/// A daemon whose only contact is bob; messages to bob go through, and their
/// text decides what happens next: "fail" fails, "slow" stays queued.
fn daemon() -> FakeDaemon {
    fake_chatd(|req: &Value, subs: &Subscribers| {
        let params = &req["params"];
        match req["method"].as_str().unwrap() {
            "status" => vec![ok(req, fixture("results/status.json")["result"].clone())],
            "identity.show" => vec![ok(
                req,
                fixture("results/identity.show.json")["result"].clone(),
            )],
            "identity.card" => vec![ok(
                req,
                fixture("results/identity.card.json")["result"].clone(),
            )],
            "contact.list" => vec![ok(
                req,
                fixture("results/contact.list.json")["result"].clone(),
            )],
            "contact.add" if params["user"] == "nobody" => vec![error(
                req,
                code::RELAY_REFUSED,
                "the relay refused: no such user",
                Some(
                    json!({"status": 404, "error": {"code": "not_found", "message": "no such user"}}),
                ),
            )],
            "contact.add" => vec![ok(
                req,
                fixture("results/contact.add.json")["result"].clone(),
            )],
            "account.login" if params["password"] == "right" => {
                vec![ok(
                    req,
                    json!({"user": "alice", "expires_at": 1764086400123u64}),
                )]
            }
            "account.login" => vec![error(
                req,
                code::RELAY_REFUSED,
                "the relay refused: unknown user or wrong password",
                Some(
                    json!({"status": 401, "error": {"code": "invalid_credentials", "message": "unknown user or wrong password"}}),
                ),
            )],
            "message.send" if params["to"] == "bob" => {
                let events: &[(&str, Option<&str>)] = match params["body"].as_str().unwrap() {
                    "fail" => &[(
                        "failed",
                        Some("bob's mailbox is full (relay: quota_exceeded)"),
                    )],
                    "slow" => &[],
                    _ => &[("sent", None), ("delivered", None)],
                };
                for (i, (state, failure)) in events.iter().enumerate() {
                    subs.broadcast(&state_event(60 + i as u64, state, *failure));
                }
                vec![ok(req, json!({"id": ID, "ts": 1764000005123u64}))]
            }
            "message.send" => vec![error(
                req,
                code::UNKNOWN_CONTACT,
                &format!("{} is not a contact", params["to"].as_str().unwrap()),
                None,
            )],
            "message.list" => vec![ok(
                req,
                fixture("results/message.list.json")["result"].clone(),
            )],
            "device.revoke" | "account.password" => vec![ok(req, json!({}))],
            "backup.export" => vec![ok(
                req,
                json!({"backup": "{\"v\":1,\"sealed\":true}", "contacts": 2}),
            )],
            "account.restore" => vec![ok(
                req,
                json!({"user": "alice", "fingerprint": "3f2a 9c41 07be d5e8 1a6c 44f0 b93d 2e71 8c05 6a1f e4d2 97b3 50c8 2f6e a1d9 7b34",
                       "relay_url": "https://relay.example.org", "contacts": 2}),
            )],
            "device.list" => vec![ok(
                req,
                json!({"devices": [
                    {"id": "5be0c1d7a4f29e36", "name": "desk", "created_at": 1764000000000u64,
                     "last_seen": 1764000005123u64, "current": true},
                    {"id": "0123456789abcdef", "name": "lap\u{1b}[2Jtop", "created_at": 1764000001000u64,
                     "last_seen": 1764000002000u64, "current": false,
                     "gone": "revoked", "gone_at": 1764000003000u64}
                ]}),
            )],
            "subscribe" if params["after"] == 0 => {
                let mut frames = vec![ok(req, json!({"subscribed": true, "last_seq": 45}))];
                for name in [
                    "message.received",
                    "message.state",
                    "contact.changed",
                    "connection.changed",
                ] {
                    frames.push(fixture(&format!("events/{name}.json")));
                }
                frames.push(Value::Null);
                frames
            }
            "subscribe" if params["after"] == 5 => vec![error(
                req,
                code::EVENTS_EXPIRED,
                "events after 5 are no longer kept",
                Some(json!({"oldest_seq": 42})),
            )],
            "subscribe" => vec![ok(req, json!({"subscribed": true, "last_seq": 59}))],
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
fn status_json_is_the_status_result() {
    let d = daemon();
    let run = chat_ctl(d.socket(), &["status", "--json"], "");
    let stdout = run.assert_ok();
    assert_eq!(stdout.lines().count(), 1, "one line of JSON");
    let status: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(status, fixture("results/status.json")["result"]);
}

#[test]
fn status_for_humans_shows_the_grouped_fingerprint() {
    let d = daemon();
    let run = chat_ctl(d.socket(), &["status"], "");
    let stdout = run.assert_ok();
    assert!(stdout.contains("user         alice\n"), "{stdout}");
    assert!(
        stdout.contains("fingerprint  3f2a 9c41 07be d5e8 1a6c 44f0 b93d 2e71\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("relay        https://relay.example.org · online\n"),
        "{stdout}"
    );
}

#[test]
fn send_prints_the_id_and_sends_the_text() {
    let d = daemon();
    let run = chat_ctl(d.socket(), &["send", "bob", "hi"], "");
    assert_eq!(run.assert_ok(), format!("{ID}\n"));
    assert_eq!(
        d.params_of("message.send"),
        vec![json!({"to": "bob", "body": "hi"})]
    );
    assert!(
        d.params_of("subscribe").is_empty(),
        "no subscription without --wait"
    );
}

#[test]
fn send_without_text_reads_stdin() {
    let d = daemon();
    let run = chat_ctl(d.socket(), &["send", "bob"], "build done\n");
    run.assert_ok();
    let run = chat_ctl(d.socket(), &["send", "bob", "-"], "two\nlines\n");
    run.assert_ok();
    let bodies: Vec<Value> = d
        .params_of("message.send")
        .iter()
        .map(|p| p["body"].clone())
        .collect();
    assert_eq!(bodies, vec![json!("build done"), json!("two\nlines")]);
}

#[test]
fn send_json_prints_id_and_ts() {
    let d = daemon();
    let run = chat_ctl(d.socket(), &["--json", "send", "bob", "hi"], "");
    let sent: Value = serde_json::from_str(&run.assert_ok()).unwrap();
    assert_eq!(sent, json!({"id": ID, "ts": 1764000005123u64}));
}

#[test]
fn send_wait_returns_once_the_relay_accepted_it() {
    let d = daemon();
    let run = chat_ctl(d.socket(), &["send", "--wait", "bob", "hi"], "");
    assert_eq!(run.assert_ok(), format!("{ID}\n"));
    let run = chat_ctl(d.socket(), &["send", "--wait-delivered", "bob", "hi"], "");
    run.assert_ok();
    assert_eq!(
        d.params_of("subscribe").len(),
        2,
        "subscribed before sending"
    );
}

#[test]
fn send_wait_reports_a_failed_message_with_exit_5() {
    let d = daemon();
    let run = chat_ctl(d.socket(), &["send", "--wait", "bob", "fail"], "");
    let line = run.assert_failed_with(5);
    assert!(line.contains("bob's mailbox is full"), "{line}");
    assert_eq!(
        run.stdout,
        format!("{ID}\n"),
        "the id is printed before waiting"
    );
}

#[test]
fn send_wait_times_out_with_exit_6() {
    let d = daemon();
    let run = chat_ctl(
        d.socket(),
        &[
            "send",
            "--wait-delivered",
            "--timeout",
            "0.3",
            "bob",
            "slow",
        ],
        "",
    );
    let line = run.assert_failed_with(6);
    assert!(line.contains(ID) && line.contains("0.3 s"), "{line}");
}

#[test]
fn an_empty_message_is_a_usage_error() {
    let d = daemon();
    chat_ctl(d.socket(), &["send", "bob"], "").assert_failed_with(2);
    assert!(d.params_of("message.send").is_empty());
}

#[test]
fn unknown_contacts_and_users_exit_4() {
    let d = daemon();
    let line = chat_ctl(d.socket(), &["send", "carol", "hi"], "").assert_failed_with(4);
    assert_eq!(line, "chat-ctl: carol is not a contact");
    let run = chat_ctl(
        d.socket(),
        &["contact", "add", "nobody", "--fingerprint", FP],
        "",
    );
    run.assert_failed_with(4);
    assert_eq!(
        d.params_of("contact.add"),
        vec![json!({"user": "nobody", "fingerprint": FP})]
    );
}

#[test]
fn contact_add_from_stdin_and_list_as_json() {
    let d = daemon();
    let card = r#"{"v":1,"user":"bob","enc":"AA==","sig":"AA=="}"#;
    let run = chat_ctl(d.socket(), &["--json", "contact", "add", "-"], card);
    let contact: Value = serde_json::from_str(&run.assert_ok()).unwrap();
    assert_eq!(contact["user"], "bob");
    assert_eq!(d.params_of("contact.add")[0]["card"]["user"], "bob");

    let run = chat_ctl(d.socket(), &["--json", "contact", "list"], "");
    let list: Value = serde_json::from_str(&run.assert_ok()).unwrap();
    assert_eq!(
        list,
        fixture("results/contact.list.json")["result"]["contacts"]
    );
}

#[test]
fn log_json_is_an_array_of_the_documented_shape() {
    let d = daemon();
    let run = chat_ctl(d.socket(), &["log", "bob", "-n", "3", "--json"], "");
    let log: Value = serde_json::from_str(&run.assert_ok()).unwrap();
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 3);
    for entry in log {
        let mut keys: Vec<&str> = entry
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "kind" && *k != "reply_to")
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["body", "direction", "from", "id", "state", "to", "ts"]
        );
        // `reply_to` only for an answer, and then a whole message id.
        if let Some(to) = entry.get("reply_to") {
            assert!(
                to.as_str()
                    .is_some_and(ipc_schema::envelope::is_valid_message_id),
                "{entry}"
            );
        }
        // `kind` only for what is not a text (here the unsupported one).
        assert_eq!(
            entry.get("kind").is_some(),
            entry["body"].is_null(),
            "{entry}"
        );
    }
    assert_eq!(
        log[1],
        json!({"id": ID, "from": "alice", "to": "bob", "ts": 1764000005123u64,
               "direction": "out", "body": "thanks!\nsee you",
               "reply_to": "4f9c2e1ab3d04c7e8a61f05d2b9e7c13", "state": "failed"})
    );
    assert_eq!(
        d.params_of("message.list"),
        vec![json!({"peer": "bob", "limit": 3})]
    );
}

#[test]
fn log_for_humans_has_times_and_ticks() {
    let d = daemon();
    let stdout = chat_ctl(d.socket(), &["log", "bob"], "").assert_ok();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "2025-11-24 16:00  bob  build finished ✅");
    assert!(
        lines[2].ends_with("see you  ✗ failed: bob's mailbox is full (relay: quota_exceeded)"),
        "{stdout}"
    );
}

#[test]
fn watch_json_since_0_prints_each_replayed_event_on_its_own_line() {
    let d = daemon();
    let run = chat_ctl(d.socket(), &["watch", "--json", "--since", "0"], "");
    let lines = run.lines();
    assert_eq!(lines.len(), 4, "{run:#?}");
    for (line, name) in lines.iter().zip([
        "message.received",
        "message.state",
        "contact.changed",
        "connection.changed",
    ]) {
        let got: Value = serde_json::from_str(line).unwrap();
        let mut want = fixture(&format!("events/{name}.json"))["params"].clone();
        want["event"] = json!(name);
        assert_eq!(got, want);
        assert!(line.starts_with(r#"{"seq":"#), "seq comes first: {line}");
    }
    assert_eq!(d.params_of("subscribe"), vec![json!({"after": 0})]);
    // The daemon hung up after the replay: that is "daemon not reachable".
    run.assert_failed_with(3);
}

#[test]
fn watch_since_a_seq_chatd_no_longer_keeps_exits_7_naming_the_oldest() {
    let d = daemon();
    for json in [&[][..], &["--json"]] {
        let mut args = json.to_vec();
        args.extend(["watch", "--since", "5"]);
        let run = chat_ctl(d.socket(), &args, "");
        let line = run.assert_failed_with(7);
        assert_eq!(
            line,
            "chat-ctl: chatd no longer keeps the events after 5; the oldest it has is 42: \
             replay from there with --since 41, or watch without --since"
        );
        assert!(run.stdout.is_empty());
    }
}

#[test]
fn id_card_is_one_line_of_json() {
    let d = daemon();
    let run = chat_ctl(d.socket(), &["id", "--card"], "");
    let stdout = run.assert_ok();
    assert_eq!(stdout.lines().count(), 1);
    let card: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        card,
        fixture("results/identity.card.json")["result"]["card"]
    );
    let run = chat_ctl(d.socket(), &["id", "--json"], "");
    let id: Value = serde_json::from_str(&run.assert_ok()).unwrap();
    assert_eq!(id["key_bits"], 3072);
}

#[test]
fn login_reads_the_password_from_stdin_and_a_refusal_exits_5() {
    let d = daemon();
    chat_ctl(d.socket(), &["login", "--password-stdin"], "right\n").assert_ok();
    let line =
        chat_ctl(d.socket(), &["login", "--password-stdin"], "wrong\n").assert_failed_with(5);
    assert!(line.contains("wrong password"), "{line}");
    let passwords: Vec<Value> = d
        .params_of("account.login")
        .iter()
        .map(|p| p["password"].clone())
        .collect();
    assert_eq!(passwords, vec![json!("right"), json!("wrong")]);
}

#[test]
fn revoking_a_device_reads_the_current_then_the_new_password_from_stdin() {
    let d = daemon();
    let args = ["device", "revoke", "0123456789abcdef", "--password-stdin"];
    chat_ctl(d.socket(), &args, "old one\nnew password\n").assert_ok();
    let sent = d.params_of("device.revoke");
    assert_eq!(
        sent,
        vec![
            json!({"id": "0123456789abcdef", "password": "old one", "new_password": "new password"})
        ]
    );
    // Without the second line nothing is sent.
    let line = chat_ctl(d.socket(), &args, "old one\n").assert_failed_with(2);
    assert!(line.contains("no new password"), "{line}");
    // Nor with an id that is not one.
    let bad = ["device", "revoke", "../etc", "--password-stdin"];
    chat_ctl(d.socket(), &bad, "a\nb\n").assert_failed_with(2);
    assert_eq!(d.params_of("device.revoke").len(), 1);

    chat_ctl(
        d.socket(),
        &["password", "change", "--password-stdin"],
        "a\nb\n",
    )
    .assert_ok();
    assert_eq!(
        d.params_of("account.password"),
        vec![json!({"password": "a", "new_password": "b"})]
    );
}

#[test]
fn a_backup_file_is_written_for_its_owner_only_and_never_overwritten_silently() {
    use std::os::unix::fs::PermissionsExt as _;
    let d = daemon();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("alice.backup");
    let file_arg = file.to_str().unwrap();
    let args = ["backup", "export", file_arg, "--passphrase-stdin"];
    chat_ctl(d.socket(), &args, "a long passphrase\n").assert_ok();
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "{\"v\":1,\"sealed\":true}\n"
    );
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(
        d.params_of("backup.export"),
        vec![json!({"passphrase": "a long passphrase"})]
    );
    // Exists: refused before asking chatd; --force replaces it.
    std::fs::write(&file, "older").unwrap();
    let line = chat_ctl(d.socket(), &args, "a long passphrase\n").assert_failed_with(2);
    assert!(line.contains("--force"), "{line}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "older");
    let forced = [
        "backup",
        "export",
        file_arg,
        "--force",
        "--passphrase-stdin",
    ];
    chat_ctl(d.socket(), &forced, "a long passphrase\n").assert_ok();
    assert!(std::fs::read_to_string(&file).unwrap().contains("sealed"));
}

#[test]
fn a_backup_import_reads_the_password_line_then_the_passphrase_line() {
    let d = daemon();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("alice.backup");
    std::fs::write(&file, "{\"v\":1}\n").unwrap();
    let args = [
        "backup",
        "import",
        file.to_str().unwrap(),
        "--relay",
        "https://relay.example.org",
        "--user",
        "alice",
        "--device-name",
        "laptop",
        "--password-stdin",
        "--passphrase-stdin",
    ];
    let out = chat_ctl(d.socket(), &args, "relay pw\nbackup phrase\n").assert_ok();
    assert!(out.contains("restored alice"), "{out}");
    let sent = d.params_of("account.restore");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["password"], "relay pw");
    assert_eq!(sent[0]["passphrase"], "backup phrase");
    assert_eq!(sent[0]["backup"], "{\"v\":1}");
    assert_eq!(sent[0]["device_name"], "laptop");
    // One line short: nothing is sent.
    let line = chat_ctl(d.socket(), &args, "relay pw\n").assert_failed_with(2);
    assert!(line.contains("backup passphrase"), "{line}");
    assert_eq!(d.params_of("account.restore").len(), 1);
}

#[test]
fn the_device_list_marks_this_device_and_sanitizes_names() {
    let d = daemon();
    let out = chat_ctl(d.socket(), &["device", "list"], "").assert_ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("* 5be0c1d7a4f29e36  desk"), "{out}");
    assert!(lines[1].starts_with("  0123456789abcdef"), "{out}");
    assert!(lines[1].contains("revoked"), "{out}");
    assert!(
        !out.contains('\u{1b}'),
        "an escape reached the terminal: {out:?}"
    );
    let json = chat_ctl(d.socket(), &["--json", "device", "list"], "").assert_ok();
    let parsed: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["devices"][1]["gone"], "revoked");
}

#[test]
fn passwords_are_never_taken_from_argv() {
    let d = daemon();
    let run = chat_ctl(d.socket(), &["login", "--password", "hunter2"], "");
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(d.params_of("hello").is_empty(), "nothing was sent");
}

#[test]
fn no_daemon_exits_3_with_one_line_naming_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("chatd.sock");
    for args in [
        &["status"][..],
        &["send", "bob", "hi"],
        &["watch", "--json"],
    ] {
        let run = chat_ctl(&socket, args, "");
        let line = run.assert_failed_with(3);
        assert!(line.contains("chatd is not running"), "{line}");
        assert!(line.contains(&socket.display().to_string()), "{line}");
        assert!(run.stdout.is_empty());
    }
}

#[test]
fn completions_need_no_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let run = chat_ctl(&dir.path().join("none.sock"), &["completions", "bash"], "");
    assert!(run.assert_ok().contains("chat-ctl"));
}
