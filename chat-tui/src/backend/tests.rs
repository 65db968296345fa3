//! The worker against the in-memory fake chatd: reconnecting, forwarding
//! events, and what each effect turns into.

use std::time::Duration;

use ipc_schema::methods::{
    ConnectionState, Contact, Direction, DroppedCounters, Event, EventEnvelope,
    MessageReceivedEvent, MessageState, MessageView, StatusResult,
};
use ipc_schema::time::TimeZone;
use tokio::sync::mpsc;

use super::fake::FakeDaemon;
use super::{execute, run};
use crate::app::{self, Action, AppState, ContactDone, ContactFailed, DaemonLink, Effect};
use crate::theme::{Theme, ThemeName};

const BOB_FP: &str =
    "c7e1 0d59 a8f3 6b2e 94c0 1f7a 3e85 d26b 5a09 e7c4 82f1 4d3b b06e 19a7 f5c2 6e80";
const CAROL_FP: &str =
    "ef2a 9c41 07be d5e8 1a6c 44f0 b9ed 2e71 8c05 6a1f e4d2 97be 50c8 2f6e a1d9 7be4";

fn msg(i: usize, peer: &str, out: bool, body: &str, state: MessageState) -> MessageView {
    let (from, to, direction) = if out {
        ("alice", peer, Direction::Out)
    } else {
        (peer, "alice", Direction::In)
    };
    MessageView {
        id: format!("{i:032x}"),
        from: from.into(),
        to: to.into(),
        ts: 1_795_615_500_000 + i as u64 * 60_000,
        direction,
        kind: "text".into(),
        body: Some(body.into()),
        reply_to: None,
        state,
        failure: None,
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

fn status() -> StatusResult {
    StatusResult {
        version: "0.1.0".into(),
        user: Some("alice".into()),
        fingerprint: Some(BOB_FP.into()),
        relay_url: Some("https://relay.example.org".into()),
        connection: ConnectionState::Online,
        unread: 0,
        outbox_pending: 0,
        dropped: DroppedCounters::default(),
        relay_trust: None,
        proxy: None,
        relays: Vec::new(),
    }
}

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

#[tokio::test]
async fn the_worker_reconnects_and_forwards_events_and_answers() {
    let fake = FakeDaemon::default();
    fake.0.lock().unwrap().down = true;
    fake.0.lock().unwrap().status = Some(status());
    fake.0.lock().unwrap().history.insert(
        "bob".into(),
        (0..250)
            .map(|i| msg(i, "bob", false, "m", MessageState::Read))
            .collect(),
    );
    let (effect_tx, effect_rx) = mpsc::unbounded_channel();
    let (action_tx, mut action_rx) = mpsc::unbounded_channel();
    let worker = tokio::spawn(run(
        fake.clone(),
        effect_rx,
        action_tx,
        Duration::from_millis(20),
    ));
    let next = async |rx: &mut mpsc::UnboundedReceiver<Action>| {
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap()
    };
    assert!(matches!(
        next(&mut action_rx).await,
        Action::DaemonOffline(_)
    ));
    fake.0.lock().unwrap().down = false;
    loop {
        if next(&mut action_rx).await == Action::DaemonOnline {
            break;
        }
    }
    // Feed the pure loop the way main does.
    let mut s = AppState::new("x", Theme::named(ThemeName::None), TimeZone::Fixed(0));
    for e in app::update(&mut s, Action::DaemonOnline) {
        effect_tx.send(e).unwrap();
    }
    assert!(matches!(next(&mut action_rx).await, Action::Status(_)));
    effect_tx
        .send(Effect::LoadMessages { peer: "bob".into() })
        .unwrap();
    loop {
        if let Action::Messages { page, .. } = next(&mut action_rx).await {
            assert_eq!(
                page.messages.len(),
                100,
                "one page, never the whole history"
            );
            assert!(page.has_more);
            break;
        }
    }
    let events = fake.0.lock().unwrap().events.clone().unwrap();
    events
        .send(EventEnvelope {
            seq: 1,
            ts: 0,
            event: Event::MessageReceived(MessageReceivedEvent {
                message: msg(999, "bob", false, "live", MessageState::Delivered),
            }),
        })
        .await
        .unwrap();
    loop {
        if let Action::Event(e) = next(&mut action_rx).await {
            assert_eq!(e.seq, 1);
            break;
        }
    }
    // chatd goes away: the event channel closes and the worker reports it.
    fake.0.lock().unwrap().down = true;
    fake.0.lock().unwrap().events = None;
    drop(events);
    loop {
        if matches!(next(&mut action_rx).await, Action::DaemonOffline(_)) {
            break;
        }
    }
    assert_eq!(s.daemon, DaemonLink::Online);
    let calls = fake.0.lock().unwrap().calls.clone();
    assert!(
        calls.contains(&"message.list bob -".to_owned()),
        "{calls:?}"
    );
    drop(effect_tx);
    worker.await.unwrap();
}

#[tokio::test]
async fn contact_effects_run_against_the_daemon() {
    let mut fake = FakeDaemon::default();
    fake.0.lock().unwrap().contacts = contact_list();
    let (tx, mut rx) = mpsc::unbounded_channel();
    // Mismatch: chatd's refusal comes back as an error for the view.
    execute(
        &mut fake,
        Effect::VerifyContact {
            user: "carol".into(),
            fingerprint: BOB_FP.into(),
        },
        &tx,
    )
    .await
    .unwrap();
    assert!(matches!(
        rx.recv().await,
        Some(Action::ContactResult(Err(
            ContactFailed::FingerprintMismatch(_)
        )))
    ));
    execute(
        &mut fake,
        Effect::VerifyContact {
            user: "carol".into(),
            fingerprint: CAROL_FP.into(),
        },
        &tx,
    )
    .await
    .unwrap();
    assert!(matches!(
        rx.recv().await,
        Some(Action::ContactResult(Ok(_)))
    ));
    assert!(fake.0.lock().unwrap().contacts[1].verified);
    // A card file is read by the worker and sent as {card}.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dave.card");
    std::fs::write(&path, r#"{"v":1,"user":"dave","enc":"e","sig":"s"}"#).unwrap();
    execute(
        &mut fake,
        Effect::AddContactCard {
            path: path.display().to_string(),
        },
        &tx,
    )
    .await
    .unwrap();
    assert_eq!(
        rx.recv().await,
        Some(Action::ContactResult(Ok(ContactDone::Added {
            user: "dave".into(),
            from_directory: false
        })))
    );
    // A missing file is an error for the view, not a call.
    execute(
        &mut fake,
        Effect::AddContactCard {
            path: "/nonexistent/x.card".into(),
        },
        &tx,
    )
    .await
    .unwrap();
    assert!(matches!(
        rx.recv().await,
        Some(Action::ContactResult(Err(
            ContactFailed::CardUnreadable { .. }
        )))
    ));
    execute(&mut fake, Effect::RemoveContact { user: "bob".into() }, &tx)
        .await
        .unwrap();
    assert!(matches!(
        rx.recv().await,
        Some(Action::ContactResult(Ok(_)))
    ));
    let calls = fake.0.lock().unwrap().calls.clone();
    assert_eq!(calls.len(), 4, "{calls:?}");
    assert!(calls[2].starts_with("contact.add card"));
    assert_eq!(calls[3], "contact.remove bob");
}

#[tokio::test]
async fn load_identity_asks_for_show_and_card() {
    let mut fake = FakeDaemon::default();
    fake.0.lock().unwrap().identity = Some(ipc_schema::methods::IdentityShowResult {
        user: "alice".into(),
        fingerprint: BOB_FP.into(),
        key_bits: 3072,
    });
    fake.0.lock().unwrap().card = Some(serde_json::json!({"v":1,"user":"alice"}));
    let (tx, mut rx) = mpsc::unbounded_channel();
    execute(&mut fake, Effect::LoadIdentity, &tx).await.unwrap();
    let Some(Action::Identity { show, card }) = rx.recv().await else {
        panic!()
    };
    assert_eq!(show.key_bits, 3072);
    assert_eq!(card, r#"{"user":"alice","v":1}"#);
}

#[tokio::test]
async fn a_reconnect_resumes_after_the_last_event_and_expired_events_reload_everything() {
    let fake = FakeDaemon::default();
    fake.0.lock().unwrap().last_seq = 5;
    let (effect_tx, effect_rx) = mpsc::unbounded_channel();
    let (action_tx, mut action_rx) = mpsc::unbounded_channel();
    let worker = tokio::spawn(run(
        fake.clone(),
        effect_rx,
        action_tx,
        Duration::from_millis(20),
    ));
    let next = async |rx: &mut mpsc::UnboundedReceiver<Action>| {
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap()
    };
    // The first action that is not a failed retry, within 5 s.
    let back = async |rx: &mut mpsc::UnboundedReceiver<Action>| {
        let first = async {
            loop {
                match rx.recv().await.unwrap() {
                    Action::DaemonOffline(_) => {}
                    action => return action,
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(5), first)
            .await
            .expect("chatd is back within 5 s")
    };
    // chatd goes away: the event channel closes.
    let go_away = |fake: &FakeDaemon| {
        let mut s = fake.0.lock().unwrap();
        s.down = true;
        s.events = None;
    };
    let come_back = |fake: &FakeDaemon| fake.0.lock().unwrap().down = false;

    assert_eq!(
        next(&mut action_rx).await,
        Action::DaemonOnline,
        "first start"
    );
    let events = fake.0.lock().unwrap().events.clone().unwrap();
    let event = EventEnvelope {
        seq: 6,
        ts: 0,
        event: Event::MessageReceived(MessageReceivedEvent {
            message: msg(
                6,
                "bob",
                false,
                "before the restart",
                MessageState::Delivered,
            ),
        }),
    };
    events.send(event).await.unwrap();
    assert!(matches!(next(&mut action_rx).await, Action::Event(e) if e.seq == 6));
    drop(events);
    go_away(&fake);
    assert!(matches!(
        next(&mut action_rx).await,
        Action::DaemonOffline(_)
    ));

    // Back, with events 7 and 8 stored meanwhile: resumed after 6, no reload.
    fake.0.lock().unwrap().last_seq = 8;
    come_back(&fake);
    assert_eq!(back(&mut action_rx).await, Action::DaemonResumed);
    go_away(&fake);
    assert!(matches!(
        next(&mut action_rx).await,
        Action::DaemonOffline(_)
    ));

    // Back again, but chatd's retention pruned the events after 6: a fresh
    // subscription, and the app is told to load everything.
    fake.0.lock().unwrap().oldest_seq = 20;
    come_back(&fake);
    assert_eq!(back(&mut action_rx).await, Action::DaemonOnline);
    let subscribes: Vec<String> = fake
        .0
        .lock()
        .unwrap()
        .calls
        .iter()
        .filter(|c| c.starts_with("subscribe"))
        .cloned()
        .collect();
    assert_eq!(
        subscribes,
        ["subscribe -", "subscribe 6", "subscribe 6", "subscribe -"]
    );
    drop(effect_tx);
    worker.await.unwrap();
}

fn device(id: &str, name: &str, current: bool) -> ipc_schema::methods::DeviceView {
    ipc_schema::methods::DeviceView {
        id: id.repeat(16),
        name: name.into(),
        created_at: 0,
        last_seen: 1_000,
        current,
        gone: None,
        gone_at: None,
    }
}

/// Runs one effect against `fake` and returns the action it came back as.
async fn answer(fake: &mut FakeDaemon, effect: Effect) -> Action {
    let (tx, mut rx) = mpsc::unbounded_channel();
    execute(fake, effect, &tx).await.unwrap();
    rx.recv().await.expect("an answer")
}

#[tokio::test]
async fn device_effects_list_revoke_rename_and_link() {
    use crate::app::DeviceFailed;
    use ipc_schema::Secret;

    let mut fake = FakeDaemon::default();
    {
        let mut s = fake.0.lock().unwrap();
        s.devices = vec![device("1", "desk", true), device("2", "laptop", false)];
        s.password = Some(Secret::new("correct horse"));
    }
    let Action::Devices(Ok(list)) = answer(&mut fake, Effect::LoadDevices).await else {
        panic!("no list");
    };
    assert_eq!(list.len(), 2);

    let revoke = |id: &str, password: &str| Effect::RevokeDevice {
        id: id.repeat(16),
        password: Secret::new(password),
        new_password: Secret::new("a new passphrase"),
    };
    // A wrong password: the relay's 401, read as such; nothing changed.
    assert_eq!(
        answer(&mut fake, revoke("2", "wrong horse")).await,
        Action::DeviceRevoked {
            id: "2".repeat(16),
            result: Err(DeviceFailed::WrongPassword)
        }
    );
    assert_eq!(fake.0.lock().unwrap().devices[1].gone, None);
    assert_eq!(
        answer(&mut fake, revoke("9", "correct horse")).await,
        Action::DeviceRevoked {
            id: "9".repeat(16),
            result: Err(DeviceFailed::UnknownDevice)
        }
    );
    assert_eq!(
        answer(&mut fake, revoke("2", "correct horse")).await,
        Action::DeviceRevoked {
            id: "2".repeat(16),
            result: Ok(())
        }
    );
    {
        let s = fake.0.lock().unwrap();
        assert_eq!(s.devices[1].gone.as_deref(), Some("revoked"));
        assert_eq!(s.password, Some(Secret::new("a new passphrase")));
    }

    let rename = Effect::RenameDevice {
        id: "1".repeat(16),
        name: "work desk".into(),
    };
    assert!(matches!(
        answer(&mut fake, rename).await,
        Action::DeviceRenamed { result: Ok(()), .. }
    ));

    // No link to give stands for an account at its limit.
    assert_eq!(
        answer(
            &mut fake,
            Effect::LinkDevice {
                with_history: false
            }
        )
        .await,
        Action::DeviceLinked(Err(DeviceFailed::TooManyDevices))
    );
    let link = ipc_schema::methods::DeviceLinkResult {
        code: Secret::new("HW1D-847K-J0Z4-835V-DMMK-J05C-7J4D-MZG0"),
        expires_at: 600_000,
        contacts: 1,
        groups: 0,
        messages: 3,
        messages_left: 0,
        bytes: 100,
    };
    fake.0.lock().unwrap().link = Some(link.clone());
    assert_eq!(
        answer(&mut fake, Effect::LinkDevice { with_history: true }).await,
        Action::DeviceLinked(Ok(link))
    );

    let calls = fake.0.lock().unwrap().calls.clone();
    assert_eq!(
        calls,
        [
            "device.list".to_owned(),
            format!("device.revoke {}", "2".repeat(16)),
            format!("device.revoke {}", "9".repeat(16)),
            format!("device.revoke {}", "2".repeat(16)),
            format!("device.rename {} work desk", "1".repeat(16)),
            "device.link false".to_owned(),
            "device.link true".to_owned(),
        ]
    );
}

#[tokio::test]
async fn a_lost_connection_during_a_revocation_is_an_error_not_a_refusal() {
    let mut fake = FakeDaemon::default();
    fake.0.lock().unwrap().down = true;
    let (tx, _rx) = mpsc::unbounded_channel();
    let effect = Effect::RevokeDevice {
        id: "2".repeat(16),
        password: ipc_schema::Secret::new("x"),
        new_password: ipc_schema::Secret::new("y"),
    };
    assert!(execute(&mut fake, effect, &tx).await.is_err());
}

const NEW_BOB_FP: &str =
    "3b9f 02d4 e1c8 77a5 0f6e 9d21 c4b8 5e03 a7f1 6c92 d05b 8e4a 21f7 b3c6 9e08 4d5a";

/// bob and carol, both with a changed key seen in the directory and
/// messages waiting: bob 3, carol 2.
fn changed_keys() -> Vec<Contact> {
    let [bob, carol] = <[Contact; 2]>::try_from(contact_list()).unwrap();
    vec![
        Contact {
            pending_fingerprint: Some(NEW_BOB_FP.into()),
            quarantined: 3,
            ..bob
        },
        Contact {
            pending_fingerprint: Some(BOB_FP.into()),
            quarantined: 2,
            ..carol
        },
    ]
}

fn accept(user: &str, fingerprint: &str) -> Effect {
    Effect::AcceptKey {
        user: user.into(),
        fingerprint: fingerprint.into(),
    }
}

#[tokio::test]
async fn key_change_effects_run_against_the_daemon() {
    let mut fake = FakeDaemon::default();
    fake.0.lock().unwrap().contacts = changed_keys();
    // Not the pending fingerprint: chatd's mismatch, for the view.
    assert!(matches!(
        answer(&mut fake, accept("bob", CAROL_FP)).await,
        Action::ContactResult(Err(ContactFailed::FingerprintMismatch(_)))
    ));
    // The pinned one: refused in chatd's words.
    assert!(matches!(
        answer(&mut fake, accept("bob", BOB_FP)).await,
        Action::ContactResult(Err(ContactFailed::Refused(why))) if why.contains("already")
    ));
    assert_eq!(fake.0.lock().unwrap().contacts, changed_keys());
    // The pending one: pinned, unverified, and what waited opened.
    assert_eq!(
        answer(&mut fake, accept("bob", NEW_BOB_FP)).await,
        Action::ContactResult(Ok(ContactDone::KeyAccepted {
            user: "bob".into(),
            opened: 3,
            dropped: 0
        }))
    );
    let bob = fake.0.lock().unwrap().contacts[0].clone();
    assert_eq!(
        (
            bob.fingerprint.as_str(),
            bob.pending_fingerprint,
            bob.verified
        ),
        (NEW_BOB_FP, None, false)
    );
    assert_eq!(
        answer(
            &mut fake,
            Effect::RefuseKey {
                user: "carol".into()
            }
        )
        .await,
        Action::ContactResult(Ok(ContactDone::KeyRefused {
            user: "carol".into(),
            deleted: 2
        }))
    );
    let carol = fake.0.lock().unwrap().contacts[1].clone();
    assert_eq!(
        (carol.fingerprint.as_str(), carol.pending_fingerprint),
        (CAROL_FP, None)
    );
    assert_eq!(carol.dropped, 2);
    assert_eq!(
        fake.0.lock().unwrap().calls,
        [
            format!("contact.accept_key bob {CAROL_FP}"),
            format!("contact.accept_key bob {BOB_FP}"),
            format!("contact.accept_key bob {NEW_BOB_FP}"),
            "contact.refuse_key carol".to_owned(),
        ]
    );
    // A lost connection is the worker's error, not a refusal for the view.
    fake.0.lock().unwrap().down = true;
    let (tx, _rx) = mpsc::unbounded_channel();
    assert!(
        execute(&mut fake, accept("bob", NEW_BOB_FP), &tx)
            .await
            .is_err()
    );
    let refuse = Effect::RefuseKey { user: "bob".into() };
    assert!(execute(&mut fake, refuse, &tx).await.is_err());
}

/// Runs `fx` and every effect their answers lead to against `fake`,
/// feeding the answers to `update`, as main and the worker do.
async fn run_all(fake: &mut FakeDaemon, s: &mut AppState, fx: Vec<Effect>) {
    let mut queue = std::collections::VecDeque::from(fx);
    let (tx, mut rx) = mpsc::unbounded_channel();
    while let Some(effect) = queue.pop_front() {
        execute(fake, effect, &tx).await.unwrap();
        while let Ok(action) = rx.try_recv() {
            queue.extend(app::update(s, action));
        }
    }
}

#[tokio::test]
async fn accepting_in_the_app_pins_the_key_it_showed_and_reloads_the_lists() {
    let mut fake = FakeDaemon::default();
    fake.0.lock().unwrap().status = Some(status());
    fake.0.lock().unwrap().contacts = changed_keys();
    let mut s = AppState::new("x", Theme::named(ThemeName::None), TimeZone::Fixed(0));
    let fx = app::update(&mut s, Action::DaemonOnline);
    run_all(&mut fake, &mut s, fx).await;
    let fx = app::update(&mut s, Action::ShowContacts);
    run_all(&mut fake, &mut s, fx).await;
    app::update(&mut s, Action::ContactAcceptKey);
    let shown = match &s.overlay {
        Some(app::Overlay::Contacts(app::ContactsView {
            prompt: Some(app::ContactPrompt::AcceptKey { fingerprint, .. }),
            ..
        })) => fingerprint.clone(),
        other => panic!("no accept confirmation: {other:?}"),
    };
    fake.0.lock().unwrap().calls.clear();
    let fx = app::update(&mut s, Action::PromptSubmit);
    run_all(&mut fake, &mut s, fx).await;
    assert_eq!(
        fake.0.lock().unwrap().calls,
        [
            format!("contact.accept_key bob {shown}"),
            "contact.list".to_owned(),
            "conversation.list".to_owned(),
        ]
    );
    assert_eq!(s.contacts[0].fingerprint, NEW_BOB_FP);
    assert_eq!(s.contacts[0].pending_fingerprint, None);
    let Some(app::Overlay::Contacts(v)) = &s.overlay else {
        panic!("the view closed")
    };
    assert_eq!(v.prompt, None);
    assert!(
        matches!(&v.message, Some(Ok(m)) if m.contains("3 waiting messages opened")),
        "{:?}",
        v.message
    );
}

mod changes;
mod files;
mod search;
mod upload;
