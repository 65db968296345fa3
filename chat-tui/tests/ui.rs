//! `update` as a pure function, and `draw` with TestBackend + insta snapshots;
//! the shared helpers here, the views and flows in tests/ui/. (The worker's
//! tests, against the in-memory fake chatd, are in src/backend/tests.rs.)

use chat_tui::app::{
    self, Action, AppState, ContactDone, ContactFailed, DaemonLink, Edit, Effect, Pane,
};
use chat_tui::theme::{Theme, ThemeName};
use chat_tui::ui;
use ipc_schema::methods::{
    ConnectionState, Contact, ContactChange, ContactChangedEvent, ConversationView,
    DroppedCounters, Event, EventEnvelope, MessageListResult, MessageReceivedEvent, MessageState,
    MessageStateEvent, MessageView, StatusResult,
};
use ipc_schema::time::TimeZone;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

#[path = "ui/contacts.rs"]
mod contacts;
#[path = "ui/devices.rs"]
mod devices;
#[path = "ui/files.rs"]
mod files;
#[path = "ui/groups.rs"]
mod groups;
#[path = "ui/key_change.rs"]
mod key_change;
#[path = "ui/message_changes.rs"]
mod message_changes;
#[path = "ui/navigation.rs"]
mod navigation;
#[path = "ui/overlays.rs"]
mod overlays;
#[path = "ui/search.rs"]
mod search;
#[path = "ui/texts.rs"]
mod texts;

/// 2026-11-25 14:05 UTC.
const T0: u64 = 1_795_615_500_000;

fn msg(i: usize, peer: &str, out: bool, body: &str, state: MessageState) -> MessageView {
    let (from, to) = if out {
        ("alice", peer)
    } else {
        (peer, "alice")
    };
    MessageView {
        id: format!("{i:032x}"),
        from: from.into(),
        to: to.into(),
        ts: T0 + i as u64 * 60_000,
        direction: if out {
            ipc_schema::methods::Direction::Out
        } else {
            ipc_schema::methods::Direction::In
        },
        kind: "text".into(),
        body: Some(body.into()),
        reply_to: None,
        state,
        failure: (state == MessageState::Failed).then(|| "bob is not a contact any more".into()),
        seq: i as u64,
        truncated: false,
        group: None,
        deliveries: Vec::new(),
        edited: false,
        deleted: false,
        reactions: Vec::new(),
        file: None,
    }
}

fn conv(peer: &str, last: &str, minutes: u64, unread: u64, verified: bool) -> ConversationView {
    ConversationView {
        peer: peer.into(),
        last_message: Some(last.into()),
        last_ts: Some(T0 + minutes * 60_000),
        unread,
        verified,
    }
}

fn status() -> StatusResult {
    StatusResult {
        version: "0.1.0".into(),
        user: Some("alice".into()),
        fingerprint: Some(
            "3f2a 9c41 07be d5e8 1a6c 44f0 b93d 2e71 8c05 6a1f e4d2 97b3 50c8 2f6e a1d9 7b34"
                .into(),
        ),
        relay_url: Some("https://relay.example.org".into()),
        connection: ConnectionState::Online,
        unread: 5,
        outbox_pending: 0,
        dropped: DroppedCounters::default(),
        relay_trust: None,
        proxy: None,
        relays: Vec::new(),
    }
}

/// An online state with three conversations, sized `w`×`h`.
fn online(w: u16, h: u16) -> AppState {
    let mut s = AppState::new(
        "/run/chat/chatd.sock",
        Theme::named(ThemeName::None),
        TimeZone::Fixed(0),
    );
    s.now_ms = T0 + 3_600_000;
    app::update(&mut s, Action::Resize(w, h));
    app::update(&mut s, Action::DaemonOnline);
    app::update(&mut s, Action::Status(status()));
    app::update(
        &mut s,
        Action::Conversations(vec![
            conv(
                "bob",
                "see you at 🎉 the party tonight, bring snacks",
                50,
                3,
                true,
            ),
            conv("carol", "ok", 30, 0, false),
            conv("echo-bot", "echo: hello", 10, 2, false),
        ]),
    );
    s
}

