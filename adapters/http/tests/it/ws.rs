//! `GET /ws` on the real accept loop (in process): the join handshake and its refusals,
//! signed pushes, closing on revoke, expiry and device rejection, the Origin allow-list,
//! frame size, idle pings, the channel limit and shutdown.

use tessera_testkit::ws as ws_support;

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tessera_http::HttpConfig;
use tessera_http::ws::WsConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use ws_support::{
    Server, close_of, connect, join, joined, next_json, password, send, silent_for, verified_data,
};

fn cfg(ws: WsConfig) -> HttpConfig {
    HttpConfig {
        ws,
        ..HttpConfig::default()
    }
}

#[tokio::test]
async fn join_and_push_are_as_documented() {
    let s = Server::start(HttpConfig::default()).await;
    let alice = s.active_user("alice").await;
    let mut ws = connect(&s.ws_url, None).await.unwrap();
    send(
        &mut ws,
        &json!({"type":"join","authorizationToken":alice.token,"correlationId":"c-1"}).to_string(),
    )
    .await;
    let reply = ws_support::next_text(&mut ws).await;
    assert_eq!(
        reply,
        format!(
            r#"{{"correlationId":"c-1","status":200,"data":{{"channelId":"{}","message":"Successfully joined profile channel."}}}}"#,
            alice.id
        )
    );
    let command = s.reauthorize(&alice.token).await;
    let push = next_json(&mut ws).await;
    let data = verified_data(&push, &s.cab_key().await);
    assert_eq!(data["id"], command.as_str());
    assert_eq!(data["type"], "X-DPT-CAB-ID");
    assert_eq!(data["command_status"], 2);
    assert_eq!(data["body"], "Authorization token reauthorized");
    assert!(data["result"]["expiresAt"].is_string(), "{data}");
    // exactly what /request-status serves
    assert_eq!(s.request_status(&command).await["data"], data);
    // a push whose data was changed does not verify
    let mut forged = push.clone();
    forged["data"]["command_status"] = 3.into();
    let sig = hex::decode(forged["signature"].as_str().unwrap()).unwrap();
    let bytes = tessera_message::canonical_bytes(&forged["data"]).unwrap();
    assert!(s.cab_key().await.verify(&bytes, &sig).is_err());
    s.stop().await;
}

#[tokio::test]
async fn a_bad_token_is_answered_401_in_the_same_shape_and_closed() {
    let s = Server::start(HttpConfig::default()).await;
    for token in ["tsa_nope", "", "tsr_AAAA"] {
        let mut ws = connect(&s.ws_url, None).await.unwrap();
        let reply = join(&mut ws, token, "c-1").await;
        assert_eq!(
            reply,
            json!({"correlationId":"c-1","status":401,"data":{"error":"unauthorized","message":"unauthorized"}})
        );
        let (code, reason, _) = close_of(&mut ws).await;
        assert_eq!((code, reason.as_str()), (1008, "unauthorized"));
    }
    // revoked and expired tokens too
    let bob = s.active_user("bob").await;
    let p = s.engine.verify(&bob.token).await.unwrap();
    s.engine
        .revoke(&p, tessera_core::RevokeScope::Token)
        .await
        .unwrap();
    let mut ws = connect(&s.ws_url, None).await.unwrap();
    assert_eq!(join(&mut ws, &bob.token, "c-2").await["status"], 401);
    let carol = s.active_user("carol").await;
    s.clock.advance(3600);
    let mut ws = connect(&s.ws_url, None).await.unwrap();
    assert_eq!(join(&mut ws, &carol.token, "c-3").await["status"], 401);
    s.stop().await;
}

#[tokio::test]
async fn a_profile_that_is_not_active_cannot_join() {
    let s = Server::start(HttpConfig::default()).await;
    let dave = s.incomplete_user("dave").await;
    let mut ws = connect(&s.ws_url, None).await.unwrap();
    let reply = join(&mut ws, &dave.token, "c-1").await;
    assert_eq!(reply["status"], 403);
    assert_eq!(reply["data"]["error"], "profile_incomplete");
    let (code, reason, _) = close_of(&mut ws).await;
    assert_eq!((code, reason.as_str()), (1008, "profile_incomplete"));
    s.stop().await;
}

