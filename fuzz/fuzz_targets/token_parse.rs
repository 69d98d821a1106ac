//! Fuzz target `token_parse`: see `tessera_testkit::fuzz::token_parse`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_testkit::fuzz::token_parse(data));
