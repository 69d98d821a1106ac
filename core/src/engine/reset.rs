//! Password reset (forgot-password): an 8-character single-use code, delivered by the
//! [`crate::Notifier`], confirmed with a new password.
//!
//! Codes are 8 characters of Crockford base32 (`0-9 A-Z` without `I L O U`: 40 bits),
//! valid 10 minutes (configurable). Only a digest bound to the profile is stored
//! ([`TokenDigest::of_reset_code`]), and a newer request voids the older code
//! ([`crate::store::TokenStore::replace_tokens`]). Input is read case-insensitively, with
//! `O` as `0` and `I`/`L` as `1`. Guesses are throttled per account (key
//! `reset:<canonical username>`, the login backoff policy), across all open requests.

use std::sync::Arc;

use zeroize::Zeroizing;

use super::Engine;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::notify::{Notification, Notifier, ResetCode};
use crate::profile::ProfileState;
use crate::random::{self, Random};
use crate::store::{Revoke, Store, TokenRecord};
use crate::token::{TokenDigest, TokenKind};
use crate::username::Username;

/// Crockford's base32 alphabet: 32 symbols, so a random byte's low 5 bits pick one without
/// bias.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in a code.
pub const RESET_CODE_LEN: usize = 8;

/// A fresh code from `rng`.
fn generate_code(rng: &dyn Random) -> ResetCode {
    let raw = Zeroizing::new(random::bytes::<RESET_CODE_LEN>(rng));
    let code = raw
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
        .collect();
    ResetCode::new(code)
}

/// The canonical form of a typed code, or `None` if it cannot be one.
fn normalize_code(input: &str) -> Option<Zeroizing<String>> {
    if input.len() != RESET_CODE_LEN {
        return None;
    }
    let mut out = Zeroizing::new(String::with_capacity(RESET_CODE_LEN));
    for b in input.bytes() {
        let c = match b.to_ascii_uppercase() {
            b'O' => b'0',
            b'I' | b'L' => b'1',
            c if ALPHABET.contains(&c) => c,
            _ => return None,
        };
        out.push(char::from(c));
    }
    Some(out)
}

/// Everything the background half of forgot-password needs.
struct ResetJob {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Random>,
    notifier: Arc<dyn Notifier>,
    ttl_secs: u64,
}

impl ResetJob {
    /// Look the user up, store a new code (voiding any older one) and notify. Failures are
    /// silent: the caller has long had its answer.
    async fn run(self, username: String) {
        let Ok(name) = Username::parse(&username) else {
            return;
        };
        let Ok(Some(profile)) = self.store.get_profile_by_username(name.as_str()).await else {
            return;
        };
        if profile.state == ProfileState::Removed || profile.password_hash.is_none() {
            return;
        }
        let code = generate_code(self.rng.as_ref());
        let now = self.clock.now();
        let rec = TokenRecord {
            digest: TokenDigest::of_reset_code(profile.id, code.expose()),
            profile_id: profile.id,
            kind: TokenKind::ResetCode,
            issued_at: now,
            expires_at: now.plus_secs(self.ttl_secs),
            family: None,
        };
        if self.store.replace_tokens(&rec).await.is_err() {
            return;
        }
        self.notifier
            .notify(Notification::ResetCode {
                profile_id: profile.id,
                username: profile.username,
                code,
                expires_at: rec.expires_at,
            })
            .await;
    }
}

