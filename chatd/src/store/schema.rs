//! chatd's schema, versioned in the database (`PRAGMA user_version`).

use rusqlite::Connection;

/// Each entry moves the schema from version `i` to `i + 1`. Never edit one
/// that has shipped; append.
const MIGRATIONS: &[&str] = &[
    // 1: account, contacts, messages, outbox, seen ids, counters, events.
    "CREATE TABLE account (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        user       TEXT NOT NULL,
        relay_url  TEXT NOT NULL,
        key_bits   INTEGER NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE contacts (
        user        TEXT PRIMARY KEY,
        card        TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        verified    INTEGER NOT NULL DEFAULT 0,
        added_at    INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE messages (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        id          TEXT NOT NULL,
        peer        TEXT NOT NULL,
        direction   TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        sender      TEXT NOT NULL,
        recipient   TEXT NOT NULL,
        ts          INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        kind        TEXT NOT NULL,
        body        TEXT,
        reply_to    TEXT,
        raw         TEXT,
        state       TEXT NOT NULL,
        failure     TEXT,
        UNIQUE (sender, id)
    );
    CREATE INDEX messages_by_peer ON messages(peer, seq);
    CREATE INDEX messages_unread ON messages(peer) WHERE direction = 'in' AND state != 'read';
    CREATE TABLE outbox (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        id              TEXT NOT NULL UNIQUE,
        peer            TEXT NOT NULL,
        is_receipt      INTEGER NOT NULL,
        envelope        TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        created_at      INTEGER NOT NULL
    );
    CREATE TABLE seen (
        sender TEXT NOT NULL,
        id     TEXT NOT NULL,
        PRIMARY KEY (sender, id)
    ) WITHOUT ROWID;
    CREATE TABLE counters (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE events (
        seq    INTEGER PRIMARY KEY AUTOINCREMENT,
        ts     INTEGER NOT NULL,
        name   TEXT NOT NULL,
        params TEXT NOT NULL
    );",
    // 2: delivered receipts owed, committed with the texts they answer, so
    // a batch can be acknowledged before its receipts are sealed.
    "CREATE TABLE receipts_due (
        sender TEXT NOT NULL,
        id     TEXT NOT NULL,
        PRIMARY KEY (sender, id)
    ) WITHOUT ROWID;",
    // 3: a queued message's envelope may be sealed later, when it is sent
    // (NULL until then): `message.send` answers after one commit, without
    // waiting for an RSA signature. SQLite cannot drop NOT NULL in place.
    "CREATE TABLE outbox_v3 (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        id              TEXT NOT NULL UNIQUE,
        peer            TEXT NOT NULL,
        is_receipt      INTEGER NOT NULL,
        envelope        TEXT CHECK (envelope IS NOT NULL OR is_receipt = 0),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        created_at      INTEGER NOT NULL
    );
    INSERT INTO outbox_v3 (seq, id, peer, is_receipt, envelope, attempts, next_attempt_at, created_at)
        SELECT seq, id, peer, is_receipt, envelope, attempts, next_attempt_at, created_at FROM outbox;
    DROP TABLE outbox;
    ALTER TABLE outbox_v3 RENAME TO outbox;",
    // 4: our own messages are looked up by id alone (sealing, the relay's
    // answer, receipts); without this each lookup scanned the whole history
    // (found by the throughput bench: alice's CPU per message grew with it).
    "CREATE INDEX messages_by_id ON messages(id);",
    // 5: one outgoing pipeline (docs/ARCHITECTURE.md). Texts, delivered and
    // read receipts all enter the outbox unsealed (`envelope` NULL; a
    // receipt's ids in `payload` as a JSON array) and one sealer seals them;
    // each recipient's items go out in order, and a recipient that cannot
    // take mail (507) holds back only its own items, whose head row carries
    // the backoff. The receipts owed (table `receipts_due`) become unsealed
    // receipt rows. `meta` remembers up to where events were pruned.
    "CREATE TABLE outbox_v5 (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        id              TEXT NOT NULL UNIQUE,
        peer            TEXT NOT NULL,
        kind            TEXT NOT NULL CHECK (kind IN ('text', 'delivered', 'read')),
        payload         TEXT,
        envelope        TEXT,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        created_at      INTEGER NOT NULL,
        CHECK (kind = 'text' OR envelope IS NOT NULL OR payload IS NOT NULL)
    );
    INSERT INTO outbox_v5 (seq, id, peer, kind, payload, envelope, attempts, next_attempt_at, created_at)
        SELECT seq, id, peer, CASE WHEN is_receipt THEN 'delivered' ELSE 'text' END, NULL,
               envelope, attempts, created_at, created_at
        FROM outbox;
    DROP TABLE outbox;
    ALTER TABLE outbox_v5 RENAME TO outbox;
    CREATE INDEX outbox_by_peer ON outbox(peer, seq);
    INSERT INTO outbox (id, peer, kind, payload, next_attempt_at, created_at)
        SELECT lower(hex(randomblob(16))), sender, 'delivered', json_group_array(id), 0,
               CAST(strftime('%s', 'now') AS INTEGER) * 1000
        FROM receipts_due GROUP BY sender;
    DROP TABLE receipts_due;
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX events_by_ts ON events(ts);",
    // 6: how chatd trusts its relay (docs/SECURITY.md §2.1): plain HTTP
    // allowed off loopback only when chosen, an extra CA (PEM), or a pin of
    // the certificate's SubjectPublicKeyInfo (SHA-256, hex).
    "ALTER TABLE account ADD COLUMN insecure_http INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE account ADD COLUMN relay_ca TEXT;
    ALTER TABLE account ADD COLUMN relay_pin TEXT;",
    // 7: groups (docs/PROTOCOL.md §9). Every roster that counted, in the
    // order it came (the first is where this member's history starts); the
    // current roster's members, with the cards messages are sealed to and
    // checked against; each member's delivery of our group messages; group
    // messages waiting for a roster that makes their sender a member. The
    // outbox gets roster items and a fixed recipient list for them.
    "CREATE TABLE groups (
        id         TEXT PRIMARY KEY,
        name       TEXT NOT NULL,
        state      TEXT NOT NULL CHECK (state IN ('member', 'removed', 'left')),
        version    INTEGER NOT NULL,
        head       TEXT NOT NULL,
        created_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE group_rosters (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        group_id    TEXT NOT NULL,
        hash        TEXT NOT NULL,
        text        TEXT NOT NULL,
        sender      TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        -- 0 while it waits for its parent (bounded, docs/PROTOCOL.md §9.3).
        accepted    INTEGER NOT NULL DEFAULT 1,
        UNIQUE (group_id, hash)
    );
    CREATE TABLE group_members (
        group_id      TEXT NOT NULL,
        user          TEXT NOT NULL,
        card          TEXT NOT NULL,
        fingerprint   TEXT NOT NULL,
        admin         INTEGER NOT NULL,
        since         INTEGER NOT NULL,
        introduced_by TEXT NOT NULL,
        PRIMARY KEY (group_id, user)
    ) WITHOUT ROWID;
    CREATE TABLE deliveries (
        id    TEXT NOT NULL,
        user  TEXT NOT NULL,
        state TEXT NOT NULL,
        PRIMARY KEY (id, user)
    ) WITHOUT ROWID;
    CREATE TABLE group_waiting (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        group_id    TEXT NOT NULL,
        sender      TEXT NOT NULL,
        id          TEXT NOT NULL,
        ts          INTEGER NOT NULL,
        body        TEXT NOT NULL,
        reply_to    TEXT,
        received_at INTEGER NOT NULL,
        UNIQUE (sender, id)
    );
    CREATE TABLE outbox_v7 (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        id              TEXT NOT NULL UNIQUE,
        peer            TEXT NOT NULL,
        kind            TEXT NOT NULL CHECK (kind IN ('text', 'delivered', 'read', 'roster')),
        payload         TEXT,
        envelope        TEXT,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        created_at      INTEGER NOT NULL,
        recipients      TEXT,
        CHECK (kind = 'text' OR envelope IS NOT NULL OR payload IS NOT NULL)
    );
    INSERT INTO outbox_v7 (seq, id, peer, kind, payload, envelope, attempts, next_attempt_at, created_at)
        SELECT seq, id, peer, kind, payload, envelope, attempts, next_attempt_at, created_at FROM outbox;
    DROP TABLE outbox;
    ALTER TABLE outbox_v7 RENAME TO outbox;
    CREATE INDEX outbox_by_peer ON outbox(peer, seq);",
    // 8: this machine is one device of the account (docs/RELAY.md,
    // "Devices"): the relay's id for it, known after the first login.
    "ALTER TABLE account ADD COLUMN device_id TEXT;",
    // 9: announcements to this account's other devices (docs/PROTOCOL.md
    // §11.3) queue in the outbox as kind 'announce'.
    "CREATE TABLE outbox_v9 (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        id              TEXT NOT NULL UNIQUE,
        peer            TEXT NOT NULL,
        kind            TEXT NOT NULL CHECK (kind IN ('text', 'delivered', 'read', 'roster', 'announce')),
        payload         TEXT,
        envelope        TEXT,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        created_at      INTEGER NOT NULL,
        recipients      TEXT,
        CHECK (kind = 'text' OR envelope IS NOT NULL OR payload IS NOT NULL)
    );
    INSERT INTO outbox_v9 (seq, id, peer, kind, payload, envelope, attempts, next_attempt_at, created_at, recipients)
        SELECT seq, id, peer, kind, payload, envelope, attempts, next_attempt_at, created_at, recipients FROM outbox;
    DROP TABLE outbox;
    ALTER TABLE outbox_v9 RENAME TO outbox;
    CREATE INDEX outbox_by_peer ON outbox(peer, seq);",
    // 10: contacts sync between the account's devices (docs/PROTOCOL.md
    // §11.4): the last change to each contact, (when, by which device), and
    // the same for contacts removed, so that the last writer wins.
    "ALTER TABLE contacts ADD COLUMN changed_at INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE contacts ADD COLUMN changed_by TEXT NOT NULL DEFAULT '';
    CREATE TABLE contacts_removed (
        user       TEXT PRIMARY KEY,
        changed_at INTEGER NOT NULL,
        changed_by TEXT NOT NULL
    ) WITHOUT ROWID;",
    // 11: key changes (docs/SECURITY.md, "Key changes"). Envelopes from a
    // contact that fail the signature check wait in a bounded quarantine
    // until the user accepts or refuses the key the directory has now (the
    // contact's `pending_*`); what is lost is counted per contact.
    "CREATE TABLE quarantine (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        sender      TEXT NOT NULL,
        id          TEXT NOT NULL,
        envelope    TEXT NOT NULL,
        bytes       INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        UNIQUE (sender, id)
    );
    CREATE INDEX quarantine_by_sender ON quarantine(sender, seq);
    ALTER TABLE contacts ADD COLUMN pending_card TEXT;
    ALTER TABLE contacts ADD COLUMN pending_fingerprint TEXT;
    CREATE TABLE contact_drops (
        user   TEXT NOT NULL,
        reason TEXT NOT NULL,
        count  INTEGER NOT NULL,
        PRIMARY KEY (user, reason)
    ) WITHOUT ROWID;",
    // 12: key rotations (docs/PROTOCOL.md §13). Per contact: the highest
    // transition counter accepted, whether the key was continued by a signed
    // rotation and not verified since, the card before it (its signing key
    // still verifies until `previous_until`), and whether two transitions
    // from one key disagreed (frozen until the user chooses). Every
    // transition accepted is kept, to tell a conflicting one. This account's
    // own rotations: how many, and until when the retired keys (in the
    // keystore) still open what was sealed to them.
    "ALTER TABLE contacts ADD COLUMN rotations INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE contacts ADD COLUMN rotated INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE contacts ADD COLUMN previous_card TEXT;
    ALTER TABLE contacts ADD COLUMN previous_until INTEGER;
    ALTER TABLE contacts ADD COLUMN frozen INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE transitions (
        user        TEXT NOT NULL,
        old         TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        counter     INTEGER NOT NULL,
        text        TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (user, old, fingerprint)
    ) WITHOUT ROWID;
    ALTER TABLE account ADD COLUMN rotations INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE account ADD COLUMN retired_until INTEGER;",
    // 13: edits, deletes and reactions (docs/PROTOCOL.md §14). `edited_at`
    // is the sender's ts of the version shown; the versions before it, and
    // edits that came late, are in `message_edits`. A reaction taken back
    // stays as a row with no emoji, so an older one arriving late does not
    // come back.
    "ALTER TABLE messages ADD COLUMN edited_at INTEGER;
    ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE message_edits (
        sender TEXT NOT NULL,
        id     TEXT NOT NULL,
        ts     INTEGER NOT NULL,
        body   TEXT NOT NULL,
        PRIMARY KEY (sender, id, ts)
    ) WITHOUT ROWID;
    CREATE TABLE reactions (
        sender   TEXT NOT NULL,
        id       TEXT NOT NULL,
        user     TEXT NOT NULL,
        emoji    TEXT,
        ts       INTEGER NOT NULL,
        first_at INTEGER NOT NULL,
        PRIMARY KEY (sender, id, user)
    ) WITHOUT ROWID;
    CREATE TABLE outbox_v13 (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        id              TEXT NOT NULL UNIQUE,
        peer            TEXT NOT NULL,
        kind            TEXT NOT NULL
                        CHECK (kind IN ('text', 'delivered', 'read', 'roster', 'announce', 'change')),
        payload         TEXT,
        envelope        TEXT,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        created_at      INTEGER NOT NULL,
        recipients      TEXT,
        CHECK (kind = 'text' OR envelope IS NOT NULL OR payload IS NOT NULL)
    );
    INSERT INTO outbox_v13 (seq, id, peer, kind, payload, envelope, attempts, next_attempt_at, created_at, recipients)
        SELECT seq, id, peer, kind, payload, envelope, attempts, next_attempt_at, created_at, recipients FROM outbox;
    DROP TABLE outbox;
    ALTER TABLE outbox_v13 RENAME TO outbox;
    CREATE INDEX outbox_by_peer ON outbox(peer, seq);",
    // 14: search over all history (FTS5). The index holds texts' words,
    // not the texts (`content` is the messages table); triggers keep it in
    // the transaction that writes the message, and follow edits and
    // deletes. `secure-delete` removes a deleted text's words from the
    // index's own pages instead of marking them deleted. The prefix indexes
    // keep a short last word (searched as a prefix) from merging thousands
    // of words' lists.
    "CREATE VIRTUAL TABLE messages_fts USING fts5(
        body, content = 'messages', content_rowid = 'seq',
        tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
    );
    INSERT INTO messages_fts (messages_fts, rank) VALUES ('secure-delete', 1);
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
    WHEN new.kind = 'text' AND new.body IS NOT NULL BEGIN
        INSERT INTO messages_fts (rowid, body) VALUES (new.seq, new.body);
    END;
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
    WHEN old.kind = 'text' AND old.body IS NOT NULL BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.seq, old.body);
    END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF body, kind ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, body)
            SELECT 'delete', old.seq, old.body WHERE old.kind = 'text' AND old.body IS NOT NULL;
        INSERT INTO messages_fts (rowid, body)
            SELECT new.seq, new.body WHERE new.kind = 'text' AND new.body IS NOT NULL;
    END;
    INSERT INTO messages_fts (rowid, body)
        SELECT seq, body FROM messages WHERE kind = 'text' AND body IS NOT NULL;",
    // 15: files (docs/PROTOCOL.md §15.4). One row per file message (the
    // message's `body` is the file's shown name): the offer as it came or
    // went, where the blob is, and the retry schedule of its upload or
    // download. The file itself is kept under the data dir, named by
    // sender and id, never by the name a peer gave.
    "CREATE TABLE files (
        sender          TEXT NOT NULL,
        id              TEXT NOT NULL,
        peer            TEXT NOT NULL,
        blob            TEXT NOT NULL,
        size            INTEGER NOT NULL,
        name            TEXT NOT NULL,
        media_type      TEXT NOT NULL,
        key             TEXT NOT NULL,
        sha256          TEXT NOT NULL,
        state           TEXT NOT NULL CHECK (state IN
                        ('uploading', 'uploaded', 'waiting', 'downloading', 'ready', 'failed')),
        failure         TEXT,
        done            INTEGER NOT NULL DEFAULT 0,
        requested       INTEGER NOT NULL DEFAULT 0,
        readers         TEXT,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (sender, id)
    ) WITHOUT ROWID;
    CREATE INDEX files_by_state ON files(state, next_attempt_at);",
    // 16: a relay reached at several URLs (its instances): `relay_url` is
    // the first, `relay_more_urls` the others in order, as a JSON array.
    "ALTER TABLE account ADD COLUMN relay_more_urls TEXT NOT NULL DEFAULT '[]';",
];

