//! The local socket: private to the user, and robust against clients that
//! break the framing or send garbage — they get an error (and, for a broken
//! frame, the door), everybody else goes on being served.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::time::Duration;

use e2e::{Daemon, World, run_to_exit};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `status` from a separate chat-ctl process (its own connection).
fn served(d: &Daemon) {
    assert_eq!(d.status()["version"], env!("CARGO_PKG_VERSION"));
}

fn connect(d: &Daemon) -> (UnixStream, BufReader<UnixStream>) {
    let s = UnixStream::connect(&d.socket).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let r = BufReader::new(s.try_clone().unwrap());
    (s, r)
}

fn read_json(r: &mut BufReader<UnixStream>) -> serde_json::Value {
    let mut line = String::new();
    r.read_line(&mut line).expect("an answer");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
}

#[test]
fn the_socket_is_0600_in_a_0700_directory() {
    let world = World::start();
    let alice = world.daemon("alice");
    let meta = std::fs::metadata(&alice.socket).unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_socket(&meta.file_type()));
    assert_eq!(mode(&alice.socket), 0o600);
    assert_eq!(mode(alice.socket.parent().unwrap()), 0o700);
    // After a restart too (the socket file is made again).
    let mut alice = alice;
    alice.restart();
    assert_eq!(mode(&alice.socket), 0o600);
    assert_eq!(mode(alice.socket.parent().unwrap()), 0o700);
}

#[test]
fn chatd_refuses_a_socket_directory_that_is_open_foreign_or_a_symlink() {
    use std::os::unix::fs::PermissionsExt;
    let world = World::start();
    let mut alice = world.daemon("alice");
    alice.stop();
    let dir = alice.socket.parent().unwrap().to_owned();
    let refused = |why: &str| {
        let run = run_to_exit(alice.command(), Duration::from_secs(30));
        assert_ne!(run.code, 0, "{run:?}");
        assert!(run.stdout.is_empty(), "never listened: {run:?}");
        let line = run.fails_with(run.code).trim().to_owned();
        assert!(line.starts_with("chatd: cannot listen on"), "{line}");
        assert!(line.contains(why), "{why}: {line}");
    };
    // Opened wide (someone else could have put a socket in it).
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    refused("not 0700");
    assert_eq!(mode(&dir), 0o755, "refused, not quietly changed");
    // A symlink to a private directory (of the attacker's choosing).
    std::fs::remove_dir_all(&dir).unwrap();
    let elsewhere = world.dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &dir).unwrap();
    refused("symbolic link");
    // Another user's directory: only root can make one to test with.
    std::fs::remove_file(&dir).unwrap();
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
        refused("belongs to uid 65534");
        std::os::unix::fs::chown(&dir, Some(0), Some(0)).unwrap();
    }
    // Ours and private again: chatd starts.
    alice.start_again(&[]);
    assert_eq!(mode(&alice.socket), 0o600);
}

#[test]
fn a_20_mib_line_gets_frame_too_large_and_a_disconnect_while_others_are_served() {
    let world = World::start();
    let alice = world.daemon("alice");
    alice.register(&world.relay);
    let (mut bad, mut bad_reader) = connect(&alice);

    let (half_way, wrote_half) = mpsc::channel();
    let (go_on, carry_on) = mpsc::channel::<()>();
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'x'; 1024 * 1024];
        for mib in 0..20 {
            if mib == 8 {
                half_way.send(()).unwrap();
                carry_on.recv().unwrap();
            }
            if bad.write_all(&chunk).is_err() {
                return mib; // chatd hung up on us
            }
        }
        20
    });
    // 8 MiB of one unfinished line are in: others are still served.
    wrote_half.recv().unwrap();
    served(&alice);
    go_on.send(()).unwrap();

    // Past 16 MiB chatd answers frame_too_large (id null) and hangs up.
    let mut rest = Vec::new();
    let _ = bad_reader.read_to_end(&mut rest); // EOF, or a reset after the answer
    let written = writer.join().unwrap();
    assert!(
        written >= 16,
        "chatd read up to its 16 MiB cap first ({written} MiB)"
    );
    let text = String::from_utf8(rest).unwrap();
    let mut lines = text.lines();
    let answer: serde_json::Value = serde_json::from_str(lines.next().expect("an error frame"))
        .unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    assert_eq!(answer["error"]["code"], -32031, "{answer}");
    assert_eq!(answer["id"], serde_json::Value::Null);
    assert_eq!(lines.next(), None, "then the connection closes");

    served(&alice);
    assert_eq!(alice.status()["user"], "alice");
}