impl Engine {
    /// Start a password reset for `username`. Answers at once and identically whether or
    /// not the user exists (or the name is even valid): the lookup, the new code (which
    /// voids any older one) and the notification happen in a background task. Profiles
    /// without a password (server-registered users) and removed devices get no code.
    pub async fn forgot_password(&self, username: &str) {
        let job = ResetJob {
            store: Arc::clone(&self.store),
            clock: Arc::clone(&self.clock),
            rng: Arc::clone(&self.rng),
            notifier: Arc::clone(&self.notifier),
            ttl_secs: self.cfg.reset_code_ttl_secs,
        };
        let username = username.to_owned();
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(job.run(username));
            }
            // Not on a tokio runtime (another executor): do the work inline.
            Err(_) => job.run(username).await,
        }
    }

    /// Finish a password reset: `code` must be the live code of `username`'s latest
    /// request. The new password passes the policy (checked first, so a weak one does not
    /// use the code up). On success the code is consumed, the password set and every token
    /// of the profile revoked in one store transaction; no token is issued, and the login
    /// throttle of the username is cleared.
    /// Errors: `InvalidCode` (wrong, used, expired, another user's, unknown user),
    /// `TooManyAttempts` (guesses for this account throttled), password policy errors,
    /// `Overloaded`.
    pub async fn confirm_forgot_password(
        &self,
        username: &str,
        code: &str,
        new_password: &str,
    ) -> Result<()> {
        let Ok(name) = Username::parse(username) else {
            return Err(Error::InvalidCode);
        };
        let password = self.check_new_password(new_password, name.as_str()).await?;
        let key = format!("reset:{}", name.as_str());
        let found = {
            let _serial = self.lock_username(&key).await;
            let attempt = self.throttle_reserve(&key).await?;
            let found = match normalize_code(code) {
                Some(code) => self.find_reset_code(&name, &code).await,
                None => Ok(None),
            };
            let found = self.throttle_settle(&key, attempt, found).await?;
            if found.is_some() {
                let cleared = self.throttle_clear(&key, attempt).await;
                self.throttle_settle(&key, attempt, cleared).await?;
            } else {
                self.throttle_fail(&key, attempt).await?;
            }
            found
        };
        let (profile_id, digest) = found.ok_or(Error::InvalidCode)?;
        let hash = self.hash_password(password).await?;
        self.store
            .take_token(&digest, TokenKind::ResetCode, self.clock.now())
            .await?
            .filter(|t| t.profile_id == profile_id)
            .ok_or(Error::InvalidCode)?;
        self.update_profile(profile_id, Revoke::All, |p| {
            if p.state == ProfileState::Removed {
                return Err(Error::InvalidCode);
            }
            p.password_hash = Some(hash.clone());
            p.password_temporary = false;
            Ok(())
        })
        .await?;
        self.store.clear_throttle(name.as_str()).await?;
        Ok(())
    }

    /// The profile and digest of `name`'s live code `code`, if it is one.
    async fn find_reset_code(
        &self,
        name: &Username,
        code: &str,
    ) -> Result<Option<(uuid::Uuid, TokenDigest)>> {
        let Some(profile) = self.store.get_profile_by_username(name.as_str()).await? else {
            return Ok(None);
        };
        if profile.state == ProfileState::Removed {
            return Ok(None);
        }
        let digest = TokenDigest::of_reset_code(profile.id, code);
        let now = self.clock.now();
        let live = self.store.get_token(&digest).await?.is_some_and(|t| {
            t.kind == TokenKind::ResetCode && t.profile_id == profile.id && t.expires_at > now
        });
        Ok(live.then_some((profile.id, digest)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;

    #[test]
    fn codes_use_the_alphabet_and_normalize_to_themselves() {
        for _ in 0..1000 {
            let c = generate_code(&OsRandom);
            assert_eq!(c.expose().len(), RESET_CODE_LEN);
            assert!(c.expose().bytes().all(|b| ALPHABET.contains(&b)));
            assert_eq!(normalize_code(c.expose()).unwrap().as_str(), c.expose());
            let lower = c.expose().to_ascii_lowercase();
            assert_eq!(normalize_code(&lower).unwrap().as_str(), c.expose());
        }
    }

    #[test]
    fn typed_codes_are_read_leniently_but_strictly_sized() {
        assert_eq!(normalize_code("6MadrbRF").unwrap().as_str(), "6MADRBRF");
        assert_eq!(normalize_code("oIlO0000").unwrap().as_str(), "01100000");
        for bad in [
            "",
            "1234567",
            "123456789",
            " 1234567",
            "1234567 ",
            "1234U678",
            "1234-678",
            "12345é7",
            "１２３４５６７８",
        ] {
            assert!(normalize_code(bad).is_none(), "{bad:?}");
        }
    }
}
