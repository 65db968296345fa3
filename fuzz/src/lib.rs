//! The logic of chat's fuzz targets, as plain functions.
//!
//! Each `fuzz_targets/<name>.rs` only calls the function of the same name, so
//! every input the fuzzer ever saves (seeds, crashes turned regressions) can
//! be replayed by an ordinary `#[test]` (`tests/replay.rs`) without libFuzzer.
//! A function returns normally for every input the product handles, even with
//! an error; it panics only on a bug (a panic in product code, or a broken
//! invariant checked here).

mod fixtures;

pub mod card;
pub mod envelope;
pub mod envelope_v2;
pub mod ipc;
pub mod relay;

pub use card::card_parse;
pub use envelope::envelope_open;
pub use envelope_v2::envelope_v2;
pub use ipc::ipc_frame;
pub use relay::relay_body;

/// What a target does with one input.
pub type Target = fn(&[u8]);

/// The fuzz targets by name, for the replay test.
pub const TARGETS: [(&str, Target); 5] = [
    ("envelope_open", envelope_open),
    ("envelope_v2", envelope_v2),
    ("card_parse", card_parse),
    ("ipc_frame", ipc_frame),
    ("relay_body", relay_body),
];
