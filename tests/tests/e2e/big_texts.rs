//! A contact's few 4 MiB texts used to make the conversation unloadable:
//! one `message.list` page went past the 16 MiB frame cap and chatd hung
//! up (docs/SECURITY.md §2.3). Through the real parts: chat-ctl log shows
//! them whole, the TUI shows them cut, and both go on working.

use std::time::Duration;

use e2e::{Tmux, World, eventually, pair};

#[test]
fn five_4_mib_texts_leave_chat_ctl_log_and_the_tui_working() {
    let world = World::start();
    let (alice, bob) = pair(&world, "alice", "bob");
    let texts: Vec<String> = (0..5)
        .map(|i| format!("big{i}:{}", "x".repeat(4 * 1024 * 1024 - 64)))
        .collect();
    for text in &texts {
        alice.ctl_in(&["send", "bob", "-"], text).success();
    }
    eventually(Duration::from_secs(120), "five big texts at bob", || {
        (bob.incoming("alice").len() == 5).then_some(())
    });

    // chat-ctl log: every body whole (message.get for the cut ones).
    let log = bob.log("alice");
    let bodies: Vec<&str> = log.iter().filter_map(|m| m["body"].as_str()).collect();
    assert_eq!(bodies, texts.iter().map(String::as_str).collect::<Vec<_>>());
    let human = bob.ctl(&["log", "alice"]).success().to_owned();
    for text in &texts {
        assert!(
            human.contains(text.as_str()),
            "a whole body in the human log"
        );
    }

    // The TUI loads the conversation, shows the texts cut, and still works.
    let tui = Tmux::start(&world, &bob);
    tui.wait_for("relay online");
    tui.keys(&["Enter"]);
    tui.wait_for("cut at 64 KiB");
    tui.keys(&["-l", "small reply"]);
    tui.keys(&["Enter"]);
    eventually(Duration::from_secs(20), "alice has the reply", || {
        alice
            .log("bob")
            .iter()
            .any(|m| m["body"] == "small reply")
            .then_some(())
    });
}
