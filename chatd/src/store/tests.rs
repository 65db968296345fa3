//! The store's own tests: SQL behaviour that needs no daemon.

use ipc_schema::Payload;
use ipc_schema::methods::{Direction, DropReason, MessageState, MessageView};

use super::*;
use crate::crypto::Opened;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("chatd.db")).unwrap();
    (dir, store)
}

fn text(from: &str, id: &str, ts: u64) -> Opened {
    Opened {
        id: id.to_owned(),
        from: from.to_owned(),
        ts,
        payload: Payload::Text {
            body: format!("body of {id}"),
            reply_to: None,
            to: None,
        },
    }
}

fn out(id: &str, to: &str, body: &str) -> MessageView {
    MessageView {
        id: id.to_owned(),
        from: "me".into(),
        to: to.to_owned(),
        ts: 42,
        direction: Direction::Out,
        kind: "text".into(),
        body: Some(body.to_owned()),
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
    }
}

/// Makes `user` a contact, as far as filing one-to-one messages goes (the
/// card is not needed by the store's checks).
pub(in crate::store) fn knows(store: &Store, user: &str) {
    store
        .with(|c| {
            c.execute(
                "INSERT INTO contacts (user, card, fingerprint, verified, added_at) VALUES (?1, '{}', '', 0, 0)",
                [user],
            )?;
            Ok(())
        })
        .unwrap();
}

fn id(n: u32) -> String {
    format!("{n:032x}")
}

fn bus() -> EventBus {
    EventBus::default()
}

fn ids(queue: &Queue) -> Vec<&str> {
    queue.items.iter().map(Item::id).collect()
}

#[test]
fn a_queued_text_is_sealed_once_and_keeps_its_first_envelope() {
    let (_d, store) = store();
    let queued = store.queue_text(&out(&id(1), "bob", "hello")).unwrap();
    assert_eq!(queued.events().len(), 1);
    let view = queued.publish(&bus());
    assert!(view.seq > 0);
    let q = store.due_queues(now_ms(), 10).unwrap();
    let Item::Unsealed(u) = &q[0].items[0] else {
        panic!("queued unsealed")
    };
    assert_eq!(
        u.content,
        UnsealedContent::Text {
            ts: 42,
            body: "hello".into(),
            reply_to: None
        }
    );
    let stored = store
        .store_sealed(vec![u.clone().sealed("first".into())])
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert!(
        store
            .store_sealed(vec![u.clone().sealed("second".into())])
            .unwrap()
            .is_empty()
    );
    let q = store.due_queues(now_ms(), 10).unwrap();
    let Item::Sealed(s) = &q[0].items[0] else {
        panic!("sealed")
    };
    assert_eq!(s.envelope, "first");
}

#[test]
fn one_blocked_recipient_holds_back_only_its_own_queue() {
    let (_d, store) = store();
    for (n, to) in [(1, "bob"), (2, "carol"), (3, "bob"), (4, "carol")] {
        let _ = store
            .queue_text(&out(&id(n), to, "x"))
            .unwrap()
            .publish(&bus());
    }
    let q = store.due_queues(now_ms(), 10).unwrap();
    assert_eq!(q.len(), 2);
    assert_eq!(
        (q[0].peer.as_str(), ids(&q[0])),
        ("bob", vec![id(1).as_str(), &id(3)])
    );
    let later = now_ms() + 60_000;
    store.outbox_back_off(&id(1), 1, later).unwrap();
    let q = store.due_queues(now_ms(), 10).unwrap();
    assert_eq!(q.len(), 1, "bob's queue waits, carol's does not");
    assert_eq!(q[0].peer, "carol");
    assert_eq!(
        store.next_outbox_due().unwrap(),
        Some(0).max(store.next_outbox_due().unwrap())
    );
    assert!(store.due_queues(later, 10).unwrap().len() == 2);
    // A long blocked queue does not push others out of a pass.
    for n in 10..200 {
        let _ = store
            .queue_text(&out(&id(n), "bob", "x"))
            .unwrap()
            .publish(&bus());
    }
    let _ = store
        .queue_text(&out(&id(500), "dave", "x"))
        .unwrap()
        .publish(&bus());
    let q = store.due_queues(now_ms(), 5).unwrap();
    assert_eq!(
        q.iter().map(|q| q.peer.as_str()).collect::<Vec<_>>(),
        ["carol", "dave"]
    );
}

