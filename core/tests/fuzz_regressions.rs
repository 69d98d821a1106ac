//! Replays every saved fuzz input in `fuzz/regressions/<target>/` through the target's body.

use std::path::Path;

use tessera_core::testkit::fuzz::TARGETS;

#[test]
fn saved_fuzz_inputs_still_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
    let mut replayed = 0;
    for (name, target) in TARGETS {
        let dir = root.join(name);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            panic!("missing regression directory {}", dir.display());
        };
        for entry in entries {
            let path = entry.expect("entry").path();
            if path.is_file() {
                let data = std::fs::read(&path).expect("read input");
                target(&data);
                replayed += 1;
            }
        }
    }
    assert!(
        replayed >= TARGETS.len(),
        "every target has at least one saved input"
    );
}
