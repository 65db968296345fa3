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
    fn version_2_keeps_the_ids_acked_under_version_1() {
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
        assert_eq!(row, ("alice".to_owned(), None));
        // Migrating again changes nothing.
        migrate(&mut conn).unwrap();
    }
}
