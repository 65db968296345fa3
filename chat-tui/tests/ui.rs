//! `update` as a pure function, and `draw` with TestBackend + insta snapshots.
//! (The worker's tests, against the in-memory fake chatd, are in
//! src/backend/worker.rs.)

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

#[path = "ui/devices.rs"]
mod devices;
#[path = "ui/key_change.rs"]
mod key_change;
#[path = "ui/message_changes.rs"]
mod message_changes;
#[path = "ui/search.rs"]
mod search;

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
fn page_up_at_the_top_loads_older_by_the_oldest_id_once() {
    let mut s = online(80, 24);
    let page: Vec<_> = (100..110)
        .map(|i| msg(i, "bob", false, "x", MessageState::Read))
        .collect();
    open_with(&mut s, "bob", page, true);
    let mut older = None;
    for _ in 0..10 {
        let fx = app::update(&mut s, Action::PageUp);
        if let Some(e) = fx
            .into_iter()
            .find(|e| matches!(e, Effect::LoadOlder { .. }))
        {
            older = Some(e);
            break;
        }
    }
    assert_eq!(
        older,
        Some(Effect::LoadOlder {
            peer: "bob".into(),
            before: 100
        })
    );
    // While loading, no second request.
    assert!(app::update(&mut s, Action::PageUp).is_empty());
    app::update(
        &mut s,
        Action::Messages {
            peer: "bob".into(),
            page: MessageListResult {
                messages: vec![msg(99, "bob", false, "older", MessageState::Read)],
                has_more: false,
            },
            older: true,
        },
    );
    let open = s.open.as_ref().unwrap();
    assert_eq!(open.messages.len(), 11);
    assert_eq!(open.messages[0].body.as_deref(), Some("older"));
    assert!(!open.has_more);
}

#[test]
fn scrolling_is_clamped_and_g_goes_home() {
    let mut s = online(80, 24);
    let page: Vec<_> = (0..50)
        .map(|i| msg(i, "bob", false, "x", MessageState::Read))
        .collect();
    open_with(&mut s, "bob", page, false);
    app::update(&mut s, Action::Focus(Pane::Messages));
    app::update(&mut s, Action::ScrollTop);
    let top = s.open.as_ref().unwrap().scroll;
    assert!(top > 0);
    app::update(&mut s, Action::ScrollUp(5));
    assert_eq!(s.open.as_ref().unwrap().scroll, top);
    app::update(&mut s, Action::HalfPageDown);
    assert!(s.open.as_ref().unwrap().scroll < top);
    app::update(&mut s, Action::ScrollBottom);
    assert_eq!(s.open.as_ref().unwrap().scroll, 0);
    assert!(render(&s).contains("x"));
}

#[test]
fn keys_map_by_pane_and_ctrl_c_always_quits() {
    use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
    let key = |c, m| TermEvent::Key(KeyEvent::new(c, m));
    let mut s = online(80, 24);
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Char('q'), KeyModifiers::NONE)),
        Some(Action::Quit)
    );
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Char('j'), KeyModifiers::NONE)),
        Some(Action::SelectNext)
    );
    open_with(&mut s, "bob", vec![], false);
    assert_eq!(s.focus, Pane::Composer);
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Char('q'), KeyModifiers::NONE)),
        Some(Action::Edit(Edit::Insert('q')))
    );
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Enter, KeyModifiers::ALT)),
        Some(Action::Edit(Edit::Newline))
    );
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Enter, KeyModifiers::NONE)),
        Some(Action::Submit)
    );
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Char('c'), KeyModifiers::CONTROL)),
        Some(Action::Quit)
    );
    assert_eq!(
        app::keys::map_event(&s, TermEvent::Paste("a\nb".into())),
        Some(Action::Edit(Edit::InsertStr("a\nb".into())))
    );
    app::update(&mut s, Action::Focus(Pane::Messages));
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Char('u'), KeyModifiers::CONTROL)),
        Some(Action::HalfPageUp)
    );
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Char('G'), KeyModifiers::SHIFT)),
        Some(Action::ScrollBottom)
    );
    app::update(&mut s, Action::ToggleHelp);
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Esc, KeyModifiers::NONE)),
        Some(Action::CloseOverlay)
    );
}

