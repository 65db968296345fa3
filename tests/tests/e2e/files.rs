//! Files (docs/PROTOCOL.md §15) through real daemons, chat-ctl and a real
//! relay: alice sends a 100 MiB file to bob and to a group; the relay is
//! killed with `kill -9` halfway through the upload, and the upload goes on
//! from where the relay stopped; bob, carol and alice's other device each
//! save a byte-exact copy (digest checked). And a hostile peer's files: a
//! wrong digest, a blob cut short, a blob never uploaded, and names that
//! try to be paths or terminal escapes are refused or made safe, with the
//! reason on the message.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use chatd::crypto::{Card, Identity, KeyBits, seal};
use e2e::{Daemon, World, eventually, second_device};
use ipc_schema::{FileOffer, Payload};
use serde_json::Value;
use sha2::{Digest, Sha256};

const WAIT: Duration = Duration::from_secs(60);

/// Writes `size` pseudo-random bytes (xorshift) to `path`; their SHA-256.
fn make_file(path: &Path, size: usize, seed: u64) -> [u8; 32] {
    let mut x = seed | 1;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut hash = Sha256::new();
    let mut block = vec![0u8; 1 << 16];
    let mut left = size;
    while left > 0 {
        for b in block.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b.copy_from_slice(&x.to_le_bytes()[..b.len()]);
        }
        let n = left.min(block.len());
        out.write_all(&block[..n]).unwrap();
        hash.update(&block[..n]);
        left -= n;
    }
    out.flush().unwrap();
    hash.finalize().into()
}

fn sha256_of(path: &Path) -> [u8; 32] {
    let mut f = std::fs::File::open(path).unwrap();
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = std::io::Read::read(&mut f, &mut buf).unwrap();
        if n == 0 {
            return hash.finalize().into();
        }
        hash.update(&buf[..n]);
    }
}

/// The file message `id` in `d`'s conversation `peer` (`log --json`).
fn file_entry(d: &Daemon, peer: &str, id: &str) -> Option<Value> {
    d.log(peer)
        .into_iter()
        .find(|m| m["id"] == id && m["file"].is_object())
}

/// `chat-ctl save ID PATH`, checked to be byte-exact against `want`.
fn save_exact(d: &Daemon, id: &str, with: &str, dest: &Path, want: &[u8; 32]) {
    d.ctl(&["save", id, dest.to_str().unwrap(), "--with", with])
        .success();
    assert_eq!(&sha256_of(dest), want, "{}'s copy is byte-exact", d.name);
    std::fs::remove_file(dest).unwrap();
}

/// Bytes the relay holds of blob files being uploaded.
fn relay_blob_bytes(relay_dir: &Path) -> u64 {
    std::fs::read_dir(relay_dir.join("blobs"))
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0)
}

