//! # tessera-testkit
//!
//! What the tests of every tessera crate share (not published). The storage conformance
//! suite is the contract every backend passes.
//!
//! A backend's test calls [`run_all`] with a factory of fresh, empty stores:
//!
//! ```text
//! #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
//! async fn conformance() {
//!     tessera_testkit::run_all(|| Arc::new(MyStore::open_temp())).await;
//! }
//! ```
//!
//! It covers every trait method, the concurrency cases (32 registrations of one username,
//! 20 redemptions of one QR token, revoke racing reauthorize, 20 rotations of one refresh
//! token, 20 takes of one single-use token, 16 creations of one server-registered user, 8
//! first calls for the RSA key, 20 exchanges of one OAuth code, 20 rotations of one OAuth
//! refresh token, consent withdrawal racing refresh rotations, 32 registrations of one
//! directory short name, 20 accepts of one invitation, a member listing walked while
//! members join and leave, 16 claims of one nonce, 16 throttle reservations at a backoff
//! edge, and both across two engines) and the engine end to end on the store. Each case panics with
//! its name on failure. [`crash`]
//! is the SIGKILL harness; [`faulty`] is the one fault-injecting store (one chosen call, or
//! every call) and, with [`model`], the fault-injection model test;
//! [`fuzz`] holds the bodies of the cargo-fuzz targets.
//!
//! The harnesses of the adapters' tests:
//!
//! - `app` (feature `http`): the router on a `MemoryStore` with a manual clock and cheap
//!   hashing, driven in process (`tower::ServiceExt::oneshot`).
//! - `browser` (feature `browser`): chromedriver and headless Chromium over WebDriver,
//!   the router on real TCP, a request-recording loopback server.
//! - `pages` (feature `http`): a cookie-keeping client of the OAuth pages, hidden form
//!   fields, applications registered in the store, PKCE pairs.
//! - `ws` (feature `http`): the router on the real accept loop and a WebSocket client.
//! - `binary` (feature `http`): the real `tessera` binary on a free loopback port and an
//!   HTTP client of it.
//! - `postgres` (feature `postgres`): the test server's URL (or a `SKIPPED` line), fresh
//!   schemas, a TCP proxy that can cut the connection, and the binary on PostgreSQL.

#![allow(clippy::too_many_lines)] // test scenarios read top to bottom

/// Wrap `async fn(Arc<dyn Store>)` cases into [`Case`] pointers.
macro_rules! case_list {
    ($($f:ident),* $(,)?) => {
        &[$((stringify!($f), |s| Box::pin($f(s)))),*]
    };
}

#[cfg(feature = "http")]
pub mod app;
#[cfg(feature = "http")]
pub mod binary;
#[cfg(feature = "browser")]
pub mod browser;
mod cases_commands;
mod cases_directories;
mod cases_directories_engine;
mod cases_directories_race;
mod cases_directories_rules;
mod cases_engine;
mod cases_external;
mod cases_guards;
mod cases_oauth;
mod cases_oauth_engine;
mod cases_oauth_race;
mod cases_oauth_tokens;
mod cases_race;
mod cases_reset;
mod cases_store;
mod cases_token_api;
mod cases_tokens;
mod cases_users;
pub mod crash;
pub mod faulty;
mod fixtures;
pub mod fuzz;
pub mod model;
#[cfg(feature = "http")]
pub mod pages;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "http")]
pub mod ws;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tessera_core::store::Store;

pub use fixtures::{
    CapturingNotifier, device, profile, qr, random_digest, test_engine, test_engine_notified,
    token_record,
};

/// One conformance case: takes a fresh store, panics on failure.
pub type Case = fn(Arc<dyn Store>) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// Every case, by name.
pub fn cases() -> Vec<(&'static str, Case)> {
    let mut v: Vec<(&'static str, Case)> = Vec::new();
    v.extend(cases_store::CASES.iter().copied());
    v.extend(cases_tokens::CASES.iter().copied());
    v.extend(cases_commands::CASES.iter().copied());
    v.extend(cases_external::CASES.iter().copied());
    v.extend(cases_race::CASES.iter().copied());
    v.extend(cases_guards::CASES.iter().copied());
    v.extend(cases_engine::CASES.iter().copied());
    v.extend(cases_token_api::CASES.iter().copied());
    v.extend(cases_reset::CASES.iter().copied());
    v.extend(cases_users::CASES.iter().copied());
    v.extend(cases_directories::CASES.iter().copied());
    v.extend(cases_directories_race::CASES.iter().copied());
    v.extend(cases_directories_engine::CASES.iter().copied());
    v.extend(cases_directories_rules::CASES.iter().copied());
    v.extend(cases_oauth::CASES.iter().copied());
    v.extend(cases_oauth_tokens::CASES.iter().copied());
    v.extend(cases_oauth_race::CASES.iter().copied());
    v.extend(cases_oauth_engine::CASES.iter().copied());
    v
}

/// Run every conformance case, each on a fresh store from `make`. Needs a multi-threaded
/// tokio runtime for the concurrency cases to mean anything.
pub async fn run_all<F>(make: F)
where
    F: Fn() -> Arc<dyn Store> + Send + Sync,
{
    for (name, case) in cases() {
        eprintln!("testkit: {name}");
        case(make()).await;
    }
}