#[test]
fn mouse_click_on_the_list_opens_that_conversation() {
    let mut s = online(80, 24);
    // Row 1 is the list's first entry (inside the border); carol is entry 1 at rows 3–4.
    let fx = app::update(&mut s, Action::MouseClick { column: 3, row: 3 });
    assert_eq!(s.open.as_ref().unwrap().peer, "carol");
    assert!(fx.contains(&Effect::MarkRead {
        peer: "carol".into()
    }));
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

#[test]
fn snapshot_contacts_view_80x24() {
    let mut s = with_contacts(80, 24);
    app::update(&mut s, Action::SelectNext);
    insta::assert_snapshot!(render(&s));
}

#[test]
fn snapshot_contacts_remove_confirmation_80x24() {
    let mut s = with_contacts(80, 24);
    app::update(&mut s, Action::SelectNext);
    app::update(&mut s, Action::ContactRemove);
    insta::assert_snapshot!(render(&s));
}

#[test]
fn snapshot_contacts_verify_mismatch_80x24() {
    let mut s = with_contacts(80, 24);
    app::update(&mut s, Action::SelectLast);
    app::update(&mut s, Action::ContactVerify);
    type_prompt(&mut s, BOB_FP);
    app::update(&mut s, Action::PromptSubmit);
    app::update(
        &mut s,
        Action::ContactResult(Err(ContactFailed::FingerprintMismatch(
            "fingerprint does not match the pinned card".into(),
        ))),
    );
    insta::assert_snapshot!(render(&s));
}

#[test]
fn contacts_keys_open_the_view_and_its_prompts() {
    use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
    let key = |c| TermEvent::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    let mut s = online(80, 24);
    assert_eq!(
        app::keys::map_event(&s, key('c')),
        Some(Action::ShowContacts)
    );
    app::update(&mut s, Action::Contacts(contact_list()));
    app::update(&mut s, Action::ShowContacts);
    assert_eq!(
        app::keys::map_event(&s, key('d')),
        Some(Action::ContactRemove)
    );
    app::update(&mut s, Action::ContactRemove);
    // In the confirmation only y and n mean something.
    assert_eq!(app::keys::map_event(&s, key('q')), None);
    assert_eq!(
        app::keys::map_event(&s, key('y')),
        Some(Action::PromptSubmit)
    );
    assert_eq!(
        app::keys::map_event(&s, key('n')),
        Some(Action::CloseOverlay)
    );
    app::update(&mut s, Action::CloseOverlay);
    assert!(matches!(s.overlay, Some(app::Overlay::Contacts(ref v)) if v.prompt.is_none()));
    app::update(&mut s, Action::ContactAdd);
    // Typed letters go to the prompt, pastes too.
    assert_eq!(
        app::keys::map_event(&s, key('d')),
        Some(Action::PromptEdit(Edit::Insert('d')))
    );
    assert_eq!(
        app::keys::map_event(&s, TermEvent::Paste("x".into())),
        Some(Action::PromptEdit(Edit::InsertStr("x".into())))
    );
    // Esc closes the prompt, then the view.
    app::update(&mut s, Action::CloseOverlay);
    app::update(&mut s, Action::CloseOverlay);
    assert_eq!(s.overlay, None);
    assert!(app::keys::help_rows(&s.keys).iter().any(|(k, _)| k == "c"));
}

#[test]
fn remove_asks_first_then_calls_and_the_event_updates_the_lists() {
    let mut s = with_contacts(80, 24);
    app::update(&mut s, Action::SelectNext);
    assert!(app::update(&mut s, Action::ContactRemove).is_empty());
    let fx = app::update(&mut s, Action::PromptSubmit);
    assert_eq!(
        fx,
        vec![Effect::RemoveContact {
            user: "carol".into()
        }]
    );
    let removed = ContactDone::Removed {
        user: "carol".into(),
    };
    let fx = app::update(&mut s, Action::ContactResult(Ok(removed)));
    assert_eq!(fx, vec![], "no reload: chatd's contact.changed follows");
    let Some(app::Overlay::Contacts(v)) = &s.overlay else {
        panic!()
    };
    assert_eq!(v.prompt, None);
    // The event: the list shrinks, the highlight stays on it.
    let carol = contact_list()[1].clone();
    app::update(
        &mut s,
        Action::Event(EventEnvelope {
            seq: 9,
            ts: T0,
            event: Event::ContactChanged(ContactChangedEvent {
                change: ContactChange::Removed,
                contact: carol,
                old_fingerprint: None,
                new_fingerprint: None,
            }),
        }),
    );
    assert_eq!(s.contacts, contact_list()[..1].to_vec());
    let Some(app::Overlay::Contacts(v)) = &s.overlay else {
        panic!()
    };
    assert_eq!(v.selected, 0);
}

#[test]
fn verify_checks_the_input_locally_then_sends_it_grouped() {
    let mut s = with_contacts(80, 24);
    app::update(&mut s, Action::ContactVerify);
    type_prompt(&mut s, "c7e1 0d59");
    assert!(app::update(&mut s, Action::PromptSubmit).is_empty());
    let Some(app::Overlay::Contacts(v)) = &s.overlay else {
        panic!()
    };
    assert!(matches!(&v.message, Some(Err(e)) if e.contains("64 hex digits")));
    app::update(&mut s, Action::PromptEdit(Edit::DeleteToLineStart));
    type_prompt(&mut s, &BOB_FP.replace(' ', "").to_uppercase());
    let fx = app::update(&mut s, Action::PromptSubmit);
    assert_eq!(
        fx,
        vec![Effect::VerifyContact {
            user: "bob".into(),
            fingerprint: BOB_FP.into()
        }]
    );
    // A second Enter while chatd thinks does nothing.
    assert!(app::update(&mut s, Action::PromptSubmit).is_empty());
    // A mismatch keeps the prompt open with the error.
    let refused = ContactFailed::Refused("mismatch".into());
    app::update(&mut s, Action::ContactResult(Err(refused)));
    let Some(app::Overlay::Contacts(v)) = &s.overlay else {
        panic!()
    };
    assert!(v.prompt.is_some());
    assert_eq!(v.message, Some(Err("mismatch".into())));
}

#[test]
fn add_takes_a_path_or_a_directory_lookup() {
    let mut s = with_contacts(80, 24);
    app::update(&mut s, Action::ContactAdd);
    type_prompt(&mut s, "~/bob.card");
    assert_eq!(
        app::update(&mut s, Action::PromptSubmit),
        vec![Effect::AddContactCard {
            path: "~/bob.card".into()
        }]
    );
    app::update(&mut s, Action::CloseOverlay);
    app::update(&mut s, Action::ContactAdd);
    type_prompt(&mut s, &format!("dave {}", BOB_FP.replace(' ', "")));
    assert_eq!(
        app::update(&mut s, Action::PromptSubmit),
        vec![Effect::AddContactDirectory {
            user: "dave".into(),
            fingerprint: BOB_FP.into()
        }]
    );
}

fn identity_action(card: &str) -> Action {
    Action::Identity {
        show: ipc_schema::methods::IdentityShowResult {
            user: "alice".into(),
            fingerprint: status().fingerprint.unwrap(),
            key_bits: 3072,
        },
        card: card.into(),
    }
}

#[test]
fn snapshot_identity_with_qr_80x40() {
    let mut s = online(80, 40);
    assert_eq!(
        app::update(&mut s, Action::ShowIdentity),
        vec![Effect::LoadIdentity]
    );
    assert!(render(&s).contains("loading…"));
    app::update(
        &mut s,
        identity_action(r#"{"enc":"MIIB","sig":"MIIC","user":"alice","v":1}"#),
    );
    insta::assert_snapshot!(render(&s));
}

#[test]
fn identity_says_when_the_terminal_is_too_small_for_the_qr_code() {
    let mut s = online(80, 24);
    app::update(&mut s, Action::ShowIdentity);
    let card = format!(
        r#"{{"enc":"{}","sig":"{}","user":"alice","v":1}}"#,
        "A".repeat(564),
        "B".repeat(564)
    );
    app::update(&mut s, identity_action(&card));
    let screen = render(&s);
    assert!(screen.contains("too small"), "{screen}");
    assert!(!screen.contains('▀'));
    assert!(screen.contains("3f2a 9c41"));
    // Large enough, it draws.
    app::update(&mut s, Action::Resize(200, 90));
    assert!(render(&s).contains('▀'));
    use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
    assert_eq!(
        app::keys::map_event(
            &s,
            TermEvent::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE))
        ),
        Some(Action::CloseOverlay)
    );
    app::update(&mut s, Action::CloseOverlay);
    assert_eq!(s.overlay, None);
}

