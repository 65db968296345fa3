//! Frame time of `draw` for a 10,000-message conversation at 200×50, also
//! when its newest texts are long ones cut at 64 KiB, against the bound of
//! drawing the same screen with no conversation open.

use chat_tui::app::{self, Action, AppState};
use chat_tui::theme::{Theme, ThemeName};
use chat_tui::ui;
use criterion::{Criterion, criterion_group, criterion_main};
use ipc_schema::methods::{
    ConversationView, Direction, MessageListResult, MessageState, MessageView,
};
use ipc_schema::time::TimeZone;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn state(messages: usize) -> AppState {
    state_with(messages, 0)
}

/// `messages` short ones, of which the newest `cut` are texts cut at 64 KiB
/// (what chatd's pages and chat-tui's events keep of a 4 MiB text).
fn state_with(messages: usize, cut: usize) -> AppState {
    let mut s = AppState::new("bench", Theme::named(ThemeName::Dark), TimeZone::Fixed(0));
    app::update(&mut s, Action::Resize(200, 50));
    app::update(&mut s, Action::DaemonOnline);
    app::update(
        &mut s,
        Action::Conversations(
            (0..30)
                .map(|i| ConversationView {
                    peer: format!("peer{i}"),
                    last_message: Some("the last thing said 🎉".into()),
                    last_ts: Some(1_795_615_500_000),
                    unread: i % 3,
                    verified: i % 2 == 0,
                })
                .collect(),
        ),
    );
    if messages > 0 {
        app::update(&mut s, Action::OpenSelected);
        let page = (0..messages)
            .map(|i| MessageView {
                id: format!("{i:032x}"),
                from: if i % 2 == 0 { "alice" } else { "peer0" }.into(),
                to: if i % 2 == 0 { "peer0" } else { "alice" }.into(),
                ts: 1_795_615_500_000 + i as u64,
                direction: if i % 2 == 0 { Direction::Out } else { Direction::In },
                kind: "text".into(),
                body: Some(format!(
                    "message {i}: a line of chat with some width to it, 日本語 and 🎉, long enough to wrap on a narrow pane"
                )),
                reply_to: None,
                state: MessageState::Read,
                failure: None,
                seq: i as u64 + 1,
                truncated: false,
                group: None,
                deliveries: Vec::new(),
                edited: false,
                deleted: false,
                reactions: Vec::new(),
                file: None,
            })
            .map(|mut m| {
                if m.seq as usize > messages - cut {
                    m.body = Some("lorem ipsum 日本語 🎉 ".repeat(64 * 1024 / 32));
                    m.truncated = true;
                }
                m
            })
            .collect();
        app::update(
            &mut s,
            Action::Messages {
                peer: "peer0".into(),
                page: MessageListResult {
                    messages: page,
                    has_more: false,
                },
                older: false,
            },
        );
    }
    s
}

fn bench(c: &mut Criterion) {
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).unwrap();
    let empty = state(0);
    c.bench_function("draw 200x50, no conversation open (bound)", |b| {
        b.iter(|| {
            terminal.draw(|f| ui::draw(f, &empty)).unwrap();
        });
    });
    let full = state(10_000);
    assert_eq!(full.open.as_ref().unwrap().messages.len(), 10_000);
    c.bench_function("draw 200x50, 10,000-message conversation", |b| {
        b.iter(|| {
            terminal.draw(|f| ui::draw(f, &full)).unwrap();
        });
    });
    let cut = state_with(10_000, 20);
    c.bench_function(
        "draw 200x50, 10,000 messages, the newest 20 cut at 64 KiB",
        |b| {
            b.iter(|| {
                terminal.draw(|f| ui::draw(f, &cut)).unwrap();
            });
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
