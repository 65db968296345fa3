//! The search window drawn with TestBackend and insta snapshots: the
//! prompt over one conversation, the hits of all conversations with the
//! words found marked, and peers' names and snippets drawn inert however
//! their offsets point. (The flows' `update` logic is tested in
//! src/app/search/tests.rs, the worker's calls in
//! src/backend/tests/search.rs.)

use chat_tui::app::{self, Action, AppState, Edit, Pane};
use ipc_schema::methods::{
    GroupState, GroupView, MessageSearchResult, MessageState, MessageView, SearchHit,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;
use unicode_width::UnicodeWidthStr;

use super::{HOSTILE, assert_drawn_inert, msg, online, open_with, render};

/// Snapshots live beside ui.rs's, in tests/snapshots.
macro_rules! snapshot {
    ($screen:expr) => {
        insta::with_settings!({ snapshot_path => "../snapshots" }, {
            insta::assert_snapshot!($screen);
        })
    };
}

const FRIENDS: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
const UNKNOWN: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";

fn hit(message: MessageView, peer: &str, snippet: &str, highlights: &[[u32; 2]]) -> SearchHit {
    SearchHit {
        peer: peer.into(),
        message,
        snippet: snippet.into(),
        highlights: highlights.to_vec(),
    }
}

/// Four hits, newest first: bob's, one in the known group #friends, one
/// of alice's own to carol, one in a group not listed yet.
fn hits() -> Vec<SearchHit> {
    let mut in_group = msg(40, "carol", false, "", MessageState::Read);
    in_group.group = Some(FRIENDS.into());
    let mut unknown = msg(10, "dave", false, "", MessageState::Read);
    unknown.group = Some(UNKNOWN.into());
    vec![
        hit(
            msg(50, "bob", false, "", MessageState::Read),
            "bob",
            "the build finished ✅ at last",
            &[[4, 9], [10, 18]],
        ),
        hit(
            in_group,
            &format!("#{FRIENDS}"),
            "…so the nightly build broke again, see the log…",
            &[[18, 23]],
        ),
        hit(
            msg(30, "carol", true, "", MessageState::Read),
            "carol",
            "did the Build finish? 日本 build",
            &[[8, 13], [29, 34]],
        ),
        hit(unknown, &format!("#{UNKNOWN}"), "build", &[[0, 5]]),
    ]
}

/// Online with the group #friends known, the list focused.
fn with_groups() -> AppState {
    let mut s = online(80, 24);
    app::update(
        &mut s,
        Action::Groups(vec![GroupView {
            id: FRIENDS.into(),
            name: "friends".into(),
            version: 1,
            state: GroupState::Member,
            admin: false,
            members: 3,
        }]),
    );
    s
}

/// `/`, `words`, Enter, and chatd's answer with `hits`.
fn searched(s: &mut AppState, words: &str, hits: Vec<SearchHit>, has_more: bool) {
    app::update(s, Action::SearchStart);
    app::update(s, Action::SearchEdit(Edit::InsertStr(words.into())));
    app::update(s, Action::SearchSubmit);
    let scope = s.search.as_ref().unwrap().scope.clone();
    app::update(
        s,
        Action::SearchResults {
            query: words.into(),
            peer: scope,
            before: None,
            result: Ok(MessageSearchResult { hits, has_more }),
        },
    );
}

/// Where `text` starts on the screen, as (row, column); the cell a wide
/// character hides is not part of the text.
fn find(t: &Terminal<TestBackend>, text: &str) -> (u16, u16) {
    let buffer = t.backend().buffer();
    for y in 0..buffer.area.height {
        let (mut row, mut starts) = (String::new(), Vec::new());
        let mut x = 0;
        while x < buffer.area.width {
            let symbol = buffer[(x, y)].symbol();
            starts.push((row.len(), x));
            row.push_str(symbol);
            x += (symbol.width() as u16).max(1);
        }
        if let Some(at) = row.find(text) {
            let column = starts.iter().find(|(start, _)| *start == at).unwrap().1;
            return (y, column);
        }
    }
    panic!("no {text:?} on the screen");
}

#[test]
fn snapshot_search_prompt_over_a_conversation_80x24() {
    let mut s = with_groups();
    open_with(
        &mut s,
        "bob",
        vec![msg(1, "bob", false, "hi", MessageState::Read)],
        false,
    );
    app::update(&mut s, Action::Focus(Pane::Messages));
    app::update(&mut s, Action::SearchStart);
    app::update(
        &mut s,
        Action::SearchEdit(Edit::InsertStr("build fin".into())),
    );
    let screen = render(&s);
    for text in [
        "Search bob",
        "> build fin",
        "Enter searches · Tab: all conversations",
    ] {
        assert!(screen.contains(text), "no {text:?} in\n{screen}");
    }
    snapshot!(screen);
}

#[test]
fn snapshot_search_hits_with_the_words_marked_80x24() {
    let mut s = with_groups();
    searched(&mut s, "build", hits(), true);
    app::update(&mut s, Action::SearchSelect(1));
    let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
    t.draw(|f| chat_tui::ui::draw(f, &s)).unwrap();
    let screen = t.backend().to_string();
    for text in [
        "Search all conversations",
        "4+ hits",
        "bob          14:55 bob: the build finished ✅ at last",
        "▶ #friends     14:45 carol: …so the nightly build broke",
        "carol        14:35 alice: did the Build finish? 日本 build",
        "#a1b2c3d4…   14:15 dave: build",
    ] {
        assert!(screen.contains(text), "no {text:?} in\n{screen}");
    }
    // The words found are marked, and only they: in bob's row (not
    // selected) "build" and "finished" are, the space between is not.
    let buffer = t.backend().buffer();
    let (y, x) = find(&t, "the build finished");
    let marked = |dx: u16| {
        buffer[(x + dx, y)]
            .style()
            .add_modifier
            .contains(Modifier::REVERSED)
    };
    let wanted: Vec<bool> = "the build finished"
        .char_indices()
        .map(|(i, _)| (4..9).contains(&i) || (10..18).contains(&i))
        .collect();
    let got: Vec<bool> = (0..wanted.len() as u16).map(marked).collect();
    assert_eq!(got, wanted);
    // After the wide characters of carol's row, the second "build" still:
    // 日 and 本 take two columns each.
    let (y, x) = find(&t, "日本 build");
    let cell = |dx: u16| buffer[(x + dx, y)].style().add_modifier;
    assert!((0..5).all(|dx| !cell(dx).contains(Modifier::REVERSED)));
    assert!((5..10).all(|dx| cell(dx).contains(Modifier::REVERSED)));
    snapshot!(screen);
}

#[test]
fn after_a_jump_the_pane_says_which_hit_and_the_keys() {
    let mut s = with_groups();
    app::update(&mut s, Action::Resize(120, 24));
    let page = (1..=60)
        .map(|i| msg(i, "bob", false, "hay", MessageState::Read))
        .collect();
    open_with(&mut s, "bob", page, false);
    app::update(&mut s, Action::Focus(Pane::List));
    let one = hit(
        msg(50, "bob", false, "", MessageState::Read),
        "bob",
        "hay",
        &[[0, 3]],
    );
    let two = hit(
        msg(20, "bob", false, "", MessageState::Read),
        "bob",
        "hay",
        &[[0, 3]],
    );
    searched(&mut s, "hay", vec![one, two], false);
    app::update(&mut s, Action::SearchSubmit);
    assert_eq!(s.focus, Pane::Messages);
    let screen = render(&s);
    assert!(
        screen.contains("/hay 1/2 · n older · N newer · r reply · + react · Esc"),
        "{screen}"
    );
    assert!(screen.contains("▶ bob 14:55"), "{screen}");
}

#[test]
fn hostile_names_snippets_and_offsets_are_drawn_inert() {
    let mut s = online(200, 30);
    let mut from = msg(7, "bob", false, "", MessageState::Read);
    from.from = HOSTILE.into();
    let len = HOSTILE.len() as u32;
    let offsets = [
        [0, len + 9],
        [3, 4],
        [4, 3],
        [u32::MAX - 1, u32::MAX],
        [1, 2],
        [len - 2, len - 1],
    ];
    let evil = hit(from, HOSTILE, HOSTILE, &offsets);
    searched(&mut s, "hi", vec![evil], false);
    let screen = render(&s);
    assert_drawn_inert(&screen, &["␛]52;c;cm0gLXJmIH4=␇"]);
    // Every narrower screen too: cut pieces stay inert.
    for w in [20, 41, 60, 87] {
        app::update(&mut s, Action::Resize(w, 12));
        assert_drawn_inert(&render(&s), &[]);
    }
}