#[test]
fn snapshot_picker_filtering_80x24() {
    let mut s = online(80, 24);
    app::update(&mut s, Action::Contacts(contact_list()));
    app::update(
        &mut s,
        Action::Contacts(vec![Contact {
            user: "bobby-tables".into(),
            fingerprint: BOB_FP.into(),
            verified: false,
            added_at: 0,
            pending_fingerprint: None,
            quarantined: 0,
            dropped: 0,
            rotated: false,
            frozen: false,
        }]),
    );
    app::update(&mut s, Action::OpenPicker);
    type_prompt(&mut s, "bo");
    insta::assert_snapshot!(render(&s));
}

#[test]
fn picker_filters_by_subsequence_and_enter_opens() {
    use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
    let key = |c, m| TermEvent::Key(KeyEvent::new(c, m));
    let mut s = online(80, 24);
    open_with(&mut s, "bob", vec![], false);
    // Ctrl+P works even while writing.
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Char('p'), KeyModifiers::CONTROL)),
        Some(Action::OpenPicker)
    );
    app::update(&mut s, Action::OpenPicker);
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Char('q'), KeyModifiers::NONE)),
        Some(Action::PromptEdit(Edit::Insert('q')))
    );
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Down, KeyModifiers::NONE)),
        Some(Action::SelectNext)
    );
    // "eb" is a subsequence of echo-bot only.
    type_prompt(&mut s, "eb");
    let Some(app::Overlay::Picker(p)) = &s.overlay else {
        panic!()
    };
    let hits = app::picker::matches(&s, &p.query.text);
    assert_eq!(hits, vec![2]);
    // "o": prefix none, contiguous in all three; earlier position first (bob, echo-bot at 3, carol at 1).
    app::update(&mut s, Action::PromptEdit(Edit::DeleteToLineStart));
    type_prompt(&mut s, "o");
    let order: Vec<_> = app::picker::matches(&s, "o")
        .into_iter()
        .map(|i| s.conversations[i].peer.clone())
        .collect();
    assert_eq!(order, ["bob", "carol", "echo-bot"]);
    app::update(&mut s, Action::SelectNext);
    app::update(&mut s, Action::SelectNext);
    app::update(&mut s, Action::SelectNext);
    let fx = app::update(&mut s, Action::PromptSubmit);
    assert_eq!(s.overlay, None);
    assert_eq!(s.open.as_ref().unwrap().peer, "echo-bot");
    assert!(fx.contains(&Effect::LoadMessages {
        peer: "echo-bot".into()
    }));
    // No match: Enter keeps the picker; Esc closes it.
    app::update(&mut s, Action::OpenPicker);
    type_prompt(&mut s, "zzz");
    assert!(app::update(&mut s, Action::PromptSubmit).is_empty());
    assert!(s.overlay.is_some());
    app::update(&mut s, Action::CloseOverlay);
    assert_eq!(s.overlay, None);
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

