//! Group conversations through four real daemons, chat-ctl and a real relay
//! (docs/PROTOCOL.md §9): create and chat, add a member who sees only what
//! follows, remove one who can then neither send nor receive, a member
//! leaves, and the rosters agree; `kill -9` in between loses nothing and
//! doubles nothing.

use std::time::Duration;

use e2e::{Daemon, World, eventually};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

/// `group info GROUP --json` member names, or none while chatd has no such group.
fn members(d: &Daemon, group: &str) -> Vec<String> {
    let run = d.ctl(&["--json", "group", "info", group]);
    if run.code != 0 {
        return Vec::new();
    }
    run.json()["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user"].as_str().unwrap().to_owned())
        .collect()
}

/// "sender: body" of each text in the group's log.
fn texts(d: &Daemon, group: &str) -> Vec<String> {
    d.log(group)
        .iter()
        .filter(|m| m["body"].is_string() && m["group"].is_string() && m["kind"].is_null())
        .map(|m| {
            format!(
                "{}: {}",
                m["from"].as_str().unwrap(),
                m["body"].as_str().unwrap()
            )
        })
        .collect()
}

fn contains(list: &[String], s: &str) -> bool {
    list.iter().any(|x| x == s)
}

#[test]
fn four_daemons_chat_in_a_group_through_adds_removals_a_leave_and_kill_9() {
    let world = World::start();
    let alice = world.daemon("alice");
    let mut bob = world.daemon("bob");
    let carol = world.daemon("carol");
    let dave = world.daemon("dave");
    for d in [&alice, &bob, &carol, &dave] {
        d.register(&world.relay);
    }
    // Everyone knows alice; nobody else knows anybody: the others' cards
    // come with the roster.
    for d in [&bob, &carol, &dave] {
        alice.add_contact(d);
        d.add_contact(&alice);
    }

    let id = alice
        .ctl(&["group", "create", "ops", "bob", "carol"])
        .success()
        .trim()
        .to_owned();
    assert_eq!(id.len(), 32, "group create prints the id: {id}");
    let hash_id = format!("#{id}");
    for d in [&bob, &carol] {
        eventually(WAIT, "bob and carol in #ops", || {
            (members(d, "ops") == ["alice", "bob", "carol"]).then_some(())
        });
    }
    let info = bob.ctl(&["group", "info", "#ops"]).success().to_owned();
    assert!(
        info.contains("introduced by alice"),
        "carol's card came with the roster: {info}"
    );

    alice.ctl(&["send", "#ops", "deploy at noon"]).success();
    bob.ctl(&["send", "#ops", "ack"]).success();
    carol.ctl(&["send", &hash_id, "ok"]).success();
    for d in [&alice, &bob, &carol] {
        eventually(WAIT, "three texts at each member", || {
            let t = texts(d, "#ops");
            (t.len() == 3
                && contains(&t, "alice: deploy at noon")
                && contains(&t, "bob: ack")
                && contains(&t, "carol: ok"))
            .then_some(())
        });
    }
    // Notifications name the sender and the group.
    eventually(WAIT, "a notification from carol in ops", || {
        world
            .notifications()
            .iter()
            .any(|(summary, _)| summary == "New message from carol in ops")
            .then_some(())
    });
    // Per-member delivery in --json.
    eventually(WAIT, "delivered to bob and carol", || {
        let log = alice.log("#ops");
        let mine = log.iter().find(|m| m["body"] == "deploy at noon")?;
        (mine["group"] == Value::String(id.clone())
            && mine["deliveries"]
                == serde_json::json!([
                    {"user": "bob", "state": "delivered"},
                    {"user": "carol", "state": "delivered"}
                ]))
        .then_some(())
    });

    // kill -9 bob; what comes meanwhile arrives once when he is back.
    bob.kill9();
    alice.ctl(&["send", "#ops", "while bob was down"]).success();
    eventually(WAIT, "carol has it", || {
        contains(&texts(&carol, "#ops"), "alice: while bob was down").then_some(())
    });
    bob.start_again(&[]);
    eventually(WAIT, "bob has it once", || {
        let t = texts(&bob, "#ops");
        (t.iter()
            .filter(|x| *x == "alice: while bob was down")
            .count()
            == 1)
            .then_some(())
    });

    // alice adds dave: he sees only what comes after.
    alice.ctl(&["group", "add", "ops", "dave"]).success();
    eventually(WAIT, "dave in #ops", || {
        (members(&dave, "#ops") == ["alice", "bob", "carol", "dave"]).then_some(())
    });
    alice.ctl(&["send", "#ops", "welcome dave"]).success();
    eventually(WAIT, "dave has only the new text", || {
        (texts(&dave, "#ops") == ["alice: welcome dave"]).then_some(())
    });
    // dave is no contact of carol's: his text opens with the roster's card.
    dave.ctl(&["send", "#ops", "hi all"]).success();
    eventually(WAIT, "carol reads dave", || {
        contains(&texts(&carol, "#ops"), "dave: hi all").then_some(())
    });

    // alice removes bob: he is told, cannot send, gets nothing more.
    alice.ctl(&["group", "remove", "ops", "bob"]).success();
    eventually(WAIT, "bob removed", || {
        let g = bob.ctl(&["--json", "group", "info", &hash_id]).json();
        (g["group"]["state"] == "removed").then_some(())
    });
    // bob's roster, up to his removal, is alice's: the same version and,
    // the removal applied, the same members.
    let at_bob = bob.ctl(&["--json", "group", "info", &hash_id]).json();
    let at_alice = alice.ctl(&["--json", "group", "info", &hash_id]).json();
    assert_eq!(at_bob["group"]["version"], at_alice["group"]["version"]);
    let who = |v: &Value| -> Vec<(Value, Value)> {
        v["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["user"].clone(), m["admin"].clone()))
            .collect()
    };
    assert_eq!(who(&at_bob), who(&at_alice));
    let refused = bob.ctl(&["send", &hash_id, "still here?"]);
    let line = refused.fails_with(5);
    assert!(line.contains("no longer a member"), "{line}");
    alice.ctl(&["send", "#ops", "after bob"]).success();
    eventually(WAIT, "carol and dave have it", || {
        (contains(&texts(&carol, "#ops"), "alice: after bob")
            && contains(&texts(&dave, "#ops"), "alice: after bob"))
        .then_some(())
    });
    let bobs = texts(&bob, &hash_id);
    assert!(!contains(&bobs, "alice: after bob"));
    assert!(contains(&bobs, "alice: deploy at noon"), "history stays");

    // carol leaves; alice and dave agree on what is left.
    carol.ctl(&["group", "leave", "ops"]).success();
    for d in [&alice, &dave] {
        eventually(WAIT, "carol gone", || {
            (members(d, "#ops") == ["alice", "dave"]).then_some(())
        });
    }
    let a = alice.ctl(&["--json", "group", "info", "ops"]).json();
    let d = dave.ctl(&["--json", "group", "info", "ops"]).json();
    assert_eq!(a["members"], d["members"]);
    assert_eq!(a["group"]["version"], d["group"]["version"]);

    // Two groups named ops: the name is ambiguous, the id is not.
    let other = alice
        .ctl(&["group", "create", "ops", "dave"])
        .success()
        .trim()
        .to_owned();
    let line = alice
        .ctl(&["send", "#ops", "which?"])
        .fails_with(2)
        .to_owned();
    assert!(line.contains(&id) && line.contains(&other), "{line}");
    alice
        .ctl(&["send", &format!("#{other}"), "this one"])
        .success();
    alice.ctl(&["group", "info", "#nosuch"]).fails_with(4);
}