#[tokio::test]
async fn frames_before_the_join_are_refused() {
    let s = Server::start(cfg(WsConfig {
        join_timeout: Duration::from_millis(300),
        ..WsConfig::default()
    }))
    .await;
    let alice = s.active_user("alice").await;
    // another frame type: 400 join_required, then closed
    let mut ws = connect(&s.ws_url, None).await.unwrap();
    send(&mut ws, r#"{"type":"subscribe","correlationId":"c-9"}"#).await;
    let reply = next_json(&mut ws).await;
    assert_eq!(reply["correlationId"], "c-9");
    assert_eq!(reply["status"], 400);
    assert_eq!(reply["data"]["error"], "join_required");
    assert_eq!(close_of(&mut ws).await.0, 1008);
    // a join without a token is not a join
    let mut ws = connect(&s.ws_url, None).await.unwrap();
    send(&mut ws, r#"{"type":"join","correlationId":"c-8"}"#).await;
    assert_eq!(next_json(&mut ws).await["data"]["error"], "join_required");
    // not JSON
    let mut ws = connect(&s.ws_url, None).await.unwrap();
    send(&mut ws, "hello").await;
    assert_eq!(next_json(&mut ws).await["data"]["error"], "bad_request");
    assert_eq!(close_of(&mut ws).await.0, 1008);
    // binary
    let mut ws = connect(&s.ws_url, None).await.unwrap();
    ws.send(Message::binary(alice.token.clone().into_bytes()))
        .await
        .unwrap();
    let (code, reason, _) = close_of(&mut ws).await;
    assert_eq!(
        (code, reason.as_str()),
        (1003, "binary frames are not supported")
    );
    // silence
    let mut ws = connect(&s.ws_url, None).await.unwrap();
    let (code, reason, texts) = close_of(&mut ws).await;
    assert_eq!((code, reason.as_str()), (1008, "join timeout"));
    assert!(texts.is_empty());
    s.stop().await;
}

#[tokio::test]
async fn one_channel_per_connection() {
    let s = Server::start(HttpConfig::default()).await;
    let (alice, bob) = (s.active_user("alice").await, s.active_user("bob").await);
    let mut ws = joined(&s.ws_url, &alice.token).await;
    let reply = join(&mut ws, &bob.token, "c-2").await;
    assert_eq!(reply["correlationId"], "c-2");
    assert_eq!(reply["status"], 409);
    assert_eq!(reply["data"]["error"], "already_joined");
    send(&mut ws, r#"{"type":"publish"}"#).await;
    assert_eq!(
        next_json(&mut ws).await["data"]["error"],
        "unsupported_frame"
    );
    // still alice's channel, not bob's
    s.reauthorize(&bob.token).await;
    let mine = s.reauthorize(&alice.token).await;
    let push = next_json(&mut ws).await;
    assert_eq!(push["data"]["id"], mine.as_str());
    s.stop().await;
}

#[tokio::test]
async fn revoking_the_token_closes_the_channel() {
    let s = Server::start(HttpConfig::default()).await;
    let alice = s.active_user("alice").await;
    let other = s
        .engine
        .authenticate("alice", &password("alice"), None)
        .await
        .unwrap();
    let other = other.token.expose().to_owned();
    let mut ws = joined(&s.ws_url, &alice.token).await;
    let mut ws_other = joined(&s.ws_url, &other).await;
    let (status, cab, _) = s
        .post(
            "/profile/revoke-authorization-token",
            Some(&alice.token),
            &[],
        )
        .await;
    assert_eq!(status, 202);
    let (code, reason, texts) = close_of(&mut ws).await;
    assert_eq!((code, reason.as_str()), (4401, "token revoked"));
    assert!(
        texts.is_empty(),
        "nothing pushed to a revoked token: {texts:?}"
    );
    // the profile's other token still has its channel, and gets the revoke command
    let push = next_json(&mut ws_other).await;
    assert_eq!(push["data"]["id"], cab.unwrap().as_str());
    assert_eq!(push["data"]["body"], "Authorization token revoked");
    // revoke everything: that channel closes too
    let (status, _, _) = s
        .post(
            "/profile/revoke-authorization-token",
            Some(&other),
            &[("scope", "all")],
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(close_of(&mut ws_other).await.1, "token revoked");
    s.stop().await;
}

#[tokio::test]
async fn an_expired_token_closes_the_channel() {
    let s = Server::start(cfg(WsConfig {
        recheck_interval: Duration::from_millis(100),
        ..WsConfig::default()
    }))
    .await;
    let alice = s.active_user("alice").await;
    let mut ws = joined(&s.ws_url, &alice.token).await;
    silent_for(&mut ws, Duration::from_millis(300))
        .await
        .unwrap();
    s.clock.advance(3600);
    let (code, reason, _) = close_of(&mut ws).await;
    assert_eq!((code, reason.as_str()), (4401, "token expired"));
    s.stop().await;
}

#[tokio::test]
async fn device_onboarding_reaches_the_owner_and_rejection_closes_the_device() {
    let s = Server::start(HttpConfig::default()).await;
    let owner = s.active_user("owner").await;
    let mut owner_ws = joined(&s.ws_url, &owner.token).await;
    let (status, _, qr) = s
        .post("/profile/generate-qr-token", Some(&owner.token), &[])
        .await;
    assert_eq!(status, 200);
    let (status, cab, _) = s
        .post(
            "/device/request-unique-identifier",
            None,
            &[
                ("qrToken", qr["qrToken"].as_str().unwrap()),
                ("username", "sensor"),
                ("password", &password("sensor")),
            ],
        )
        .await;
    assert_eq!(status, 202);
    let push = next_json(&mut owner_ws).await;
    let data = verified_data(&push, &s.cab_key().await);
    assert_eq!(data["id"], cab.unwrap().as_str());
    assert_eq!(data["body"], "Device registered");
    let device_id = data["result"]["deviceIdentifier"]
        .as_str()
        .unwrap()
        .to_owned();
    let device_profile = data["result"]["profileId"].as_str().unwrap().to_owned();
    // the device: key, approval, join
    let issued = s
        .engine
        .authenticate("sensor", &password("sensor"), None)
        .await
        .unwrap();
    let token = issued.token.expose().to_owned();
    let keys = tessera_core::KeyPair::generate(&tessera_core::OsRandom);
    let p = s.engine.verify(&token).await.unwrap();
    s.engine
        .register_public_key(
            &p,
            &keys.public().to_privicore_hex(),
            &keys.prove(p.profile_id),
        )
        .await
        .unwrap();
    // a pending device cannot join yet
    let mut ws = connect(&s.ws_url, None).await.unwrap();
    assert_eq!(
        join(&mut ws, &token, "c-1").await["data"]["error"],
        "device_pending"
    );
    let (status, _, _) = s
        .post(
            "/device/approve-device",
            Some(&owner.token),
            &[("deviceIdentifier", &device_id)],
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(
        next_json(&mut owner_ws).await["data"]["body"],
        "Device approved"
    );
    let mut device_ws = connect(&s.ws_url, None).await.unwrap();
    let reply = join(&mut device_ws, &token, "c-2").await;
    assert_eq!(reply["data"]["channelId"], device_profile.as_str());
    // the owner rejects it: the device's tokens are revoked and its channel closes
    s.post(
        "/device/reject-device",
        Some(&owner.token),
        &[("deviceIdentifier", &device_id)],
    )
    .await;
    let (code, reason, _) = close_of(&mut device_ws).await;
    assert_eq!((code, reason.as_str()), (4401, "token revoked"));
    assert_eq!(
        next_json(&mut owner_ws).await["data"]["body"],
        "Device rejected"
    );
    s.stop().await;
}

#[tokio::test]
async fn the_origin_allow_list_is_enforced() {
    let s = Server::start(cfg(WsConfig {
        allowed_origins: vec!["https://app.example.com".into()],
        ..WsConfig::default()
    }))
    .await;
    let alice = s.active_user("alice").await;
    for origin in [None, Some("https://app.example.com")] {
        let mut ws = connect(&s.ws_url, origin).await.unwrap();
        assert_eq!(join(&mut ws, &alice.token, "c").await["status"], 200);
    }
    for origin in ["https://evil.example", "null", "http://app.example.com"] {
        match connect(&s.ws_url, Some(origin)).await {
            Err(tungstenite::Error::Http(res)) => {
                assert_eq!(res.status().as_u16(), 403, "{origin}");
                let body: Value = serde_json::from_slice(res.body().as_ref().unwrap()).unwrap();
                assert_eq!(body["error"], "forbidden");
            }
            other => panic!("{origin}: {other:?}"),
        }
    }
    // the default list is empty: browsers are refused, other clients are not
    let d = Server::start(HttpConfig::default()).await;
    assert!(
        connect(&d.ws_url, Some("https://app.example.com"))
            .await
            .is_err()
    );
    assert!(connect(&d.ws_url, None).await.is_ok());
    s.stop().await;
    d.stop().await;
}

#[tokio::test]
async fn oversized_frames_close_the_socket() {
    let s = Server::start(cfg(WsConfig {
        max_message_bytes: 1024,
        ..WsConfig::default()
    }))
    .await;
    let alice = s.active_user("alice").await;
    let mut ws = joined(&s.ws_url, &alice.token).await;
    let _ = ws.send(Message::text("x".repeat(4096))).await;
    let (code, reason, _) = close_of(&mut ws).await;
    assert_eq!((code, reason.as_str()), (1009, "frame too large"));
    s.stop().await;
}

#[tokio::test]
async fn idle_sockets_are_pinged_and_closed_without_pongs() {
    let s = Server::start(cfg(WsConfig {
        ping_interval: Duration::from_millis(100),
        idle_timeout: Duration::from_millis(400),
        ..WsConfig::default()
    }))
    .await;
    let alice = s.active_user("alice").await;
    // a client that reads answers the pings (tungstenite pongs while reading): kept open
    let mut ws = joined(&s.ws_url, &alice.token).await;
    let mut pings = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(900);
    while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(deadline, ws.next()).await {
        assert!(matches!(msg, Message::Ping(_)), "{msg:?}");
        pings += 1;
    }
    assert!(pings >= 3, "{pings} pings");
    s.reauthorize(&alice.token).await;
    assert_eq!(next_json(&mut ws).await["data"]["type"], "X-DPT-CAB-ID");
    // one that does not read never pongs: closed
    let mut quiet = joined(&s.ws_url, &alice.token).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (code, reason, _) = close_of(&mut quiet).await;
    assert_eq!((code, reason.as_str()), (1000, "idle timeout"));
    s.stop().await;
}

#[tokio::test]
async fn the_channel_limit_answers_503() {
    let s = Server::start(cfg(WsConfig {
        max_channels: 2,
        ..WsConfig::default()
    }))
    .await;
    let _a = connect(&s.ws_url, None).await.unwrap();
    let b = connect(&s.ws_url, None).await.unwrap();
    match connect(&s.ws_url, None).await {
        Err(tungstenite::Error::Http(res)) => assert_eq!(res.status().as_u16(), 503),
        other => panic!("{other:?}"),
    }
    drop(b);
    // the slot is freed once the server notices the socket is gone
    let mut ok = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if connect(&s.ws_url, None).await.is_ok() {
            ok = true;
            break;
        }
    }
    assert!(ok, "slot not freed");
    s.stop().await;
}

#[tokio::test]
async fn shutdown_closes_channels_with_going_away() {
    let s = Server::start(HttpConfig::default()).await;
    let alice = s.active_user("alice").await;
    let mut ws = joined(&s.ws_url, &alice.token).await;
    let mut waiting = connect(&s.ws_url, None).await.unwrap();
    let url = s.ws_url.clone();
    let stopping = tokio::spawn(s.stop());
    let (code, reason, _) = close_of(&mut ws).await;
    assert_eq!((code, reason.as_str()), (1001, "server shutting down"));
    assert_eq!(close_of(&mut waiting).await.0, 1001);
    tokio::time::timeout(Duration::from_secs(5), stopping)
        .await
        .expect("serve returns once channels closed")
        .unwrap();
    assert!(connect(&url, None).await.is_err());
}
