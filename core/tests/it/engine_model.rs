//! A proptest state-machine test of the engine against a small reference model: register,
//! authenticate (with throttling), register a key, reauthorize, revoke, change password and
//! advance the clock. After every step every token ever issued is verified and compared
//! with the model.

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};
use tessera_core::{
    Clock, Engine, Error, KeyPair, ManualClock, MemoryStore, OsRandom, ProfileState, RevokeScope,
    Ttl,
};
use tessera_testkit::test_engine;

const USERS: [&str; 3] = ["ann", "ben", "cat"];
const PASSWORDS: [&str; 3] = [
    "velvet thunder orchard kites",
    "marble lantern bicycle reef",
    "quiet copper harbor ninety",
];
const TTLS: [u64; 3] = [3600, 86_400, 604_800];
const START: i64 = 1_767_225_600;

#[derive(Clone, Debug)]
struct User {
    pw: usize,
    active: bool,
}

#[derive(Clone, Debug)]
struct Tok {
    user: usize,
    expires_at: i64,
    revoked: bool,
}

#[derive(Clone, Debug, Default)]
struct Throttle {
    failures: u32,
    last: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Ok,
    Err(&'static str),
}

#[derive(Clone, Debug)]
struct Model {
    now: i64,
    users: [Option<User>; 3],
    throttle: [Throttle; 3],
    tokens: Vec<Tok>,
    last: Outcome,
}

#[derive(Clone, Debug)]
enum Step {
    Register(usize, usize),
    Authenticate(usize, usize, usize),
    RegisterKey(usize),
    Reauthorize(usize, usize),
    Revoke(usize),
    RevokeAll(usize),
    ChangePassword(usize, usize, usize),
    Advance(u64),
}

impl Model {
    fn valid(&self, t: usize) -> bool {
        let t = &self.tokens[t];
        !t.revoked && self.now < t.expires_at
    }

    /// Throttle gate as DESIGN.md states it: 5 free failures, then 2^(n-5) s, capped at 900.
    fn throttled(&self, u: usize) -> bool {
        let th = &self.throttle[u];
        if th.failures < 5 {
            return false;
        }
        let wait = 1i64 << (th.failures - 5).min(20);
        self.now < th.last + wait.min(900)
    }

