//! Searching the whole history through chatd (`message.search`), and
//! jumping to a hit with its context: the hit's conversation opens, older
//! pages load until the message is there, and it is selected in the middle
//! of the pane. Pure: effects only.
//!
//! `/` in the message pane searches the open conversation, anywhere else
//! all of them; Tab switches. Enter searches for new words, or opens the
//! highlighted hit once the words are searched. n/N jump to the next older
//! or newer hit after the window is closed.

use ipc_schema::methods::{MessageSearchResult, SearchHit};

use crate::app::action::Effect;
use crate::app::composer::Edit;
use crate::app::keymap::Bound;
use crate::app::state::{
    AppState, DaemonLink, Jump, MessageKey, Overlay, Pane, Search, SearchQuery,
};
use crate::app::update::{load_older, open_conversation};
use crate::app::{lists, selection};

#[cfg(test)]
mod tests;

/// At most this many older pages are loaded to reach a hit.
pub const MAX_JUMP_PAGES: usize = 50;

/// Whether the search window is open.
pub fn is_open(state: &AppState) -> bool {
    state.overlay == Some(Overlay::Search)
}

/// Whether `query` has a word for chatd to look for: it takes letters and
/// digits as words and everything else as separators.
pub fn has_word(query: &str) -> bool {
    query.chars().any(char::is_alphanumeric)
}

/// `/`: opens the search window, over the open conversation when the
/// message pane has the keyboard, else over all conversations. The last
/// search comes back as it was when its scope is the same; else its words
/// stay, ready for Enter.
pub fn start(state: &mut AppState) {
    let scope = state
        .open
        .as_ref()
        .filter(|_| state.focus == Pane::Messages)
        .map(|o| o.peer.clone());
    match &mut state.search {
        Some(search) if search.scope == scope => {}
        Some(search) => {
            *search = Search {
                input: std::mem::take(&mut search.input),
                scope,
                ..Search::default()
            }
        }
        None => {
            state.search = Some(Search {
                scope,
                ..Search::default()
            })
        }
    }
    state.overlay = Some(Overlay::Search);
}

/// Types in the search's words; one line.
pub fn edit(state: &mut AppState, edit: Edit) {
    if !is_open(state) {
        return;
    }
    let Some(search) = &mut state.search else {
        return;
    };
    match edit {
        Edit::Newline => {}
        Edit::InsertStr(s) => search
            .input
            .apply(Edit::InsertStr(s.replace(['\r', '\n'], " "))),
        e => search.input.apply(e),
    }
}

/// Tab: the open conversation only, or all conversations; searched words
/// are searched again in the new scope.
pub fn toggle_scope(state: &mut AppState, fx: &mut Vec<Effect>) {
    let open = state.open.as_ref().map(|o| o.peer.clone());
    let Some(search) = &mut state.search else {
        return;
    };
    search.scope = match (&search.scope, open) {
        (None, Some(peer)) => Some(peer),
        _ => None,
    };
    if search.searched.is_some() {
        submit(state, fx);
    }
}

/// Enter: searches for the words typed, or, when they are what the hits
/// are for, opens the highlighted hit.
pub fn submit(state: &mut AppState, fx: &mut Vec<Effect>) {
    let online = state.daemon == DaemonLink::Online;
    let Some(search) = &mut state.search else {
        return;
    };
    let asked = SearchQuery {
        query: search.input.text.trim().to_owned(),
        peer: search.scope.clone(),
    };
    if search.searched.as_ref() == Some(&asked) {
        if !search.hits.is_empty() {
            let i = search.selected;
            return open_hit(state, i, fx);
        }
        if search.loading {
            return;
        }
    }
    if !has_word(&asked.query) {
        state.notice = Some("nothing to search for: type a word".into());
        return;
    }
    if !online {
        state.notice = Some("daemon offline — cannot search".into());
        return;
    }
    *search = Search {
        input: std::mem::take(&mut search.input),
        scope: asked.peer.clone(),
        searched: Some(asked.clone()),
        loading: true,
        ..Search::default()
    };
    state.notice = None;
    fx.push(Effect::Search {
        query: asked.query,
        peer: asked.peer,
        before: None,
    });
}

/// Moves the highlight `delta` hits; reaching the last hit asks for the
/// older ones.
pub fn select(state: &mut AppState, delta: i64, fx: &mut Vec<Effect>) {
    let Some(search) = &mut state.search else {
        return;
    };
    let Some(last) = search.hits.len().checked_sub(1) else {
        return;
    };
    let at = (search.selected as i64).saturating_add(delta);
    search.selected = at.clamp(0, last as i64) as usize;
    if search.selected == last {
        more(state, fx);
    }
}

/// Asks for the hits older than the last one, once at a time; returns
/// whether it did.
fn more(state: &mut AppState, fx: &mut Vec<Effect>) -> bool {
    let online = state.daemon == DaemonLink::Online;
    let Some(search) = &mut state.search else {
        return false;
    };
    let (Some(asked), Some(last)) = (&search.searched, search.hits.last()) else {
        return false;
    };
    if !search.has_more || search.loading || !online {
        return false;
    }
    fx.push(Effect::Search {
        query: asked.query.clone(),
        peer: asked.peer.clone(),
        before: Some(last.message.seq),
    });
    search.loading = true;
    true
}

