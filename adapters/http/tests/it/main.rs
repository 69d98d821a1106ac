//! The integration tests of this crate, as one test binary (one link instead of 13).

/// The embedding example, shared by `embed_example` and `users_api`.
#[allow(dead_code)] // its `main` is for `cargo run --example`
#[path = "../../examples/embed_axum.rs"]
mod embed_axum;

mod account_browser;
mod account_pages;
mod browser_fixture;
mod conventions;
mod directories;
mod docs_metrics;
mod embed_example;
mod error_paths;
mod oauth_authorize;
mod oauth_back;
mod oauth_browser;
mod oauth_fixture;
mod oauth_pages;
mod openapi_contract;
mod openapi_directory;
mod openapi_replies;
mod server;
mod state_guards;
mod token_api;
mod users_api;
mod v1_bodies;
mod v1_errors;
mod workflow;
mod ws;
mod ws_load;
