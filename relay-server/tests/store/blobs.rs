//! Blobs: recording an upload (created, existing, conflict, unknown reader,
//! quota of unexpired blobs), its stored length, deleting, the sweep, and
//! an owner's list.

use crate::helper::*;

conformance!(
    a_blob_is_recorded_once_and_found_by_id,
    a_blob_id_is_one_uploads_only,
    a_blob_for_an_unknown_reader_is_refused,
    the_blob_quota_counts_the_owners_unexpired_blobs,
    blobs_are_deleted_by_their_owner_and_by_the_sweep,
);

const QUOTA: u64 = 1000;

fn upload(id: &str, owner: &str, size: u64, readers: &[&str], expires_at: u64) -> NewBlob {
    NewBlob {
        id: id.to_owned(),
        owner: owner.to_owned(),
        size,
        readers: readers.iter().map(|r| r.to_string()).collect(),
        expires_at,
    }
}

async fn a_blob_is_recorded_once_and_found_by_id(b: Backend) {
    let s = b.open().await;
    for user in ["alice", "bob", "carol"] {
        register(&*s, user).await;
    }
    let (id, expires) = (random_id(), tomorrow());
    let before = now_ms();
    let new = upload(&id, "alice", 700, &["bob", "carol"], expires);

    assert_eq!(
        s.create_blob(new.clone(), QUOTA).await.unwrap(),
        BlobCreated::Created
    );
    let blob = s.blob(&id).await.unwrap().expect("recorded");
    assert_eq!(
        (
            blob.id.as_str(),
            blob.owner.as_str(),
            blob.size,
            blob.stored,
            blob.expires_at
        ),
        (id.as_str(), "alice", 700, 0, expires)
    );
    assert_eq!(blob.readers, ["bob", "carol"]);
    assert!(blob.created_at >= before && blob.created_at <= now_ms());

    assert_eq!(
        s.create_blob(new.clone(), QUOTA).await.unwrap(),
        BlobCreated::Existing { stored: 0 },
        "posted again"
    );
    assert!(s.set_blob_stored(&id, 400).await.unwrap());
    assert_eq!(s.blob(&id).await.unwrap().unwrap().stored, 400);
    assert_eq!(
        s.create_blob(new, QUOTA).await.unwrap(),
        BlobCreated::Existing { stored: 400 },
        "a resumed upload learns where to go on"
    );
    assert!(!s.set_blob_stored(&random_id(), 1).await.unwrap());
    assert!(s.blob(&random_id()).await.unwrap().is_none());
}

async fn a_blob_id_is_one_uploads_only(b: Backend) {
    let s = b.open().await;
    for user in ["alice", "bob", "carol"] {
        register(&*s, user).await;
    }
    let id = random_id();
    let expires = tomorrow();
    s.create_blob(upload(&id, "alice", 100, &["bob"], expires), QUOTA)
        .await
        .unwrap();

    for (why, other) in [
        ("another owner", upload(&id, "bob", 100, &["bob"], expires)),
        ("another size", upload(&id, "alice", 101, &["bob"], expires)),
        (
            "other readers",
            upload(&id, "alice", 100, &["bob", "carol"], expires),
        ),
    ] {
        let outcome = s.create_blob(other, QUOTA).await;
        assert!(
            matches!(outcome, Err(StoreError::Conflict)),
            "{why}: {outcome:?}"
        );
    }
    let blob = s.blob(&id).await.unwrap().unwrap();
    assert_eq!(
        (blob.owner.as_str(), blob.size, blob.readers.len()),
        ("alice", 100, 1)
    );
    // An expired blob's id is not taken up again.
    let old = random_id();
    let past = upload(&old, "alice", 100, &["bob"], now_ms() - 1);
    s.create_blob(past.clone(), QUOTA).await.unwrap();
    assert_err!(s.create_blob(past, QUOTA).await, StoreError::Conflict);
}

async fn a_blob_for_an_unknown_reader_is_refused(b: Backend) {
    let s = b.open().await;
    register(&*s, "alice").await;
    register(&*s, "bob").await;
    let id = random_id();

    assert_err!(
        s.create_blob(
            upload(&id, "alice", 100, &["bob", "zed"], tomorrow()),
            QUOTA
        )
        .await,
        StoreError::UnknownRecipient
    );
    assert!(s.blob(&id).await.unwrap().is_none(), "nothing recorded");
    assert!(s.blobs_of("alice").await.unwrap().is_empty());
    // The owner may name itself (for its other devices).
    s.create_blob(
        upload(&id, "alice", 100, &["alice", "bob"], tomorrow()),
        QUOTA,
    )
    .await
    .unwrap();
}

