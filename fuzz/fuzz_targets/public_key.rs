//! Fuzz target `public_key`: see `tessera_core::testkit::fuzz::public_key`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_core::testkit::fuzz::public_key(data));
