//! Replays every saved fuzz input in `fuzz/regressions/<target>/` through the bodies of the
//! adapters' targets (`form_body`, `message`); core's targets are replayed by
//! `core/tests/fuzz_regressions.rs`.

use std::path::Path;

use tessera_adapters::fuzz::TARGETS;
use tessera_core::testkit::fuzz::replay_regressions;

#[test]
fn saved_fuzz_inputs_still_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
    replay_regressions(&root, TARGETS);
}

/// Every target of `fuzz/Cargo.toml` and every directory of `fuzz/regressions/` is replayed
/// by this test or by core's.
#[test]
fn every_fuzz_target_is_replayed() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut replayed: Vec<&str> = TARGETS
        .iter()
        .chain(tessera_core::testkit::fuzz::TARGETS)
        .map(|(name, _)| *name)
        .collect();
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
