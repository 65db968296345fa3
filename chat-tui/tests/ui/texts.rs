//! Peers' and the relay's text drawn inert, and long texts drawn cut.

use super::*;

/// Snapshots live beside ui.rs's, in tests/snapshots.
macro_rules! snapshot {
    ($screen:expr) => {
        insta::with_settings!({ snapshot_path => "../snapshots" }, {
            insta::assert_snapshot!($screen);
        })
    };
}

#[test]
fn hostile_text_from_a_contact_and_the_relay_is_drawn_inert() {
    let mut s = online(200, 30);
    app::update(
        &mut s,
        Action::Conversations(vec![
            conv("bob", HOSTILE, 50, 1, true),
            conv("carol", "ok", 30, 0, false),
        ]),
    );
    let mut unsupported = msg(2, "carol", false, "", MessageState::Delivered);
    unsupported.kind = format!("x{HOSTILE}");
    unsupported.body = None;
    let mut failed = msg(3, "carol", true, "sorry?", MessageState::Failed);
    failed.failure = Some(HOSTILE.into());
    open_with(
        &mut s,
        "carol",
        vec![
            msg(1, "carol", false, HOSTILE, MessageState::Delivered),
            unsupported,
            failed,
        ],
        false,
    );
    app::update(
        &mut s,
        Action::Event(EventEnvelope {
            seq: 1,
            ts: T0,
            event: Event::ConnectionChanged(ipc_schema::methods::ConnectionChangedEvent {
                connection: ConnectionState::Offline,
                error: Some(HOSTILE.into()),
            }),
        }),
    );
    let screen = render(&s);
    let whole = [
        "␛]52;c;cm0gLXJmIH4=␇",
        "␛]8;;https://evil.example␛\\click",
        "␛[2J␛[Hbob: fake line",
        "\u{fffd}gnp.exe",
        "\u{fffd}2J",
    ];
    assert_drawn_inert(&screen, &whole);
    // The body, the unsupported kind, the failure reason and the relay's
    // error in the status bar, in full.
    assert_eq!(
        screen.matches("␛[2J␛[Hbob: fake line").count(),
        4,
        "{screen}"
    );
    // And bob's preview in the list, cut.
    assert_eq!(screen.matches("hi ␛]52;c;").count(), 5, "{screen}");

    // chatd unreachable, with a reason that carries the same.
    app::update(&mut s, Action::DaemonOffline(HOSTILE.into()));
    assert_drawn_inert(&render(&s), &whole[..2]);
}

#[test]
fn snapshot_cut_text_80x24() {
    let mut s = online(80, 24);
    // As message.list sends a long text: its first 64 KiB, marked.
    let mut cut = msg(
        1,
        "bob",
        false,
        &"lorem ipsum ".repeat(64 * 1024 / 12),
        MessageState::Read,
    );
    cut.truncated = true;
    open_with(
        &mut s,
        "bob",
        vec![cut, msg(2, "bob", true, "tl;dr?", MessageState::Read)],
        false,
    );
    let screen = render(&s);
    assert!(screen.contains("… (cut at 64 KiB; `chat-ctl log` shows it whole)"));
    snapshot!(screen);
}

#[test]
fn a_4_mib_text_arriving_by_event_is_kept_and_drawn_cut_at_64_kib() {
    let mut s = online(80, 24);
    open_with(&mut s, "bob", vec![], false);
    let mut big = "0123456789abcdé\n".repeat(4 * 1024 * 1024 / 17);
    big.push_str("the very end");
    app::update(
        &mut s,
        Action::Event(EventEnvelope {
            seq: 1,
            ts: T0,
            event: Event::MessageReceived(MessageReceivedEvent {
                message: msg(7, "bob", false, &big, MessageState::Delivered),
            }),
        }),
    );
    let kept = &s.open.as_ref().unwrap().messages[0];
    assert!(kept.truncated);
    let body = kept.body.as_deref().unwrap();
    assert!(
        body.len() <= ipc_schema::methods::LIST_BODY_MAX,
        "{}",
        body.len()
    );
    assert!(big.starts_with(body));
    let screen = render(&s);
    assert!(screen.contains("cut at 64 KiB"), "{screen}");
    assert!(!screen.contains("the very end"));
}
