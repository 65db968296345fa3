//! `POST /v1/sessions`, `DELETE /v1/sessions/current`, bearer tokens and the
//! login throttle.

use std::time::{Duration, Instant};

use reqwest::Method;

use crate::helper::*;

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_401() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    let wrong = relay.login("alice", "not the password").await;
    let unknown = relay.login("nobody", "not the password").await;
    let invalid_name = relay.login("NOT A NAME", "not the password").await;
    wrong.assert_error(401, "invalid_credentials");
    for other in [&unknown, &invalid_name] {
        assert_eq!(other.status, wrong.status);
        assert_eq!(other.body, wrong.body, "bodies differ");
        assert_eq!(
            other.headers.get("content-type"),
            wrong.headers.get("content-type")
        );
    }
}

#[tokio::test]
async fn login_with_a_malformed_body_is_400() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    for body in [
        "",
        "{",
        "null",
        "{}",
        r#"{"username":"alice"}"#,
        r#"{"username":"alice","password":12345678}"#,
        r#"{"username":["alice"],"password":"x"}"#,
        r#"{"username":"alice","password":"x","admin":true}"#,
    ] {
        send(
            relay
                .request(Method::POST, "/v1/sessions")
                .header("content-type", "application/json")
                .body(body),
        )
        .await
        .assert_error(400, "bad_request");
    }
}

#[tokio::test]
async fn logout_revokes_exactly_the_token_used() {
    let relay = Relay::start().await;
    let laptop = relay.register("alice").await;
    let phone = relay.log_in("alice").await;
    laptop.logout().await.assert_status(204);
    laptop.fetch("").await.assert_error(401, "unauthorized");
    laptop.logout().await.assert_error(401, "unauthorized");
    // The other session is unaffected.
    phone.fetch("").await.assert_status(204);
}

#[tokio::test]
async fn forged_and_malformed_tokens_are_401() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let forged = relay.user_with_token("alice", &random_token());
    forged.fetch("").await.assert_error(401, "unauthorized");
    forged
        .card_of("alice")
        .await
        .assert_error(401, "unauthorized");
    forged
        .put(&alice.seal("alice", "note to self"))
        .await
        .assert_error(401, "unauthorized");

    // A valid token altered by one character.
    let mut bytes = alice.token.clone().into_bytes();
    bytes[0] = if bytes[0] == b'A' { b'B' } else { b'A' };
    relay
        .user_with_token("alice", &String::from_utf8(bytes).unwrap())
        .fetch("")
        .await
        .assert_error(401, "unauthorized");

    let path = "/v1/messages";
    for header in [
        String::new(),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        format!("Basic {}", alice.token),
        format!("bearer {}", alice.token),
        format!("Bearer {}", "A".repeat(200)),
        format!("Bearer {}x", alice.token),
    ] {
        send(
            relay
                .request(Method::GET, path)
                .header("authorization", header),
        )
        .await
        .assert_error(401, "unauthorized");
    }
    send(relay.request(Method::GET, path))
        .await
        .assert_error(401, "unauthorized");
    // The real one works.
    alice.fetch("").await.assert_status(204);
}

#[tokio::test]
async fn expired_tokens_are_401() {
    let relay = Relay::start_with(|c| c.token_ttl = Duration::from_secs(1)).await;
    relay
        .try_register(registration("alice"))
        .await
        .assert_status(201);
    let login = relay.login("alice", &password_of("alice")).await;
    let expires_at = login.json()["expires_at"].as_u64().unwrap();
    let alice = relay.user_with_token("alice", login.json()["token"].as_str().unwrap());
    alice.fetch("").await.assert_status(204);
    let left = expires_at.saturating_sub(now_ms());
    assert!(left <= 1000, "expires in the configured 1 s");
    tokio::time::sleep(Duration::from_millis(left + 50)).await;
    alice.fetch("").await.assert_error(401, "unauthorized");
    alice
        .card_of("alice")
        .await
        .assert_error(401, "unauthorized");
    // Logging in again gives a working token.
    relay
        .log_in("alice")
        .await
        .fetch("")
        .await
        .assert_status(204);
}

#[tokio::test]
async fn tokens_revoked_by_logout_or_account_deletion_are_401() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    alice.logout().await.assert_status(204);
    alice.fetch("").await.assert_error(401, "unauthorized");

    let bob = relay.register("bob").await;
    let bob_elsewhere = relay.log_in("bob").await;
    bob.delete_account(&password_of("bob"))
        .await
        .assert_status(204);
    for token in [&bob, &bob_elsewhere] {
        token.fetch("").await.assert_error(401, "unauthorized");
        token.logout().await.assert_error(401, "unauthorized");
    }
}

