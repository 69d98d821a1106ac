//! Replays every saved fuzz input in `fuzz/regressions/<target>/` through the bodies of
//! core's targets (`token_parse`, `public_key`, `username`, `engine_model`); the adapters'
//! targets are replayed by `adapters/tests/fuzz_regressions.rs`.

use std::path::Path;

use tessera_core::testkit::fuzz::{TARGETS, replay_regressions};

#[test]
fn saved_fuzz_inputs_still_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
    replay_regressions(&root, TARGETS);
}
