//! Edits, deletes and reactions in the store (docs/PROTOCOL.md §14).

use ipc_schema::methods::{Direction, DropReason, MessageState, MessageView};
use ipc_schema::{MessageChange, Payload};

use super::super::Store;
use super::UserChange;
use crate::crypto::Opened;

const BOBS: &str = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0";
const MINE: &str = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("chatd.db")).unwrap();
    for user in ["bob", "carol"] {
        super::super::tests::knows(&store, user);
    }
    // bob's text, and one of mine to bob.
    let _ = store
        .commit_batch(
            "me",
            vec![from("bob", 0, 10, Payload::text("deploy at noon"))],
            &[],
            &[],
        )
        .unwrap();
    let mine = MessageView {
        id: MINE.into(),
        from: "me".into(),
        to: "bob".into(),
        ts: 20,
        direction: Direction::Out,
        kind: "text".into(),
        body: Some("ok, noon".into()),
        reply_to: None,
        state: MessageState::Queued,
        failure: None,
        seq: 0,
        truncated: false,
        group: None,
        deliveries: Vec::new(),
        edited: false,
        deleted: false,
        reactions: Vec::new(),
        file: None,
    };
    let _ = store.queue_text(&mine).unwrap();
    (dir, store)
}

/// An envelope from `sender` (id `n`, or bob's text for 0) at `ts`.
fn from(sender: &str, n: u8, ts: u64, payload: Payload) -> Opened {
    Opened {
        id: if n == 0 {
            BOBS.into()
        } else {
            format!("{n:032x}")
        },
        from: sender.into(),
        ts,
        payload,
    }
}

fn change(store: &Store, sender: &str, n: u8, ts: u64, c: MessageChange) {
    let _ = store
        .commit_batch(
            "me",
            vec![from(sender, n, ts, Payload::Change(c))],
            &[],
            &[],
        )
        .unwrap();
}

fn edit(body: &str) -> MessageChange {
    MessageChange::Edit {
        target: BOBS.into(),
        body: body.into(),
        group: None,
        to: None,
    }
}

fn bobs(store: &Store) -> MessageView {
    store
        .message("bob", BOBS, Some(Direction::In))
        .unwrap()
        .unwrap()
}

fn count(store: &Store, sql: &str) -> i64 {
    store
        .with(|c| Ok(c.query_row(sql, [], |r| r.get(0))?))
        .unwrap()
}

#[test]
fn an_edit_shows_the_latest_version_and_keeps_the_others() {
    let (_d, store) = store();
    change(&store, "bob", 1, 30, edit("deploy at 13:00"));
    let m = bobs(&store);
    assert_eq!(
        (m.body.as_deref(), m.edited),
        (Some("deploy at 13:00"), true)
    );
    // An older edit, come late: history only.
    change(&store, "bob", 2, 25, edit("deploy at 12:30"));
    assert_eq!(bobs(&store).body.as_deref(), Some("deploy at 13:00"));
    assert_eq!(count(&store, "SELECT count(*) FROM message_edits"), 2);
    // The page shows it too.
    let (page, _) = store.messages("bob", None, 10).unwrap();
    assert!(
        page.iter()
            .any(|m| m.edited && m.body.as_deref() == Some("deploy at 13:00"))
    );
}

#[test]
fn only_the_author_edits_or_deletes_and_unknown_targets_are_counted() {
    let (_d, store) = store();
    // carol, a contact, edits bob's message: it is not hers (her own
    // conversation has no such message).
    change(&store, "carol", 1, 30, edit("carol was here"));
    // bob edits my message: its author is me.
    change(
        &store,
        "bob",
        2,
        30,
        MessageChange::Edit {
            target: MINE.into(),
            body: "bob was here".into(),
            group: None,
            to: None,
        },
    );
    // A message that does not exist.
    change(
        &store,
        "bob",
        3,
        30,
        MessageChange::Delete {
            target: "ffffffffffffffffffffffffffffffff".into(),
            group: None,
            to: None,
        },
    );
    // A contact may not name a conversation with `to`.
    change(
        &store,
        "bob",
        4,
        30,
        MessageChange::Delete {
            target: BOBS.into(),
            group: None,
            to: Some("carol".into()),
        },
    );
    assert_eq!(store.dropped().unwrap().bad_target, 4);
    assert_eq!(bobs(&store).body.as_deref(), Some("deploy at noon"));
    let mine = store
        .message("bob", MINE, Some(Direction::Out))
        .unwrap()
        .unwrap();
    assert_eq!(mine.body.as_deref(), Some("ok, noon"));
    let _ = DropReason::BadTarget;
}

