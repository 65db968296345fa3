//! Search over all history: plain words only, newest first, in step with
//! edits and deletes.

use ipc_schema::methods::Direction;
use ipc_schema::{MessageChange, Payload};

use super::super::Store;
use super::fts_query;
use crate::crypto::Opened;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("chatd.db")).unwrap();
    for user in ["bob", "carol"] {
        super::super::tests::knows(&store, user);
    }
    (dir, store)
}

fn say(store: &Store, from: &str, n: u32, body: &str) {
    let msg = Opened {
        id: format!("{n:032x}"),
        from: from.into(),
        ts: u64::from(n),
        payload: Payload::text(body),
    };
    let _ = store.commit_batch("me", vec![msg], &[], &[]).unwrap();
}

fn found(store: &Store, query: &str, peer: Option<&str>) -> Vec<String> {
    store
        .search(query, peer, None, 50)
        .unwrap()
        .unwrap_or_default()
        .0
        .into_iter()
        .map(|h| h.message.body.unwrap_or_default())
        .collect()
}

#[test]
fn words_are_found_newest_first_with_their_places_in_the_snippet() {
    let (_d, store) = store();
    say(&store, "bob", 1, "the deploy of prod failed");
    say(&store, "carol", 2, "lunch?");
    say(&store, "bob", 3, "Deploy again, prod is fine now");
    say(&store, "carol", 4, "déploiement terminé");
    assert_eq!(
        found(&store, "prod deploy", None),
        [
            "Deploy again, prod is fine now",
            "the deploy of prod failed"
        ]
    );
    // Case and accents do not matter; the last word is a prefix.
    assert_eq!(
        found(&store, "DEPLOIEMENT termin", None),
        ["déploiement terminé"]
    );
    assert_eq!(found(&store, "prod", Some("carol")), Vec::<String>::new());
    let (hits, more) = store.search("deploy", None, None, 1).unwrap().unwrap();
    assert!(more);
    assert_eq!(hits[0].peer, "bob");
    let [s, e] = hits[0].highlights[0];
    assert_eq!(&hits[0].snippet[s as usize..e as usize], "Deploy");
    // The next page.
    let (older, more) = store
        .search("deploy", None, Some(hits[0].message.seq), 10)
        .unwrap()
        .unwrap();
    assert_eq!((older.len(), more), (1, false));
    assert_eq!(older[0].message.direction, Direction::In);
}

#[test]
fn what_the_user_types_is_never_index_syntax() {
    let (_d, store) = store();
    say(
        &store,
        "bob",
        1,
        "run -n prod \"quoted\" AND NEAR(x y) col:umn ^start *",
    );
    for query in [
        "-n prod",
        "\"",
        "\"\"\"",
        "AND",
        "OR NOT",
        "NEAR(",
        "col:umn",
        "^start",
        "*",
        "prod*",
        "(",
        ")",
        "{a b}",
        "a + b",
        "'",
        "\\",
        "\u{1b}[2J",
        "\u{0}",
    ] {
        // Never an error; words that are there are found.
        let hits = store.search(query, None, None, 10).unwrap();
        if fts_query(query).is_some() {
            assert!(hits.is_some(), "{query:?}");
        }
    }
    assert_eq!(found(&store, "-n prod", None).len(), 1);
    assert_eq!(found(&store, "\"quoted\"", None).len(), 1);
    assert_eq!(found(&store, "col:umn", None).len(), 1);
    // Nothing to search for: no words at all.
    assert!(store.search("\" * -", None, None, 10).unwrap().is_none());
    assert_eq!(fts_query("-n \"prod"), Some("\"n\" \"prod\"*".to_owned()));
}

#[test]
fn the_index_follows_edits_and_deletes_and_keeps_nothing_of_a_deleted_text() {
    let (_d, store) = store();
    say(&store, "bob", 1, "the vault code is zebracorn");
    let edit = MessageChange::Edit {
        target: format!("{:032x}", 1),
        body: "the vault code is unicornfish".into(),
        group: None,
        to: None,
    };
    let msg = |n: u32, c: MessageChange| Opened {
        id: format!("{n:032x}"),
        from: "bob".into(),
        ts: u64::from(n) + 10,
        payload: Payload::Change(c),
    };
    let _ = store
        .commit_batch("me", vec![msg(2, edit)], &[], &[])
        .unwrap();
    assert!(found(&store, "zebracorn", None).is_empty());
    assert_eq!(found(&store, "unicornfish", None).len(), 1);
    let delete = MessageChange::Delete {
        target: format!("{:032x}", 1),
        group: None,
        to: None,
    };
    let _ = store
        .commit_batch("me", vec![msg(3, delete)], &[], &[])
        .unwrap();
    assert!(found(&store, "unicornfish", None).is_empty());
    assert!(found(&store, "vault", None).is_empty());
    // Not in the index's own tables either.
    let left: i64 = store
        .with(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM messages_fts_data WHERE instr(block, 'unicornfish') > 0
                                                     OR instr(block, 'zebracorn') > 0",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(left, 0);
}
