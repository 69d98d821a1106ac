//! Which PostgreSQL server the tests use, and what happens without one (also used by the
//! adapters' PostgreSQL tests).

/// The variable naming the test server.
pub(super) const URL_VAR: &str = "TESSERA_TEST_POSTGRES_URL";

/// The server URL, or `None` after printing `SKIPPED: …` to stderr. With
/// `TESSERA_REQUIRE_POSTGRES` set (CI), a missing URL fails the test instead.
pub fn url(test: &str) -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("TESSERA_REQUIRE_POSTGRES").is_none(),
                "{test}: TESSERA_REQUIRE_POSTGRES is set but {URL_VAR} is not"
            );
            eprintln!("SKIPPED: {URL_VAR} not set ({test} needs a PostgreSQL server)");
            None
        }
    }
}
