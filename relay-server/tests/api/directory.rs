//! `GET /v1/directory/{user}` and `GET /v1/directory?prefix=&limit=&after=`.

use chatd::crypto::Card;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helper::*;

#[tokio::test]
async fn a_card_is_served_exactly_as_registered() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    relay.register("bob").await;

    let reply = alice.card_of("bob").await;
    reply.assert_status(200);
    assert_eq!(
        reply.headers.get("content-type").unwrap(),
        "application/json"
    );
    // The body is the card itself, not wrapped.
    assert_eq!(reply.json(), card("bob").to_value());
    let served = Card::from_json(&reply.body).expect("a valid card");
    assert_eq!(served, card("bob"));
    assert_eq!(served.fingerprint(), card("bob").fingerprint());
    // Own card too.
    assert_eq!(
        alice.card_of("alice").await.json(),
        card("alice").to_value()
    );
}

#[tokio::test]
async fn an_unknown_user_has_no_card() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    alice.card_of("nobody").await.assert_error(404, "not_found");
    alice
        .card_of("NOT-VALID")
        .await
        .assert_error(404, "not_found");
    alice.card_of("x").await.assert_error(404, "not_found");
}

#[tokio::test]
async fn the_directory_needs_a_token() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    for path in [
        "/v1/directory/alice",
        "/v1/directory",
        "/v1/directory?prefix=a",
    ] {
        send(relay.request(Method::GET, path))
            .await
            .assert_error(401, "unauthorized");
        send(relay.request_as(&random_token(), Method::GET, path))
            .await
            .assert_error(401, "unauthorized");
    }
}

fn page(reply: &Reply) -> (Vec<String>, Option<String>) {
    reply.assert_status(200);
    let body = reply.json();
    let users = body["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u.as_str().unwrap().to_owned())
        .collect();
    let next = match &body["next"] {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => panic!("next is {other}"),
    };
    (users, next)
}

#[tokio::test]
async fn the_listing_pages_through_usernames_in_order() {
    let relay = Relay::start().await;
    let names = ["carol", "alice", "cathy", "bob", "carl", "dave", "cab"];
    let users = relay.register_all(&names).await;
    let alice = &users[1];

    let (all, next) = page(&alice.directory("").await);
    let mut sorted: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    sorted.sort();
    assert_eq!(all, sorted);
    assert_eq!(next, None);

    let (users, next) = page(&alice.directory("prefix=ca").await);
    assert_eq!(users, ["cab", "carl", "carol", "cathy"]);
    assert_eq!(next, None);

    // Two at a time, following `next`.
    let mut seen = Vec::new();
    let mut query = "prefix=ca&limit=2".to_owned();
    let mut pages = 0;
    loop {
        let (users, next) = page(&alice.directory(&query).await);
        assert!(users.len() <= 2);
        seen.extend(users);
        pages += 1;
        match next {
            Some(after) => query = format!("prefix=ca&limit=2&after={after}"),
            None => break,
        }
    }
    assert_eq!(seen, ["cab", "carl", "carol", "cathy"]);
    assert!(pages >= 2);

    let (users, next) = page(&alice.directory("limit=3").await);
    assert_eq!(users, ["alice", "bob", "cab"]);
    assert_eq!(next.as_deref(), Some("cab"));
    let (users, _) = page(&alice.directory("limit=3&after=cab").await);
    assert_eq!(users, ["carl", "carol", "cathy"]);

    let (users, next) = page(&alice.directory("prefix=zed").await);
    assert!(users.is_empty());
    assert_eq!(next, None);
    let (users, _) = page(&alice.directory("prefix=carol").await);
    assert_eq!(users, ["carol"]);
    let (users, _) = page(&alice.directory("limit=200").await);
    assert_eq!(users.len(), names.len());
}

#[tokio::test]
async fn the_listing_refuses_a_bad_prefix_or_limit() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let long = format!("prefix={}", "a".repeat(33));
    for query in [
        "prefix=A",
        "prefix=%25",
        "prefix=a%20b",
        "prefix=a*",
        "prefix=%FF",
        &long,
        "limit=0",
        "limit=201",
        "limit=-1",
        "limit=ten",
        "limit=99999999999999999999999",
        "color=red",
    ] {
        let reply = alice.directory(query).await;
        assert_eq!(reply.code(), 400, "{query}: {}", reply.text());
        reply.assert_error(400, "bad_request");
    }
}

/// `_` is a username character, so `prefix=a_` must list only names starting
/// with `a_`.
#[tokio::test]

async fn an_underscore_in_the_prefix_is_not_a_wildcard() {
    let relay = Relay::start().await;
    let users = relay.register_all(&["a_b", "axb", "a_c"]).await;
    let (listed, _) = page(&users[0].directory("prefix=a_").await);
    assert_eq!(listed, ["a_b", "a_c"]);
    let (listed, _) = page(&users[0].directory("prefix=a_b").await);
    assert_eq!(listed, ["a_b"], "{}", json!(listed));
}

#[tokio::test]
async fn an_account_replaces_its_card_with_its_password_and_registering_again_stays_409() {
    let relay = Relay::start().await;
    let users = relay.register_all(&["alice", "bob"]).await;
    let (alice, bob) = (&users[0], &users[1]);
    // alice's new keys (here bob's, under her name: the relay checks only
    // the card's shape and user).
    let mut new_card = card("bob").to_value();
    new_card["user"] = json!("alice");
    let replace = |u: &User, password: String, card: Value| {
        send(
            u.request(Method::PUT, "/v1/directory/me")
                .json(&json!({ "password": password, "card": card })),
        )
    };
    // A wrong password, another user's card, or no card: refused, unchanged.
    replace(alice, "not alice's password".into(), new_card.clone())
        .await
        .assert_error(401, "invalid_credentials");
    replace(alice, password_of("alice"), card("bob").to_value())
        .await
        .assert_error(400, "bad_request");
    replace(alice, password_of("alice"), json!({"v": 1}))
        .await
        .assert_error(400, "bad_request");
    assert_eq!(bob.card_of("alice").await.json(), card("alice").to_value());

    replace(alice, password_of("alice"), new_card.clone())
        .await
        .assert_status(204);
    assert_eq!(bob.card_of("alice").await.json(), new_card);
    // Registering the name again with the new card is still taken.
    send(relay.request(Method::POST, "/v1/accounts").json(&json!({
        "username": "alice", "password": "another password 123", "card": new_card,
    })))
    .await
    .assert_error(409, "username_taken");
    // Without a token: 401.
    send(
        relay
            .request(Method::PUT, "/v1/directory/me")
            .json(&json!({ "password": password_of("alice"), "card": new_card })),
    )
    .await
    .assert_status(401);
}
