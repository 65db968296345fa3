//! PostgreSQL schema migrations, versioned in the database (`relay_schema`).
//! The same tables as SQLite's (`store::schema`), written once at the
//! version SQLite's schema has reached; later changes are appended here and
//! there, each backend with its own history.

use tokio_postgres::Client;

/// Each entry moves the schema from version `i` to `i + 1`. Never edit one
/// that has shipped; append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: what SQLite reached in its 7 steps (docs/RELAY.md §8).
    "CREATE TABLE accounts (
        username      TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        card          TEXT NOT NULL,
        created_at    BIGINT NOT NULL,
        pending_count BIGINT NOT NULL DEFAULT 0,
        pending_bytes BIGINT NOT NULL DEFAULT 0
    );
    CREATE TABLE devices (
        username   TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
        device_id  TEXT NOT NULL,
        name       TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        last_seen  BIGINT NOT NULL,
        gone_at    BIGINT,
        gone       TEXT,
        PRIMARY KEY (username, device_id)
    );
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        username   TEXT NOT NULL,
        device_id  TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        FOREIGN KEY (username, device_id) REFERENCES devices(username, device_id) ON DELETE CASCADE
    );
    CREATE INDEX sessions_by_device ON sessions(username, device_id);
    CREATE INDEX sessions_by_expiry ON sessions(expires_at);
    CREATE TABLE invites (
        code_hash  TEXT PRIMARY KEY,
        created_at BIGINT NOT NULL
    );
    -- A v2 body shared by several recipients, stored once (docs/PROTOCOL.md §8.4).
    CREATE TABLE bodies (
        body_id BIGSERIAL PRIMARY KEY,
        sender  TEXT NOT NULL,
        id      TEXT NOT NULL,
        digest  BYTEA NOT NULL,
        common  BYTEA NOT NULL,
        UNIQUE (sender, id)
    );
    CREATE TABLE mailbox (
        seq         BIGSERIAL PRIMARY KEY,
        recipient   TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
        sender      TEXT NOT NULL,
        id          TEXT NOT NULL,
        ts          BIGINT NOT NULL,
        body        BYTEA NOT NULL,
        digest      BYTEA NOT NULL,
        received_at BIGINT NOT NULL,
        shared      BIGINT REFERENCES bodies(body_id),
        size        BIGINT NOT NULL,
        UNIQUE (sender, id, recipient)
    );
    CREATE INDEX mailbox_by_recipient_id ON mailbox(recipient, id);
    CREATE INDEX mailbox_by_shared ON mailbox(shared) WHERE shared IS NOT NULL;
    -- The last mailbox row of a shared body takes the body with it. The body
    -- row is locked first, so that two transactions removing its last two
    -- rows at once cannot each see the other's row and both keep it.
    CREATE FUNCTION mailbox_release_body() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM 1 FROM bodies WHERE body_id = OLD.shared FOR UPDATE;
        DELETE FROM bodies WHERE body_id = OLD.shared
            AND NOT EXISTS (SELECT 1 FROM mailbox WHERE shared = OLD.shared);
        RETURN NULL;
    END $$;
    CREATE TRIGGER mailbox_release_body AFTER DELETE ON mailbox
        FOR EACH ROW WHEN (OLD.shared IS NOT NULL) EXECUTE FUNCTION mailbox_release_body();
    CREATE TABLE copies (
        username  TEXT NOT NULL,
        device_id TEXT NOT NULL,
        seq       BIGINT NOT NULL REFERENCES mailbox(seq) ON DELETE CASCADE,
        PRIMARY KEY (username, device_id, seq),
        FOREIGN KEY (username, device_id) REFERENCES devices(username, device_id) ON DELETE CASCADE
    );
    CREATE INDEX copies_by_seq ON copies(seq);
    CREATE TABLE delivered (
        sender    TEXT NOT NULL,
        id        TEXT NOT NULL,
        recipient TEXT NOT NULL,
        digest    BYTEA NOT NULL,
        acked_at  BIGINT NOT NULL,
        PRIMARY KEY (sender, id, recipient)
    );
    CREATE INDEX delivered_by_time ON delivered(acked_at);
    CREATE INDEX delivered_by_recipient ON delivered(recipient, id);
    CREATE TABLE backups (
        username   TEXT PRIMARY KEY REFERENCES accounts(username) ON DELETE CASCADE,
        body       BYTEA NOT NULL,
        updated_at BIGINT NOT NULL
    );
    CREATE TABLE links (
        username   TEXT PRIMARY KEY REFERENCES accounts(username) ON DELETE CASCADE,
        handle     TEXT NOT NULL,
        body       BYTEA NOT NULL,
        expires_at BIGINT NOT NULL
    );
    CREATE TABLE blobs (
        id         TEXT PRIMARY KEY,
        owner      TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
        size       BIGINT NOT NULL,
        stored     BIGINT NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    );
    CREATE INDEX blobs_by_owner ON blobs(owner);
    CREATE INDEX blobs_by_expiry ON blobs(expires_at);
    CREATE TABLE blob_readers (
        id       TEXT NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
        username TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
        PRIMARY KEY (id, username)
    );
    CREATE INDEX blob_readers_by_user ON blob_readers(username);",
    // 2: the login throttle's counts, shared by the instances (docs/RELAY.md
    // §8). A row is an admitted password check: in flight until it fails
    // (`failed`) or goes; `forgiven` once the pair logged in right since.
    // Rows older than the throttle's window are deleted as admissions pass.
    "CREATE TABLE login_attempts (
        id       BIGSERIAL PRIMARY KEY,
        username TEXT NOT NULL,
        addr     TEXT NOT NULL,
        at       BIGINT NOT NULL,
        failed   BOOLEAN NOT NULL DEFAULT false,
        forgiven BOOLEAN NOT NULL DEFAULT false
    );
    CREATE INDEX login_attempts_by_addr ON login_attempts(addr, at);
    CREATE INDEX login_attempts_by_user ON login_attempts(username, at);
    CREATE INDEX login_attempts_by_time ON login_attempts(at);",
    // 3: every statement that deletes or changes sessions (a logout, a
    // revocation, a device retired, an account deleted by cascade) tells
    // every instance which, so that their session caches forget them
    // (`postgres::sessions`): the token hashes, or `*` past a hundred.
    "CREATE FUNCTION sessions_gone() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        n bigint;
    BEGIN
        SELECT count(*) INTO n FROM gone;
        IF n > 100 THEN
            PERFORM pg_notify('relay_sessions', '*');
        ELSIF n > 0 THEN
            PERFORM pg_notify('relay_sessions', (SELECT string_agg(token_hash, ',') FROM gone));
        END IF;
        RETURN NULL;
    END $$;
    CREATE TRIGGER sessions_deleted AFTER DELETE ON sessions
        REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION sessions_gone();
    CREATE TRIGGER sessions_updated AFTER UPDATE ON sessions
        REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION sessions_gone();",
];

