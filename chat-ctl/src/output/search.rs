//! `chat-ctl search`: one hit per line, newest first.

use std::fmt::Write as _;

use ipc_schema::methods::{Direction, MessageSearchResult};

use super::Clock;

/// The hits for people: short id, conversation, time, who, and the snippet
/// with the words found in brackets, on one line each.
///
/// ```text
/// 0b7e4d2c  bob   14:03  bob  the [deploy] of [prod] failed
/// ```
pub fn search_human(found: &MessageSearchResult, clock: &Clock) -> String {
    if found.hits.is_empty() {
        return "nothing found".to_owned();
    }
    let peer_w = found
        .hits
        .iter()
        .map(|h| h.peer.chars().count().min(33))
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for hit in &found.hits {
        let m = &hit.message;
        let short: String = m.id.chars().take(8).collect();
        let who = match m.direction {
            Direction::Out => "you",
            Direction::In => m.from.as_str(),
        };
        let mut snippet = String::new();
        let mut at = 0usize;
        for [s, e] in &hit.highlights {
            let (s, e) = (*s as usize, *e as usize);
            if s < at
                || e > hit.snippet.len()
                || !hit.snippet.is_char_boundary(s)
                || !hit.snippet.is_char_boundary(e)
            {
                continue;
            }
            snippet.push_str(&hit.snippet[at..s]);
            let _ = write!(snippet, "[{}]", &hit.snippet[s..e]);
            at = e;
        }
        snippet.push_str(&hit.snippet[at..]);
        let snippet = snippet.replace(['\n', '\r'], " ");
        let _ = writeln!(
            out,
            "{short}  {:<peer_w$}  {}  {who}  {snippet}",
            hit.peer,
            clock.short(m.ts)
        );
    }
    if found.has_more {
        out.push_str("(more: narrow the words, or --with a conversation)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::samples::{T0, message};
    use super::*;
    use ipc_schema::methods::{MessageState, SearchHit};

    #[test]
    fn hits_show_their_conversation_and_the_words_in_brackets() {
        let clock = Clock::utc_at(T0);
        let hit = SearchHit {
            peer: "bob".into(),
            message: message(
                "0b7e4d2c9a1f48e6b3c5d7e9f1a2b4c6",
                Direction::In,
                Some("the deploy of prod failed"),
                MessageState::Delivered,
            ),
            snippet: "the deploy of prod\nfailed".into(),
            highlights: vec![[4, 10], [14, 18], [99, 120]],
        };
        let found = MessageSearchResult {
            hits: vec![hit],
            has_more: true,
        };
        assert_eq!(
            search_human(&found, &clock),
            "0b7e4d2c  bob  16:00  bob  the [deploy] of [prod] failed\n\
             (more: narrow the words, or --with a conversation)\n"
        );
        let none = MessageSearchResult {
            hits: Vec::new(),
            has_more: false,
        };
        assert_eq!(search_human(&none, &clock), "nothing found");
    }
}
