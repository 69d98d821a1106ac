//! Drives a real engine over a [`FaultyStore`] with the steps of the model, and compares
//! it with the reference [`Model`] after every step.
//!
//! Per step, the optional fault fails one store call of that step. Then:
//! - an operation that answers `storage_unavailable` must have tripped the fault, written
//!   nothing (the lazily created server key aside, and a throttle reservation it released
//!   again) and changed nothing the model sees;
//! - a tripped fault is never answered with anything but `storage_unavailable`, except a
//!   failed throttle reset after a successful credential check (best effort: the
//!   operation succeeds and the counter simply stays);
//! - otherwise the answer is the model's.
//!
//! After every step: every token ever issued verifies exactly when the model says so (with
//! its profile, state and expiry), and a token that failed once never verifies again; each
//! name has at most one profile, the model's (kind, state, owner, key); throttle counters
//! and QR records match; checking all of this writes nothing.

use std::sync::Arc;

use uuid::Uuid;

use super::{
    ADVANCES, FAULT_SPAN, KEYS, Model, NAMES, Op, Outcome, PASSWORDS, QR_TTLS, Step, TTLS, pick,
};
use crate::faulty::FaultyStore;
use tessera_core::clock::{Clock as _, ManualClock, Timestamp};
use tessera_core::engine::{Engine, RevokeScope};
use tessera_core::error::Error;
use tessera_core::key::KeyPair;
use tessera_core::store::{MemoryStore, Store};
use tessera_core::token::{TokenDigest, TokenKind, Ttl};

/// The engine's clock at the start of every run.
pub const START: i64 = 1_767_225_600;
/// Longest scenario run (longer inputs are cut).
pub const MAX_STEPS: usize = 64;

/// The engine side of a run: the engine, its store and clock, and what the engine handed
/// out (indexed like the model's vectors).
struct Sut {
    engine: Arc<Engine>,
    store: Arc<FaultyStore>,
    clock: Arc<ManualClock>,
    /// Profile ids, by model profile index.
    ids: Vec<Uuid>,
    /// Device ids, by model profile index (`None` for users).
    device_ids: Vec<Option<Uuid>>,
    /// Authorization token texts, by model token index.
    tokens: Vec<String>,
    /// Whether each token ever failed to verify.
    dead: Vec<bool>,
    /// QR token texts, by model QR index.
    qrs: Vec<String>,
}

fn code<T>(r: &Result<T, Error>) -> Outcome {
    r.as_ref().map(|_| ()).map_err(Error::code)
}

fn key_pair(k: usize) -> KeyPair {
    KeyPair::from_seed(&[u8::try_from(k + 1).unwrap_or(1); 32])
}

/// Run `steps` (at most [`MAX_STEPS`]) against a fresh engine on a fresh `MemoryStore`,
/// panicking at the first disagreement with the model.
pub fn run(steps: &[Step]) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run_async(steps));
}

async fn run_async(steps: &[Step]) {
    let store = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
    let (engine, clock) = crate::test_engine(store.clone());
    clock.set(Timestamp(START));
    let mut sut = Sut {
        engine,
        store,
        clock,
        ids: Vec::new(),
        device_ids: Vec::new(),
        tokens: Vec::new(),
        dead: Vec::new(),
        qrs: Vec::new(),
    };
    let mut model = Model::new(START);
    for (i, step) in steps.iter().take(MAX_STEPS).enumerate() {
        if !model.runnable(step.op) {
            continue;
        }
        let before = model.clone();
        let want = model.apply(step.op);
        if let Some(k) = step.fault {
            sut.store
                .fail_at(sut.store.calls() + u64::from(k % FAULT_SPAN));
        }
        let got = sut.step(&model, step.op).await;
        sut.store.disarm();
        let tripped = sut.store.take_tripped();
        let writes = sut.store.take_writes();
        let ctx = || format!("step {i} {step:?} (fault tripped at {tripped:?})");
        if got == Err("storage_unavailable") {
            assert!(
                tripped.is_some(),
                "{}: storage error without a fault",
                ctx()
            );
            let reserved = writes.iter().filter(|w| **w == "reserve_attempt").count();
            let released = writes.iter().filter(|w| **w == "release_attempt").count();
            assert!(
                reserved == released
                    && writes.iter().all(|w| {
                        matches!(
                            *w,
                            "server_key_or_insert" | "reserve_attempt" | "release_attempt"
                        )
                    }),
                "{}: a failed operation wrote {writes:?}",
                ctx()
            );
            model = before;
        } else if tripped == Some("clear_throttle") && got.is_ok() {
            assert_eq!(got, want, "{}", ctx());
            model.throttle = before.throttle;
        } else {
            assert!(
                tripped.is_none(),
                "{}: the fault was answered with {got:?}, not storage_unavailable",
                ctx()
            );
            assert_eq!(got, want, "{}", ctx());
        }
        sut.check(&model, &ctx()).await;
    }
}