/// chatd's answer: the first page replaces the hits, a next page adds to
/// them. An answer to an earlier question is dropped.
pub fn results(
    state: &mut AppState,
    asked: SearchQuery,
    before: Option<u64>,
    result: Result<MessageSearchResult, String>,
) {
    let Some(search) = &mut state.search else {
        return;
    };
    let expected = before.and_then(|_| search.hits.last().map(|h| h.message.seq));
    if search.searched.as_ref() != Some(&asked) || before != expected {
        return;
    }
    search.loading = false;
    let page = match result {
        Ok(page) => page,
        Err(why) => {
            state.notice = Some(format!("search refused: {why}"));
            return;
        }
    };
    if before.is_none() {
        search.hits.clear();
        search.selected = 0;
        search.current = None;
    }
    // No hits and more of them would page forever.
    search.has_more = page.has_more && !page.hits.is_empty();
    search.hits.extend(page.hits.into_iter().map(|h| SearchHit {
        message: lists::bounded(h.message),
        ..h
    }));
}

/// n (`older`) or N: jumps to the next older or newer hit than the last
/// one jumped to; the first time, to the highlighted one.
pub fn step(state: &mut AppState, older: bool, fx: &mut Vec<Effect>) {
    let Some(search) = &state.search else {
        state.notice = Some(format!(
            "no search yet: {} searches",
            state.keys.key(Bound::Search)
        ));
        return;
    };
    let len = search.hits.len();
    let next = match search.current {
        None => (len > 0).then_some(search.selected.min(len.saturating_sub(1))),
        Some(c) if older => Some(c + 1).filter(|&n| n < len),
        Some(c) => c.checked_sub(1),
    };
    if let Some(i) = next {
        return open_hit(state, i, fx);
    }
    let key = state.keys.key(if older {
        Bound::SearchNext
    } else {
        Bound::SearchPrev
    });
    let why = if older && more(state, fx) {
        format!("loading older hits — {key} again")
    } else if len == 0 {
        "no hits".to_owned()
    } else if older {
        "no older hits".to_owned()
    } else {
        "no newer hits".to_owned()
    };
    state.notice = Some(why);
}

/// Opens hit `i`'s conversation and starts bringing the message into view.
fn open_hit(state: &mut AppState, i: usize, fx: &mut Vec<Effect>) {
    let Some(hit) = state.search.as_ref().and_then(|s| s.hits.get(i)).cloned() else {
        return;
    };
    if state.daemon != DaemonLink::Online {
        state.notice = Some("daemon offline — cannot open the hit".into());
        return;
    }
    if let Some(search) = &mut state.search {
        search.current = Some(i);
        search.selected = i;
    }
    state.overlay = None;
    if let Some(n) = state.conversations.iter().position(|c| c.peer == hit.peer) {
        state.selected = n;
    }
    open_conversation(state, &hit.peer, fx);
    state.focus = Pane::Messages;
    state.notice = None;
    if let Some(open) = &mut state.open {
        open.selected = None;
        open.jump = Some(Jump {
            target: MessageKey::of(&hit.message),
            seq: hit.message.seq,
            pages: 0,
        });
    }
    jump(state, fx);
}

/// Brings the open conversation's jump target into view: selects it once
/// it is loaded, else asks for the next older page, within
/// [`MAX_JUMP_PAGES`]; says so when it cannot be found. Runs again with
/// every page that comes.
pub fn jump(state: &mut AppState, fx: &mut Vec<Effect>) {
    let online = state.daemon == DaemonLink::Online;
    let Some(open) = &mut state.open else { return };
    let Some(target) = &open.jump else { return };
    if let Some(i) = open.messages.iter().rposition(|m| target.target.names(m)) {
        open.jump = None;
        state.notice = None;
        return selection::select_centered(state, i);
    }
    if open.loading {
        return;
    }
    let passed = open.messages.first().is_some_and(|m| m.seq <= target.seq);
    let why = if passed || !open.has_more {
        Some("that message is no longer in the conversation".to_owned())
    } else if target.pages >= MAX_JUMP_PAGES {
        Some(format!(
            "that message is more than {MAX_JUMP_PAGES} pages back; not loaded"
        ))
    } else if !online {
        Some("daemon offline — the hit was not loaded".to_owned())
    } else {
        None
    };
    if let Some(why) = why {
        open.jump = None;
        state.notice = Some(why);
        return;
    }
    let pages = target.pages + 1;
    open.jump = Some(Jump {
        pages,
        ..target.clone()
    });
    state.notice = Some(format!("loading older messages to the hit… ({pages})"));
    load_older(state, fx);
}

/// chatd went away: nothing is on its way any more.
pub fn offline(state: &mut AppState) {
    if let Some(search) = &mut state.search {
        search.loading = false;
    }
    if let Some(open) = &mut state.open {
        open.jump = None;
    }
}

/// `snippet` in pieces, each marked whether it is a word found, from
/// chatd's [start, end) byte offsets. Ranges that are empty, reach past
/// the snippet, cut a character or overlap an earlier one are skipped:
/// the text is a peer's, and nothing about it may make drawing fail.
pub fn segments<'a>(snippet: &'a str, highlights: &[[u32; 2]]) -> Vec<(&'a str, bool)> {
    let mut ranges: Vec<(usize, usize)> = highlights
        .iter()
        .map(|&[start, end]| (start as usize, end as usize))
        .filter(|&(start, end)| {
            start < end
                && end <= snippet.len()
                && snippet.is_char_boundary(start)
                && snippet.is_char_boundary(end)
        })
        .collect();
    ranges.sort_unstable();
    let mut pieces = Vec::with_capacity(ranges.len() * 2 + 1);
    let mut at = 0;
    for (start, end) in ranges {
        if start < at {
            continue;
        }
        if start > at {
            pieces.push((&snippet[at..start], false));
        }
        pieces.push((&snippet[start..end], true));
        at = end;
    }
    if at < snippet.len() {
        pieces.push((&snippet[at..], false));
    }
    pieces
}