/// Ten wrong passwords from one address lock that address out for that
/// user: 429 with `Retry-After`, and even the right password from there is
/// refused until that time has passed.
#[tokio::test]
async fn ten_wrong_passwords_from_one_address_lock_it_out_until_retry_after() {
    let window = Duration::from_secs(3);
    let relay = Relay::start_with(|c| c.login_window = window).await;
    relay.register("alice").await;
    assert_eq!(relay.config.login_failures, 10);
    for _ in 0..10 {
        relay
            .login("alice", "guess")
            .await
            .assert_error(401, "invalid_credentials");
    }
    let locked = relay.login("alice", "guess").await;
    let locked_at = Instant::now();
    locked.assert_error(429, "rate_limited");
    let retry_after = locked.retry_after();
    assert!(
        (1..=window.as_secs() + 1).contains(&retry_after),
        "Retry-After {retry_after}"
    );

    let right = relay.login("alice", &password_of("alice")).await;
    right.assert_error(429, "rate_limited");
    assert!(right.retry_after() >= 1);
    // Half-way through, still refused.
    tokio::time::sleep(window / 2).await;
    relay
        .login("alice", &password_of("alice"))
        .await
        .assert_error(429, "rate_limited");

    let until = locked_at + Duration::from_secs(retry_after);
    tokio::time::sleep_until(until.into()).await;
    relay
        .login("alice", &password_of("alice"))
        .await
        .assert_status(201);
}

/// The throttle counts an attempt before it checks the password: fifty
/// wrong guesses sent at once from one address run at most ten Argon2
/// checks, and the rest are refused with 429 without one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_wrong_logins_run_at_most_ten_verifications() {
    let relay = InProcess::open(|_| {}).await;
    relay.register("alice").await;
    let before = relay.state.passwords.verifications();
    let from = peer(7);
    let replies = join_all((0..50).map(|_| relay.login(from, "alice", "a wrong guess"))).await;
    let checked = relay.state.passwords.verifications() - before;
    assert!(checked <= 10, "{checked} passwords were checked");
    let wrong = replies.iter().filter(|r| r.code() == 401).count();
    assert_eq!(wrong as u64, checked, "each check answered 401");
    for reply in replies.iter().filter(|r| r.code() != 401) {
        reply.assert_error(429, "rate_limited");
        assert!(reply.retry_after() >= 1);
    }
}

/// Strangers failing for alice from many addresses cannot lock her out:
/// each address has its own budget, and the user only gets a delay, capped
/// low. Her right password, sent while a thousand wrong ones from a thousand
/// addresses are being checked, is let in after at most that delay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_addresses_failing_for_a_user_only_delay_the_owner() {
    let delay_max = Duration::from_millis(400);
    let relay = InProcess::open(|c| {
        c.login_delay = Duration::from_millis(50);
        c.login_delay_max = delay_max;
        // Room for every check at once: the queue is not what this tests.
        c.hash_queue = 2000;
    })
    .await;
    relay.register("alice").await;
    let strangers = (0..1000).map(|i| relay.login(peer(100 + i), "alice", "a guess"));
    let owner = async {
        let started = Instant::now();
        let reply = relay.login(peer(1), "alice", &password_of("alice")).await;
        (reply, started.elapsed())
    };
    let (replies, (owner, took)) = tokio::join!(join_all(strangers), owner);
    owner.assert_status(201);
    assert!(
        took >= Duration::from_millis(50),
        "the owner's check waited like any other ({took:?})"
    );
    for reply in &replies {
        reply.assert_error(401, "invalid_credentials");
    }

    // Now every stranger has failed once: the owner waits the capped delay,
    // no more, and gets in.
    let started = Instant::now();
    relay
        .login(peer(1), "alice", &password_of("alice"))
        .await
        .assert_status(201);
    let took = started.elapsed();
    assert!(took >= delay_max, "{took:?}");
}

/// A name that cannot be a username is answered like a wrong password before
/// anything else: no password check, no throttle key, no budget spent.
#[tokio::test]
async fn invalid_usernames_cost_no_password_check_and_no_throttle_budget() {
    let relay = InProcess::open(|_| {}).await;
    relay.register("alice").await;
    let before = relay.state.passwords.verifications();
    let long = "u".repeat(8 << 10);
    for name in [long.as_str(), "ALICE", "al", "alice\u{0}", "", "a/b/c"]
        .iter()
        .cycle()
        .take(60)
    {
        relay
            .login(peer(9), name, "a guess")
            .await
            .assert_error(401, "invalid_credentials");
    }
    assert_eq!(relay.state.passwords.verifications(), before);
    // The address has its whole budget left.
    relay
        .login(peer(9), "alice", &password_of("alice"))
        .await
        .assert_status(201);
}