/// Brings the database to the newest schema, one transaction per step.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current as usize > MIGRATIONS.len() {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "database schema version {current} is newer than this chatd ({}); upgrade chatd",
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A database as the chatd of version `version` left it.
    fn at_version(path: &std::path::Path, version: usize) -> Connection {
        let conn = Connection::open(path).unwrap();
        for sql in &MIGRATIONS[..version] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", version as i64)
            .unwrap();
        conn
    }

    /// Migration 16 (several relay URLs) on an account a version-15 chatd
    /// wrote: the account keeps its one URL, its trust settings and its
    /// device, and the new column reads as no more URLs.
    #[test]
    fn an_account_from_before_several_urls_keeps_its_one_url() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chatd.db");
        let old = at_version(&path, 15);
        old.execute(
            "INSERT INTO account (id, user, relay_url, key_bits, created_at, insecure_http,
                                  relay_ca, relay_pin, device_id)
             VALUES (1, 'alice', 'https://relay.example:8443', 3072, 1, 0, NULL,
                     'sha256/AAAA', '0123456789abcdef')",
            [],
        )
        .unwrap();
        drop(old);

        let store = crate::store::Store::open(&path).unwrap();
        let account = store.account().unwrap().unwrap();
        assert_eq!(account.user, "alice");
        assert_eq!(account.relay_urls, ["https://relay.example:8443"]);
        assert_eq!(account.key_bits, 3072);
        assert_eq!(account.trust.pin.as_deref(), Some("sha256/AAAA"));
        assert_eq!(account.device_id.as_deref(), Some("0123456789abcdef"));
        drop(store);
        let conn = Connection::open(&path).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version as usize, MIGRATIONS.len());
    }

    /// Every version a chatd has shipped upgrades to the newest in one open.
    #[test]
    fn every_older_schema_upgrades_to_the_newest() {
        for version in 0..MIGRATIONS.len() {
            let dir = tempfile::tempdir().unwrap();
            let mut conn = at_version(&dir.path().join("chatd.db"), version);
            migrate(&mut conn).unwrap_or_else(|e| panic!("from version {version}: {e}"));
            let now: i64 = conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap();
            assert_eq!(now as usize, MIGRATIONS.len(), "from version {version}");
        }
    }
}
