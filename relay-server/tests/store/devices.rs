//! Devices: the list (order, recently gone ones), revoking one (refusals,
//! the password, its sessions and copies, mail only it had), seeing one,
//! expiring idle ones, renaming.

use std::time::Duration;

use crate::helper::*;

conformance!(
    devices_lists_the_active_oldest_first_then_the_recently_gone,
    devices_gone_since_beyond_i64_max_lists_only_the_active,
    revoking_refuses_unknown_and_gone_devices,
    revoking_changes_the_password_and_drops_the_devices_sessions_and_copies,
    an_envelope_only_the_revoked_device_had_yet_to_fetch_is_released,
    touch_device_writes_last_seen_at_most_every_few_minutes,
    expiring_keeps_each_accounts_most_recently_seen_device,
    expiring_spares_devices_seen_since_idle_before,
    expiring_with_idle_before_beyond_i64_max_expires_all_idle_devices,
    rename_device_renames_active_devices_of_the_account_only,
);

async fn pause() {
    tokio::time::sleep(Duration::from_millis(4)).await;
}

async fn devices_lists_the_active_oldest_first_then_the_recently_gone(b: Backend) {
    let s = b.open().await;
    s.create_account("alice", "h", "c", None, "first")
        .await
        .unwrap();
    let first = the_device(&*s, "alice").await;
    pause().await;
    let second = add_device(&*s, "alice", "second").await;
    let third = add_device(&*s, "alice", "third").await;
    let fourth = add_device(&*s, "alice", "fourth").await;

    let before = now_ms();
    s.revoke_device("alice", &second, "h2").await.unwrap();
    pause().await;
    let cut = now_ms();
    pause().await;
    s.revoke_device("alice", &first, "h3").await.unwrap();

    let all = s.devices("alice", 0).await.unwrap();
    let listed: Vec<_> = all
        .iter()
        .map(|d| (d.id.as_str(), d.name.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            (third.as_str(), "third"),
            (fourth.as_str(), "fourth"),
            (first.as_str(), "first"),
            (second.as_str(), "second")
        ],
        "active ones oldest first, then the gone ones oldest first"
    );
    for d in &all[..2] {
        assert!(d.gone_at.is_none() && d.gone.is_none(), "{d:?}");
        assert!(d.last_seen >= d.created_at);
    }
    for d in &all[2..] {
        assert_eq!(d.gone.as_deref(), Some("revoked"), "{d:?}");
        assert!(
            d.gone_at.is_some_and(|t| t >= before && t <= now_ms()),
            "{d:?}"
        );
    }
    assert!(all[0].created_at <= all[1].created_at);

    let recent: Vec<_> = s
        .devices("alice", cut)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(
        recent,
        [third.clone(), fourth.clone(), first],
        "gone since `cut` only"
    );
    let active: Vec<_> = s
        .devices("alice", now_ms() + 1)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(active, [third, fourth]);
    assert!(s.devices("nobody", 0).await.unwrap().is_empty());
}

async fn devices_gone_since_beyond_i64_max_lists_only_the_active(b: Backend) {
    let s = b.open().await;
    let phone = register(&*s, "alice").await;
    let laptop = add_device(&*s, "alice", "laptop").await;
    s.revoke_device("alice", &laptop, "h2").await.unwrap();
    for gone_since in [i64::MAX as u64 + 1, u64::MAX] {
        let listed: Vec<_> = s
            .devices("alice", gone_since)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(listed, [phone.as_str()], "devices(alice, {gone_since})");
    }
}

async fn revoking_refuses_unknown_and_gone_devices(b: Backend) {
    let s = b.open().await;
    let phone = register(&*s, "alice").await;
    let bobs = register(&*s, "bob").await;
    let laptop = add_device(&*s, "alice", "laptop").await;

    assert_err!(
        s.revoke_device("alice", &random_device(), "x").await,
        StoreError::UnknownDevice
    );
    assert_err!(
        s.revoke_device("alice", &bobs, "x").await,
        StoreError::UnknownDevice
    );
    assert_err!(
        s.revoke_device("nobody", &phone, "x").await,
        StoreError::UnknownDevice
    );
    s.revoke_device("alice", &laptop, "hash:second")
        .await
        .unwrap();
    assert_err!(
        s.revoke_device("alice", &laptop, "hash:third").await,
        StoreError::DeviceGone
    );
    // The refusals changed no password.
    assert_eq!(
        s.account("alice").await.unwrap().unwrap().password_hash,
        "hash:second"
    );
    assert_eq!(
        s.account("bob").await.unwrap().unwrap().password_hash,
        "hash:bob"
    );
    assert_eq!(the_device(&*s, "bob").await, bobs);
}

