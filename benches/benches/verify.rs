//! The hot path: checking a presented token, tessera against JWT and PASETO.
//!
//! Groups (results in `target/criterion/<group>/<function>/`):
//! - `verify`: `tessera_memory`, `tessera_redb` (with its resolved-token cache, the
//!   default), `tessera_redb_uncached` (`resolve_cache_entries(0)`), `tessera_sled`,
//!   `tessera_sled_uncached`,
//!   `tessera_postgres`
//!   (1,000,000 live tokens, a random one of 10,000 per iteration), `jwt_hs256`,
//!   `jwt_eddsa`, `paseto_v4_local`, `paseto_v4_public`. `tessera_postgres` runs when
//!   `TESSERA_BENCH_POSTGRES_URL` (or `TESSERA_TEST_POSTGRES_URL`) names a server (its
//!   fixture stays there in the schema `tessera_bench_1000000`; loading it the first time
//!   takes about half a minute) and says it is skipped otherwise;
//! - `verify_scale`: `tessera_redb_10k`, `tessera_redb_1m`, and both `_uncached`.
//! - `oauth` (redb, in a temp dir; production engine settings, no password work):
//!   `token_authorization_code` (a code issued for an active user, then exchanged with PKCE
//!   S256: two durable writes, no id token), `token_authorization_code_openid` (the same
//!   with `openid`: plus an RS256 id token), `introspect` (RFC 7662 by the client: its
//!   authentication, then one `resolve_oauth`), `verify_access` (the in-process check of an
//!   access token, `Engine::verify_oauth_access`: one `resolve_oauth`). Compare with
//!   `verify/jwt_hs256`, which runs in the same run.
//!
//! Each store is built once per run in a temp dir (its build time printed) and shared by the
//! benchmarks that use it.

use std::hint::black_box;
use std::sync::Arc;

use criterion::Criterion;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use pasetors::claims::{Claims, ClaimsValidationRules};
use pasetors::keys::{AsymmetricKeyPair, Generate, SymmetricKey};
use pasetors::token::UntrustedToken;
use pasetors::version4::V4;
use pasetors::{Local, Public};
use serde::{Deserialize, Serialize};
use tessera_benches::{
    Fixtures, SAMPLE, Sample, engine, open_durable, open_postgres, run, runtime, temp_dir,
};
use tessera_core::Engine;
use tessera_core::engine::oauth::{ClientAuth, CodeExchange, CodeRequest, Introspector};
use tessera_core::store::{IdTokenAlg, OAuthClientRecord, ProfileRecord, Store};
use tessera_core::{Clock as _, ProfileKind, ProfileState, SystemClock, TokenDigest};

const TOTAL: usize = 1_000_000;

#[derive(Serialize, Deserialize)]
struct JwtClaims {
    sub: String,
    exp: u64,
    iat: u64,
}

fn jwt_claims() -> JwtClaims {
    let now = jsonwebtoken::get_current_timestamp();
    JwtClaims {
        sub: "6f0e3c1e-8a2b-4c55-9a65-0d6c1d5b7a10".into(),
        exp: now + 3600,
        iat: now,
    }
}

fn bench_verify(
    c: &mut Criterion,
    fixtures: &Fixtures,
    group: &str,
    name: &str,
    backend: &str,
    total: usize,
) {
    let rt = runtime();
    // Built on the first sample, so a filtered-out benchmark builds nothing.
    let mut state: Option<(Arc<Engine>, Arc<Sample>)> = None;
    let mut g = c.benchmark_group(group);
    let mut i = 0usize;
    g.bench_function(name, |b| {
        let (engine, sample) = state.get_or_insert_with(|| {
            let (store, sample) = fixtures.get(&rt, backend, total);
            (engine(store), sample)
        });
        b.iter(|| {
            i = (i + 7_919) % SAMPLE;
            run(&rt, engine.verify(black_box(sample.get(i)))).expect("valid")
        });
    });
    g.finish();
}

fn tessera(c: &mut Criterion, fixtures: &Fixtures) {
    bench_verify(c, fixtures, "verify", "tessera_memory", "memory", TOTAL);
    bench_verify(c, fixtures, "verify", "tessera_redb", "redb", TOTAL);
    bench_verify(
        c,
        fixtures,
        "verify",
        "tessera_redb_uncached",
        "redb_uncached",
        TOTAL,
    );
    bench_verify(c, fixtures, "verify", "tessera_sled", "sled", TOTAL);
    bench_verify(
        c,
        fixtures,
        "verify",
        "tessera_sled_uncached",
        "sled_uncached",
        TOTAL,
    );
    postgres(c);
}

