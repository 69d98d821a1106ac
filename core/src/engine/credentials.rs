//! Credentials: registering profiles, authenticating, changing passwords.
//!
//! Every credential check goes through [`Engine::check_password`]: the username's stripe
//! lock, the throttle's reservation, one hash job on the bounded pool (a dummy hash for
//! unknown users), then the counter. There is no second path that skips the throttle. A
//! failure is counted at once (or was, in advance, by the reservation); a success resets
//! the counter only after the operation's own write succeeded, and an operation that fails
//! on a storage error releases its reservation, so the counter is as it was.

use std::sync::Arc;

use uuid::Uuid;
use zeroize::Zeroizing;

use super::OPTIMISTIC_RETRIES;
use super::sessions::Issued;
use super::throttle::Attempt;
use super::{Accepted, Engine};
use crate::error::{Error, Result};
use crate::password::Password;
use crate::principal::Principal;
use crate::profile::{ProfileKind, ProfileState};
use crate::random;
use crate::store::{CommandRecord, Conflict, ProfileRecord, Revoke, StoreError};
use crate::token::{TokenKind, Ttl};
use crate::username::Username;

/// Outcome of a successful password check.
struct Checked {
    /// The PHC string that matched.
    matched: String,
    /// A rehash with the current parameters, when the stored one is obsolete.
    rehash: Option<String>,
    /// A hash of the new password, when one was asked for.
    new_hash: Option<String>,
    /// The throttle's reservation the check ran under, for [`Engine::throttle_reset`].
    attempt: Attempt,
}

/// A passed login check: the profile as of the check and what resets its throttle once the
/// login's own write succeeded ([`LoginCheck::succeeded`]), or releases its reservation when
/// the login fails after the check ([`LoginCheck::settle`]).
pub(super) struct LoginCheck {
    /// The profile whose password matched.
    pub(super) profile: ProfileRecord,
    key: String,
    attempt: Attempt,
}

impl LoginCheck {
    /// The login's write succeeded: reset the throttle counter (best effort).
    pub(super) async fn succeeded(self, engine: &Engine) {
        engine.throttle_reset(&self.key, self.attempt).await;
    }

    /// The end of a login after the check: on `Ok` the counter is reset
    /// ([`LoginCheck::succeeded`]); on an error the reservation is released, so a login
    /// that failed after a right password leaves the counter as it was.
    pub(super) async fn settle<T>(self, engine: &Engine, outcome: Result<T>) -> Result<T> {
        match outcome {
            Ok(v) => {
                self.succeeded(engine).await;
                Ok(v)
            }
            Err(e) => {
                engine.throttle_release(&self.key, self.attempt).await;
                Err(e)
            }
        }
    }
}

impl Engine {
    /// Hash a new password on the pool.
    pub(super) async fn hash_password(&self, password: Password) -> Result<String> {
        let hasher = Arc::clone(&self.hasher);
        let salt = random::bytes::<16>(self.rng.as_ref());
        self.pool.run(move || hasher.hash(&password, &salt)).await?
    }

    /// Check a new password against the policy, on the hash pool: zxcvbn can take most of
    /// a second of CPU on some 100-character inputs, so it runs where argon2 runs (bounded
    /// concurrency, never on the async workers). Oversized input is refused before it is
    /// copied.
    pub(super) async fn check_new_password(&self, raw: &str, username: &str) -> Result<Password> {
        let policy = self.cfg.password_policy.clone();
        if raw.len() > policy.max_len.saturating_mul(4) {
            return Err(Error::PasswordTooLong {
                max: policy.max_len,
            });
        }
        let raw = Zeroizing::new(raw.to_owned());
        let username = username.to_owned();
        self.pool.run(move || policy.check(&raw, &username)).await?
    }

