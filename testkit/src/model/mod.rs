//! The reference model of the engine for fault-injection testing: the operations
//! ([`Op`], [`Step`]) and what each one must do ([`Model`]), in a few plain maps.
//!
//! [`run`] drives a real engine with the same steps over a
//! [`super::faulty::FaultyStore`] and compares after every step. The fuzz target
//! `engine_model` and the proptest `core/tests/engine_faults.rs` both use it.
//!
//! Indexes in an [`Op`] pick among what exists (the n-th token issued so far, modulo their
//! number); an op that needs something that does not exist yet is skipped.

mod ops;
mod run;

pub use ops::{ADVANCES, FAULT_SPAN, KEYS, NAMES, Op, PASSWORDS, QR_TTLS, Step, TTLS, encode};
pub use run::{MAX_STEPS, START, run};

use tessera_core::profile::{ProfileKind, ProfileState};

/// What an operation answers: `Ok` or the engine's error code.
pub type Outcome = Result<(), &'static str>;

/// A profile as the model knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Index into [`NAMES`].
    pub name: usize,
    /// User or device.
    pub kind: ProfileKind,
    /// Index into [`PASSWORDS`].
    pub pw: usize,
    /// Lifecycle state.
    pub state: ProfileState,
    /// The owner (a profile index), for devices.
    pub owner: Option<usize>,
    /// Index of the registered key.
    pub key: Option<usize>,
}

/// An authorization token as the model knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tok {
    /// Profile index.
    pub profile: usize,
    /// Valid while `now < expires_at`.
    pub expires_at: i64,
    /// Revoked (never valid again).
    pub revoked: bool,
}

/// A QR token as the model knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qr {
    /// The issuing profile index.
    pub owner: usize,
    /// Usable while `now < expires_at`.
    pub expires_at: i64,
    /// Redeemed, revoked or purged: no longer stored.
    pub gone: bool,
}

/// Failed credential checks of one name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Throttle {
    /// Consecutive failures.
    pub failures: u32,
    /// Time of the last one.
    pub last: i64,
}

/// The reference model: everything observable, in plain vectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    /// The clock.
    pub now: i64,
    /// Every profile created, in creation order.
    pub profiles: Vec<Profile>,
    /// The profile holding each name: one profile per username.
    pub by_name: [Option<usize>; NAMES.len()],
    /// Throttle counters per name (unknown names too).
    pub throttle: [Throttle; NAMES.len()],
    /// Every authorization token issued, in order.
    pub tokens: Vec<Tok>,
    /// Every QR token issued, in order.
    pub qrs: Vec<Qr>,
}

/// The device profiles, in creation order (what `device` indexes of an [`Op`] pick from).
fn devices(profiles: &[Profile]) -> Vec<usize> {
    (0..profiles.len())
        .filter(|&p| profiles[p].kind == ProfileKind::Device)
        .collect()
}

/// `n` modulo `len`, or `None` when there is nothing to pick.
#[must_use]
pub fn pick(n: u8, len: usize) -> Option<usize> {
    (len > 0).then(|| usize::from(n) % len)
}

/// The guard of operations that need an active profile.
fn require_active(state: ProfileState) -> Outcome {
    match state {
        ProfileState::Active => Ok(()),
        ProfileState::Incomplete => Err("profile_incomplete"),
        ProfileState::Pending => Err("device_pending"),
        ProfileState::Rejected => Err("device_rejected"),
        ProfileState::Removed => Err("unauthorized"),
    }
}

impl Model {
    /// The empty model at `now`.
    #[must_use]
    pub fn new(now: i64) -> Self {
        Self {
            now,
            profiles: Vec::new(),
            by_name: [None; NAMES.len()],
            throttle: [Throttle::default(); NAMES.len()],
            tokens: Vec::new(),
            qrs: Vec::new(),
        }
    }

    /// Whether token `t` verifies now.
    #[must_use]
    pub fn token_valid(&self, t: usize) -> bool {
        let tok = &self.tokens[t];
        !tok.revoked
            && self.now < tok.expires_at
            && self.profiles[tok.profile].state != ProfileState::Removed
    }

    /// Whether a credential check of `name` is refused now (5 free failures, then
    /// 2^(n−5) s after the last one, capped at 900 s).
    fn throttled(&self, name: usize) -> bool {
        let th = self.throttle[name];
        let Some(over) = th.failures.checked_sub(5) else {
            return false;
        };
        let wait = if over >= 10 {
            900
        } else {
            (1i64 << over).min(900)
        };
        self.now < th.last + wait
    }

