//! v2 envelopes stored once for several recipients: stored, duplicate and
//! skipped recipients (and why), the shared body kept once and released
//! with its last entry, conflicts, one's own account.

use crate::helper::*;

conformance!(
    a_shared_envelope_is_stored_once_for_all_its_recipients,
    a_shared_put_skips_whom_it_cannot_store_and_stores_the_others,
    a_shared_id_with_other_bytes_is_a_conflict,
    a_shared_envelope_to_ones_own_account_skips_the_sending_device,
);

/// The skipped recipients, sorted.
fn skipped(out: &SharedPutOutcome) -> Vec<(String, Skip)> {
    let mut skipped = out.skipped.clone();
    skipped.sort_by(|a, b| a.0.cmp(&b.0));
    skipped
}

async fn a_shared_envelope_is_stored_once_for_all_its_recipients(b: Backend) {
    let s = b.open().await;
    register(&*s, "alice").await;
    let mut devices = Vec::new();
    for user in ["bob", "carol", "dave"] {
        devices.push((user, register(&*s, user).await));
    }
    let env = shared("alice", "x", &["bob", "carol", "dave"], &random_id(), 0);

    let out = s.put_shared_envelope(env.clone(), ROOMY).await.unwrap();
    assert_eq!(set(&out.stored), set(["bob", "carol", "dave"]));
    assert_eq!((out.duplicate, out.skipped.len()), (0, 0));
    assert_eq!(
        b.rows("bodies", "1 = 1").await,
        1,
        "the shared part is stored once"
    );
    for (user, device) in &devices {
        let form = delivered_form(&env, user);
        assert_eq!(
            s.fetch(user, device, everything()).await.unwrap(),
            [form.as_slice()]
        );
        assert_eq!(id_of(&form), env.id);
        assert_eq!(
            s.get_envelope(user, device, &env.id).await.unwrap(),
            Some(form.clone())
        );
        assert_eq!(
            b.pending(user).await,
            (1, form.len() as i64),
            "{user}'s quota counts its form"
        );
    }

    let again = s.put_shared_envelope(env.clone(), ROOMY).await.unwrap();
    assert_eq!(
        again,
        SharedPutOutcome {
            stored: vec![],
            duplicate: 3,
            skipped: vec![]
        }
    );

    for (n, (user, device)) in devices.iter().enumerate() {
        assert_eq!(s.ack(user, device, vec![env.id.clone()]).await.unwrap(), 1);
        let left = if n < 2 { 1 } else { 0 };
        assert_eq!(
            b.rows("bodies", "1 = 1").await,
            left,
            "the body goes with its last entry"
        );
        assert_eq!(b.pending(user).await, (0, 0));
    }
    assert_eq!(b.rows("mailbox", "1 = 1").await, 0);
    // Delivered to everyone: a retry is a duplicate throughout.
    let late = s.put_shared_envelope(env, ROOMY).await.unwrap();
    assert_eq!(
        late,
        SharedPutOutcome {
            stored: vec![],
            duplicate: 3,
            skipped: vec![]
        }
    );
    assert_eq!(b.rows("bodies", "1 = 1").await, 0);
}

