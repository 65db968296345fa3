//! Session renewal: a throttled relay means "later", never "logged out".

use std::time::Duration;

use ipc_schema::methods::{ConnectionState, Event};

use crate::helper::{Chatd, eventually};
use crate::mock_relay::MockRelay;

/// docs/SECURITY.md §2.3: strangers' wrong guesses can make the relay
/// throttle logins for an account; chatd's automatic renewal then waits and
/// tries again, and the account stays logged in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_session_renewal_waits_and_never_logs_out() {
    let relay = MockRelay::start().await;
    let bob = Chatd::start("bob", "").await;
    bob.register(&relay.url).await;
    let mut events = bob.events(None).await;

    // The token expires; the next two logins are throttled.
    relay
        .script
        .logins
        .lock()
        .unwrap()
        .extend([(429, Some(1)), (429, Some(1))]);
    relay.script.revoked.lock().unwrap().insert("tok-0".into());

    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let e = tokio::time::timeout_at(deadline, events.next())
            .await
            .expect("online again within 30 s")
            .unwrap()
            .unwrap();
        if let Event::ConnectionChanged(c) = e.event {
            seen.push(c.connection);
            if c.connection == ConnectionState::Online && seen.contains(&ConnectionState::Offline) {
                break;
            }
        }
    }
    assert!(!seen.contains(&ConnectionState::LoggedOut), "{seen:?}");
    assert!(
        relay
            .script
            .login_calls
            .load(std::sync::atomic::Ordering::SeqCst)
            >= 4
    );
    assert_eq!(bob.status().await.connection, ConnectionState::Online);
}

/// docs/SECURITY.md §2.1: the relay URL is checked (https:// off loopback),
/// and a redirect cannot take the password elsewhere: chatd follows none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirected_login_never_sends_the_password_elsewhere() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let relay = MockRelay::start().await;
    let bob = Chatd::start("bob", "").await;
    bob.register(&relay.url).await;
    // Where a redirect would take the password: counts what arrives.
    let thief = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let thief_url = format!("http://{}/steal", thief.local_addr().unwrap());
    let stolen = std::sync::Arc::new(AtomicU64::new(0));
    let count = stolen.clone();
    tokio::spawn(async move {
        while let Ok((_conn, _)) = thief.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
        }
    });
    *relay.script.redirect_logins.lock().unwrap() = Some(thief_url);
    relay.script.revoked.lock().unwrap().insert("tok-0".into());
    eventually(Duration::from_secs(10), "a renewal attempt", || async {
        (relay.script.login_calls.load(Ordering::SeqCst) >= 2).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        stolen.load(Ordering::SeqCst),
        0,
        "nothing reached the redirect"
    );
    assert_ne!(bob.status().await.connection, ConnectionState::Online);
}
