//! The fuzzy conversation picker (Ctrl+P): subsequence matching over the
//! conversation list (which includes contacts without messages yet).

use crate::app::composer::Edit;
use crate::app::state::{AppState, Overlay, Picker};

/// How well `name` matches `query` (lower is better), or `None`.
/// A prefix beats a contiguous match elsewhere, which beats a scattered
/// subsequence; within a kind, earlier and tighter is better. Case-insensitive.
pub fn score(name: &str, query: &str) -> Option<(u8, usize)> {
    let name = name.to_lowercase();
    let query = query.to_lowercase();
    if query.is_empty() {
        return Some((0, 0));
    }
    if name.starts_with(&query) {
        return Some((0, name.len()));
    }
    if let Some(at) = name.find(&query) {
        return Some((1, at));
    }
    let mut chars = name.char_indices();
    let (mut first, mut last) = (None, 0);
    for q in query.chars() {
        let (i, _) = chars.find(|(_, c)| *c == q)?;
        first.get_or_insert(i);
        last = i;
    }
    // The span the match covers: fewer gaps first.
    Some((2, last - first.unwrap_or(0)))
}

/// Indices into `state.conversations` that match the picker's query, best first;
/// ties keep the list's order (most recent first).
pub fn matches(state: &AppState, query: &str) -> Vec<usize> {
    let mut hits: Vec<((u8, usize), usize)> = state
        .conversations
        .iter()
        .enumerate()
        .filter_map(|(i, c)| score(&state.peer_label(&c.peer), query).map(|s| (s, i)))
        .collect();
    hits.sort();
    hits.into_iter().map(|(_, i)| i).collect()
}

fn picker(state: &mut AppState) -> Option<&mut Picker> {
    match &mut state.overlay {
        Some(Overlay::Picker(p)) => Some(p),
        _ => None,
    }
}

/// Opens the picker with an empty query.
pub fn open(state: &mut AppState) {
    state.overlay = Some(Overlay::Picker(Picker::default()));
}

/// Edits the query; the highlight goes back to the best match.
pub fn edit(state: &mut AppState, edit: Edit) {
    let Some(p) = picker(state) else { return };
    let edit = match edit {
        Edit::Newline => return,
        Edit::InsertStr(s) => Edit::InsertStr(s.replace(['\r', '\n'], " ")),
        e => e,
    };
    p.query.apply(edit);
    p.selected = 0;
}

/// Moves the highlight among the matches.
pub fn select(state: &mut AppState, delta: i64) {
    let Some(Overlay::Picker(p)) = &state.overlay else {
        return;
    };
    let n = matches(state, &p.query.text).len();
    if let Some(p) = picker(state) {
        let last = n.saturating_sub(1) as i64;
        p.selected = (p.selected as i64).saturating_add(delta).clamp(0, last) as usize;
    }
}

/// Enter: opens the highlighted match and closes the picker.
pub fn submit(state: &mut AppState) -> Option<usize> {
    let Some(Overlay::Picker(p)) = &state.overlay else {
        return None;
    };
    let hit = matches(state, &p.query.text).get(p.selected).copied();
    if hit.is_some() {
        state.overlay = None;
    }
    hit
}

/// A query `+NAME USER…` asks to create the group NAME with those contacts.
pub fn create_request(query: &str) -> Option<(String, Vec<String>)> {
    let mut words = query.strip_prefix('+')?.split_whitespace();
    let name = words.next()?.to_owned();
    Some((name, words.map(str::to_owned).collect()))
}

/// Whether the picker is open.
pub fn is_open(state: &AppState) -> bool {
    matches!(state.overlay, Some(Overlay::Picker(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_beats_contiguous_beats_scattered() {
        assert_eq!(score("bob", "bo"), Some((0, 3)));
        assert_eq!(score("jimbob", "bo"), Some((1, 3)));
        assert_eq!(score("b-x-o", "bo"), Some((2, 4)));
        assert_eq!(score("Carol", "CRL"), Some((2, 4)));
        assert_eq!(score("carol", "lc"), None);
        assert!(score("b-o", "bo") < score("b--o", "bo"));
        assert!(score("anything", "").is_some());
    }

    #[test]
    fn a_plus_query_asks_for_a_new_group() {
        assert_eq!(
            create_request("+ops bob  carol"),
            Some(("ops".into(), vec!["bob".into(), "carol".into()]))
        );
        assert_eq!(create_request("+"), None);
        assert_eq!(create_request("ops bob"), None);
    }
}