/// The newest schema version this relay knows.
pub fn latest() -> usize {
    MIGRATIONS.len()
}

/// Brings the database to the newest schema in one transaction, under an advisory lock so that instances starting together migrate once.
pub async fn migrate(client: &mut Client) -> Result<(), String> {
    let err = |e: tokio_postgres::Error| super::describe(&e);
    let tx = client.transaction().await.map_err(err)?;
    // Any constant will do, as long as only this code uses it.
    tx.execute("SELECT pg_advisory_xact_lock(7212042018)", &[])
        .await
        .map_err(err)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS relay_schema (version INTEGER NOT NULL);
         INSERT INTO relay_schema (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM relay_schema);",
    )
    .await
    .map_err(err)?;
    let current: i32 = tx
        .query_one("SELECT version FROM relay_schema", &[])
        .await
        .map_err(err)?
        .get(0);
    let current = current as usize;
    if current > MIGRATIONS.len() {
        return Err(format!(
            "database schema version {current} is newer than this relay ({}); upgrade the relay",
            MIGRATIONS.len()
        ));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        tx.batch_execute(sql)
            .await
            .map_err(|e| format!("migration {}: {}", i + 1, super::describe(&e)))?;
        tx.execute("UPDATE relay_schema SET version = $1", &[&((i + 1) as i32)])
            .await
            .map_err(err)?;
    }
    tx.commit().await.map_err(err)
}
