//! Sessions: which device a login is for (oldest, existing, new), the cap on
//! devices and on sessions per account, looking a session up and revoking it.

use crate::helper::*;

conformance!(
    a_session_is_found_by_its_token_hash_until_revoked,
    oldest_is_the_first_active_device_or_a_new_default_one,
    existing_must_be_an_active_device_of_the_account,
    new_adds_a_device_up_to_max_devices,
    past_max_per_user_the_sessions_expiring_first_go_never_the_new_one,
);

async fn a_session_is_found_by_its_token_hash_until_revoked(b: Backend) {
    let s = b.open().await;
    let device = register(&*s, "alice").await;
    let created = s.devices("alice", 0).await.unwrap()[0].clone();
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let (token, expires) = (random_hash(), tomorrow());

    let (info, revoked) = s
        .create_session(&token, "alice", DeviceChoice::Oldest, expires, 32)
        .await
        .unwrap();
    assert_eq!(
        (info.id.as_str(), info.name.as_str(), revoked),
        (device.as_str(), "default", 0)
    );
    assert!(
        info.last_seen > created.last_seen,
        "a login is seeing the device: {info:?}"
    );
    assert_eq!(
        s.devices("alice", 0).await.unwrap()[0].last_seen,
        info.last_seen
    );

    let session = s.session(&token).await.unwrap().expect("the session");
    assert_eq!(
        (
            session.username.as_str(),
            session.device_id.as_str(),
            session.expires_at
        ),
        ("alice", device.as_str(), expires)
    );
    assert!(s.session(&random_hash()).await.unwrap().is_none());

    s.revoke_session(&token).await.unwrap();
    assert!(s.session(&token).await.unwrap().is_none());
    // Revoking is idempotent.
    s.revoke_session(&token).await.unwrap();
    s.revoke_session(&random_hash()).await.unwrap();
}

async fn oldest_is_the_first_active_device_or_a_new_default_one(b: Backend) {
    let s = b.open().await;
    s.create_account("alice", "h", "c", None, "phone")
        .await
        .unwrap();
    let phone = the_device(&*s, "alice").await;
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let laptop = add_device(&*s, "alice", "laptop").await;
    let oldest = || {
        let s = s.clone();
        async move {
            s.create_session(
                &random_hash(),
                "alice",
                DeviceChoice::Oldest,
                tomorrow(),
                32,
            )
            .await
            .unwrap()
            .0
        }
    };

    assert_eq!(oldest().await.id, phone);
    s.revoke_device("alice", &phone, "h2").await.unwrap();
    assert_eq!(oldest().await.id, laptop);
    s.revoke_device("alice", &laptop, "h3").await.unwrap();
    // No active device left: a client that knows nothing of devices gets a new one.
    let fresh = oldest().await;
    assert_eq!(fresh.name, "default");
    assert!(fresh.id != phone && fresh.id != laptop, "{fresh:?}");
    assert_eq!(the_device(&*s, "alice").await, fresh.id);
    assert_eq!(oldest().await.id, fresh.id);
}

async fn existing_must_be_an_active_device_of_the_account(b: Backend) {
    let s = b.open().await;
    let phone = register(&*s, "alice").await;
    let bobs = register(&*s, "bob").await;
    let laptop = add_device(&*s, "alice", "laptop").await;
    let existing = |user: &'static str, id: &str| {
        let (s, id) = (s.clone(), id.to_owned());
        async move {
            s.create_session(
                &random_hash(),
                user,
                DeviceChoice::Existing(id),
                tomorrow(),
                32,
            )
            .await
        }
    };

    let (info, _) = existing("alice", &phone).await.unwrap();
    assert_eq!(
        (info.id.as_str(), info.name.as_str()),
        (phone.as_str(), "default")
    );
    assert_err!(
        existing("alice", &random_device()).await,
        StoreError::UnknownDevice
    );
    assert_err!(existing("alice", &bobs).await, StoreError::UnknownDevice);
    assert_err!(existing("nobody", &phone).await, StoreError::UnknownDevice);
    s.revoke_device("alice", &laptop, "h2").await.unwrap();
    assert_err!(existing("alice", &laptop).await, StoreError::DeviceGone);
    // The refusals added nothing.
    assert_eq!(s.devices("alice", 0).await.unwrap().len(), 2);
}

