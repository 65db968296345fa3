//! Groups through four real daemons and a real relay (docs/PROTOCOL.md §9):
//! create and chat, add a member who sees only what comes after, remove a
//! member who can then neither send nor receive, a member leaves, and every
//! remaining daemon follows the same roster.

use std::time::Duration;

use ipc_schema::jsonrpc::code;
use ipc_schema::methods::*;

use crate::helper::{Chatd, Relay, SOON, acquainted, eventually};

const WAIT: Duration = Duration::from_secs(20);

async fn group_of(d: &Chatd, id: &str) -> Option<GroupInfoResult> {
    d.client()
        .await
        .call(GroupInfoParams {
            group: id.to_owned(),
        })
        .await
        .ok()
}

async fn members(d: &Chatd, id: &str) -> Vec<String> {
    group_of(d, id)
        .await
        .map(|g| g.members.into_iter().map(|m| m.user).collect())
        .unwrap_or_default()
}

/// The texts of a group's conversation, as "sender: body".
async fn texts(d: &Chatd, id: &str) -> Vec<String> {
    d.log(&format!("#{id}"))
        .await
        .into_iter()
        .filter(|m| m.kind == "text")
        .map(|m| format!("{}: {}", m.from, m.body.unwrap_or_default()))
        .collect()
}

/// Creates a group of `d` with `members`; its id.
async fn create(d: &Chatd, name: &str, members: &[&str]) -> String {
    change(
        d,
        GroupCreateParams {
            name: name.into(),
            members: members.iter().map(|m| m.to_string()).collect(),
        },
    )
    .await
    .unwrap()
    .group
    .id
}

