//! The integration tests of this crate, as one test binary (one link instead of 5).

mod conformance;
mod feed;
mod outage;
mod schema;
mod shared;
