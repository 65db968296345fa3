//! The threat model of docs/SECURITY.md, checked through the real parts: what
//! a stolen disk holds (chatd's and the relay's), what the logs hold, what
//! another local user can do with the socket, and what a sender learns when
//! its envelope fails to open. The last test keeps the document honest: every
//! `path::test` it names must exist.

use std::ffi::CString;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chatd::crypto::passphrase;
use chatd::crypto::{Card, Identity, KeyBits, Peers, open, seal};
use e2e::{Daemon, World, bin, eventually, pair};
use ipc_schema::{Envelope, Payload, ReceiptKind};

// --- helpers -------------------------------------------------------------------

/// Every regular file under `dir`, recursively, with its bytes.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                todo.push(path);
            } else if meta.is_file() {
                let bytes = std::fs::read(&path).unwrap();
                out.push((path, bytes));
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The files under `dir` that contain `needle`.
fn holding(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|(_, bytes)| contains(bytes, needle))
        .map(|(p, _)| p)
        .collect()
}

/// The start of every RSA private key in PKCS#8 DER: version 0, the
/// rsaEncryption algorithm identifier, and the OCTET STRING holding the key.
const PKCS8_RSA: &[u8] = &[
    0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
    0x05, 0x00, 0x04, 0x82,
];

/// Decrypts one secret of a daemon's file keystore.
fn file_secret(d: &Daemon, name: &str, pass: &str) -> Vec<u8> {
    let der = std::fs::read(d.data_dir.join(format!("keys/{name}.p8"))).unwrap();
    passphrase::decrypt(pass.as_bytes(), &der)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .secret
        .expose_secret()
        .to_vec()
}

/// Strings that betray a key if they show up: a stretch from the middle of
/// its DER, as base64 and as hex.
fn key_traces(der: &[u8]) -> Vec<Vec<u8>> {
    let b64 = B64.encode(der);
    let hex: String = der.iter().map(|b| format!("{b:02x}")).collect();
    vec![
        der[300..332].to_vec(),
        b64.as_bytes()[400..440].to_vec(),
        hex.as_bytes()[600..640].to_vec(),
    ]
}

fn file_keystore_args(pass: &Path) -> Vec<String> {
    vec![
        "--keystore".into(),
        "file".into(),
        "--passphrase-file".into(),
        pass.to_str().unwrap().into(),
    ]
}

fn daemon_with_file_keystore(world: &World, name: &str, pass: &str) -> Daemon {
    let path = world.dir.path().join(format!("{name}-passphrase"));
    std::fs::write(&path, format!("{pass}\n")).unwrap();
    let args = file_keystore_args(&path);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    world.daemon_with(name, &args, &[])
}

/// A process of ours that dies with the test.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads the first stdout line (`listening on …`) and keeps draining.
fn listening_on(child: &mut Child) -> String {
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    std::thread::spawn(move || {
        let mut sink = String::new();
        while reader.read_line(&mut sink).unwrap_or(0) > 0 {
            sink.clear();
        }
    });
    line.trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("printed {line:?}"))
        .to_owned()
}

/// Restarts `d` (already stopped) as a child of the test, its stderr going to
/// `log` and its log level set to `level`.
fn chatd_logging_to(d: &Daemon, log: &Path, level: &str) -> Proc {
    let mut cmd = d.command();
    cmd.env("CHATD_LOG", level)
        .stdout(Stdio::piped())
        .stderr(File::create(log).unwrap());
    let mut child = cmd.spawn().expect("start chatd");
    assert_eq!(PathBuf::from(listening_on(&mut child)), d.socket);
    Proc(child)
}

/// Registers `d` as its own name on the relay at `url`, 2048-bit keys.
fn register_at(d: &Daemon, url: &str) {
    d.register_at(url, 2048);
}

/// A contact book of exactly one card.
struct OneContact(Card);

impl Peers for OneContact {
    fn contact(&self, user: &str) -> Option<&Card> {
        (self.0.user() == user).then_some(&self.0)
    }
    fn already_seen(&self, _: &str, _: &str) -> bool {
        false
    }
}

fn envelope_value(env: &Envelope) -> serde_json::Value {
    serde_json::to_value(env).unwrap()
}

// --- stolen disks --------------------------------------------------------------

