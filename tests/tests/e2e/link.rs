//! Adding a machine with a device link (docs/PROTOCOL.md §12, docs/RELAY.md
//! §5.3), through real daemons, chat-ctl, gnome-keyring and a real relay:
//! the code is 160 bits in 8 groups; a wrong code gets nothing and changes
//! nothing; the right one brings the keys, contacts, groups and history; a
//! replayed code gets nothing; the joined machine chats with bob.

use std::time::Duration;

use e2e::{Daemon, World, eventually, pair};

const WAIT: Duration = Duration::from_secs(30);

/// `device join CODE` for alice on `d`, named `name`.
fn join(d: &Daemon, url: &str, code: &str, name: &str) -> e2e::Ctl {
    d.ctl_in(
        &[
            "--json",
            "device",
            "join",
            code,
            "--relay",
            url,
            "--user",
            "alice",
            "--name",
            name,
            "--password-stdin",
        ],
        "alice-password\n",
    )
}

fn active_devices(d: &Daemon) -> usize {
    let list = d.ctl(&["--json", "device", "list"]).json();
    list["devices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x.get("gone").is_none())
        .count()
}

fn bodies(d: &Daemon, peer: &str) -> Vec<String> {
    d.log(peer)
        .iter()
        .filter_map(|m| m["body"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn a_machine_joins_with_a_link_code_and_brings_contacts_groups_and_history() {
    let world = World::start();
    let (desk, bob) = pair(&world, "alice", "bob");
    let url = world.relay.url.clone();

    bob.ctl(&["send", "alice", "first from bob"]).success();
    desk.ctl(&["send", "bob", "first from alice"]).success();
    bob.ctl(&["send", "alice", "second from bob"]).success();
    eventually(WAIT, "the desk has bob's texts", || {
        bodies(&desk, "bob")
            .contains(&"second from bob".to_owned())
            .then_some(())
    });
    let group = desk
        .ctl(&["group", "create", "ops", "bob"])
        .success()
        .trim()
        .to_owned();
    assert_eq!(group.len(), 32, "{group}");

    let link = desk
        .ctl(&["--json", "device", "link", "--with-history"])
        .json();
    let code = link["code"].as_str().unwrap().to_owned();
    let groups: Vec<&str> = code.split('-').collect();
    assert_eq!(groups.len(), 8, "{code}");
    assert!(groups.iter().all(|g| g.len() == 4), "{code}");
    assert_eq!(link["contacts"], 1);
    assert_eq!(link["groups"], 1);
    assert!(link["messages"].as_u64().unwrap() >= 3, "{link}");
    assert!(link["bytes"].as_u64().unwrap() > 1000);

    // A wrong code: one readable line, exit 5, no device added, and the
    // right code still works afterwards.
    let laptop = world.daemon("alice-laptop");
    let mut wrong: Vec<char> = code.chars().collect();
    wrong[0] = if wrong[0] == 'A' { 'B' } else { 'A' };
    let wrong: String = wrong.into_iter().collect();
    let refused = join(&laptop, &url, &wrong, "laptop");
    let line = refused.fails_with(5);
    assert!(line.contains("no link for this code"), "{line}");
    join(&laptop, &url, "ABCD-EFGH", "laptop").fails_with(5);
    assert_eq!(active_devices(&desk), 1);
    assert!(
        laptop.status()["user"].is_null(),
        "nothing set up on a wrong code"
    );

    let joined = join(&laptop, &url, &code, "laptop").json();
    assert_eq!(joined["contacts"], 1);
    assert_eq!(joined["groups"], 1);
    assert!(joined["messages"].as_u64().unwrap() >= 3, "{joined}");
    let fp = |d: &Daemon| d.ctl(&["--json", "id"]).json()["fingerprint"].clone();
    assert_eq!(fp(&laptop), fp(&desk));
    assert_eq!(active_devices(&desk), 2);
    let history = bodies(&laptop, "bob");
    for text in ["first from bob", "first from alice", "second from bob"] {
        assert!(history.contains(&text.to_owned()), "{text}: {history:?}");
    }
    let info = laptop
        .ctl(&["--json", "group", "info", &format!("#{group}")])
        .json();
    assert_eq!(info["group"]["name"], "ops", "{info}");

    // Replayed: the link is gone.
    let tablet = world.daemon("alice-tablet");
    let line = join(&tablet, &url, &code, "tablet")
        .fails_with(5)
        .to_owned();
    assert!(line.contains("no link for this code"), "{line}");
    assert_eq!(active_devices(&desk), 2);

    // The desk hears of the laptop; the laptop chats with bob, and what it
    // sends shows on the desk.
    eventually(WAIT, "the desk's new-device event", || {
        desk.events_after(0)
            .iter()
            .any(|e| e["event"] == "device.added" && e["name"] == "laptop")
            .then_some(())
    });
    bob.ctl(&["send", "alice", "hello, linked laptop"])
        .success();
    for d in [&desk, &laptop] {
        eventually(WAIT, &format!("{} has bob's new text", d.name), || {
            bodies(d, "bob")
                .contains(&"hello, linked laptop".to_owned())
                .then_some(())
        });
    }
    laptop.ctl(&["send", "bob", "from the laptop"]).success();
    eventually(WAIT, "bob has the laptop's text", || {
        bodies(&bob, "alice")
            .contains(&"from the laptop".to_owned())
            .then_some(())
    });
    eventually(WAIT, "the desk shows the laptop's text as sent", || {
        bodies(&desk, "bob")
            .contains(&"from the laptop".to_owned())
            .then_some(())
    });
}

/// `contact list --json`: (user, verified) of each contact.
fn contacts(d: &Daemon) -> Vec<(String, bool)> {
    let list = d.ctl(&["--json", "contact", "list"]).json();
    let items = list
        .get("contacts")
        .and_then(|c| c.as_array())
        .or(list.as_array())
        .cloned()
        .unwrap_or_default();
    items
        .iter()
        .map(|c| {
            (
                c["user"].as_str().unwrap_or_default().to_owned(),
                c["verified"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

#[test]
fn contacts_and_their_verification_follow_the_last_change_on_any_device() {
    let world = World::start();
    let desk = world.daemon("alice");
    let carol = world.daemon("carol");
    desk.register(&world.relay);
    carol.register(&world.relay);
    let url = world.relay.url.clone();
    let code = desk.ctl(&["--json", "device", "link"]).json()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let laptop = world.daemon("alice-laptop");
    join(&laptop, &url, &code, "laptop").json();
    // The desk learns of the laptop from its announcement.
    eventually(WAIT, "the desk's new-device event", || {
        desk.events_after(0)
            .iter()
            .any(|e| e["event"] == "device.added")
            .then_some(())
    });

    desk.add_contact(&carol);
    eventually(WAIT, "the laptop pins carol", || {
        (contacts(&laptop) == [("carol".to_owned(), false)]).then_some(())
    });
    let fp = carol.ctl(&["--json", "id"]).json()["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    laptop.ctl(&["contact", "verify", "carol", &fp]).success();
    eventually(WAIT, "the desk shows carol verified", || {
        (contacts(&desk) == [("carol".to_owned(), true)]).then_some(())
    });
    laptop.ctl(&["contact", "remove", "carol"]).success();
    eventually(WAIT, "the desk forgets carol", || {
        contacts(&desk).is_empty().then_some(())
    });
    // Added again on the desk, later than the removal: back on both.
    desk.add_contact(&carol);
    eventually(WAIT, "the laptop pins carol again", || {
        (contacts(&laptop) == [("carol".to_owned(), false)]).then_some(())
    });
}
