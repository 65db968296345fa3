//! Edits, deletes and reactions (docs/PROTOCOL.md §14) through real
//! daemons and a real relay: bob edits his text and alice sees the latest
//! version, marked edited; alice reacts and takes it back; bob deletes his
//! text and nothing of it is left in alice's database files; the same in a
//! group; and nobody changes a message that is not theirs.

use std::time::Duration;

use e2e::{Daemon, World, eventually, pair, second_device};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

/// The message `id` of conversation `peer` at `d`, as `log --json` shows it.
fn entry(d: &Daemon, peer: &str, id: &str) -> Option<Value> {
    d.log(peer).into_iter().find(|m| m["id"] == id)
}

/// Every byte of `d`'s database files.
fn database_bytes(d: &Daemon) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["chatd.db", "chatd.db-wal", "chatd.db-journal"] {
        if let Ok(bytes) = std::fs::read(d.data_dir.join(name)) {
            all.extend(bytes);
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn a_message_is_edited_reacted_to_and_deleted_for_everyone() {
    let world = World::start();
    let (alice, bob) = pair(&world, "alice", "bob");
    let id = bob.ctl(&["send", "bob-never-types-this", "x"]).code;
    assert_eq!(id, 4, "an unknown recipient");
    let id = bob
        .ctl(&["send", "alice", "deploy at noon, vault code 7719"])
        .success()
        .trim()
        .to_owned();
    eventually(WAIT, "alice has bob's text", || entry(&alice, "bob", &id));

    // bob edits it (by its first 8 hex digits): alice sees the new text.
    let short = &id[..8];
    bob.ctl(&["edit", short, "deploy at 13:00, vault code 7719"])
        .success();
    let edited = eventually(WAIT, "alice sees the edit", || {
        entry(&alice, "bob", &id).filter(|m| m["edited"] == true)
    });
    assert_eq!(edited["body"], "deploy at 13:00, vault code 7719");
    // Not alice's to edit or delete.
    alice.ctl(&["edit", &id, "alice was here"]).fails_with(4);
    alice.ctl(&["delete", &id]).fails_with(4);

    // alice reacts; bob sees it; alice takes it back.
    alice.ctl(&["react", short, "👍"]).success();
    eventually(WAIT, "bob sees alice's reaction", || {
        entry(&bob, "alice", &id)
            .filter(|m| m["reactions"] == serde_json::json!([{"emoji": "👍", "users": ["alice"]}]))
    });
    assert_eq!(alice.ctl(&["react", short, "a b"]).code, 2, "a usage error");
    alice.ctl(&["react", short, "--remove"]).success();
    eventually(WAIT, "bob sees it taken back", || {
        entry(&bob, "alice", &id).filter(|m| m.get("reactions").is_none())
    });

    // alice answers it by its short id.
    let reply = alice
        .ctl(&["send", "bob", "on it", "--reply-to", short])
        .success()
        .trim()
        .to_owned();
    let at_bob = eventually(WAIT, "bob has the reply", || entry(&bob, "alice", &reply));
    assert_eq!(at_bob["reply_to"], id.as_str());

    // bob deletes it: a tombstone at alice, and nothing of the text in her
    // database files (the WAL included).
    bob.ctl(&["delete", &id]).success();
    let gone = eventually(WAIT, "alice sees the delete", || {
        entry(&alice, "bob", &id).filter(|m| m["deleted"] == true)
    });
    assert_eq!(gone["body"], Value::Null);
    let text = alice.ctl(&["log", "bob"]).success().to_owned();
    assert!(text.contains("[deleted]"), "{text}");
    for d in [&alice, &bob] {
        let bytes = database_bytes(d);
        assert!(!bytes.is_empty());
        assert!(
            !contains(&bytes, "vault code 7719"),
            "{}'s database still holds the deleted text",
            d.name
        );
    }
    // The reply is still there.
    assert!(entry(&bob, "alice", &reply).is_some());
}

#[test]
fn in_a_group_edits_and_reactions_reach_every_member() {
    let world = World::start();
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
    alice
        .ctl(&["group", "create", "ops", "bob", "carol"])
        .success();
    for d in [&bob, &carol] {
        eventually(WAIT, "everyone in #ops", || {
            let run = d.ctl(&["--json", "group", "info", "ops"]);
            (run.code == 0).then_some(())
        });
    }
    let id = carol
        .ctl(&["send", "#ops", "lunch at noon?"])
        .success()
        .trim()
        .to_owned();
    for d in [&alice, &bob] {
        eventually(WAIT, "carol's text arrives", || entry(d, "#ops", &id));
    }
    carol.ctl(&["edit", &id, "lunch at 12:30?"]).success();
    bob.ctl(&["react", &id, "👍"]).success();
    alice.ctl(&["react", &id, "👍"]).success();
    for d in [&alice, &bob, &carol] {
        eventually(
            WAIT,
            &format!("{} sees the edit and both reactions", d.name),
            || {
                entry(d, "#ops", &id).filter(|m| {
                    m["body"] == "lunch at 12:30?"
                        && m["edited"] == true
                        && m["reactions"][0]["users"].as_array().map(Vec::len) == Some(2)
                })
            },
        );
    }
    // bob cannot edit carol's message.
    bob.ctl(&["edit", &id, "bob's lunch"]).fails_with(4);
}

/// alice on two devices: what bob changes reaches both; what either of
/// alice's devices changes reaches bob and the other one (the envelope
/// sealed to bob and to alice's other device names bob as `to`).
#[test]
fn a_second_device_sees_and_makes_edits_replies_reactions_and_deletes() {
    let world = World::start();
    let (alice, bob) = pair(&world, "alice", "bob");
    let laptop = second_device(&world, &alice, "alice", "laptop");
    let both = [&alice, &laptop];

    let id = bob
        .ctl(&["send", "alice", "deploy at noon"])
        .success()
        .trim()
        .to_owned();
    bob.ctl(&["edit", &id, "deploy at 13:00"]).success();
    for d in both {
        eventually(WAIT, &format!("{} sees bob's edit", d.name), || {
            entry(d, "bob", &id).filter(|m| m["body"] == "deploy at 13:00" && m["edited"] == true)
        });
    }
    // The laptop answers and reacts; bob and the desk see both.
    let reply = laptop
        .ctl(&["send", "bob", "on it", "--reply-to", &id[..8]])
        .success()
        .trim()
        .to_owned();
    laptop.ctl(&["react", &id, "🚀"]).success();
    for (d, peer) in [(&bob, "alice"), (&alice, "bob")] {
        eventually(WAIT, &format!("{} has the reply", d.name), || {
            entry(d, peer, &reply).filter(|m| m["reply_to"] == id.as_str())
        });
        eventually(WAIT, &format!("{} sees the reaction", d.name), || {
            entry(d, peer, &id).filter(|m| {
                m["reactions"] == serde_json::json!([{"emoji": "🚀", "users": ["alice"]}])
            })
        });
    }
    // The desk edits, then deletes, the laptop's reply: everywhere.
    alice.ctl(&["edit", &reply, "on it, 10 min"]).success();
    for (d, peer) in [(&bob, "alice"), (&laptop, "bob")] {
        eventually(WAIT, &format!("{} sees the desk's edit", d.name), || {
            entry(d, peer, &reply).filter(|m| m["body"] == "on it, 10 min")
        });
    }
    alice.ctl(&["delete", &reply]).success();
    for (d, peer) in [(&bob, "alice"), (&laptop, "bob")] {
        eventually(WAIT, &format!("{} sees the delete", d.name), || {
            entry(d, peer, &reply).filter(|m| m["deleted"] == true && m["body"].is_null())
        });
    }
    assert_eq!(bob.status()["dropped"]["bad_target"], 0);
}

/// `chat-ctl search` finds words in all of history (not one page), takes
/// what the user types as plain words, and forgets a text its author
/// deleted.
#[test]
fn search_finds_words_in_all_history_and_forgets_deleted_texts() {
    let world = World::start();
    let (alice, bob) = pair(&world, "alice", "bob");
    let old = bob
        .ctl(&["send", "alice", "run deploy.sh -n prod --force"])
        .success()
        .trim()
        .to_owned();
    for i in 0..60 {
        bob.ctl_in(&["send", "alice"], &format!("chatter {i}\n"))
            .success();
    }
    eventually(WAIT, "alice has all 61", || {
        (alice.log_n("bob", 100).len() == 61).then_some(())
    });
    let search = |args: &[&str]| -> Value {
        let mut all = vec!["--json", "search"];
        all.extend_from_slice(args);
        alice.ctl(&all).json()
    };
    let found = search(&["--", "-n", "prod"]);
    let hits = found["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 1, "{found}");
    assert_eq!(hits[0]["message"]["id"], old.as_str());
    assert_eq!(hits[0]["peer"], "bob");
    // Quotes and operators are words, never syntax errors.
    for q in ["\"", "deploy.sh AND", "NEAR(prod", "--force*"] {
        let run = alice.ctl(&["--json", "search", q]);
        assert!(run.code == 0 || run.code == 1, "{q}: {run:?}");
    }
    assert_eq!(
        search(&["--with", "bob", "-n", "100", "chatter"])["hits"]
            .as_array()
            .unwrap()
            .len(),
        60
    );
    let human = alice.ctl(&["search", "deploy"]).success().to_owned();
    assert!(human.contains("[deploy]"), "{human}");
    bob.ctl(&["delete", &old]).success();
    eventually(WAIT, "the deleted text is no longer found", || {
        search(&["prod"])["hits"]
            .as_array()
            .is_some_and(|h| h.is_empty())
            .then_some(())
    });
}

/// A word 10,000 messages back is found (the history seeded straight into
/// alice's database while her chatd is stopped, through its own schema and
/// triggers: sending 10,000 texts would take minutes), and no longer once
/// bob deletes that message.
#[test]
fn search_finds_a_word_10_000_messages_back_and_not_once_it_is_deleted() {
    let world = World::start();
    let (mut alice, bob) = pair(&world, "alice", "bob");
    let old = bob
        .ctl(&["send", "alice", "the vault code is zeppelin-7719"])
        .success()
        .trim()
        .to_owned();
    eventually(WAIT, "alice has it", || entry(&alice, "bob", &old));
    alice.stop();
    {
        let mut db = rusqlite::Connection::open(alice.data_dir.join("chatd.db")).unwrap();
        let tx = db.transaction().unwrap();
        let now = chatd::store::now_ms() as i64;
        for i in 0..10_000i64 {
            tx.execute(
                "INSERT INTO messages (id, peer, direction, sender, recipient, ts, received_at, kind, body, state)
                 VALUES (?1, 'bob', 'in', 'bob', 'alice', ?2, ?2, 'text', ?3, 'read')",
                rusqlite::params![format!("{:032x}", i + 1), now + i, format!("chatter {i} about the build")],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    alice.start_again(&[]);
    let found = |q: &str| -> Vec<String> {
        alice.ctl(&["--json", "search", q]).json()["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["message"]["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(found("zeppelin"), vec![old.clone()]);
    assert_eq!(
        found("chatter")[..1],
        [format!("{:032x}", 10_000)],
        "newest first"
    );
    bob.ctl(&["delete", &old]).success();
    eventually(WAIT, "the deleted text is no longer found", || {
        found("zeppelin").is_empty().then_some(())
    });
}