#[test]
fn a_rebound_key_takes_effect_and_the_old_one_is_free() {
    use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
    let key = |c, m| TermEvent::Key(KeyEvent::new(c, m));
    let mut s = online(80, 24);
    s.keys = rebound(&[("help", "f1"), ("quit", "ctrl+q"), ("down", "alt+down")]);
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::F(1), KeyModifiers::NONE)),
        Some(Action::ToggleHelp)
    );
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Char('?'), KeyModifiers::NONE)),
        None
    );
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Char('q'), KeyModifiers::CONTROL)),
        Some(Action::Quit)
    );
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Char('q'), KeyModifiers::NONE)),
        None
    );
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Down, KeyModifiers::ALT)),
        Some(Action::SelectNext)
    );
    // The arrow keys stay, whatever the vim keys are bound to.
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::Down, KeyModifiers::NONE)),
        Some(Action::SelectNext)
    );
    app::update(&mut s, Action::ToggleHelp);
    assert_eq!(
        app::keys::map_event(&s, key(KeyCode::F(1), KeyModifiers::NONE)),
        Some(Action::CloseOverlay)
    );
}

#[test]
fn help_overlay_shows_the_configured_keys() {
    let mut s = online(80, 24);
    s.keys = rebound(&[("help", "f1"), ("quit", "ctrl+q"), ("picker", "alt+enter")]);
    app::update(&mut s, Action::ToggleHelp);
    let screen = render(&s);
    let row = |what: &str| {
        screen
            .lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no {what:?} row in\n{screen}"))
            .to_owned()
    };
    assert!(row("this help").contains("  F1  "), "{screen}");
    assert!(
        row("quit (not while writing)").contains("Ctrl+Q"),
        "{screen}"
    );
    assert!(
        row("fuzzy conversation picker").contains("Alt+Enter"),
        "{screen}"
    );
    assert!(
        !row("fuzzy conversation picker").contains("Ctrl+P"),
        "{screen}"
    );
    // The defaults render as before.
    let rows = app::keys::help_rows(&app::keymap::KeyMap::default());
    assert!(rows.contains(&(
        "Ctrl+P".into(),
        "fuzzy conversation picker: type, ↑ ↓, Enter opens".into()
    )));
    assert!(rows.contains(&("Tab / Shift+Tab".into(), "next / previous pane".into())));
    assert!(
        rows.iter()
            .all(|(k, w)| !k.contains('{') && !w.contains('{'))
    );
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
    insta::assert_snapshot!(screen);
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

const OPS: &str = "9d2f7c41b0e84a6f8c13d5e7a9b1c3d5";

/// A group message of `ops`: from `from` (alice is this user).
fn group_msg(i: usize, from: &str, body: &str, kind: &str) -> MessageView {
    let out = from == "alice";
    let mut m = msg(i, from, out, body, MessageState::Delivered);
    m.from = from.into();
    m.to = if out {
        format!("#{OPS}")
    } else {
        "alice".into()
    };
    m.kind = kind.into();
    m.group = Some(OPS.into());
    m
}

#[test]
fn snapshot_group_conversation_with_senders_history_lines_and_member_ticks_80x24() {
    let mut s = online(80, 24);
    app::update(
        &mut s,
        Action::Groups(vec![ipc_schema::methods::GroupView {
            id: OPS.into(),
            name: "ops".into(),
            version: 2,
            state: ipc_schema::methods::GroupState::Member,
            admin: true,
            members: 3,
        }]),
    );
    let mut convs = s.conversations.clone();
    convs.insert(0, conv(&format!("#{OPS}"), "deploy done", 55, 1, false));
    app::update(&mut s, Action::Conversations(convs));
    let mut mine = group_msg(3, "alice", "deploy at noon", "text");
    mine.state = MessageState::Sent;
    mine.deliveries = vec![
        ipc_schema::methods::DeliveryView {
            user: "bob".into(),
            state: MessageState::Delivered,
        },
        ipc_schema::methods::DeliveryView {
            user: "carol".into(),
            state: MessageState::Sent,
        },
    ];
    open_with(
        &mut s,
        &format!("#{OPS}"),
        vec![
            group_msg(1, "alice", "alice created the group ops", "system"),
            group_msg(2, "alice", "alice added carol", "system"),
            mine,
            group_msg(4, "bob", "ack", "text"),
            group_msg(5, "carol", "deploy done", "text"),
        ],
        false,
    );
    let screen = render(&s);
    assert!(screen.contains("#ops"), "{screen}");
    assert!(screen.contains("1/2"), "per-member ticks: {screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn snapshot_group_members_view_marks_unverified_and_introduced_members_80x24() {
    let mut s = online(80, 24);
    let ops = ipc_schema::methods::GroupView {
        id: OPS.into(),
        name: "ops".into(),
        version: 2,
        state: ipc_schema::methods::GroupState::Member,
        admin: true,
        members: 3,
    };
    app::update(&mut s, Action::Groups(vec![ops.clone()]));
    let mut convs = s.conversations.clone();
    convs.insert(0, conv(&format!("#{OPS}"), "deploy done", 55, 0, false));
    app::update(&mut s, Action::Conversations(convs));
    open_with(&mut s, &format!("#{OPS}"), vec![], false);
    let fx = app::update(&mut s, Action::ShowMembers);
    assert!(
        fx.contains(&Effect::LoadGroupInfo { group: OPS.into() }),
        "{fx:?}"
    );
    let member = |user: &str, admin: bool, verified: bool, by: Option<&str>| {
        ipc_schema::methods::GroupMemberView {
            user: user.into(),
            admin,
            since: 0,
            fingerprint: "ab".repeat(32),
            verified,
            introduced_by: by.map(Into::into),
        }
    };
    app::update(
        &mut s,
        Action::GroupInfo(ipc_schema::methods::GroupInfoResult {
            group: ops,
            members: vec![
                member("alice", true, false, None),
                member("bob", false, true, None),
                member("dave", false, false, Some("alice")),
            ],
        }),
    );
    let screen = render(&s);
    assert!(screen.contains("introduced by alice"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn the_members_view_adds_and_removes_through_chatd() {
    let mut s = online(80, 24);
    let ops = ipc_schema::methods::GroupView {
        id: OPS.into(),
        name: "ops".into(),
        version: 1,
        state: ipc_schema::methods::GroupState::Member,
        admin: true,
        members: 2,
    };
    app::update(&mut s, Action::Groups(vec![ops.clone()]));
    let mut convs = s.conversations.clone();
    convs.insert(0, conv(&format!("#{OPS}"), "hi", 55, 0, false));
    app::update(&mut s, Action::Conversations(convs));
    open_with(&mut s, &format!("#{OPS}"), vec![], false);
    app::update(&mut s, Action::ShowMembers);
    let member = |user: &str| ipc_schema::methods::GroupMemberView {
        user: user.into(),
        admin: user == "alice",
        since: 0,
        fingerprint: "ab".repeat(32),
        verified: false,
        introduced_by: None,
    };
    app::update(
        &mut s,
        Action::GroupInfo(ipc_schema::methods::GroupInfoResult {
            group: ops,
            members: vec![member("alice"), member("bob")],
        }),
    );
    // d on bob, then y: group.remove.
    app::update(&mut s, Action::MemberSelect(1));
    app::update(&mut s, Action::MemberRemovePrompt);
    assert!(render(&s).contains("remove bob from #ops? y/n"));
    let fx = app::update(&mut s, Action::MemberPromptSubmit);
    assert_eq!(
        fx,
        [Effect::GroupChange {
            group: OPS.into(),
            user: "bob".into(),
            add: false
        }]
    );
    // a, a name, Enter: group.add; a bad name never leaves the TUI.
    app::update(&mut s, Action::MemberAddPrompt);
    app::update(
        &mut s,
        Action::MemberPromptEdit(Edit::InsertStr("No Such".into())),
    );
    assert!(app::update(&mut s, Action::MemberPromptSubmit).is_empty());
    assert!(render(&s).contains("is not a username"));
    app::update(
        &mut s,
        Action::MemberPromptEdit(Edit::InsertStr("carol".into())),
    );
    let fx = app::update(&mut s, Action::MemberPromptSubmit);
    assert_eq!(
        fx,
        [Effect::GroupChange {
            group: OPS.into(),
            user: "carol".into(),
            add: true
        }]
    );
    app::update(
        &mut s,
        Action::MemberResult(Err("only an admin of the group can do that".into())),
    );
    assert!(render(&s).contains("only an admin"));
}

#[test]
fn the_picker_creates_a_group_from_plus_name_and_users() {
    let mut s = online(80, 24);
    app::update(&mut s, Action::OpenPicker);
    app::update(
        &mut s,
        Action::PromptEdit(Edit::InsertStr("+ops bob carol".into())),
    );
    assert!(render(&s).contains("Enter creates #ops with bob, carol"));
    let fx = app::update(&mut s, Action::PromptSubmit);
    assert_eq!(
        fx,
        [Effect::CreateGroup {
            name: "ops".into(),
            members: vec!["bob".into(), "carol".into()]
        }]
    );
    assert!(s.overlay.is_none());
}

#[test]
fn a_new_device_of_this_account_is_announced_in_the_status_bar() {
    let mut s = online(160, 24);
    app::update(
        &mut s,
        Action::Event(EventEnvelope {
            seq: 1,
            ts: T0,
            event: Event::DeviceAdded(ipc_schema::methods::DeviceAddedEvent {
                name: "lap\u{202e}top".into(),
                added_at: 18 * 3_600_000 + 20 * 60_000,
            }),
        }),
    );
    let screen = render(&s);
    assert!(
        screen.contains(
            "new device 'lap\u{fffd}top' added at 18:20 UTC; if this wasn't you, revoke it"
        ),
        "{screen}"
    );
    assert!(
        !screen.contains('\u{202e}'),
        "a bidi override reached the screen"
    );
}
