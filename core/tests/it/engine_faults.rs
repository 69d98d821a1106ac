//! The engine against the reference model of `tessera_testkit::model`, with storage
//! failures injected at random store calls (the same code as the `engine_model` fuzz
//! target, driven by proptest with a bounded number of cases).

use proptest::prelude::*;
use tessera_testkit::model::{self, Op, Step};

fn op() -> impl Strategy<Value = Op> {
    let n = || 0..8u8;
    prop_oneof![
        2 => (n(), n()).prop_map(|(name, pw)| Op::Register { name, pw }),
        4 => (n(), n(), n()).prop_map(|(name, pw, ttl)| Op::Authenticate { name, pw, ttl }),
        2 => (n(), n()).prop_map(|(token, key)| Op::RegisterKey { token, key }),
        1 => (n(), n()).prop_map(|(token, ttl)| Op::Reauthorize { token, ttl }),
        1 => n().prop_map(|token| Op::Revoke { token }),
        1 => n().prop_map(|token| Op::RevokeAll { token }),
        2 => (n(), n(), n()).prop_map(|(token, current, new)| Op::ChangePassword { token, current, new }),
        2 => (n(), n()).prop_map(|(token, ttl)| Op::GenerateQr { token, ttl }),
        2 => (n(), n(), n()).prop_map(|(qr, name, pw)| Op::RedeemQr { qr, name, pw }),
        1 => (n(), n()).prop_map(|(token, device)| Op::ApproveDevice { token, device }),
        1 => (n(), n()).prop_map(|(token, device)| Op::RejectDevice { token, device }),
        1 => (n(), n()).prop_map(|(token, device)| Op::RemoveDevice { token, device }),
        1 => n().prop_map(|secs| Op::Advance { secs }),
        1 => Just(Op::Purge),
        1 => n().prop_map(|name| Op::Unlock { name }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    (op(), prop::option::weighted(0.3, 0..8u8)).prop_map(|(op, fault)| Step { op, fault })
}

/// 96 cases by default (a few seconds); `ENGINE_FAULTS_CASES=20000` for a long run.
fn cases() -> u32 {
    std::env::var("ENGINE_FAULTS_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(96)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 4000, ..ProptestConfig::default() })]

    #[test]
    fn engine_agrees_with_the_model_under_storage_faults(
        steps in prop::collection::vec(step(), 1..48),
    ) {
        model::run(&steps);
    }
}
