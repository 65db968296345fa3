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