#[test]
fn a_contact_s_change_naming_me_as_to_is_the_copy_for_its_own_devices_too() {
    let (_d, store) = store();
    // bob has other devices: one envelope goes to me and to them, with
    // `to` naming me.
    change(
        &store,
        "bob",
        1,
        30,
        MessageChange::Edit {
            target: BOBS.into(),
            body: "deploy at 13:00".into(),
            group: None,
            to: Some("me".into()),
        },
    );
    assert_eq!(store.dropped().unwrap().bad_target, 0);
    assert_eq!(bobs(&store).body.as_deref(), Some("deploy at 13:00"));
}

#[test]
fn a_delete_leaves_a_tombstone_and_nothing_of_the_text() {
    let (_d, store) = store();
    change(&store, "bob", 1, 30, edit("the secret is 1234"));
    change(
        &store,
        "me",
        2,
        31,
        MessageChange::Reaction {
            target: BOBS.into(),
            author: "bob".into(),
            emoji: Some("👍".into()),
            group: None,
            to: Some("bob".into()),
        },
    );
    assert_eq!(bobs(&store).reactions.len(), 1);
    change(
        &store,
        "bob",
        3,
        40,
        MessageChange::Delete {
            target: BOBS.into(),
            group: None,
            to: None,
        },
    );
    let m = bobs(&store);
    assert!(m.deleted && m.body.is_none() && m.reactions.is_empty() && !m.edited);
    assert_eq!(count(&store, "SELECT count(*) FROM message_edits"), 0);
    assert_eq!(count(&store, "SELECT count(*) FROM reactions"), 0);
    for secret in ["deploy at noon", "the secret is 1234"] {
        let left = count(
            &store,
            &format!("SELECT count(*) FROM events WHERE params LIKE '%{secret}%'"),
        );
        assert_eq!(left, 0, "{secret} left in the event log");
    }
    // Nothing more can be done to it; a second delete changes nothing.
    change(&store, "bob", 4, 50, edit("back from the dead"));
    assert!(bobs(&store).body.is_none());
    assert_eq!(store.dropped().unwrap().bad_target, 1);
}

#[test]
fn one_reaction_per_person_replaced_by_a_newer_one_and_taken_back() {
    let (_d, store) = store();
    let react = |emoji: Option<&str>| MessageChange::Reaction {
        target: BOBS.into(),
        author: "bob".into(),
        emoji: emoji.map(str::to_owned),
        group: None,
        to: None,
    };
    change(&store, "bob", 1, 30, react(Some("🎉")));
    let mine = |emoji: Option<&str>| react(emoji).with_to("bob");
    change(&store, "me", 2, 31, mine(Some("🎉")));
    let r = bobs(&store).reactions;
    assert_eq!((r.len(), r[0].users.len()), (1, 2));
    // bob changes his mind; an older reaction of his, late, does not count.
    change(&store, "bob", 3, 40, react(Some("👍")));
    change(&store, "bob", 4, 35, react(Some("😡")));
    let r = bobs(&store).reactions;
    let shown: Vec<(&str, usize)> = r
        .iter()
        .map(|r| (r.emoji.as_str(), r.users.len()))
        .collect();
    assert_eq!(shown, [("🎉", 1), ("👍", 1)]);
    // Taken back, and an older one does not bring it back.
    change(&store, "bob", 5, 50, react(None));
    change(&store, "bob", 6, 45, react(Some("👍")));
    let r = bobs(&store).reactions;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].users, ["me"]);
}

