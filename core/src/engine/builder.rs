//! Building an [`Engine`]: configuration with sane defaults, validated before use.

use std::sync::Arc;

use tokio::sync::{Mutex, OnceCell};
use zeroize::Zeroizing;

use super::{Engine, STRIPES};
use crate::PasswordPolicy;
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::hasher::{Argon2Hasher, HashParams, HashPool};
use crate::notify::{DiscardNotifier, Notifier};
use crate::password::Password;
use crate::random::{self, OsRandom, Random};
use crate::store::Store;
pub use crate::store::ThrottlePolicy;
use crate::token::Ttl;

/// Engine configuration. `Default` gives the documented production defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// TTL of new authorization tokens when none is asked for (default 1 h).
    pub default_ttl: Ttl,
    /// Rules for new passwords.
    pub password_policy: PasswordPolicy,
    /// Argon2id parameters of new hashes (default OWASP).
    pub hash_params: HashParams,
    /// Accept hash parameters below OWASP's (tests only).
    pub allow_weak_hash_params: bool,
    /// Hashing threads (default: one per CPU).
    pub hash_workers: usize,
    /// Waiting hash jobs per worker before `Overloaded` (default 32).
    pub hash_queue_per_worker: usize,
    /// Credential-check backoff.
    pub throttle: ThrottlePolicy,
    /// Shortest QR token TTL in seconds (default 60).
    pub qr_ttl_min: u64,
    /// Longest QR token TTL in seconds (default 900).
    pub qr_ttl_max: u64,
    /// QR token TTL when none is asked for (default 300).
    pub qr_ttl_default: u64,
    /// Require proof of possession when registering a key (default true).
    pub require_key_proof: bool,
    /// The server URL put into QR onboarding URIs.
    pub public_url: String,
    /// How long command records are kept, in seconds (default 24 h).
    pub command_retention_secs: u64,
    /// Lifetime of the token API's access tokens (`login`, `refresh`) and of server-created
    /// user tokens (default 24 h).
    pub access_ttl: Ttl,
    /// Lifetime of a refresh-token family, counted from the login (default 90 d); rotation
    /// keeps the family's expiry.
    pub refresh_ttl: Ttl,
    /// `iss` of id tokens (default: `public_url`).
    pub id_token_issuer: Option<String>,
    /// `aud` of id tokens (default `tessera`).
    pub id_token_audience: String,
    /// Lifetime of password-reset codes in seconds (default 600; 60–3600).
    pub reset_code_ttl_secs: u64,
    /// Lifetime of a NEW_PASSWORD_REQUIRED session in seconds (default 300; 60–3600).
    pub challenge_ttl_secs: u64,
    /// The OAuth 2.1 / OpenID Connect provider.
    pub oauth: super::oauth::OAuthConfig,
    /// Bounds of directories (directories per owner, memberships per profile, pending
    /// invitations per directory).
    pub directories: super::directories::DirectoryLimits,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            default_ttl: Ttl::HOUR,
            password_policy: PasswordPolicy::default(),
            hash_params: HashParams::OWASP,
            allow_weak_hash_params: false,
            hash_workers: std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            hash_queue_per_worker: 32,
            throttle: ThrottlePolicy::default(),
            qr_ttl_min: 60,
            qr_ttl_max: 900,
            qr_ttl_default: 300,
            require_key_proof: true,
            public_url: "http://127.0.0.1:9009".to_owned(),
            command_retention_secs: 86_400,
            access_ttl: Ttl::DAY,
            refresh_ttl: Ttl::DAYS_90,
            id_token_issuer: None,
            id_token_audience: "tessera".to_owned(),
            reset_code_ttl_secs: 600,
            challenge_ttl_secs: 300,
            oauth: super::oauth::OAuthConfig::default(),
            directories: super::directories::DirectoryLimits::default(),
        }
    }
}