/// A relay session of `user`'s own, around its daemon (a hostile member
/// does not have to use chatd).
async fn session_of(relay: &Relay, user: &str) -> String {
    let login: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/v1/sessions", relay.url))
        .json(&serde_json::json!({"username": user, "password": format!("{user} relay password")}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    login["token"].as_str().unwrap().to_owned()
}

async fn change<P: Call>(d: &Chatd, p: P) -> Result<P::Result, ipc_schema::client::ClientError> {
    d.client().await.call(p).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_daemons_create_chat_add_remove_and_leave_and_agree_on_the_roster() {
    let relay = Relay::start().await;
    let alice = Chatd::start("alice", "").await;
    let bob = Chatd::start("bob", "").await;
    let carol = Chatd::start("carol", "").await;
    let dave = Chatd::start("dave", "").await;
    acquainted(&relay, &[&alice, &bob, &carol, &dave]).await;

    // alice creates #ops with bob and carol.
    let created = change(
        &alice,
        GroupCreateParams {
            name: "ops".into(),
            members: vec!["bob".into(), "carol".into()],
        },
    )
    .await
    .unwrap()
    .group;
    let id = created.id.clone();
    assert!(created.admin);
    assert_eq!(created.members, 3);
    for d in [&bob, &carol] {
        eventually(WAIT, "the group reaches bob and carol", || async {
            (members(d, &id).await == ["alice", "bob", "carol"]).then_some(())
        })
        .await;
    }

    // All three chat.
    let peer = format!("#{id}");
    let first = alice.send(&peer, "deploy at noon").await;
    bob.send(&peer, "ack").await;
    carol.send(&peer, "ok").await;
    for d in [&alice, &bob, &carol] {
        eventually(WAIT, "three texts everywhere", || async {
            let mut got = texts(d, &id).await;
            got.sort();
            (got == ["alice: deploy at noon", "bob: ack", "carol: ok"]).then_some(())
        })
        .await;
    }
    // Per-member delivery of alice's first text.
    eventually(WAIT, "delivered to 2 of 2", || async {
        let log = alice.log(&peer).await;
        let m = log.iter().find(|m| m.id == first)?;
        let states: Vec<(String, MessageState)> = m
            .deliveries
            .iter()
            .map(|d| (d.user.clone(), d.state))
            .collect();
        (states
            == [
                ("bob".to_owned(), MessageState::Delivered),
                ("carol".to_owned(), MessageState::Delivered),
            ]
            && m.state == MessageState::Delivered)
            .then_some(())
    })
    .await;

    // alice adds dave: he sees only what comes after.
    change(
        &alice,
        GroupAddParams {
            group: id.clone(),
            users: vec!["dave".into()],
        },
    )
    .await
    .unwrap();
    eventually(WAIT, "dave in the group", || async {
        (members(&dave, &id).await == ["alice", "bob", "carol", "dave"]).then_some(())
    })
    .await;
    alice.send(&peer, "welcome dave").await;
    eventually(WAIT, "dave has only the new text", || async {
        (texts(&dave, &id).await == ["alice: welcome dave"]).then_some(())
    })
    .await;
    let info = group_of(&dave, &id).await.unwrap();
    let bob_seen_by_dave = info.members.iter().find(|m| m.user == "bob").unwrap();
    assert!(!bob_seen_by_dave.admin);

    // alice removes bob: bob is told, cannot send, gets nothing more.
    change(
        &alice,
        GroupRemoveParams {
            group: id.clone(),
            users: vec!["bob".into()],
        },
    )
    .await
    .unwrap();
    eventually(WAIT, "bob removed", || async {
        let g = group_of(&bob, &id).await?;
        (g.group.state == GroupState::Removed).then_some(())
    })
    .await;
    let refused = change(
        &bob,
        MessageSendParams {
            to: peer.clone(),
            body: "still here?".into(),
            reply_to: None,
        },
    )
    .await
    .unwrap_err();
    assert_eq!(refused.rpc_code(), Some(code::GROUP_REFUSED), "{refused}");
    alice.send(&peer, "after bob").await;
    for d in [&carol, &dave] {
        eventually(WAIT, "the text after bob's removal", || async {
            texts(d, &id)
                .await
                .contains(&"alice: after bob".to_owned())
                .then_some(())
        })
        .await;
    }
    assert!(
        !texts(&bob, &id)
            .await
            .contains(&"alice: after bob".to_owned())
    );
    // bob's history stays.
    assert!(
        texts(&bob, &id)
            .await
            .contains(&"alice: deploy at noon".to_owned())
    );

    // carol leaves; alice and dave agree on who is left.
    change(&carol, GroupLeaveParams { group: id.clone() })
        .await
        .unwrap();
    for d in [&alice, &dave] {
        eventually(WAIT, "carol gone", || async {
            (members(d, &id).await == ["alice", "dave"]).then_some(())
        })
        .await;
    }
    let (a, d) = (
        group_of(&alice, &id).await.unwrap(),
        group_of(&dave, &id).await.unwrap(),
    );
    assert_eq!(a.group.version, d.group.version);
    assert_eq!(a.members, d.members);
    let carol_view = group_of(&carol, &id).await.unwrap();
    assert_eq!(carol_view.group.state, GroupState::Left);

    // The history shows what happened, as system lines.
    let lines: Vec<String> = alice
        .log(&peer)
        .await
        .into_iter()
        .filter(|m| m.kind == "system")
        .filter_map(|m| m.body)
        .collect();
    assert_eq!(
        lines,
        [
            "alice created the group ops",
            "alice added dave",
            "alice removed bob",
            "carol left"
        ]
    );
    let _ = SOON;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_change_a_group_and_names_are_checked() {
    let relay = Relay::start().await;
    let alice = Chatd::start("alice", "").await;
    let bob = Chatd::start("bob", "").await;
    acquainted(&relay, &[&alice, &bob]).await;
    let id = create(&alice, "team", &["bob"]).await;
    eventually(WAIT, "bob has the group", || async {
        (members(&bob, &id).await.len() == 2).then_some(())
    })
    .await;
    let e = change(
        &bob,
        GroupRenameParams {
            group: id.clone(),
            name: "mine".into(),
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.rpc_code(), Some(code::GROUP_REFUSED), "{e}");
    let e = change(
        &alice,
        GroupCreateParams {
            name: "bad\nname".into(),
            members: vec![],
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.rpc_code(), Some(code::INVALID_PARAMS), "{e}");
    let e = change(
        &alice,
        GroupAddParams {
            group: id.clone(),
            users: vec!["zed".into()],
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.rpc_code(), Some(code::UNKNOWN_CONTACT), "{e}");
    let e = change(
        &alice,
        GroupInfoParams {
            group: "00000000000000000000000000000000".into(),
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.rpc_code(), Some(code::UNKNOWN_GROUP), "{e}");
    // alice makes bob an admin; then bob may rename.
    change(
        &alice,
        GroupAdminParams {
            group: id.clone(),
            user: "bob".into(),
            revoke: false,
        },
    )
    .await
    .unwrap();
    eventually(WAIT, "bob is an admin", || async {
        group_of(&bob, &id)
            .await
            .filter(|g| g.group.admin)
            .map(|_| ())
    })
    .await;
    change(
        &bob,
        GroupRenameParams {
            group: id.clone(),
            name: "ours".into(),
        },
    )
    .await
    .unwrap();
    eventually(WAIT, "alice sees the new name", || async {
        group_of(&alice, &id)
            .await
            .filter(|g| g.group.name == "ours")
            .map(|_| ())
    })
    .await;
}

/// A member's daemon refuses to send once removed; a hostile one that goes
/// around its daemon (its own keys, its own relay session) reaches no one:
/// its texts are not filed, and the roster it forges to make itself an
/// admin again does not count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_member_who_keeps_sending_reaches_no_one() {
    use chatd::crypto::seal_v2_as;
    use chatd::groups::{Edit, Roster, RosterHash};
    use ipc_schema::Payload;

    let relay = Relay::start().await;
    let alice = Chatd::start("alice", "").await;
    let bob = Chatd::start("bob", "").await;
    let carol = Chatd::start("carol", "").await;
    acquainted(&relay, &[&alice, &bob, &carol]).await;
    let id = create(&alice, "ops", &["bob", "carol"]).await;
    for d in [&bob, &carol] {
        eventually(WAIT, "the group everywhere", || async {
            (members(d, &id).await.len() == 3).then_some(())
        })
        .await;
    }
    change(
        &alice,
        GroupRemoveParams {
            group: id.clone(),
            users: vec!["bob".into()],
        },
    )
    .await
    .unwrap();
    for d in [&alice, &carol] {
        eventually(WAIT, "bob out", || async {
            (members(d, &id).await == ["alice", "carol"]).then_some(())
        })
        .await;
    }

    // bob, around his daemon: a session of his own and his own keys.
    let http = reqwest::Client::new();
    let token = session_of(&relay, "bob").await;
    let me = bob.daemon().identity().unwrap();
    let put = |payload: Payload| {
        let (http, token, me, url) = (http.clone(), token.clone(), me.clone(), relay.url.clone());
        let alice_card = alice.daemon().identity().unwrap().card().clone();
        let carol_card = carol.daemon().identity().unwrap().card().clone();
        async move {
            let mut msg_id = [0u8; 16];
            rand::fill(&mut msg_id);
            let env = seal_v2_as(
                &me,
                &[&alice_card, &carol_card],
                &payload,
                msg_id,
                1,
                &mut rand::rng(),
            )
            .unwrap();
            let status = http
                .put(format!("{url}/v1/messages/{}", env.id))
                .bearer_auth(&token)
                .json(&env)
                .send()
                .await
                .unwrap()
                .status();
            assert!(status.is_success(), "{status}");
        }
    };
    put(Payload::GroupText {
        group: id.clone(),
        body: "I am still here".into(),
        reply_to: None,
    })
    .await;
    // A roster on top of the one bob last knew, making him admin: he was no
    // admin there, and it is not his leave.
    let bobs_log = bob
        .client()
        .await
        .call(GroupInfoParams { group: id.clone() })
        .await
        .unwrap();
    assert_eq!(bobs_log.group.state, GroupState::Removed);
    let forged = {
        let alice_card = alice.daemon().identity().unwrap().card().clone();
        let carol_card = carol.daemon().identity().unwrap().card().clone();
        let genesis = Roster::genesis(&id, "ops", &alice_card, &[me.card().clone(), carol_card]);
        let hash = RosterHash::of(genesis.to_text().as_bytes());
        Edit {
            promote: vec!["bob".into()],
            ..Edit::default()
        }
        .apply(&genesis, hash, "bob")
        .to_text()
    };
    put(Payload::Roster {
        group: id.clone(),
        roster: forged,
        parent_roster: None,
    })
    .await;

    for d in [&alice, &carol] {
        eventually(WAIT, "the forged roster counted, not applied", || async {
            (d.status().await.dropped.bad_roster >= 1).then_some(())
        })
        .await;
        assert_eq!(members(d, &id).await, ["alice", "carol"]);
        assert!(!texts(d, &id).await.iter().any(|t| t.contains("still here")));
    }
}

/// A card a roster introduced opens that member's group texts and receipts,
/// not one-to-one messages: those still come only from contacts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_introduced_member_is_not_a_contact() {
    let relay = Relay::start().await;
    let alice = Chatd::start("alice", "").await;
    let bob = Chatd::start("bob", "").await;
    let carol = Chatd::start("carol", "").await;
    for d in [&alice, &bob, &carol] {
        d.register(&relay.url).await;
    }
    for d in [&bob, &carol] {
        alice.add(d).await;
        d.add(&alice).await;
    }
    let id = create(&alice, "ops", &["bob", "carol"]).await;
    eventually(WAIT, "carol has the group", || async {
        (members(&carol, &id).await.len() == 3).then_some(())
    })
    .await;
    let info = group_of(&carol, &id).await.unwrap();
    let bob_at_carol = info.members.iter().find(|m| m.user == "bob").unwrap();
    assert_eq!(bob_at_carol.introduced_by.as_deref(), Some("alice"));
    assert!(!bob_at_carol.verified);

    // bob's group text reaches carol...
    bob.send(&format!("#{id}"), "hello group").await;
    eventually(WAIT, "carol reads bob in the group", || async {
        (texts(&carol, &id).await == ["bob: hello group"]).then_some(())
    })
    .await;
    // ...but a one-to-one envelope from him, sealed around his daemon, is
    // dropped as from a stranger.
    let me = bob.daemon().identity().unwrap();
    let carol_card = carol.daemon().identity().unwrap().card().clone();
    let env = chatd::crypto::seal(
        &me,
        &carol_card,
        &ipc_schema::Payload::text("psst, just you"),
        1,
        &mut rand::rng(),
    )
    .unwrap();
    let http = reqwest::Client::new();
    let token = session_of(&relay, "bob").await;
    let status = http
        .put(format!("{}/v1/messages/{}", relay.url, env.id))
        .bearer_auth(&token)
        .json(&env)
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success(), "{status}");
    eventually(WAIT, "carol counts it as from a stranger", || async {
        (carol.status().await.dropped.unknown_sender >= 1).then_some(())
    })
    .await;
    let log = carol
        .client()
        .await
        .call(MessageListParams {
            peer: "bob".into(),
            before: None,
            limit: None,
        })
        .await;
    assert!(
        log.map(|l| l.messages.is_empty()).unwrap_or(true),
        "nothing filed under bob"
    );
}

/// A member removed, then added again after other changes it never got,
/// follows the group again from the roster the admin added it to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_added_again_after_changes_it_missed_rejoins() {
    let relay = Relay::start().await;
    let alice = Chatd::start("alice", "").await;
    let bob = Chatd::start("bob", "").await;
    let carol = Chatd::start("carol", "").await;
    acquainted(&relay, &[&alice, &bob, &carol]).await;
    let id = create(&alice, "ops", &["bob", "carol"]).await;
    eventually(WAIT, "bob in", || async {
        (members(&bob, &id).await.len() == 3).then_some(())
    })
    .await;
    change(
        &alice,
        GroupRemoveParams {
            group: id.clone(),
            users: vec!["bob".into()],
        },
    )
    .await
    .unwrap();
    eventually(WAIT, "bob removed", || async {
        let g = group_of(&bob, &id).await?;
        (g.group.state == GroupState::Removed).then_some(())
    })
    .await;
    // A change bob never receives, then bob is added again.
    change(
        &alice,
        GroupRenameParams {
            group: id.clone(),
            name: "ops-2".into(),
        },
    )
    .await
    .unwrap();
    change(
        &alice,
        GroupAddParams {
            group: id.clone(),
            users: vec!["bob".into()],
        },
    )
    .await
    .unwrap();
    eventually(WAIT, "bob back, on the current roster", || async {
        let g = group_of(&bob, &id).await?;
        (g.group.state == GroupState::Member && g.group.name == "ops-2").then_some(())
    })
    .await;
    alice.send(&format!("#{id}"), "welcome back").await;
    eventually(WAIT, "bob reads the group again", || async {
        texts(&bob, &id)
            .await
            .contains(&"alice: welcome back".to_owned())
            .then_some(())
    })
    .await;
}

/// Read receipts in groups are opt-in, apart from one-to-one ones: bob
/// (opted in) tells alice he read her group text, carol (not) does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_read_receipts_are_opt_in() {
    let relay = Relay::start().await;
    let alice = Chatd::start("alice", "").await;
    let bob = Chatd::start("bob", "group_read_receipts = true").await;
    let carol = Chatd::start("carol", "read_receipts = true").await;
    acquainted(&relay, &[&alice, &bob, &carol]).await;
    let id = create(&alice, "ops", &["bob", "carol"]).await;
    for d in [&bob, &carol] {
        eventually(WAIT, "the group everywhere", || async {
            (members(d, &id).await.len() == 3).then_some(())
        })
        .await;
    }
    let peer = format!("#{id}");
    let sent = alice.send(&peer, "please read").await;
    for d in [&bob, &carol] {
        eventually(WAIT, "the text everywhere", || async {
            (!texts(d, &id).await.is_empty()).then_some(())
        })
        .await;
        change(d, ConversationMarkReadParams { peer: peer.clone() })
            .await
            .unwrap();
    }
    let states = || async {
        let log = alice.log(&peer).await;
        let m = log.into_iter().find(|m| m.id == sent)?;
        Some(
            m.deliveries
                .into_iter()
                .map(|d| (d.user, d.state))
                .collect::<Vec<_>>(),
        )
    };
    eventually(WAIT, "bob's read receipt", || async {
        let s = states().await?;
        (s == [
            ("bob".to_owned(), MessageState::Read),
            ("carol".to_owned(), MessageState::Delivered),
        ])
        .then_some(())
    })
    .await;
    // carol's read stays hers.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        states().await.unwrap()[1],
        ("carol".to_owned(), MessageState::Delivered)
    );
}

/// A card the user pinned wins over the one a roster introduces for the same
/// name: a hostile admin who puts its own card under bob's name in a roster
/// can neither read what carol sends bob nor write as bob to her.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_card_wins_over_one_a_roster_introduces() {
    use chatd::crypto::{Identity, KeyBits, seal_v2_as};
    use chatd::groups::Roster;
    use ipc_schema::Payload;

    let relay = Relay::start().await;
    let alice = Chatd::start("alice", "").await;
    let bob = Chatd::start("bob", "").await;
    let carol = Chatd::start("carol", "").await;
    acquainted(&relay, &[&alice, &bob, &carol]).await;
    // alice, hostile, makes a group whose roster carries her own key as bob.
    let me = alice.daemon().identity().unwrap();
    let fake_bob = Identity::generate("bob", KeyBits::B2048, &mut rand::rng()).unwrap();
    let carol_card = carol.daemon().identity().unwrap().card().clone();
    let mut group_id = [0u8; 16];
    rand::fill(&mut group_id);
    let group: String = group_id.iter().map(|b| format!("{b:02x}")).collect();
    let roster = Roster::genesis(
        &group,
        "trap",
        me.card(),
        &[fake_bob.card().clone(), carol_card.clone()],
    );
    let token = session_of(&relay, "alice").await;
    let mut msg_id = [0u8; 16];
    rand::fill(&mut msg_id);
    let env = seal_v2_as(
        &me,
        &[&carol_card],
        &Payload::Roster {
            group: group.clone(),
            roster: roster.to_text(),
            parent_roster: None,
        },
        msg_id,
        1,
        &mut rand::rng(),
    )
    .unwrap();
    let status = reqwest::Client::new()
        .put(format!("{}/v1/messages/{}", relay.url, env.id))
        .bearer_auth(&token)
        .json(&env)
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success(), "{status}");
    eventually(WAIT, "carol has the group", || async {
        (members(&carol, &group).await.len() == 3).then_some(())
    })
    .await;
    // carol's view shows bob with the card she pinned.
    let info = group_of(&carol, &group).await.unwrap();
    let bob_there = info.members.iter().find(|m| m.user == "bob").unwrap();
    let pinned = bob
        .daemon()
        .identity()
        .unwrap()
        .card()
        .fingerprint()
        .grouped();
    assert_eq!(bob_there.fingerprint, pinned);
    assert_eq!(bob_there.introduced_by, None, "a contact, not introduced");
    // What carol sends the group is sealed to the real bob's key: with bob
    // away, his entry at the relay opens with his key and not with alice's.
    let real_bob = bob.daemon().identity().unwrap();
    let mut bob = bob;
    bob.stop().await;
    change(
        &carol,
        MessageSendParams {
            to: format!("#{group}"),
            body: "for bob's eyes".into(),
            reply_to: None,
        },
    )
    .await
    .unwrap();
    let bob_token = session_of(&relay, "bob").await;
    let pending: serde_json::Value = eventually(WAIT, "carol's envelope waits for bob", || {
        let (url, token) = (relay.url.clone(), bob_token.clone());
        async move {
            let reply = reqwest::Client::new()
                .get(format!("{url}/v1/messages"))
                .bearer_auth(&token)
                .send()
                .await
                .ok()?;
            let v: serde_json::Value = reply.json().await.ok()?;
            v["messages"]
                .as_array()?
                .iter()
                .find(|m| m["v"] == 2 && m["from"] == "carol")
                .cloned()
        }
    })
    .await;
    let json = serde_json::to_vec(&pending).unwrap();
    let peers = OnlyCarol(carol_card);
    let opened = chatd::crypto::open_json(&real_bob, &json, &peers, &mut rand::rng())
        .expect("sealed to the card bob's contact pinned");
    assert!(
        matches!(opened.payload, Payload::GroupText { ref body, .. } if body == "for bob's eyes")
    );
    let err = chatd::crypto::open_json(&fake_bob, &json, &peers, &mut rand::rng()).unwrap_err();
    assert_eq!(err.name(), "key_unwrap", "alice's key cannot open it");
}

/// Just carol, as the contact that opens her envelopes.
struct OnlyCarol(chatd::crypto::Card);

impl chatd::crypto::Peers for OnlyCarol {
    fn contact(&self, user: &str) -> Option<&chatd::crypto::Card> {
        (user == "carol").then_some(&self.0)
    }
    fn already_seen(&self, _: &str, _: &str) -> bool {
        false
    }
}
