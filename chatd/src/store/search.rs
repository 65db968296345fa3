//! Search over all history (FTS5, schema migration 14). The user's words
//! become quoted FTS5 strings, so nothing they type is index syntax; the
//! hits come newest first, each with a snippet and where its words are.

use ipc_schema::methods::SearchHit;
use rusqlite::params;

use super::{Store, StoreResult, message_from_row};

/// Marks FTS5 puts around a word found in a snippet (taken out again; the
/// offsets say where they were).
const OPEN: char = '\u{2}';
const CLOSE: char = '\u{3}';

/// Words a snippet shows around the words found.
const SNIPPET_WORDS: u32 = 12;

/// The FTS5 query for plain words: each a quoted string (quotes doubled),
/// all required, the last one also as a prefix when it has two characters
/// or more. `None` when there is no word at all.
pub fn fts_query(text: &str) -> Option<String> {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .collect();
    let last = words.len().checked_sub(1)?;
    Some(
        words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let quoted = format!("\"{}\"", w.replace('"', "\"\""));
                if i == last && w.chars().count() >= 2 {
                    quoted + "*"
                } else {
                    quoted
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// Takes the marks out of a snippet; returns it with the byte ranges they
/// enclosed.
fn highlights(marked: &str) -> (String, Vec<[u32; 2]>) {
    let mut out = String::with_capacity(marked.len());
    let mut ranges = Vec::new();
    let mut start = None;
    for c in marked.chars() {
        match c {
            OPEN => start = Some(out.len() as u32),
            CLOSE => {
                if let Some(s) = start.take() {
                    ranges.push([s, out.len() as u32]);
                }
            }
            c => out.push(c),
        }
    }
    (out, ranges)
}

impl Store {
    /// Messages with every word of `query`, newest first: at most `limit`,
    /// below `before` (a `seq`), in `peer`'s conversation when given. The
    /// bool says whether more are left. `None` when the query has no word.
    pub fn search(
        &self,
        query: &str,
        peer: Option<&str>,
        before: Option<u64>,
        limit: usize,
    ) -> StoreResult<Option<(Vec<SearchHit>, bool)>> {
        let Some(fts) = fts_query(query) else {
            return Ok(None);
        };
        self.with(|c| {
            let before = before.map_or(i64::MAX, |b| b.min(i64::MAX as u64) as i64);
            // The columns of `MESSAGE_COLUMNS`, of `m` (the index has a
            // `body` too).
            let mut stmt = c.prepare_cached(&format!(
                "SELECT m.id, m.sender, m.recipient, m.ts, m.direction, m.kind, m.body, m.reply_to,
                        m.state, m.failure, m.seq, m.peer, m.edited_at IS NOT NULL, m.deleted,
                        snippet(messages_fts, 0, char(2), char(3), '…', {SNIPPET_WORDS})
                 FROM messages_fts f JOIN messages m ON m.seq = f.rowid
                 WHERE messages_fts MATCH ?1 AND f.rowid < ?2 AND (?3 IS NULL OR m.peer = ?3)
                 ORDER BY f.rowid DESC LIMIT ?4"
            ))?;
            let mut rows = stmt.query(params![fts, before, peer, (limit + 1) as i64])?;
            let mut hits = Vec::new();
            let mut has_more = false;
            while let Some(row) = rows.next()? {
                if hits.len() == limit {
                    has_more = true;
                    break;
                }
                let message = super::history::listed(message_from_row(row)?);
                let peer: String = row.get(11)?;
                let (snippet, highlights) = highlights(&row.get::<_, String>(14)?);
                hits.push(SearchHit {
                    peer,
                    message,
                    snippet,
                    highlights,
                });
            }
            drop(rows);
            let mut messages: Vec<_> = hits.iter().map(|h| h.message.clone()).collect();
            super::changes::attach(c, &mut messages)?;
            for (hit, m) in hits.iter_mut().zip(messages) {
                hit.message = m;
            }
            Ok(Some((hits, has_more)))
        })
    }
}

#[cfg(test)]
mod tests;
