//! Fuzz target `public_key`: see `tessera_testkit::fuzz::public_key`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_testkit::fuzz::public_key(data));
