//! Fuzz target `form_body`: see `tessera_testkit::fuzz::form_body`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_testkit::fuzz::form_body(data));