#[test]
fn a_stolen_chatd_disk_reads_the_history_but_no_keys_tokens_or_passwords() {
    let world = World::start();
    let mut alice = daemon_with_file_keystore(&world, "alice", "alice passphrase");
    let mut bob = world.daemon("bob");
    alice.register(&world.relay);
    bob.register(&world.relay);
    alice.add_contact(&bob);
    bob.add_contact(&alice);
    let secret = "stolen-disk marker: the vault opens at dawn";
    alice
        .ctl(&["send", "bob", secret, "--wait-delivered", "--timeout", "20"])
        .success();
    eventually(Duration::from_secs(20), "bob has it", || {
        (!bob.incoming("alice").is_empty()).then_some(())
    });
    // What the file keystore holds, read with the passphrase.
    let enc = file_secret(&alice, "enc_key", "alice passphrase");
    let sig = file_secret(&alice, "sig_key", "alice passphrase");
    let token = file_secret(&alice, "relay_token", "alice passphrase");
    assert_eq!(
        file_secret(&alice, "relay_password", "alice passphrase"),
        b"alice-password"
    );
    let me = Identity::from_pkcs8("alice", &enc, &sig).unwrap();
    let card = Card::from_json(alice.card().as_bytes()).unwrap();
    assert_eq!(
        me.card().fingerprint().to_hex(),
        card.fingerprint().to_hex()
    );
    alice.stop();
    bob.stop();

    for d in [&alice, &bob] {
        // The history is plaintext SQLite: a known limit, pinned here so that
        // encrypting it one day updates docs/SECURITY.md too.
        assert!(
            !holding(&d.data_dir, secret.as_bytes()).is_empty(),
            "{}'s history holds the text",
            d.name
        );
        // Nothing a thief could log in or decrypt with.
        for needle in [
            &b"alice-password"[..],
            b"bob-password",
            b"alice passphrase",
            PKCS8_RSA,
            b"PRIVATE KEY",
            &token[..],
        ] {
            assert_eq!(
                holding(&d.data_dir, needle),
                Vec::<PathBuf>::new(),
                "{}: {}",
                d.name,
                String::from_utf8_lossy(needle)
            );
        }
        for trace in key_traces(&enc).iter().chain(&key_traces(&sig)) {
            assert_eq!(holding(&d.data_dir, trace), Vec::<PathBuf>::new());
        }
        // Private to the user: the data dir is 0700.
        let mode = std::fs::metadata(&d.data_dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{}", d.name);
    }
    // The file keystore is the only place alice's keys are, and only encrypted.
    let keys: Vec<String> = files_under(&alice.data_dir.join("keys"))
        .into_iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    // Four secrets, and the check that proves the passphrase at open.
    assert_eq!(keys.len(), 5, "{keys:?}");
    assert!(keys.iter().all(|k| k.ends_with(".p8")), "{keys:?}");
    assert!(
        bob.data_dir.join("keys").read_dir().is_err(),
        "bob uses the keyring"
    );
}

#[test]
fn the_relay_disk_holds_no_plaintext_before_or_after_delivery() {
    let world = World::start();
    let (alice, mut bob) = pair(&world, "alice", "bob");
    bob.stop();
    let secret = "relay-disk marker: meet me by the old mill";
    let id = alice
        .ctl(&["send", "bob", secret, "--wait"])
        .success()
        .trim()
        .to_owned();
    let relay_dir = world.dir.path().join("relay");
    let check = |when: &str| {
        for needle in [
            secret.as_bytes(),
            b"old mill",
            b"alice-password",
            b"bob-password",
            PKCS8_RSA,
        ] {
            assert_eq!(
                holding(&relay_dir, needle),
                Vec::<PathBuf>::new(),
                "{when}: {}",
                String::from_utf8_lossy(needle)
            );
        }
    };
    check("pending");

    // What the relay does see: who, to whom, when, and a size bucket.
    let api = world.relay.api();
    let bob_token = api.login("bob", "bob-password");
    let pending = api.pending(&bob_token);
    assert_eq!(pending.len(), 1);
    let env = &pending[0];
    assert_eq!(env["id"], id.as_str());
    assert_eq!(
        (env["from"].as_str(), env["to"].as_str()),
        (Some("alice"), Some("bob"))
    );
    let sent = alice.log("bob");
    assert_eq!(env["ts"], sent[0]["ts"], "the sender's clock, in clear");
    let ct = B64.decode(env["ct"].as_str().unwrap()).unwrap();
    assert_eq!(ct.len(), 256 + 16, "one 256-byte bucket");

    bob.start_again(&[]);
    eventually(Duration::from_secs(20), "bob has it", || {
        (!bob.incoming("alice").is_empty()).then_some(())
    });
    eventually(Duration::from_secs(20), "bob's mailbox is empty", || {
        api.pending(&bob_token).is_empty().then_some(())
    });
    check("delivered");
}

#[test]
fn logout_forgets_the_token_and_password_and_delete_account_forgets_every_secret() {
    let world = World::start();
    let alice = daemon_with_file_keystore(&world, "alice", "alice passphrase");
    alice.register(&world.relay);
    let keys = alice.data_dir.join("keys");
    let stored = || {
        let mut names: Vec<String> = files_under(&keys)
            .into_iter()
            .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let all = [
        "enc_key.p8",
        "passphrase_check.p8",
        "relay_password.p8",
        "relay_token.p8",
        "sig_key.p8",
    ];
    assert_eq!(stored(), all);
    alice.ctl(&["logout"]).success();
    assert_eq!(
        stored(),
        ["enc_key.p8", "passphrase_check.p8", "sig_key.p8"]
    );
    alice
        .ctl_in(&["login", "--password-stdin"], "alice-password\n")
        .success();
    assert_eq!(stored(), all);
    alice
        .ctl_in(&["delete-account", "--password-stdin"], "alice-password\n")
        .success();
    assert_eq!(stored(), Vec::<String>::new());
}

// --- logs ----------------------------------------------------------------------

#[test]
fn trace_logs_of_chatd_and_the_relay_hold_no_plaintext_keys_tokens_or_passwords() {
    let world = World::start();
    // A relay of our own, its log captured at the most verbose level.
    let relay_dir = world.dir.path().join("traced-relay");
    let relay_log = world.dir.path().join("relay.log");
    let mut relay = std::process::Command::new(bin("relay-server"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&relay_dir)
        .env("RELAY_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(File::create(&relay_log).unwrap())
        .spawn()
        .expect("start relay-server");
    let url = listening_on(&mut relay);
    let _relay = Proc(relay);

    let mut alice = daemon_with_file_keystore(&world, "alice", "alice passphrase");
    let mut bob = daemon_with_file_keystore(&world, "bob", "bob passphrase");
    alice.stop();
    bob.stop();
    let alice_log = world.dir.path().join("alice.log");
    let bob_log = world.dir.path().join("bob.log");
    let _a = chatd_logging_to(&alice, &alice_log, "trace");
    let _b = chatd_logging_to(&bob, &bob_log, "trace");

    register_at(&alice, &url);
    register_at(&bob, &url);
    alice.add_contact(&bob);
    bob.add_contact(&alice);
    let first_token = file_secret(&alice, "relay_token", "alice passphrase");
    // A logout and a login, so a second token and the password go through too.
    alice.ctl(&["logout"]).success();
    alice
        .ctl_in(&["login", "--password-stdin"], "alice-password\n")
        .success();
    let secret = "log marker: the treasure is under the third stone";
    alice
        .ctl(&["send", "bob", secret, "--wait-delivered", "--timeout", "20"])
        .success();
    bob.ctl(&[
        "send",
        "alice",
        "log marker: reply from bob",
        "--wait-delivered",
    ])
    .success();
    eventually(Duration::from_secs(20), "alice has the reply", || {
        (!alice.incoming("bob").is_empty()).then_some(())
    });

    let mut needles: Vec<Vec<u8>> = vec![
        secret.into(),
        b"third stone".to_vec(),
        b"reply from bob".to_vec(),
        b"alice-password".to_vec(),
        b"bob-password".to_vec(),
        b"alice passphrase".to_vec(),
        b"bob passphrase".to_vec(),
        first_token,
    ];
    for (d, pass) in [(&alice, "alice passphrase"), (&bob, "bob passphrase")] {
        needles.push(file_secret(d, "relay_token", pass));
        for key in ["enc_key", "sig_key"] {
            needles.extend(key_traces(&file_secret(d, key, pass)));
        }
    }
    for log in [&alice_log, &bob_log, &relay_log] {
        let text = std::fs::read(log).unwrap();
        assert!(text.len() > 1000, "{} logged at trace level", log.display());
        for needle in &needles {
            assert!(
                !contains(&text, needle),
                "{} holds {:?}",
                log.display(),
                String::from_utf8_lossy(needle)
            );
        }
    }
    // What the logs do name: users (and, for chatd, message ids).
    let alice_text = std::fs::read_to_string(&alice_log).unwrap();
    assert!(alice_text.contains("alice"), "user names are logged");
}

// --- another local user --------------------------------------------------------

/// What a probe running as another uid got from the socket.
#[derive(Debug, PartialEq, Eq)]
enum Probe {
    /// connect(2) failed with EACCES: the 0700 directory or 0600 socket.
    PermissionDenied,
    /// Connected, but chatd hung up without answering `hello`.
    HungUp,
    /// chatd answered.
    Answered,
    /// Anything else (exit code of the probe).
    Other(i32),
}

/// Forks, becomes `uid`, connects to `socket`, says `hello`, and reports.
/// The child makes raw system calls only (no allocation after fork).
fn probe_as(uid: u32, socket: &Path) -> Probe {
    let path = CString::new(socket.as_os_str().as_bytes()).unwrap();
    let hello = b"{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"hello\",\"params\":{\"protocol\":1,\"client\":\"intruder\"}}\n";
    // SAFETY: plain C structs, zero is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_bytes_with_nul();
    assert!(bytes.len() <= addr.sun_path.len(), "socket path too long");
    for (dst, src) in addr.sun_path.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    // SAFETY: the child only makes async-signal-safe calls and `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        unsafe {
            if libc::setgid(uid) != 0 || libc::setuid(uid) != 0 {
                libc::_exit(10);
            }
            let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0);
            if fd < 0 {
                libc::_exit(11);
            }
            let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
            if libc::connect(fd, &addr as *const _ as *const libc::sockaddr, len) != 0 {
                let err = *libc::__errno_location();
                libc::_exit(if err == libc::EACCES { 20 } else { 21 });
            }
            let sent = libc::send(
                fd,
                hello.as_ptr() as *const libc::c_void,
                hello.len(),
                libc::MSG_NOSIGNAL,
            );
            if sent < 0 {
                libc::_exit(0); // already hung up
            }
            let mut pfd = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            if libc::poll(&mut pfd, 1, 15_000) <= 0 {
                libc::_exit(30); // neither an answer nor a hang-up
            }
            let mut buf = [0u8; 1];
            let n = libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, 1);
            libc::_exit(match n {
                0 => 0,
                n if n > 0 => 31,
                _ if *libc::__errno_location() == libc::ECONNRESET => 0,
                _ => 32,
            });
        }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(libc::WIFEXITED(status), "probe died: {status}");
    match libc::WEXITSTATUS(status) {
        0 => Probe::HungUp,
        20 => Probe::PermissionDenied,
        31 => Probe::Answered,
        code => Probe::Other(code),
    }
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn another_local_user_is_stopped_by_the_socket_modes_and_then_by_the_peer_uid_check() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: acting as another uid needs root (the suite runs as root in CI)");
        return;
    }
    const NOBODY: u32 = 65534;
    let world = World::start();
    let alice = world.daemon("alice");
    alice.register(&world.relay);
    let run_dir = alice.socket.parent().unwrap().to_owned();
    // Let other users walk down to the socket's directory (the test's temp
    // dir is 0700 itself); the directory and socket keep chatd's modes.
    for dir in [world.dir.path(), run_dir.parent().unwrap()] {
        chmod(dir, 0o711);
    }
    // The probe works: as alice's own uid it gets an answer.
    assert_eq!(probe_as(0, &alice.socket), Probe::Answered);
    // Layer 1: the 0700 directory and 0600 socket refuse the connection.
    assert_eq!(probe_as(NOBODY, &alice.socket), Probe::PermissionDenied);
    // Layer 2: with both opened wide (a mistake, or a path an admin shares),
    // chatd still hangs up on a peer whose uid is not its own, unanswered.
    chmod(&run_dir, 0o711);
    chmod(&alice.socket, 0o666);
    assert_eq!(probe_as(NOBODY, &alice.socket), Probe::HungUp);
    assert_eq!(probe_as(NOBODY, &alice.socket), Probe::HungUp);
    // And goes on serving its own user.
    assert_eq!(probe_as(0, &alice.socket), Probe::Answered);
    assert_eq!(alice.status()["user"], "alice");
}