fn open_with(s: &mut AppState, peer: &str, messages: Vec<MessageView>, has_more: bool) {
    let i = s.conversations.iter().position(|c| c.peer == peer).unwrap();
    s.selected = i;
    app::update(s, Action::OpenSelected);
    app::update(
        s,
        Action::Messages {
            peer: peer.into(),
            page: MessageListResult { messages, has_more },
            older: false,
        },
    );
}

fn render(s: &AppState) -> String {
    let mut t = Terminal::new(TestBackend::new(s.viewport.width, s.viewport.height)).unwrap();
    t.draw(|f| ui::draw(f, s)).unwrap();
    t.backend().to_string()
}

fn all_states() -> Vec<MessageView> {
    vec![
        msg(1, "bob", false, "hi alice", MessageState::Read),
        msg(2, "bob", true, "queued one", MessageState::Queued),
        msg(3, "bob", true, "sent one", MessageState::Sent),
        msg(4, "bob", true, "delivered one", MessageState::Delivered),
        msg(5, "bob", true, "read one", MessageState::Read),
        msg(6, "bob", true, "failed one", MessageState::Failed),
    ]
}

#[test]
fn snapshot_conversation_list_with_unreads_80x24() {
    let s = online(80, 24);
    insta::assert_snapshot!(render(&s));
}

#[test]
fn snapshot_each_delivery_state_80x24() {
    let mut s = online(80, 24);
    open_with(&mut s, "bob", all_states(), false);
    insta::assert_snapshot!(render(&s));
}

#[test]
fn snapshot_long_wrapped_message_with_emoji_80x24() {
    let mut s = online(80, 24);
    let long = "Here is a long message with emoji 🎉🎉🎉 and wide characters 日本語のテキスト \
                that must wrap cleanly without splitting a wide character across two rows: \
                🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀 end.";
    open_with(
        &mut s,
        "bob",
        vec![
            msg(1, "bob", false, long, MessageState::Read),
            msg(
                2,
                "bob",
                true,
                "line one\nline two",
                MessageState::Delivered,
            ),
        ],
        true,
    );
    app::update(
        &mut s,
        Action::Edit(Edit::InsertStr("a draft\nover two lines".into())),
    );
    insta::assert_snapshot!(render(&s));
}

#[test]
fn snapshot_help_overlay_80x24() {
    let mut s = online(80, 24);
    app::update(&mut s, Action::ToggleHelp);
    insta::assert_snapshot!(render(&s));
}

#[test]
fn snapshot_daemon_offline_80x24() {
    let mut s = AppState::new(
        "/run/chat/chatd.sock",
        Theme::named(ThemeName::None),
        TimeZone::Fixed(0),
    );
    app::update(&mut s, Action::Resize(80, 24));
    app::update(
        &mut s,
        Action::DaemonOffline("chatd is not running (no socket at /run/chat/chatd.sock)".into()),
    );
    insta::assert_snapshot!(render(&s));
}

#[test]
fn snapshot_open_conversation_200x50() {
    let mut s = online(200, 50);
    let mut messages = Vec::new();
    for i in 0..40 {
        messages.push(msg(
            i,
            "bob",
            i % 3 == 0,
            &format!("message number {i} — {}", "lorem ipsum ".repeat(i % 7)),
            MessageState::Read,
        ));
    }
    open_with(&mut s, "bob", messages, true);
    insta::assert_snapshot!(render(&s));
}

#[test]
fn opening_a_conversation_loads_a_page_focuses_and_marks_read() {
    let mut s = online(80, 24);
    s.selected = 0;
    let fx = app::update(&mut s, Action::OpenSelected);
    assert_eq!(
        fx,
        vec![
            Effect::LoadMessages { peer: "bob".into() },
            Effect::Focus {
                peer: Some("bob".into())
            },
            Effect::MarkRead { peer: "bob".into() },
            Effect::LoadStatus,
        ]
    );
    assert_eq!(s.focus, Pane::Composer);
    assert_eq!(s.conversations[0].unread, 0);
    assert_eq!(s.status.unread, 2);
}

