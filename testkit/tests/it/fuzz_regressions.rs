//! Replays every saved fuzz input in `fuzz/regressions/<target>/` through the bodies of
//! every target (core's `token_parse`, `public_key`, `username`, `engine_model`; the
//! adapters' `form_body`, `message`).

use std::path::Path;

use tessera_testkit::fuzz::{TARGETS, replay_regressions};

#[test]
fn saved_fuzz_inputs_still_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
    replay_regressions(&root, TARGETS);
}

/// Every target of `fuzz/Cargo.toml` and every directory of `fuzz/regressions/` is replayed.
#[test]
fn every_fuzz_target_is_replayed() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut replayed: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
    replayed.sort_unstable();
    let manifest = std::fs::read_to_string(fuzz.join("Cargo.toml")).expect("fuzz/Cargo.toml");
    let mut bins: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|n| *n != "tessera-fuzz")
        .collect();
    bins.sort_unstable();
    assert_eq!(bins, replayed, "fuzz/Cargo.toml targets");
    let mut dirs: Vec<String> = std::fs::read_dir(fuzz.join("regressions"))
        .expect("fuzz/regressions")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort_unstable();
    assert_eq!(dirs, replayed, "fuzz/regressions directories");
}