/// `verify/tessera_postgres`: one query (token joined with its profile) per verify, over
/// loopback to the server; the same 1,000,000 tokens as the others.
fn postgres(c: &mut Criterion) {
    // Skip it unless the filter (criterion's regex) may select it: loading the fixture
    // takes a while.
    let wanted = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .all(|f| f.contains("postgres") || "verify/tessera_postgres".contains(&f));
    if !wanted {
        return;
    }
    let rt = runtime();
    let Some((store, sample)) = open_postgres(&rt, TOTAL) else {
        eprintln!(
            "verify/tessera_postgres: SKIPPED (set TESSERA_BENCH_POSTGRES_URL or \
             TESSERA_TEST_POSTGRES_URL to a PostgreSQL server to run it)"
        );
        return;
    };
    // Every call waits for the server, so the calls run inside one task on the runtime, as
    // in a request handler (blocking on the runtime once per call would add its thread
    // hand-offs to every sample).
    let engine = engine(store);
    let mut g = c.benchmark_group("verify");
    g.bench_function("tessera_postgres", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let started = std::time::Instant::now();
                let mut i = 0usize;
                for _ in 0..iters {
                    i = (i + 7_919) % SAMPLE;
                    engine.verify(black_box(&sample[i])).await.expect("valid");
                }
                started.elapsed()
            })
        });
    });
    g.finish();
}

fn scale(c: &mut Criterion, fixtures: &Fixtures) {
    bench_verify(
        c,
        fixtures,
        "verify_scale",
        "tessera_redb_10k",
        "redb",
        10_000,
    );
    // The same store as `verify/tessera_redb`: built once per run.
    bench_verify(
        c,
        fixtures,
        "verify_scale",
        "tessera_redb_1m",
        "redb",
        TOTAL,
    );
    // Without the resolved-token cache (the 1m store is `verify/tessera_redb_uncached`'s).
    bench_verify(
        c,
        fixtures,
        "verify_scale",
        "tessera_redb_10k_uncached",
        "redb_uncached",
        10_000,
    );
    bench_verify(
        c,
        fixtures,
        "verify_scale",
        "tessera_redb_1m_uncached",
        "redb_uncached",
        TOTAL,
    );
}

fn peers(c: &mut Criterion) {
    let mut g = c.benchmark_group("verify");

    let secret = [7u8; 32];
    let hs = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &jwt_claims(),
        &EncodingKey::from_secret(&secret),
    )
    .expect("hs256");
    let hs_key = DecodingKey::from_secret(&secret);
    let hs_validation = Validation::new(Algorithm::HS256);
    g.bench_function("jwt_hs256", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<JwtClaims>(black_box(&hs), &hs_key, &hs_validation)
                .expect("valid")
        });
    });

    let signing = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let der = ed25519_dalek::pkcs8::EncodePrivateKey::to_pkcs8_der(&signing).expect("pkcs8");
    let ed = jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        &jwt_claims(),
        &EncodingKey::from_ed_der(der.as_bytes()),
    )
    .expect("eddsa");
    let x = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        signing.verifying_key().as_bytes(),
    );
    let ed_key = DecodingKey::from_ed_components(&x).expect("ed key");
    let ed_validation = Validation::new(Algorithm::EdDSA);
    g.bench_function("jwt_eddsa", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<JwtClaims>(black_box(&ed), &ed_key, &ed_validation)
                .expect("valid")
        });
    });

    let mut claims = Claims::new().expect("claims");
    claims
        .subject("6f0e3c1e-8a2b-4c55-9a65-0d6c1d5b7a10")
        .expect("sub");
    let rules = ClaimsValidationRules::new();
    let sk = SymmetricKey::<V4>::generate().expect("key");
    let local = pasetors::local::encrypt(&sk, &claims, None, None).expect("local");
    g.bench_function("paseto_v4_local", |b| {
        b.iter(|| {
            let t =
                UntrustedToken::<Local, V4>::try_from(black_box(local.as_str())).expect("parse");
            pasetors::local::decrypt(&sk, &t, &rules, None, None).expect("valid")
        });
    });
    let kp = AsymmetricKeyPair::<V4>::generate().expect("keys");
    let public = pasetors::public::sign(&kp.secret, &claims, None, None).expect("public");
    g.bench_function("paseto_v4_public", |b| {
        b.iter(|| {
            let t =
                UntrustedToken::<Public, V4>::try_from(black_box(public.as_str())).expect("parse");
            pasetors::public::verify(&kp.public, &t, &rules, None, None).expect("valid")
        });
    });
    g.finish();
}

/// The OAuth fixture: a redb engine with an active user and a confidential application,
/// and one live access token.
struct OAuthBench {
    engine: Arc<Engine>,
    user: uuid::Uuid,
    client: ClientAuth,
    client_id: uuid::Uuid,
    verifier: String,
    challenge: String,
    access: String,
    _dir: tempfile::TempDir,
}

