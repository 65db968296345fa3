//! Backups through chatd (docs/PROTOCOL.md §10): `backup.export` on one
//! machine, `account.restore` on a fresh one, which becomes a second device
//! of the account with the same fingerprint and the pinned contacts, and
//! receives what is sent to the account as the first device does.

use ipc_schema::Secret;
use ipc_schema::client::ClientError;
use ipc_schema::jsonrpc::code;
use ipc_schema::methods::{
    AccountRestoreParams, BackupExportParams, ContactListParams, ContactVerifyParams,
    DeviceListParams, IdentityShowParams,
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
        relay_url: relay.url.clone(),
        username: "alice".into(),
        password: Secret::new("alice relay password"),
        backup: Secret::new(backup),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_machine_is_a_second_device_with_the_same_fingerprint_and_contacts() {
    let relay = Relay::start().await;
    let desk = Chatd::start("alice", "").await;
    let bob = Chatd::start("bob", "").await;
    desk.register(&relay.url).await;
    bob.register(&relay.url).await;
    desk.add(&bob).await;
    bob.add(&desk).await;
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