// --- what a sender learns ------------------------------------------------------

#[test]
fn envelopes_that_fail_to_open_send_nothing_back_to_their_sender() {
    let world = World::start();
    let mut alice = daemon_with_file_keystore(&world, "alice", "alice passphrase");
    let bob = world.daemon("bob");
    alice.register(&world.relay);
    bob.register(&world.relay);
    alice.add_contact(&bob);
    bob.add_contact(&alice);
    // alice's real identity, from her keystore, to seal envelopes by hand.
    let me = Identity::from_pkcs8(
        "alice",
        &file_secret(&alice, "enc_key", "alice passphrase"),
        &file_secret(&alice, "sig_key", "alice passphrase"),
    )
    .unwrap();
    // alice's daemon stops: whatever bob sends back waits in her mailbox.
    alice.stop();
    let api = world.relay.api();
    let alice_token = api.login("alice", "alice-password");
    let bob_token = api.login("bob", "bob-password");
    let bob_card = Card::from_json(bob.card().as_bytes()).unwrap();
    let now = chatd::store::now_ms();
    let text = |s: &str| Payload::text(s);

    // 1. A good one.
    let good = seal(&me, &bob_card, &text("good one"), now, &mut rand::rng()).unwrap();
    // 2. Properly signed by alice, but its key wrapped for another key: bob
    //    does the private-key operation, and it fails (the Marvin scenario).
    let mallory = Identity::generate("alice", KeyBits::B2048, &mut rand::rng()).unwrap();
    let mut wrong = bob_card.to_value();
    wrong["enc"] = mallory.card().to_value()["enc"].clone();
    let wrong = Card::from_value(&wrong).unwrap();
    let undecryptable = seal(
        &me,
        &wrong,
        &text("undecryptable one"),
        now,
        &mut rand::rng(),
    )
    .unwrap();
    // 3. Claims to be alice, signed by mallory.
    let forged = seal(
        &mallory,
        &bob_card,
        &text("forged one"),
        now,
        &mut rand::rng(),
    )
    .unwrap();
    for env in [&undecryptable, &forged, &good] {
        assert_eq!(api.put(&alice_token, &envelope_value(env)).status, 201);
    }

    let dropped = eventually(Duration::from_secs(20), "bob drops two", || {
        let d = bob.status()["dropped"].clone();
        (d["undecryptable"] == 1 && d["bad_signature"] == 1).then_some(d)
    });
    assert_eq!(dropped["unknown_sender"], 0);
    eventually(Duration::from_secs(20), "bob's mailbox is empty", || {
        api.pending(&bob_token).is_empty().then_some(())
    });
    let shown = bob.incoming("alice");
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0]["body"], "good one");

    // Back in alice's mailbox: one delivered receipt, for the good one only.
    let back = eventually(Duration::from_secs(20), "a receipt for alice", || {
        let p = api.pending(&alice_token);
        (!p.is_empty()).then_some(p)
    });
    std::thread::sleep(Duration::from_secs(2));
    let back_later = api.pending(&alice_token);
    assert_eq!(back_later, back, "nothing else comes back");
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(
        (back[0]["from"].as_str(), back[0]["to"].as_str()),
        (Some("bob"), Some("alice"))
    );
    let receipt: Envelope = serde_json::from_value(back[0].clone()).unwrap();
    let opened = open(&me, &receipt, &OneContact(bob_card), &mut rand::rng()).unwrap();
    assert_eq!(
        opened.payload,
        Payload::Receipt {
            ids: vec![good.id.clone()],
            kind: ReceiptKind::Delivered,
        }
    );
}

// --- the document --------------------------------------------------------------

/// Every `path::test_name` in docs/SECURITY.md names an existing file that
/// defines `fn test_name`.
#[test]
fn every_test_named_in_security_md_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc = std::fs::read_to_string(root.join("docs/SECURITY.md")).unwrap();
    let mut checked = 0;
    let mut missing = Vec::new();
    for (i, span) in doc.split('`').enumerate() {
        // Odd pieces are inside backticks.
        if i % 2 == 0 {
            continue;
        }
        let Some((path, name)) = span.rsplit_once("::") else {
            continue;
        };
        if !path.ends_with(".rs") {
            continue;
        }
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "malformed reference `{span}`"
        );
        checked += 1;
        let source = std::fs::read_to_string(root.join(path)).unwrap_or_default();
        let defines =
            source.contains(&format!("fn {name}(")) || source.contains(&format!("fn {name}<"));
        if !defines {
            missing.push(span.to_owned());
        }
    }
    assert!(
        missing.is_empty(),
        "docs/SECURITY.md names tests that do not exist: {missing:#?}"
    );
    assert!(
        checked >= 40,
        "only {checked} test references found; the convention is `path::test_name`"
    );
}
