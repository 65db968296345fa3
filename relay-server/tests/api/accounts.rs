//! `POST /v1/accounts` and `DELETE /v1/accounts/me`.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use relay_server::{Config, RegistrationPolicy};
use reqwest::Method;
use serde_json::json;

use crate::helper::*;

#[tokio::test]
async fn registering_creates_an_account_that_can_log_in() {
    let relay = Relay::start().await;
    relay
        .try_register(registration("alice"))
        .await
        .assert_status(201);
    let before = now_ms();
    let login = relay.login("alice", &password_of("alice")).await;
    login.assert_status(201);
    let body = login.json();
    let token = body["token"].as_str().unwrap();
    // 256 random bits, base64url without padding.
    assert_eq!(token.len(), 43, "{token}");
    assert!(
        token
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    );
    let expires_at = body["expires_at"].as_u64().unwrap();
    let day = 24 * 3600 * 1000;
    assert!(
        (before + day..=now_ms() + day).contains(&expires_at),
        "expires_at {expires_at} is 24 h from now"
    );
    // Every login is a new session.
    let again = relay.login("alice", &password_of("alice")).await;
    assert_ne!(again.json()["token"], body["token"]);
}

#[tokio::test]
async fn registering_refuses_invalid_usernames() {
    let relay = Relay::start().await;
    let long = "a".repeat(33);
    for name in [
        "al", "Alice", "ALICE", "_alice", ".alice", "-alice", "al ice", "alicé", "al/ce", "", &long,
    ] {
        let mut body = registration("alice");
        body["username"] = json!(name);
        body["card"]["user"] = json!(name);
        relay
            .try_register(body)
            .await
            .assert_error(400, "bad_request");
    }
    // The longest and shortest valid names are fine.
    relay
        .try_register(registration(&"a".repeat(32)))
        .await
        .assert_status(201);
    relay
        .try_register(registration("a.-"))
        .await
        .assert_status(201);
}

#[tokio::test]
async fn registering_refuses_short_and_overlong_passwords() {
    let relay = Relay::start().await;
    for password in ["", "1234567", &"x".repeat(1025)] {
        let mut body = registration("alice");
        body["password"] = json!(password);
        relay
            .try_register(body)
            .await
            .assert_error(400, "bad_request");
    }
    // Eight characters (not bytes) is the minimum.
    let mut body = registration("alice");
    body["password"] = json!("ééééééé");
    relay
        .try_register(body.clone())
        .await
        .assert_error(400, "bad_request");
    body["password"] = json!("éééééééé");
    relay.try_register(body).await.assert_status(201);
    relay.login("alice", "éééééééé").await.assert_status(201);
}

#[tokio::test]
async fn registering_refuses_a_card_naming_another_user() {
    let relay = Relay::start().await;
    let mut body = registration("alice");
    body["card"] = card("mallory").to_value();
    relay
        .try_register(body)
        .await
        .assert_error(400, "bad_request");
    // Nothing was created.
    relay
        .login("alice", &password_of("alice"))
        .await
        .assert_error(401, "invalid_credentials");
}

#[tokio::test]
async fn registering_refuses_malformed_cards() {
    let relay = Relay::start().await;
    let good = card("alice").to_value();
    let with = |field: &str, value: serde_json::Value| {
        let mut card = good.clone();
        card[field] = value;
        card
    };
    let without = |field: &str| {
        let mut card = good.clone();
        card.as_object_mut().unwrap().remove(field);
        card
    };
    let cards = [
        json!(null),
        json!("a card"),
        json!([good.clone()]),
        json!({}),
        without("v"),
        without("user"),
        without("enc"),
        without("sig"),
        with("v", json!(2)),
        with("v", json!("1")),
        with("extra", json!(true)),
        with("enc", json!("not base64!")),
        with("enc", json!(12)),
        // Base64, but far too short to be an RSA public key.
        with("sig", json!("AAAA")),
        // Base64 of far too much.
        with("enc", json!(B64.encode(vec![0u8; 4096]))),
    ];
    for bad in cards {
        let mut body = registration("alice");
        body["card"] = bad.clone();
        let reply = relay.try_register(body).await;
        assert_eq!(reply.code(), 400, "card {bad}: {}", reply.text());
        reply.assert_error(400, "bad_request");
    }
    relay
        .try_register(registration("alice"))
        .await
        .assert_status(201);
}

#[tokio::test]
async fn registering_a_taken_username_is_409() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    let mut body = registration("alice");
    body["password"] = json!("another password entirely");
    relay
        .try_register(body)
        .await
        .assert_error(409, "username_taken");
    // The first owner keeps the account and the password.
    relay
        .login("alice", "another password entirely")
        .await
        .assert_status(401);
    relay
        .login("alice", &password_of("alice"))
        .await
        .assert_status(201);
}

#[tokio::test]
async fn registering_on_a_closed_relay_is_403() {
    let relay = Relay::start_with(|c| c.registration = RegistrationPolicy::Closed).await;
    relay
        .try_register(registration("alice"))
        .await
        .assert_error(403, "registration_closed");
}

