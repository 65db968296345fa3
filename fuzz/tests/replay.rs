//! Replays every committed input of every fuzz target: the seed corpora
//! (`seeds/<target>/`) and the inputs that once crashed a target
//! (`regressions/<target>/`). A panic here is a regression.

use std::path::{Path, PathBuf};

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(kind)
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != ".gitkeep"))
        .collect();
    files.sort();
    files
}

fn replay(target: &str, run: fn(&[u8])) {
    let seeds = inputs("seeds", target);
    assert!(!seeds.is_empty(), "{target} has no seeds");
    for path in seeds.iter().chain(&inputs("regressions", target)) {
        let data = std::fs::read(path).expect("input reads");
        eprintln!("{target}: {}", path.display());
        run(&data);
    }
}

#[test]
fn envelope_open_inputs_replay() {
    replay("envelope_open", chat_fuzz::envelope_open);
}

#[test]
fn envelope_v2_inputs_replay() {
    replay("envelope_v2", chat_fuzz::envelope_v2);
}

#[test]
fn card_parse_inputs_replay() {
    replay("card_parse", chat_fuzz::card_parse);
}

#[test]
fn ipc_frame_inputs_replay() {
    replay("ipc_frame", chat_fuzz::ipc_frame);
}

#[test]
fn relay_body_inputs_replay() {
    replay("relay_body", chat_fuzz::relay_body);
}

#[test]
fn every_target_has_a_seed_and_a_regression_directory() {
    for (target, _) in chat_fuzz::TARGETS {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert!(root.join("seeds").join(target).is_dir(), "seeds/{target}");
        assert!(
            root.join("regressions").join(target).is_dir(),
            "regressions/{target}"
        );
        assert!(
            root.join("fuzz_targets")
                .join(format!("{target}.rs"))
                .is_file(),
            "fuzz_targets/{target}.rs"
        );
    }
}