#[test]
fn the_user_s_own_changes_are_applied_and_queued() {
    let (_d, store) = store();
    let done = store
        .change_message("me", MINE, UserChange::Edit("ok, 13:00".into()), None)
        .unwrap()
        .unwrap();
    let (peer, m) = done.publish(&super::super::EventBus::default());
    assert_eq!(peer, "bob");
    assert_eq!((m.body.as_deref(), m.edited), (Some("ok, 13:00"), true));
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM outbox WHERE kind = 'change' AND peer = 'bob'"
        ),
        1
    );
    // bob's message is not mine to edit.
    let theirs = store
        .change_message("me", BOBS, UserChange::Edit("mine now".into()), None)
        .unwrap();
    assert!(matches!(theirs, Err(super::ChangeError::Unknown(_))));
    // Deleting my queued text takes its envelope out of the queue too.
    let _ = store
        .change_message("me", MINE, UserChange::Delete, None)
        .unwrap()
        .unwrap();
    assert_eq!(
        count(
            &store,
            &format!("SELECT count(*) FROM outbox WHERE id = '{MINE}'")
        ),
        0
    );
    // Reacting to bob's.
    let done = store
        .change_message("me", BOBS, UserChange::React(Some("👍".into())), None)
        .unwrap()
        .unwrap();
    assert_eq!(
        done.publish(&super::super::EventBus::default()).1.reactions[0].users,
        ["me"]
    );
}

#[test]
fn nothing_is_changed_in_the_conversation_of_a_frozen_contact() {
    let (_d, store) = store();
    store
        .with(|c| {
            c.execute("UPDATE contacts SET frozen = 1 WHERE user = 'bob'", [])?;
            Ok(())
        })
        .unwrap();
    let edit = store
        .change_message(
            "me",
            MINE,
            UserChange::Edit("for the thief too".into()),
            None,
        )
        .unwrap();
    assert!(matches!(edit, Err(super::ChangeError::Frozen(ref u)) if u == "bob"));
    assert_eq!(
        count(&store, "SELECT count(*) FROM outbox WHERE kind = 'change'"),
        0
    );
    let mine = store
        .message("bob", MINE, Some(Direction::Out))
        .unwrap()
        .unwrap();
    assert_eq!(mine.body.as_deref(), Some("ok, noon"));
}

#[test]
fn a_frozen_member_gets_no_group_message() {
    let (_d, store) = store();
    let card = |user: &str| {
        use rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([user.len() as u8; 32]);
        crate::crypto::Identity::generate(user, crate::crypto::KeyBits::B2048, &mut rng)
            .unwrap()
            .card()
            .to_json()
    };
    let (bob, carol) = (card("bob"), card("carol"));
    store
        .with(|c| {
            c.execute(
                "INSERT INTO groups (id, name, state, version, head, created_at)
                 VALUES ('g', 'ops', 'member', 0, '', 0)",
                [],
            )?;
            for (user, card) in [("me", &bob), ("bob", &bob), ("carol", &carol)] {
                c.execute(
                    "INSERT INTO group_members (group_id, user, card, fingerprint, admin, since, introduced_by)
                     VALUES ('g', ?1, ?2, '', 0, 0, '')",
                    rusqlite::params![user, card],
                )?;
            }
            c.execute("UPDATE contacts SET card = ?1 WHERE user = 'bob'", [&bob])?;
            c.execute("UPDATE contacts SET card = ?1 WHERE user = 'carol'", [&carol])?;
            Ok(())
        })
        .unwrap();
    let to = |s: &Store| -> Vec<String> {
        s.group_recipients("me", "g")
            .unwrap()
            .unwrap()
            .iter()
            .map(|c| c.user().to_owned())
            .collect()
    };
    assert_eq!(to(&store), ["bob", "carol"]);
    store
        .with(|c| {
            c.execute("UPDATE contacts SET frozen = 1 WHERE user = 'carol'", [])?;
            Ok(())
        })
        .unwrap();
    assert_eq!(to(&store), ["bob"]);
}