#[test]
fn removing_a_contact_fails_its_queued_texts_and_drops_its_receipts() {
    let (_d, store) = store();
    let card =
        crate::crypto::Identity::generate("bob", crate::crypto::KeyBits::B2048, &mut rand::rng())
            .unwrap()
            .card()
            .clone();
    let _ = store.add_contact(&card).unwrap().publish(&bus());
    let _ = store
        .queue_text(&out(&id(1), "bob", "x"))
        .unwrap()
        .publish(&bus());
    let _ = store
        .commit_batch("me", vec![text("bob", &id(9), 1)], &[], &[])
        .unwrap()
        .publish(&bus());
    assert_eq!(store.due_queues(now_ms(), 10).unwrap()[0].items.len(), 2);
    let removed = store.remove_contact("bob").unwrap();
    let names: Vec<&str> = removed.events().iter().map(|e| e.event.name()).collect();
    assert_eq!(names, ["contact.changed", "message.state"]);
    removed.publish(&bus());
    assert!(store.due_queues(now_ms(), 10).unwrap().is_empty());
    let m = store.message("bob", &id(1), None).unwrap().unwrap();
    assert_eq!(m.state, MessageState::Failed);
    assert_eq!(m.failure.as_deref(), Some(contacts::REMOVED));
}

#[test]
fn delivered_receipts_gather_in_the_open_receipt_until_it_is_sealed() {
    let (_d, store) = store();
    knows(&store, "bob");
    knows(&store, "carol");
    let batch = vec![
        text("bob", &id(1), 1),
        text("carol", &id(2), 1),
        text("bob", &id(3), 1),
    ];
    let outcome = store
        .commit_batch("me", batch, &[], &[])
        .unwrap()
        .publish(&bus());
    assert!(outcome.receipts_owed);
    assert_eq!(outcome.new_texts.len(), 3);
    let receipt_ids = |store: &Store, peer: &str| -> Vec<Vec<String>> {
        store
            .due_queues(now_ms(), 10)
            .unwrap()
            .into_iter()
            .filter(|q| q.peer == peer)
            .flat_map(|q| q.items)
            .filter_map(|i| match i {
                Item::Unsealed(Unsealed {
                    content: UnsealedContent::Receipt { ids },
                    ..
                }) => Some(ids),
                _ => None,
            })
            .collect()
    };
    assert_eq!(receipt_ids(&store, "bob"), [vec![id(1), id(3)]]);
    // More texts join the same receipt; a replay of a stored text is owed again,
    // once.
    let _ = store
        .commit_batch(
            "me",
            vec![text("bob", &id(4), 1)],
            &[("bob".into(), id(1))],
            &[],
        )
        .unwrap()
        .publish(&bus());
    assert_eq!(receipt_ids(&store, "bob"), [vec![id(1), id(3), id(4)]]);
    // A seal made before more ids arrived is not kept.
    let q = store.due_queues(now_ms(), 10).unwrap();
    let bob = q.iter().find(|q| q.peer == "bob").unwrap();
    let Item::Unsealed(u) = bob.items[0].clone() else {
        panic!()
    };
    let _ = store
        .commit_batch("me", vec![text("bob", &id(5), 1)], &[], &[])
        .unwrap()
        .publish(&bus());
    assert!(
        store
            .store_sealed(vec![u.sealed("stale".into())])
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        receipt_ids(&store, "bob"),
        [vec![id(1), id(3), id(4), id(5)]]
    );
    // Once sealed, new ids open a new receipt.
    let q = store.due_queues(now_ms(), 10).unwrap();
    let bob = q.iter().find(|q| q.peer == "bob").unwrap();
    let Item::Unsealed(u) = bob.items[0].clone() else {
        panic!()
    };
    assert_eq!(
        store
            .store_sealed(vec![u.sealed("env".into())])
            .unwrap()
            .len(),
        1
    );
    let _ = store
        .commit_batch("me", vec![text("bob", &id(6), 1)], &[], &[])
        .unwrap()
        .publish(&bus());
    assert_eq!(receipt_ids(&store, "bob"), [vec![id(6)]]);
    // A replayed id that is no stored text owes nothing.
    let before = store.due_queues(now_ms(), 10).unwrap().len();
    let _ = store
        .commit_batch(
            "me",
            vec![],
            &[("dave".into(), id(77))],
            &[DropReason::Replay],
        )
        .unwrap()
        .publish(&bus());
    assert_eq!(store.due_queues(now_ms(), 10).unwrap().len(), before);
    assert_eq!(store.dropped().unwrap().replay, 1);
}

