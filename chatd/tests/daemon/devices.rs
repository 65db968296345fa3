//! This account's devices through chatd (docs/RELAY.md, "Devices"):
//! `device.list`, `device.revoke` and `account.password` against a real
//! relay, with the new password kept for automatic session renewal.

use ipc_schema::Secret;
use ipc_schema::methods::{
    AccountPasswordParams, ConnectionState, DeviceListParams, DeviceRevokeParams, DeviceView,
};
use serde_json::json;

use crate::helper::{Chatd, Relay, SOON, eventually};

/// `POST /v1/sessions` straight to the relay, as another machine would.
async fn relay_login(relay: &Relay, password: &str, device: serde_json::Value) -> (u16, String) {
    let reply = reqwest::Client::new()
        .post(format!("{}/v1/sessions", relay.url))
        .json(&json!({"username": "alice", "password": password, "device": device}))
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    let body: serde_json::Value = reply.json().await.unwrap_or_default();
    (
        status,
        body["token"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn devices(chatd: &Chatd) -> Vec<DeviceView> {
    chatd
        .client()
        .await
        .call(DeviceListParams {})
        .await
        .unwrap()
        .devices
}

async fn revoke(chatd: &Chatd, id: &str, password: &str, new_password: &str) -> Result<(), String> {
    chatd
        .client()
        .await
        .call(DeviceRevokeParams {
            id: id.to_owned(),
            password: Secret::new(password),
            new_password: Secret::new(new_password),
        })
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_laptop_is_cut_off_and_chatd_renews_with_the_new_password() {
    let relay = Relay::start().await;
    let alice = Chatd::start("alice", "").await;
    let bob = Chatd::start("bob", "").await;
    alice
        .try_register(&relay.url, |p| p.device_name = Some("desk".into()))
        .await
        .unwrap();
    bob.register(&relay.url).await;
    alice.add(&bob).await;
    bob.add(&alice).await;
    let listed = devices(&alice).await;
    assert_eq!(listed.len(), 1);
    assert!(listed[0].current);
    assert_eq!(listed[0].name, "desk");

    // A laptop logs in as a new device of alice's.
    let old = "alice relay password";
    let (status, laptop) = relay_login(&relay, old, json!({"name": "laptop"})).await;
    assert_eq!(status, 201);
    let listed = devices(&alice).await;
    let names: Vec<_> = listed
        .iter()
        .map(|d| (d.name.as_str(), d.current))
        .collect();
    assert_eq!(names, [("desk", true), ("laptop", false)]);
    let laptop_id = listed[1].id.clone();

    let bad_id = revoke(&alice, "../../etc", old, "a new password")
        .await
        .unwrap_err();
    assert!(bad_id.contains("16 hex digits"), "{bad_id}");

    let new = "alice's password after the laptop was stolen";
    let mut events = alice.events(None).await;
    revoke(&alice, &laptop_id, old, new).await.unwrap();
    let polled = reqwest::Client::new()
        .get(format!("{}/v1/messages", relay.url))
        .bearer_auth(&laptop)
        .send()
        .await
        .unwrap();
    assert_eq!(polled.status().as_u16(), 401, "the laptop's token is dead");
    assert_eq!(devices(&alice).await[1].gone.as_deref(), Some("revoked"));
    // The user is told, once, that the device is gone (so are they of one
    // that expires: the same look at the relay's list finds it).
    let told = tokio::time::timeout(SOON, async {
        loop {
            let e = events.next().await.unwrap().unwrap();
            if let ipc_schema::methods::Event::DeviceGone(d) = e.event {
                return d;
            }
        }
    })
    .await
    .expect("device.gone");
    assert_eq!(
        (told.id.as_str(), told.gone.as_str()),
        (laptop_id.as_str(), "revoked")
    );
    assert_eq!(told.name, "laptop");

    // 32 logins as alice's desk push chatd's own session out (the
    // per-account cap): the next send gets 401, and chatd renews its
    // session with the password it now keeps, the new one.
    for _ in 0..32 {
        assert_eq!(relay_login(&relay, new, json!(null)).await.0, 201);
    }
    alice.send("bob", "still here after the revocation").await;
    eventually(SOON, "bob has the text", || async {
        bob.received("alice")
            .await
            .contains(&"still here after the revocation".to_owned())
            .then_some(())
    })
    .await;
    assert_eq!(alice.status().await.connection, ConnectionState::Online);

    // (Failed password checks slow the account's later logins down, so
    // these come last.) The old password is dead, and a wrong one revokes
    // nothing.
    assert_eq!(relay_login(&relay, old, json!(null)).await.0, 401);
    let (status, _) = relay_login(&relay, new, json!({"name": "phone"})).await;
    assert_eq!(status, 201);
    let phone_id = devices(&alice).await[1].id.clone();
    let refused = revoke(&alice, &phone_id, "wrong password", "a new password")
        .await
        .unwrap_err();
    assert!(refused.contains("401"), "{refused}");
    assert!(devices(&alice).await[1].gone.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_is_kept_and_revoking_this_device_logs_it_out() {
    let relay = Relay::start().await;
    let alice = Chatd::start("alice", "").await;
    alice.register(&relay.url).await;
    let change = |password: &str, new_password: &str| AccountPasswordParams {
        password: Secret::new(password),
        new_password: Secret::new(new_password),
    };
    let refused = alice
        .client()
        .await
        .call(change("wrong", "a brand new password"))
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("401"), "{refused}");
    alice
        .client()
        .await
        .call(change("alice relay password", "a brand new password"))
        .await
        .unwrap();
    assert_eq!(
        relay_login(&relay, "alice relay password", json!(null))
            .await
            .0,
        401
    );
    assert_eq!(
        relay_login(&relay, "a brand new password", json!(null))
            .await
            .0,
        201
    );

    // Revoking the device chatd runs as: it is logged out here too.
    let me = devices(&alice).await.remove(0);
    assert!(me.current);
    revoke(
        &alice,
        &me.id,
        "a brand new password",
        "and yet another one",
    )
    .await
    .unwrap();
    assert_eq!(alice.status().await.connection, ConnectionState::LoggedOut);
    // Logging in again as that device is refused: it is gone for good.
    let again = alice
        .client()
        .await
        .call(ipc_schema::methods::AccountLoginParams {
            password: Secret::new("and yet another one"),
        })
        .await
        .unwrap_err();
    assert!(again.to_string().contains("revoked or expired"), "{again}");
}
