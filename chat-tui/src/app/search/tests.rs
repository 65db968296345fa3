//! The search through `update` and the key map: what each search asks
//! chatd, paging through the hits, jumping to one through older pages, and
//! offsets that do not fit the snippet.

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use ipc_schema::methods::{
    ConversationView, Direction, MessageListResult, MessageState, MessageView,
};
use ipc_schema::time::TimeZone;

use super::*;
use crate::app::keys::map_event;
use crate::app::{Action, Edit, update};
use crate::theme::{Theme, ThemeName};

fn msg(i: usize, peer: &str, body: &str) -> MessageView {
    MessageView {
        id: format!("{i:032x}"),
        from: peer.into(),
        to: "alice".into(),
        ts: 1_795_615_500_000 + i as u64 * 60_000,
        direction: Direction::In,
        kind: "text".into(),
        body: Some(body.into()),
        reply_to: None,
        state: MessageState::Read,
        failure: None,
        seq: i as u64,
        truncated: false,
        group: None,
        deliveries: Vec::new(),
        edited: false,
        deleted: false,
        reactions: Vec::new(),
        file: None,
    }
}

fn hit(i: usize, peer: &str) -> SearchHit {
    SearchHit {
        peer: peer.into(),
        message: msg(i, peer, "the build finished"),
        snippet: "the build finished".into(),
        highlights: vec![[4, 9]],
    }
}

/// bob's messages `from..=to`, as a `message.list` page.
fn page(from: usize, to: usize, has_more: bool) -> MessageListResult {
    MessageListResult {
        messages: (from..=to).map(|i| msg(i, "bob", "hay")).collect(),
        has_more,
    }
}

fn conv(peer: &str) -> ConversationView {
    ConversationView {
        peer: peer.into(),
        last_message: None,
        last_ts: None,
        unread: 0,
        verified: false,
    }
}

/// Online as alice with bob's and carol's conversations, the list focused.
fn online() -> AppState {
    let mut s = AppState::new("x", Theme::named(ThemeName::None), TimeZone::Fixed(0));
    update(&mut s, Action::Resize(80, 24));
    update(&mut s, Action::DaemonOnline);
    update(
        &mut s,
        Action::Conversations(vec![conv("bob"), conv("carol")]),
    );
    s
}

/// [`online`] with bob's conversation open on its newest messages
/// `from..=to`, the message pane focused.
fn in_bob(from: usize, to: usize, has_more: bool) -> AppState {
    let mut s = online();
    update(&mut s, Action::OpenSelected);
    let older = false;
    let page = page(from, to, has_more);
    update(
        &mut s,
        Action::Messages {
            peer: "bob".into(),
            page,
            older,
        },
    );
    update(&mut s, Action::Focus(Pane::Messages));
    s
}

/// `/`, the words, Enter: what `update` asks for.
fn search_for(s: &mut AppState, words: &str) -> Vec<Effect> {
    update(s, Action::SearchStart);
    update(s, Action::SearchEdit(Edit::InsertStr(words.into())));
    update(s, Action::SearchSubmit)
}

fn search_effect(query: &str, peer: Option<&str>, before: Option<u64>) -> Effect {
    Effect::Search {
        query: query.into(),
        peer: peer.map(str::to_owned),
        before,
    }
}

/// chatd's answer with `hits` to the search for `query` in `peer`.
fn answer(
    s: &mut AppState,
    query: &str,
    peer: Option<&str>,
    before: Option<u64>,
    hits: Vec<SearchHit>,
    has_more: bool,
) {
    let result = Ok(MessageSearchResult { hits, has_more });
    let (query, peer) = (query.into(), peer.map(str::to_owned));
    update(
        s,
        Action::SearchResults {
            query,
            peer,
            before,
            result,
        },
    );
}

