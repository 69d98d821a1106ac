//! Replays every saved fuzz input in `fuzz/regressions/<target>/` through the bodies of
//! core's targets (`token_parse`, `public_key`, `username`, `engine_model`); the adapters'
//! targets are replayed by `adapters/tests/fuzz_regressions.rs`.

use std::path::Path;

use tessera_core::testkit::fuzz::TARGETS;

#[test]
fn saved_fuzz_inputs_still_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
    for (name, target) in TARGETS {
        let dir = root.join(name);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("missing regression directory {}: {e}", dir.display()));
        let mut replayed = 0;
        for entry in entries {
            let path = entry.expect("entry").path();
            if path.is_file() {
                let data = std::fs::read(&path).expect("read input");
                eprintln!("{name}: {}", path.display());
                target(&data);
                replayed += 1;
            }
        }
        assert!(replayed > 0, "{name} has no saved input");
    }
}
