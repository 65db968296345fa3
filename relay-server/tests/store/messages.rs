//! Envelopes: putting one (stored, duplicate, conflict, unknown recipient,
//! quota, one's own account), fetching with filters, getting one, acking,
//! and the commit hook.

use crate::helper::*;

conformance!(
    an_envelope_is_stored_once_and_a_retry_is_a_duplicate,
    the_same_id_with_other_bytes_is_a_conflict,
    another_senders_id_is_refused_while_pending_and_after_ack,
    an_envelope_for_an_unknown_recipient_is_refused,
    the_quota_counts_pending_envelopes,
    the_quota_counts_pending_bytes,
    writing_to_ones_own_account_skips_the_sending_device,
    fetch_filters_by_sender_time_count_and_bytes,
    fetch_bounds_beyond_i64_max_exclude_all_or_nothing,
    get_envelope_shows_a_device_its_own_pending_copy_only,
    ack_counts_copies_and_releases_an_envelope_after_its_last_device,
    the_commit_hook_names_the_recipients_of_stored_mail,
    a_write_for_a_missing_account_fails_alone,
);

async fn an_envelope_is_stored_once_and_a_retry_is_a_duplicate(b: Backend) {
    let s = b.open().await;
    register(&*s, "alice").await;
    let bob = register(&*s, "bob").await;
    let m = mail("alice", "bob");

    assert_eq!(
        s.put_envelope(m.clone(), ROOMY).await.unwrap(),
        PutOutcome::Stored
    );
    assert_eq!(
        s.put_envelope(m.clone(), ROOMY).await.unwrap(),
        PutOutcome::Duplicate
    );

    let fetched = s.fetch("bob", &bob, everything()).await.unwrap();
    assert_eq!(fetched, [m.body.as_slice()], "exactly the bytes put, once");
    assert_eq!(
        s.get_envelope("bob", &bob, &m.id).await.unwrap(),
        Some(m.body.clone())
    );
    assert_eq!(b.pending("bob").await, (1, m.body.len() as i64));
}

async fn the_same_id_with_other_bytes_is_a_conflict(b: Backend) {
    let s = b.open().await;
    register(&*s, "alice").await;
    let bob = register(&*s, "bob").await;
    let m = mail("alice", "bob");
    deliver(&*s, &m).await;

    assert_err!(
        s.put_envelope(altered(&m), ROOMY).await,
        StoreError::Conflict
    );
    assert_eq!(
        s.fetch("bob", &bob, everything()).await.unwrap(),
        [m.body.as_slice()]
    );

    assert_eq!(s.ack("bob", &bob, vec![m.id.clone()]).await.unwrap(), 1);
    assert_err!(
        s.put_envelope(altered(&m), ROOMY).await,
        StoreError::Conflict
    );
    assert_eq!(
        s.put_envelope(m, ROOMY).await.unwrap(),
        PutOutcome::Duplicate
    );
    assert!(
        s.fetch("bob", &bob, everything()).await.unwrap().is_empty(),
        "not delivered again"
    );
}

async fn another_senders_id_is_refused_while_pending_and_after_ack(b: Backend) {
    let s = b.open().await;
    register(&*s, "alice").await;
    register(&*s, "carol").await;
    let dave = register(&*s, "dave").await;
    let bob = register(&*s, "bob").await;
    let m = mail("alice", "bob");
    deliver(&*s, &m).await;
    let theirs = mail("carol", "bob");
    let reuse = envelope("carol", "x", "bob", &m.id, theirs.ts, theirs.body);

    assert_err!(
        s.put_envelope(reuse.clone(), ROOMY).await,
        StoreError::Conflict
    );
    s.ack("bob", &bob, vec![m.id.clone()]).await.unwrap();
    // Acknowledged or not, the same answer: it does not tell when bob fetched.
    assert_err!(
        s.put_envelope(reuse.clone(), ROOMY).await,
        StoreError::Conflict
    );
    assert!(s.fetch("bob", &bob, everything()).await.unwrap().is_empty());
    // For another recipient the id is carol's to use.
    let to_dave = envelope("carol", "x", "dave", &m.id, reuse.ts, reuse.body);
    assert_eq!(
        s.put_envelope(to_dave.clone(), ROOMY).await.unwrap(),
        PutOutcome::Stored
    );
    assert_eq!(
        s.fetch("dave", &dave, everything()).await.unwrap(),
        [to_dave.body]
    );
}