#[test]
fn invalid_json_gets_a_parse_error_and_the_connection_and_daemon_go_on() {
    let world = World::start();
    let alice = world.daemon("alice");
    let (mut s, mut r) = connect(&alice);

    s.write_all(b"this is not json\n").unwrap();
    let answer = read_json(&mut r);
    assert_eq!(answer["jsonrpc"], "2.0");
    assert_eq!(answer["id"], serde_json::Value::Null);
    assert_eq!(answer["error"]["code"], -32700, "{answer}");

    // Not even UTF-8.
    s.write_all(b"\xff\xfe{\n").unwrap();
    assert_eq!(read_json(&mut r)["error"]["code"], -32700);

    // JSON, but not a JSON-RPC request (no id): invalid_request.
    s.write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"status\"}\n")
        .unwrap();
    assert_eq!(read_json(&mut r)["error"]["code"], -32600);

    // Meanwhile another client is served.
    served(&alice);

    // The same connection still works: hello first, then calls.
    s.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"}\n")
        .unwrap();
    let answer = read_json(&mut r);
    assert_eq!(answer["id"], 1);
    assert_eq!(answer["error"]["code"], -32002, "hello_required: {answer}");
    s.write_all(
        b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"hello\",\"params\":{\"protocol\":1,\"client\":\"raw\"}}\n",
    )
    .unwrap();
    let answer = read_json(&mut r);
    assert_eq!(answer["id"], 2);
    assert_eq!(answer["result"]["protocol"], 1, "{answer}");
    s.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"status\"}\n")
        .unwrap();
    let answer = read_json(&mut r);
    assert_eq!(answer["id"], 3);
    assert_eq!(answer["result"]["connection"], "logged_out", "{answer}");

    served(&alice);
}

#[test]
fn hello_with_another_protocol_is_refused_clearly_and_rpc_discover_lists_every_method() {
    let world = World::start();
    let alice = world.daemon("alice");
    let (mut s, mut r) = connect(&alice);
    s.write_all(
        b"{\"jsonrpc\":\"2.0\",\"id\":\"h\",\"method\":\"hello\",\"params\":{\"protocol\":2,\"client\":\"future\"}}\n",
    )
    .unwrap();
    let answer = read_json(&mut r);
    assert_eq!(answer["id"], "h");
    assert_eq!(answer["error"]["code"], -32001, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains('2'));

    s.write_all(
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\",\"params\":{\"protocol\":1,\"client\":\"raw\"}}\n",
    )
    .unwrap();
    assert_eq!(read_json(&mut r)["result"]["user"], serde_json::Value::Null);
    s.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"rpc.discover\"}\n")
        .unwrap();
    let doc = read_json(&mut r);
    let methods: Vec<&str> = doc["result"]["methods"]
        .as_array()
        .unwrap_or_else(|| panic!("{doc}"))
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    for m in [
        "hello",
        "status",
        "account.register",
        "account.login",
        "account.logout",
        "account.delete",
        "identity.show",
        "identity.card",
        "contact.add",
        "contact.list",
        "contact.remove",
        "contact.verify",
        "message.send",
        "message.list",
        "conversation.list",
        "conversation.mark_read",
        "conversation.focus",
        "subscribe",
        "daemon.shutdown",
    ] {
        assert!(methods.contains(&m), "{m} missing from {methods:?}");
    }
}
