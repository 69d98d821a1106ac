//! Fuzz target `username`: see `tessera_testkit::fuzz::username`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_testkit::fuzz::username(data));
