//! The testkit's own tests: one binary.

mod fuzz_regressions;
