//! Backups through chatd (docs/PROTOCOL.md §10): `backup.export` on one
//! machine, `account.restore` on a fresh one, which becomes a second device
//! of the account with the same fingerprint and the pinned contacts, and
//! receives what is sent to the account as the first device does.

use ipc_schema::Secret;
use ipc_schema::client::ClientError;
use ipc_schema::jsonrpc::code;
use ipc_schema::methods::{
    AccountRestoreParams, BackupExportParams, ContactListParams, ContactVerifyParams,
    DeviceListParams, Direction, Event, IdentityShowParams, MessageState,
};

use crate::helper::{Chatd, Relay, SOON, eventually};

const PASSPHRASE: &str = "Seven-horses Quietly Ate 41 lemons!";

async fn export(chatd: &Chatd, passphrase: &str) -> Result<String, ClientError> {
    chatd
        .client()
        .await
        .call(BackupExportParams {
            passphrase: Secret::new(passphrase),
        })
        .await
        .map(|r| r.backup.expose().to_owned())
}

fn restore_params(relay: &Relay, backup: &str, passphrase: &str) -> AccountRestoreParams {
    AccountRestoreParams {
        relay_url: relay.url.clone().into(),
        username: "alice".into(),
        password: Secret::new("alice relay password"),
        backup: Some(Secret::new(backup)),
        passphrase: Secret::new(passphrase),
        device_name: Some("laptop".into()),
        insecure_http: false,
        relay_ca: None,
        relay_pin: None,
    }
}