#[tokio::test]
async fn registering_on_an_invite_relay_takes_a_valid_code_once() {
    let dir = std::sync::Arc::new(tempfile::TempDir::new().unwrap());
    let codes = create_invites(dir.path(), 2).await;
    let relay = Relay::start_in(dir, |c| c.registration = RegistrationPolicy::Invite).await;

    // Without a code, or with a made-up one.
    relay
        .try_register(registration("alice"))
        .await
        .assert_error(403, "invalid_invite");
    let mut body = registration("alice");
    body["invite"] = json!(random_token());
    relay
        .try_register(body)
        .await
        .assert_error(403, "invalid_invite");

    // A valid code registers once.
    let mut body = registration("alice");
    body["invite"] = json!(codes[0]);
    relay.try_register(body.clone()).await.assert_status(201);
    let mut reuse = registration("bob");
    reuse["invite"] = json!(codes[0]);
    relay
        .try_register(reuse)
        .await
        .assert_error(403, "invalid_invite");

    // The second code is still good.
    let mut carol = registration("carol");
    carol["invite"] = json!(codes[1]);
    relay.try_register(carol).await.assert_status(201);
    relay.log_in("carol").await;
}

/// A registration refused for another reason (the name is taken) must not
/// use the invite code up.
#[tokio::test]
async fn a_registration_refused_as_taken_keeps_its_invite_code() {
    let dir = std::sync::Arc::new(tempfile::TempDir::new().unwrap());
    let codes = create_invites(dir.path(), 2).await;
    let relay = Relay::start_in(dir, |c| c.registration = RegistrationPolicy::Invite).await;
    let mut alice = registration("alice");
    alice["invite"] = json!(codes[0]);
    relay.try_register(alice).await.assert_status(201);

    let mut taken = registration("alice");
    taken["invite"] = json!(codes[1]);
    relay
        .try_register(taken)
        .await
        .assert_error(409, "username_taken");
    let mut carol = registration("carol");
    carol["invite"] = json!(codes[1]);
    relay.try_register(carol).await.assert_status(201);
}

#[tokio::test]
async fn registering_with_a_body_over_6_mib_is_413() {
    let relay = Relay::start().await;
    let mut body = registration("alice");
    body["password"] = json!("p".repeat(7 << 20));
    let body = body.to_string();
    let length = format!("Content-Length: {}", body.len());
    let head = raw_head(
        "POST",
        "/v1/accounts",
        None,
        &["Content-Type: application/json", &length],
    );
    raw_http(&relay, &head, body.as_bytes())
        .await
        .assert_error(413, "payload_too_large");
    relay
        .login("alice", &password_of("alice"))
        .await
        .assert_status(401);
    relay.health().await.assert_status(200);
}

#[tokio::test]
async fn deleting_an_account_purges_mailbox_sessions_and_directory_entry() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let bob = relay.register("bob").await;
    let second_session = relay.log_in("alice").await;
    for text in ["one", "two"] {
        bob.put(&bob.seal("alice", text)).await.assert_status(201);
    }
    assert_eq!(alice.pending_ids().await.len(), 2);

    alice
        .delete_account(&password_of("alice"))
        .await
        .assert_status(204);

    // Every session is gone, not only the one used.
    alice.fetch("").await.assert_error(401, "unauthorized");
    second_session
        .fetch("")
        .await
        .assert_error(401, "unauthorized");
    relay
        .login("alice", &password_of("alice"))
        .await
        .assert_error(401, "invalid_credentials");
    // The directory entry is gone, and mail for alice has nowhere to go.
    bob.card_of("alice").await.assert_error(404, "not_found");
    assert!(
        !bob.directory("").await.json()["users"]
            .as_array()
            .unwrap()
            .contains(&json!("alice"))
    );
    bob.put(&bob.seal("alice", "three"))
        .await
        .assert_error(404, "unknown_recipient");

    // Someone taking the name later finds an empty mailbox.
    let new_alice = relay.register("alice").await;
    assert_eq!(new_alice.fetch("").await.code(), 204);
    // Bob's own account is untouched.
    bob.fetch("").await.assert_status(204);
}

#[tokio::test]
async fn deleting_an_account_with_the_wrong_password_is_401_and_changes_nothing() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let bob = relay.register("bob").await;
    let mail = bob.seal("alice", "still here");
    bob.put(&mail).await.assert_status(201);

    alice
        .delete_account("not the password")
        .await
        .assert_error(401, "invalid_credentials");
    alice.fetch("").await.assert_messages(&[&mail]);
    bob.card_of("alice").await.assert_status(200);
}

#[tokio::test]
async fn deleting_an_account_needs_a_token_and_a_well_formed_body() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    send(
        relay
            .request(Method::DELETE, "/v1/accounts/me")
            .json(&json!({"password": password_of("alice")})),
    )
    .await
    .assert_error(401, "unauthorized");
    for body in [
        "",
        "{}",
        "[]",
        r#"{"password":1}"#,
        r#"{"password":"x","all":true}"#,
    ] {
        send(
            alice
                .request(Method::DELETE, "/v1/accounts/me")
                .header("content-type", "application/json")
                .body(body),
        )
        .await
        .assert_error(400, "bad_request");
    }
    alice.fetch("").await.assert_status(204);
}

