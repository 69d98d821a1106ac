//! The engine policy: the top-level keys and `[password]`, `[argon2]`, `[hash_pool]`,
//! `[throttle]`, `[qr]` (the token API's `[token_api]` is in [`super::token_api`]).

use serde::Deserialize;
use tessera_core::{EngineConfig, HashParams, Ttl};

use super::{Settings, SettingsError};

/// `[password]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordSection {
    /// Minimum length in code points (default 15).
    pub min_length: usize,
    /// Maximum length in code points (default 128).
    pub max_length: usize,
    /// Minimum zxcvbn score 0–4 (default 3).
    pub min_score: u8,
}

impl Default for PasswordSection {
    fn default() -> Self {
        let p = EngineConfig::default().password_policy;
        Self {
            min_length: p.min_len,
            max_length: p.max_len,
            min_score: p.min_score,
        }
    }
}

/// `[argon2]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Argon2Section {
    /// Memory in KiB (default 19456).
    pub memory_kib: u32,
    /// Iterations (default 2).
    pub iterations: u32,
    /// Lanes (default 1).
    pub parallelism: u32,
}

impl Default for Argon2Section {
    fn default() -> Self {
        let h = EngineConfig::default().hash_params;
        Self {
            memory_kib: h.m_kib,
            iterations: h.t,
            parallelism: h.p,
        }
    }
}

/// `[hash_pool]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HashPoolSection {
    /// Hashing threads (default: one per CPU).
    pub workers: usize,
    /// Waiting jobs per worker before 503 `overloaded` (default 32).
    pub queue_per_worker: usize,
}

impl Default for HashPoolSection {
    fn default() -> Self {
        let e = EngineConfig::default();
        Self {
            workers: e.hash_workers,
            queue_per_worker: e.hash_queue_per_worker,
        }
    }
}

/// `[throttle]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThrottleSection {
    /// Failures allowed without delay (default 5).
    pub free_failures: u32,
    /// Longest wait, in seconds (default 900).
    pub max_backoff_secs: u64,
}

impl Default for ThrottleSection {
    fn default() -> Self {
        let t = EngineConfig::default().throttle;
        Self {
            free_failures: t.free_failures,
            max_backoff_secs: t.max_backoff_secs,
        }
    }
}

/// `[qr]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QrSection {
    /// Shortest TTL (default 60).
    pub ttl_min: u64,
    /// Default TTL (default 300).
    pub ttl_default: u64,
    /// Longest TTL (default 900).
    pub ttl_max: u64,
}

impl Default for QrSection {
    fn default() -> Self {
        let e = EngineConfig::default();
        Self {
            ttl_min: e.qr_ttl_min,
            ttl_default: e.qr_ttl_default,
            ttl_max: e.qr_ttl_max,
        }
    }
}

impl Settings {
    /// The engine configuration, validated (`public_url` stays the engine's default when
    /// the file has none: [`Settings::resolve`] puts the listen address there).
    pub fn engine_config(&self) -> Result<EngineConfig, SettingsError> {
        let mut c = EngineConfig::default();
        if let Some(u) = &self.public_url {
            c.public_url.clone_from(u);
        }
        c.default_ttl = ttl("default_ttl", self.default_ttl)?;
        c.require_key_proof = self.require_key_proof;
        c.command_retention_secs = self.command_retention_secs;
        c.allow_weak_hash_params = self.allow_weak_hash_params;
        let p = &self.password;
        c.password_policy.min_len = p.min_length;
        c.password_policy.max_len = p.max_length;
        c.password_policy.min_score = p.min_score;
        let a = &self.argon2;
        c.hash_params = HashParams {
            m_kib: a.memory_kib,
            t: a.iterations,
            p: a.parallelism,
        };
        c.hash_workers = self.hash_pool.workers;
        c.hash_queue_per_worker = self.hash_pool.queue_per_worker;
        c.throttle.free_failures = self.throttle.free_failures;
        c.throttle.max_backoff_secs = self.throttle.max_backoff_secs;
        c.qr_ttl_min = self.qr.ttl_min;
        c.qr_ttl_default = self.qr.ttl_default;
        c.qr_ttl_max = self.qr.ttl_max;
        self.token_api.apply(&mut c)?;
        self.oauth.apply(&mut c)?;
        c.validate()
            .map_err(|e| SettingsError::Engine(e.to_string()))?;
        Ok(c)
    }
}

/// A TTL table value, or an error naming `key`.
pub(crate) fn ttl(key: &'static str, secs: u64) -> Result<Ttl, SettingsError> {
    Ttl::from_secs(secs).map_err(|e| SettingsError::invalid(key, e.to_string()))
}