#[test]
fn history_pages_by_local_sequence_whatever_the_senders_clock_says() {
    let (_d, store) = store();
    knows(&store, "bob");
    // A hostile clock: far in the future, then zero.
    let batch = vec![
        text("bob", &id(1), i64::MAX as u64),
        text("bob", &id(2), 0),
        text("bob", &id(3), 5),
    ];
    let _ = store
        .commit_batch("me", batch, &[], &[])
        .unwrap()
        .publish(&bus());
    let (page, more) = store.messages("bob", None, 2).unwrap();
    assert!(more);
    assert_eq!(
        page.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
        [id(2), id(3)]
    );
    let (older, more) = store.messages("bob", Some(page[0].seq), 10).unwrap();
    assert!(!more);
    assert_eq!(
        older[0].id,
        id(1),
        "the future message is listed, not hidden"
    );
    assert_eq!(store.conversations().unwrap()[0].peer, "bob");
}

#[test]
fn big_bodies_are_cut_in_lists_and_pages_stay_small() {
    let (_d, store) = store();
    let big = "é".repeat(2 * 1024 * 1024); // 4 MiB of UTF-8
    for n in 0..5 {
        let _ = store
            .queue_text(&out(&id(n), "bob", &big))
            .unwrap()
            .publish(&bus());
    }
    let (page, more) = store.messages("bob", None, 500).unwrap();
    assert!(!more);
    assert_eq!(page.len(), 5);
    for m in &page {
        assert!(m.truncated);
        assert!(m.body.as_ref().unwrap().len() <= ipc_schema::methods::LIST_BODY_MAX);
    }
    // More cut bodies than one page's byte budget holds: the page stops.
    for n in 5..40 {
        let _ = store
            .queue_text(&out(&id(n), "bob", &big))
            .unwrap()
            .publish(&bus());
    }
    let (page, more) = store.messages("bob", None, 500).unwrap();
    assert!(more);
    let bytes: usize = page.iter().map(|m| m.body.as_ref().unwrap().len()).sum();
    assert!(bytes <= ipc_schema::methods::LIST_PAGE_BYTES, "{bytes}");
    assert!(page.len() < 40);
    let whole = store.message("bob", &id(4), None).unwrap().unwrap();
    assert_eq!(whole.body.as_deref(), Some(big.as_str()));
    assert!(!whole.truncated);
    let encoded = serde_json::to_vec(&page).unwrap();
    assert!(encoded.len() < ipc_schema::MAX_FRAME);
}

#[test]
fn pruned_events_are_refused_never_skipped() {
    let (_d, store) = store();
    for n in 0..5 {
        let _ = store
            .queue_text(&out(&id(n), "bob", "x"))
            .unwrap()
            .publish(&bus());
    }
    assert_eq!(store.last_event_seq().unwrap(), 5);
    let keep_two = Retention {
        days: 30,
        count: Some(2),
    };
    assert_eq!(store.prune_events(keep_two, now_ms()).unwrap(), 3);
    assert_eq!(store.events_after(3, 100).unwrap().unwrap().len(), 2);
    let expired = store.events_after(2, 100).unwrap().unwrap_err();
    assert_eq!(expired.oldest_seq, 4);
    // By age: everything is older than a day from now + 31 days.
    let later = now_ms() + 31 * 86_400_000;
    assert_eq!(store.prune_events(Retention::default(), later).unwrap(), 2);
    assert_eq!(
        store.events_after(4, 10).unwrap().unwrap_err().oldest_seq,
        6
    );
    assert!(store.events_after(5, 10).unwrap().unwrap().is_empty());
    assert_eq!(
        store.last_event_seq().unwrap(),
        5,
        "numbering goes on after a prune"
    );
}