async fn new_adds_a_device_up_to_max_devices(b: Backend) {
    let s = b.open().await;
    let first = register(&*s, "alice").await;
    let mut ids = vec![first];
    for i in 1..MAX_DEVICES {
        let (info, _) = s
            .create_session(
                &random_hash(),
                "alice",
                DeviceChoice::New(format!("d{i}")),
                tomorrow(),
                100,
            )
            .await
            .unwrap();
        assert_eq!(info.name, format!("d{i}"));
        assert!(info.gone_at.is_none());
        ids.push(info.id);
    }
    assert_eq!(set(&ids).len(), MAX_DEVICES, "distinct ids");

    let refused = random_hash();
    assert_err!(
        s.create_session(
            &refused,
            "alice",
            DeviceChoice::New("one too many".into()),
            tomorrow(),
            100
        )
        .await,
        StoreError::TooManyDevices
    );
    assert!(
        s.session(&refused).await.unwrap().is_none(),
        "a refused login keeps no session"
    );
    let active = s.devices("alice", u64::MAX / 2).await.unwrap();
    assert_eq!(active.len(), MAX_DEVICES);
    // Existing devices still log in at the cap.
    s.create_session(
        &random_hash(),
        "alice",
        DeviceChoice::Existing(ids[3].clone()),
        tomorrow(),
        100,
    )
    .await
    .unwrap();

    s.revoke_device("alice", &ids[0], "h2").await.unwrap();
    s.create_session(
        &random_hash(),
        "alice",
        DeviceChoice::New("replacement".into()),
        tomorrow(),
        100,
    )
    .await
    .unwrap();
    assert_eq!(
        s.devices("alice", u64::MAX / 2).await.unwrap().len(),
        MAX_DEVICES
    );
}

async fn past_max_per_user_the_sessions_expiring_first_go_never_the_new_one(b: Backend) {
    let s = b.open().await;
    register(&*s, "alice").await;
    register(&*s, "bob").await;
    let laptop = add_device(&*s, "alice", "laptop").await;
    let base = tomorrow();
    let login = |user: &'static str, device: DeviceChoice, expires: u64, max: usize| {
        let s = s.clone();
        async move {
            let token = random_hash();
            let (_, revoked) = s
                .create_session(&token, user, device, expires, max)
                .await
                .unwrap();
            (token, revoked)
        }
    };
    let alive = |token: String| {
        let s = s.clone();
        async move { s.session(&token).await.unwrap().is_some() }
    };

    let bobs = login("bob", DeviceChoice::Oldest, base, 32).await.0;
    let (t1, r1) = login("alice", DeviceChoice::Oldest, base + 3000, 3).await;
    let (t2, r2) = login(
        "alice",
        DeviceChoice::Existing(laptop.clone()),
        base + 1000,
        3,
    )
    .await;
    let (t3, r3) = login("alice", DeviceChoice::Oldest, base + 2000, 3).await;
    assert_eq!((r1, r2, r3), (0, 0, 0));
    // Looked up, so a store that caches sessions has them cached.
    for t in [&t1, &t2, &t3] {
        assert!(alive(t.clone()).await);
    }

    // The new session expires first of all, yet stays; of the others, the
    // one expiring first goes. Sessions of all devices count together.
    let (t4, r4) = login("alice", DeviceChoice::Oldest, base + 500, 3).await;
    assert_eq!(r4, 1);
    assert!(alive(t4.clone()).await, "the new session always stays");
    assert!(!alive(t2.clone()).await, "the session expiring first went");
    assert!(alive(t1.clone()).await && alive(t3.clone()).await);

    let (t5, r5) = login("alice", DeviceChoice::Existing(laptop), base + 4000, 1).await;
    assert_eq!(r5, 3);
    assert!(alive(t5).await);
    for t in [t1, t3, t4] {
        assert!(!alive(t).await);
    }
    assert!(alive(bobs).await, "another account's sessions do not count");
}
