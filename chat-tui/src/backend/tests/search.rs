//! `message.search` against the fake chatd: what the effect asks and comes
//! back as, and searching then opening a hit through the app end to end.

use ipc_schema::methods::{ConversationView, MessageState, SearchHit};

use super::{FakeDaemon, answer, msg, run_all, status};
use crate::app::{self, Action, AppState, Edit, Effect};
use crate::theme::{Theme, ThemeName};
use ipc_schema::time::TimeZone;

/// A hit on message `i` of `peer`'s conversation.
fn hit(i: usize, peer: &str) -> SearchHit {
    SearchHit {
        peer: peer.into(),
        message: msg(i, peer, false, "the build finished", MessageState::Read),
        snippet: "the build finished".into(),
        highlights: vec![[4, 9]],
    }
}

/// chatd as alice, with 250 messages from bob and 22 hits, newest first,
/// alternating between bob and carol.
fn fake() -> FakeDaemon {
    let fake = FakeDaemon::default();
    {
        let mut s = fake.0.lock().unwrap();
        s.status = Some(status());
        let history = (1..=250)
            .map(|i| msg(i, "bob", false, "hay", MessageState::Read))
            .collect();
        s.history.insert("bob".into(), history);
        s.conversations = vec![ConversationView {
            peer: "bob".into(),
            last_message: Some("hay".into()),
            last_ts: None,
            unread: 0,
            verified: true,
        }];
        s.search_hits = (0..22)
            .map(|n| hit(220 - n * 10, if n % 2 == 0 { "bob" } else { "carol" }))
            .collect();
    }
    fake
}

fn search(query: &str, peer: Option<&str>, before: Option<u64>) -> Effect {
    Effect::Search {
        query: query.into(),
        peer: peer.map(str::to_owned),
        before,
    }
}

#[tokio::test]
async fn search_effects_come_back_as_pages_of_hits_or_chatds_refusal() {
    let mut fake = fake();
    let Action::SearchResults {
        result: Ok(first),
        before: None,
        ..
    } = answer(&mut fake, search("build", None, None)).await
    else {
        panic!("no hits");
    };
    assert_eq!((first.hits.len(), first.has_more), (20, true));
    let last = first.hits.last().unwrap().message.seq;
    let Action::SearchResults {
        result: Ok(next), ..
    } = answer(&mut fake, search("build", None, Some(last))).await
    else {
        panic!("no next page");
    };
    assert_eq!((next.hits.len(), next.has_more), (2, false));
    let Action::SearchResults {
        result: Ok(bob), ..
    } = answer(&mut fake, search("build", Some("bob"), None)).await
    else {
        panic!("no hits in bob's conversation");
    };
    assert!(bob.hits.iter().all(|h| h.peer == "bob"));
    assert_eq!(
        answer(&mut fake, search("--", None, None)).await,
        Action::SearchResults {
            query: "--".into(),
            peer: None,
            before: None,
            result: Err("query has no word to search for".into()),
        }
    );
    assert_eq!(
        fake.0.lock().unwrap().calls,
        [
            "message.search build - - 20".to_owned(),
            format!("message.search build - {last} 20"),
            "message.search build bob - 20".to_owned(),
            "message.search -- - - 20".to_owned(),
        ]
    );
}

#[tokio::test]
async fn a_lost_connection_during_a_search_is_an_error_not_a_refusal() {
    let mut fake = fake();
    fake.0.lock().unwrap().down = true;
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    assert!(
        super::execute(&mut fake, search("build", None, None), &tx)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn searching_then_opening_a_hit_loads_older_pages_through_chatd() {
    let mut fake = fake();
    let mut s = AppState::new("x", Theme::named(ThemeName::None), TimeZone::Fixed(0));
    app::update(&mut s, Action::Resize(80, 24));
    let fx = app::update(&mut s, Action::DaemonOnline);
    run_all(&mut fake, &mut s, fx).await;
    fake.0.lock().unwrap().calls.clear();

    app::update(&mut s, Action::SearchStart);
    app::update(&mut s, Action::SearchEdit(Edit::InsertStr("build".into())));
    let fx = app::update(&mut s, Action::SearchSubmit);
    run_all(&mut fake, &mut s, fx).await;
    // To the last hit on the first page, which loads the next page, and
    // back to the one before it (seq 40, bob's).
    let fx = app::update(&mut s, Action::SearchSelect(19));
    run_all(&mut fake, &mut s, fx).await;
    assert_eq!(s.search.as_ref().unwrap().hits.len(), 22);
    app::update(&mut s, Action::SearchSelect(-1));
    let fx = app::update(&mut s, Action::SearchSubmit);
    run_all(&mut fake, &mut s, fx).await;

    let (_, m) = s.selected_message().expect("the hit is selected");
    assert_eq!((m.seq, m.from.as_str()), (40, "bob"));
    let calls = fake.0.lock().unwrap().calls.clone();
    let lists: Vec<_> = calls
        .iter()
        .filter(|c| c.starts_with("message.list"))
        .collect();
    assert_eq!(
        lists,
        [
            "message.list bob -",
            "message.list bob 151",
            "message.list bob 51"
        ]
    );
    assert_eq!(s.notice, None);
}