#[test]
fn lookups_of_one_message_never_scan_the_history() {
    let (_d, store) = store();
    let queries = [
        "SELECT state FROM messages WHERE direction = 'out' AND recipient = 'b' AND id = 'x'",
        "SELECT EXISTS (SELECT 1 FROM seen WHERE sender = 'b' AND id = 'x')",
        "SELECT id, payload FROM outbox WHERE peer = 'b' AND kind = 'delivered' AND envelope IS NULL ORDER BY seq DESC LIMIT 1",
        "SELECT o.id FROM outbox o LEFT JOIN messages m ON o.kind = 'text' AND m.direction = 'out' AND m.id = o.id WHERE o.peer = 'b' ORDER BY o.seq LIMIT 5",
    ];
    for q in queries {
        let plan: Vec<String> = store
            .with(|c| {
                let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {q}"))?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(3))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .unwrap();
        assert!(
            plan.iter()
                .all(|step| !step.starts_with("SCAN") || step == "SCAN CONSTANT ROW"),
            "{q}: {plan:?}"
        );
    }
}

#[test]
fn deleting_the_account_fails_its_queued_texts_with_events() {
    let (_d, store) = store();
    let _ = store
        .queue_text(&out(&id(1), "bob", "x"))
        .unwrap()
        .publish(&bus());
    let cleared = store.clear_account().unwrap();
    let names: Vec<&str> = cleared.events().iter().map(|e| e.event.name()).collect();
    assert_eq!(names, ["message.state"]);
    cleared.publish(&bus());
    assert_eq!(store.outbox_len().unwrap(), 0);
    assert_eq!(
        store.message("bob", &id(1), None).unwrap().unwrap().state,
        MessageState::Failed
    );
}

#[test]
fn an_account_keeps_its_relay_urls_in_order_and_an_older_row_has_one() {
    let (_d, store) = store();
    let mut account = AccountRow {
        user: "alice".into(),
        relay_urls: vec!["https://a.example".into()],
        key_bits: 2048,
        trust: RelayTrust::default(),
        device_id: None,
    };
    store.set_account(&account).unwrap();
    // What a chatd from before several URLs stored reads as one URL.
    let more: String = store
        .with(|c| Ok(c.query_row("SELECT relay_more_urls FROM account", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(more, "[]");
    assert_eq!(
        store.account().unwrap().unwrap().relay_urls,
        ["https://a.example"]
    );

    account.relay_urls = vec!["https://b.example".into(), "https://a.example".into()];
    store.set_account(&account).unwrap();
    assert_eq!(
        store.account().unwrap().unwrap().relay_urls,
        ["https://b.example", "https://a.example"]
    );
    let three = [
        "https://c.example",
        "https://a.example",
        "https://b.example",
    ]
    .map(String::from);
    store.set_relay_urls(&three).unwrap();
    let stored = store.account().unwrap().unwrap();
    assert_eq!(stored.relay_urls, three);
    assert_eq!(stored.relay_url(), "https://c.example");
}

#[test]
fn a_receipt_row_never_grows_past_its_cap() {
    let (_d, store) = store();
    knows(&store, "bob");
    // An open receipt already over the cap, as migration 5 can make one.
    let many: Vec<String> = (0..600).map(id).collect();
    store
        .with(|c| {
            c.execute(
                "INSERT INTO outbox (id, peer, kind, payload, next_attempt_at, created_at)
                 VALUES ('r', 'bob', 'delivered', ?1, 0, 0)",
                [serde_json::to_string(&many).unwrap()],
            )?;
            Ok(())
        })
        .unwrap();
    let _ = store
        .commit_batch("me", vec![text("bob", &id(9999), 1)], &[], &[])
        .unwrap()
        .publish(&bus());
    let rows = store.due_queues(now_ms(), 10).unwrap()[0].items.len();
    assert_eq!(rows, 2, "the new id opened a new receipt");
}

#[test]
fn an_unknown_state_in_the_database_is_an_error_not_queued() {
    let (_d, store) = store();
    let _ = store
        .queue_text(&out(&id(1), "bob", "x"))
        .unwrap()
        .publish(&bus());
    store
        .with(|c| {
            c.execute("UPDATE messages SET state = 'teleported'", [])?;
            Ok(())
        })
        .unwrap();
    assert!(store.messages("bob", None, 10).is_err());
}

fn group_text(from: &str, msg: &str, group: &str) -> Opened {
    Opened {
        id: msg.to_owned(),
        from: from.to_owned(),
        ts: 1,
        payload: Payload::GroupText {
            group: group.to_owned(),
            body: format!("{from} says {msg}"),
            reply_to: None,
        },
    }
}

/// docs/PROTOCOL.md §9.5: a group text from someone not in the roster waits
/// (bounded in number) for a roster that adds them, and is dropped and
/// counted after 10 minutes; it is never filed.
#[test]
fn group_texts_from_non_members_wait_bounded_then_are_counted() {
    let (_d, store) = store();
    let group = id(77);
    let first: Vec<Opened> = (0..groups::WAITING_PER_GROUP as u32 + 5)
        .map(|n| group_text("mallory", &id(n), &group))
        .collect();
    store
        .commit_batch("me", first, &[], &[])
        .unwrap()
        .publish(&bus());
    let waiting = |store: &Store| {
        store
            .with(|c| {
                Ok(c.query_row("SELECT count(*) FROM group_waiting", [], |r| {
                    r.get::<_, i64>(0)
                })?)
            })
            .unwrap()
    };
    assert_eq!(waiting(&store), groups::WAITING_PER_GROUP);
    assert_eq!(
        store.dropped().unwrap().not_a_member,
        5,
        "the oldest beyond the cap"
    );
    assert!(!store.has_history(&groups::group_peer(&group)).unwrap());
    // Ten minutes on, the next batch drops and counts them.
    store
        .with(|c| {
            c.execute(
                "UPDATE group_waiting SET received_at = received_at - ?1",
                [groups::WAITING_MS as i64 + 1],
            )?;
            Ok(())
        })
        .unwrap();
    store
        .commit_batch("me", Vec::new(), &[], &[])
        .unwrap()
        .publish(&bus());
    assert_eq!(waiting(&store), 0);
    assert_eq!(
        store.dropped().unwrap().not_a_member,
        groups::WAITING_PER_GROUP as u64 + 5
    );
}

/// A name two groups give different cards opens nothing: one group's admin
/// cannot introduce a card that speaks for a member of another group.
#[test]
fn a_name_with_two_cards_in_two_groups_opens_nothing() {
    let (_d, store) = store();
    let card = |user: &str, seed: u8| {
        use rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([seed; 32]);
        crate::crypto::Identity::generate(user, crate::crypto::KeyBits::B2048, &mut rng)
            .unwrap()
            .card()
            .clone()
    };
    let (real, fake, other) = (card("bob", 1), card("bob", 2), card("carol", 3));
    store
        .with(|c| {
            for (group, member) in [("g1", &real), ("g1", &other), ("g2", &fake), ("g2", &other)] {
                c.execute(
                    "INSERT OR IGNORE INTO groups (id, name, state, version, head, created_at)
                     VALUES (?1, ?1, 'member', 0, '', 0)",
                    [group],
                )?;
                c.execute(
                    "INSERT INTO group_members (group_id, user, card, fingerprint, admin, since, introduced_by)
                     VALUES (?1, ?2, ?3, ?4, 0, 0, 'alice')",
                    rusqlite::params![
                        group,
                        member.user(),
                        member.to_json(),
                        member.fingerprint().to_hex()
                    ],
                )?;
            }
            Ok(())
        })
        .unwrap();
    let cards = store.member_cards().unwrap();
    assert!(
        !cards.contains_key("bob"),
        "two cards for bob: neither opens anything"
    );
    assert_eq!(
        cards["carol"].fingerprint(),
        other.fingerprint(),
        "one card: it opens"
    );
}

/// A change that overtakes the roster it follows waits for it, and the
/// group comes out the same after a restart (rosters replayed parent first).
#[test]
fn a_roster_change_that_comes_before_its_group_waits_for_it() {
    use crate::groups::{Edit, Roster, RosterHash};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chatd.db");
    let store = Store::open(&path).unwrap();
    knows(&store, "alice");
    let id_card = {
        use rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([9; 32]);
        crate::crypto::Identity::generate("alice", crate::crypto::KeyBits::B2048, &mut rng)
            .unwrap()
            .card()
            .clone()
    };
    let card = |user: &str| {
        crate::crypto::Card::from_der(user, id_card.enc_der(), id_card.sig_der()).unwrap()
    };
    let group = id(55);
    let genesis = Roster::genesis(&group, "ops", &card("alice"), &[card("mia")]);
    let g_text = genesis.to_text();
    let change = Edit {
        add: vec![card("dave")],
        ..Edit::default()
    }
    .apply(&genesis, RosterHash::of(g_text.as_bytes()), "alice")
    .to_text();
    let roster = |n: u32, text: &str| Opened {
        id: id(n),
        from: "alice".into(),
        ts: 1,
        payload: Payload::Roster {
            group: group.clone(),
            roster: text.to_owned(),
            parent_roster: None,
        },
    };
    let publish = |store: &Store, batch: Vec<Opened>| {
        store
            .commit_batch("mia", batch, &[], &[])
            .unwrap()
            .publish(&bus());
    };
    publish(&store, vec![roster(1, &change)]);
    assert!(
        store.group_info("mia", &group).unwrap().is_none(),
        "not known yet"
    );
    publish(&store, vec![roster(2, &g_text)]);
    let names = |store: &Store| {
        let (_, members) = store.group_info("mia", &group).unwrap().unwrap();
        members.into_iter().map(|m| m.user).collect::<Vec<_>>()
    };
    assert_eq!(names(&store), ["alice", "dave", "mia"]);
    drop(store);
    let store = Store::open(&path).unwrap();
    let (view, _) = store.group_info("mia", &group).unwrap().unwrap();
    assert_eq!(view.version, 1);
    assert_eq!(names(&store), ["alice", "dave", "mia"]);
    // A new change on top is accepted after the restart: the log replayed.
    let after = store.groups("mia").unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(store.dropped().unwrap().bad_roster, 0);
}
