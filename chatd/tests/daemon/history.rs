//! The history: big texts, and pages that always fit a frame.

use std::time::Duration;

use ipc_schema::methods::{Direction, MessageGetParams, MessageListParams};

use crate::helper::{Chatd, Relay, acquainted, eventually};

/// docs/SECURITY.md §2.3: a few 4 MiB texts from a contact used to make a
/// `message.list` page larger than a frame, and chatd hung up; the
/// conversation could not be loaded any more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_4_mib_texts_list_in_one_page_and_come_whole_from_message_get() {
    let relay = Relay::start().await;
    let alice = Chatd::start("alice", "").await;
    let bob = Chatd::start("bob", "").await;
    acquainted(&relay, &[&alice, &bob]).await;
    let big: Vec<String> = (0..5)
        .map(|i| format!("{i}{}", "x".repeat(4 * 1024 * 1024 - 100)))
        .collect();
    for text in &big {
        alice.send("bob", text).await;
    }
    let list = MessageListParams {
        peer: "alice".into(),
        before: None,
        limit: None,
    };
    let page = eventually(Duration::from_secs(60), "five big texts at bob", || async {
        let page = bob.client().await.call(list.clone()).await.unwrap();
        (page.messages.len() == 5).then_some(page)
    })
    .await;
    let mut client = bob.client().await;
    for (m, text) in page.messages.iter().zip(&big) {
        assert!(m.truncated);
        assert!(text.starts_with(m.body.as_deref().unwrap()));
        let whole = client
            .call(MessageGetParams {
                peer: "alice".into(),
                id: m.id.clone(),
                direction: Some(Direction::In),
            })
            .await
            .unwrap()
            .message;
        assert_eq!(whole.body.as_ref(), Some(text));
        assert!(!whole.truncated);
    }
    // The connection is still good for more.
    assert_eq!(bob.status().await.unread, 5);
}
