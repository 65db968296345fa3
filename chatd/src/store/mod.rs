//! chatd's local store: SQLite in WAL mode with `synchronous=FULL`, versioned
//! migrations (`schema.rs`), one module per feature.
//!
//! Every change frontends must hear about is written with its event in the
//! same transaction, and the write returns a [`Committed`] that can only be
//! opened by publishing those events: a caller cannot forget to tell the
//! frontends (docs/ARCHITECTURE.md, "Events always reach clients").

mod account;
mod changes;
mod contact_sync;
mod contacts;
mod events;
mod files;
mod groups;
mod history;
mod inbox;
mod outbox;
mod own;
mod quarantine;
mod receipts;
mod rotation;
mod schema;
mod search;
mod transfer;

use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use ipc_schema::methods::{EventEnvelope, MessageState, MessageView};
use rusqlite::Connection;
use tokio::sync::broadcast;

pub use account::{AccountRow, RelayTrust};
pub use changes::{ChangeError, UserChange};
pub use contacts::REMOVED;
pub use events::Retention;
pub use files::{Download, KeptFile, Upload};
pub use groups::{AdminEdit, GroupChange, GroupError, group_peer};
pub use inbox::BatchOutcome;
pub use outbox::{Item, OutgoingKind, Queue, Sealed, Unsealed, UnsealedContent, conversation_of};
pub use quarantine::{KeySeen, QuarantineLimits, Waiting};
pub use rotation::{Applied, PREVIOUS_KEY_GRACE_MS};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("local store: {0}")]
    Sql(#[from] rusqlite::Error),
    /// A contact with this name is pinned to a different card.
    #[error(
        "{0} is already a contact with a different key; remove it first if the change is expected"
    )]
    CardChanged(String),
    /// No such contact.
    #[error("{0} is not a contact")]
    UnknownContact(String),
    /// The fingerprint given does not match the pinned card.
    #[error("fingerprint does not match {0}'s pinned card")]
    FingerprintMismatch(String),
    /// Two rotations of the contact compete: the user must choose first.
    #[error(
        "{0} is frozen between two keys (two different rotations came from one key): compare fingerprints with {0} and accept one (chat-ctl contact accept-key)"
    )]
    Frozen(String),
    /// A value in the database that this chatd cannot read (a newer chatd
    /// wrote it, or the file was edited).
    #[error("local store: unreadable {0}")]
    Corrupt(String),
}

/// Result of store calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// Live events for subscribers. Every event was committed before it is sent
/// here; `subscribe {after}` replays the same events from the store.
pub struct EventBus(broadcast::Sender<EventEnvelope>);

impl Default for EventBus {
    fn default() -> Self {
        EventBus(broadcast::channel(1024).0)
    }
}

impl EventBus {
    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<EventEnvelope> {
        self.0.subscribe()
    }
}

/// The result of a store write together with the events it committed.
/// [`Committed::publish`] is the only way to the result.
#[must_use = "committed events must be published"]
pub struct Committed<T> {
    value: T,
    events: Vec<EventEnvelope>,
}

impl<T> Committed<T> {
    fn new(value: T, events: Vec<EventEnvelope>) -> Self {
        Committed { value, events }
    }

    /// Sends the committed events to live subscribers; returns the result.
    pub fn publish(self, bus: &EventBus) -> T {
        for event in self.events {
            // No subscriber is not an error: the events are in the store.
            let _ = bus.0.send(event);
        }
        self.value
    }

    /// Whether the write changed what a key backup holds: contacts or groups.
    pub fn changes_backup(&self) -> bool {
        self.events.iter().any(|e| {
            matches!(
                e.event,
                ipc_schema::methods::Event::ContactChanged(_)
                    | ipc_schema::methods::Event::GroupUpdated(_)
                    | ipc_schema::methods::Event::GroupRemoved(_)
            )
        })
    }

    /// The events, for tests of the store itself.
    #[cfg(test)]
    fn events(&self) -> &[EventEnvelope] {
        &self.events
    }
}

/// The local database.
pub struct Store {
    conn: Mutex<Connection>,
    /// How long a contact's previous card still verifies after their
    /// rotation, ms (`[keys] grace_days`).
    key_grace_ms: std::sync::atomic::AtomicU64,
    /// Where files are kept: `files/` next to the database.
    files_dir: std::path::PathBuf,
}

impl Store {
    /// Where received files are kept (`files/` next to the database), and
    /// outgoing ones sealed (`files/spool/`).
    pub fn files_dir(&self) -> &Path {
        &self.files_dir
    }

    /// Opens (creating and migrating) the database at `path`.
    pub fn open(path: &Path) -> StoreResult<Store> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Corrupt(format!(
                "journal mode: could not enable WAL (got {mode})"
            )));
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // What is deleted (a message deleted for everyone) is overwritten
        // on disk, not left in free pages (docs/PROTOCOL.md §14.3).
        conn.pragma_update(None, "secure_delete", "ON")?;
        schema::migrate(&mut conn)?;
        Ok(Store {
            files_dir: path
                .parent()
                .unwrap_or_else(|| Path::new("."))
                .join("files"),
            conn: Mutex::new(conn),
            key_grace_ms: std::sync::atomic::AtomicU64::new(PREVIOUS_KEY_GRACE_MS),
        })
    }

    /// Sets how long a contact's previous card still verifies after their
    /// rotation (default [`PREVIOUS_KEY_GRACE_MS`]).
    pub fn set_key_grace_ms(&self, ms: u64) {
        self.key_grace_ms
            .store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// How long a contact's previous card still verifies, ms.
    pub fn key_grace_ms(&self) -> u64 {
        self.key_grace_ms.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = self.conn.lock().expect("store lock");
        f(&mut conn)
    }
}

/// A message state as stored; anything else is a damaged database, not a
/// silent `queued`.
fn parse_state(s: &str) -> rusqlite::Result<MessageState> {
    s.parse().map_err(|e: ipc_schema::methods::UnknownName| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub(crate) const MESSAGE_COLUMNS: &str =
    "id, sender, recipient, ts, direction, kind, body, reply_to, state, failure, seq, peer,
     edited_at IS NOT NULL, deleted";

fn message_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MessageView> {
    let direction: String = r.get(4)?;
    Ok(MessageView {
        id: r.get(0)?,
        from: r.get(1)?,
        to: r.get(2)?,
        ts: r.get::<_, i64>(3)? as u64,
        direction: direction
            .parse()
            .map_err(|e: ipc_schema::methods::UnknownName| {
                rusqlite::Error::FromSqlConversionFailure(
                    4,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?,
        kind: r.get(5)?,
        body: r.get(6)?,
        reply_to: r.get(7)?,
        state: parse_state(&r.get::<_, String>(8)?)?,
        failure: r.get(9)?,
        seq: r.get::<_, i64>(10)? as u64,
        truncated: false,
        group: r.get::<_, String>(11)?.strip_prefix('#').map(str::to_owned),
        deliveries: Vec::new(),
        edited: r.get(12)?,
        deleted: r.get(13)?,
        reactions: Vec::new(),
        file: None,
    })
}

/// A fresh random message id (32 lowercase hex digits).
pub fn new_message_id() -> String {
    ipc_schema::fingerprint::to_hex(&rand::random::<[u8; 16]>())
}

#[cfg(test)]
mod tests;
