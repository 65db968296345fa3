//! Device links: one pending per account, taken once by its handle, not
//! after it expires, and never past the device cap.

use std::time::Duration;

use crate::helper::*;

conformance!(
    a_link_is_taken_once_by_its_handle,
    a_new_link_replaces_the_pending_one,
    an_expired_link_is_not_taken_and_the_sweep_deletes_it,
    the_device_cap_refuses_a_link_and_keeps_one_it_cannot_take,
);

async fn a_link_is_taken_once_by_its_handle(b: Backend) {
    let s = b.open().await;
    register(&*s, "alice").await;
    register(&*s, "bob").await;
    let handle = random_hash();
    let link = b"{\"sealed\":\"link\"}".to_vec();
    s.put_link("alice", &handle, link.clone(), tomorrow())
        .await
        .unwrap();

    assert!(
        s.take_link("alice", &random_hash())
            .await
            .unwrap()
            .is_none(),
        "a wrong handle"
    );
    assert!(
        s.take_link("bob", &handle).await.unwrap().is_none(),
        "another account's"
    );
    assert!(s.take_link("nobody", &handle).await.unwrap().is_none());
    // The wrong guesses changed nothing.
    assert_eq!(s.take_link("alice", &handle).await.unwrap(), Some(link));
    assert!(
        s.take_link("alice", &handle).await.unwrap().is_none(),
        "taken once"
    );
    assert_eq!(b.rows("links", "1 = 1").await, 0);
}

async fn a_new_link_replaces_the_pending_one(b: Backend) {
    let s = b.open().await;
    register(&*s, "alice").await;
    let (old, new) = (random_hash(), random_hash());
    s.put_link("alice", &old, b"{\"n\":1}".to_vec(), tomorrow())
        .await
        .unwrap();
    s.put_link("alice", &new, b"{\"n\":2}".to_vec(), tomorrow())
        .await
        .unwrap();

    assert!(s.take_link("alice", &old).await.unwrap().is_none());
    assert_eq!(
        s.take_link("alice", &new).await.unwrap(),
        Some(b"{\"n\":2}".to_vec())
    );
}

async fn an_expired_link_is_not_taken_and_the_sweep_deletes_it(b: Backend) {
    let s = b.open().await;
    register(&*s, "alice").await;
    register(&*s, "bob").await;
    let handle = random_hash();
    s.put_link("alice", &handle, b"{}".to_vec(), now_ms() + 30)
        .await
        .unwrap();
    s.put_link("bob", &random_hash(), b"{}".to_vec(), tomorrow())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;

    assert!(
        s.take_link("alice", &handle).await.unwrap().is_none(),
        "expired"
    );
    // The hourly sweep (with the devices) deletes it, and only it.
    assert_eq!(b.rows("links", "username = 'alice'").await, 1);
    s.expire_devices(0).await.unwrap();
    assert_eq!(b.rows("links", "username = 'alice'").await, 0);
    assert_eq!(b.rows("links", "username = 'bob'").await, 1);
}

async fn the_device_cap_refuses_a_link_and_keeps_one_it_cannot_take(b: Backend) {
    let s = b.open().await;
    register(&*s, "alice").await;
    for i in 2..MAX_DEVICES {
        add_device(&*s, "alice", &format!("d{i}")).await;
    }
    let handle = random_hash();
    s.put_link(
        "alice",
        &handle,
        b"{\"for\":\"tenth\"}".to_vec(),
        tomorrow(),
    )
    .await
    .unwrap();
    let tenth = add_device(&*s, "alice", "tenth").await;

    assert_err!(
        s.put_link("alice", &random_hash(), b"{}".to_vec(), tomorrow())
            .await,
        StoreError::TooManyDevices
    );
    assert_err!(
        s.take_link("alice", &handle).await,
        StoreError::TooManyDevices
    );
    assert_err!(
        s.take_link("alice", &handle).await,
        StoreError::TooManyDevices
    );
    s.revoke_device("alice", &tenth, "h2").await.unwrap();
    assert_eq!(
        s.take_link("alice", &handle).await.unwrap(),
        Some(b"{\"for\":\"tenth\"}".to_vec()),
        "kept through the refusals (and the refused put did not replace it)"
    );
}