async fn a_shared_put_skips_whom_it_cannot_store_and_stores_the_others(b: Backend) {
    let s = b.open().await;
    register(&*s, "alice").await;
    register(&*s, "erin").await;
    let bob = register(&*s, "bob").await;
    let carol = register(&*s, "carol").await;
    let dave = register(&*s, "dave").await;
    let id = random_id();
    // bob's mailbox is full; dave has erin's envelope under the same id.
    let filler = mail("erin", "bob");
    deliver(&*s, &filler).await;
    let erins = envelope("erin", "x", "dave", &id, now_ms(), body(&id, "erin", 100));
    deliver(&*s, &erins).await;
    let one = Quota {
        max_count: 1,
        max_bytes: 1 << 20,
    };
    let env = shared("alice", "x", &["bob", "carol", "dave", "zed"], &id, 0);

    let out = s.put_shared_envelope(env.clone(), one).await.unwrap();
    assert_eq!(out.stored, ["carol"]);
    assert_eq!(out.duplicate, 0);
    assert_eq!(
        skipped(&out),
        [
            ("bob".to_owned(), Skip::QuotaExceeded),
            ("dave".to_owned(), Skip::Conflict),
            ("zed".to_owned(), Skip::UnknownRecipient)
        ]
    );
    assert_eq!(pending_ids(&*s, "carol", &carol).await, [id.as_str()]);
    assert_eq!(pending_ids(&*s, "bob", &bob).await, [filler.id.as_str()]);
    assert_eq!(
        s.fetch("dave", &dave, everything()).await.unwrap(),
        [erins.body.as_slice()]
    );

    // Retried once bob has room: stored for him, a duplicate for carol.
    s.ack("bob", &bob, vec![filler.id.clone()]).await.unwrap();
    let out = s.put_shared_envelope(env.clone(), one).await.unwrap();
    assert_eq!(
        (out.stored.as_slice(), out.duplicate),
        (&["bob".to_owned()][..], 1)
    );
    assert_eq!(
        skipped(&out),
        [
            ("dave".to_owned(), Skip::Conflict),
            ("zed".to_owned(), Skip::UnknownRecipient)
        ]
    );
    assert_eq!(
        s.fetch("bob", &bob, everything()).await.unwrap(),
        [delivered_form(&env, "bob")]
    );

    // erin's envelope acknowledged, the id stays hers for dave.
    s.ack("dave", &dave, vec![id.clone()]).await.unwrap();
    let out = s.put_shared_envelope(env, one).await.unwrap();
    assert!(out.stored.is_empty());
    assert_eq!(out.duplicate, 2);
    assert!(
        out.skipped.contains(&("dave".to_owned(), Skip::Conflict)),
        "{out:?}"
    );
    assert!(
        s.fetch("dave", &dave, everything())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(b.rows("bodies", "1 = 1").await, 1);
}

async fn a_shared_id_with_other_bytes_is_a_conflict(b: Backend) {
    let s = b.open().await;
    register(&*s, "alice").await;
    let bob = register(&*s, "bob").await;
    register(&*s, "carol").await;
    let id = random_id();
    let env = shared("alice", "x", &["bob"], &id, 0);
    s.put_shared_envelope(env.clone(), ROOMY).await.unwrap();

    // Other bytes under the id: refused as a whole, for every recipient.
    let other = shared("alice", "x", &["bob", "carol"], &id, 1);
    assert_err!(
        s.put_shared_envelope(other.clone(), ROOMY).await,
        StoreError::Conflict
    );
    assert_eq!(
        b.rows("mailbox", "1 = 1").await,
        1,
        "nothing stored for carol"
    );
    // Nor may a v1 envelope reuse it, or a v2 one reuse a v1 id.
    let v1 = envelope(
        "alice",
        "x",
        "carol",
        &id,
        now_ms(),
        body(&id, "alice", 100),
    );
    assert_err!(s.put_envelope(v1, ROOMY).await, StoreError::Conflict);
    let v1_id = random_id();
    deliver(
        &*s,
        &envelope(
            "alice",
            "x",
            "bob",
            &v1_id,
            now_ms(),
            body(&v1_id, "alice", 100),
        ),
    )
    .await;
    assert_err!(
        s.put_shared_envelope(shared("alice", "x", &["carol"], &v1_id, 0), ROOMY)
            .await,
        StoreError::Conflict
    );

    // Still refused once delivered.
    s.ack("bob", &bob, vec![id.clone(), v1_id]).await.unwrap();
    assert_eq!(b.rows("bodies", "1 = 1").await, 0);
    assert_err!(
        s.put_shared_envelope(other, ROOMY).await,
        StoreError::Conflict
    );
    assert_eq!(b.rows("mailbox", "1 = 1").await, 0);
    let out = s.put_shared_envelope(env, ROOMY).await.unwrap();
    assert_eq!((out.stored.len(), out.duplicate), (0, 1));
}

async fn a_shared_envelope_to_ones_own_account_skips_the_sending_device(b: Backend) {
    let s = b.open().await;
    let phone = register(&*s, "alice").await;
    let bob = register(&*s, "bob").await;

    let first = shared("alice", &phone, &["alice", "bob"], &random_id(), 0);
    let out = s.put_shared_envelope(first.clone(), ROOMY).await.unwrap();
    assert_eq!(
        set(&out.stored),
        set(["alice", "bob"]),
        "alice counts as stored, with nothing kept"
    );
    assert!(
        s.fetch("alice", &phone, everything())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(b.pending("alice").await, (0, 0));
    assert_eq!(
        s.fetch("bob", &bob, everything()).await.unwrap(),
        [delivered_form(&first, "bob")]
    );

    let laptop = add_device(&*s, "alice", "laptop").await;
    let second = shared("alice", &phone, &["alice", "bob"], &random_id(), 0);
    s.put_shared_envelope(second.clone(), ROOMY).await.unwrap();
    assert!(
        s.fetch("alice", &phone, everything())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.fetch("alice", &laptop, everything()).await.unwrap(),
        [delivered_form(&second, "alice")]
    );
    assert_eq!(b.rows("bodies", "1 = 1").await, 2);

    // The body goes only with the last entry of all recipients.
    s.ack("alice", &laptop, vec![second.id.clone()])
        .await
        .unwrap();
    assert_eq!(b.rows("bodies", "1 = 1").await, 2);
    s.ack("bob", &bob, vec![first.id.clone(), second.id.clone()])
        .await
        .unwrap();
    assert_eq!(b.rows("bodies", "1 = 1").await, 0);
}
