//! Devices (docs/RELAY.md, "Devices"): one account on several machines, each
//! fetching and acknowledging its own copy of every envelope; listing,
//! revoking (with the password change it requires), the cap of 10, and
//! expiry of a device that stays away.

use ipc_schema::envelope_v2::SealedV2;
use relay_server::store::{DeviceChoice, FetchFilter, NewEnvelope, Quota};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::helper::*;

fn db_count(relay: &Relay, sql: &str) -> i64 {
    Db::of(relay).count(sql)
}

/// `POST /v1/sessions` for `user` with the usual password and `device`.
async fn login_device(relay: &Relay, user: &str, device: Value) -> Reply {
    send(relay.request(Method::POST, "/v1/sessions").json(&json!({
        "username": user, "password": password_of(user), "device": device,
    })))
    .await
}

/// Logs `user` in as a new device called `name`; returns it and its id.
async fn add_device(relay: &Relay, user: &str, name: &str) -> (User, String) {
    let reply = login_device(relay, user, json!({ "name": name })).await;
    reply.assert_status(201);
    let body = reply.json();
    assert_eq!(body["device"]["name"], name);
    let token = body["token"].as_str().unwrap();
    let id = body["device"]["id"].as_str().unwrap().to_owned();
    (relay.user_with_token(user, token), id)
}

async fn devices(user: &User) -> Value {
    let reply = send(user.request(Method::GET, "/v1/devices")).await;
    reply.assert_status(200);
    reply.json()
}

async fn revoke(user: &User, id: &str, password: &str, new_password: &str) -> Reply {
    send(
        user.request(Method::DELETE, &format!("/v1/devices/{id}"))
            .json(&json!({ "password": password, "new_password": new_password })),
    )
    .await
}

#[tokio::test]
async fn each_device_fetches_and_acks_its_own_copy_and_the_envelope_goes_with_the_last_ack() {
    let relay = Relay::start().await;
    let bob = relay.register("bob").await;
    let desktop = relay.register("alice").await;
    let (laptop, _) = add_device(&relay, "alice", "laptop").await;
    let (phone, _) = add_device(&relay, "alice", "phone").await;

    let hello = bob.seal("alice", "hello, every alice");
    bob.put(&hello).await.assert_status(201);
    // One envelope stored, three copies to fetch.
    assert_eq!(db_count(&relay, "SELECT count(*) FROM mailbox"), 1);
    assert_eq!(db_count(&relay, "SELECT count(*) FROM copies"), 3);
    for device in [&desktop, &laptop, &phone] {
        device.fetch("").await.assert_messages(&[&hello]);
    }

    // Each ack takes only that device's copy.
    desktop.ack(&[&hello.id]).await.assert_status(204);
    desktop.fetch("").await.assert_status(204);
    laptop.fetch("").await.assert_messages(&[&hello]);
    laptop.get_message(&hello.id).await.assert_status(200);
    desktop.get_message(&hello.id).await.assert_status(404);
    laptop.ack(&[&hello.id]).await.assert_status(204);
    assert_eq!(db_count(&relay, "SELECT count(*) FROM mailbox"), 1);
    phone.ack(&[&hello.id]).await.assert_status(204);
    assert_eq!(db_count(&relay, "SELECT count(*) FROM mailbox"), 0);
    assert_eq!(db_count(&relay, "SELECT count(*) FROM copies"), 0);
    // Delivered now: bob's retry is answered 200 and stores nothing.
    bob.put(&hello).await.assert_status(200);
    phone.fetch("").await.assert_status(204);

    // A v2 body shared with another account is kept until the last device
    // of every recipient has acked.
    let carol = relay.register("carol").await;
    let (SealedV2 { id, .. }, json) =
        seal_v2("bob", &["alice", "carol"], "to alice's devices and carol");
    bob.put_raw(&id, json.into_bytes()).await.assert_status(201);
    assert_eq!(db_count(&relay, "SELECT count(*) FROM bodies"), 1);
    for device in [&desktop, &laptop, &phone, &carol] {
        assert_eq!(device.pending_ids().await, std::slice::from_ref(&id));
        device.ack(&[&id]).await.assert_status(204);
        let left = db_count(&relay, "SELECT count(*) FROM bodies");
        assert_eq!(left, if device.token == carol.token { 0 } else { 1 });
    }
}

