//! The integration tests of this crate, as one test binary (one link instead of 8).

mod blackbox;
mod cli;
mod directories_blackbox;
mod log_secrets;
mod notifiers;
mod oauth_browser;
mod oauth_rp;
mod oauth_support;
mod password_reset;
mod token_api_blackbox;
mod two_nodes;
mod two_nodes_push;
mod ws_blackbox;
