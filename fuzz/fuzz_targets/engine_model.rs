//! Fuzz target `engine_model`: see `tessera_core::testkit::fuzz::engine_model`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_core::testkit::fuzz::engine_model(data));
