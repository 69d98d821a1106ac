//! Fuzz target `message`: see `tessera_testkit::fuzz::message`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_testkit::fuzz::message(data));
