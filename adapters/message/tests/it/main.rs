//! The integration tests of this crate, as one test binary (one link instead of 4).

mod message;
mod message_example;
mod message_props;
mod shared_store;
