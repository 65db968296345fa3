//! Every `chat-ctl` command through the real binary: what it prints (the
//! stable `--json` shapes of docs/IPC.md), and its exit codes — 0 ok,
//! 1 other, 2 usage, 3 chatd not reachable, 4 unknown user or contact,
//! 5 refused by the relay or auth, 6 timeout — each failure with one line on
//! stderr.

use std::process::Command;
use std::time::Duration;

use chatd::crypto::Card;
use e2e::{Ctl, Daemon, World, eventually, pair, run_to_exit};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(20);

/// The sorted keys of a JSON object.
fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    k.sort();
    k
}

/// A fingerprint as chatd shows it: 16 groups of 4 lowercase hex digits.
fn assert_grouped_fingerprint(fp: &Value) {
    let fp = fp.as_str().unwrap_or_else(|| panic!("not a string: {fp}"));
    let groups: Vec<&str> = fp.split(' ').collect();
    assert_eq!(groups.len(), 16, "{fp}");
    assert!(
        groups
            .iter()
            .all(|g| g.len() == 4 && g.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))),
        "{fp}"
    );
}

/// A fingerprint's 64 hex digits, whatever the grouping.
fn hex(fp: &Value) -> String {
    fp.as_str()
        .unwrap_or_else(|| panic!("not a string: {fp}"))
        .replace(' ', "")
}

/// `fails_with`, and the line names `what`.
fn fails(ctl: Ctl, code: i32, what: &str) {
    let line = ctl.fails_with(code).to_owned();
    assert!(line.starts_with("chat-ctl: "), "{line}");
    assert!(
        line.to_lowercase().contains(&what.to_lowercase()),
        "stderr {line:?} should mention {what:?}"
    );
    assert!(ctl.stdout.is_empty() || code == 6, "{ctl:?}");
}

fn register_args<'a>(d: &'a Daemon, url: &'a str) -> Vec<&'a str> {
    vec![
        "--json",
        "register",
        "--relay",
        url,
        "--user",
        &d.name,
        "--password-stdin",
        "--key-bits",
        "2048",
    ]
}