/// Two relay instances on one PostgreSQL count one throttle (docs/RELAY.md
/// §8): ten wrong passwords, half through each, lock the address out on
/// both, for the user and under another name; each instance alone has seen
/// only five.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_through_two_instances_on_one_database_add_up() {
    let database = shared_database();
    let tune = |c: &mut relay_server::config::Config| {
        c.database = Some(database.clone());
        c.login_window = Duration::from_secs(60);
    };
    let one = Relay::start_with(tune).await;
    let two = Relay::start_with(tune).await;
    one.register("alice").await;
    for i in 0..10 {
        let relay = if i % 2 == 0 { &one } else { &two };
        relay
            .login("alice", "guess")
            .await
            .assert_error(401, "invalid_credentials");
    }
    for relay in [&one, &two] {
        let locked = relay.login("alice", &password_of("alice")).await;
        locked.assert_error(429, "rate_limited");
        let wait = locked.retry_after();
        assert!((1..=60).contains(&wait), "Retry-After {wait}");
        relay
            .login("bob", "guess")
            .await
            .assert_error(429, "rate_limited");
    }
}

#[tokio::test]
async fn failures_under_many_names_lock_out_the_address() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    for i in 0..10 {
        relay
            .login(&format!("user{i}"), "guess")
            .await
            .assert_error(401, "invalid_credentials");
    }
    let locked = relay.login("alice", &password_of("alice")).await;
    locked.assert_error(429, "rate_limited");
    assert!(locked.retry_after() >= 1);
}

#[tokio::test]
async fn a_successful_login_is_not_throttled_by_earlier_successes() {
    let relay = Relay::start().await;
    relay.register("alice").await;
    for _ in 0..15 {
        relay
            .login("alice", &password_of("alice"))
            .await
            .assert_status(201);
    }
}

/// Each session token has its own request budget (docs/RELAY.md, "Limits"): past the burst
/// it gets 429 with `Retry-After`, another user's token is unaffected, and the
/// budget refills.
#[tokio::test]
async fn each_token_is_rate_limited_on_its_own() {
    let relay = Relay::start_with(|c| {
        c.token_rate = 5.0;
        c.token_burst = 5.0;
    })
    .await;
    let alice = relay.register("alice").await;
    let bob = relay.register("bob").await;
    for _ in 0..5 {
        alice.fetch("").await.assert_status(204);
    }
    let limited = alice.fetch("").await;
    limited.assert_error(429, "rate_limited");
    assert!(limited.retry_after() >= 1);
    bob.fetch("").await.assert_status(204);
    tokio::time::sleep(std::time::Duration::from_millis(450)).await;
    alice.fetch("").await.assert_status(204);
}

/// Behind a trusted proxy each client is throttled on its own address, the
/// one the proxy appends to `X-Forwarded-For`: one client's failures do not
/// lock out another client of the same proxy. Anyone else's
/// `X-Forwarded-For` is ignored, so a client cannot buy fresh budgets by
/// naming made-up addresses.
#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget() {
    let proxy = peer(1);
    let relay = InProcess::open(|c| {
        c.trusted_proxies = vec![format!("{}/32", proxy.ip()).parse().unwrap()];
    })
    .await;
    relay.register("alice").await;
    let relay = &relay;
    let via_proxy = |client: &'static str, password: String| {
        let forwarded = format!("203.0.113.50, {client}");
        async move {
            relay
                .call(
                    proxy,
                    Method::POST,
                    "/v1/sessions",
                    None,
                    &[("x-forwarded-for", &forwarded)],
                    serde_json::json!({"username": "alice", "password": password}),
                )
                .await
        }
    };
    for _ in 0..10 {
        via_proxy("198.51.100.1", "a guess".into())
            .await
            .assert_error(401, "invalid_credentials");
    }
    via_proxy("198.51.100.1", "a guess".into())
        .await
        .assert_error(429, "rate_limited");
    // The owner, through the same proxy from elsewhere, gets in.
    via_proxy("198.51.100.2", password_of("alice"))
        .await
        .assert_status(201);

    // Not a proxy: its header is ignored, every guess counts against it.
    let stranger = peer(2);
    for i in 0..11 {
        let forwarded = format!("198.51.100.{}", 100 + i);
        let reply = relay
            .call(
                stranger,
                Method::POST,
                "/v1/sessions",
                None,
                &[("x-forwarded-for", &forwarded)],
                serde_json::json!({"username": "alice", "password": "a guess"}),
            )
            .await;
        let expected = if i < 10 { 401 } else { 429 };
        assert_eq!(reply.code(), expected, "guess {i}: {}", reply.text());
    }
}