#[test]
fn enter_sends_and_drafts_are_kept_per_conversation() {
    let mut s = online(80, 24);
    open_with(&mut s, "bob", vec![], false);
    for c in "hi bob".chars() {
        app::update(&mut s, Action::Edit(Edit::Insert(c)));
    }
    // Switch to carol: bob's draft stays.
    s.selected = 1;
    app::update(&mut s, Action::OpenSelected);
    assert_eq!(s.composer().unwrap().text, "");
    s.selected = 0;
    app::update(&mut s, Action::OpenSelected);
    assert_eq!(s.composer().unwrap().text, "hi bob");
    let fx = app::update(&mut s, Action::Submit);
    assert_eq!(
        fx,
        vec![Effect::Send {
            to: "bob".into(),
            body: "hi bob".into(),
            reply_to: None,
        }]
    );
    assert_eq!(s.composer().unwrap().text, "");
    // Blank text is not sent.
    assert!(app::update(&mut s, Action::Submit).is_empty());
}

#[test]
fn offline_submit_keeps_the_draft() {
    let mut s = online(80, 24);
    open_with(&mut s, "bob", vec![], false);
    app::update(&mut s, Action::Edit(Edit::InsertStr("later".into())));
    app::update(&mut s, Action::DaemonOffline("gone".into()));
    assert!(app::update(&mut s, Action::Submit).is_empty());
    assert_eq!(s.composer().unwrap().text, "later");
    assert!(s.notice.as_deref().unwrap().contains("offline"));
    // Coming back reloads everything and restores focus on the open conversation.
    let fx = app::update(&mut s, Action::DaemonOnline);
    assert!(fx.contains(&Effect::Focus {
        peer: Some("bob".into())
    }));
    assert!(fx.contains(&Effect::LoadConversations));
}

#[test]
fn a_resumed_connection_reloads_nothing_and_refocuses_the_open_conversation() {
    let mut s = online(80, 24);
    open_with(
        &mut s,
        "bob",
        vec![msg(1, "bob", false, "hi", MessageState::Read)],
        false,
    );
    app::update(&mut s, Action::DaemonOffline("gone".into()));
    let fx = app::update(&mut s, Action::DaemonResumed);
    assert_eq!(s.daemon, DaemonLink::Online);
    assert_eq!(
        fx,
        vec![
            Effect::Focus {
                peer: Some("bob".into())
            },
            Effect::MarkRead { peer: "bob".into() },
        ],
        "the missed events follow; nothing is loaded again"
    );
    // Unlike a fresh connection, after which chatd's events cannot be resumed.
    let fx = app::update(&mut s, Action::DaemonOnline);
    assert!(fx.contains(&Effect::LoadConversations) && fx.contains(&Effect::LoadStatus));
}