#[test]
fn status_register_login_logout_and_delete_account() {
    let world = World::start();
    let alice = world.daemon("alice");

    // Before any account.
    let status = alice.status();
    assert_eq!(
        keys(&status),
        [
            "connection",
            "dropped",
            "fingerprint",
            "outbox_pending",
            "proxy",
            "relay_trust",
            "relay_url",
            "relays",
            "unread",
            "user",
            "version"
        ]
    );
    assert_eq!(status["user"], Value::Null);
    assert_eq!(status["relay_trust"], Value::Null);
    assert_eq!(status["proxy"], Value::Null);
    assert_eq!(status["fingerprint"], Value::Null);
    assert_eq!(status["relay_url"], Value::Null);
    assert_eq!(status["relays"], json!([]));
    assert_eq!(status["connection"], "logged_out");
    assert_eq!(status["unread"], 0);
    assert_eq!(status["outbox_pending"], 0);
    assert_eq!(
        status["dropped"],
        json!({"malformed":0,"unknown_sender":0,"bad_signature":0,"undecryptable":0,"replay":0,"not_a_member":0,"bad_roster":0,"bad_target":0})
    );
    assert!(alice.ctl(&["status"]).success().contains("user"));
    fails(alice.ctl(&["id"]), 5, "register");

    // register: keys, account, session.
    let url = world.relay.url.clone();
    let reg = alice
        .ctl_in(&register_args(&alice, &url), "alice-password\n")
        .json();
    assert_eq!(keys(&reg), ["fingerprint", "relay_url", "user"]);
    assert_eq!(reg["user"], "alice");
    assert_eq!(reg["relay_url"], url.as_str());
    assert_grouped_fingerprint(&reg["fingerprint"]);
    let status = alice.status();
    assert_eq!(status["user"], "alice");
    assert_eq!(status["fingerprint"], reg["fingerprint"]);
    assert_eq!(status["relay_url"], url.as_str());
    assert_eq!(
        status["relays"],
        json!([{"url": url, "in_use": true, "failure": null, "failed_at": null}])
    );
    // (the sync loop picks the new session up a moment after `register` returns)
    eventually(T, "the relay link leaves logged_out", || {
        (alice.status()["connection"] != "logged_out").then_some(())
    });

    // Registering again on this daemon: account_exists, exit 1.
    fails(
        alice.ctl_in(&register_args(&alice, &url), "alice-password\n"),
        1,
        "already registered",
    );
    // The name taken on the relay, from another daemon: refused, exit 5.
    let other = world.daemon("other");
    let mut taken = register_args(&other, &url);
    taken[5] = "alice";
    fails(other.ctl_in(&taken, "x-password\n"), 5, "taken");
    // No password on stdin: usage.
    fails(other.ctl(&register_args(&other, &url)), 2, "password");

    // login: a wrong password is refused by the relay (5); the right one works.
    fails(
        alice.ctl_in(&["login", "--password-stdin"], "wrong-password\n"),
        5,
        "401",
    );
    let login = alice
        .ctl_in(&["--json", "login", "--password-stdin"], "alice-password\n")
        .json();
    assert_eq!(keys(&login), ["expires_at", "user"]);
    assert_eq!(login["user"], "alice");
    let now = chatd::store::now_ms();
    let expires = login["expires_at"].as_u64().unwrap();
    assert!(expires > now + 3_600_000, "a session of hours: {login}");
    assert!(
        alice
            .ctl_in(&["login", "--password-stdin"], "alice-password\n")
            .success()
            .contains("logged in as alice")
    );

    // logout: `{}`, and the link is logged_out; sending still queues.
    let bob = world.daemon("bob");
    bob.register(&world.relay);
    alice.add_contact(&bob);
    bob.add_contact(&alice);
    assert_eq!(alice.ctl(&["--json", "logout"]).json(), json!({}));
    assert_eq!(alice.status()["connection"], "logged_out");
    let queued = alice
        .ctl(&["--json", "send", "bob", "written while logged out"])
        .json();
    assert_eq!(keys(&queued), ["id", "ts"]);
    let status = alice.status();
    assert_eq!(status["connection"], "logged_out");
    assert_eq!(status["outbox_pending"], 1);
    assert_eq!(alice.log("bob")[0]["state"], "queued");
    // Logging in again sends it.
    alice
        .ctl_in(&["login", "--password-stdin"], "alice-password\n")
        .success();
    eventually(T, "the queued message reaches bob", || {
        let log = bob.incoming("alice");
        (log.len() == 1 && log[0]["id"] == queued["id"]).then_some(())
    });
    assert_eq!(alice.status()["outbox_pending"], 0);

    // delete-account: a wrong password is refused; the right one deletes
    // the account on the relay, so logging in there fails afterwards.
    fails(
        alice.ctl_in(&["delete-account", "--password-stdin"], "wrong-password\n"),
        5,
        "401",
    );
    assert_eq!(
        alice
            .ctl_in(
                &["--json", "delete-account", "--password-stdin"],
                "alice-password\n"
            )
            .json(),
        json!({})
    );
    let api = world.relay.api();
    assert_eq!(api.try_login("alice", "alice-password").status, 401);
    let status = alice.status();
    assert_eq!(status["user"], Value::Null);
    assert_eq!(status["connection"], "logged_out");
    fails(alice.ctl(&["id"]), 5, "register");
    // bob's directory lookup of alice now finds nobody.
    let alice_fp = reg["fingerprint"].as_str().unwrap();
    fails(
        bob.ctl(&["contact", "add", "alice", "--fingerprint", alice_fp]),
        4,
        "alice",
    );
}

