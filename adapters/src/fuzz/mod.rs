//! Fuzz-target bodies of the adapters (feature `fuzz`), shared by `fuzz/` (cargo-fuzz) and
//! `adapters/tests/fuzz_regressions.rs`, which replays every input saved in
//! `fuzz/regressions/<target>/` under `cargo test`.
//!
//! Each body takes arbitrary bytes, must never panic on its own, and asserts what the code
//! under test promises in its docs.

mod form_body;
mod message;

pub use form_body::form_body;
pub use message::message;

pub use tessera_core::testkit::fuzz::Target;

/// Every target by name, for the regression runner.
pub const TARGETS: &[(&str, Target)] = &[("form_body", form_body), ("message", message)];