#[test]
fn a_100_mib_file_reaches_bob_a_group_and_another_device_through_a_relay_killed_mid_upload() {
    let mut world = World::start();
    let alice = world.daemon("alice");
    let bob = world.daemon("bob");
    let carol = world.daemon("carol");
    for d in [&alice, &bob, &carol] {
        d.register(&world.relay);
    }
    for d in [&bob, &carol] {
        alice.add_contact(d);
        d.add_contact(&alice);
    }
    // alice's laptop, restored from a backup file.
    let laptop = second_device(&world, &alice, "alice", "laptop");
    let group = alice
        .ctl(&["group", "create", "ops", "bob", "carol"])
        .success()
        .trim()
        .to_owned();
    let tag = format!("#{group}");
    eventually(WAIT, "carol is in the group", || {
        (carol.ctl(&["group", "info", &tag]).code == 0).then_some(())
    });

    let big = world.dir.path().join("core.dump");
    let want = make_file(&big, 100 << 20, 0x5eed);

    // The upload is cut by a kill -9 of the relay once it holds half the
    // blob; the relay comes back and the upload goes on.
    let id = alice
        .ctl(&["send", "bob", "--file", big.to_str().unwrap()])
        .success()
        .trim()
        .to_owned();
    let relay_dir = world.relay.data_dir().to_owned();
    eventually(WAIT, "the relay holds half the blob", || {
        (relay_blob_bytes(&relay_dir) >= 50 << 20).then_some(())
    });
    world.relay.kill9();
    let queued = file_entry(&alice, "bob", &id).expect("alice shows her file");
    assert_eq!(queued["state"], "queued", "not sent before the blob is up");
    assert_eq!(queued["file"]["state"], "uploading");
    std::thread::sleep(Duration::from_millis(300));
    world.relay.start_again();
    let sent = eventually(WAIT, "the message goes once its blob is up", || {
        file_entry(&alice, "bob", &id).filter(|m| m["state"] != "queued")
    });
    assert_eq!(sent["file"]["state"], "uploaded", "{sent}");
    assert_eq!(sent["body"], "core.dump");

    // bob has it, waiting (over the 25 MiB automatic limit), and `log`
    // says so; `save` fetches it and writes it byte-exact.
    let at_bob = eventually(WAIT, "bob has the file message", || {
        file_entry(&bob, "alice", &id)
    });
    assert_eq!(at_bob["file"]["size"], 100 << 20);
    assert_eq!(at_bob["file"]["state"], "waiting");
    let human = bob.ctl(&["log", "alice"]).success().to_owned();
    assert!(
        human.contains("[file core.dump, 104.9 MB]"),
        "log shows the file: {human}"
    );
    save_exact(
        &bob,
        &id[..8],
        "alice",
        &world.dir.path().join("bob.dump"),
        &want,
    );
    // An existing file is not replaced without --force.
    let taken = world.dir.path().join("taken");
    std::fs::write(&taken, b"mine").unwrap();
    bob.ctl(&["save", &id, taken.to_str().unwrap()])
        .fails_with(2);
    assert_eq!(std::fs::read(&taken).unwrap(), b"mine");

    // alice's laptop shows it as sent, and can save it too.
    eventually(WAIT, "the laptop shows the file", || {
        file_entry(&laptop, "bob", &id).filter(|m| m["direction"] == "out")
    });
    save_exact(
        &laptop,
        &id,
        "bob",
        &world.dir.path().join("laptop.dump"),
        &want,
    );

    // The same file to the group: bob and carol save it.
    let gid = alice
        .ctl(&["send", &tag, "--file", big.to_str().unwrap(), "--wait"])
        .success()
        .trim()
        .to_owned();
    for d in [&bob, &carol] {
        eventually(WAIT, &format!("{} has the group's file", d.name), || {
            file_entry(d, &tag, &gid)
        });
        let dest = world.dir.path().join(format!("{}-group.dump", d.name));
        save_exact(d, &gid, &tag, &dest, &want);
    }
    std::fs::remove_file(&big).unwrap();

    // A small file comes down by itself, is kept under the data dir by
    // sender and id (never by its name), and deleting it for everyone
    // removes it there.
    let small = world.dir.path().join("build.log");
    let small_sum = make_file(&small, 2_300_000, 7);
    let sid = alice
        .ctl(&["send", "bob", "--file", small.to_str().unwrap()])
        .success()
        .trim()
        .to_owned();
    let ready = eventually(WAIT, "bob fetches the small file by himself", || {
        file_entry(&bob, "alice", &sid).filter(|m| m["file"]["state"] == "ready")
    });
    assert_eq!(ready["file"]["media_type"], "text/plain");
    let kept = bob.data_dir.join("files").join(format!("alice-{sid}"));
    assert_eq!(sha256_of(&kept), small_sum);
    // An empty file is a file too.
    let empty = world.dir.path().join("empty.txt");
    std::fs::write(&empty, b"").unwrap();
    let eid = alice
        .ctl(&["send", "bob", "--file", empty.to_str().unwrap()])
        .success()
        .trim()
        .to_owned();
    eventually(WAIT, "bob has the empty file", || {
        file_entry(&bob, "alice", &eid).filter(|m| m["file"]["state"] == "ready")
    });
    let copy = world.dir.path().join("bob-empty.txt");
    bob.ctl(&["save", &eid, copy.to_str().unwrap()]).success();
    assert_eq!(std::fs::read(&copy).unwrap(), b"");

    let blobs = |dir: &Path| std::fs::read_dir(dir.join("blobs")).unwrap().count();
    let relay_dir = world.relay.data_dir().to_owned();
    let before = blobs(&relay_dir);
    alice.ctl(&["delete", &sid]).success();
    eventually(WAIT, "bob's copy is gone with the message", || {
        (!kept.exists()).then_some(())
    });
    eventually(WAIT, "and its blob from the relay", || {
        (blobs(&relay_dir) == before - 1).then_some(())
    });
}

