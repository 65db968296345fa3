//! Two relay instances on one PostgreSQL database (docs/RELAY.md, "Several
//! instances"): alice talks to one and bob to the other, and they chat; the
//! instance alice uses is killed with `kill -9`, she fails over to the other
//! (`register --relay A --relay B`), and nothing is lost.

use std::process::Command;
use std::time::Duration;

use e2e::{Daemon, Relay, Setup, World, eventually};

/// A database of this test's own in the cluster `CHAT_TEST_PG` names
/// (scripts/pg, started by scripts/test).
fn fresh_database() -> String {
    let admin = std::env::var("CHAT_TEST_PG").expect(
        "CHAT_TEST_PG: an admin URL of a PostgreSQL cluster; \
         export CHAT_TEST_PG=$(scripts/pg start /tmp/pgtest)",
    );
    let name = format!("e2e_{:016x}", rand_u64());
    let out = Command::new("psql")
        .args([admin.as_str(), "-qc", &format!("CREATE DATABASE {name}")])
        .output()
        .expect("psql runs");
    assert!(out.status.success(), "{out:?}");
    let base = admin.rsplit_once('/').expect("a URL with a database").0;
    format!("{base}/{name}")
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::UNIX_EPOCH.elapsed().unwrap().as_nanos());
    h.finish()
}

fn bodies(d: &Daemon, peer: &str) -> Vec<String> {
    d.incoming(peer)
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn alice_and_bob_on_two_instances_chat_and_a_killed_instance_loses_nothing() {
    let database = fresh_database();
    let logs = tempfile::tempdir().unwrap();
    let blobs = tempfile::tempdir().unwrap();
    // Both instances: the same database and the same blob directory, each
    // its own (otherwise unused) data dir.
    let args = vec![
        "--database".to_owned(),
        database,
        "--blob-dir".to_owned(),
        blobs.path().display().to_string(),
    ];
    let mut world = World::start_with(Setup {
        log_dir: Some(logs.path().to_owned()),
        relay_args: args.clone(),
        ..Setup::default()
    });
    let other = Relay::start_with(
        &world.dir.path().join("relay-b"),
        None,
        Some(&logs.path().join("relay-b.log")),
        &args,
    );
    let (a, b) = (world.relay.url.clone(), other.url.clone());
    let alice = world.daemon("alice");
    let bob = world.daemon("bob");
    alice.try_register_at(&a, 2048, &["--relay", &b]).success();
    bob.try_register_at(&b, 2048, &["--relay", &a]).success();
    alice.add_contact(&bob);
    bob.add_contact(&alice);
    assert_eq!(alice.status()["relay_url"], a.as_str());
    assert_eq!(bob.status()["relay_url"], b.as_str());

    // Stored through A, woken and fetched through B, and back.
    alice
        .ctl(&["send", "bob", "hello from instance A"])
        .success();
    eventually(Duration::from_secs(20), "bob has alice's text", || {
        (bodies(&bob, "alice") == ["hello from instance A"]).then_some(())
    });
    bob.ctl(&["send", "alice", "hello from instance B"])
        .success();
    eventually(Duration::from_secs(20), "alice has bob's text", || {
        (bodies(&alice, "bob") == ["hello from instance B"]).then_some(())
    });
    // A file goes up through A and down through B (the shared blob dir).
    let file = world.dir.path().join("notes.txt");
    std::fs::write(&file, "shared between instances\n").unwrap();
    alice
        .ctl(&["send", "bob", "--file", file.to_str().unwrap(), "--wait"])
        .success();
    let saved = world.dir.path().join("saved.txt");
    eventually(Duration::from_secs(30), "bob saves alice's file", || {
        let id = bob
            .incoming("alice")
            .into_iter()
            .find(|m| m["file"].is_object())?["id"]
            .as_str()?
            .to_owned();
        (bob.ctl(&["save", &id, saved.to_str().unwrap()]).code == 0).then_some(())
    });
    assert_eq!(
        std::fs::read_to_string(&saved).unwrap(),
        "shared between instances\n"
    );

    // kill -9 the instance alice uses; she writes while it is down.
    world.relay.kill9();
    alice.ctl(&["send", "bob", "after A died"]).success();
    bob.ctl(&["send", "alice", "bob, after A died"]).success();
    eventually(
        Duration::from_secs(60),
        "bob has alice's text via B",
        || (bodies(&bob, "alice").len() == 3).then_some(()),
    );
    eventually(
        Duration::from_secs(60),
        "alice has bob's text via B",
        || (bodies(&alice, "bob").len() == 2).then_some(()),
    );
    assert_eq!(bodies(&bob, "alice")[2], "after A died");
    assert_eq!(
        bodies(&alice, "bob"),
        ["hello from instance B", "bob, after A died"]
    );
    let status = alice.status();
    assert_eq!(status["relay_url"], b.as_str(), "{status}");
    assert_eq!(status["outbox_pending"], 0, "{status}");
    assert_eq!(bob.status()["outbox_pending"], 0);
}
