//! Schema migrations, versioned in the database (`PRAGMA user_version`).

use rusqlite::Connection;

/// Each entry moves the schema from version `i` to `i + 1`. Never edit one
/// that has shipped; append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: accounts, sessions, invites, mailbox, delivered ids.
    "CREATE TABLE accounts (
        username      TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        card          TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        pending_count INTEGER NOT NULL DEFAULT 0,
        pending_bytes INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        username   TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX sessions_by_user ON sessions(username);
    CREATE TABLE invites (
        code_hash TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE mailbox (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        recipient   TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
        sender      TEXT NOT NULL,
        id          TEXT NOT NULL,
        ts          INTEGER NOT NULL,
        body        BLOB NOT NULL,
        digest      BLOB NOT NULL,
        received_at INTEGER NOT NULL,
        UNIQUE (sender, id)
    );
    CREATE INDEX mailbox_by_recipient ON mailbox(recipient, seq);
    CREATE INDEX mailbox_by_recipient_id ON mailbox(recipient, id);
    -- Acked envelopes, so that a sender's retry after delivery is answered
    -- 200 without storing the envelope again.
    CREATE TABLE delivered (
        sender     TEXT NOT NULL,
        id         TEXT NOT NULL,
        digest     BLOB NOT NULL,
        acked_at   INTEGER NOT NULL,
        PRIMARY KEY (sender, id)
    ) WITHOUT ROWID;
    CREATE INDEX delivered_by_time ON delivered(acked_at);",
    // 2: acked ids keep their recipient, so that an id another sender used
    // for the same recipient is refused whether the envelope is still pending
    // or already acknowledged: no ack-timing oracle (docs/SECURITY.md, §7).
    // Rows acked before this migration have none and expire as usual.
    "ALTER TABLE delivered ADD COLUMN recipient TEXT;
    CREATE INDEX delivered_by_recipient ON delivered(recipient, id);",
    // 3: envelope v2. A body shared by several recipients is stored once in
    // `bodies`; each recipient's mailbox row holds only its own entry and
    // points at it, and the last row to go takes the body with it. (sender,
    // id) is now unique per recipient, in the mailbox and among acked ids.
    "CREATE TABLE bodies (
        body_id INTEGER PRIMARY KEY,
        sender  TEXT NOT NULL,
        id      TEXT NOT NULL,
        digest  BLOB NOT NULL,
        common  BLOB NOT NULL,
        UNIQUE (sender, id)
    );
    CREATE TABLE mailbox_v3 (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        recipient   TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
        sender      TEXT NOT NULL,
        id          TEXT NOT NULL,
        ts          INTEGER NOT NULL,
        body        BLOB NOT NULL,
        digest      BLOB NOT NULL,
        received_at INTEGER NOT NULL,
        shared      INTEGER REFERENCES bodies(body_id),
        -- What the recipient downloads and its quota counts: the body, plus
        -- the shared part for a v2 entry.
        size        INTEGER NOT NULL,
        UNIQUE (sender, id, recipient)
    );
    INSERT INTO mailbox_v3 (seq, recipient, sender, id, ts, body, digest, received_at, size)
        SELECT seq, recipient, sender, id, ts, body, digest, received_at, length(body) FROM mailbox;
    DROP TABLE mailbox;
    ALTER TABLE mailbox_v3 RENAME TO mailbox;
    CREATE INDEX mailbox_by_recipient ON mailbox(recipient, seq);
    CREATE INDEX mailbox_by_recipient_id ON mailbox(recipient, id);
    CREATE INDEX mailbox_by_shared ON mailbox(shared) WHERE shared IS NOT NULL;
    -- Acks, account deletion (ON DELETE CASCADE) and anything else that
    -- removes the last entry of a shared body removes the body.
    CREATE TRIGGER mailbox_release_body AFTER DELETE ON mailbox
    WHEN old.shared IS NOT NULL
    BEGIN
        DELETE FROM bodies WHERE body_id = old.shared
            AND NOT EXISTS (SELECT 1 FROM mailbox WHERE shared = old.shared);
    END;
    CREATE TABLE delivered_v3 (
        sender     TEXT NOT NULL,
        id         TEXT NOT NULL,
        recipient  TEXT NOT NULL,
        digest     BLOB NOT NULL,
        acked_at   INTEGER NOT NULL,
        PRIMARY KEY (sender, id, recipient)
    ) WITHOUT ROWID;
    INSERT INTO delivered_v3 (sender, id, recipient, digest, acked_at)
        SELECT sender, id, COALESCE(recipient, ''), digest, acked_at FROM delivered;
    DROP TABLE delivered;
    ALTER TABLE delivered_v3 RENAME TO delivered;
    CREATE INDEX delivered_by_time ON delivered(acked_at);
    CREATE INDEX delivered_by_recipient ON delivered(recipient, id);",
    // 4: devices (docs/RELAY.md, "Devices"). Every account gets one device,
    // "default", which its sessions and pending envelopes move to. A mailbox
    // row is now one envelope for the account; `copies` says which devices
    // still have to fetch it, and the row goes when its last copy is acked.
    // A revoked or expired device keeps its row (`gone_at`, `gone`) so the
    // account's other devices can be told; its sessions and copies go.
    "CREATE TABLE devices (
        username   TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
        device_id  TEXT NOT NULL,
        name       TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen  INTEGER NOT NULL,
        gone_at    INTEGER,
        gone       TEXT,
        PRIMARY KEY (username, device_id)
    ) WITHOUT ROWID;
    INSERT INTO devices (username, device_id, name, created_at, last_seen)
        SELECT username, lower(hex(randomblob(8))), 'default', created_at,
               CAST(strftime('%s', 'now') AS INTEGER) * 1000
        FROM accounts;
    CREATE TABLE sessions_v4 (
        token_hash TEXT PRIMARY KEY,
        username   TEXT NOT NULL,
        device_id  TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        FOREIGN KEY (username, device_id) REFERENCES devices(username, device_id) ON DELETE CASCADE
    ) WITHOUT ROWID;
    INSERT INTO sessions_v4 (token_hash, username, device_id, expires_at)
        SELECT s.token_hash, s.username, d.device_id, s.expires_at
        FROM sessions s JOIN devices d ON d.username = s.username;
    DROP TABLE sessions;
    ALTER TABLE sessions_v4 RENAME TO sessions;
    CREATE INDEX sessions_by_user ON sessions(username);
    CREATE INDEX sessions_by_device ON sessions(username, device_id);
    CREATE TABLE copies (
        username  TEXT NOT NULL,
        device_id TEXT NOT NULL,
        seq       INTEGER NOT NULL REFERENCES mailbox(seq) ON DELETE CASCADE,
        PRIMARY KEY (username, device_id, seq),
        FOREIGN KEY (username, device_id) REFERENCES devices(username, device_id) ON DELETE CASCADE
    ) WITHOUT ROWID;
    CREATE INDEX copies_by_seq ON copies(seq);
    INSERT INTO copies (username, device_id, seq)
        SELECT m.recipient, d.device_id, m.seq FROM mailbox m JOIN devices d ON d.username = m.recipient;",
    // 5: one sealed key backup per account (docs/RELAY.md §5.2), opaque to
    // the relay (docs/PROTOCOL.md §10).
    "CREATE TABLE backups (
        username   TEXT PRIMARY KEY REFERENCES accounts(username) ON DELETE CASCADE,
        body       BLOB NOT NULL,
        updated_at INTEGER NOT NULL
    ) WITHOUT ROWID;",
    // 6: one pending device link per account (docs/RELAY.md §5.3): a blob
    // sealed under a key derived from the link code, found by a handle
    // derived from it too (docs/PROTOCOL.md §12), until it is claimed once or
    // expires.
    "CREATE TABLE links (
        username   TEXT PRIMARY KEY REFERENCES accounts(username) ON DELETE CASCADE,
        handle     TEXT NOT NULL,
        body       BLOB NOT NULL,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;",
    // 7: blobs for file transfer (docs/RELAY.md §5.5). The bytes live in
    // files under `<data-dir>/blobs/`, named by id; a row says whose upload
    // it is, who may read it, and how many bytes are durable so far. Readers
    // go with their account, so a name registered again reads nothing.
    "CREATE TABLE blobs (
        id         TEXT PRIMARY KEY,
        owner      TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
        size       INTEGER NOT NULL,
        stored     INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX blobs_by_owner ON blobs(owner);
    CREATE INDEX blobs_by_expiry ON blobs(expires_at);
    CREATE TABLE blob_readers (
        id       TEXT NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
        username TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
        PRIMARY KEY (id, username)
    ) WITHOUT ROWID;
    CREATE INDEX blob_readers_by_user ON blob_readers(username);",
];

