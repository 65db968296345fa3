//! Desktop notifications, observed on the session bus by the dbusmock
//! notification server: the sender's name and never the text by default,
//! nothing when switched off, nothing for a conversation a frontend shows.

use std::time::Duration;

use e2e::{Daemon, World, eventually, pair, runtime};
use ipc_schema::methods::ConversationFocusParams;

/// Alice sends `body`; returns once bob has it.
fn deliver(alice: &Daemon, bob: &Daemon, body: &str) {
    alice.ctl(&["send", "bob", body]).success();
    eventually(
        Duration::from_secs(15),
        &format!("bob has {body:?}"),
        || {
            bob.incoming("alice")
                .iter()
                .any(|m| m["body"] == body)
                .then_some(())
        },
    );
}

/// Waits until alice's copy of `body` is `delivered`: bob's daemon queued the
/// receipt, and right after it decides about the notification.
fn receipted(alice: &Daemon, body: &str) {
    eventually(
        Duration::from_secs(15),
        &format!("{body:?} delivered"),
        || {
            alice
                .log("bob")
                .iter()
                .any(|m| m["body"] == body && m["state"] == "delivered")
                .then_some(())
        },
    );
}

#[test]
fn sender_mode_names_the_sender_and_never_shows_the_text() {
    let world = World::start();
    let (alice, _bob) = pair(&world, "alice", "bob");
    let secret = "the vault code is 4711";
    alice.ctl(&["send", "bob", secret]).success();
    let shown = eventually(Duration::from_secs(15), "a notification", || {
        let n = world.notifications();
        (!n.is_empty()).then_some(n)
    });
    assert_eq!(
        shown,
        [("New message from alice".to_owned(), String::new())],
        "one notification, sender only"
    );
    // Not in the summary, the body, the hints or anywhere else on the wire.
    let raw = std::fs::read_to_string(world.dir.path().join("notify.log")).unwrap();
    assert!(raw.contains(r#"Notify "chat""#), "from chat: {raw}");
    assert!(!raw.contains("4711") && !raw.contains("vault"), "{raw}");
}

#[test]
fn notifications_off_shows_none() {
    let world = World::start();
    let (alice, mut bob) = pair(&world, "alice", "bob");
    bob.write_config("notifications = \"off\"\n");
    bob.restart();
    deliver(&alice, &bob, "quiet please");
    receipted(&alice, "quiet please");
    // A notification for it would have been raised by now, and chatd waits
    // for its notification calls before it exits: restart it, and show that
    // the bus works by switching notifications back on for the next message.
    bob.write_config("notifications = \"sender\"\n");
    bob.restart();
    deliver(&alice, &bob, "loud again");
    eventually(Duration::from_secs(15), "the second notification", || {
        (!world.notifications().is_empty()).then_some(())
    });
    assert_eq!(
        world.notifications(),
        [("New message from alice".to_owned(), String::new())],
        "only the message after notifications were switched back on"
    );
}

#[test]
fn a_focused_conversation_raises_no_notification() {
    let world = World::start();
    let (alice, mut bob) = pair(&world, "alice", "bob");
    // Preview mode puts the text in the notification, so each notification
    // tells which message raised it.
    bob.write_config("notifications = \"preview\"\n");
    bob.restart();
    let rt = runtime();
    let mut frontend = rt.block_on(bob.client());
    rt.block_on(frontend.call(ConversationFocusParams {
        peer: Some("alice".into()),
    }))
    .unwrap();

    deliver(&alice, &bob, "seen on screen");
    // Bob's sync loop handles one batch at a time, and decides about the
    // notification after the commit that made the message visible. Once a
    // later batch is done (the receipt for bob's answer), it has decided.
    let answer = bob
        .ctl(&["send", "alice", "noted"])
        .success()
        .trim()
        .to_owned();
    eventually(Duration::from_secs(15), "bob's answer delivered", || {
        let log = bob.log("alice");
        let m = log.iter().find(|m| m["id"] == answer.as_str())?;
        (m["state"] == "delivered").then_some(())
    });
    rt.block_on(frontend.call(ConversationFocusParams { peer: None }))
        .unwrap();
    deliver(&alice, &bob, "not on screen");
    // (alice's own daemon, in sender mode, announced bob's answer on the same bus)
    let bobs = || -> Vec<String> {
        world
            .notifications()
            .into_iter()
            .filter(|(summary, _)| summary == "New message from alice")
            .map(|(_, body)| body)
            .collect()
    };
    eventually(Duration::from_secs(15), "a notification", || {
        (!bobs().is_empty()).then_some(())
    });
    assert_eq!(bobs(), ["not on screen"]);

    // The focus also ends when the frontend disconnects.
    rt.block_on(frontend.call(ConversationFocusParams {
        peer: Some("alice".into()),
    }))
    .unwrap();
    drop(frontend);
    deliver(&alice, &bob, "after the frontend left");
    eventually(Duration::from_secs(15), "a second notification", || {
        (bobs().len() == 2).then_some(())
    });
    assert_eq!(bobs(), ["not on screen", "after the frontend left"]);
}

/// docs/SECURITY.md §5: a preview is a contact's text on the desktop. It
/// reaches the notification server sanitized like every peer text, and
/// with `& < >` escaped, because notification servers render markup.
#[test]
fn a_hostile_preview_reaches_the_notification_server_inert() {
    let world = World::start();
    let (alice, mut bob) = pair(&world, "alice", "bob");
    bob.write_config("notifications = \"preview\"\n");
    bob.restart();
    let hostile = "\x1b]52;c;cm0gLXJmIH4=\x07\x1b]8;;https://evil.example\x1b\\pay\x1b]8;;\x1b\\ \x1b[2J<a href=https://evil.example>here</a> \u{202e}txt.exe";
    deliver(&alice, &bob, hostile);
    let body = eventually(Duration::from_secs(15), "the preview", || {
        world
            .notifications()
            .into_iter()
            .find(|(summary, _)| summary == "New message from alice")
            .map(|(_, body)| body)
    });
    for raw in ["\x1b", "\x07", "\u{202e}", "<a href", "</a>"] {
        assert!(!body.contains(raw), "{raw:?} in {body:?}");
    }
    assert!(body.contains("␛]52;c;"), "{body:?}");
    assert!(
        body.contains("&lt;a href=https://evil.example&gt;here&lt;/a&gt;"),
        "{body:?}"
    );
    let log = std::fs::read_to_string(world.dir.path().join("notify.log")).unwrap();
    assert!(!log.contains('\x1b') && !log.contains('\u{202e}'), "{log}");
}