#[test]
fn id_and_contacts_add_list_verify_remove() {
    let world = World::start();
    let [alice, bob, carol] = ["alice", "bob", "carol"].map(|n| world.daemon(n));
    for d in [&alice, &bob, &carol] {
        d.register(&world.relay);
    }

    // id: user, grouped fingerprint, key size; the human form too.
    let id = alice.ctl(&["--json", "id"]).json();
    assert_eq!(keys(&id), ["fingerprint", "key_bits", "user"]);
    assert_eq!(id["user"], "alice");
    assert_eq!(id["key_bits"], 2048);
    assert_grouped_fingerprint(&id["fingerprint"]);
    let fp = id["fingerprint"].as_str().unwrap();
    let human = alice.ctl(&["id"]).success().to_owned();
    assert!(human.contains("alice") && human.contains("2048"), "{human}");
    for group in fp.split(' ') {
        assert!(human.contains(group), "{human}");
    }

    // id --card: one line of JSON, the same with --json, a valid card whose
    // fingerprint is the one `id` shows.
    let card_text = alice.ctl(&["id", "--card"]).success().to_owned();
    assert_eq!(card_text.trim_end().lines().count(), 1);
    assert_eq!(alice.ctl(&["--json", "id", "--card"]).success(), card_text);
    let card_json: Value = serde_json::from_str(&card_text).unwrap();
    assert_eq!(keys(&card_json), ["enc", "sig", "user", "v"]);
    assert_eq!(card_json["v"], 1);
    let card = Card::from_json(card_text.trim().as_bytes()).expect("a valid card");
    assert_eq!(card.user(), "alice");
    assert_eq!(card.fingerprint().grouped(), fp);

    // contact add FILE.
    let file = world.dir.path().join("alice.card");
    std::fs::write(&file, &card_text).unwrap();
    let added = bob
        .ctl(&["--json", "contact", "add", file.to_str().unwrap()])
        .json();
    assert_eq!(
        keys(&added),
        ["added_at", "fingerprint", "user", "verified"]
    );
    assert_eq!(added["user"], "alice");
    assert_eq!(hex(&added["fingerprint"]), hex(&id["fingerprint"]));
    assert_eq!(added["verified"], false);
    // Human form, and adding the same card again is fine.
    assert!(
        bob.ctl(&["contact", "add", file.to_str().unwrap()])
            .success()
            .contains("alice")
    );
    // contact add - (a card on stdin).
    let added = alice
        .ctl_in(&["--json", "contact", "add", "-"], &bob.card())
        .json();
    assert_eq!(added["user"], "bob");
    // Not a card / no such file: exit 1.
    fails(alice.ctl_in(&["contact", "add", "-"], "[1, 2]"), 1, "card");
    fails(
        alice.ctl(&["contact", "add", "/nonexistent/x.card"]),
        1,
        "x.card",
    );

    // contact add USER --fingerprint: the directory's card, checked.
    let carol_fp = carol.ctl(&["--json", "id"]).json()["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    fails(
        alice.ctl(&["contact", "add", "carol", "--fingerprint", fp]),
        5,
        "fingerprint",
    );
    let listed = alice.ctl(&["--json", "contact", "list"]).json();
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "carol not added: {listed}"
    );
    fails(
        alice.ctl(&["contact", "add", "nobody", "--fingerprint", &carol_fp]),
        4,
        "nobody",
    );
    let added = alice
        .ctl(&[
            "--json",
            "contact",
            "add",
            "carol",
            "--fingerprint",
            &carol_fp,
        ])
        .json();
    assert_eq!(added["user"], "carol");
    assert_eq!(hex(&added["fingerprint"]), hex(&json!(carol_fp)));

    // contact list: an array, by name.
    let listed = alice.ctl(&["--json", "contact", "list"]).json();
    let users: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["user"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["bob", "carol"]);
    for c in listed.as_array().unwrap() {
        assert_eq!(keys(c), ["added_at", "fingerprint", "user", "verified"]);
        assert_eq!(c["verified"], false);
    }
    let human = alice.ctl(&["contact", "list"]).success().to_owned();
    assert!(human.contains("bob") && human.contains("carol"), "{human}");

    // contact verify: a wrong fingerprint is refused (5) and changes nothing;
    // the right one, given as 16 separate words, verifies.
    let bob_fp = bob.ctl(&["--json", "id"]).json()["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    fails(
        alice.ctl(&["contact", "verify", "bob", &carol_fp]),
        5,
        "fingerprint",
    );
    assert_eq!(
        alice.ctl(&["--json", "contact", "list"]).json()[0]["verified"],
        false
    );
    let mut args = vec!["--json", "contact", "verify", "bob"];
    args.extend(bob_fp.split(' '));
    let verified = alice.ctl(&args).json();
    assert_eq!(
        keys(&verified),
        ["added_at", "fingerprint", "user", "verified"]
    );
    assert_eq!(verified["verified"], true);
    assert_eq!(
        alice.ctl(&["--json", "contact", "list"]).json()[0]["verified"],
        true
    );
    fails(
        alice.ctl(&["contact", "verify", "nobody", &bob_fp]),
        4,
        "nobody",
    );
    fails(
        alice.ctl(&["contact", "verify", "bob", "abcd"]),
        2,
        "64 hex",
    );

    // contact remove: `{}`, gone from the list; unknown: 4.
    assert_eq!(
        alice.ctl(&["--json", "contact", "remove", "carol"]).json(),
        json!({})
    );
    let listed = alice.ctl(&["--json", "contact", "list"]).json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    fails(alice.ctl(&["contact", "remove", "carol"]), 4, "carol");
}