async fn an_envelope_for_an_unknown_recipient_is_refused(b: Backend) {
    let s = b.open().await;
    register(&*s, "alice").await;
    assert_err!(
        s.put_envelope(mail("alice", "nobody"), ROOMY).await,
        StoreError::UnknownRecipient
    );
    assert_eq!(b.rows("mailbox", "1 = 1").await, 0);
    assert!(s.woken.take().is_empty());
}

async fn the_quota_counts_pending_envelopes(b: Backend) {
    let s = b.open().await;
    register(&*s, "alice").await;
    let bob = register(&*s, "bob").await;
    let two = Quota {
        max_count: 2,
        max_bytes: 1 << 20,
    };
    let (m1, m2, m3) = (
        mail("alice", "bob"),
        mail("alice", "bob"),
        mail("alice", "bob"),
    );

    assert_eq!(
        s.put_envelope(m1.clone(), two).await.unwrap(),
        PutOutcome::Stored
    );
    assert_eq!(
        s.put_envelope(m2.clone(), two).await.unwrap(),
        PutOutcome::Stored
    );
    assert_err!(
        s.put_envelope(m3.clone(), two).await,
        StoreError::QuotaExceeded
    );
    // A retry of what is stored is still answered, full or not.
    assert_eq!(
        s.put_envelope(m2.clone(), two).await.unwrap(),
        PutOutcome::Duplicate
    );
    assert_eq!(pending_ids(&*s, "bob", &bob).await, ids_of(&[&m1, &m2]));
    assert_eq!(b.pending("bob").await, (2, 400));

    s.ack("bob", &bob, vec![m1.id.clone()]).await.unwrap();
    assert_eq!(
        s.put_envelope(m3.clone(), two).await.unwrap(),
        PutOutcome::Stored
    );
    assert_eq!(pending_ids(&*s, "bob", &bob).await, ids_of(&[&m2, &m3]));
}

async fn the_quota_counts_pending_bytes(b: Backend) {
    let s = b.open().await;
    register(&*s, "alice").await;
    let bob = register(&*s, "bob").await;
    let bytes = Quota {
        max_count: 100,
        max_bytes: 500,
    };
    let (m1, big, fits) = (
        sized("alice", "bob", 300),
        sized("alice", "bob", 201),
        sized("alice", "bob", 200),
    );

    assert_eq!(
        s.put_envelope(m1.clone(), bytes).await.unwrap(),
        PutOutcome::Stored
    );
    assert_err!(
        s.put_envelope(big.clone(), bytes).await,
        StoreError::QuotaExceeded
    );
    assert_eq!(
        s.put_envelope(fits.clone(), bytes).await.unwrap(),
        PutOutcome::Stored,
        "exactly full"
    );
    assert_eq!(b.pending("bob").await, (2, 500));
    assert_err!(
        s.put_envelope(sized("alice", "bob", 100), bytes).await,
        StoreError::QuotaExceeded
    );
    assert_eq!(pending_ids(&*s, "bob", &bob).await, ids_of(&[&m1, &fits]));

    s.ack("bob", &bob, vec![m1.id.clone()]).await.unwrap();
    assert_eq!(b.pending("bob").await, (1, 200));
    assert_eq!(
        s.put_envelope(big, bytes).await.unwrap(),
        PutOutcome::Stored
    );
}

