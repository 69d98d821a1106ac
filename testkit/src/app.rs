//! Shared helpers of the router-level tests: an app on a MemoryStore with a manual clock
//! and cheap hashing, request helpers and workflow steps.

use std::sync::Arc;

use crate::CapturingNotifier;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use serde_json::Value;
use tessera_core::{
    Engine, EngineConfig, HashParams, KeyPair, ManualClock, MemoryStore, Notifier, OsRandom, Store,
};
use tessera_http::{HttpConfig, router};
use tower::ServiceExt as _;
use uuid::Uuid;

/// The form content type of the Privicore POST routes.
pub const FORM: &str = "application/x-www-form-urlencoded";
/// The JSON content type of the `/v1` routes.
pub const JSON: &str = "application/json";
/// The header carrying a server API key.
pub const API_KEY: &str = "X-Tessera-Api-Key";
/// Every TTL of the fixed table, in seconds (1 h … 360 d).
pub const TTLS: [u64; 8] = [
    3600, 86_400, 604_800, 2_592_000, 7_776_000, 15_552_000, 23_328_000, 31_104_000,
];

/// A strong password, distinct per `tag`.
pub fn password(tag: &str) -> String {
    format!("velvet otter quasar lantern {tag} 7291")
}

/// URL-encode form fields.
pub fn form(fields: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

/// A reply of the router: status, headers, body bytes.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: StatusCode,
    /// The reply headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON; panics (with the body) when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON ({}): {}", self.status, self.text()))
    }
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The `error` code of an error body (empty when absent).
    pub fn code(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }
    /// Assert status and error code, and the error body shape.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text());
        let j = self.json();
        assert_eq!(j["error"], code, "body: {j}");
        assert_eq!(j["status"], status, "body: {j}");
        assert!(j["message"].is_string(), "body: {j}");
        assert_eq!(
            self.headers["content-type"], "application/json; charset=utf-8",
            "body: {j}"
        );
        if status == 422 {
            assert!(j["errors"].is_object(), "422 without errors: {j}");
        } else {
            assert!(j.get("errors").is_none(), "errors outside 422: {j}");
        }
    }
    /// The command id of a 202 reply (and its shape).
    #[track_caller]
    pub fn command_id(&self) -> String {
        assert_eq!(self.status, StatusCode::ACCEPTED, "body: {}", self.text());
        let id = self.headers["x-dpt-cab-id"].to_str().unwrap().to_owned();
        assert_eq!(self.json(), serde_json::json!([id]));
        Uuid::parse_str(&id).unwrap();
        id
    }
}

/// The router on a `MemoryStore` (or any store) with a manual clock and cheap hashing, driven in process.
#[derive(Clone, Debug)]
pub struct TestApp {
    /// The whole API.
    pub router: Router,
    /// The engine behind it.
    pub engine: Arc<Engine>,
    /// The engine's clock (moves only when the test moves it).
    pub clock: Arc<ManualClock>,
}

/// A registered user of a test: credentials, token, id and key (when active).
#[derive(Debug)]
pub struct User {
    /// Username.
    pub name: String,
    /// Password.
    pub password: String,
    /// An authorization token of the profile.
    pub token: String,
    /// Profile id (UUID text).
    pub profile_id: String,
    /// Its registered key pair, once active.
    pub keys: Option<KeyPair>,
}

/// A device profile of a test and its owner.
#[derive(Debug)]
pub struct Device {
    /// The device's own credentials and token.
    pub user: User,
    /// Device profile id (UUID text).
    pub device_id: String,
}

impl Default for TestApp {
    fn default() -> Self {
        Self::new()
    }
}

impl TestApp {
    /// A fresh `MemoryStore` and the default HTTP settings.
    pub fn new() -> Self {
        Self::with(Arc::new(MemoryStore::new()), HttpConfig::default())
    }

    /// The router over `store` with `cfg`.
    pub fn with(store: Arc<dyn Store>, cfg: HttpConfig) -> Self {
        let (engine, clock) = crate::test_engine(store);
        Self {
            router: router(Arc::clone(&engine), cfg),
            engine,
            clock,
        }
    }