impl EngineConfig {
    /// Check every value; the builder calls this.
    pub fn validate(&self) -> Result<()> {
        self.password_policy.validate()?;
        if !self.hash_params.meets_owasp() && !self.allow_weak_hash_params {
            return Err(Error::Config(
                "argon2 parameters below OWASP's (m=19456 KiB, t=2, p=1)".into(),
            ));
        }
        if !(1..=256).contains(&self.hash_workers) || self.hash_queue_per_worker > 1024 {
            return Err(Error::Config(
                "hash pool: 1-256 workers, at most 1024 queued per worker".into(),
            ));
        }
        if self.qr_ttl_min == 0
            || self.qr_ttl_min > self.qr_ttl_default
            || self.qr_ttl_default > self.qr_ttl_max
            || self.qr_ttl_max > 86_400
        {
            return Err(Error::Config(
                "QR TTLs must satisfy 0 < min <= default <= max <= 86400".into(),
            ));
        }
        if self.throttle.max_backoff_secs == 0 || self.throttle.max_backoff_secs > 86_400 {
            return Err(Error::Config(
                "throttle max_backoff_secs must be 1-86400".into(),
            ));
        }
        if self.command_retention_secs == 0 {
            return Err(Error::Config("command retention must be positive".into()));
        }
        if self.public_url.is_empty() || self.public_url.chars().any(char::is_control) {
            return Err(Error::Config("public_url must be a non-empty URL".into()));
        }
        let printable =
            |s: &str| !s.is_empty() && s.len() <= 1024 && !s.chars().any(char::is_control);
        if !self.id_token_issuer.as_deref().is_none_or(printable)
            || !printable(&self.id_token_audience)
        {
            return Err(Error::Config(
                "id token issuer and audience: 1-1024 bytes, no control characters".into(),
            ));
        }
        if !(60..=3600).contains(&self.reset_code_ttl_secs)
            || !(60..=3600).contains(&self.challenge_ttl_secs)
        {
            return Err(Error::Config(
                "reset code and challenge session TTLs must be 60-3600 s".into(),
            ));
        }
        self.directories.validate()?;
        Ok(())
    }

    /// The `iss` of id tokens.
    #[must_use]
    pub fn id_token_issuer(&self) -> &str {
        self.id_token_issuer.as_deref().unwrap_or(&self.public_url)
    }
}

/// Builds an [`Engine`]; `build` validates everything first.
#[derive(Default)]
pub struct EngineBuilder {
    store: Option<Arc<dyn Store>>,
    clock: Option<Arc<dyn Clock>>,
    rng: Option<Arc<dyn Random>>,
    config: EngineConfig,
    pepper: Option<Zeroizing<Vec<u8>>>,
    notifier: Option<Arc<dyn Notifier>>,
}

impl std::fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl EngineBuilder {
    /// The store (required).
    #[must_use]
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// The clock (default: [`SystemClock`]).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The randomness source (default: [`OsRandom`]).
    #[must_use]
    pub fn random(mut self, rng: Arc<dyn Random>) -> Self {
        self.rng = Some(rng);
        self
    }

    /// The configuration (default: [`EngineConfig::default`]).
    #[must_use]
    pub fn config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    /// Where password-reset codes go (default: [`DiscardNotifier`]).
    #[must_use]
    pub fn notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// A pepper mixed into every password hash (kept only in memory, never stored).
    #[must_use]
    pub fn pepper(mut self, pepper: Vec<u8>) -> Self {
        self.pepper = Some(Zeroizing::new(pepper));
        self
    }

    /// Validate and build. Starts the hashing pool and computes the dummy hash used for
    /// unknown usernames (one hash with the current parameters).
    pub fn build(self) -> Result<Engine> {
        let store = self
            .store
            .ok_or_else(|| Error::Config("a store is required".into()))?;
        self.config.validate()?;
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let rng = self.rng.unwrap_or_else(|| Arc::new(OsRandom));
        let hasher = Arc::new(Argon2Hasher::new(
            self.config.hash_params,
            self.pepper.as_ref().map(|p| p.to_vec()),
        )?);
        let pool = HashPool::new(
            self.config.hash_workers,
            self.config.hash_workers * self.config.hash_queue_per_worker,
        )?;
        let dummy_pw = Password::for_login("tessera dummy password for unknown users", 1024)
            .ok_or_else(|| Error::Config("dummy password".into()))?;
        let dummy_hash = hasher.hash(&dummy_pw, &random::bytes::<16>(rng.as_ref()))?;
        let stripes = (0..STRIPES).map(|_| Mutex::new(())).collect();
        let events = super::events::CommandEvents::for_store(store.as_ref());
        Ok(Engine {
            store,
            clock,
            rng,
            cfg: self.config,
            hasher,
            pool,
            dummy_hash,
            stripes,
            stripe_hasher: std::collections::hash_map::RandomState::new(),
            server_key: OnceCell::new(),
            id_key: OnceCell::new(),
            oauth_rsa: OnceCell::new(),
            notifier: self.notifier.unwrap_or_else(|| Arc::new(DiscardNotifier)),
            events,
            interactions: super::oauth::Interactions::new(super::oauth::MAX_INTERACTIONS),
        })
    }
}
