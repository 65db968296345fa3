//! Session renewal: a throttled relay means "later", never "logged out".

use std::time::Duration;

use ipc_schema::methods::{ConnectionState, Event};

use crate::helper::Chatd;
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
