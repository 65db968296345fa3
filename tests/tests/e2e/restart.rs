//! Starting and stopping chatd. Restarts: keys come back from the keystore
//! (the OS keyring by default, or the passphrase-encrypted files), history and
//! the event log are intact. chatd refuses to start when it cannot be itself
//! (wrong passphrase, a second instance on the same data dir, no keyring and
//! no explicit choice), tells systemd when it is ready, and stops cleanly.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use e2e::{Daemon, World, eventually, run_to_exit, runtime};

/// Alice and bob exchange a message each way; returns once both arrived and
/// both senders saw their delivered receipts.
fn chat(alice: &Daemon, bob: &Daemon, tag: &str) {
    for (me, peer) in [(alice, "bob"), (bob, "alice")] {
        me.ctl(&[
            "send",
            peer,
            &format!("{tag}: hi {peer}"),
            "--wait-delivered",
            "--timeout",
            "15",
        ])
        .success();
    }
    for (me, peer) in [(alice, "bob"), (bob, "alice")] {
        let body = format!("{tag}: hi {peer}");
        eventually(
            Duration::from_secs(15),
            &format!("{body} delivered"),
            || {
                me.log(peer)
                    .iter()
                    .any(|m| m["body"] == body.as_str() && m["state"] == "delivered")
                    .then_some(())
            },
        );
    }
}

/// Restarts `alice` and checks she is the same person with the same history,
/// and can still sign, decrypt and talk to the relay.
fn restart_keeps_identity_and_history(alice: &mut Daemon, bob: &Daemon) {
    let id_before = alice.ctl(&["--json", "id"]).json();
    let card_before = alice.card();
    let log_before = alice.log("bob");
    assert_eq!(log_before.len(), 2, "{log_before:?}");
    let events_before = alice.events_after(0);

    alice.restart();

    // The event log survives too, and its numbering goes on where it was.
    let events_after = alice.events_after(0);
    assert_eq!(events_after[..events_before.len()], events_before[..]);
    let last_before = events_before.last().unwrap()["seq"].as_u64().unwrap();
    assert!(
        events_after[events_before.len()..]
            .iter()
            .all(|e| e["seq"].as_u64().unwrap() > last_before)
    );

    assert_eq!(alice.ctl(&["--json", "id"]).json(), id_before);
    assert_eq!(alice.card(), card_before);
    assert_eq!(alice.log("bob"), log_before, "history is intact");
    let status = alice.status();
    assert_eq!(status["user"], "alice");
    assert_eq!(status["fingerprint"], id_before["fingerprint"]);
    // The session token came back too: no `logged_out`, no login needed.
    eventually(Duration::from_secs(15), "alice connecting again", || {
        (alice.status()["connection"] != "logged_out").then_some(())
    });
    // The restored keys still work both ways: bob verifies alice's signature
    // and alice decrypts what bob sealed to her pinned card; the relay takes
    // alice's PUT and serves her mailbox with the restored token.
    chat(alice, bob, "after restart");
    assert_eq!(alice.log("bob").len(), 4);
    assert_eq!(alice.status()["connection"], "online");
}

#[test]
fn keys_come_back_from_the_keyring_after_a_restart_and_history_is_intact() {
    let world = World::start();
    let (mut alice, bob) = e2e::pair(&world, "alice", "bob");
    chat(&alice, &bob, "before restart");
    // Nothing secret on disk: the private keys live in the Secret Service.
    assert!(!alice.data_dir.join("keys").exists());
    restart_keeps_identity_and_history(&mut alice, &bob);
}

#[test]
fn file_keystore_survives_a_restart_and_a_wrong_passphrase_stops_chatd_with_one_line() {
    let world = World::start();
    let pass = world.dir.path().join("alice-passphrase");
    // As a careful user keeps it: chatd warns about one others can read.
    let write_pass = |text: &str| {
        std::fs::write(&pass, text).unwrap();
        std::fs::set_permissions(&pass, std::fs::Permissions::from_mode(0o600)).unwrap();
    };
    write_pass("correct horse battery staple\n");
    let pass_arg = pass.to_str().unwrap();
    let mut alice = world.daemon_with(
        "alice",
        &["--keystore", "file", "--passphrase-file", pass_arg],
        &[],
    );
    let bob = world.daemon("bob");
    alice.register(&world.relay);
    bob.register(&world.relay);
    alice.add_contact(&bob);
    bob.add_contact(&alice);
    chat(&alice, &bob, "before restart");

    // The keys are encrypted PKCS#8 files, private to the user.
    let keys = alice.data_dir.join("keys");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&keys), 0o700);
    for name in ["enc_key.p8", "sig_key.p8"] {
        assert_eq!(mode(&keys.join(name)), 0o600, "{name}");
    }

    restart_keeps_identity_and_history(&mut alice, &bob);

    // A wrong passphrase: chatd does not start, and says why in one line.
    alice.stop();
    write_pass("wrong passphrase\n");
    let mut cmd = alice.command();
    cmd.env("CHATD_LOG", "warn");
    let run = run_to_exit(cmd, Duration::from_secs(30));
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stdout.is_empty(), "never listened: {run:?}");
    let line = run.fails_with(run.code).trim();
    assert!(
        line.starts_with("chatd: ") && line.contains("wrong passphrase"),
        "{line}"
    );

    // The right passphrase again: everything is back.
    write_pass("correct horse battery staple\n");
    alice.start_again(&[]);
    assert_eq!(alice.log("bob").len(), 4);
    chat(&alice, &bob, "after the wrong passphrase");
}