    fn fail(&mut self, u: usize) {
        self.throttle[u].failures += 1;
        self.throttle[u].last = self.now;
    }
}

struct EngineModel;

impl ReferenceStateMachine for EngineModel {
    type State = Model;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<Model> {
        Just(Model {
            now: START,
            users: [None, None, None],
            throttle: Default::default(),
            tokens: Vec::new(),
            last: Outcome::Ok,
        })
        .boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Step> {
        let n = state.tokens.len().max(1);
        prop_oneof![
            2 => (0..3usize, 0..3usize).prop_map(|(u, p)| Step::Register(u, p)),
            4 => (0..3usize, 0..3usize, 0..3usize).prop_map(|(u, p, t)| Step::Authenticate(u, p, t)),
            2 => (0..n).prop_map(Step::RegisterKey),
            1 => (0..n, 0..3usize).prop_map(|(t, x)| Step::Reauthorize(t, x)),
            1 => (0..n).prop_map(Step::Revoke),
            1 => (0..n).prop_map(Step::RevokeAll),
            2 => (0..n, 0..3usize, 0..3usize).prop_map(|(t, c, p)| Step::ChangePassword(t, c, p)),
            1 => prop_oneof![Just(1u64), Just(900), Just(3600), Just(86_400)].prop_map(Step::Advance),
        ]
        .boxed()
    }

    fn preconditions(state: &Model, step: &Step) -> bool {
        match step {
            Step::RegisterKey(t)
            | Step::Reauthorize(t, _)
            | Step::Revoke(t)
            | Step::RevokeAll(t)
            | Step::ChangePassword(t, _, _) => *t < state.tokens.len(),
            _ => true,
        }
    }

    fn apply(mut s: Model, step: &Step) -> Model {
        s.last = match *step {
            Step::Register(u, p) => {
                if s.users[u].is_some() {
                    Outcome::Err("username_taken")
                } else {
                    s.users[u] = Some(User {
                        pw: p,
                        active: false,
                    });
                    Outcome::Ok
                }
            }
            Step::Authenticate(u, p, t) => {
                if s.throttled(u) {
                    Outcome::Err("too_many_attempts")
                } else if s.users[u].as_ref().is_some_and(|x| x.pw == p) {
                    s.throttle[u] = Throttle::default();
                    let expires_at = s.now + TTLS[t] as i64;
                    s.tokens.push(Tok {
                        user: u,
                        expires_at,
                        revoked: false,
                    });
                    Outcome::Ok
                } else {
                    s.fail(u);
                    Outcome::Err("unauthorized")
                }
            }
            Step::RegisterKey(t) => {
                if s.valid(t) {
                    let u = s.tokens[t].user;
                    s.users[u].as_mut().expect("user").active = true;
                    Outcome::Ok
                } else {
                    Outcome::Err("unauthorized")
                }
            }
            Step::Reauthorize(t, x) => {
                if s.valid(t) {
                    s.tokens[t].expires_at = s.now + TTLS[x] as i64;
                    Outcome::Ok
                } else {
                    Outcome::Err("unauthorized")
                }
            }
            Step::Revoke(t) => {
                if s.valid(t) {
                    s.tokens[t].revoked = true;
                    Outcome::Ok
                } else {
                    Outcome::Err("unauthorized")
                }
            }
            Step::RevokeAll(t) => {
                if s.valid(t) {
                    let u = s.tokens[t].user;
                    for tok in s.tokens.iter_mut().filter(|x| x.user == u) {
                        tok.revoked = true;
                    }
                    Outcome::Ok
                } else {
                    Outcome::Err("unauthorized")
                }
            }
            Step::ChangePassword(t, c, p) => {
                let u = s.tokens[t].user;
                if !s.valid(t) {
                    Outcome::Err("unauthorized")
                } else if !s.users[u].as_ref().expect("user").active {
                    Outcome::Err("profile_incomplete")
                } else if s.throttled(u) {
                    Outcome::Err("too_many_attempts")
                } else if s.users[u].as_ref().expect("user").pw != c {
                    s.fail(u);
                    Outcome::Err("wrong_password")
                } else {
                    s.throttle[u] = Throttle::default();
                    s.users[u].as_mut().expect("user").pw = p;
                    for (i, tok) in s.tokens.iter_mut().enumerate() {
                        if tok.user == u && i != t {
                            tok.revoked = true;
                        }
                    }
                    Outcome::Ok
                }
            }
            Step::Advance(secs) => {
                s.now += secs as i64;
                Outcome::Ok
            }
        };
        s
    }
}

struct Sut {
    rt: tokio::runtime::Runtime,
    engine: Arc<Engine>,
    clock: Arc<ManualClock>,
    tokens: Vec<String>,
    ids: BTreeMap<usize, uuid::Uuid>,
}

struct EngineUnderTest;

fn outcome<T>(r: Result<T, Error>) -> Outcome {
    match r {
        Ok(_) => Outcome::Ok,
        Err(e) => Outcome::Err(e.code()),
    }
}

impl StateMachineTest for EngineUnderTest {
    type SystemUnderTest = Sut;
    type Reference = EngineModel;

    fn init_test(_: &Model) -> Sut {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (engine, clock) = rt.block_on(async { test_engine(Arc::new(MemoryStore::new())) });
        clock.set(tessera_core::Timestamp(START));
        Sut {
            rt,
            engine,
            clock,
            tokens: Vec::new(),
            ids: BTreeMap::new(),
        }
    }

