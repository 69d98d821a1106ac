//! The integration tests of this crate, as one test binary (one link instead of 8).

mod conformance;
mod corruption;
mod crash;
mod exclusive;
mod format_directories;
mod format_upgrade;
mod indexes;
mod purge;
mod scale;
