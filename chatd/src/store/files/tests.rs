//! Files in the store: which received files come down by themselves.

use ipc_schema::methods::FileState;
use ipc_schema::{FileOffer, Payload};

use super::super::Store;
use crate::crypto::Opened;

const MIB: u64 = 1 << 20;

/// `sender`'s file message `n` of `size` bytes.
fn file(store: &Store, sender: &str, n: u32, size: u64) -> String {
    let id = format!("{n:032x}");
    let offer = FileOffer {
        blob: format!("{:032x}", n + 1000),
        size,
        name: format!("f{n}.bin"),
        media_type: "application/octet-stream".into(),
        key: "A".repeat(86) + "==",
        sha256: "00".repeat(32),
        reply_to: None,
        group: None,
        to: None,
    };
    let _ = store
        .commit_batch(
            "me",
            vec![Opened {
                id: id.clone(),
                from: sender.into(),
                ts: u64::from(n),
                payload: Payload::File(offer),
            }],
            &[],
            &[],
        )
        .unwrap();
    id
}

fn due(store: &Store) -> Vec<String> {
    store
        .downloads_due(u64::MAX >> 1, 25 * MIB, 60 * MIB)
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect()
}

#[test]
fn one_sender_s_files_come_down_by_themselves_only_within_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("chatd.db")).unwrap();
    for user in ["bob", "carol"] {
        super::super::tests::knows(&store, user);
    }
    // Over the automatic limit: waits for a request.
    let big = file(&store, "bob", 1, 30 * MIB);
    assert!(due(&store).is_empty());
    // Two of 20 MiB come down; a third would take bob past 60 MiB.
    let a = file(&store, "bob", 2, 20 * MIB);
    let b = file(&store, "bob", 3, 20 * MIB);
    let _ = store.download_state("bob", &a, FileState::Ready).unwrap();
    let _ = store.download_state("bob", &b, FileState::Ready).unwrap();
    let c = file(&store, "bob", 4, 21 * MIB);
    assert!(due(&store).is_empty(), "bob is at his budget");
    // carol is not held back by bob's files.
    let theirs = file(&store, "carol", 5, 20 * MIB);
    assert_eq!(due(&store), vec![theirs.clone()]);
    // Asked for, they come down whatever their size or the budget.
    store.request_file(Some("bob"), &big).unwrap().unwrap();
    store.request_file(Some("bob"), &c).unwrap().unwrap();
    let mut now = due(&store);
    now.sort();
    let mut want = vec![big, c, theirs];
    want.sort();
    assert_eq!(now, want);
}
