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
];

/// Brings the database to the newest schema, one transaction per step.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current as usize > MIGRATIONS.len() {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "database schema version {current} is newer than this relay ({}); upgrade the relay",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