#[tokio::test]
async fn an_envelope_goes_to_the_devices_that_existed_when_it_was_stored() {
    let relay = Relay::start().await;
    let bob = relay.register("bob").await;
    let desktop = relay.register("alice").await;
    let before = bob.seal("alice", "before the laptop");
    bob.put(&before).await.assert_status(201);
    let (laptop, _) = add_device(&relay, "alice", "laptop").await;
    let after = bob.seal("alice", "after the laptop");
    bob.put(&after).await.assert_status(201);
    desktop.fetch("").await.assert_messages(&[&before, &after]);
    laptop.fetch("").await.assert_messages(&[&after]);
}

#[tokio::test]
async fn what_a_device_sends_to_its_own_account_reaches_the_others_but_not_itself() {
    let relay = Relay::start().await;
    let bob = relay.register("bob").await;
    let desktop = relay.register("alice").await;
    let (laptop, _) = add_device(&relay, "alice", "laptop").await;
    let (SealedV2 { id, .. }, json) = seal_v2("alice", &["alice", "bob"], "sent from the laptop");
    let put = laptop.put_raw(&id, json.clone().into_bytes()).await;
    put.assert_status(201);
    assert_eq!(put.json()["stored"], 2);
    assert_eq!(desktop.pending_ids().await, std::slice::from_ref(&id));
    assert_eq!(bob.pending_ids().await, std::slice::from_ref(&id));
    laptop.fetch("").await.assert_status(204);
    // The retry changes nothing.
    let again = laptop.put_raw(&id, json.into_bytes()).await;
    assert_eq!(again.json()["duplicate"], 2);

    // With no other device there is nobody to deliver the own copy to:
    // stored for bob, and nothing kept for alice.
    let solo = relay.register("carol").await;
    let (SealedV2 { id, .. }, json) = seal_v2("carol", &["bob", "carol"], "only one carol");
    let put = solo.put_raw(&id, json.into_bytes()).await;
    put.assert_status(201);
    assert_eq!(put.json()["stored"], 2);
    solo.fetch("").await.assert_status(204);
    assert_eq!(
        db_count(
            &relay,
            "SELECT count(*) FROM mailbox WHERE recipient = 'carol'"
        ),
        0
    );
    assert_eq!(bob.pending_ids().await.len(), 2);
}