    fn fail(&mut self, name: usize) {
        let th = &mut self.throttle[name];
        th.failures = th.failures.saturating_add(1);
        th.last = self.now;
    }

    /// The profile of a valid token `t`, or `unauthorized`.
    fn holder(&self, t: usize) -> Result<usize, &'static str> {
        if self.token_valid(t) {
            Ok(self.tokens[t].profile)
        } else {
            Err("unauthorized")
        }
    }

    fn revoke_tokens(&mut self, profile: usize, keep: Option<usize>) {
        for (i, tok) in self.tokens.iter_mut().enumerate() {
            if tok.profile == profile && Some(i) != keep {
                tok.revoked = true;
            }
        }
        for qr in self.qrs.iter_mut().filter(|q| q.owner == profile) {
            qr.gone = true;
        }
    }

    /// Whether `op` has what it needs (tokens, QR tokens, devices) to run.
    #[must_use]
    pub fn runnable(&self, op: Op) -> bool {
        match op {
            Op::RegisterKey { .. }
            | Op::Reauthorize { .. }
            | Op::Revoke { .. }
            | Op::RevokeAll { .. }
            | Op::ChangePassword { .. }
            | Op::GenerateQr { .. } => !self.tokens.is_empty(),
            Op::RedeemQr { .. } => !self.qrs.is_empty(),
            Op::ApproveDevice { .. } | Op::RejectDevice { .. } | Op::RemoveDevice { .. } => {
                !self.tokens.is_empty() && !devices(&self.profiles).is_empty()
            }
            _ => true,
        }
    }

    /// The device profile index `n` picks.
    #[must_use]
    pub fn device(&self, n: u8) -> Option<usize> {
        let d = devices(&self.profiles);
        pick(n, d.len()).map(|i| d[i])
    }

    /// Apply `op` (which must be [`Model::runnable`]) as the engine must, and return
    /// what it must answer.
    pub fn apply(&mut self, op: Op) -> Outcome {
        let tok = |n: u8| pick(n, self.tokens.len()).unwrap_or(0);
        match op {
            Op::Register { name, pw } => self.add_profile(name, pw, ProfileKind::User, None),
            Op::Authenticate { name, pw, ttl } => {
                let name = usize::from(name) % NAMES.len();
                if self.throttled(name) {
                    return Err("too_many_attempts");
                }
                let pw = usize::from(pw) % PASSWORDS.len();
                match self.by_name[name] {
                    Some(p)
                        if self.profiles[p].state != ProfileState::Removed
                            && self.profiles[p].pw == pw =>
                    {
                        self.throttle[name] = Throttle::default();
                        self.tokens.push(Tok {
                            profile: p,
                            expires_at: self.now + TTLS[usize::from(ttl) % TTLS.len()] as i64,
                            revoked: false,
                        });
                        Ok(())
                    }
                    _ => {
                        self.fail(name);
                        Err("unauthorized")
                    }
                }
            }
            Op::RegisterKey { token, key } => self.register_key(tok(token), key),
            Op::Reauthorize { token, ttl } => {
                let t = tok(token);
                self.holder(t)?;
                self.tokens[t].expires_at = self.now + TTLS[usize::from(ttl) % TTLS.len()] as i64;
                Ok(())
            }
            Op::Revoke { token } => {
                let t = tok(token);
                self.holder(t)?;
                self.tokens[t].revoked = true;
                Ok(())
            }
            Op::RevokeAll { token } => {
                let p = self.holder(tok(token))?;
                self.revoke_tokens(p, None);
                Ok(())
            }
            Op::ChangePassword {
                token,
                current,
                new,
            } => self.change_password(tok(token), current, new),
            Op::GenerateQr { token, ttl } => {
                let p = self.holder(tok(token))?;
                require_active(self.profiles[p].state)?;
                if self.profiles[p].kind != ProfileKind::User {
                    return Err("forbidden");
                }
                let ttl = QR_TTLS[usize::from(ttl) % QR_TTLS.len()];
                if !(60..=900).contains(&ttl) {
                    return Err("validation_failed");
                }
                self.qrs.push(Qr {
                    owner: p,
                    expires_at: self.now + ttl as i64,
                    gone: false,
                });
                Ok(())
            }
            Op::RedeemQr { qr, name, pw } => self.redeem(qr, name, pw),
            Op::ApproveDevice { token, device }
            | Op::RejectDevice { token, device }
            | Op::RemoveDevice { token, device } => self.device_event(op, tok(token), device),
            Op::Advance { secs } => {
                self.now += ADVANCES[usize::from(secs) % ADVANCES.len()] as i64;
                Ok(())
            }
            Op::Purge => {
                let now = self.now;
                for qr in self.qrs.iter_mut().filter(|q| q.expires_at <= now) {
                    qr.gone = true;
                }
                Ok(())
            }
            Op::Unlock { name } => {
                self.throttle[usize::from(name) % NAMES.len()] = Throttle::default();
                Ok(())
            }
        }
    }

    fn register_key(&mut self, t: usize, key: u8) -> Outcome {
        let p = self.holder(t)?;
        let key = usize::from(key) % KEYS;
        let prof = &self.profiles[p];
        let state = match (prof.kind, prof.state) {
            (_, ProfileState::Rejected) => return Err("device_rejected"),
            (ProfileKind::User, _) => ProfileState::Active,
            (ProfileKind::Device, ProfileState::Active) => ProfileState::Active,
            (ProfileKind::Device, _) => ProfileState::Pending,
        };
        if (0..self.profiles.len()).any(|q| q != p && self.profiles[q].key == Some(key)) {
            return Err("invalid_public_key");
        }
        self.profiles[p].state = state;
        self.profiles[p].key = Some(key);
        Ok(())
    }

    fn change_password(&mut self, t: usize, current: u8, new: u8) -> Outcome {
        let p = self.holder(t)?;
        require_active(self.profiles[p].state)?;
        let name = self.profiles[p].name;
        if self.throttled(name) {
            return Err("too_many_attempts");
        }
        if self.profiles[p].pw != usize::from(current) % PASSWORDS.len() {
            self.fail(name);
            return Err("wrong_password");
        }
        self.throttle[name] = Throttle::default();
        self.profiles[p].pw = usize::from(new) % PASSWORDS.len();
        self.revoke_tokens(p, Some(t));
        Ok(())
    }

    fn redeem(&mut self, qr: u8, name: u8, pw: u8) -> Outcome {
        let q = pick(qr, self.qrs.len()).unwrap_or(0);
        let qr = &self.qrs[q];
        let owner = &self.profiles[qr.owner];
        if qr.gone
            || self.now >= qr.expires_at
            || owner.kind != ProfileKind::User
            || owner.state != ProfileState::Active
        {
            return Err("invalid_qr_token");
        }
        self.add_profile(name, pw, ProfileKind::Device, Some(self.qrs[q].owner))?;
        self.qrs[q].gone = true;
        Ok(())
    }

    /// A new `incomplete` profile claiming username `name` (refused when taken).
    fn add_profile(
        &mut self,
        name: u8,
        pw: u8,
        kind: ProfileKind,
        owner: Option<usize>,
    ) -> Outcome {
        let name = usize::from(name) % NAMES.len();
        if self.by_name[name].is_some() {
            return Err("username_taken");
        }
        self.by_name[name] = Some(self.profiles.len());
        self.profiles.push(Profile {
            name,
            kind,
            pw: usize::from(pw) % PASSWORDS.len(),
            state: ProfileState::Incomplete,
            owner,
            key: None,
        });
        Ok(())
    }

    fn device_event(&mut self, op: Op, t: usize, device: u8) -> Outcome {
        let p = self.holder(t)?;
        require_active(self.profiles[p].state)?;
        if self.profiles[p].kind != ProfileKind::User {
            return Err("forbidden");
        }
        let d = self.device(device).ok_or("not_found")?;
        let dev = &self.profiles[d];
        if dev.owner != Some(p) || dev.state == ProfileState::Removed {
            return Err("not_found");
        }
        let state = match (op, dev.state) {
            (Op::ApproveDevice { .. }, ProfileState::Pending) => ProfileState::Active,
            (Op::ApproveDevice { .. }, _) => return Err("validation_failed"),
            (Op::RejectDevice { .. }, ProfileState::Rejected) => return Err("validation_failed"),
            (Op::RejectDevice { .. }, _) => ProfileState::Rejected,
            _ => ProfileState::Removed,
        };
        self.profiles[d].state = state;
        if state != ProfileState::Active {
            self.revoke_tokens(d, None);
        }
        Ok(())
    }
}