    /// Check `password` against `profile`'s hash (or the dummy hash when there is no usable
    /// profile) under the throttle for `key`. The caller holds `key`'s stripe lock.
    /// On success optionally hashes `new_password` in the same pool job; the caller resets
    /// the counter ([`Engine::throttle_reset`]) once its own write succeeded.
    async fn check_password(
        &self,
        key: &str,
        profile: Option<&ProfileRecord>,
        password: Password,
        new_password: Option<Password>,
        failure: Error,
    ) -> Result<Checked> {
        let attempt = self.throttle_reserve(key).await?;
        let usable = profile
            .filter(|p| p.state != ProfileState::Removed)
            .and_then(|p| p.password_hash.clone());
        let real = usable.is_some();
        let phc = usable.unwrap_or_else(|| self.dummy_hash.clone());
        let hasher = Arc::clone(&self.hasher);
        let salts = [
            random::bytes::<16>(self.rng.as_ref()),
            random::bytes::<16>(self.rng.as_ref()),
        ];
        let job = move || -> Result<Option<Checked>> {
            if !hasher.verify(&password, &phc) || !real {
                return Ok(None);
            }
            let rehash = if hasher.needs_rehash(&phc) {
                Some(hasher.hash(&password, &salts[0])?)
            } else {
                None
            };
            let new_hash = new_password
                .map(|p| hasher.hash(&p, &salts[1]))
                .transpose()?;
            Ok(Some(Checked {
                matched: phc,
                rehash,
                new_hash,
                attempt,
            }))
        };
        let verdict = self.pool.run(job).await.and_then(|r| r);
        if let Some(ok) = self.throttle_settle(key, attempt, verdict).await? {
            Ok(ok)
        } else {
            self.throttle_fail(key, attempt).await?;
            Err(failure)
        }
    }

    /// Register a user profile (state `incomplete` until a public key is registered).
    /// A command ("Profile registered", the new profile's): returns the profile id.
    /// Errors: `InvalidUsername`, password policy errors, `UsernameTaken`, `Overloaded`.
    pub async fn register_profile(&self, username: &str, password: &str) -> Result<Accepted<Uuid>> {
        let id = self.new_id();
        let command = self.new_command(Some(id), "Profile registered", Vec::new());
        self.create_user(id, username, password, false, Some(&command))
            .await?;
        Ok(self.accepted(id, command))
    }

