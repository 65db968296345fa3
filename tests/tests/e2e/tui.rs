//! chat-tui in a real terminal (tmux) against real daemons and a relay.

use std::time::Duration;

use e2e::{Tmux, World, eventually, pair};

#[test]
fn chat_in_the_tui_see_the_reply_and_its_tick_survive_a_daemon_restart() {
    let world = World::start();
    let (mut alice, bob) = pair(&world, "alice", "bob");
    let tui = Tmux::start(&world, &alice);
    tui.wait_for("relay online");

    // Open bob's conversation and type a message.
    tui.wait_for("bob");
    tui.keys(&["Enter"]);
    tui.keys(&["-l", "hello from the terminal"]);
    tui.keys(&["Enter"]);
    eventually(Duration::from_secs(20), "bob has the message", || {
        bob.log("alice")
            .iter()
            .any(|m| m["body"] == "hello from the terminal")
            .then_some(())
    });
    // Delivered receipt: two ticks next to alice's message.
    tui.wait_for("✓✓");

    bob.ctl(&["send", "alice", "reply from bob"]).success();
    tui.wait_for("reply from bob");

    // chatd goes away: a clear screen, not a crash; it comes back by itself.
    alice.kill9();
    tui.wait_for("daemon offline");
    alice.start_again(&[]);
    let screen = eventually(Duration::from_secs(20), "recovered", || {
        let s = tui.screen();
        (!s.contains("daemon offline") && s.contains("reply from bob")).then_some(s)
    });
    assert!(screen.contains("hello from the terminal"), "{screen}");
}

#[test]
fn a_group_in_the_tui_is_named_shows_its_senders_and_takes_a_reply() {
    let world = World::start();
    let (alice, bob) = pair(&world, "alice", "bob");
    let carol = world.daemon("carol");
    carol.register(&world.relay);
    alice.add_contact(&carol);
    carol.add_contact(&alice);
    alice
        .ctl(&["group", "create", "ops", "bob", "carol"])
        .success();
    eventually(Duration::from_secs(20), "bob in #ops", || {
        (bob.ctl(&["group", "info", "ops"]).code == 0).then_some(())
    });
    eventually(Duration::from_secs(20), "carol in #ops", || {
        (carol.ctl(&["group", "info", "ops"]).code == 0).then_some(())
    });
    carol.ctl(&["send", "#ops", "deploy done"]).success();

    let tui = Tmux::start(&world, &bob);
    tui.wait_for("relay online");
    tui.wait_for("#ops");
    // The group is the newest conversation, first in the list (the
    // highlight may still be on alice, listed before the group arrived).
    tui.keys(&["Up"]);
    tui.keys(&["Enter"]);
    // Open: the history lines and the sender's name show.
    tui.wait_for("alice created the group ops");
    let screen = tui.wait_for("carol ");
    assert!(screen.contains("deploy done"), "{screen}");
    assert!(
        screen.contains("members"),
        "the title counts members: {screen}"
    );
    tui.keys(&["-l", "on it"]);
    tui.keys(&["Enter"]);
    eventually(
        Duration::from_secs(20),
        "alice and carol have bob's reply",
        || {
            let has = |d: &e2e::Daemon| d.log("#ops").iter().any(|m| m["body"] == "on it");
            (has(&alice) && has(&carol)).then_some(())
        },
    );
    // The members view: carol is no contact of bob's; alice introduced her.
    tui.keys(&["Escape"]);
    tui.keys(&["m"]);
    tui.wait_for("introduced by alice");
    tui.keys(&["Escape"]);
    // A group made from the picker reaches its member.
    tui.keys(&["C-p"]);
    tui.keys(&["-l", "+team alice"]);
    tui.wait_for("Enter creates #team");
    tui.keys(&["Enter"]);
    eventually(Duration::from_secs(20), "alice in bob's #team", || {
        (alice.ctl(&["group", "info", "team"]).code == 0).then_some(())
    });
}