#[test]
fn incoming_message_in_the_open_conversation_is_shown_and_marked_read() {
    let mut s = online(80, 24);
    open_with(
        &mut s,
        "bob",
        vec![msg(1, "bob", true, "hey", MessageState::Sent)],
        false,
    );
    let event = |seq, event| Action::Event(EventEnvelope { seq, ts: T0, event });
    let fx = app::update(
        &mut s,
        event(
            1,
            Event::MessageReceived(MessageReceivedEvent {
                message: msg(2, "bob", false, "yo", MessageState::Delivered),
            }),
        ),
    );
    assert!(fx.contains(&Effect::MarkRead { peer: "bob".into() }));
    assert_eq!(s.open.as_ref().unwrap().messages.len(), 2);
    assert_eq!(s.conversations[0].unread, 0);
    // Same message again (replay) is not duplicated.
    app::update(
        &mut s,
        event(
            2,
            Event::MessageReceived(MessageReceivedEvent {
                message: msg(2, "bob", false, "yo", MessageState::Delivered),
            }),
        ),
    );
    assert_eq!(s.open.as_ref().unwrap().messages.len(), 2);
    // A tick moves.
    app::update(
        &mut s,
        event(
            3,
            Event::MessageState(MessageStateEvent {
                id: format!("{:032x}", 1),
                peer: "bob".into(),
                state: MessageState::Read,
                failure: None,
                deliveries: Vec::new(),
            }),
        ),
    );
    assert_eq!(
        s.open.as_ref().unwrap().messages[0].state,
        MessageState::Read
    );
    // Elsewhere: unread goes up, carol moves to the top, the selection stays on bob.
    let fx = app::update(
        &mut s,
        event(
            4,
            Event::MessageReceived(MessageReceivedEvent {
                message: msg(9, "carol", false, "psst", MessageState::Delivered),
            }),
        ),
    );
    assert!(!fx.contains(&Effect::MarkRead {
        peer: "carol".into()
    }));
    assert_eq!(s.conversations[0].peer, "carol");
    assert_eq!(s.conversations[0].unread, 1);
    assert_eq!(s.selected_peer(), Some("bob"));
}

fn received(seq: u64, message: MessageView) -> Action {
    Action::Event(EventEnvelope {
        seq,
        ts: T0,
        event: Event::MessageReceived(MessageReceivedEvent { message }),
    })
}

#[test]
fn messages_update_the_list_and_unread_counts_in_place_without_a_reload() {
    let mut s = online(80, 24);
    open_with(&mut s, "bob", vec![], false);
    let unread = s.status.unread;
    let big = format!("first line {}\nsecond line", "x".repeat(1024 * 1024));
    let fx = app::update(
        &mut s,
        received(1, msg(10, "carol", false, &big, MessageState::Delivered)),
    );
    assert_eq!(fx, vec![], "no LoadStatus, no LoadConversations");
    let carol = &s.conversations[0];
    assert_eq!((carol.peer.as_str(), carol.unread), ("carol", 1));
    let preview = carol.last_message.as_deref().unwrap();
    assert!(preview.starts_with("first line xxx"), "{preview}");
    assert!(preview.len() <= 256, "a short preview, not the 1 MiB body");
    assert_eq!(s.status.unread, unread + 1);
    assert_eq!(s.selected_peer(), Some("bob"), "the highlight stays");

    // Someone new, and a message another frontend sent: no unread for that one.
    app::update(
        &mut s,
        received(2, msg(11, "dave", false, "hello", MessageState::Delivered)),
    );
    let fx = app::update(
        &mut s,
        received(3, msg(12, "echo-bot", true, "ping", MessageState::Queued)),
    );
    assert_eq!(fx, vec![]);
    let peers: Vec<_> = s.conversations.iter().map(|c| c.peer.as_str()).collect();
    assert_eq!(peers, ["echo-bot", "dave", "carol", "bob"]);
    assert_eq!(
        s.conversations[0].unread, 2,
        "unchanged by an outgoing message"
    );
    assert_eq!(s.conversations[1].unread, 1);
    assert_eq!(s.status.unread, unread + 2);
}

#[test]
fn contact_changes_update_the_lists_in_place() {
    let mut s = with_contacts(80, 24);
    let changed = |seq, change, contact| {
        Action::Event(EventEnvelope {
            seq,
            ts: T0,
            event: Event::ContactChanged(ContactChangedEvent {
                change,
                contact,
                old_fingerprint: None,
                new_fingerprint: None,
            }),
        })
    };
    let dave = Contact {
        user: "dave".into(),
        fingerprint: BOB_FP.into(),
        verified: false,
        added_at: 0,
        pending_fingerprint: None,
        quarantined: 0,
        dropped: 0,
        rotated: false,
        frozen: false,
    };
    assert_eq!(
        app::update(&mut s, changed(1, ContactChange::Added, dave.clone())),
        vec![]
    );
    let users: Vec<_> = s.contacts.iter().map(|c| c.user.as_str()).collect();
    assert_eq!(users, ["bob", "carol", "dave"]);
    assert_eq!(s.conversations.last().unwrap().peer, "dave");
    let mut carol = contact_list()[1].clone();
    carol.verified = true;
    assert_eq!(
        app::update(&mut s, changed(2, ContactChange::Verified, carol)),
        vec![]
    );
    assert!(s.is_verified("carol"));
    let carol_line = s.conversations.iter().find(|c| c.peer == "carol").unwrap();
    assert!(carol_line.verified);
    app::update(&mut s, changed(3, ContactChange::Removed, dave));
    assert!(!s.conversations.iter().any(|c| c.peer == "dave"));
}