    /// A new `incomplete` user profile `id` with `password` (checked against the policy,
    /// hashed); `temporary` marks a password that must be replaced at the first login.
    /// `command` is written in the same transaction.
    pub(super) async fn create_user(
        &self,
        id: Uuid,
        username: &str,
        password: &str,
        temporary: bool,
        command: Option<&CommandRecord>,
    ) -> Result<()> {
        let rec = self
            .new_user_record(id, username, password, temporary)
            .await?;
        match self.store.create_profile(&rec, command).await {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict(Conflict::Username)) => Err(Error::UsernameTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// The record of a new `incomplete` user profile `id` (not yet stored): the username
    /// canonicalised, `password` checked against the policy and hashed.
    pub(super) async fn new_user_record(
        &self,
        id: Uuid,
        username: &str,
        password: &str,
        temporary: bool,
    ) -> Result<ProfileRecord> {
        let name = Username::parse(username)?;
        let password = self.check_new_password(password, name.as_str()).await?;
        let hash = self.hash_password(password).await?;
        let now = self.clock.now();
        Ok(ProfileRecord {
            id,
            kind: ProfileKind::User,
            username: name.as_str().to_owned(),
            password_hash: Some(hash),
            password_temporary: temporary,
            state: ProfileState::Incomplete,
            public_key: None,
            owner: None,
            device: None,
            environments: Vec::new(),
            created_at: now,
            updated_at: now,
            version: 1,
        })
    }

    /// Authenticate with username and password; returns a new authorization token with
    /// `ttl` (default: the configured TTL). One answer, [`Error::Unauthorized`], for an
    /// unknown user, a wrong password and a profile that cannot log in (no password, removed,
    /// or a temporary password, which only [`Engine::login`] accepts, to answer with the
    /// NEW_PASSWORD_REQUIRED challenge); throttled attempts get [`Error::TooManyAttempts`]
    /// without any hashing.
    pub async fn authenticate(
        &self,
        username: &str,
        password: &str,
        ttl: Option<Ttl>,
    ) -> Result<Issued> {
        let ttl = ttl.unwrap_or(self.cfg.default_ttl);
        let check = self.check_login(username, password).await?;
        if check.profile.password_temporary {
            return check.settle(self, Err(Error::Unauthorized)).await;
        }
        let issued = self
            .issue_checked(&check.profile, TokenKind::Authorization, ttl.secs())
            .await;
        check.settle(self, issued).await
    }

    /// Issue a token of `kind` to the profile whose password was just checked, against the
    /// version whose password we checked: a concurrent password change makes this fail
    /// rather than hand out a token for the old password (retried while the checked
    /// password still stands).
    pub(super) async fn issue_checked(
        &self,
        checked: &ProfileRecord,
        kind: TokenKind,
        ttl_secs: u64,
    ) -> Result<Issued> {
        let mut profile = checked.clone();
        for _ in 0..OPTIMISTIC_RETRIES {
            match self.issue(&profile, kind, ttl_secs, None).await {
                Ok(issued) => return Ok(issued),
                Err(StoreError::VersionMismatch) => profile = self.recheck(&profile).await?,
                Err(StoreError::NotFound) => return Err(Error::Unauthorized),
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Storage(StoreError::VersionMismatch))
    }

    /// The username and password check every login path shares: canonicalise, take the
    /// username's stripe lock, throttle, one hash job (the dummy hash for unknown users and
    /// password-less profiles), and a rehash when the parameters changed. Returns the
    /// profile as of the check (the caller calls [`LoginCheck::succeeded`] once its own
    /// write succeeded); any refusal is [`Error::Unauthorized`] (or `TooManyAttempts` /
    /// `Overloaded`).
    pub(super) async fn check_login(&self, username: &str, password: &str) -> Result<LoginCheck> {
        let Ok(name) = Username::parse(username) else {
            return Err(Error::Unauthorized);
        };
        let Some(password) = Password::for_login(password, self.cfg.password_policy.max_len) else {
            return Err(Error::Unauthorized);
        };
        let key = name.as_str();
        let _serial = self.lock_username(key).await;
        let profile = self.store.get_profile_by_username(key).await?;
        let checked = self
            .check_password(key, profile.as_ref(), password, None, Error::Unauthorized)
            .await?;
        let mut profile = profile.ok_or(Error::Unauthorized)?;
        if let Some(new_hash) = checked.rehash {
            let matched = checked.matched.clone();
            let rehashed = self
                .update_profile(profile.id, Revoke::Nothing, |p| {
                    if p.password_hash.as_deref() != Some(matched.as_str()) {
                        return Err(Error::Unauthorized);
                    }
                    p.password_hash = Some(new_hash.clone());
                    Ok(())
                })
                .await;
            profile = self.throttle_settle(key, checked.attempt, rehashed).await?;
        }
        Ok(LoginCheck {
            profile,
            key: key.to_owned(),
            attempt: checked.attempt,
        })
    }

    /// After issuing against `checked` failed with `VersionMismatch`: the fresh profile,
    /// if the password that was checked still stands and the profile may still log in.
    pub(super) async fn recheck(&self, checked: &ProfileRecord) -> Result<ProfileRecord> {
        let fresh = self.profile(checked.id).await?;
        if fresh.password_hash != checked.password_hash
            || fresh.password_temporary != checked.password_temporary
            || fresh.state == ProfileState::Removed
        {
            return Err(Error::Unauthorized);
        }
        Ok(fresh)
    }

    /// Change the password of the token's profile (must be active). The current password is
    /// checked under the throttle (a wrong one counts as a failure: [`Error::WrongPassword`]);
    /// the new one passes the policy. Every other token and every QR token of the profile is
    /// revoked in the same store transaction; the presented token stays valid. A command
    /// ("Password changed").
    pub async fn change_password(
        &self,
        principal: &Principal,
        current: &str,
        new: &str,
    ) -> Result<Accepted<()>> {
        principal.require_active()?;
        let profile = self.profile(principal.profile_id).await?;
        let new_password = self.check_new_password(new, &profile.username).await?;
        let Some(current) = Password::for_login(current, self.cfg.password_policy.max_len) else {
            return Err(Error::WrongPassword);
        };
        let key = profile.username.clone();
        let _serial = self.lock_username(&key).await;
        let checked = self
            .check_password(
                &key,
                Some(&profile),
                current,
                Some(new_password),
                Error::WrongPassword,
            )
            .await?;
        let new_hash = checked.new_hash.clone().ok_or(Error::WrongPassword);
        let new_hash = self
            .throttle_settle(&key, checked.attempt, new_hash)
            .await?;
        let changed = self
            .update_profile_command(
                profile.id,
                Revoke::AllExcept(principal.token),
                |p| {
                    if p.password_hash.as_deref() != Some(checked.matched.as_str()) {
                        return Err(Error::WrongPassword);
                    }
                    p.password_hash = Some(new_hash.clone());
                    p.password_temporary = false;
                    Ok(())
                },
                |p| self.new_command(Some(p.id), "Password changed", Vec::new()),
            )
            .await;
        let (_, command) = self.throttle_settle(&key, checked.attempt, changed).await?;
        self.throttle_reset(&key, checked.attempt).await;
        Ok(self.accepted((), command))
    }
}