async fn the_blob_quota_counts_the_owners_unexpired_blobs(b: Backend) {
    let s = b.open().await;
    register(&*s, "alice").await;
    register(&*s, "bob").await;
    let create = |owner: &'static str, size: u64, expires_at: u64| {
        let s = s.clone();
        async move {
            s.create_blob(
                upload(&random_id(), owner, size, &["bob"], expires_at),
                QUOTA,
            )
            .await
        }
    };

    // An expired blob (the sweep has yet to delete it) holds no quota.
    assert_eq!(
        create("alice", 900, now_ms() - 1).await.unwrap(),
        BlobCreated::Created
    );
    assert_eq!(
        create("alice", 600, tomorrow()).await.unwrap(),
        BlobCreated::Created
    );
    assert_err!(
        create("alice", 401, tomorrow()).await,
        StoreError::QuotaExceeded
    );
    assert_eq!(
        create("alice", 400, tomorrow()).await.unwrap(),
        BlobCreated::Created,
        "exactly full"
    );
    assert_err!(
        create("alice", 1, tomorrow()).await,
        StoreError::QuotaExceeded
    );
    assert_eq!(
        s.blobs_of("alice").await.unwrap().len(),
        3,
        "the refusals recorded nothing"
    );
    // Each owner has a quota of its own.
    assert_eq!(
        create("bob", 1000, tomorrow()).await.unwrap(),
        BlobCreated::Created
    );
    assert_err!(
        create("bob", 1001, tomorrow()).await,
        StoreError::QuotaExceeded
    );
}

async fn blobs_are_deleted_by_their_owner_and_by_the_sweep(b: Backend) {
    let s = b.open().await;
    register(&*s, "alice").await;
    register(&*s, "bob").await;
    let [complete, incomplete, expired, deleted, bobs] = [(); 5].map(|_| random_id());
    for (id, owner, expires) in [
        (&complete, "alice", tomorrow()),
        (&incomplete, "alice", tomorrow()),
        (&expired, "alice", now_ms() - 1),
        (&deleted, "alice", tomorrow()),
        (&bobs, "bob", tomorrow() + 60_000),
    ] {
        s.create_blob(upload(id, owner, 100, &["alice", "bob"], expires), QUOTA)
            .await
            .unwrap();
    }
    for id in [&complete, &expired, &deleted, &bobs] {
        assert!(s.set_blob_stored(id, 100).await.unwrap());
    }
    assert_eq!(
        set(s.blobs_of("alice").await.unwrap()),
        set([&complete, &incomplete, &expired, &deleted])
    );

    assert!(
        !s.delete_blob("bob", &deleted).await.unwrap(),
        "only its owner deletes it"
    );
    assert!(s.delete_blob("alice", &deleted).await.unwrap());
    assert!(!s.delete_blob("alice", &deleted).await.unwrap());
    assert!(s.blob(&deleted).await.unwrap().is_none());
    assert!(!s.set_blob_stored(&deleted, 100).await.unwrap(), "gone");

    // Expired ones go; an incomplete one only once it is old enough.
    assert_eq!(
        s.expire_blobs(now_ms(), 0).await.unwrap(),
        [expired.as_str()]
    );
    assert!(s.blob(&expired).await.unwrap().is_none());
    assert_eq!(
        s.expire_blobs(now_ms(), now_ms() + 1).await.unwrap(),
        [incomplete.as_str()]
    );
    assert!(
        s.expire_blobs(now_ms(), now_ms() + 1)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.blobs_of("alice").await.unwrap(), [complete.as_str()]);
    assert_eq!(s.blobs_of("bob").await.unwrap(), [bobs.as_str()]);
    assert!(s.blobs_of("nobody").await.unwrap().is_empty());
    // The expiry instant itself counts as expired.
    let at = s.blob(&complete).await.unwrap().unwrap().expires_at;
    assert!(s.expire_blobs(at - 1, 0).await.unwrap().is_empty());
    assert_eq!(s.expire_blobs(at, 0).await.unwrap(), [complete]);
}