    /// The router over `store` with the test engine's settings (cheap hashing, a manual
    /// clock) changed by `tweak`.
    pub fn with_config(store: Arc<dyn Store>, tweak: impl FnOnce(&mut EngineConfig)) -> Self {
        let clock = Arc::new(ManualClock::default());
        let mut config = EngineConfig {
            hash_params: HashParams::INSECURE_FOR_TESTS,
            allow_weak_hash_params: true,
            hash_workers: 2,
            ..EngineConfig::default()
        };
        tweak(&mut config);
        let engine = Arc::new(
            Engine::builder()
                .store(store)
                .clock(clock.clone())
                .config(config)
                .build()
                .expect("test engine"),
        );
        Self {
            router: router(Arc::clone(&engine), HttpConfig::default()),
            engine,
            clock,
        }
    }

    /// An app on a memory store whose hash pool has one worker, a queue of one and slow
    /// hashing (8 MiB, t = 2), so that a burst of password calls fills it.
    pub fn with_tiny_hash_pool() -> Self {
        let config = EngineConfig {
            hash_params: tessera_core::HashParams {
                m_kib: 8192,
                t: 2,
                p: 1,
            },
            allow_weak_hash_params: true,
            hash_workers: 1,
            hash_queue_per_worker: 1,
            ..EngineConfig::default()
        };
        let engine = Arc::new(
            tessera_core::Engine::builder()
                .store(Arc::new(MemoryStore::new()))
                .config(config)
                .build()
                .unwrap(),
        );
        Self {
            router: router(Arc::clone(&engine), HttpConfig::default()),
            engine,
            clock: Arc::new(ManualClock::default()),
        }
    }

    /// An app whose reset codes go to a [`CapturingNotifier`].
    pub fn notified() -> (Self, Arc<CapturingNotifier>) {
        let (engine, clock, notifier) = crate::test_engine_notified(Arc::new(MemoryStore::new()));
        let app = Self {
            router: router(Arc::clone(&engine), HttpConfig::default()),
            engine,
            clock,
        };
        (app, notifier)
    }

    /// An app (test engine settings) whose reset codes go to `notifier`.
    pub fn with_notifier(notifier: Arc<dyn Notifier>) -> Self {
        let clock = Arc::new(ManualClock::default());
        let config = EngineConfig {
            hash_params: HashParams::INSECURE_FOR_TESTS,
            allow_weak_hash_params: true,
            hash_workers: 2,
            ..EngineConfig::default()
        };
        let engine = Arc::new(
            Engine::builder()
                .store(Arc::new(MemoryStore::new()))
                .clock(clock.clone())
                .config(config)
                .notifier(notifier)
                .build()
                .expect("test engine"),
        );
        Self {
            router: router(Arc::clone(&engine), HttpConfig::default()),
            engine,
            clock,
        }
    }

    /// Send one request through the router.
    pub async fn send(&self, req: Request<Body>) -> Reply {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A request with method, path, optional token, content type and body.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> Reply {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header("X-DPT-AUTHORIZATION", t);
        }
        if let Some(c) = content_type {
            b = b.header("content-type", c);
        }
        self.send(b.body(body.into()).unwrap()).await
    }

    /// POST a form (`application/x-www-form-urlencoded`) of `fields`.
    pub async fn post(&self, path: &str, token: Option<&str>, fields: &[(&str, &str)]) -> Reply {
        self.request(Method::POST, path, token, Some(FORM), form(fields))
            .await
    }