#[tokio::test]
async fn devices_are_listed_and_a_revoked_one_loses_its_tokens_copies_and_the_password() {
    let relay = Relay::start().await;
    let bob = relay.register("bob").await;
    let desktop = relay.register("alice").await;
    let (laptop, laptop_id) = add_device(&relay, "alice", "laptop").await;
    let list = devices(&desktop).await;
    let names: Vec<_> = list["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["default", "laptop"]);
    assert_eq!(list["current"], list["devices"][0]["id"]);
    assert_eq!(devices(&laptop).await["current"], laptop_id);

    // Something only the laptop still has to fetch.
    let pending = bob.seal("alice", "for the laptop");
    bob.put(&pending).await.assert_status(201);
    desktop.ack(&[&pending.id]).await.assert_status(204);
    assert_eq!(db_count(&relay, "SELECT count(*) FROM mailbox"), 1);

    let old = password_of("alice");
    let new = "alice's new password after losing the laptop";
    // A wrong password changes nothing.
    revoke(&desktop, &laptop_id, "not the password", new)
        .await
        .assert_error(401, "invalid_credentials");
    revoke(&desktop, &laptop_id, &old, "short")
        .await
        .assert_error(400, "bad_request");
    laptop.fetch("").await.assert_messages(&[&pending]);
    revoke(&desktop, "0123456789abcdef", &old, new)
        .await
        .assert_error(404, "unknown_device");

    revoke(&desktop, &laptop_id, &old, new)
        .await
        .assert_status(204);
    // Its token is dead, its copy is gone, and so is the envelope that
    // waited only for it.
    laptop.fetch("").await.assert_error(401, "unauthorized");
    assert_eq!(db_count(&relay, "SELECT count(*) FROM mailbox"), 0);
    // It cannot come back: not as itself, and not with the old password.
    let again = send(relay.request(Method::POST, "/v1/sessions").json(&json!({
        "username": "alice", "password": new, "device": {"id": laptop_id},
    })))
    .await;
    again.assert_error(403, "device_gone");
    relay
        .login("alice", &old)
        .await
        .assert_error(401, "invalid_credentials");
    relay.login("alice", new).await.assert_status(201);
    // Nothing more is stored for it, and revoking twice is a 404.
    let later = bob.seal("alice", "after the revocation");
    bob.put(&later).await.assert_status(201);
    assert_eq!(db_count(&relay, "SELECT count(*) FROM copies"), 1);
    revoke(&desktop, &laptop_id, new, "yet another new password")
        .await
        .assert_error(404, "unknown_device");
    // The list tells the others what happened.
    let list = devices(&desktop).await;
    let gone = &list["devices"][1];
    assert_eq!(gone["id"], laptop_id);
    assert_eq!(gone["gone"], "revoked");
    assert!(gone["gone_at"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn an_account_has_at_most_10_devices() {
    let relay = Relay::start().await;
    let first = relay.register("alice").await;
    let mut ids = Vec::new();
    for n in 2..=10 {
        ids.push(add_device(&relay, "alice", &format!("device {n}")).await.1);
    }
    login_device(&relay, "alice", json!({"name": "eleventh"}))
        .await
        .assert_error(409, "too_many_devices");
    // Logging in again as an existing device still works.
    login_device(&relay, "alice", json!({"id": ids[0]}))
        .await
        .assert_status(201);
    let new = "alice's password after the cleanup";
    revoke(&first, &ids[8], &password_of("alice"), new)
        .await
        .assert_status(204);
    send(relay.request(Method::POST, "/v1/sessions").json(&json!({
        "username": "alice", "password": new, "device": {"name": "eleventh"},
    })))
    .await
    .assert_status(201);
}

#[tokio::test]
async fn a_login_s_device_is_checked() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    for (device, status, code) in [
        (json!({"id": "XYZ"}), 400, "bad_request"),
        (json!({"id": "0123456789abcdef"}), 404, "unknown_device"),
        (
            json!({"id": "0123456789abcdef", "name": "both"}),
            400,
            "bad_request",
        ),
        (json!({}), 400, "bad_request"),
        (json!({"name": ""}), 400, "bad_request"),
        (json!({"name": "bell\u{7}"}), 400, "bad_request"),
        (json!({"name": "x".repeat(33)}), 400, "bad_request"),
        (json!({"name": "laptop", "admin": true}), 400, "bad_request"),
    ] {
        login_device(&relay, "alice", device.clone())
            .await
            .assert_error(status, code);
    }
    // A registration may name the first device, under the same rules.
    let mut body = registration("bob");
    body["device_name"] = json!("work laptop");
    relay.try_register(body).await.assert_status(201);
    let bob = relay.log_in("bob").await;
    assert_eq!(devices(&bob).await["devices"][0]["name"], "work laptop");
    let mut body = registration("carol");
    body["device_name"] = json!("\u{1b}[2J");
    relay
        .try_register(body)
        .await
        .assert_error(400, "bad_request");
}

#[tokio::test]
async fn changing_the_password_keeps_sessions_and_needs_the_old_one() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let change = |password: &str, new_password: &str| {
        alice
            .request(Method::PUT, "/v1/accounts/me/password")
            .json(&json!({ "password": password, "new_password": new_password }))
    };
    send(change("wrong password", "a brand new password"))
        .await
        .assert_error(401, "invalid_credentials");
    send(change(&password_of("alice"), "short"))
        .await
        .assert_error(400, "bad_request");
    relay
        .login("alice", &password_of("alice"))
        .await
        .assert_status(201);
    send(change(&password_of("alice"), "a brand new password"))
        .await
        .assert_status(204);
    alice.fetch("").await.assert_status(204);
    relay
        .login("alice", &password_of("alice"))
        .await
        .assert_error(401, "invalid_credentials");
    relay
        .login("alice", "a brand new password")
        .await
        .assert_status(201);
}

/// Expiry runs hourly in the relay; here the store is called directly with
/// a cut-off in the future, so that every device counts as idle.
#[tokio::test]
async fn an_idle_device_expires_unless_it_is_its_account_s_most_recently_seen() {
    let dir = tempfile::TempDir::new().unwrap();
    let store = open_store(dir.path()).await;
    for user in ["alice", "bob", "solo"] {
        store
            .create_account(user, "hash", "{}", None, "default")
            .await
            .unwrap();
    }
    let (desktop, _) = store
        .create_session("t1", "alice", DeviceChoice::Oldest, u64::MAX / 2, 32)
        .await
        .unwrap();
    let body = br#"{"v":1}"#.to_vec();
    let put = |id: &str| NewEnvelope {
        id: id.to_owned(),
        sender: "bob".into(),
        sender_device: "-".into(),
        recipient: "alice".into(),
        ts: 1,
        digest: Sha256::digest(&body).into(),
        body: body.clone(),
    };
    let quota = Quota {
        max_count: 100,
        max_bytes: 1 << 20,
    };
    store.put_envelope(put("id-old"), quota).await.unwrap();
    // The laptop is added later, so it is the most recently seen device.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let (laptop, _) = store
        .create_session(
            "t2",
            "alice",
            DeviceChoice::New("laptop".into()),
            u64::MAX / 2,
            32,
        )
        .await
        .unwrap();
    store.put_envelope(put("id-new"), quota).await.unwrap();

    let gone = store.expire_devices(now_ms() + 60_000).await.unwrap();
    // Only alice's desktop: solo's and bob's only devices, and alice's most
    // recent one, stay.
    assert_eq!(gone, [("alice".to_owned(), desktop.id.clone())]);
    assert!(
        store.session("t1").await.unwrap().is_none(),
        "its token is dead"
    );
    assert!(store.session("t2").await.unwrap().is_some());
    let filter = FetchFilter {
        limit: 100,
        max_bytes: 1 << 20,
        ..FetchFilter::default()
    };
    // The envelope only the desktop had to fetch is gone; the laptop's is kept.
    assert_eq!(
        store
            .fetch("alice", &laptop.id, filter.clone())
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .fetch("alice", &desktop.id, filter)
            .await
            .unwrap()
            .is_empty()
    );
    let listed = store.devices("alice", 0).await.unwrap();
    assert_eq!(listed[1].id, desktop.id);
    assert_eq!(listed[1].gone.as_deref(), Some("expired"));
    // Sweeping again expires nothing more.
    assert!(
        store
            .expire_devices(now_ms() + 60_000)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_key_backup_is_kept_per_account_replaced_deleted_and_bounded() {
    let relay = Relay::start().await;
    let users = relay.register_all(&["alice", "bob"]).await;
    let (alice, bob) = (&users[0], &users[1]);
    let get = |u: &User| send(u.request(Method::GET, "/v1/backup"));
    let put = |u: &User, body: Vec<u8>| {
        send(
            u.request(Method::PUT, "/v1/backup")
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body),
        )
    };
    get(alice).await.assert_error(404, "not_found");
    put(alice, br#"{"v":1,"sealed":"first"}"#.to_vec())
        .await
        .assert_status(204);
    put(alice, br#"{"v":1,"sealed":"second"}"#.to_vec())
        .await
        .assert_status(204);
    let got = get(alice).await;
    got.assert_status(200);
    assert_eq!(
        got.text(),
        r#"{"v":1,"sealed":"second"}"#,
        "kept exactly, replaced"
    );
    // Each account's own: bob has none, and cannot reach alice's.
    get(bob).await.assert_error(404, "not_found");
    // Not a JSON object, or too big: refused, the old one stays.
    put(alice, b"[1,2]".to_vec())
        .await
        .assert_error(400, "bad_request");
    put(alice, b"not json".to_vec())
        .await
        .assert_error(400, "bad_request");
    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(8 * 1024 * 1024));
    put(alice, big.into_bytes())
        .await
        .assert_error(413, "payload_too_large");
    assert_eq!(get(alice).await.text(), r#"{"v":1,"sealed":"second"}"#);
    send(alice.request(Method::DELETE, "/v1/backup"))
        .await
        .assert_status(204);
    send(alice.request(Method::DELETE, "/v1/backup"))
        .await
        .assert_error(404, "not_found");
    // Deleting the account takes its backup along.
    put(bob, br#"{"v":1}"#.to_vec()).await.assert_status(204);
    bob.delete_account(&password_of("bob"))
        .await
        .assert_status(204);
    assert_eq!(db_count(&relay, "SELECT count(*) FROM backups"), 0);
}

#[tokio::test]
async fn a_revoked_device_s_waiting_long_poll_ends_with_401() {
    let relay = Relay::start().await;
    let bob = relay.register("bob").await;
    let desktop = relay.register("alice").await;
    let (laptop, laptop_id) = add_device(&relay, "alice", "laptop").await;
    // Nothing for the laptop: its long-poll waits.
    let waiting = {
        let laptop = laptop.clone();
        tokio::spawn(async move { laptop.fetch_wait(30).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    revoke(
        &desktop,
        &laptop_id,
        &password_of("alice"),
        "a new password for alice",
    )
    .await
    .assert_status(204);
    // Mail for alice right after reaches the desktop, never the laptop: its
    // long-poll ends with 401 (without the check it would wait out its 30 s
    // and answer 204).
    let after = bob.seal("alice", "after the revocation");
    bob.put(&after).await.assert_status(201);
    waiting.await.unwrap().assert_error(401, "unauthorized");
    desktop.fetch("").await.assert_messages(&[&after]);
}