/// Brings the database to the newest schema, one transaction per step.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    migrate_to(conn, MIGRATIONS.len())
}

/// Brings the database to schema `version` (tests start from old versions).
fn migrate_to(conn: &mut Connection, version: usize) -> rusqlite::Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current as usize > MIGRATIONS.len() {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "database schema version {current} is newer than this relay ({}); upgrade the relay",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .take(version)
        .skip(current as usize)
    {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_versions_keep_the_ids_acked_under_version_1() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, 1).unwrap();
        conn.execute(
            "INSERT INTO delivered (sender, id, digest, acked_at) VALUES ('alice', 'id1', x'00', 5)",
            [],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version as usize, MIGRATIONS.len());
        let row: (String, Option<String>) = conn
            .query_row("SELECT sender, recipient FROM delivered", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        // Version 1 kept no recipient; version 3 writes it as ''.
        assert_eq!(row, ("alice".to_owned(), Some(String::new())));
        // Migrating again changes nothing.
        migrate(&mut conn).unwrap();
    }

    #[test]
    fn version_3_keeps_pending_envelopes_their_order_and_their_sizes() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, 2).unwrap();
        conn.execute_batch(
            "INSERT INTO accounts (username, password_hash, card, created_at) VALUES ('bob', 'h', 'c', 1);
             INSERT INTO mailbox (seq, recipient, sender, id, ts, body, digest, received_at)
                 VALUES (7, 'bob', 'alice', 'id7', 1, x'7b7d', x'00', 1),
                        (9, 'bob', 'carol', 'id9', 2, x'7b2020207d', x'00', 2);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let rows: Vec<(i64, String, i64, Option<i64>)> = conn
            .prepare("SELECT seq, id, size, shared FROM mailbox ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            rows,
            [
                (7, "id7".to_owned(), 2, None),
                (9, "id9".to_owned(), 5, None)
            ]
        );
        // New rows still come after the old ones.
        conn.execute(
            "INSERT INTO mailbox (recipient, sender, id, ts, body, digest, received_at, size)
             VALUES ('bob', 'dave', 'idn', 3, x'00', x'00', 3, 1)",
            [],
        )
        .unwrap();
        assert!(conn.last_insert_rowid() > 9);
    }

    #[test]
    fn version_4_gives_each_account_one_device_holding_its_sessions_and_mail() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        migrate_to(&mut conn, 3).unwrap();
        conn.execute_batch(
            "INSERT INTO accounts (username, password_hash, card, created_at) VALUES ('bob', 'h', 'c', 1), ('eve', 'h', 'c', 2);
             INSERT INTO sessions (token_hash, username, expires_at) VALUES ('t1', 'bob', 9), ('t2', 'eve', 9);
             INSERT INTO mailbox (seq, recipient, sender, id, ts, body, digest, received_at, size)
                 VALUES (7, 'bob', 'eve', 'id7', 1, x'7b7d', x'00', 1, 2);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let device = |user: &str| -> String {
            conn.query_row(
                "SELECT device_id FROM devices WHERE username = ?1 AND name = 'default'",
                [user],
                |r| r.get(0),
            )
            .unwrap()
        };
        let (bob, eve) = (device("bob"), device("eve"));
        assert_eq!(bob.len(), 16);
        assert_ne!(bob, eve);
        let sessions: Vec<(String, String)> = conn
            .prepare("SELECT token_hash, device_id FROM sessions ORDER BY token_hash")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            sessions,
            [("t1".to_owned(), bob.clone()), ("t2".to_owned(), eve)]
        );
        let copy: (String, i64) = conn
            .query_row("SELECT device_id, seq FROM copies", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(copy, (bob, 7));
        // Deleting the account takes its devices, sessions and copies along.
        conn.execute("DELETE FROM accounts WHERE username = 'bob'", [])
            .unwrap();
        let left: i64 = conn
            .query_row("SELECT count(*) FROM copies", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0);
    }
}