async fn writing_to_ones_own_account_skips_the_sending_device(b: Backend) {
    let s = b.open().await;
    let phone = register(&*s, "alice").await;
    let note = |device: &str| {
        let id = random_id();
        envelope(
            "alice",
            device,
            "alice",
            &id,
            now_ms(),
            body(&id, "alice", 200),
        )
    };

    // No other device: nobody to deliver to, stored as far as the sender
    // knows, nothing kept (and nothing counted against the quota).
    let one = Quota {
        max_count: 1,
        max_bytes: 1 << 20,
    };
    for _ in 0..2 {
        assert_eq!(
            s.put_envelope(note(&phone), one).await.unwrap(),
            PutOutcome::Stored
        );
    }
    assert!(
        s.fetch("alice", &phone, everything())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(b.pending("alice").await, (0, 0));
    assert_eq!(b.rows("mailbox", "1 = 1").await, 0);

    let laptop = add_device(&*s, "alice", "laptop").await;
    let from_phone = note(&phone);
    deliver(&*s, &from_phone).await;
    assert!(
        s.fetch("alice", &phone, everything())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        pending_ids(&*s, "alice", &laptop).await,
        [from_phone.id.as_str()]
    );
    let from_laptop = note(&laptop);
    deliver(&*s, &from_laptop).await;
    assert_eq!(
        pending_ids(&*s, "alice", &phone).await,
        [from_laptop.id.as_str()]
    );
    assert_eq!(
        pending_ids(&*s, "alice", &laptop).await,
        [from_phone.id.as_str()]
    );
    assert_eq!(b.pending("alice").await, (2, 400));
    // Each is released by the one device that has it.
    assert_eq!(
        s.ack("alice", &laptop, vec![from_phone.id.clone()])
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.ack("alice", &phone, vec![from_laptop.id.clone()])
            .await
            .unwrap(),
        1
    );
    assert_eq!(b.pending("alice").await, (0, 0));
}

async fn fetch_filters_by_sender_time_count_and_bytes(b: Backend) {
    let s = b.open().await;
    register(&*s, "alice").await;
    register(&*s, "carol").await;
    let bob = register(&*s, "bob").await;
    let at = |from: &str, ts: u64| {
        let id = random_id();
        envelope(from, "x", "bob", &id, ts, body(&id, from, 100))
    };
    // Arrival order differs from ts order on purpose.
    let (a1, c1, a2, c2, a3) = (
        at("alice", 1000),
        at("carol", 3500),
        at("alice", 2000),
        at("carol", 2500),
        at("alice", 3000),
    );
    for m in [&a1, &c1, &a2, &c2, &a3] {
        deliver(&*s, m).await;
    }
    let fetch = |filter: FetchFilter| {
        let s = s.clone();
        let bob = bob.clone();
        async move { ids(&s.fetch("bob", &bob, filter).await.unwrap()) }
    };
    let all = FetchFilter {
        limit: 1000,
        max_bytes: 1 << 20,
        ..FetchFilter::default()
    };

    assert_eq!(
        fetch(all.clone()).await,
        ids_of(&[&a1, &c1, &a2, &c2, &a3]),
        "arrival order"
    );
    assert_eq!(
        fetch(FetchFilter {
            from: Some("alice".into()),
            ..all.clone()
        })
        .await,
        ids_of(&[&a1, &a2, &a3])
    );
    assert!(
        fetch(FetchFilter {
            from: Some("dave".into()),
            ..all.clone()
        })
        .await
        .is_empty()
    );
    assert_eq!(
        fetch(FetchFilter {
            since: Some(2500),
            ..all.clone()
        })
        .await,
        ids_of(&[&c1, &c2, &a3]),
        "since is inclusive"
    );
    assert_eq!(
        fetch(FetchFilter {
            until: Some(2500),
            ..all.clone()
        })
        .await,
        ids_of(&[&a1, &a2]),
        "until is exclusive"
    );
    assert_eq!(
        fetch(FetchFilter {
            from: Some("carol".into()),
            since: Some(2000),
            until: Some(3500),
            ..all.clone()
        })
        .await,
        ids_of(&[&c2])
    );
    assert_eq!(
        fetch(FetchFilter {
            limit: 2,
            ..all.clone()
        })
        .await,
        ids_of(&[&a1, &c1])
    );
    assert_eq!(
        fetch(FetchFilter {
            limit: 2,
            since: Some(2000),
            ..all.clone()
        })
        .await,
        ids_of(&[&c1, &a2]),
        "the limit counts what the filters let through"
    );
    assert_eq!(
        fetch(FetchFilter {
            max_bytes: 300,
            ..all.clone()
        })
        .await,
        ids_of(&[&a1, &c1, &a2])
    );
    assert_eq!(
        fetch(FetchFilter {
            max_bytes: 299,
            ..all.clone()
        })
        .await,
        ids_of(&[&a1, &c1])
    );
    assert_eq!(
        fetch(FetchFilter {
            max_bytes: 1,
            ..all.clone()
        })
        .await,
        ids_of(&[&a1]),
        "at least one is returned"
    );
    assert_eq!(
        fetch(FetchFilter {
            max_bytes: 0,
            limit: 1,
            from: Some("carol".into()),
            ..all.clone()
        })
        .await,
        ids_of(&[&c1])
    );
    // Fetching changes nothing.
    assert_eq!(fetch(all).await.len(), 5);
}

async fn fetch_bounds_beyond_i64_max_exclude_all_or_nothing(b: Backend) {
    let s = b.open().await;
    register(&*s, "alice").await;
    let bob = register(&*s, "bob").await;
    let at = |ts: u64| {
        let id = random_id();
        envelope("alice", "x", "bob", &id, ts, body(&id, "alice", 100))
    };
    // The largest ts a PUT accepts is i64::MAX.
    let (early, last) = (at(5), at(i64::MAX as u64));
    deliver(&*s, &early).await;
    deliver(&*s, &last).await;
    let fetch = |since: Option<u64>, until: Option<u64>| {
        let (s, bob) = (s.clone(), bob.clone());
        async move {
            let filter = FetchFilter {
                since,
                until,
                ..everything()
            };
            ids(&s.fetch("bob", &bob, filter).await.unwrap())
        }
    };
    let both = ids_of(&[&early, &last]);

    assert_eq!(fetch(Some(i64::MAX as u64), None).await, [last.id.as_str()]);
    assert_eq!(
        fetch(None, Some(i64::MAX as u64)).await,
        [early.id.as_str()]
    );
    for beyond in [i64::MAX as u64 + 1, u64::MAX] {
        assert!(fetch(Some(beyond), None).await.is_empty(), "since {beyond}");
        assert_eq!(fetch(None, Some(beyond)).await, both, "until {beyond}");
        assert_eq!(fetch(Some(0), Some(beyond)).await, both);
        assert!(fetch(Some(beyond), Some(beyond)).await.is_empty());
    }
    assert_eq!(fetch(Some(0), None).await, both);
    assert!(fetch(None, Some(0)).await.is_empty());
}

async fn get_envelope_shows_a_device_its_own_pending_copy_only(b: Backend) {
    let s = b.open().await;
    let carol = register(&*s, "carol").await;
    register(&*s, "alice").await;
    let phone = register(&*s, "bob").await;
    let laptop = add_device(&*s, "bob", "laptop").await;
    let m = mail("alice", "bob");
    deliver(&*s, &m).await;

    assert_eq!(
        s.get_envelope("bob", &phone, &m.id).await.unwrap(),
        Some(m.body.clone())
    );
    assert_eq!(
        s.get_envelope("bob", &laptop, &m.id).await.unwrap(),
        Some(m.body.clone())
    );
    assert!(
        s.get_envelope("bob", &phone, &random_id())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.get_envelope("carol", &carol, &m.id)
            .await
            .unwrap()
            .is_none(),
        "another's mail"
    );
    assert!(
        s.get_envelope("carol", &phone, &m.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.get_envelope("bob", &random_device(), &m.id)
            .await
            .unwrap()
            .is_none()
    );

    s.ack("bob", &phone, vec![m.id.clone()]).await.unwrap();
    assert!(
        s.get_envelope("bob", &phone, &m.id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        s.get_envelope("bob", &laptop, &m.id).await.unwrap(),
        Some(m.body)
    );
}

async fn ack_counts_copies_and_releases_an_envelope_after_its_last_device(b: Backend) {
    let s = b.open().await;
    let alice = register(&*s, "alice").await;
    let phone = register(&*s, "bob").await;
    let laptop = add_device(&*s, "bob", "laptop").await;
    let (m1, m2, m3) = (
        mail("alice", "bob"),
        mail("alice", "bob"),
        mail("alice", "bob"),
    );
    for m in [&m1, &m2, &m3] {
        deliver(&*s, m).await;
    }
    let ack = |device: &str, which: &[&NewEnvelope]| {
        let (s, device) = (s.clone(), device.to_owned());
        let ids: Vec<String> = which.iter().map(|m| m.id.clone()).collect();
        async move { s.ack("bob", &device, ids).await.unwrap() }
    };
    assert_eq!(
        b.pending("bob").await,
        (3, 600),
        "one envelope for both devices, counted once"
    );

    let stranger = mail("alice", "bob");
    assert_eq!(
        ack(&phone, &[&m1, &m2, &stranger]).await,
        2,
        "unknown ids count nothing"
    );
    assert_eq!(ack(&phone, &[&m1, &m2]).await, 0, "acked once");
    assert_eq!(
        ack(&laptop, &[&m2, &m2]).await,
        1,
        "an id twice is one copy"
    );
    assert_eq!(ack(&phone, &[]).await, 0);
    assert_eq!(pending_ids(&*s, "bob", &phone).await, ids_of(&[&m3]));
    assert_eq!(pending_ids(&*s, "bob", &laptop).await, ids_of(&[&m1, &m3]));
    assert_eq!(
        b.pending("bob").await,
        (2, 400),
        "m2 went with its last copy"
    );
    // Only bob's own copies: alice cannot ack bob's mail.
    assert_eq!(
        s.ack("alice", &alice, vec![m3.id.clone()]).await.unwrap(),
        0
    );
    assert_eq!(
        s.ack("alice", &laptop, vec![m3.id.clone()]).await.unwrap(),
        0
    );

    assert_eq!(ack(&laptop, &[&m1]).await, 1);
    assert_eq!(
        b.pending("bob").await,
        (1, 200),
        "released with its last copy"
    );
    assert_eq!(b.rows("mailbox", &format!("id = '{}'", m1.id)).await, 0);
    // Remembered as delivered: a retry is answered, not stored again.
    assert_eq!(
        s.put_envelope(m1.clone(), ROOMY).await.unwrap(),
        PutOutcome::Duplicate
    );
    assert_eq!(pending_ids(&*s, "bob", &laptop).await, ids_of(&[&m3]));

    assert_eq!(ack(&laptop, &[&m2, &m3]).await, 1);
    assert_eq!(ack(&phone, &[&m3]).await, 1);
    assert_eq!(b.pending("bob").await, (0, 0));
    assert_eq!(b.rows("mailbox", "1 = 1").await, 0);
    assert_eq!(b.rows("copies", "1 = 1").await, 0);
    for m in [m1, m2, m3] {
        assert_eq!(
            s.put_envelope(m, ROOMY).await.unwrap(),
            PutOutcome::Duplicate
        );
    }
    assert!(
        s.fetch("bob", &phone, everything())
            .await
            .unwrap()
            .is_empty()
    );
}

async fn the_commit_hook_names_the_recipients_of_stored_mail(b: Backend) {
    let s = b.open().await;
    register(&*s, "alice").await;
    let bob = register(&*s, "bob").await;
    register(&*s, "carol").await;
    assert!(s.woken.take().is_empty(), "no mail, no wake");

    let m = mail("alice", "bob");
    deliver(&*s, &m).await;
    assert_eq!(s.woken.take(), ["bob"]);
    assert_eq!(
        s.put_envelope(m.clone(), ROOMY).await.unwrap(),
        PutOutcome::Duplicate
    );
    let _ = s.put_envelope(mail("alice", "nobody"), ROOMY).await;
    let none = Quota {
        max_count: 0,
        max_bytes: 0,
    };
    let _ = s.put_envelope(mail("alice", "carol"), none).await;
    s.ack("bob", &bob, vec![m.id.clone()]).await.unwrap();
    assert!(s.woken.take().is_empty(), "nothing stored, nobody woken");

    let group = shared("alice", "x", &["bob", "carol", "nobody"], &random_id(), 0);
    s.put_shared_envelope(group, ROOMY).await.unwrap();
    assert_eq!(set(s.woken.take()), set(["bob", "carol"]));
}

async fn a_write_for_a_missing_account_fails_alone(b: Backend) {
    let s = b.open().await;
    register(&*s, "alice").await;
    let bob = register(&*s, "bob").await;
    // Writes queued together, some of them for an account deleted meanwhile
    // (requests racing the account's deletion): the others must not care.
    let ghost = |n: usize| {
        let s = s.clone();
        async move {
            match n % 4 {
                0 => s.put_backup("ghost", b"{}".to_vec()).await.map(|_| ()),
                1 => s
                    .create_session(
                        &random_hash(),
                        "ghost",
                        DeviceChoice::Oldest,
                        tomorrow(),
                        32,
                    )
                    .await
                    .map(|_| ()),
                2 => {
                    s.put_link("ghost", &random_hash(), b"{}".to_vec(), tomorrow())
                        .await
                }
                _ => {
                    let blob = NewBlob {
                        id: random_id(),
                        owner: "ghost".into(),
                        size: 10,
                        readers: vec!["bob".into()],
                        expires_at: tomorrow(),
                    };
                    s.create_blob(blob, 1 << 20).await.map(|_| ())
                }
            }
        }
    };
    let mut puts = Vec::new();
    let mut ghosts = Vec::new();
    for n in 0..96 {
        if n % 8 == 4 {
            ghosts.push(tokio::spawn(ghost(n / 8)));
        } else {
            let (s, m) = (s.clone(), mail("alice", "bob"));
            puts.push(tokio::spawn(async move {
                (m.id.clone(), s.put_envelope(m, ROOMY).await)
            }));
        }
    }

    for (n, ghost) in ghosts.into_iter().enumerate() {
        let outcome = ghost.await.unwrap();
        assert!(outcome.is_err(), "ghost write {n}: {outcome:?}");
    }
    let mut stored = Vec::new();
    for put in puts {
        let (id, outcome) = put.await.unwrap();
        assert!(
            matches!(outcome, Ok(PutOutcome::Stored)),
            "{id}: {outcome:?}"
        );
        stored.push(id);
    }
    assert_eq!(set(pending_ids(&*s, "bob", &bob).await), set(&stored));
    assert!(s.account("ghost").await.unwrap().is_none());
    assert!(s.backup("ghost").await.unwrap().is_none());
    assert!(s.devices("ghost", 0).await.unwrap().is_empty());
}
