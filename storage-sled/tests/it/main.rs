//! The integration tests of this crate, as one test binary (one link instead of 10).

mod bulk;
mod common;
mod conformance;
mod corruption;
mod crash;
mod family;
mod lock;
mod oauth;
mod purge;
mod scale;
mod upgrade;
