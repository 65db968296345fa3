//! Key backups: one per account, stored, replaced, read and deleted.

use crate::helper::*;

conformance!(a_backup_is_stored_replaced_read_and_deleted);

async fn a_backup_is_stored_replaced_read_and_deleted(b: Backend) {
    let s = b.open().await;
    register(&*s, "alice").await;
    register(&*s, "bob").await;
    let first: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let second = b"{\"backup\":2}".to_vec();

    assert!(s.backup("alice").await.unwrap().is_none());
    s.put_backup("alice", first.clone()).await.unwrap();
    assert_eq!(
        s.backup("alice").await.unwrap(),
        Some(first),
        "any bytes, exactly"
    );
    s.put_backup("alice", second.clone()).await.unwrap();
    assert_eq!(s.backup("alice").await.unwrap(), Some(second), "replaced");
    assert!(
        s.backup("bob").await.unwrap().is_none(),
        "each account reads its own"
    );

    assert!(!s.delete_backup("bob").await.unwrap());
    assert!(s.delete_backup("alice").await.unwrap());
    assert!(s.backup("alice").await.unwrap().is_none());
    assert!(!s.delete_backup("alice").await.unwrap());
    assert!(!s.delete_backup("nobody").await.unwrap());
}
