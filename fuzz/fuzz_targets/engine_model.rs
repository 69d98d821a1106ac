//! Fuzz target `engine_model`: see `tessera_testkit::fuzz::engine_model`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_testkit::fuzz::engine_model(data));
