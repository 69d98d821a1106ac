//! Fuzz target `oauth_params`: see `tessera_testkit::fuzz::oauth_params`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_testkit::fuzz::oauth_params(data));
