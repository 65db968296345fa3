//! Group conversations and the members view, a group made from the
//! picker, and a new device of this account announced.

use super::*;

/// Snapshots live beside ui.rs's, in tests/snapshots.
macro_rules! snapshot {
    ($screen:expr) => {
        insta::with_settings!({ snapshot_path => "../snapshots" }, {
            insta::assert_snapshot!($screen);
        })
    };
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
    snapshot!(screen);
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
    snapshot!(screen);
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