/// The reason a `backup_refused` error gives.
fn refusal(e: &ClientError) -> String {
    let ClientError::Rpc { code: c, data, .. } = e else {
        panic!("not an RPC error: {e}");
    };
    assert_eq!(*c, code::BACKUP_REFUSED, "{e}");
    data.as_ref().unwrap()["reason"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A relay, alice's first machine and bob, registered, each the other's contact.
async fn desk_and_bob() -> (Relay, Chatd, Chatd) {
    let relay = Relay::start().await;
    let desk = Chatd::start("alice", "").await;
    let bob = Chatd::start("bob", "").await;
    desk.register(&relay.url).await;
    bob.register(&relay.url).await;
    desk.add(&bob).await;
    bob.add(&desk).await;
    (relay, desk, bob)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_machine_is_a_second_device_with_the_same_fingerprint_and_contacts() {
    let (relay, desk, bob) = desk_and_bob().await;
    let bob_fp = bob
        .client()
        .await
        .call(IdentityShowParams {})
        .await
        .unwrap()
        .fingerprint;
    desk.client()
        .await
        .call(ContactVerifyParams {
            user: "bob".into(),
            fingerprint: bob_fp,
        })
        .await
        .unwrap();

    // A weak passphrase is refused before anything is sealed.
    let weak = export(&desk, "password123").await.unwrap_err();
    assert_eq!(refusal(&weak), "refused");
    let backup = export(&desk, PASSPHRASE).await.unwrap();
    assert!(!backup.contains("PRIVATE"), "the keys are sealed");

    let laptop = Chatd::start("alice", "").await;
    // A wrong passphrase, or a damaged or cut backup: refused, nothing kept.
    let call = |params| async { laptop.client().await.call(params).await };
    let wrong = call(restore_params(
        &relay,
        &backup,
        "Seven-horses Quietly Ate 42 lemons!",
    ))
    .await
    .unwrap_err();
    assert_eq!(refusal(&wrong), "wrong_passphrase_or_tampered");
    let cut = &backup[..backup.len() - 20];
    assert_eq!(
        refusal(
            &call(restore_params(&relay, cut, PASSPHRASE))
                .await
                .unwrap_err()
        ),
        "malformed"
    );
    assert_eq!(laptop.status().await.user, None, "nothing was kept");
    let devices_before = desk.client().await.call(DeviceListParams {}).await.unwrap();
    assert_eq!(devices_before.devices.len(), 1, "and no device was added");

    let restored = call(restore_params(&relay, &backup, PASSPHRASE))
        .await
        .unwrap();
    let desk_id = desk
        .client()
        .await
        .call(IdentityShowParams {})
        .await
        .unwrap();
    assert_eq!(restored.fingerprint, desk_id.fingerprint);
    assert_eq!(restored.contacts, 1);
    let contacts = laptop
        .client()
        .await
        .call(ContactListParams {})
        .await
        .unwrap()
        .contacts;
    assert_eq!(contacts.len(), 1);
    assert!(contacts[0].verified, "verification comes along");
    let devices = desk.client().await.call(DeviceListParams {}).await.unwrap();
    let names: Vec<_> = devices.devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names.len(), 2);
    assert_eq!(names[1], "laptop");

    // bob's text reaches both of alice's machines; the laptop writes to bob
    // with the same keys.
    bob.send("alice", "to every alice").await;
    for machine in [&desk, &laptop] {
        eventually(SOON, "alice's machine has bob's text", || async {
            machine
                .received("bob")
                .await
                .contains(&"to every alice".to_owned())
                .then_some(())
        })
        .await;
    }
    laptop.send("bob", "from the laptop").await;
    eventually(SOON, "bob has the laptop's text", || async {
        bob.received("alice")
            .await
            .contains(&"from the laptop".to_owned())
            .then_some(())
    })
    .await;

    // A second restore on a machine that has an account is refused.
    let again = call(restore_params(&relay, &backup, PASSPHRASE))
        .await
        .unwrap_err();
    assert_eq!(again.rpc_name(), Some("account_exists"), "{again}");
}

/// The unread count of `peer` in `chatd`'s conversation list.
async fn unread(chatd: &Chatd, peer: &str) -> u64 {
    chatd
        .client()
        .await
        .call(ipc_schema::methods::ConversationListParams {})
        .await
        .unwrap()
        .conversations
        .into_iter()
        .find(|c| c.peer == peer)
        .map_or(0, |c| c.unread)
}

/// What `chatd` shows as sent to `peer`: (body, state).
async fn sent(chatd: &Chatd, peer: &str) -> Vec<(String, MessageState)> {
    chatd
        .log(peer)
        .await
        .into_iter()
        .filter(|m| m.direction == Direction::Out && m.kind == "text")
        .map(|m| (m.body.unwrap_or_default(), m.state))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_device_sends_and_reads_shows_on_the_other() {
    let (relay, desk, bob) = desk_and_bob().await;
    let backup = export(&desk, PASSPHRASE).await.unwrap();
    let mut desk_events = desk.events(None).await;
    let laptop = Chatd::start("alice", "").await;
    laptop
        .client()
        .await
        .call(restore_params(&relay, &backup, PASSPHRASE))
        .await
        .unwrap();

    // The desk hears of the laptop from the laptop itself, end to end.
    let added = tokio::time::timeout(SOON, async {
        loop {
            let e = desk_events.next().await.unwrap().unwrap();
            if let Event::DeviceAdded(d) = e.event {
                return d;
            }
        }
    })
    .await
    .expect("device.added on the desk");
    assert_eq!(added.name, "laptop");

    // Sent from the desk: on the laptop too, and its ticks follow bob's receipts.
    desk.send("bob", "sent from the desk").await;
    eventually(
        SOON,
        "the laptop shows the desk's text as delivered",
        || async {
            sent(&laptop, "bob")
                .await
                .contains(&("sent from the desk".to_owned(), MessageState::Delivered))
                .then_some(())
        },
    )
    .await;
    // And from the laptop: on the desk.
    laptop.send("bob", "sent from the laptop").await;
    eventually(SOON, "the desk shows the laptop's text", || async {
        sent(&desk, "bob")
            .await
            .iter()
            .any(|(b, _)| b == "sent from the laptop")
            .then_some(())
    })
    .await;
    assert_eq!(
        bob.received("alice").await.len(),
        2,
        "bob got each text once"
    );

    // Read on the laptop: no longer unread on the desk.
    bob.send("alice", "one").await;
    bob.send("alice", "two").await;
    for machine in [&desk, &laptop] {
        eventually(SOON, "two unread", || async {
            (unread(machine, "bob").await == 2).then_some(())
        })
        .await;
    }
    laptop
        .client()
        .await
        .call(ipc_schema::methods::ConversationMarkReadParams { peer: "bob".into() })
        .await
        .unwrap();
    eventually(SOON, "the desk's unread count clears", || async {
        (unread(&desk, "bob").await == 0).then_some(())
    })
    .await;

    // A group made on the desk is on the laptop, with its texts.
    let group = desk
        .client()
        .await
        .call(ipc_schema::methods::GroupCreateParams {
            name: "ops".into(),
            members: vec!["bob".into()],
        })
        .await
        .unwrap();
    let peer = format!("#{}", group.group.id);
    eventually(SOON, "the laptop has the group", || async {
        let groups = laptop
            .client()
            .await
            .call(ipc_schema::methods::GroupListParams {})
            .await
            .unwrap()
            .groups;
        groups.iter().any(|g| g.name == "ops").then_some(())
    })
    .await;
    desk.send(&peer, "deploy done").await;
    eventually(SOON, "the laptop shows the desk's group text", || async {
        sent(&laptop, &peer)
            .await
            .iter()
            .any(|(b, _)| b == "deploy done")
            .then_some(())
    })
    .await;
    eventually(SOON, "bob has the group text once", || async {
        (bob.log(&peer)
            .await
            .iter()
            .filter(|m| m.body.as_deref() == Some("deploy done"))
            .count()
            == 1)
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_keeps_a_backup_that_follows_the_contacts_and_restores_a_new_machine() {
    use ipc_schema::methods::{BackupDisableParams, BackupEnableParams};
    let relay = Relay::start().await;
    let desk = Chatd::start("alice", "").await;
    let bob = Chatd::start("bob", "").await;
    let carol = Chatd::start("carol", "").await;
    desk.register(&relay.url).await;
    bob.register(&relay.url).await;
    carol.register(&relay.url).await;
    desk.add(&bob).await;
    let enable = |passphrase: &str| BackupEnableParams {
        passphrase: Secret::new(passphrase),
    };
    let weak = desk.client().await.call(enable("short")).await.unwrap_err();
    assert_eq!(refusal(&weak), "refused");
    let on = desk.client().await.call(enable(PASSPHRASE)).await.unwrap();
    assert_eq!(on.contacts, 1);

    // A contact added later reaches the relay's copy by itself.
    desk.add(&carol).await;
    eventually(SOON, "the relay's backup has carol", || async {
        (relay_backup_contacts(&relay).await == Some(2)).then_some(())
    })
    .await;
    let from_relay = |passphrase: &str| AccountRestoreParams {
        backup: None,
        ..restore_params(&relay, "", passphrase)
    };
    let laptop = Chatd::start("alice", "").await;
    let wrong = laptop
        .client()
        .await
        .call(from_relay("not the passphrase at all, no"))
        .await
        .unwrap_err();
    assert_eq!(refusal(&wrong), "wrong_passphrase_or_tampered");
    assert_eq!(laptop.status().await.user, None, "nothing kept");
    let restored = laptop
        .client()
        .await
        .call(from_relay(PASSPHRASE))
        .await
        .unwrap();
    assert_eq!(restored.contacts, 2);
    let desk_fp = desk
        .client()
        .await
        .call(IdentityShowParams {})
        .await
        .unwrap()
        .fingerprint;
    assert_eq!(restored.fingerprint, desk_fp);

    // Off: deleted on the relay; a restore from it says so.
    desk.client()
        .await
        .call(BackupDisableParams {})
        .await
        .unwrap();
    let tablet = Chatd::start("alice", "").await;
    let none = tablet
        .client()
        .await
        .call(from_relay(PASSPHRASE))
        .await
        .unwrap_err();
    assert!(none.to_string().contains("keeps no key backup"), "{none}");
    assert_eq!(tablet.status().await.user, None);
}

/// How many contacts the backup the relay keeps for alice holds, read as a
/// new machine would (a session of her oldest device, ended after), opened
/// with the passphrase; `None` while there is none.
async fn relay_backup_contacts(relay: &Relay) -> Option<usize> {
    use chatd::crypto::backup::{self, BackupContents};
    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{}/v1/sessions", relay.url))
        .json(&serde_json::json!({"username": "alice", "password": "alice relay password"}))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let token = login["token"].as_str()?.to_owned();
    let reply = http
        .get(format!("{}/v1/backup", relay.url))
        .bearer_auth(&token)
        .send()
        .await
        .ok()?;
    let text = if reply.status() == 200 {
        reply.text().await.ok()
    } else {
        None
    };
    let _ = http
        .delete(format!("{}/v1/sessions/current", relay.url))
        .bearer_auth(&token)
        .send()
        .await;
    let plain = backup::open(PASSPHRASE.as_bytes(), text?.as_bytes()).ok()?;
    let restored = BackupContents::parse(plain.expose_secret(), "alice").ok()?;
    Some(restored.contacts.len())
}
