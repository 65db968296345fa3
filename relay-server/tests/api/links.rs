//! Device links (docs/RELAY.md §5.3): one pending link per account, kept
//! until it is claimed once or expires; a wrong handle gets nothing and
//! changes nothing; the device cap holds at both ends. And renaming devices.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::helper::*;

const HANDLE_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const HANDLE_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

async fn put_link(user: &User, handle: &str, body: &str) -> Reply {
    send(
        user.request(Method::PUT, &format!("/v1/links/{handle}"))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned()),
    )
    .await
}

async fn claim(user: &User, handle: &str) -> Reply {
    send(user.request(Method::POST, &format!("/v1/links/{handle}/claim"))).await
}

fn links_kept(relay: &Relay) -> i64 {
    Db::of(relay).count("SELECT count(*) FROM links")
}

/// Logs `user` in as a new device named `name`.
async fn new_device(relay: &Relay, user: &str, name: &str) -> Reply {
    send(relay.request(Method::POST, "/v1/sessions").json(&json!({
        "username": user, "password": password_of(user), "device": {"name": name},
    })))
    .await
}

#[tokio::test]
async fn a_link_is_claimed_once_by_its_handle_and_a_wrong_handle_changes_nothing() {
    let relay = Relay::start().await;
    let users = relay.register_all(&["alice", "bob"]).await;
    let (alice, bob) = (&users[0], &users[1]);
    let stored = put_link(alice, HANDLE_A, r#"{"v":1,"sealed":"for the laptop"}"#).await;
    stored.assert_status(201);
    assert!(stored.json()["expires_at"].as_u64().unwrap() > 0);

    // A wrong handle: 404, and the link is still there.
    claim(alice, HANDLE_B).await.assert_error(404, "not_found");
    claim(alice, "not-a-handle")
        .await
        .assert_error(404, "not_found");
    // Another account cannot take it, even with the right handle.
    claim(bob, HANDLE_A).await.assert_error(404, "not_found");
    assert_eq!(links_kept(&relay), 1);

    let taken = claim(alice, HANDLE_A).await;
    taken.assert_status(200);
    assert_eq!(taken.text(), r#"{"v":1,"sealed":"for the laptop"}"#);
    // Replayed: gone.
    claim(alice, HANDLE_A).await.assert_error(404, "not_found");
    assert_eq!(links_kept(&relay), 0);

    // A new link replaces the pending one.
    put_link(alice, HANDLE_A, r#"{"n":1}"#)
        .await
        .assert_status(201);
    put_link(alice, HANDLE_B, r#"{"n":2}"#)
        .await
        .assert_status(201);
    claim(alice, HANDLE_A).await.assert_error(404, "not_found");
    assert_eq!(claim(alice, HANDLE_B).await.text(), r#"{"n":2}"#);

    // Bad bodies and handles are refused; the cap is 16 MiB.
    put_link(alice, HANDLE_A, "[1]")
        .await
        .assert_error(400, "bad_request");
    put_link(alice, "ABC", "{}")
        .await
        .assert_error(400, "bad_request");
    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(16 * 1024 * 1024));
    put_link(alice, HANDLE_A, &big)
        .await
        .assert_error(413, "payload_too_large");
    assert_eq!(links_kept(&relay), 0);
    // Unauthenticated: 401.
    send(relay.request(Method::POST, &format!("/v1/links/{HANDLE_A}/claim")))
        .await
        .assert_status(401);
}

#[tokio::test]
async fn an_expired_link_is_not_given_out() {
    let relay = Relay::start_with(|c| c.link_ttl = Duration::from_millis(300)).await;
    let alice = relay.register("alice").await;
    put_link(&alice, HANDLE_A, r#"{"v":1}"#)
        .await
        .assert_status(201);
    tokio::time::sleep(Duration::from_millis(500)).await;
    claim(&alice, HANDLE_A).await.assert_error(404, "not_found");
    assert_eq!(links_kept(&relay), 1, "kept until the sweep");
}

#[tokio::test]
async fn the_expiry_sweep_deletes_links_past_their_time_only() {
    let dir = tempfile::TempDir::new().unwrap();
    let store = open_store(dir.path()).await;
    for user in ["alice", "bob"] {
        store
            .create_account(user, "hash", "{}", None, "default")
            .await
            .unwrap();
    }
    store
        .put_link("alice", HANDLE_A, b"{}".to_vec(), 1)
        .await
        .unwrap();
    store
        .put_link("bob", HANDLE_A, b"{}".to_vec(), u64::MAX / 2)
        .await
        .unwrap();
    store.expire_devices(0).await.unwrap();
    assert_eq!(store.take_link("alice", HANDLE_A).await.unwrap(), None);
    assert_eq!(
        store.take_link("bob", HANDLE_A).await.unwrap(),
        Some(b"{}".to_vec())
    );
    let left = Db::at(dir.path()).count("SELECT count(*) FROM links");
    assert_eq!(left, 0);
}

#[tokio::test]
async fn a_link_for_an_account_with_10_devices_is_refused_and_a_claim_keeps_it() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    put_link(&alice, HANDLE_A, r#"{"v":1}"#)
        .await
        .assert_status(201);
    for n in 2..=10 {
        new_device(&relay, "alice", &format!("device {n}"))
            .await
            .assert_status(201);
    }
    // Full: no new link, and the pending one cannot be claimed (it stays,
    // for when a device is revoked).
    put_link(&alice, HANDLE_B, r#"{"v":2}"#)
        .await
        .assert_error(409, "too_many_devices");
    claim(&alice, HANDLE_A)
        .await
        .assert_error(409, "too_many_devices");
    assert_eq!(links_kept(&relay), 1);
}

#[tokio::test]
async fn a_device_is_renamed_by_any_device_of_its_account_only() {
    let relay = Relay::start().await;
    let users = relay.register_all(&["alice", "bob"]).await;
    let (alice, bob) = (&users[0], &users[1]);
    let list = send(alice.request(Method::GET, "/v1/devices")).await.json();
    let id = list["devices"][0]["id"].as_str().unwrap().to_owned();
    let rename = |u: &User, id: &str, name: &str| {
        send(
            u.request(Method::PATCH, &format!("/v1/devices/{id}"))
                .json(&json!({ "name": name })),
        )
    };
    rename(alice, &id, "work laptop").await.assert_status(204);
    let list = send(alice.request(Method::GET, "/v1/devices")).await.json();
    assert_eq!(list["devices"][0]["name"], "work laptop");
    rename(alice, &id, "bad\u{1b}[2Jname")
        .await
        .assert_error(400, "bad_request");
    rename(alice, &id, &"x".repeat(33))
        .await
        .assert_error(400, "bad_request");
    // bob cannot rename alice's device: for him it does not exist.
    rename(bob, &id, "mine now")
        .await
        .assert_error(404, "unknown_device");
    rename(alice, "0123456789abcdef", "ghost")
        .await
        .assert_error(404, "unknown_device");
}
