//! The integration tests of this crate, as one test binary (one link instead of 5).

mod conformance_memory;
mod crash_harness;
mod engine_faults;
mod engine_model;
mod engine_rules;
mod oauth_engine;
