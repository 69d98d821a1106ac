//! Fuzz target `directory_form`: see `tessera_testkit::fuzz::directory_form`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_testkit::fuzz::directory_form(data));
