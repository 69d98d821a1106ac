//! The integration tests of this crate, as one test binary (one link instead of 4).

mod conformance;
mod outage;
mod schema;
mod shared;
