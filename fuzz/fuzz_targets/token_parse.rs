//! Fuzz target `token_parse`: see `tessera_core::testkit::fuzz::token_parse`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_core::testkit::fuzz::token_parse(data));