fn key(code: KeyCode) -> TermEvent {
    TermEvent::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

#[test]
fn slash_in_a_conversation_searches_it_and_tab_widens_to_all() {
    let mut s = in_bob(1, 3, false);
    assert_eq!(
        map_event(&s, key(KeyCode::Char('/'))),
        Some(Action::SearchStart)
    );
    let fx = search_for(&mut s, " build ");
    assert_eq!(fx, [search_effect("build", Some("bob"), None)]);
    assert_eq!(s.overlay, Some(Overlay::Search));
    // Tab searches the same words everywhere, and back.
    assert_eq!(map_event(&s, key(KeyCode::Tab)), Some(Action::SearchScope));
    assert_eq!(
        update(&mut s, Action::SearchScope),
        [search_effect("build", None, None)]
    );
    assert_eq!(
        update(&mut s, Action::SearchScope),
        [search_effect("build", Some("bob"), None)]
    );
}

#[test]
fn slash_from_the_list_searches_all_conversations_and_takes_typed_keys() {
    let mut s = in_bob(1, 3, false);
    update(&mut s, Action::Focus(Pane::List));
    assert_eq!(
        map_event(&s, key(KeyCode::Char('/'))),
        Some(Action::SearchStart)
    );
    update(&mut s, Action::SearchStart);
    // n, j and q are words in the prompt, not keys.
    for c in ['n', 'j', 'q'] {
        assert_eq!(
            map_event(&s, key(KeyCode::Char(c))),
            Some(Action::SearchEdit(Edit::Insert(c)))
        );
    }
    assert_eq!(
        map_event(&s, key(KeyCode::Down)),
        Some(Action::SearchSelect(1))
    );
    assert_eq!(map_event(&s, key(KeyCode::Esc)), Some(Action::CloseOverlay));
    update(
        &mut s,
        Action::SearchEdit(Edit::InsertStr("party\nfriday".into())),
    );
    let fx = update(&mut s, Action::SearchSubmit);
    assert_eq!(fx, [search_effect("party friday", None, None)]);
}

#[test]
fn words_are_needed_and_chatd_must_be_there() {
    let mut s = online();
    assert!(search_for(&mut s, " -- \"*\" ").is_empty());
    assert_eq!(
        s.notice.as_deref(),
        Some("nothing to search for: type a word")
    );
    update(&mut s, Action::DaemonOffline("gone".into()));
    update(&mut s, Action::SearchEdit(Edit::InsertStr("x".into())));
    assert!(update(&mut s, Action::SearchSubmit).is_empty());
    assert_eq!(s.notice.as_deref(), Some("daemon offline — cannot search"));
}

#[test]
fn chatds_refusal_shows_in_the_status_line_and_a_lost_link_ends_the_wait() {
    let mut s = online();
    search_for(&mut s, "build");
    let result = Err("invalid params: no word".to_owned());
    let (query, peer, before) = ("build".to_owned(), None, None);
    update(
        &mut s,
        Action::SearchResults {
            query,
            peer,
            before,
            result,
        },
    );
    assert_eq!(
        s.notice.as_deref(),
        Some("search refused: invalid params: no word")
    );
    assert!(!s.search.as_ref().unwrap().loading);
    // Asked again, then chatd goes away: not waiting for ever.
    update(&mut s, Action::SearchEdit(Edit::Insert('s')));
    assert_eq!(update(&mut s, Action::SearchSubmit).len(), 1);
    update(&mut s, Action::DaemonOffline("gone".into()));
    assert!(!s.search.as_ref().unwrap().loading);
}

#[test]
fn the_last_hit_loads_the_next_page_before_its_seq_once() {
    let mut s = online();
    search_for(&mut s, "build");
    answer(
        &mut s,
        "build",
        None,
        None,
        vec![hit(90, "bob"), hit(80, "carol"), hit(70, "bob")],
        true,
    );
    assert!(update(&mut s, Action::SearchSelect(1)).is_empty());
    let fx = update(&mut s, Action::SearchSelect(5));
    assert_eq!(fx, [search_effect("build", None, Some(70))]);
    // Asked once, however often the key is pressed meanwhile.
    assert!(update(&mut s, Action::SearchSelect(1)).is_empty());
    answer(&mut s, "build", None, Some(70), vec![hit(60, "bob")], false);
    let search = s.search.as_ref().unwrap();
    assert_eq!(search.hits.len(), 4);
    assert_eq!(search.selected, 2);
    // No more: the end is the end.
    assert!(update(&mut s, Action::SearchSelect(9)).is_empty());
    assert_eq!(s.search.as_ref().unwrap().selected, 3);
}

#[test]
fn an_answer_to_an_earlier_search_is_dropped() {
    let mut s = in_bob(1, 3, false);
    search_for(&mut s, "build");
    update(&mut s, Action::SearchScope);
    // The answer for bob's conversation only comes after Tab widened it.
    answer(
        &mut s,
        "build",
        Some("bob"),
        None,
        vec![hit(2, "bob")],
        false,
    );
    assert!(s.search.as_ref().unwrap().hits.is_empty());
    // A next page for a last hit there no longer is.
    answer(&mut s, "build", None, None, vec![hit(3, "bob")], true);
    answer(&mut s, "build", None, Some(99), vec![hit(1, "bob")], false);
    assert_eq!(s.search.as_ref().unwrap().hits.len(), 1);
}

#[test]
fn enter_on_a_hit_loads_older_pages_until_it_is_there_and_selects_it() {
    let mut s = online();
    search_for(&mut s, "build");
    answer(
        &mut s,
        "build",
        None,
        None,
        vec![hit(240, "carol"), hit(20, "bob")],
        false,
    );
    update(&mut s, Action::SearchSelect(1));
    let fx = update(&mut s, Action::SearchSubmit);
    assert!(
        fx.contains(&Effect::LoadMessages { peer: "bob".into() }),
        "{fx:?}"
    );
    assert_eq!(s.overlay, None);
    let mut fx = update(
        &mut s,
        Action::Messages {
            peer: "bob".into(),
            page: page(151, 250, true),
            older: false,
        },
    );
    for (from, before) in [(51, 151), (1, 51)] {
        assert_eq!(
            fx,
            [Effect::LoadOlder {
                peer: "bob".into(),
                before
            }]
        );
        assert_eq!(s.open.as_ref().unwrap().selected, None);
        let page = page(from, before as usize - 1, from > 1);
        fx = update(
            &mut s,
            Action::Messages {
                peer: "bob".into(),
                page,
                older: true,
            },
        );
    }
    assert!(fx.is_empty(), "{fx:?}");
    let open = s.open.as_ref().unwrap();
    assert_eq!(
        open.selected.as_ref().map(|k| k.id.as_str()),
        Some(&*format!("{:032x}", 20))
    );
    assert_eq!(open.jump, None);
    assert_eq!(s.focus, Pane::Messages);
    // Centred: the newer messages below it are scrolled away.
    assert!(open.scroll > 100, "{}", open.scroll);
    assert_eq!(s.notice, None);
}

#[test]
fn a_hit_in_the_loaded_page_is_selected_at_once() {
    let mut s = in_bob(1, 30, false);
    search_for(&mut s, "build");
    answer(
        &mut s,
        "build",
        Some("bob"),
        None,
        vec![hit(12, "bob")],
        false,
    );
    let fx = update(&mut s, Action::SearchSubmit);
    assert!(fx.is_empty(), "{fx:?}");
    let (i, _) = s.selected_message().unwrap();
    assert_eq!(i, 11);
}

#[test]
fn a_hit_that_is_gone_or_too_far_back_is_said_in_the_status_line() {
    // Gone: the pages reached past its seq without it.
    let mut s = in_bob(1, 30, false);
    search_for(&mut s, "build");
    answer(
        &mut s,
        "build",
        Some("bob"),
        None,
        vec![hit(12, "carol")],
        false,
    );
    s.search.as_mut().unwrap().hits[0].peer = "bob".into();
    assert!(update(&mut s, Action::SearchSubmit).is_empty());
    assert_eq!(
        s.notice.as_deref(),
        Some("that message is no longer in the conversation")
    );
    assert_eq!(s.open.as_ref().unwrap().jump, None);
    // Too far back: 50 pages of 2 messages each, and still older ones.
    let mut s = in_bob(10_001, 10_002, true);
    search_for(&mut s, "build");
    answer(
        &mut s,
        "build",
        Some("bob"),
        None,
        vec![hit(5, "bob")],
        false,
    );
    let mut fx = update(&mut s, Action::SearchSubmit);
    let mut pages = 0;
    while let [Effect::LoadOlder { before, .. }] = fx.as_slice() {
        pages += 1;
        let b = *before as usize;
        let page = page(b - 2, b - 1, true);
        fx = update(
            &mut s,
            Action::Messages {
                peer: "bob".into(),
                page,
                older: true,
            },
        );
    }
    assert_eq!(pages, MAX_JUMP_PAGES);
    assert_eq!(
        s.notice.as_deref(),
        Some("that message is more than 50 pages back; not loaded")
    );
}

#[test]
fn n_and_shift_n_jump_to_older_and_newer_hits() {
    let mut s = in_bob(1, 30, false);
    search_for(&mut s, "build");
    answer(
        &mut s,
        "build",
        Some("bob"),
        None,
        vec![hit(25, "bob"), hit(15, "bob"), hit(5, "bob")],
        true,
    );
    update(&mut s, Action::CloseOverlay);
    assert_eq!(
        map_event(&s, key(KeyCode::Char('n'))),
        Some(Action::SearchNext)
    );
    let selected = |s: &AppState| s.selected_message().map(|(_, m)| m.seq);
    update(&mut s, Action::SearchNext);
    assert_eq!(selected(&s), Some(25));
    update(&mut s, Action::SearchNext);
    assert_eq!(selected(&s), Some(15));
    update(&mut s, Action::SearchPrev);
    assert_eq!(selected(&s), Some(25));
    update(&mut s, Action::SearchPrev);
    assert_eq!(s.notice.as_deref(), Some("no newer hits"));
    update(&mut s, Action::SearchNext);
    update(&mut s, Action::SearchNext);
    assert_eq!(selected(&s), Some(5));
    // Past the last: the next page is asked for.
    let fx = update(&mut s, Action::SearchNext);
    assert_eq!(fx, [search_effect("build", Some("bob"), Some(5))]);
    assert_eq!(s.notice.as_deref(), Some("loading older hits — n again"));
    // Esc forgets the search; n says how to start one.
    update(&mut s, Action::CloseOverlay);
    assert_eq!(s.search, None);
    update(&mut s, Action::SearchNext);
    assert_eq!(s.notice.as_deref(), Some("no search yet: / searches"));
}

#[test]
fn hostile_highlight_offsets_are_skipped_and_never_panic() {
    let snippet = "héllo wörld 🎉 end";
    let pieces = |h: &[[u32; 2]]| segments(snippet, h);
    assert_eq!(
        pieces(&[[0, 6]]),
        [("héllo", true), (" wörld 🎉 end", false)]
    );
    // Inside 'é', inside '🎉', past the end, reversed, empty, overlapping.
    let hostile = [
        [2, 4],
        [15, 17],
        [18, 400],
        [u32::MAX, u32::MAX],
        [9, 3],
        [5, 5],
        [7, 13],
        [8, 10],
    ];
    let got = pieces(&hostile);
    assert_eq!(
        got,
        [("héllo ", false), ("wörld", true), (" 🎉 end", false)]
    );
    assert_eq!(got.iter().map(|(p, _)| *p).collect::<String>(), snippet);
    // Every byte offset pair of the snippet: the pieces always make it up again.
    let n = snippet.len() as u32 + 2;
    for a in 0..n {
        for b in 0..n {
            let got = pieces(&[[a, b], [b, a], [a / 2, b]]);
            assert_eq!(got.iter().map(|(p, _)| *p).collect::<String>(), snippet);
        }
    }
    assert_eq!(segments("", &[[0, 1]]), []);
}
