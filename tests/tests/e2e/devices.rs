//! One account on several machines (docs/RELAY.md §5, docs/PROTOCOL.md
//! §10, §11), through real daemons, chat-ctl, gnome-keyring and a real
//! relay: alice on three devices (one restored from the relay's key
//! backup, one from a backup file) and bob on one. bob's texts reach every
//! alice; what one alice sends shows on the others with its ticks; reading
//! on one clears the others; `kill -9` of a device and of the relay loses
//! nothing and doubles nothing; a revoked device gets nothing more; a
//! fourth device restored from the relay has the same fingerprint and
//! chats with bob.

use std::time::Duration;

use e2e::{Daemon, World, eventually};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);
const PASSPHRASE: &str = "Seven-horses Quietly Ate 41 lemons!";

/// Bodies of the texts `d` has from bob, in order.
fn from_bob(d: &Daemon) -> Vec<String> {
    d.incoming("bob")
        .iter()
        .filter_map(|m| m["body"].as_str().map(str::to_owned))
        .collect()
}

/// (body, state) of what `d` shows as sent to bob.
fn to_bob(d: &Daemon) -> Vec<(String, String)> {
    d.log("bob")
        .iter()
        .filter(|m| m["direction"] == "out")
        .map(|m| {
            (
                m["body"].as_str().unwrap_or_default().to_owned(),
                m["state"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn fingerprint(d: &Daemon) -> String {
    d.ctl(&["--json", "id"]).json()["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Waits until every one of `devices` has `body` from bob.
fn all_have(devices: &[&Daemon], body: &str) {
    for d in devices {
        eventually(WAIT, &format!("{} has {body:?}", d.name), || {
            from_bob(d).iter().any(|b| b == body).then_some(())
        });
    }
}

/// The id of the device called `name`, from `d`'s `device list --json`.
fn device_id(d: &Daemon, name: &str) -> String {
    let list = d.ctl(&["--json", "device", "list"]).json();
    list["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == name && x.get("gone").is_none())
        .and_then(|x| x["id"].as_str())
        .unwrap_or_else(|| panic!("no active device {name}: {list}"))
        .to_owned()
}

#[test]
fn alice_on_three_devices_and_bob_on_one() {
    let mut world = World::start();
    let desk = world.daemon("alice");
    let bob = world.daemon("bob");
    desk.register(&world.relay);
    bob.register(&world.relay);
    desk.add_contact(&bob);
    bob.add_contact(&desk);
    let url = world.relay.url.clone();

    // The relay keeps a backup; a file holds another.
    desk.ctl_in(
        &["backup", "enable", "--passphrase-stdin"],
        &format!("{PASSPHRASE}\n"),
    )
    .success();
    let file = world.dir.path().join("alice.backup");
    desk.ctl_in(
        &[
            "backup",
            "export",
            file.to_str().unwrap(),
            "--passphrase-stdin",
        ],
        &format!("{PASSPHRASE}\n"),
    )
    .success();
    let secrets = format!("alice-password\n{PASSPHRASE}\n");
    let mut laptop = world.daemon("alice-laptop");
    let restore = [
        "login",
        "--restore",
        "--relay",
        &url,
        "--user",
        "alice",
        "--device-name",
        "laptop",
        "--password-stdin",
        "--passphrase-stdin",
    ];
    laptop.ctl_in(&restore, &secrets).success();
    let phone = world.daemon("alice-phone");
    phone
        .ctl_in(
            &[
                "backup",
                "import",
                file.to_str().unwrap(),
                "--relay",
                &url,
                "--user",
                "alice",
                "--device-name",
                "phone",
                "--password-stdin",
                "--passphrase-stdin",
            ],
            &secrets,
        )
        .success();
    let fp = fingerprint(&desk);
    assert_eq!(fingerprint(&laptop), fp);
    assert_eq!(fingerprint(&phone), fp);
    // The desk is told of each new device, end to end.
    let alerted = eventually(WAIT, "the desk's new-device notifications", || {
        let n: Vec<String> = world
            .notifications()
            .into_iter()
            .map(|(summary, _)| summary)
            .filter(|s| s.starts_with("New device"))
            .collect();
        (n.iter().any(|s| s.contains("'laptop'")) && n.iter().any(|s| s.contains("'phone'")))
            .then_some(n)
    });
    assert!(alerted.len() >= 2, "{alerted:?}");

    // bob's texts reach all three.
    bob.ctl(&["send", "alice", "hello, every alice"]).success();
    all_have(&[&desk, &laptop, &phone], "hello, every alice");

    // What the desk sends shows on the laptop and the phone, with its ticks.
    desk.ctl(&["send", "bob", "sent from the desk"]).success();
    for d in [&laptop, &phone] {
        eventually(
            WAIT,
            &format!("{} shows the desk's text delivered", d.name),
            || {
                to_bob(d)
                    .contains(&("sent from the desk".to_owned(), "delivered".to_owned()))
                    .then_some(())
            },
        );
    }

    // Reading on the laptop clears the phone's unread count.
    bob.ctl(&["send", "alice", "unread one"]).success();
    bob.ctl(&["send", "alice", "unread two"]).success();
    all_have(&[&desk, &laptop, &phone], "unread two");
    assert!(phone.status()["unread"].as_u64().unwrap() >= 2);
    laptop.ctl(&["read", "bob"]).success();
    eventually(WAIT, "the phone's unread count clears", || {
        (phone.status()["unread"] == 0).then_some(())
    });

    // kill -9 of the laptop, then of the relay, in between: nothing lost,
    // nothing doubled on any device.
    laptop.kill9();
    bob.ctl(&["send", "alice", "while the laptop was down"])
        .success();
    all_have(&[&desk, &phone], "while the laptop was down");
    world.relay.kill9_and_restart();
    bob.ctl(&["send", "alice", "after the relay came back"])
        .success();
    laptop.start_again(&[]);
    let every = [
        "hello, every alice",
        "unread one",
        "unread two",
        "while the laptop was down",
        "after the relay came back",
    ];
    all_have(&[&desk, &laptop, &phone], "after the relay came back");
    for d in [&desk, &laptop, &phone] {
        assert_eq!(from_bob(d), every, "{}: each text once, in order", d.name);
    }
    assert_eq!(
        bob.incoming("alice")
            .iter()
            .filter(|m| m["body"] == "sent from the desk")
            .count(),
        1,
        "bob got the desk's text once"
    );

    // The phone is revoked from the desk (with a new password): it is cut
    // off and gets nothing more.
    let phone_id = device_id(&desk, "phone");
    let new_password = "alice's password after the phone was lost";
    desk.ctl_in(
        &["device", "revoke", &phone_id, "--password-stdin"],
        &format!("alice-password\n{new_password}\n"),
    )
    .success();
    bob.ctl(&["send", "alice", "after the revocation"])
        .success();
    all_have(&[&desk, &laptop], "after the revocation");
    // Its next request is refused (401, then 403 for its device at the
    // renewal): logged out, and the text never reaches it.
    eventually(WAIT, "the phone is logged out", || {
        (phone.status()["connection"] == "logged_out").then_some(())
    });
    assert!(!from_bob(&phone).iter().any(|b| b == "after the revocation"));
    let listed = desk.ctl(&["--json", "device", "list"]).json();
    let gone: Vec<&Value> = listed["devices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["gone"] == "revoked")
        .collect();
    assert_eq!(gone.len(), 1, "{listed}");

    // A fourth device from the relay's backup, with the new password: same
    // fingerprint, and it chats with bob.
    let tablet = world.daemon("alice-tablet");
    let restore = [
        "login",
        "--restore",
        "--relay",
        &url,
        "--user",
        "alice",
        "--device-name",
        "tablet",
        "--password-stdin",
        "--passphrase-stdin",
    ];
    tablet
        .ctl_in(&restore, &format!("{new_password}\n{PASSPHRASE}\n"))
        .success();
    assert_eq!(fingerprint(&tablet), fp);
    tablet.ctl(&["send", "bob", "from the tablet"]).success();
    eventually(WAIT, "bob has the tablet's text", || {
        bob.incoming("alice")
            .iter()
            .any(|m| m["body"] == "from the tablet")
            .then_some(())
    });
    bob.ctl(&["send", "alice", "hello, tablet"]).success();
    all_have(&[&tablet, &desk, &laptop], "hello, tablet");
    eventually(WAIT, "the desk shows the tablet's text", || {
        to_bob(&desk)
            .iter()
            .any(|(b, _)| b == "from the tablet")
            .then_some(())
    });
}