#[tokio::test]
async fn deleting_an_account_is_throttled_like_login() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    for _ in 0..relay.config.login_failures {
        alice
            .delete_account("wrong password")
            .await
            .assert_error(401, "invalid_credentials");
    }
    let refused = alice.delete_account(&password_of("alice")).await;
    refused.assert_error(429, "rate_limited");
    assert!(refused.retry_after() >= 1);
    // Still there.
    alice.fetch("").await.assert_status(204);
}

/// The only test with the real Argon2id cost: the defaults meet docs/SECURITY.md §7
/// (memory ≥ 19 MiB, t ≥ 2), the stored hash uses them, and an unknown user
/// costs a login as much time as a wrong password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_argon2_defaults_hash_with_19_mib_and_two_passes() {
    let defaults = Config::new("/nonexistent");
    assert!(defaults.argon2_memory_kib >= 19 * 1024);
    assert!(defaults.argon2_iterations >= 2);
    assert_eq!(defaults.token_ttl, Duration::from_secs(24 * 3600));
    assert_eq!(defaults.login_failures, 10);
    assert_eq!(defaults.login_window, Duration::from_secs(15 * 60));
    assert_eq!(defaults.registration, RegistrationPolicy::Open);
    assert_eq!(defaults.quota.max_count, 10_000);
    assert_eq!(defaults.quota.max_bytes, 1 << 30);
    assert!(defaults.tls.is_none());

    let relay = Relay::start_with(|c| {
        c.argon2_memory_kib = defaults.argon2_memory_kib;
        c.argon2_iterations = defaults.argon2_iterations;
        // Only the hashing is compared: alice's failures would add their
        // per-user delay to her side.
        c.login_delay = Duration::ZERO;
        c.login_delay_max = Duration::ZERO;
    })
    .await;
    relay.register("alice").await;
    let hash = Db::of(&relay).one("SELECT password_hash FROM accounts WHERE username = 'alice'");
    assert!(
        hash.starts_with(&format!(
            "$argon2id$v=19$m={},t={},p=1$",
            defaults.argon2_memory_kib, defaults.argon2_iterations
        )),
        "{hash}"
    );
    assert!(!hash.contains(&password_of("alice")));

    // Unknown users run Argon2 too: their answer takes as long as a wrong
    // password's (a relay that skipped hashing would answer ~50x faster).
    let mut wrong = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..3 {
        let t = Instant::now();
        relay
            .login("alice", "wrong password")
            .await
            .assert_status(401);
        wrong.push(t.elapsed());
        let t = Instant::now();
        relay
            .login(&format!("nobody{i}"), "wrong password")
            .await
            .assert_status(401);
        unknown.push(t.elapsed());
    }
    wrong.sort();
    unknown.sort();
    assert!(
        unknown[1] * 2 >= wrong[1],
        "unknown user {:?} vs wrong password {:?}",
        unknown[1],
        wrong[1]
    );
}

/// Password hashing has a bounded queue: a burst of registrations past it is
/// refused at once with 429 and `Retry-After` instead of queueing without
/// limit, and what was admitted is registered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_past_the_hashing_queue_are_429_with_retry_after() {
    let relay = Relay::start_with(|c| {
        c.hash_queue = 1;
        c.argon2_memory_kib = 8 * 1024;
        c.argon2_iterations = 4;
    })
    .await;
    let names: Vec<String> = (0..24).map(|i| format!("user{i:02}")).collect();
    let replies = join_all(names.iter().map(|n| relay.try_register(registration(n)))).await;
    let mut created = 0;
    let mut refused = 0;
    for (name, reply) in names.iter().zip(&replies) {
        match reply.code() {
            201 => {
                created += 1;
                relay.log_in(name).await;
            }
            _ => {
                reply.assert_error(429, "rate_limited");
                assert_eq!(reply.retry_after(), 1);
                refused += 1;
            }
        }
    }
    assert!(created >= 1, "the queue admits some");
    assert!(refused >= 1, "and refuses the rest");
}

/// Account deletion checks the password through the login throttle: fifty
/// wrong passwords at once run at most ten checks, and the account stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_wrong_deletions_run_at_most_ten_verifications() {
    let relay = InProcess::open(|_| {}).await;
    relay.register("alice").await;
    let login = relay.login(peer(3), "alice", &password_of("alice")).await;
    let token = login.json()["token"].as_str().unwrap().to_owned();
    let before = relay.state.passwords.verifications();
    let replies = join_all((0..50).map(|_| {
        relay.call(
            peer(3),
            Method::DELETE,
            "/v1/accounts/me",
            Some(&token),
            &[],
            json!({"password": "a wrong guess"}),
        )
    }))
    .await;
    let checked = relay.state.passwords.verifications() - before;
    assert!(checked <= 10, "{checked} passwords were checked");
    for reply in &replies {
        if reply.code() != 401 {
            reply.assert_error(429, "rate_limited");
        }
    }
    relay
        .login(peer(4), "alice", &password_of("alice"))
        .await
        .assert_status(201);
}
