//! Values the output tests share.

use ipc_schema::methods::{Direction, MessageState, MessageView};

/// A fingerprint as chatd sends it.
pub const FP: &str =
    "c7e1 0d59 a8f3 6b2e 94c0 1f7a 3e85 d26b 5a09 e7c4 82f1 4d3b b06e 19a7 f5c2 6e80";

/// 2025-11-24 16:00:00.123 UTC, the fixtures' `1764000000123`.
pub const T0: u64 = 1_764_000_000_123;

/// A message between alice (us) and bob at [`T0`]; without a body it is a
/// `reaction`, a kind chat-ctl cannot show.
pub fn message(
    id: &str,
    direction: Direction,
    body: Option<&str>,
    state: MessageState,
) -> MessageView {
    let (from, to) = match direction {
        Direction::In => ("bob", "alice"),
        Direction::Out => ("alice", "bob"),
    };
    MessageView {
        id: id.into(),
        from: from.into(),
        to: to.into(),
        ts: T0,
        direction,
        kind: if body.is_some() { "text" } else { "reaction" }.into(),
        body: body.map(Into::into),
        reply_to: None,
        state,
        failure: None,
        seq: 1,
        truncated: false,
        group: None,
        deliveries: Vec::new(),
        edited: false,
        deleted: false,
        reactions: Vec::new(),
        file: None,
    }
}