impl Sut {
    /// The principal of model token `n`, or the verify error's code.
    async fn principal(&self, n: u8) -> Result<tessera_core::principal::Principal, &'static str> {
        let t = pick(n, self.tokens.len()).unwrap_or(0);
        self.engine
            .verify(&self.tokens[t])
            .await
            .map_err(|e| e.code())
    }

    /// Run `op` on the engine; `model` is the state after the model applied it (its
    /// vectors tell which index a new token, QR token or profile takes).
    async fn step(&mut self, model: &Model, op: Op) -> Outcome {
        let e = Arc::clone(&self.engine);
        match op {
            Op::Register { name, pw } => {
                let r = e
                    .register_profile(
                        NAMES[usize::from(name) % NAMES.len()],
                        PASSWORDS[usize::from(pw) % PASSWORDS.len()],
                    )
                    .await;
                if let Ok(done) = &r {
                    self.ids.push(done.value);
                    self.device_ids.push(None);
                }
                code(&r)
            }
            Op::Authenticate { name, pw, ttl } => {
                let ttl = Ttl::from_secs(TTLS[usize::from(ttl) % TTLS.len()]).expect("ttl");
                let r = e
                    .authenticate(
                        NAMES[usize::from(name) % NAMES.len()],
                        PASSWORDS[usize::from(pw) % PASSWORDS.len()],
                        Some(ttl),
                    )
                    .await;
                if let Ok(issued) = &r {
                    self.tokens.push(issued.token.expose().to_owned());
                    self.dead.push(false);
                }
                code(&r)
            }
            Op::RegisterKey { token, key } => {
                let p = self.principal(token).await?;
                let kp = key_pair(usize::from(key) % KEYS);
                let proof = kp.prove(p.profile_id);
                code(
                    &e.register_public_key(&p, &kp.public().to_raw_hex(), &proof)
                        .await,
                )
            }
            Op::Reauthorize { token, ttl } => {
                let p = self.principal(token).await?;
                let ttl = Ttl::from_secs(TTLS[usize::from(ttl) % TTLS.len()]).expect("ttl");
                code(&e.reauthorize(&p, Some(ttl)).await)
            }
            Op::Revoke { token } => {
                let p = self.principal(token).await?;
                code(&e.revoke(&p, RevokeScope::Token).await)
            }
            Op::RevokeAll { token } => {
                let p = self.principal(token).await?;
                code(&e.revoke(&p, RevokeScope::All).await)
            }
            Op::ChangePassword {
                token,
                current,
                new,
            } => {
                let p = self.principal(token).await?;
                let current = PASSWORDS[usize::from(current) % PASSWORDS.len()];
                let new = PASSWORDS[usize::from(new) % PASSWORDS.len()];
                code(&e.change_password(&p, current, new).await)
            }
            Op::GenerateQr { token, ttl } => {
                let p = self.principal(token).await?;
                let ttl = QR_TTLS[usize::from(ttl) % QR_TTLS.len()];
                let r = e.generate_qr_token(&p, Some(ttl), None).await;
                if let Ok(q) = &r {
                    self.qrs.push(q.token.expose().to_owned());
                }
                code(&r)
            }
            Op::RedeemQr { qr, name, pw } => {
                let q = pick(qr, self.qrs.len()).unwrap_or(0);
                let r = e
                    .redeem_qr_token(
                        &self.qrs[q],
                        NAMES[usize::from(name) % NAMES.len()],
                        PASSWORDS[usize::from(pw) % PASSWORDS.len()],
                        None,
                        None,
                    )
                    .await;
                if let Ok(done) = &r {
                    self.ids.push(done.value.profile_id);
                    self.device_ids.push(Some(done.value.device_id));
                }
                code(&r)
            }
            Op::ApproveDevice { token, device }
            | Op::RejectDevice { token, device }
            | Op::RemoveDevice { token, device } => {
                let p = self.principal(token).await?;
                let d = model.device(device).expect("runnable");
                let id = self.device_ids[d].expect("a device");
                let r = match op {
                    Op::ApproveDevice { .. } => e.approve_device(&p, id).await,
                    Op::RejectDevice { .. } => e.reject_device(&p, id).await,
                    _ => e.remove_device(&p, id).await,
                };
                code(&r)
            }
            Op::Advance { secs } => {
                self.clock
                    .advance(ADVANCES[usize::from(secs) % ADVANCES.len()]);
                Ok(())
            }
            Op::Purge => code(&e.purge_expired(1000).await),
            Op::Unlock { name } => code(&e.unlock(NAMES[usize::from(name) % NAMES.len()]).await),
        }
    }

    /// The engine handed out exactly what the model did (a refused operation nothing).
    fn assert_aligned(&self, model: &Model) {
        assert_eq!(self.tokens.len(), model.tokens.len(), "tokens handed out");
        assert_eq!(self.qrs.len(), model.qrs.len(), "QR tokens handed out");
        assert_eq!(self.ids.len(), model.profiles.len(), "profiles created");
    }

    /// Compare everything observable with `model`.
    async fn check(&mut self, model: &Model, ctx: &str) {
        self.assert_aligned(model);
        assert_eq!(self.clock.now().0, model.now, "{ctx}: clock");
        for (i, text) in self.tokens.iter().enumerate() {
            let want = &model.tokens[i];
            match self.engine.verify(text).await {
                Ok(p) => {
                    assert!(!self.dead[i], "{ctx}: token {i} verifies again");
                    assert!(model.token_valid(i), "{ctx}: token {i} verifies: {want:?}");
                    assert_eq!(p.profile_id, self.ids[want.profile], "{ctx}: token {i}");
                    assert_eq!(p.expires_at.0, want.expires_at, "{ctx}: token {i}");
                    assert_eq!(p.state, model.profiles[want.profile].state, "{ctx}");
                }
                Err(e) => {
                    assert_eq!(e, Error::Unauthorized, "{ctx}: token {i}");
                    assert!(!model.token_valid(i), "{ctx}: token {i} refused: {want:?}");
                    self.dead[i] = true;
                }
            }
        }
        let inner: &Arc<dyn Store> = self.store.inner();
        for (n, name) in NAMES.iter().enumerate() {
            let got = inner.get_profile_by_username(name).await.expect("read");
            match (got, model.by_name[n]) {
                (None, None) => {}
                (Some(rec), Some(p)) => {
                    let want = &model.profiles[p];
                    assert_eq!(rec.id, self.ids[p], "{ctx}: {name}");
                    assert_eq!(rec.kind, want.kind, "{ctx}: {name}");
                    assert_eq!(rec.state, want.state, "{ctx}: {name}");
                    assert_eq!(rec.owner, want.owner.map(|o| self.ids[o]), "{ctx}: {name}");
                    let key = want.key.map(|k| *key_pair(k).public().as_bytes());
                    assert_eq!(rec.public_key, key, "{ctx}: {name}");
                }
                (got, want) => panic!("{ctx}: {name} is {got:?}, the model says {want:?}"),
            }
            let th = inner.get_throttle(name).await.expect("read");
            let want = model.throttle[n];
            assert_eq!(th.map_or(0, |t| t.failures), want.failures, "{ctx}: {name}");
            if want.failures > 0 {
                assert_eq!(th.map(|t| t.last_failure.0), Some(want.last), "{ctx}");
            }
        }
        for (i, text) in self.qrs.iter().enumerate() {
            let digest = TokenDigest::of_token(TokenKind::Qr, text).expect("QR token");
            let stored = inner.get_qr(&digest).await.expect("read").is_some();
            assert_eq!(stored, !model.qrs[i].gone, "{ctx}: QR token {i}");
        }
        let writes = self.store.take_writes();
        assert!(writes.is_empty(), "{ctx}: checking wrote {writes:?}");
    }
}