    fn apply(mut sut: Sut, model: &Model, step: Step) -> Sut {
        let e = Arc::clone(&sut.engine);
        let got = sut.rt.block_on(async {
            match step {
                Step::Register(u, p) => {
                    let r = e.register_profile(USERS[u], PASSWORDS[p]).await;
                    if let Ok(done) = &r {
                        sut.ids.insert(u, done.value);
                    }
                    outcome(r)
                }
                Step::Authenticate(u, p, t) => {
                    let ttl = Ttl::from_secs(TTLS[t]).expect("ttl");
                    let r = e.authenticate(USERS[u], PASSWORDS[p], Some(ttl)).await;
                    if let Ok(i) = &r {
                        assert_eq!(i.expires_at.0, sut.clock.now().0 + TTLS[t] as i64);
                        sut.tokens.push(i.token.expose().to_owned());
                    }
                    outcome(r)
                }
                Step::RegisterKey(t) => match e.verify(&sut.tokens[t]).await {
                    Ok(p) => {
                        let kp = KeyPair::generate(&OsRandom);
                        outcome(
                            e.register_public_key(
                                &p,
                                &kp.public().to_raw_hex(),
                                &kp.prove(p.profile_id),
                            )
                            .await,
                        )
                    }
                    Err(err) => outcome::<()>(Err(err)),
                },
                Step::Reauthorize(t, x) => match e.verify(&sut.tokens[t]).await {
                    Ok(p) => outcome(
                        e.reauthorize(&p, Some(Ttl::from_secs(TTLS[x]).expect("ttl")))
                            .await,
                    ),
                    Err(err) => outcome::<()>(Err(err)),
                },
                Step::Revoke(t) | Step::RevokeAll(t) => {
                    let scope = if matches!(step, Step::Revoke(_)) {
                        RevokeScope::Token
                    } else {
                        RevokeScope::All
                    };
                    match e.verify(&sut.tokens[t]).await {
                        Ok(p) => outcome(e.revoke(&p, scope).await),
                        Err(err) => outcome::<()>(Err(err)),
                    }
                }
                Step::ChangePassword(t, c, p) => match e.verify(&sut.tokens[t]).await {
                    Ok(pr) => outcome(e.change_password(&pr, PASSWORDS[c], PASSWORDS[p]).await),
                    Err(err) => outcome::<()>(Err(err)),
                },
                Step::Advance(secs) => {
                    sut.clock.advance(secs);
                    Outcome::Ok
                }
            }
        });
        assert_eq!(got, model.last, "step {step:?}");
        sut
    }

    fn check_invariants(sut: &Sut, model: &Model) {
        assert_eq!(sut.tokens.len(), model.tokens.len());
        sut.rt.block_on(async {
            for (i, text) in sut.tokens.iter().enumerate() {
                let want = &model.tokens[i];
                match sut.engine.verify(text).await {
                    Ok(p) => {
                        assert!(
                            model.valid(i),
                            "token {i} verifies but the model says {want:?}"
                        );
                        assert_eq!(p.expires_at.0, want.expires_at);
                        assert_eq!(Some(&p.profile_id), sut.ids.get(&want.user));
                        let active = model.users[want.user].as_ref().is_some_and(|u| u.active);
                        let state = if active {
                            ProfileState::Active
                        } else {
                            ProfileState::Incomplete
                        };
                        assert_eq!(p.state, state);
                    }
                    Err(e) => {
                        assert_eq!(e, Error::Unauthorized);
                        assert!(
                            !model.valid(i),
                            "token {i} refused but the model says {want:?}"
                        );
                    }
                }
            }
        });
    }
}

prop_state_machine! {
    #![proptest_config(ProptestConfig { cases: 256, max_shrink_iters: 2000, ..ProptestConfig::default() })]
    #[test]
    fn engine_agrees_with_the_reference_model(sequential 1..40 => EngineUnderTest);
}
