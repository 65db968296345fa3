//! Key changes (docs/SECURITY.md, "Key changes"), through real daemons and
//! a real relay: bob loses his keys and replaces his card with new ones;
//! alice's chatd keeps his messages in quarantine, looks his card up, and
//! tells her (event, conversation line, `contact list`); nothing opens
//! until she accepts the new fingerprint, and then every waiting message
//! appears once, in order. A new key is never taken on its own.

use std::time::Duration;

use e2e::{Daemon, World, eventually, pair};

const WAIT: Duration = Duration::from_secs(30);

fn bodies(d: &Daemon, peer: &str) -> Vec<String> {
    d.log(peer)
        .iter()
        .filter(|m| m["kind"].is_null() || m["kind"] == "text")
        .filter_map(|m| m["body"].as_str().map(str::to_owned))
        .collect()
}

fn contact(d: &Daemon, user: &str) -> serde_json::Value {
    let list = d.ctl(&["--json", "contact", "list"]).json();
    list.as_array()
        .or_else(|| list["contacts"].as_array())
        .and_then(|a| a.iter().find(|c| c["user"] == user).cloned())
        .unwrap_or_else(|| panic!("no contact {user}: {list}"))
}

fn fingerprint(d: &Daemon) -> String {
    d.ctl(&["--json", "id"]).json()["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn a_contact_with_new_keys_waits_in_quarantine_until_the_new_fingerprint_is_accepted() {
    let world = World::start();
    let (alice, bob) = pair(&world, "alice", "bob");
    bob.ctl(&["send", "alice", "with my first keys"]).success();
    eventually(WAIT, "alice has bob's first text", || {
        (bodies(&alice, "bob") == ["with my first keys"]).then_some(())
    });
    let old_fp = fingerprint(&bob);

    // bob reinstalls without a backup: new keys, the same account.
    let bob2 = world.daemon("bob-again");
    bob2.ctl_in(
        &[
            "register",
            "--relay",
            &world.relay.url,
            "--user",
            "bob",
            "--password-stdin",
        ],
        "bob-password\n",
    )
    .fails_with(5);
    bob2.ctl_in(
        &[
            "register",
            "--relay",
            &world.relay.url,
            "--user",
            "bob",
            "--replace-keys",
            "--device-name",
            "new laptop",
            "--password-stdin",
        ],
        "bob-password\n",
    )
    .success();
    let new_fp = fingerprint(&bob2);
    assert_ne!(new_fp, old_fp);
    bob2.add_contact(&alice);
    for text in ["new keys 1", "new keys 2", "new keys 3"] {
        bob2.ctl(&["send", "alice", text]).success();
    }

    // alice is told, and nothing opens.
    let changed = eventually(WAIT, "alice's key_changed event", || {
        alice
            .events_after(0)
            .into_iter()
            .find(|e| e["event"] == "contact.changed" && e["change"] == "key_changed")
    });
    assert_eq!(changed["old_fingerprint"], old_fp.as_str(), "{changed}");
    assert_eq!(changed["new_fingerprint"], new_fp.as_str(), "{changed}");
    let waiting = eventually(WAIT, "three of bob's texts in quarantine", || {
        let c = contact(&alice, "bob");
        (c["quarantined"] == 3).then_some(c)
    });
    assert_eq!(waiting["pending_fingerprint"], new_fp.as_str());
    assert_eq!(
        waiting["fingerprint"],
        old_fp.as_str(),
        "the old key stays pinned"
    );
    assert_eq!(bodies(&alice, "bob"), ["with my first keys"]);
    let line = alice
        .log("bob")
        .into_iter()
        .find(|m| m["kind"] == "system")
        .expect("a line in the conversation");
    assert!(
        line["body"].as_str().unwrap().contains("key changed"),
        "{line}"
    );
    let listed = alice.ctl(&["contact", "list"]).success().to_owned();
    assert!(listed.contains("KEY CHANGED"), "{listed}");

    // A wrong fingerprint accepts nothing.
    alice
        .ctl(&["contact", "accept-key", "bob", "--fingerprint", &old_fp])
        .fails_with(1);
    let wrong = "0".repeat(64);
    alice
        .ctl(&["contact", "accept-key", "bob", "--fingerprint", &wrong])
        .fails_with(5);
    assert_eq!(contact(&alice, "bob")["fingerprint"], old_fp.as_str());

    let accepted = alice
        .ctl(&[
            "--json",
            "contact",
            "accept-key",
            "bob",
            "--fingerprint",
            &new_fp,
        ])
        .json();
    assert_eq!(accepted["opened"], 3, "{accepted}");
    assert_eq!(accepted["contact"]["fingerprint"], new_fp.as_str());
    assert_eq!(accepted["contact"]["verified"], false);
    assert_eq!(
        bodies(&alice, "bob"),
        [
            "with my first keys",
            "new keys 1",
            "new keys 2",
            "new keys 3"
        ],
        "each waiting text once, in order"
    );
    assert_eq!(
        contact(&alice, "bob")["quarantined"],
        serde_json::Value::Null
    );

    // And the chat goes on both ways with the new keys.
    alice.ctl(&["send", "bob", "welcome back"]).success();
    eventually(WAIT, "bob's new machine has alice's text", || {
        bodies(&bob2, "alice")
            .contains(&"welcome back".to_owned())
            .then_some(())
    });
    bob2.ctl(&["send", "alice", "thanks"]).success();
    eventually(WAIT, "alice has bob's next text at once", || {
        bodies(&alice, "bob")
            .contains(&"thanks".to_owned())
            .then_some(())
    });
}

/// A v1 envelope from `from` to `to` carrying `payload`, as JSON.
fn sealed(
    from: &chatd::crypto::Identity,
    to: &chatd::crypto::Card,
    payload: &ipc_schema::Payload,
) -> serde_json::Value {
    let env = chatd::crypto::seal(from, to, payload, chatd::store::now_ms(), &mut rand::rng())
        .expect("seal");
    serde_json::to_value(env).unwrap()
}

fn transition_payload(
    old: &chatd::crypto::Identity,
    new: &chatd::crypto::Identity,
    counter: u64,
) -> ipc_schema::Payload {
    ipc_schema::Payload::KeyTransition {
        transition: chatd::crypto::transition::make(
            old,
            new,
            counter,
            chatd::store::now_ms(),
            &mut rand::rng(),
        )
        .unwrap(),
    }
}

/// alice with carol as a client of the test's own: three key pairs of
/// carol's, the first registered and pinned by alice, and a relay session
/// of carol's to put envelopes with.
struct CarolByHand {
    world: World,
    alice: Daemon,
    alice_card: chatd::crypto::Card,
    api: e2e::RelayApi,
    token: String,
    keys: [chatd::crypto::Identity; 3],
}

fn carol_by_hand() -> CarolByHand {
    use chatd::crypto::{Card, Identity, KeyBits};
    let world = World::start();
    let alice = world.daemon("alice");
    alice.register(&world.relay);
    let alice_card = Card::from_json(alice.card().as_bytes()).unwrap();
    let key = || Identity::generate("carol", KeyBits::B2048, &mut rand::rng()).unwrap();
    let keys = [key(), key(), key()];
    let api = world.relay.api();
    assert_eq!(
        api.register("carol", "carol-password", keys[0].card().to_value())
            .status,
        201
    );
    let token = api.login("carol", "carol-password");
    alice
        .ctl_in(&["contact", "add", "-"], &keys[0].card().to_json())
        .success();
    CarolByHand {
        world,
        alice,
        alice_card,
        api,
        token,
        keys,
    }
}

/// carol is a client of the test's own (as a thief of her keys could be):
/// her signed transition moves alice to the new key without asking; what
/// her previous key signed before still opens; a replayed transition and a
/// forged one change nothing and are counted.
#[test]
fn a_signed_transition_moves_a_contact_and_replayed_or_forged_ones_do_not() {
    use chatd::crypto::Identity;
    let CarolByHand {
        world: _world,
        alice,
        alice_card,
        api,
        token,
        keys: [a, b, x],
    } = carol_by_hand();
    let fp = |id: &Identity| id.card().fingerprint().grouped();
    let put = |v: serde_json::Value| assert_eq!(api.put(&token, &v).status, 201);

    // A → B (the directory gets B, as `id rotate` does), then a text B
    // signs, then one A signed before the rotation and delivered late: all
    // open.
    assert_eq!(
        api.replace_card(&token, "carol-password", b.card().to_value())
            .status,
        204
    );
    put(sealed(&a, &alice_card, &transition_payload(&a, &b, 1)));
    put(sealed(
        &b,
        &alice_card,
        &ipc_schema::Payload::text("signed with B"),
    ));
    put(sealed(
        &a,
        &alice_card,
        &ipc_schema::Payload::text("signed with A, late"),
    ));
    eventually(WAIT, "alice has both texts", || {
        (bodies(&alice, "carol").len() == 2).then_some(())
    });
    let c = contact(&alice, "carol");
    assert_eq!(c["fingerprint"], fp(&b).as_str());
    assert_eq!(c["rotated"], true, "{c}");
    let rotated = alice
        .events_after(0)
        .into_iter()
        .find(|e| e["event"] == "contact.changed" && e["change"] == "key_rotated")
        .expect("a key_rotated event");
    assert_eq!(rotated["old_fingerprint"], fp(&a).as_str());
    assert!(
        alice.log("carol").iter().any(|m| m["body"]
            .as_str()
            .unwrap_or("")
            .contains("signed by their previous key")),
        "a line in the conversation"
    );

    // B → A (counter 2), then A → B (counter 1) replayed: refused.
    assert_eq!(
        api.replace_card(&token, "carol-password", a.card().to_value())
            .status,
        204
    );
    put(sealed(&b, &alice_card, &transition_payload(&b, &a, 2)));
    eventually(WAIT, "alice moves back to A", || {
        (contact(&alice, "carol")["fingerprint"] == fp(&a).as_str()).then_some(())
    });
    put(sealed(&a, &alice_card, &transition_payload(&a, &b, 1)));
    // Forged: "A → X" whose old signature is X's, not A's.
    let forged = {
        let mut t: serde_json::Value = serde_json::from_str(
            &chatd::crypto::transition::make(&x, &b, 3, 1, &mut rand::rng()).unwrap(),
        )
        .unwrap();
        t["old"] = a.card().fingerprint().to_hex().into();
        ipc_schema::Payload::KeyTransition {
            transition: t.to_string(),
        }
    };
    put(sealed(&a, &alice_card, &forged));
    put(sealed(
        &a,
        &alice_card,
        &ipc_schema::Payload::text("still A"),
    ));
    eventually(WAIT, "alice has the text after them", || {
        bodies(&alice, "carol")
            .contains(&"still A".to_owned())
            .then_some(())
    });
    let c = contact(&alice, "carol");
    assert_eq!(c["fingerprint"], fp(&a).as_str(), "neither moved her: {c}");
    assert_eq!(
        c["dropped"], 2,
        "the replay and the forgery are counted: {c}"
    );
}

/// bob rotates with `chat-ctl id rotate`: alice moves to his new key without
/// asking, and chat goes on both ways.
#[test]
fn id_rotate_moves_contacts_and_chat_goes_on_both_ways() {
    let world = World::start();
    let (alice, bob) = pair(&world, "alice", "bob");
    let old_fp = fingerprint(&bob);
    let rotated = bob
        .ctl_in(
            &["--json", "id", "rotate", "--password-stdin"],
            "bob-password\n",
        )
        .json();
    assert_eq!(rotated["contacts"], 1);
    assert_eq!(rotated["old_fingerprint"], old_fp.as_str());
    let new_fp = fingerprint(&bob);
    assert_ne!(new_fp, old_fp);
    eventually(WAIT, "alice moves to bob's new key", || {
        (contact(&alice, "bob")["fingerprint"] == new_fp.as_str()).then_some(())
    });
    bob.ctl(&["send", "alice", "from my new keys"]).success();
    alice.ctl(&["send", "bob", "got your new keys"]).success();
    eventually(WAIT, "alice has bob's text", || {
        bodies(&alice, "bob")
            .contains(&"from my new keys".to_owned())
            .then_some(())
    });
    eventually(WAIT, "bob has alice's text", || {
        bodies(&bob, "alice")
            .contains(&"got your new keys".to_owned())
            .then_some(())
    });
    assert_eq!(contact(&alice, "bob")["rotated"], true);
}

/// alice on two devices rotates on one: the other takes the new keys end to
/// end, bob moves to them, and both of alice's devices go on chatting.
#[test]
fn a_rotation_reaches_the_account_s_other_devices() {
    let world = World::start();
    let (desk, bob) = pair(&world, "alice", "bob");
    let code = desk.ctl(&["--json", "device", "link"]).json()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let laptop = world.daemon("alice-laptop");
    laptop
        .ctl_in(
            &[
                "device",
                "join",
                &code,
                "--relay",
                &world.relay.url,
                "--user",
                "alice",
                "--name",
                "laptop",
                "--password-stdin",
            ],
            "alice-password\n",
        )
        .success();
    eventually(WAIT, "the desk learns of the laptop", || {
        desk.events_after(0)
            .iter()
            .any(|e| e["event"] == "device.added")
            .then_some(())
    });
    let old_fp = fingerprint(&desk);
    desk.ctl_in(&["id", "rotate", "--password-stdin"], "alice-password\n")
        .success();
    let new_fp = fingerprint(&desk);
    assert_ne!(new_fp, old_fp);
    eventually(WAIT, "the laptop takes the new keys", || {
        (fingerprint(&laptop) == new_fp).then_some(())
    });
    eventually(WAIT, "bob moves to alice's new key", || {
        (contact(&bob, "alice")["fingerprint"] == new_fp.as_str()).then_some(())
    });
    bob.ctl(&["send", "alice", "to both of you"]).success();
    for d in [&desk, &laptop] {
        eventually(WAIT, &format!("{} has bob's text", d.name), || {
            bodies(d, "bob")
                .contains(&"to both of you".to_owned())
                .then_some(())
        });
    }
    laptop
        .ctl(&["send", "bob", "from the laptop's new keys"])
        .success();
    eventually(WAIT, "bob has the laptop's text", || {
        bodies(&bob, "alice")
            .contains(&"from the laptop's new keys".to_owned())
            .then_some(())
    });
}

/// "sender: body" of each text in a group's log.
fn group_texts(d: &Daemon, group: &str) -> Vec<String> {
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

/// A member's fingerprint as `group info` at `d` shows it.
fn member_fingerprint(d: &Daemon, group: &str, user: &str) -> Option<String> {
    let run = d.ctl(&["--json", "group", "info", group]);
    if run.code != 0 {
        return None;
    }
    run.json()["members"]
        .as_array()?
        .iter()
        .find(|m| m["user"] == user)
        .and_then(|m| m["fingerprint"].as_str().map(str::to_owned))
}

/// carol rotates while in a group with dave, who knows her only from the
/// roster (no pinned card, so no pairwise transition): the roster change
/// that carries her transition moves dave to her new card, and the group
/// goes on both ways. Without it dave could not verify her new signatures.
#[test]
fn a_rotation_moves_the_member_in_every_group_through_a_roster_change() {
    let world = World::start();
    let alice = world.daemon("alice");
    let carol = world.daemon("carol");
    let dave = world.daemon("dave");
    for d in [&alice, &carol, &dave] {
        d.register(&world.relay);
    }
    for d in [&carol, &dave] {
        alice.add_contact(d);
        d.add_contact(&alice);
    }
    alice
        .ctl(&["group", "create", "ops", "carol", "dave"])
        .success();
    let old_fp = fingerprint(&carol);
    for d in [&carol, &dave] {
        eventually(WAIT, "carol and dave in #ops", || {
            (member_fingerprint(d, "ops", "carol").as_deref() == Some(old_fp.as_str()))
                .then_some(())
        });
    }
    let rotated = carol
        .ctl_in(
            &["--json", "id", "rotate", "--password-stdin"],
            "carol-password\n",
        )
        .json();
    assert_eq!(rotated["contacts"], 1, "alice is carol's only contact");
    assert_eq!(rotated["groups"], 1);
    let new_fp = fingerprint(&carol);
    assert_ne!(new_fp, old_fp);
    for d in [&alice, &dave, &carol] {
        eventually(
            WAIT,
            &format!("{}'s roster has carol's new card", d.name),
            || {
                (member_fingerprint(d, "ops", "carol").as_deref() == Some(new_fp.as_str()))
                    .then_some(())
            },
        );
    }
    // Signed with the new key: dave verifies it with the roster's card.
    carol
        .ctl(&["send", "#ops", "new keys, same carol"])
        .success();
    for d in [&alice, &dave] {
        eventually(WAIT, &format!("{} has carol's text", d.name), || {
            group_texts(d, "#ops")
                .contains(&"carol: new keys, same carol".to_owned())
                .then_some(())
        });
    }
    dave.ctl(&["send", "#ops", "welcome back"]).success();
    eventually(WAIT, "carol has dave's text", || {
        group_texts(&carol, "#ops")
            .contains(&"dave: welcome back".to_owned())
            .then_some(())
    });
    // dave's history says so.
    let said = dave
        .log("#ops")
        .iter()
        .filter_map(|m| m["body"].as_str().map(str::to_owned))
        .any(|b| b.contains("carol rotated their keys"));
    assert!(said, "dave's history tells of carol's rotation");
}

/// Someone stole carol's key A. The thief rotates it to C and carol to B,
/// both signed by A: alice takes the first, and the second freezes carol.
/// Nothing from carol opens (whichever key signed it) and nothing goes to
/// her until alice accepts one of the two fingerprints; then what carol's
/// chosen key signed opens, and the other is dropped and counted.
#[test]
fn two_rotations_from_one_key_freeze_the_contact_until_the_user_chooses() {
    use chatd::crypto::Identity;
    let CarolByHand {
        world: _world,
        alice,
        alice_card,
        api,
        token,
        keys: [a, b, c],
    } = carol_by_hand();
    let fp = |id: &Identity| id.card().fingerprint().grouped();
    let put = |v: serde_json::Value| assert_eq!(api.put(&token, &v).status, 201);

    // The thief's transition comes first: alice moves to C.
    put(sealed(&a, &alice_card, &transition_payload(&a, &c, 1)));
    eventually(WAIT, "alice moves to C", || {
        (contact(&alice, "carol")["fingerprint"] == fp(&c).as_str()).then_some(())
    });
    // carol's own, from the same key: frozen, B pending.
    put(sealed(&a, &alice_card, &transition_payload(&a, &b, 1)));
    eventually(WAIT, "carol is frozen", || {
        (contact(&alice, "carol")["frozen"] == true).then_some(())
    });
    let frozen = contact(&alice, "carol");
    assert_eq!(frozen["fingerprint"], fp(&c).as_str());
    assert_eq!(frozen["pending_fingerprint"], fp(&b).as_str());
    assert!(
        alice.log("carol").iter().any(|m| m["body"]
            .as_str()
            .unwrap_or("")
            .starts_with("WARNING: two different key rotations")),
        "a warning in the conversation"
    );
    let list = alice.ctl(&["contact", "list"]).success().to_owned();
    assert!(list.contains("FROZEN"), "{list}");

    // Neither key gets through, the thief's (pinned now) included.
    put(sealed(
        &c,
        &alice_card,
        &ipc_schema::Payload::text("from the thief"),
    ));
    put(sealed(
        &b,
        &alice_card,
        &ipc_schema::Payload::text("from carol"),
    ));
    eventually(WAIT, "both wait", || {
        (contact(&alice, "carol")["quarantined"] == 2).then_some(())
    });
    assert!(bodies(&alice, "carol").is_empty(), "nothing opened");
    // Nothing goes to her either, and there is nothing to refuse.
    let sent = alice.ctl(&["send", "carol", "are you there?"]);
    assert!(sent.fails_with(5).contains("frozen"), "{sent:?}");
    let refused = alice.ctl(&["contact", "refuse-key", "carol"]);
    assert!(refused.fails_with(5).contains("frozen"), "{refused:?}");
    // Only one of the two fingerprints is a choice.
    alice
        .ctl(&[
            "contact",
            "accept-key",
            "carol",
            "--fingerprint",
            &a.card().fingerprint().to_hex(),
        ])
        .fails_with(5);

    // alice compares with carol and takes B: carol's text opens, the
    // thief's is dropped and counted.
    alice
        .ctl(&[
            "contact",
            "accept-key",
            "carol",
            "--fingerprint",
            &b.card().fingerprint().to_hex(),
        ])
        .success();
    eventually(WAIT, "carol's text opens", || {
        (bodies(&alice, "carol") == ["from carol"]).then_some(())
    });
    let after = contact(&alice, "carol");
    assert_eq!(after["fingerprint"], fp(&b).as_str());
    assert_eq!(after["frozen"], serde_json::Value::Null, "{after}");
    assert_eq!(after["quarantined"], serde_json::Value::Null, "{after}");
    assert_eq!(after["dropped"], 1, "{after}");
    // The thief's transition, sent again, moves nothing now.
    put(sealed(&a, &alice_card, &transition_payload(&a, &c, 2)));
    put(sealed(
        &b,
        &alice_card,
        &ipc_schema::Payload::text("still carol"),
    ));
    eventually(WAIT, "carol's next text opens", || {
        bodies(&alice, "carol")
            .contains(&"still carol".to_owned())
            .then_some(())
    });
    let last = contact(&alice, "carol");
    assert_eq!(last["fingerprint"], fp(&b).as_str(), "{last}");
    assert_eq!(last["frozen"], serde_json::Value::Null, "{last}");
    alice.ctl(&["send", "carol", "it was you"]).success();
}

/// The relay lies: its operator writes the card it serves for bob in its
/// database, one card when carol looks bob up and another when alice does.
/// Neither is taken: carol's `contact add` wants the fingerprint she
/// compared with bob and shows the one the relay served; alice, who pinned
/// bob, holds the envelopes the relay's key signs, sees that key's
/// fingerprint, and accepts nothing she did not compare. The real bob still
/// gets through.
#[test]
fn a_lying_directory_gets_no_card_accepted_silently() {
    use chatd::crypto::{Card, Identity, KeyBits};
    let world = World::start();
    let (alice, bob) = pair(&world, "alice", "bob");
    let carol = world.daemon("carol");
    carol.register(&world.relay);
    let bob_fp = fingerprint(&bob);
    let alice_card = Card::from_json(alice.card().as_bytes()).unwrap();
    let key = || Identity::generate("bob", KeyBits::B2048, &mut rand::rng()).unwrap();
    let (m1, m2) = (key(), key());
    let db = rusqlite::Connection::open(world.relay.data_dir().join("relay.db")).unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    let lie = |card: &Card| {
        let n = db
            .execute(
                "UPDATE accounts SET card = ?1 WHERE username = 'bob'",
                [card.to_json()],
            )
            .unwrap();
        assert_eq!(n, 1);
    };

    // carol asks the directory for bob, with the fingerprint bob told her.
    lie(m1.card());
    let add = carol.ctl(&[
        "contact",
        "add",
        "bob",
        "--fingerprint",
        &bob_fp.replace(' ', ""),
    ]);
    let said = add.fails_with(5);
    assert!(
        said.contains(&m1.card().fingerprint().grouped()),
        "the fingerprint the relay served is shown: {said}"
    );
    let contacts = carol.ctl(&["--json", "contact", "list"]).json();
    assert!(
        !contacts.to_string().contains("\"bob\""),
        "carol pinned nothing: {contacts}"
    );

    // alice: an envelope signed by the relay's other key, under bob's name.
    lie(m2.card());
    let api = world.relay.api();
    let token = api.login("bob", "bob-password");
    let forged = sealed(&m2, &alice_card, &ipc_schema::Payload::text("it's me, bob"));
    assert_eq!(api.put(&token, &forged).status, 201);
    let m2_fp = m2.card().fingerprint().grouped();
    eventually(WAIT, "alice is shown the relay's key", || {
        let c = contact(&alice, "bob");
        (c["pending_fingerprint"] == m2_fp.as_str() && c["quarantined"] == 1).then_some(())
    });
    let c = contact(&alice, "bob");
    assert_eq!(c["fingerprint"], bob_fp.as_str(), "bob's key stays pinned");
    let changed = alice
        .events_after(0)
        .into_iter()
        .find(|e| e["event"] == "contact.changed" && e["change"] == "key_changed")
        .expect("a key_changed event");
    assert_eq!(changed["old_fingerprint"], bob_fp.as_str());
    assert_eq!(changed["new_fingerprint"], m2_fp.as_str());
    let list = alice.ctl(&["contact", "list"]).success().to_owned();
    assert!(list.contains("KEY CHANGED"), "{list}");
    assert!(
        !bodies(&alice, "bob").contains(&"it's me, bob".to_owned()),
        "nothing opened"
    );
    // The fingerprint the relay showed carol is no key alice can accept.
    alice
        .ctl(&[
            "contact",
            "accept-key",
            "bob",
            "--fingerprint",
            &m1.card().fingerprint().to_hex(),
        ])
        .fails_with(5);
    // The real bob still gets through, with the key alice pinned.
    bob.ctl(&["send", "alice", "the real bob"]).success();
    eventually(WAIT, "alice has the real bob's text", || {
        bodies(&alice, "bob")
            .contains(&"the real bob".to_owned())
            .then_some(())
    });
    // alice calls bob, learns the key is not his, and refuses it.
    alice.ctl(&["contact", "refuse-key", "bob"]).success();
    let c = contact(&alice, "bob");
    assert_eq!(c["fingerprint"], bob_fp.as_str());
    assert_eq!(c["pending_fingerprint"], serde_json::Value::Null, "{c}");
    assert_eq!(c["dropped"], 1, "{c}");
    assert!(!bodies(&alice, "bob").contains(&"it's me, bob".to_owned()));
}

/// A rotation seals the relay's backup again: what a new device would
/// restore from it is the new keys, not the ones left behind.
#[test]
fn a_rotation_refreshes_the_relay_backup() {
    const PASSPHRASE: &str = "Seven-horses Quietly Ate 41 lemons!";
    let world = World::start();
    let (alice, _bob) = pair(&world, "alice", "bob");
    alice
        .ctl_in(
            &["backup", "enable", "--passphrase-stdin"],
            &format!("{PASSPHRASE}\n"),
        )
        .success();
    let api = world.relay.api();
    let token = api.login("alice", "alice-password");
    let restored_fp = |text: &str| {
        let plain = chatd::crypto::backup::open(PASSPHRASE.as_bytes(), text.as_bytes())
            .expect("the backup opens");
        chatd::crypto::backup::BackupContents::parse(plain.expose_secret(), "alice")
            .expect("the backup parses")
            .identity
            .card()
            .fingerprint()
            .grouped()
    };
    let before = eventually(WAIT, "the relay has alice's backup", || api.backup(&token));
    assert_eq!(restored_fp(&before), fingerprint(&alice));
    alice
        .ctl_in(&["id", "rotate", "--password-stdin"], "alice-password\n")
        .success();
    let new_fp = fingerprint(&alice);
    // Sealed again, maybe more than once (other changes also reseal it):
    // each new text is opened until one holds the new keys.
    let mut last = before;
    eventually(WAIT, "the backup is sealed again with the new keys", || {
        let now = api.backup(&token)?;
        if now == last {
            return None;
        }
        last = now;
        (restored_fp(&last) == new_fp).then_some(())
    });
}