#[test]
fn send_wait_wait_delivered_timeout_log_and_read() {
    let world = World::start();
    let (alice, mut bob) = pair(&world, "alice", "bob");

    // --wait: back once the relay has it.
    let sent = alice
        .ctl(&["--json", "send", "bob", "one", "--wait"])
        .json();
    assert_eq!(keys(&sent), ["id", "ts"]);
    let state = |id: &Value| {
        alice
            .log("bob")
            .into_iter()
            .find(|m| m["id"] == *id)
            .unwrap()["state"]
            .clone()
    };
    assert_ne!(state(&sent["id"]), "queued");

    // --wait-delivered: back once bob's daemon has it.
    let id = alice
        .ctl(&["send", "bob", "two", "--wait-delivered", "--timeout", "20"])
        .success()
        .trim()
        .to_owned();
    assert_eq!(id.len(), 32);
    assert_eq!(state(&json!(id)), "delivered");
    assert!(bob.incoming("alice").iter().any(|m| m["id"] == id.as_str()));

    // bob's daemon is down: --wait-delivered gives up after 2 s (exit 6);
    // the id was printed, and the message is still on its way.
    bob.stop();
    let started = std::time::Instant::now();
    let timed_out = alice.ctl(&["send", "bob", "three", "--wait-delivered", "--timeout", "2"]);
    let line = timed_out.fails_with(6).to_owned();
    assert!(
        line.contains("not delivered") && line.contains("2 s"),
        "{line}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let three = timed_out.stdout.trim().to_owned();
    assert_eq!(three.len(), 32, "{timed_out:?}");
    assert_eq!(state(&json!(three)), "sent");
    bob.start_again(&[]);
    eventually(T, "three delivered after all", || {
        (state(&json!(three)) == "delivered").then_some(())
    });

    // log -n: the newest N, oldest first, in the documented shape.
    let last_two = bob.log_n("alice", 2);
    let bodies: Vec<&str> = last_two
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["two", "three"]);
    for m in &last_two {
        assert_eq!(
            keys(m),
            ["body", "direction", "from", "id", "state", "to", "ts"]
        );
        assert_eq!(m["direction"], "in");
        assert_eq!(m["state"], "delivered");
    }
    assert_eq!(bob.log("alice").len(), 3);
    let human = bob.ctl(&["log", "alice", "-n", "1"]).success().to_owned();
    assert!(human.contains("three") && !human.contains("two"), "{human}");

    // read: marks the conversation read; unread goes to 0.
    assert_eq!(bob.status()["unread"], 3);
    assert_eq!(
        bob.ctl(&["--json", "read", "alice"]).json(),
        json!({"marked": 3})
    );
    assert_eq!(bob.status()["unread"], 0);
    assert!(bob.log("alice").iter().all(|m| m["state"] == "read"));
    assert_eq!(
        bob.ctl(&["--json", "read", "alice"]).json(),
        json!({"marked": 0})
    );

    // Unknown contacts and empty messages.
    fails(alice.ctl(&["send", "nobody", "hi"]), 4, "nobody");
    fails(alice.ctl(&["log", "nobody"]), 4, "nobody");
    fails(alice.ctl_in(&["send", "bob"], "\n"), 2, "empty");
}

/// chat-ctl on its own, without a daemon.
fn chat_ctl(args: &[&str]) -> Ctl {
    let mut cmd = Command::new(e2e::bin("chat-ctl"));
    cmd.args(args);
    run_to_exit(cmd, T)
}

