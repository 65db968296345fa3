//! Files of messages (docs/PROTOCOL.md §15.4): the offer each file message
//! carries, and where its blob is: going up from this device, waiting for
//! a request, coming down, kept, or failed. Uploads and downloads are
//! retried with a schedule kept here, so a restart goes on where it was.
//! The file itself lives under the data dir (`daemon::files`), named by
//! sender and id, never by the name a peer gave.

use ipc_schema::FileOffer;
use ipc_schema::methods::{
    Event, EventEnvelope, FileState, FileView, MessageChangeKind, MessageChangedEvent,
    MessageReceivedEvent, MessageState, MessageView,
};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::events::push_event;
use super::outbox::set_out_state;
use super::{Committed, Store, StoreError, StoreResult, now_ms};

/// Which files the downloads take (`?2` the automatic limit, `?3` the
/// per-sender budget, both bytes): asked for, coming down, or small enough
/// to come down by themselves while the sender's unasked files kept here
/// (and coming down) stay within the budget.
const DUE: &str = "(state = 'downloading' OR (state = 'waiting' AND (requested = 1 OR (size <= ?2
    AND size + (SELECT coalesce(sum(g.size), 0) FROM files g
                WHERE g.sender = f.sender AND g.requested = 0
                  AND g.state IN ('ready', 'downloading')) <= ?3))))";

fn clamp(bytes: u64) -> i64 {
    bytes.min(i64::MAX as u64) as i64
}

fn state_name(s: FileState) -> &'static str {
    match s {
        FileState::Uploading => "uploading",
        FileState::Uploaded => "uploaded",
        FileState::Waiting => "waiting",
        FileState::Downloading => "downloading",
        FileState::Ready => "ready",
        FileState::Failed => "failed",
    }
}

fn parse_file_state(s: &str) -> rusqlite::Result<FileState> {
    Ok(match s {
        "uploading" => FileState::Uploading,
        "uploaded" => FileState::Uploaded,
        "waiting" => FileState::Waiting,
        "downloading" => FileState::Downloading,
        "ready" => FileState::Ready,
        "failed" => FileState::Failed,
        other => {
            return Err(rusqlite::Error::FromSqlConversionFailure(
                0,
                rusqlite::types::Type::Text,
                format!("file state `{other}`").into(),
            ));
        }
    })
}

/// Records the file of message (`sender`, `id`) in conversation `peer`.
pub(super) fn record(
    tx: &Transaction<'_>,
    sender: &str,
    id: &str,
    peer: &str,
    offer: &FileOffer,
    state: FileState,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR IGNORE INTO files (sender, id, peer, blob, size, name, media_type, key, sha256, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            sender,
            id,
            peer,
            offer.blob,
            offer.size as i64,
            ipc_schema::files::shown_name(&offer.name),
            offer.media_type,
            offer.key,
            offer.sha256,
            state_name(state)
        ],
    )?;
    Ok(())
}

/// Fills in the file of each file message.
pub(super) fn attach(c: &Connection, messages: &mut [MessageView]) -> rusqlite::Result<()> {
    let mut stmt = c.prepare_cached(
        "SELECT name, size, media_type, state, done, failure FROM files WHERE sender = ?1 AND id = ?2",
    )?;
    for m in messages.iter_mut().filter(|m| m.kind == "file") {
        m.file = stmt
            .query_row(params![m.from, m.id], |r| {
                Ok(Box::new(FileView {
                    name: r.get(0)?,
                    size: r.get::<_, i64>(1)? as u64,
                    media_type: r.get(2)?,
                    state: parse_file_state(&r.get::<_, String>(3)?)?,
                    done: r.get::<_, i64>(4)? as u64,
                    failure: r.get(5)?,
                }))
            })
            .optional()?;
    }
    Ok(())
}