/// A hostile contact's file message, sealed by a test client.
fn offer_from(mallory: &Identity, bob: &Card, api: &e2e::RelayApi, token: &str, offer: FileOffer) {
    let env = seal(
        mallory,
        bob,
        &Payload::File(offer),
        chatd::store::now_ms(),
        &mut rand::rng(),
    )
    .expect("seal");
    let reply = api.put(token, &serde_json::to_value(env).unwrap());
    assert_eq!(reply.status, 201, "{reply:?}");
}

/// Seals `content` as a file blob (docs/PROTOCOL.md §15) and uploads
/// `keep` of its bytes (all of them when `None`), declared as that many;
/// the offer for it.
fn upload(
    dir: &Path,
    api: &e2e::RelayApi,
    token: &str,
    name: &str,
    content: &[u8],
    keep: Option<usize>,
) -> FileOffer {
    let src: PathBuf = dir.join("src");
    std::fs::write(&src, content).unwrap();
    let spool = dir.join("spool");
    let sealed = chatd::files::seal_to_spool(&src, &spool, &mut rand::rng()).unwrap();
    let mut blob = std::fs::read(&spool).unwrap();
    if let Some(n) = keep {
        blob.truncate(n);
    }
    let n = blob.len() as u64;
    let put = api.upload_blob(token, &sealed.id, n, &["bob"], blob);
    assert!(put.status < 300, "{put:?}");
    FileOffer {
        blob: sealed.id,
        size: sealed.size,
        name: name.into(),
        media_type: "text/plain".into(),
        key: base64::engine::general_purpose::STANDARD.encode(sealed.key.bytes()),
        sha256: ipc_schema::fingerprint::to_hex(&sealed.sha256),
        reply_to: None,
        group: None,
        to: None,
    }
}