    /// POST a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.request(Method::POST, path, None, Some(JSON), body.to_string())
            .await
    }

    /// A users-API request with `api_key` (if any) and a JSON body (if any).
    pub async fn users(
        &self,
        method: Method,
        path: &str,
        api_key: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(k) = api_key {
            b = b.header(API_KEY, k);
        }
        let body = match body {
            Some(v) => {
                b = b.header("content-type", JSON);
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        self.send(b.body(body).unwrap()).await
    }

    /// A new server API key.
    pub async fn api_key(&self) -> String {
        self.engine
            .create_api_key("test backend")
            .await
            .unwrap()
            .expose()
            .to_owned()
    }

    /// `/v1/login`, expecting tokens: (access, refresh, id token).
    pub async fn v1_login(&self, name: &str, password: &str) -> (String, String, String) {
        let r = self
            .post_json(
                "/v1/login",
                &serde_json::json!({"username": name, "password": password}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let j = r.json();
        let s = |k: &str| {
            j[k].as_str()
                .unwrap_or_else(|| panic!("{k}: {j}"))
                .to_owned()
        };
        (s("access_token"), s("refresh_token"), s("id_token"))
    }

    /// GET `path`, with `X-DPT-AUTHORIZATION` when `token` is given.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.request(Method::GET, path, token, None, Body::empty())
            .await
    }

    /// GET `path` until it answers `status` (2 s at most); how long that took. For what
    /// follows the background health prober (the breaker opening and closing).
    pub async fn until_status(
        &self,
        path: &str,
        token: Option<&str>,
        status: StatusCode,
    ) -> std::time::Duration {
        #[allow(clippy::disallowed_methods)] // a test's wall-clock bound
        let start = std::time::Instant::now();
        loop {
            if self.get(path, token).await.status == status {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(2),
                "{path} did not become {status}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }

    /// `POST /profile/register-profile`.
    pub async fn register(&self, name: &str, password: &str) -> Reply {
        self.post(
            "/profile/register-profile",
            None,
            &[("username", name), ("password", password)],
        )
        .await
    }

    /// `POST /profile/authenticate`; the authorization token (asserts 200).
    pub async fn login(&self, name: &str, password: &str) -> String {
        let r = self
            .post(
                "/profile/authenticate",
                None,
                &[("username", name), ("password", password)],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()["authorizationToken"].as_str().unwrap().to_owned()
    }

    /// `GET /profile/retrieve-profile-id`; the id (asserts 200).
    pub async fn profile_id(&self, token: &str) -> String {
        let r = self.get("/profile/retrieve-profile-id", Some(token)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()["profileId"].as_str().unwrap().to_owned()
    }

    /// Register and authenticate, without a key (state incomplete).
    pub async fn incomplete_user(&self, name: &str) -> User {
        let pw = password(name);
        self.register(name, &pw).await.command_id();
        let token = self.login(name, &pw).await;
        let profile_id = self.profile_id(&token).await;
        User {
            name: name.to_owned(),
            password: pw,
            token,
            profile_id,
            keys: None,
        }
    }

    /// Register a fresh key with proof for `u`.
    pub async fn register_key(&self, u: &mut User) -> Reply {
        let keys = KeyPair::generate(&OsRandom);
        let id = Uuid::parse_str(&u.profile_id).unwrap();
        let r = self
            .post(
                "/public-key/register-public-key",
                Some(&u.token),
                &[
                    ("publicKey", &keys.public().to_privicore_hex()),
                    ("signature", &keys.prove(id)),
                ],
            )
            .await;
        u.keys = Some(keys);
        r
    }

    /// A registered user with a registered key (state `active`).
    pub async fn active_user(&self, name: &str) -> User {
        let mut u = self.incomplete_user(name).await;
        self.register_key(&mut u).await.command_id();
        u
    }

    /// `POST /profile/generate-qr-token` for `owner`; the QR token.
    pub async fn qr_token(&self, owner: &User) -> String {
        let r = self
            .post("/profile/generate-qr-token", Some(&owner.token), &[])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()["qrToken"].as_str().unwrap().to_owned()
    }

    /// Onboard a device of `owner` up to `pending` (key registered, not approved).
    pub async fn pending_device(&self, owner: &User, name: &str) -> Device {
        let qr = self.qr_token(owner).await;
        let pw = password(name);
        let r = self
            .post(
                "/device/request-unique-identifier",
                None,
                &[("qrToken", &qr), ("username", name), ("password", &pw)],
            )
            .await;
        let cmd = r.command_id();
        let r = self
            .post(
                "/device/retrieve-unique-identifier",
                None,
                &[("commandId", &cmd)],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let device_id = r.json()["deviceIdentifier"].as_str().unwrap().to_owned();
        let token = self.login(name, &pw).await;
        let profile_id = self.profile_id(&token).await;
        let mut user = User {
            name: name.to_owned(),
            password: pw,
            token,
            profile_id,
            keys: None,
        };
        self.register_key(&mut user).await.command_id();
        Device { user, device_id }
    }

    /// `owner` approves device `d` (asserts 202).
    pub async fn approve(&self, owner: &User, d: &Device) {
        self.post(
            "/device/approve-device",
            Some(&owner.token),
            &[("deviceIdentifier", &d.device_id)],
        )
        .await
        .command_id();
    }
}