#[test]
fn a_second_chatd_on_the_same_data_dir_refuses_to_start() {
    let world = World::start();
    let alice = world.daemon("alice");
    alice.register(&world.relay);

    let mut cmd = alice.command();
    cmd.env("CHATD_LOG", "warn");
    let run = run_to_exit(cmd, Duration::from_secs(30));
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stdout.is_empty(), "never listened: {run:?}");
    let line = run.fails_with(run.code).trim();
    assert!(
        line.starts_with("chatd: ") && line.contains("another chatd is already running"),
        "{line}"
    );
    // The first one is untouched and still answers on its socket.
    assert_eq!(alice.status()["user"], "alice");
}

#[test]
fn without_a_reachable_keyring_and_no_explicit_choice_chatd_names_both_remedies() {
    let world = World::start();
    let base = world.dir.path().join("no-keyring");
    let mut cmd = std::process::Command::new(e2e::bin("chatd"));
    cmd.arg("--data-dir")
        .arg(base.join("data"))
        .arg("--socket")
        .arg(base.join("run/chatd.sock"))
        .arg("--config")
        .arg(base.join("config.toml"))
        .env("HOME", world.home())
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", base.join("no-such-bus").display()),
        )
        .env("CHATD_LOG", "warn");
    let run = run_to_exit(cmd, Duration::from_secs(30));
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stdout.is_empty(), "never listened: {run:?}");
    let line = run.fails_with(run.code).trim();
    assert!(line.starts_with("chatd: "), "{line}");
    assert!(
        line.contains("keyring") && line.contains("--keystore file --passphrase-file"),
        "names both remedies: {line}"
    );
}

#[test]
fn the_relay_link_is_online_while_long_polling_an_empty_mailbox() {
    let world = World::start();
    let alice = world.daemon("alice");
    alice.register(&world.relay);
    // Registered and logged in, the relay up, the token valid, the long-poll
    // accepted: nothing is in the mailbox, so the poll waits its full 30 s,
    // but the link is up and `status` should say so.
    eventually(Duration::from_secs(5), "alice online", || {
        (alice.status()["connection"] == "online").then_some(())
    });
}

#[test]
fn chatd_tells_systemd_it_is_ready_and_stops_cleanly_on_sigterm_and_daemon_shutdown() {
    let world = World::start();
    let notify = world.dir.path().join("notify.sock");
    let systemd = UnixDatagram::bind(&notify).unwrap();
    systemd
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut alice = world.daemon_with("alice", &[], &[("NOTIFY_SOCKET", notify.to_str().unwrap())]);
    let mut buf = [0u8; 256];
    let n = systemd.recv(&mut buf).expect("READY=1 from chatd");
    assert_eq!(&buf[..n], b"READY=1");
    alice.register(&world.relay);

    // SIGTERM: exit 0 (asserted by `stop`), the socket is gone.
    alice.stop();
    assert!(!alice.socket.exists());
    assert!(alice.ctl(&["status"]).fails_with(3).contains("chatd"));

    // daemon.shutdown over IPC: answered first, then the same clean exit.
    alice.start_again(&[]);
    runtime().block_on(async {
        let mut client = alice.client().await;
        client
            .call(ipc_schema::methods::DaemonShutdownParams {})
            .await
            .expect("answered before stopping");
    });
    eventually(Duration::from_secs(20), "chatd exits", || {
        (!alice.is_running()).then_some(())
    });
    assert!(!alice.socket.exists());
    alice.stop(); // reaps it: exit status 0
}

#[test]
fn sigterm_right_after_startup_is_a_clean_stop() {
    let world = World::start();
    for round in 0..20 {
        let base = world.dir.path().join(format!("early-{round}"));
        let mut child = std::process::Command::new(e2e::bin("chatd"))
            .arg("--socket")
            .arg(base.join("run/chatd.sock"))
            .arg("--data-dir")
            .arg(base.join("data"))
            .arg("--config")
            .arg(base.join("config.toml"))
            .env("DBUS_SESSION_BUS_ADDRESS", &world.bus)
            .env("HOME", world.home())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // What systemd does for `systemctl --user restart` right after READY=1.
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        assert!(line.starts_with("listening on"), "{line}");
        e2e::signal(&child, libc::SIGTERM);
        let status = e2e::wait_exit(&mut child, Duration::from_secs(20)).expect("exits");
        assert!(
            status.success(),
            "round {round}: chatd exited with {status}"
        );
    }
}