#[test]
fn hostile_files_are_refused_or_made_safe_and_bob_goes_on() {
    let world = World::start();
    let bob = world.daemon("bob");
    bob.register(&world.relay);
    let api = world.relay.api();
    let mallory = Identity::generate("mallory", KeyBits::B2048, &mut rand::rng()).unwrap();
    let reply = api.register("mallory", "mallory-password", mallory.card().to_value());
    assert_eq!(reply.status, 201, "{reply:?}");
    let token = api.login("mallory", "mallory-password");
    bob.ctl_in(&["contact", "add", "-"], &mallory.card().to_json())
        .success();
    let bob_card = Card::from_json(bob.card().as_bytes()).unwrap();
    let dir = world.dir.path();
    let content = vec![b'x'; 3 * (1 << 20) + 5];

    // 1. The digest is not the file's.
    let mut wrong = upload(dir, &api, &token, "report.txt", &content, None);
    wrong.sha256 = "00".repeat(32);
    offer_from(&mallory, &bob_card, &api, &token, wrong.clone());
    // 2. The blob is cut short at a chunk boundary.
    let cut = upload(dir, &api, &token, "cut.txt", &content, Some(1_048_640 * 2));
    offer_from(&mallory, &bob_card, &api, &token, cut.clone());
    // 3. A blob never uploaded.
    let mut never = wrong.clone();
    never.blob = format!("{:032x}", rand::random::<u128>());
    offer_from(&mallory, &bob_card, &api, &token, never.clone());
    // 4. Names that want to be paths, or to drive the terminal.
    let hostile = "../../.bashrc\u{1b}[31m\u{202e}txt.exe";
    let named = upload(dir, &api, &token, hostile, b"echo pwned", None);
    offer_from(&mallory, &bob_card, &api, &token, named.clone());
    let absolute = upload(
        dir,
        &api,
        &token,
        "/etc/cron.d/evil",
        b"* * * * * root x",
        None,
    );
    offer_from(&mallory, &bob_card, &api, &token, absolute.clone());

    let by_blob = |blob: &str| -> Option<Value> {
        let log = bob.log("mallory");
        let offers = [&wrong, &cut, &never, &named, &absolute];
        let i = offers.iter().position(|o| o.blob == blob)?;
        // Messages come in the order they were sent.
        log.into_iter().filter(|m| m["file"].is_object()).nth(i)
    };
    let settled = |blob: &str| {
        by_blob(blob).filter(|m| m["file"]["state"] == "failed" || m["file"]["state"] == "ready")
    };
    let failed = |blob: &str, reason: &str| {
        let m = eventually(WAIT, reason, || settled(blob));
        assert_eq!(m["file"]["state"], "failed", "{m}");
        let why = m["file"]["failure"].as_str().unwrap_or_default().to_owned();
        assert!(why.contains(reason), "{why} should say {reason}");
    };
    failed(&wrong.blob, "bad_digest");
    failed(&cut.blob, "bad_");
    failed(&never.blob, "no such file");
    let files = bob.data_dir.join("files");
    for blob in [&wrong.blob, &cut.blob, &never.blob] {
        let m = by_blob(blob).unwrap();
        let id = m["id"].as_str().unwrap();
        assert!(
            !files.join(format!("mallory-{id}")).exists()
                && !files.join(format!("mallory-{id}.partial")).exists(),
            "nothing of a refused file is kept"
        );
        bob.ctl(&[
            "save",
            id,
            dir.join("x").to_str().unwrap(),
            "--timeout",
            "20",
        ])
        .fails_with(5);
    }

    // The hostile names show without their path, controls or bidi marks,
    // and `save` into a directory writes only inside it.
    let m = eventually(WAIT, "the named file comes down", || settled(&named.blob));
    assert_eq!(m["file"]["state"], "ready", "{m}");
    assert_eq!(m["body"], "bashrc[31mtxt.exe");
    let out = dir.join("saved");
    std::fs::create_dir(&out).unwrap();
    let id = m["id"].as_str().unwrap();
    bob.ctl(&["save", id, out.to_str().unwrap()]).success();
    let written: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(written, vec!["bashrc[31mtxt.exe".to_owned()]);
    let m = eventually(WAIT, "the absolute one", || settled(&absolute.blob));
    assert_eq!(m["body"], "evil");
    let human = bob.ctl(&["log", "mallory"]).success().to_owned();
    assert!(
        !human.contains('\u{1b}') && !human.contains('\u{202e}'),
        "{human:?}"
    );
    assert!(human.contains("(failed: the file does not check (bad_digest): refused)"));

    // bob goes on: a text from mallory still arrives.
    let env = seal(
        &mallory,
        &bob_card,
        &Payload::text("still here"),
        chatd::store::now_ms(),
        &mut rand::rng(),
    )
    .unwrap();
    api.put(&token, &serde_json::to_value(env).unwrap());
    eventually(WAIT, "the next text", || {
        bob.incoming("mallory")
            .into_iter()
            .find(|m| m["body"] == "still here")
    });
}