#[test]
fn contacts_without_messages_are_listed_after_conversations() {
    let mut s = online(80, 24);
    app::update(
        &mut s,
        Action::Contacts(vec![Contact {
            user: "dave".into(),
            fingerprint: "ab".into(),
            verified: true,
            added_at: 0,
            pending_fingerprint: None,
            quarantined: 0,
            dropped: 0,
            rotated: false,
            frozen: false,
        }]),
    );
    let peers: Vec<_> = s.conversations.iter().map(|c| c.peer.as_str()).collect();
    assert_eq!(peers, ["bob", "carol", "echo-bot", "dave"]);
    assert!(render(&s).contains("no messages yet"));
}

const BOB_FP: &str =
    "c7e1 0d59 a8f3 6b2e 94c0 1f7a 3e85 d26b 5a09 e7c4 82f1 4d3b b06e 19a7 f5c2 6e80";
const CAROL_FP: &str =
    "ef2a 9c41 07be d5e8 1a6c 44f0 b9ed 2e71 8c05 6a1f e4d2 97be 50c8 2f6e a1d9 7be4";

fn contact_list() -> Vec<Contact> {
    vec![
        Contact {
            user: "bob".into(),
            fingerprint: BOB_FP.into(),
            verified: true,
            added_at: 0,
            pending_fingerprint: None,
            quarantined: 0,
            dropped: 0,
            rotated: false,
            frozen: false,
        },
        Contact {
            user: "carol".into(),
            fingerprint: CAROL_FP.into(),
            verified: false,
            added_at: 0,
            pending_fingerprint: None,
            quarantined: 0,
            dropped: 0,
            rotated: false,
            frozen: false,
        },
    ]
}

fn with_contacts(w: u16, h: u16) -> AppState {
    let mut s = online(w, h);
    app::update(&mut s, Action::Contacts(contact_list()));
    let fx = app::update(&mut s, Action::ShowContacts);
    assert_eq!(fx, vec![Effect::LoadContacts]);
    s
}

fn type_prompt(s: &mut AppState, text: &str) {
    app::update(s, Action::PromptEdit(Edit::InsertStr(text.into())));
}

fn rebound(pairs: &[(&str, &str)]) -> app::keymap::KeyMap {
    app::keymap::KeyMap::from_config(
        &pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    )
    .unwrap()
}

/// What a hostile contact or relay sends: a clipboard write (OSC 52), a
/// hidden link (OSC 8), a screen clear with a fake line (CSI 2J), a
/// right-to-left override and the one-byte C1 form of CSI.
const HOSTILE: &str = "hi \x1b]52;c;cm0gLXJmIH4=\x07 \x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\ \x1b[2J\x1b[Hbob: fake line \u{202e}gnp.exe \u{9b}2J";

/// Asserts that the screen holds nothing a terminal would act on, and the
/// stand-ins of [`HOSTILE`] (`stand_ins` of them, the rest may be cut).
fn assert_drawn_inert(screen: &str, stand_ins: &[&str]) {
    let active: Vec<char> = screen
        .chars()
        .filter(|c| {
            matches!(c, '\x00'..='\x09' | '\x0b'..='\x1f' | '\x7f'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    assert!(
        active.is_empty(),
        "active characters {active:?} on\n{screen}"
    );
    for s in stand_ins {
        assert!(screen.contains(s), "{s:?} on\n{screen}");
    }
}