#[test]
fn no_daemon_completions_and_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let nowhere = dir.path().join("chatd.sock");
    let nowhere = nowhere.to_str().unwrap();
    for cmd in [
        &["status"][..],
        &["send", "bob", "hi"],
        &["watch"],
        &["--json", "log", "bob"],
    ] {
        let mut args = vec!["--socket", nowhere];
        args.extend_from_slice(cmd);
        fails(chat_ctl(&args), 3, "chatd");
    }

    let script = chat_ctl(&["completions", "bash"]);
    let script = script.success();
    assert!(
        script.contains("complete -F") && script.contains("chat-ctl"),
        "{script}"
    );
    for sub in ["register", "contact", "watch", "completions"] {
        assert!(script.contains(sub), "{sub}");
    }

    let unknown = chat_ctl(&["frobnicate"]);
    assert_eq!(unknown.code, 2, "{unknown:?}");
    assert!(unknown.stderr.contains("frobnicate"), "{unknown:?}");
    assert_eq!(chat_ctl(&[]).code, 2);
    assert_eq!(chat_ctl(&["send"]).code, 2);
    assert_eq!(chat_ctl(&["login", "--password", "hunter2"]).code, 2);
    assert_eq!(chat_ctl(&["completions", "tcsh"]).code, 2);
}

#[test]
fn a_stopped_daemon_is_exit_3_and_so_is_losing_it_while_watching() {
    let world = World::start();
    let mut alice = world.daemon("alice");
    alice.register(&world.relay);
    // Streaming: it printed the first stored event (the relay link changing).
    let watcher = alice.watch(&["--since", "0"]);
    assert_eq!(watcher.next(T)["event"], "connection.changed");
    alice.stop();
    let done = watcher.wait(T);
    assert_eq!(done.code, 3, "{done:?}");
    assert_eq!(done.stderr.trim_end().lines().count(), 1, "{done:?}");
    fails(alice.ctl(&["status"]), 3, "chatd");
}

#[test]
fn contact_fingerprints_are_grouped_like_everywhere_else() {
    let world = World::start();
    let (alice, bob) = pair(&world, "alice", "bob");
    let bob_fp = bob.ctl(&["--json", "id"]).json()["fingerprint"].clone();
    let listed = alice.ctl(&["--json", "contact", "list"]).json();
    assert_grouped_fingerprint(&listed[0]["fingerprint"]);
    assert_eq!(listed[0]["fingerprint"], bob_fp);
    let added = alice
        .ctl_in(&["--json", "contact", "add", "-"], &bob.card())
        .json();
    assert_eq!(added["fingerprint"], bob_fp);
    let verified = alice
        .ctl(&[
            "--json",
            "contact",
            "verify",
            "bob",
            bob_fp.as_str().unwrap(),
        ])
        .json();
    assert_eq!(verified["fingerprint"], bob_fp);
}

#[test]
fn read_of_an_unknown_user_is_exit_4_like_log() {
    let world = World::start();
    let (alice, _bob) = pair(&world, "alice", "bob");
    fails(alice.ctl(&["log", "nobody"]), 4, "nobody");
    fails(alice.ctl(&["read", "nobody"]), 4, "nobody");
}

#[test]
fn send_wait_to_a_deleted_account_ends_failed_with_exit_5() {
    let world = World::start();
    let (alice, bob) = pair(&world, "alice", "bob");
    bob.ctl_in(&["delete-account", "--password-stdin"], "bob-password\n")
        .success();
    // The relay knows no bob any more: it refuses the envelope for good.
    let failed = alice.ctl(&["send", "bob", "anyone there?", "--wait"]);
    let line = failed.fails_with(5).to_owned();
    assert!(line.contains("failed"), "{line}");
    let id = failed.stdout.trim();
    assert_eq!(id.len(), 32, "the id is printed first: {failed:?}");
    let log = alice.log("bob");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["id"], id);
    assert_eq!(log[0]["state"], "failed");
    assert_eq!(alice.status()["outbox_pending"], 0, "not retried forever");
}

#[test]
fn the_largest_message_goes_through_and_one_byte_more_is_refused() {
    let world = World::start();
    let (alice, bob) = pair(&world, "alice", "bob");
    let max = ipc_schema::envelope::MAX_BODY;
    let big: String = "0123456789abcdef".repeat(max / 16);
    assert_eq!(big.len(), max);
    let id = alice
        .ctl_in(&["send", "bob", "--wait-delivered"], &big)
        .success()
        .trim()
        .to_owned();
    let got = bob.log_n("alice", 1);
    assert_eq!(got[0]["id"], id.as_str());
    assert!(
        got[0]["body"] == big.as_str(),
        "the 4 MiB body arrives intact"
    );

    let too_big = format!("{big}x");
    fails(alice.ctl_in(&["send", "bob"], &too_big), 1, "limit");
    assert_eq!(alice.log("bob").len(), 1, "nothing queued");
}