async fn revoking_changes_the_password_and_drops_the_devices_sessions_and_copies(b: Backend) {
    let s = b.open().await;
    register(&*s, "bob").await;
    let phone = register(&*s, "alice").await;
    let laptop = add_device(&*s, "alice", "laptop").await;
    let login = |device: &str| {
        let (s, device) = (s.clone(), device.to_owned());
        async move {
            let token = random_hash();
            s.create_session(
                &token,
                "alice",
                DeviceChoice::Existing(device),
                tomorrow(),
                32,
            )
            .await
            .unwrap();
            token
        }
    };
    let (phone_token, laptop_token) = (login(&phone).await, login(&laptop).await);
    // Looked up, so a store that caches sessions has them cached.
    assert!(s.session(&laptop_token).await.unwrap().is_some());
    let first = mail("bob", "alice");
    deliver(&*s, &first).await;

    s.revoke_device("alice", &laptop, "hash:new").await.unwrap();

    assert_eq!(
        s.account("alice").await.unwrap().unwrap().password_hash,
        "hash:new"
    );
    assert!(
        s.session(&laptop_token).await.unwrap().is_none(),
        "its sessions go"
    );
    assert!(
        s.session(&phone_token).await.unwrap().is_some(),
        "the others' stay"
    );
    assert!(
        s.fetch("alice", &laptop, everything())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.get_envelope("alice", &laptop, &first.id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(pending_ids(&*s, "alice", &phone).await, [first.id.as_str()]);
    assert_eq!(
        b.rows("copies", &format!("device_id = '{laptop}'")).await,
        0
    );

    // Nothing more is stored for it.
    let second = mail("bob", "alice");
    deliver(&*s, &second).await;
    assert!(
        s.fetch("alice", &laptop, everything())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        pending_ids(&*s, "alice", &phone).await,
        ids_of(&[&first, &second])
    );
    assert_eq!(b.pending("alice").await, (2, 400));
}

async fn an_envelope_only_the_revoked_device_had_yet_to_fetch_is_released(b: Backend) {
    let s = b.open().await;
    register(&*s, "bob").await;
    register(&*s, "carol").await;
    let phone = register(&*s, "alice").await;
    let laptop = add_device(&*s, "alice", "laptop").await;
    let (fetched, unread) = (sized("bob", "alice", 300), sized("bob", "alice", 200));
    deliver(&*s, &fetched).await;
    deliver(&*s, &unread).await;
    assert_eq!(
        s.ack("alice", &phone, vec![fetched.id.clone()])
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        b.pending("alice").await,
        (2, 500),
        "the laptop still has both to fetch"
    );

    s.revoke_device("alice", &laptop, "h2").await.unwrap();

    assert_eq!(
        b.pending("alice").await,
        (1, 200),
        "the envelope only it held went"
    );
    assert_eq!(
        b.rows("mailbox", &format!("id = '{}'", fetched.id)).await,
        0
    );
    assert_eq!(
        pending_ids(&*s, "alice", &phone).await,
        [unread.id.as_str()]
    );
    // It counts as delivered: a retry is answered as one, another sender's
    // use of the id stays refused.
    assert_eq!(
        s.put_envelope(fetched.clone(), ROOMY).await.unwrap(),
        PutOutcome::Duplicate
    );
    let mut reuse = mail("carol", "alice");
    reuse.id = fetched.id.clone();
    assert_err!(s.put_envelope(reuse, ROOMY).await, StoreError::Conflict);
    // And no longer counts against the quota.
    let two = Quota {
        max_count: 2,
        max_bytes: 1 << 20,
    };
    assert_eq!(
        s.put_envelope(mail("bob", "alice"), two).await.unwrap(),
        PutOutcome::Stored
    );
}

async fn touch_device_writes_last_seen_at_most_every_few_minutes(b: Backend) {
    let s = b.open().await;
    let phone = register(&*s, "alice").await;
    let seen = |device: String| {
        let s = s.clone();
        async move {
            s.devices("alice", 0)
                .await
                .unwrap()
                .into_iter()
                .find(|d| d.id == device)
                .expect("the device")
        }
    };
    let registered = seen(phone.clone()).await.last_seen;
    tokio::time::sleep(Duration::from_millis(20)).await;

    s.touch_device("alice", &phone).await.unwrap();
    let touched = seen(phone.clone()).await.last_seen;
    assert!(touched > registered, "{touched} > {registered}");
    tokio::time::sleep(Duration::from_millis(20)).await;
    s.touch_device("alice", &phone).await.unwrap();
    assert_eq!(
        seen(phone.clone()).await.last_seen,
        touched,
        "written at most every few minutes"
    );

    // Unknown and gone devices are not revived.
    s.touch_device("alice", &random_device()).await.unwrap();
    s.touch_device("nobody", &phone).await.unwrap();
    let laptop = add_device(&*s, "alice", "laptop").await;
    s.revoke_device("alice", &laptop, "h2").await.unwrap();
    let gone = seen(laptop.clone()).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    // A second instance has touched nothing yet, so it writes.
    let other = b.open().await;
    other.touch_device("alice", &laptop).await.unwrap();
    let after = seen(laptop).await;
    assert_eq!(
        (after.last_seen, after.gone_at),
        (gone.last_seen, gone.gone_at)
    );
    assert_eq!(s.devices("alice", u64::MAX / 2).await.unwrap().len(), 1);
}

async fn expiring_keeps_each_accounts_most_recently_seen_device(b: Backend) {
    let s = b.open().await;
    let lone = register(&*s, "bob").await;
    let phone = register(&*s, "alice").await;
    let laptop = add_device(&*s, "alice", "laptop").await;
    let carol: Vec<String> = {
        let mut ids = vec![register(&*s, "carol").await];
        pause().await;
        for name in ["c1", "c2"] {
            ids.push(add_device(&*s, "carol", name).await);
        }
        ids
    };
    // The phone logs in again: now seen after the laptop.
    let laptop_token = random_hash();
    s.create_session(
        &laptop_token,
        "alice",
        DeviceChoice::Existing(laptop.clone()),
        tomorrow(),
        32,
    )
    .await
    .unwrap();
    pause().await;
    s.create_session(
        &random_hash(),
        "alice",
        DeviceChoice::Existing(phone.clone()),
        tomorrow(),
        32,
    )
    .await
    .unwrap();
    // Looked up, so a store that caches sessions has it cached.
    assert!(s.session(&laptop_token).await.unwrap().is_some());
    let read = mail("bob", "alice");
    deliver(&*s, &read).await;
    assert_eq!(
        s.ack("alice", &phone, vec![read.id.clone()]).await.unwrap(),
        1
    );

    // Every device is idle: each account keeps its most recently seen one.
    let idle_before = now_ms() + 60_000;
    let expired = set(s
        .expire_devices(idle_before)
        .await
        .unwrap()
        .into_iter()
        .map(|(u, d)| format!("{u}/{d}")));
    assert_eq!(
        expired,
        set([
            format!("alice/{laptop}"),
            format!("carol/{}", carol[0]),
            format!("carol/{}", carol[1])
        ])
    );
    assert_eq!(the_device(&*s, "alice").await, phone);
    assert_eq!(
        the_device(&*s, "bob").await,
        lone,
        "a one-device account keeps its device"
    );
    assert_eq!(the_device(&*s, "carol").await, carol[2]);
    let gone = s.devices("alice", 0).await.unwrap();
    assert_eq!(gone[1].id, laptop);
    assert_eq!(gone[1].gone.as_deref(), Some("expired"));
    // Treated as revoked, without a password change.
    assert!(s.session(&laptop_token).await.unwrap().is_none());
    assert_err!(
        s.create_session(
            &random_hash(),
            "alice",
            DeviceChoice::Existing(laptop),
            tomorrow(),
            32
        )
        .await,
        StoreError::DeviceGone
    );
    assert_eq!(
        s.account("alice").await.unwrap().unwrap().password_hash,
        "hash:alice"
    );
    assert_eq!(
        b.pending("alice").await,
        (0, 0),
        "what only the laptop still had went"
    );
    assert_eq!(
        s.put_envelope(read, ROOMY).await.unwrap(),
        PutOutcome::Duplicate
    );
    // Once one device is left, none expires however idle.
    assert!(s.expire_devices(idle_before).await.unwrap().is_empty());
}

async fn expiring_spares_devices_seen_since_idle_before(b: Backend) {
    let s = b.open().await;
    let first = register(&*s, "alice").await;
    pause().await;
    let cut = now_ms();
    pause().await;
    let second = add_device(&*s, "alice", "second").await;
    let third = add_device(&*s, "alice", "third").await;

    assert_eq!(
        s.expire_devices(cut).await.unwrap(),
        [("alice".to_owned(), first)]
    );
    let active: Vec<_> = s
        .devices("alice", u64::MAX / 2)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(active, [second, third]);
    assert!(s.expire_devices(cut).await.unwrap().is_empty());
}

async fn expiring_with_idle_before_beyond_i64_max_expires_all_idle_devices(b: Backend) {
    let s = b.open().await;
    let first = register(&*s, "alice").await;
    let second = add_device(&*s, "alice", "second").await;
    assert_eq!(
        s.expire_devices(u64::MAX).await.unwrap(),
        [("alice".to_owned(), first)],
        "every device is idle before u64::MAX; the most recently seen stays"
    );
    assert_eq!(the_device(&*s, "alice").await, second);
}

async fn rename_device_renames_active_devices_of_the_account_only(b: Backend) {
    let s = b.open().await;
    let phone = register(&*s, "alice").await;
    register(&*s, "bob").await;
    let laptop = add_device(&*s, "alice", "laptop").await;

    s.rename_device("alice", &laptop, "work laptop")
        .await
        .unwrap();
    s.rename_device("alice", &phone, "phone").await.unwrap();
    let names: Vec<_> = s
        .devices("alice", 0)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(names, ["phone", "work laptop"]);

    assert_err!(
        s.rename_device("alice", &random_device(), "x").await,
        StoreError::UnknownDevice
    );
    assert_err!(
        s.rename_device("bob", &laptop, "x").await,
        StoreError::UnknownDevice
    );
    s.revoke_device("alice", &laptop, "h2").await.unwrap();
    assert_err!(
        s.rename_device("alice", &laptop, "x").await,
        StoreError::UnknownDevice
    );
    let names: Vec<_> = s
        .devices("alice", 0)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(names, ["phone", "work laptop"]);
}
