//! Key changes (docs/SECURITY.md, "Key changes"), through real daemons and
//! a real relay: bob loses his keys and replaces his card with new ones;
//! alice's chatd keeps his messages in quarantine, looks his card up, and
//! tells her (event, conversation line, `contact list`); nothing opens
//! until she accepts the new fingerprint, and then every waiting message
//! appears once, in order. A new key is never taken on its own.

use std::time::Duration;

use e2e::{Daemon, World, eventually};

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
    let alice = world.daemon("alice");
    let bob = world.daemon("bob");
    alice.register(&world.relay);
    bob.register(&world.relay);
    alice.add_contact(&bob);
    bob.add_contact(&alice);
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
