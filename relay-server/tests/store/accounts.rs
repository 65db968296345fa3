//! Accounts: creating one (taken names, invites), looking it up, deleting it
//! with everything it holds, its password and card, the directory listing,
//! and the health check.

use crate::helper::*;

conformance!(
    an_account_is_created_with_its_first_device,
    a_taken_username_is_refused_and_leaves_the_invite_unused,
    an_invite_admits_one_account,
    deleting_an_unknown_account_is_refused,
    deleting_an_account_takes_everything_it_holds,
    password_and_card_change_for_known_accounts_only,
    list_users_is_a_byte_ordered_prefix_range,
);

async fn an_account_is_created_with_its_first_device(b: Backend) {
    let s = b.open().await;
    s.ping().await.expect("ping");
    let before = now_ms();
    s.create_account("alice", "hash:alice", "card:alice", None, "laptop")
        .await
        .unwrap();

    let account = s.account("alice").await.unwrap().expect("alice exists");
    assert_eq!(
        (&*account.username, &*account.password_hash, &*account.card),
        ("alice", "hash:alice", "card:alice")
    );
    assert!(s.account("bob").await.unwrap().is_none());
    let devices = s.devices("alice", 0).await.unwrap();
    assert_eq!(devices.len(), 1, "{devices:?}");
    let device = &devices[0];
    assert_eq!(device.name, "laptop");
    assert_eq!(device.id.len(), 16, "{device:?}");
    assert!(
        device
            .id
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert!(device.created_at >= before && device.created_at <= now_ms());
    assert!(device.gone_at.is_none() && device.gone.is_none());
    s.ping().await.expect("ping");
}

async fn a_taken_username_is_refused_and_leaves_the_invite_unused(b: Backend) {
    let s = b.open().await;
    s.create_invites(vec!["the-code".into()]).await.unwrap();
    register(&*s, "alice").await;

    assert_err!(
        s.create_account("alice", "other", "other", Some("the-code"), "x")
            .await,
        StoreError::UsernameTaken
    );
    let alice = s.account("alice").await.unwrap().unwrap();
    assert_eq!(
        (&*alice.password_hash, &*alice.card),
        ("hash:alice", "card:alice")
    );
    assert_eq!(s.devices("alice", 0).await.unwrap().len(), 1);
    // The refusal did not use the invite up.
    s.create_account("bob", "h", "c", Some("the-code"), "default")
        .await
        .unwrap();
}

async fn an_invite_admits_one_account(b: Backend) {
    let s = b.open().await;
    s.create_invites(vec!["one".into(), "two".into()])
        .await
        .unwrap();

    s.create_account("carol", "h", "c", Some("one"), "default")
        .await
        .unwrap();
    assert_err!(
        s.create_account("dave", "h", "c", Some("one"), "default")
            .await,
        StoreError::InvalidInvite
    );
    assert_err!(
        s.create_account("dave", "h", "c", Some("never-issued"), "default")
            .await,
        StoreError::InvalidInvite
    );
    assert!(
        s.account("dave").await.unwrap().is_none(),
        "no account for a refused invite"
    );
    assert!(s.devices("dave", 0).await.unwrap().is_empty());
    s.create_account("dave", "h", "c", Some("two"), "default")
        .await
        .unwrap();
    assert_err!(
        s.create_account("erin", "h", "c", Some("two"), "default")
            .await,
        StoreError::InvalidInvite
    );
    // Without an invite the store asks for none (open registration).
    s.create_account("erin", "h", "c", None, "default")
        .await
        .unwrap();
}

async fn deleting_an_unknown_account_is_refused(b: Backend) {
    let s = b.open().await;
    assert_err!(s.delete_account("nobody").await, StoreError::UnknownUser);
    register(&*s, "alice").await;
    s.delete_account("alice").await.unwrap();
    assert_err!(s.delete_account("alice").await, StoreError::UnknownUser);
}

async fn deleting_an_account_takes_everything_it_holds(b: Backend) {
    let s = b.open().await;
    let alice_device = register(&*s, "alice").await;
    register(&*s, "bob").await;
    let laptop = add_device(&*s, "bob", "laptop").await;
    let token = random_hash();
    s.create_session(
        &token,
        "bob",
        DeviceChoice::Existing(laptop.clone()),
        tomorrow(),
        32,
    )
    .await
    .unwrap();
    // Looked up once, so a store that caches sessions has it cached.
    assert!(s.session(&token).await.unwrap().is_some());
    let to_bob = mail("alice", "bob");
    deliver(&*s, &to_bob).await;
    deliver(&*s, &mail("alice", "bob")).await;
    // A group envelope only bob holds, and one bob shares with alice.
    let only_bobs = shared("alice", "x", &["bob"], &random_id(), 0);
    let both = shared("carol", "x", &["alice", "bob"], &random_id(), 0);
    s.put_shared_envelope(only_bobs, ROOMY).await.unwrap();
    s.put_shared_envelope(both.clone(), ROOMY).await.unwrap();
    let from_bob = mail("bob", "alice");
    deliver(&*s, &from_bob).await;
    s.put_backup("bob", b"{\"backup\":1}".to_vec())
        .await
        .unwrap();
    let handle = random_hash();
    s.put_link("bob", &handle, b"{\"link\":1}".to_vec(), tomorrow())
        .await
        .unwrap();
    let bobs_blob = random_id();
    let blob = |id: &str, owner: &str, readers: &[&str]| NewBlob {
        id: id.into(),
        owner: owner.into(),
        size: 100,
        readers: readers.iter().map(|r| r.to_string()).collect(),
        expires_at: tomorrow(),
    };
    s.create_blob(blob(&bobs_blob, "bob", &["alice"]), 1 << 30)
        .await
        .unwrap();
    let alices_blob = random_id();
    s.create_blob(blob(&alices_blob, "alice", &["alice", "bob"]), 1 << 30)
        .await
        .unwrap();

    s.delete_account("bob").await.unwrap();

    assert!(s.account("bob").await.unwrap().is_none());
    assert!(
        s.session(&token).await.unwrap().is_none(),
        "bob's session is gone"
    );
    assert!(
        s.devices("bob", 0).await.unwrap().is_empty(),
        "bob's devices are gone"
    );
    assert!(
        s.fetch("bob", &laptop, everything())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        b.rows("mailbox", "recipient = 'bob'").await,
        0,
        "bob's mailbox"
    );
    assert_eq!(
        b.rows("copies", "username = 'bob'").await,
        0,
        "bob's copies"
    );
    assert!(s.backup("bob").await.unwrap().is_none(), "bob's backup");
    assert!(s.blobs_of("bob").await.unwrap().is_empty(), "bob's blobs");
    assert!(s.blob(&bobs_blob).await.unwrap().is_none());
    assert_eq!(
        s.blob(&alices_blob)
            .await
            .unwrap()
            .expect("alice's blob stays")
            .readers,
        ["alice"],
        "bob no longer reads alice's blob"
    );
    assert_err!(
        s.put_envelope(mail("alice", "bob"), ROOMY).await,
        StoreError::UnknownRecipient
    );
    assert_eq!(
        b.rows("bodies", "1 = 1").await,
        1,
        "the body only bob held went with him"
    );
    // What bob sent alice is hers, and stays; so is her part of the group envelope.
    assert_eq!(
        pending_ids(&*s, "alice", &alice_device).await,
        [both.id.clone(), from_bob.id.clone()]
    );
    assert_eq!(
        s.get_envelope("alice", &alice_device, &both.id)
            .await
            .unwrap(),
        Some(delivered_form(&both, "alice"))
    );
    assert!(
        !s.list_users("bob", None, 10)
            .await
            .unwrap()
            .contains(&"bob".to_owned())
    );

    // The name registered again starts with nothing of the old account's.
    let new_device = register(&*s, "bob").await;
    assert_ne!(new_device, laptop);
    assert!(
        s.fetch("bob", &new_device, everything())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(b.pending("bob").await, (0, 0));
    assert!(s.backup("bob").await.unwrap().is_none());
    assert!(s.take_link("bob", &handle).await.unwrap().is_none());
    assert!(s.blobs_of("bob").await.unwrap().is_empty());
    assert_err!(
        s.create_session(
            &random_hash(),
            "bob",
            DeviceChoice::Existing(laptop),
            tomorrow(),
            32
        )
        .await,
        StoreError::UnknownDevice
    );
}

async fn password_and_card_change_for_known_accounts_only(b: Backend) {
    let s = b.open().await;
    register(&*s, "alice").await;
    let token = random_hash();
    s.create_session(&token, "alice", DeviceChoice::Oldest, tomorrow(), 32)
        .await
        .unwrap();

    s.change_password("alice", "hash:new").await.unwrap();
    let alice = s.account("alice").await.unwrap().unwrap();
    assert_eq!(
        (&*alice.password_hash, &*alice.card),
        ("hash:new", "card:alice")
    );
    s.replace_card("alice", "card:new").await.unwrap();
    let alice = s.account("alice").await.unwrap().unwrap();
    assert_eq!(
        (&*alice.password_hash, &*alice.card),
        ("hash:new", "card:new")
    );
    // A password change alone keeps the sessions.
    assert!(s.session(&token).await.unwrap().is_some());

    assert_err!(
        s.change_password("nobody", "h").await,
        StoreError::UnknownUser
    );
    assert_err!(s.replace_card("nobody", "c").await, StoreError::UnknownUser);
    assert!(s.account("nobody").await.unwrap().is_none());
}

async fn list_users_is_a_byte_ordered_prefix_range(b: Backend) {
    let s = b.open().await;
    for user in [
        "annz", "ann_x", "ann", "ann.x", "anna", "ann-x", "ano", "an_n", "an.n", "bob", "0ann",
    ] {
        s.create_account(user, "h", "c", None, "default")
            .await
            .unwrap();
    }
    let list = |prefix: &'static str, after: Option<&'static str>, limit: usize| {
        let s = s.clone();
        async move { s.list_users(prefix, after, limit).await.unwrap() }
    };

    assert_eq!(
        list("ann", None, 100).await,
        ["ann", "ann-x", "ann.x", "ann_x", "anna", "annz"]
    );
    // `_` and `.` are username characters, not wildcards.
    assert_eq!(list("an_", None, 100).await, ["an_n"]);
    assert_eq!(list("an.", None, 100).await, ["an.n"]);
    assert_eq!(list("ann", Some("ann.x"), 2).await, ["ann_x", "anna"]);
    assert_eq!(list("ann", Some("ann"), 1).await, ["ann-x"]);
    assert!(list("ann", Some("annz"), 100).await.is_empty());
    assert_eq!(list("", None, 3).await, ["0ann", "an.n", "an_n"]);
    assert!(list("", Some("bob"), 100).await.is_empty());
    assert!(list("zed", None, 100).await.is_empty());
    assert!(list("ann", None, 0).await.is_empty());
    assert_eq!(list("bob", None, 100).await, ["bob"]);
}