const BENCH_SECRET: &str = "tsx_benchbenchbenchbenchbenchbenchbenchbench";
const BENCH_REDIRECT: &str = "https://app.example/cb";

fn oauth_fixture(rt: &tokio::runtime::Runtime) -> OAuthBench {
    let dir = temp_dir("oauth");
    let store: Arc<dyn Store> = open_durable("redb", dir.path());
    let engine = engine(Arc::clone(&store));
    let now = SystemClock.now();
    let user = ProfileRecord {
        id: uuid::Uuid::new_v4(),
        kind: ProfileKind::User,
        username: "bench-oauth".into(),
        password_hash: None,
        password_temporary: false,
        state: ProfileState::Active,
        public_key: None,
        owner: None,
        device: None,
        environments: Vec::new(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let client_id = uuid::Uuid::new_v4();
    let app = OAuthClientRecord {
        id: client_id,
        owner: user.id,
        name: "bench app".into(),
        confidential: true,
        redirect_uris: vec![BENCH_REDIRECT.into()],
        scopes: vec!["openid".into(), "profile".into()],
        id_token_alg: IdTokenAlg::Rs256,
        secret: Some(TokenDigest::of(BENCH_SECRET)),
        pending_secret: None,
        first_party: false,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let client = ClientAuth {
        client_id: client_id.to_string(),
        secret: Some(BENCH_SECRET.into()),
    };
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_owned();
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned();
    let access = rt.block_on(async {
        store.create_profile(&user, None).await.expect("user");
        store.create_client(&app, None).await.expect("client");
        // the RSA key is made once per store: not in the measurement
        engine.oauth_jwks().await.expect("keys");
        let t = engine
            .client_credentials(&client, Some("profile"))
            .await
            .expect("client_credentials");
        t.access_token.expose().to_owned()
    });
    OAuthBench {
        engine,
        user: user.id,
        client,
        client_id,
        verifier,
        challenge,
        access,
        _dir: dir,
    }
}

impl OAuthBench {
    /// Issue a code with `scopes` and exchange it.
    async fn code_flow(&self, scopes: &[&str]) {
        let req = CodeRequest {
            client_id: self.client_id,
            redirect_uri: BENCH_REDIRECT.into(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            code_challenge: Some(self.challenge.clone()),
            nonce: None,
            auth_time: SystemClock.now(),
        };
        let code = self.engine.issue_code(self.user, &req).await.expect("code");
        let ex = CodeExchange {
            code: code.code.expose(),
            redirect_uri: Some(BENCH_REDIRECT),
            code_verifier: Some(&self.verifier),
        };
        self.engine
            .exchange_code(&self.client, &ex)
            .await
            .expect("tokens");
    }
}

fn oauth(c: &mut Criterion) {
    let rt = runtime();
    // Built on the first sample, so a filtered-out run builds nothing.
    let fx: std::cell::OnceCell<OAuthBench> = std::cell::OnceCell::new();
    let mut g = c.benchmark_group("oauth");
    g.sample_size(20);
    g.bench_function("token_authorization_code", |b| {
        let f = fx.get_or_init(|| oauth_fixture(&rt));
        b.iter(|| rt.block_on(f.code_flow(&["profile"])));
    });
    g.bench_function("token_authorization_code_openid", |b| {
        let f = fx.get_or_init(|| oauth_fixture(&rt));
        b.iter(|| rt.block_on(f.code_flow(&["openid", "profile"])));
    });
    g.finish();
    let mut g = c.benchmark_group("oauth");
    g.bench_function("introspect", |b| {
        let f = fx.get_or_init(|| oauth_fixture(&rt));
        // the client's record and the token are read on the calling thread (redb's shared
        // read snapshot), like verify: polled here, on the runtime only if a read yields
        b.iter(|| {
            let caller = Introspector::Client(&f.client);
            run(&rt, f.engine.introspect(caller, black_box(&f.access)))
                .expect("introspect")
                .expect("active")
        });
    });
    g.bench_function("verify_access", |b| {
        let f = fx.get_or_init(|| oauth_fixture(&rt));
        b.iter(|| run(&rt, f.engine.verify_oauth_access(black_box(&f.access))).expect("active"));
    });
    g.finish();
    drop(fx);
}

// `criterion_main!` with the run's fixtures: built on first use, shared by the groups,
// their temp dirs removed at the end.
fn main() {
    let fixtures = Fixtures::default();
    let mut c = Criterion::default().configure_from_args();
    tessera(&mut c, &fixtures);
    peers(&mut c);
    oauth(&mut c);
    scale(&mut c, &fixtures);
    drop(fixtures);
    c.final_summary();
}
