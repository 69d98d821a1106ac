//! Fuzz target `message`: see `tessera_adapters::fuzz::message`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_adapters::fuzz::message(data));
