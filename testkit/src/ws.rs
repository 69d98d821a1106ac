//! Shared helpers of the WebSocket tests: the router on the real accept loop (in process,
//! memory store, manual clock, cheap hashing), a tungstenite client, and frame readers.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tessera_core::{Engine, KeyPair, ManualClock, MemoryStore, OsRandom, PublicKey};
use tessera_http::server::{ServerConfig, serve};
use tessera_http::{HttpConfig, app};
use tessera_message::canonical_bytes;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

/// A client socket.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a test waits for one frame.
pub const WAIT: Duration = Duration::from_secs(10);

pub use crate::app::password;

/// A profile with a token (and its key when active).
#[derive(Debug)]
pub struct User {
    /// Profile id.
    pub id: Uuid,
    /// An authorization token of the profile.
    pub token: String,
    /// Its registered key pair, once active.
    pub keys: Option<KeyPair>,
}

/// The router served by `serve` on a free loopback port.
#[derive(Debug)]
pub struct Server {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// `ws://127.0.0.1:<port>/ws`.
    pub ws_url: String,
    /// The engine behind the router.
    pub engine: Arc<Engine>,
    /// The engine's clock.
    pub clock: Arc<ManualClock>,
    /// An HTTP client of the server.
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Serve the router with `cfg` on a free loopback port (memory store, manual clock, cheap hashing).
    pub async fn start(cfg: HttpConfig) -> Self {
        let (engine, clock) = crate::test_engine(Arc::new(MemoryStore::new()));
        let app = app(Arc::clone(&engine), cfg);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let server_cfg = ServerConfig {
            shutdown_grace: Duration::from_secs(5),
            ..ServerConfig::default()
        };
        let task = tokio::spawn(async move {
            serve(listener, app, server_cfg, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Self {
            base: format!("http://{addr}"),
            ws_url: format!("ws://{addr}/ws"),
            engine,
            clock,
            http: reqwest::Client::new(),
            stop: Some(tx),
            task,
        }
    }

    /// Begin shutdown and wait for `serve` to return.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), &mut self.task)
            .await
            .expect("serve returns")
            .unwrap();
    }

    /// Register and log in (incomplete: no key).
    pub async fn incomplete_user(&self, name: &str) -> User {
        let id = self
            .engine
            .register_profile(name, &password(name))
            .await
            .unwrap()
            .value;
        let issued = self
            .engine
            .authenticate(name, &password(name), None)
            .await
            .unwrap();
        User {
            id,
            token: issued.token.expose().to_owned(),
            keys: None,
        }
    }

    /// Register, log in and register a key (active).
    pub async fn active_user(&self, name: &str) -> User {
        let mut u = self.incomplete_user(name).await;
        let keys = KeyPair::generate(&OsRandom);
        let me = self.engine.verify(&u.token).await.unwrap();
        self.engine
            .register_public_key(&me, &keys.public().to_privicore_hex(), &keys.prove(u.id))
            .await
            .unwrap();
        u.keys = Some(keys);
        u
    }

    /// POST a form; returns (status, X-DPT-CAB-ID, JSON body).
    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        fields: &[(&str, &str)],
    ) -> (u16, Option<String>, Value) {
        post_form(&self.http, &self.base, path, token, fields).await
    }

    /// A command by HTTP: extend the token; returns the command id.
    pub async fn reauthorize(&self, token: &str) -> String {
        let (status, cab, body) = self
            .post("/profile/reauthorize-authorization-token", Some(token), &[])
            .await;
        assert_eq!(status, 202, "{body}");
        cab.unwrap()
    }

    /// The server key, as `/public-key/retrieve-cab-public-key` serves it.
    pub async fn cab_key(&self) -> PublicKey {
        let body: Value = self
            .http
            .get(format!("{}/public-key/retrieve-cab-public-key", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        PublicKey::parse(body["publicKey"].as_str().unwrap()).unwrap()
    }

    /// `GET /request-status/{id}`.
    pub async fn request_status(&self, id: &str) -> Value {
        self.http
            .get(format!("{}/request-status/{id}", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// Open a socket, with an `Origin` header when given.
pub async fn connect(url: &str, origin: Option<&str>) -> Result<Ws, tungstenite::Error> {
    let mut req = url.into_client_request().unwrap();
    if let Some(o) = origin {
        req.headers_mut().insert("origin", o.parse().unwrap());
    }
    tokio_tungstenite::connect_async(req)
        .await
        .map(|(ws, _)| ws)
}

/// Send a text frame.
pub async fn send(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).await.unwrap();
}

/// Send the join frame; returns the reply.
pub async fn join(ws: &mut Ws, token: &str, correlation: &str) -> Value {
    let frame = json!({"type": "join", "authorizationToken": token, "correlationId": correlation});
    send(ws, &frame.to_string()).await;
    next_json(ws).await
}

/// Open a socket and join with `token`; panics unless the join succeeds.
pub async fn joined(url: &str, token: &str) -> Ws {
    let mut ws = connect(url, None).await.unwrap();
    let reply = join(&mut ws, token, "c-join").await;
    assert_eq!(reply["status"], 200, "{reply}");
    ws
}

/// The next text frame (pings and pongs skipped), as JSON; panics on close or timeout.
pub async fn next_json(ws: &mut Ws) -> Value {
    let text = next_text(ws).await;
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// The next text frame (pings and pongs skipped); panics on close or timeout.
pub async fn next_text(ws: &mut Ws) -> String {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame in time")
            .expect("socket open")
            .expect("frame readable");
        match msg {
            Message::Text(t) => return t.as_str().to_owned(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// Read until the server's close frame; returns its code and reason. Text frames before
/// it are returned too, in order.
pub async fn close_of(ws: &mut Ws) -> (u16, String, Vec<String>) {
    let mut texts = Vec::new();
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("close in time");
        match msg {
            Some(Ok(Message::Close(Some(f)))) => {
                // keep reading: that sends our close reply and ends the handshake
                let _ = tokio::time::timeout(WAIT, async {
                    while let Some(Ok(_)) = ws.next().await {}
                })
                .await;
                return (u16::from(f.code), f.reason.as_str().to_owned(), texts);
            }
            Some(Ok(Message::Close(None))) | None => {
                return (u16::from(CloseCode::Status), String::new(), texts);
            }
            Some(Ok(Message::Text(t))) => texts.push(t.as_str().to_owned()),
            Some(Ok(_)) => {}
            Some(Err(e)) => return (u16::from(CloseCode::Abnormal), e.to_string(), texts),
        }
    }
}

/// Whether nothing but pings arrives within `wait`.
pub async fn silent_for(ws: &mut Ws, wait: Duration) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return Ok(()),
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            Ok(other) => return Err(format!("{other:?}")),
        }
    }
}

/// Check a pushed frame's signature with the server key and return its `data`.
#[track_caller]
pub fn verified_data(push: &Value, server_key: &PublicKey) -> Value {
    let sig = hex::decode(push["signature"].as_str().expect("signature")).unwrap();
    let data = push["data"].clone();
    server_key
        .verify(&canonical_bytes(&data).unwrap(), &sig)
        .expect("push signature verifies with the cab public key");
    assert_eq!(push.as_object().unwrap().len(), 2, "{push}");
    data
}

/// POST a form to `base` + `path`; returns (status, X-DPT-CAB-ID, JSON body).
pub async fn post_form(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    token: Option<&str>,
    fields: &[(&str, &str)],
) -> (u16, Option<String>, Value) {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let mut req = http
        .post(format!("{base}{path}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(t) = token {
        req = req.header("X-DPT-AUTHORIZATION", t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let cab = res
        .headers()
        .get("x-dpt-cab-id")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, cab, res.json().await.unwrap_or(Value::Null))
}