/// Tells frontends that message (`sender`, `id`)'s file moved.
fn changed(
    tx: &Transaction<'_>,
    sender: &str,
    id: &str,
    events: &mut Vec<EventEnvelope>,
) -> StoreResult<()> {
    let row: Option<(i64, String)> = tx
        .query_row(
            "SELECT seq, peer FROM messages WHERE sender = ?1 AND id = ?2",
            params![sender, id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((seq, peer)) = row else {
        return Ok(());
    };
    let Some(message) = super::changes::view(tx, seq)? else {
        return Ok(());
    };
    push_event(
        tx,
        events,
        Event::MessageChanged(MessageChangedEvent {
            change: MessageChangeKind::File,
            by: sender.to_owned(),
            peer,
            message: Box::new(message),
        }),
    )?;
    Ok(())
}

/// A file going up from this device.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The message's id.
    pub id: String,
    /// Its conversation.
    pub peer: String,
    /// The blob's id.
    pub blob: String,
    /// The file's size.
    pub size: u64,
    /// Who may fetch the blob.
    pub readers: Vec<String>,
    /// Failed tries so far.
    pub attempts: u32,
}

/// A file to bring down.
#[derive(Debug, Clone)]
pub struct Download {
    /// Who sent it (this account, from another device, included).
    pub sender: String,
    /// The message's id.
    pub id: String,
    /// The offer it came with (name as shown).
    pub offer: FileOffer,
    /// Failed tries so far.
    pub attempts: u32,
}

/// A kept file, for `file.read`.
#[derive(Debug, Clone)]
pub struct KeptFile {
    /// Who sent it.
    pub sender: String,
    /// The message's id.
    pub id: String,
    /// Its shown name.
    pub name: String,
    /// Its size.
    pub size: u64,
    /// Where it is.
    pub state: FileState,
}

impl Store {
    /// Commits an outgoing file message (state `queued`, its file
    /// `uploading`): it enters the outbox only once the blob is up
    /// ([`Store::upload_done`]).
    pub fn queue_file(
        &self,
        view: &MessageView,
        offer: &FileOffer,
        readers: &[String],
    ) -> StoreResult<Committed<MessageView>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let now = now_ms() as i64;
            tx.execute(
                "INSERT INTO messages (id, peer, direction, sender, recipient, ts, received_at, kind, body, reply_to, state)
                 VALUES (?1, ?2, 'out', ?3, ?2, ?4, ?5, 'file', ?6, ?7, 'queued')",
                params![view.id, view.to, view.from, view.ts as i64, now, view.body, view.reply_to],
            )?;
            let seq = tx.last_insert_rowid();
            record(&tx, &view.from, &view.id, &view.to, offer, FileState::Uploading)?;
            tx.execute(
                "UPDATE files SET readers = ?3 WHERE sender = ?1 AND id = ?2",
                params![
                    view.from,
                    view.id,
                    serde_json::to_string(readers).expect("names serialize")
                ],
            )?;
            let queued = super::changes::view(&tx, seq)?
                .ok_or_else(|| StoreError::Corrupt("queued file".into()))?;
            let mut events = Vec::new();
            push_event(
                &tx,
                &mut events,
                Event::MessageReceived(MessageReceivedEvent {
                    message: queued.clone(),
                }),
            )?;
            tx.commit()?;
            Ok(Committed::new(queued, events))
        })
    }

    /// This device's uploads due at `now`, oldest first.
    pub fn uploads_due(&self, me: &str, now: u64) -> StoreResult<Vec<Upload>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT f.id, f.peer, f.blob, f.size, f.readers, f.attempts FROM files f
                 JOIN messages m ON m.sender = f.sender AND m.id = f.id AND m.direction = 'out'
                 WHERE f.sender = ?1 AND f.state = 'uploading' AND f.next_attempt_at <= ?2
                 ORDER BY m.seq",
            )?;
            let rows = stmt.query_map(params![me, now as i64], |r| {
                let readers: Option<String> = r.get(4)?;
                Ok(Upload {
                    id: r.get(0)?,
                    peer: r.get(1)?,
                    blob: r.get(2)?,
                    size: r.get::<_, i64>(3)? as u64,
                    readers: readers
                        .and_then(|t| serde_json::from_str(&t).ok())
                        .unwrap_or_default(),
                    attempts: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// The offer of this device's file message `id` (to seal it).
    pub fn file_offer(&self, sender: &str, id: &str) -> StoreResult<Option<FileOffer>> {
        self.with(|c| Ok(offer(c, sender, id)?))
    }

    /// The blob of this device's file `id` is up: the message enters the
    /// outbox (the blob always goes up before the message is sent).
    pub fn upload_done(&self, me: &str, id: &str) -> StoreResult<Committed<()>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let peer: Option<String> = tx
                .query_row(
                    "UPDATE files SET state = 'uploaded', done = size, attempts = 0
                     WHERE sender = ?1 AND id = ?2 AND state = 'uploading' RETURNING peer",
                    params![me, id],
                    |r| r.get(0),
                )
                .optional()?;
            let mut events = Vec::new();
            if let Some(peer) = peer {
                let now = now_ms() as i64;
                tx.execute(
                    "INSERT OR IGNORE INTO outbox (id, peer, kind, next_attempt_at, created_at)
                     VALUES (?1, ?2, 'text', ?3, ?3)",
                    params![id, peer, now],
                )?;
                changed(&tx, me, id, &mut events)?;
            }
            tx.commit()?;
            Ok(Committed::new((), events))
        })
    }

    /// Bytes of file (`sender`, `id`) moved so far.
    pub fn file_progress(&self, sender: &str, id: &str, done: u64) -> StoreResult<Committed<()>> {
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE files SET done = ?3 WHERE sender = ?1 AND id = ?2",
                params![sender, id, done as i64],
            )?;
            let mut events = Vec::new();
            changed(&tx, sender, id, &mut events)?;
            tx.commit()?;
            Ok(Committed::new((), events))
        })
    }

    /// File (`sender`, `id`) can never move: it fails with `reason` (and an
    /// outgoing message whose blob never went up fails with it).
    pub fn file_failed(&self, sender: &str, id: &str, reason: &str) -> StoreResult<Committed<()>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let row: Option<(String, String)> = tx
                .query_row(
                    "UPDATE files SET state = 'failed', failure = ?3
                     WHERE sender = ?1 AND id = ?2 RETURNING peer,
                     (SELECT direction FROM messages WHERE sender = ?1 AND id = ?2)",
                    params![sender, id, reason],
                    |r| {
                        Ok((
                            r.get(0)?,
                            r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                        ))
                    },
                )
                .optional()?;
            let mut events = Vec::new();
            if let Some((peer, direction)) = row {
                let uploading: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM messages m WHERE m.sender = ?1 AND m.id = ?2
                       AND m.direction = 'out' AND m.state = 'queued'
                       AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.id = m.id))",
                    params![sender, id],
                    |r| r.get(0),
                )?;
                if direction == "out" && uploading {
                    set_out_state(
                        &tx,
                        id,
                        &peer,
                        MessageState::Failed,
                        Some(reason),
                        &mut events,
                    )?;
                }
                changed(&tx, sender, id, &mut events)?;
            }
            tx.commit()?;
            Ok(Committed::new((), events))
        })
    }

    /// File (`sender`, `id`) is tried again at `next_at` (ms).
    pub fn file_back_off(
        &self,
        sender: &str,
        id: &str,
        attempts: u32,
        next_at: u64,
    ) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "UPDATE files SET attempts = ?3, next_attempt_at = ?4 WHERE sender = ?1 AND id = ?2",
                params![sender, id, attempts, next_at as i64],
            )?;
            Ok(())
        })
    }

    /// Files to bring down at `now`: those asked for, those that were
    /// coming down when chatd stopped, and received ones of at most
    /// `auto_limit` bytes while their sender's files that came down by
    /// themselves stay within `budget` bytes.
    pub fn downloads_due(
        &self,
        now: u64,
        auto_limit: u64,
        budget: u64,
    ) -> StoreResult<Vec<Download>> {
        self.with(|c| {
            let keys: Vec<(String, String, u32)> = c
                .prepare_cached(&format!(
                    "SELECT sender, id, attempts FROM files f WHERE {DUE} AND next_attempt_at <= ?1
                     ORDER BY next_attempt_at, size LIMIT 16"
                ))?
                .query_map(params![now as i64, clamp(auto_limit), clamp(budget)], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect::<Result<_, _>>()?;
            let mut out = Vec::with_capacity(keys.len());
            for (sender, id, attempts) in keys {
                if let Some(offer) = offer(c, &sender, &id)? {
                    out.push(Download {
                        sender,
                        id,
                        offer,
                        attempts,
                    });
                }
            }
            Ok(out)
        })
    }

    /// When the next upload or download retry is due, if any waits.
    pub fn next_file_due(&self, auto_limit: u64, budget: u64) -> StoreResult<Option<u64>> {
        self.with(|c| {
            Ok(c.query_row(
                &format!(
                    "SELECT min(next_attempt_at) FROM files f WHERE state = 'uploading' OR {DUE}"
                ),
                params![0, clamp(auto_limit), clamp(budget)],
                |r| r.get::<_, Option<i64>>(0),
            )?
            .map(|t| t.max(0) as u64))
        })
    }

    /// File (`sender`, `id`) is coming down (or came down: `ready`).
    pub fn download_state(
        &self,
        sender: &str,
        id: &str,
        state: FileState,
    ) -> StoreResult<Committed<()>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let n = tx.execute(
                "UPDATE files SET state = ?3, failure = NULL,
                     done = CASE WHEN ?3 = 'ready' THEN size ELSE done END,
                     attempts = CASE WHEN ?3 = 'ready' THEN 0 ELSE attempts END
                 WHERE sender = ?1 AND id = ?2 AND state != ?3",
                params![sender, id, state_name(state)],
            )?;
            let mut events = Vec::new();
            if n > 0 {
                changed(&tx, sender, id, &mut events)?;
            }
            tx.commit()?;
            Ok(Committed::new((), events))
        })
    }

    /// The user asks for message `id`'s file (whole id or 8+ first hex
    /// digits) in conversation `peer`: it comes down whatever its size,
    /// and one that failed is tried again.
    pub fn request_file(&self, peer: Option<&str>, id: &str) -> StoreResult<Option<KeptFile>> {
        let Some(kept) = self.kept_file(peer, id)? else {
            return Ok(None);
        };
        self.with(|c| {
            c.execute(
                "UPDATE files SET requested = 1, next_attempt_at = 0, attempts = 0,
                     state = CASE WHEN state IN ('failed', 'uploaded') THEN 'waiting' ELSE state END,
                     failure = CASE WHEN state IN ('failed', 'uploaded') THEN NULL ELSE failure END
                 WHERE sender = ?1 AND id = ?2 AND state IN ('waiting', 'failed', 'uploaded')",
                params![kept.sender, kept.id],
            )?;
            Ok(())
        })?;
        self.kept_file(peer, &kept.id)
    }

    /// Message `id`'s file in conversation `peer` (whole id or its first
    /// 8+ hex digits).
    pub fn kept_file(&self, peer: Option<&str>, id: &str) -> StoreResult<Option<KeptFile>> {
        self.with(|c| {
            let rows: Vec<KeptFile> = c
                .prepare_cached(
                    "SELECT f.sender, f.id, f.size, f.state, f.name FROM files f
                     JOIN messages m ON m.sender = f.sender AND m.id = f.id
                     WHERE (?1 IS NULL OR m.peer = ?1) AND m.deleted = 0
                       AND (f.id = ?2 OR (length(?2) BETWEEN 8 AND 31 AND substr(f.id, 1, length(?2)) = ?2))
                     LIMIT 2",
                )?
                .query_map(params![peer, id], |r| {
                    Ok(KeptFile {
                        sender: r.get(0)?,
                        id: r.get(1)?,
                        size: r.get::<_, i64>(2)? as u64,
                        state: parse_file_state(&r.get::<_, String>(3)?)?,
                        name: r.get(4)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(match rows.len() {
                1 => rows.into_iter().next(),
                _ => None,
            })
        })
    }

    /// Every (sender, id) with a file row (whatever its state).
    pub fn file_keys(&self) -> StoreResult<Vec<(String, String)>> {
        self.with(|c| {
            Ok(c.prepare("SELECT sender, id FROM files")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?)
        })
    }

    /// The blob of `me`'s own file message `id` (whole id or 8+ first
    /// hex digits), if it is one.
    pub fn own_blob(&self, me: &str, id: &str) -> StoreResult<Option<String>> {
        self.with(|c| {
            let blobs: Vec<String> = c
                .prepare_cached(
                    "SELECT blob FROM files WHERE sender = ?1
                       AND (id = ?2 OR (length(?2) BETWEEN 8 AND 31 AND substr(id, 1, length(?2)) = ?2))
                     LIMIT 2",
                )?
                .query_map(params![me, id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(match blobs.len() {
                1 => blobs.into_iter().next(),
                _ => None,
            })
        })
    }

    /// The blobs of this device's uploads still to go up.
    pub fn uploading_blobs(&self) -> StoreResult<Vec<String>> {
        self.with(|c| {
            Ok(
                c.prepare("SELECT blob FROM files WHERE state = 'uploading'")?
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<_, _>>()?,
            )
        })
    }

    /// Who may fetch a file sent to conversation `peer`: the contact, or a
    /// group's current members; this account always (its other devices).
    pub fn file_readers(&self, me: &str, peer: &str) -> StoreResult<Vec<String>> {
        self.with(|c| {
            let mut readers: Vec<String> = match peer.strip_prefix('#') {
                Some(group) => c
                    .prepare("SELECT user FROM group_members WHERE group_id = ?1 ORDER BY user")?
                    .query_map([group], |r| r.get(0))?
                    .collect::<Result<_, _>>()?,
                None => vec![peer.to_owned()],
            };
            readers.retain(|u| u != me);
            readers.push(me.to_owned());
            Ok(readers)
        })
    }
}

pub(super) fn offer(c: &Connection, sender: &str, id: &str) -> rusqlite::Result<Option<FileOffer>> {
    c.query_row(
        "SELECT f.blob, f.size, f.name, f.media_type, f.key, f.sha256, m.reply_to FROM files f
         LEFT JOIN messages m ON m.sender = f.sender AND m.id = f.id
         WHERE f.sender = ?1 AND f.id = ?2",
        params![sender, id],
        |r| {
            Ok(FileOffer {
                blob: r.get(0)?,
                size: r.get::<_, i64>(1)? as u64,
                name: r.get(2)?,
                media_type: r.get(3)?,
                key: r.get(4)?,
                sha256: r.get(5)?,
                reply_to: r.get(6)?,
                group: None,
                to: None,
            })
        },
    )
    .optional()
}

#[cfg(test)]
mod tests;
