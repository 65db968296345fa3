//! What a stolen relay disk (or a curious relay operator) finds in the store
//! (docs/SECURITY.md): hashes of tokens and passwords, never the secrets;
//! sealed envelopes, never plaintext; and exactly the metadata the security
//! notes list, no more.

use sha2::{Digest, Sha256};

use crate::helper::*;

/// Every byte of the relay's data dir (database, WAL and shared memory).
/// Every byte the store wrote: its SQLite files, or the PostgreSQL
/// cluster's data directory, WAL included.
fn everything_on_disk(relay: &Relay) -> Vec<u8> {
    let mut all = Vec::new();
    for path in Db::of(relay).files() {
        // A file PostgreSQL removed meanwhile held nothing we need.
        if let Ok(bytes) = std::fs::read(&path) {
            all.extend(bytes);
        }
    }
    assert!(all.len() > 4096, "the store is on disk");
    all
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn the_store_keeps_hashes_of_tokens_and_passwords_never_the_secrets() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let second = relay.log_in("alice").await;
    // Use both tokens, so they have been through every code path once.
    assert_eq!(alice.pending_ids().await, Vec::<String>::new());
    assert_eq!(second.pending_ids().await, Vec::<String>::new());

    let disk = everything_on_disk(&relay);
    let password = password_of("alice");
    assert!(
        !contains(&disk, password.as_bytes()),
        "the password is on disk"
    );
    for token in [&alice.token, &second.token] {
        assert!(!contains(&disk, token.as_bytes()), "a token is on disk");
    }

    let db = Db::of(&relay);
    let mut hashes: Vec<String> = db
        .rows("SELECT token_hash FROM sessions WHERE username = 'alice'")
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
    hashes.sort();
    let mut expected: Vec<String> = [&alice.token, &second.token]
        .iter()
        .map(|t| {
            Sha256::digest(t.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        })
        .collect();
    expected.sort();
    assert_eq!(hashes, expected, "sessions hold SHA-256 of the tokens");

    let phc = db.one("SELECT password_hash FROM accounts WHERE username = 'alice'");
    assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
}

#[tokio::test]
async fn the_store_holds_sealed_envelopes_and_only_the_documented_metadata() {
    let relay = Relay::start().await;
    let users = relay.register_all(&["alice", "bob"]).await;
    let (alice, bob) = (&users[0], &users[1]);
    let secret = "the launch code is 0000, tell nobody";
    let mail = alice.seal_at("bob", secret, 1_764_000_000_123);
    alice.put(&mail).await.assert_status(201);

    // Pending: the envelope as put, filed under who, to whom, when.
    let disk = everything_on_disk(&relay);
    assert!(!contains(&disk, secret.as_bytes()), "plaintext on disk");
    assert!(!contains(&disk, b"launch code"), "plaintext on disk");
    let db = Db::of(&relay);
    assert_eq!(
        db.columns("mailbox"),
        [
            "seq",
            "recipient",
            "sender",
            "id",
            "ts",
            "body",
            "digest",
            "received_at",
            "shared",
            "size"
        ]
    );
    let row: Vec<String> = db
        .rows(&format!(
            "SELECT recipient, sender, ts, body FROM mailbox WHERE id = '{}'",
            mail.id
        ))
        .remove(0)
        .into_iter()
        .map(Option::unwrap)
        .collect();
    assert_eq!((row[0].as_str(), row[1].as_str()), ("bob", "alice"));
    assert_eq!(row[2], "1764000000123");
    assert_eq!(
        row[3],
        format!("\\x{}", hex(mail.json.as_bytes())),
        "stored exactly as put"
    );
    // Which of bob's devices still has to fetch it; and of each device, its
    // name and when it was added and last seen (docs/RELAY.md, "Devices").
    assert_eq!(db.columns("copies"), ["username", "device_id", "seq"]);
    assert_eq!(
        db.columns("devices"),
        [
            "username",
            "device_id",
            "name",
            "created_at",
            "last_seen",
            "gone_at",
            "gone"
        ]
    );

    // Acknowledged: the envelope is gone, but (sender, id, digest, time of
    // the ack, recipient) stay for 30 days so that a late retry is answered
    // 200 and another sender's reuse of the id for bob stays a 409.
    bob.ack(&[&mail.id]).await.assert_status(204);
    let count = db.count("SELECT count(*) FROM mailbox");
    assert_eq!(count, 0);
    assert_eq!(
        db.columns("delivered"),
        ["sender", "id", "recipient", "digest", "acked_at"]
    );
    let kept = db.rows("SELECT sender, id, recipient FROM delivered");
    assert_eq!(
        kept,
        [[
            Some("alice".to_owned()),
            Some(mail.id.clone()),
            Some("bob".to_owned())
        ]]
    );
    let disk = everything_on_disk(&relay);
    assert!(!contains(&disk, secret.as_bytes()), "plaintext on disk");

    // No other table appeared that could hold more.
    let mut tables = vec![
        "accounts",
        "backups",
        "blob_readers",
        "blobs",
        "bodies",
        "copies",
        "delivered",
        "devices",
        "invites",
        "links",
        "mailbox",
        "sessions",
    ];
    if on_postgres() {
        // The login throttle's counts, shared by the instances, for one
        // window (docs/RELAY.md §8): names tried from an address, when, and
        // whether it failed; never a password.
        tables.insert(
            tables.binary_search(&"login_attempts").unwrap_err(),
            "login_attempts",
        );
        assert_eq!(
            db.columns("login_attempts"),
            ["id", "username", "addr", "at", "failed", "forgiven"]
        );
    }
    assert_eq!(db.tables(), tables);
    // What devices, backups and device links add (SECURITY.md §3).
    assert_eq!(
        db.columns("devices"),
        [
            "username",
            "device_id",
            "name",
            "created_at",
            "last_seen",
            "gone_at",
            "gone"
        ]
    );
    assert_eq!(db.columns("copies"), ["username", "device_id", "seq"]);
    assert_eq!(db.columns("backups"), ["username", "body", "updated_at"]);
    assert_eq!(
        db.columns("links"),
        ["username", "handle", "body", "expires_at"]
    );
    // Blobs (RELAY.md §5.5): who uploads what size for whom, and when; the
    // bytes are files, opaque to the relay.
    assert_eq!(
        db.columns("blobs"),
        ["id", "owner", "size", "stored", "created_at", "expires_at"]
    );
    assert_eq!(db.columns("blob_readers"), ["id", "username"]);
}
