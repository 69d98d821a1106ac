//! A small service of its own that embeds the tessera engine instead of calling the
//! tessera server: a public route, a route for any valid token, a route for active
//! profiles only and a route per environment (server-registered users' all-or-nothing
//! grants, checked with `principal.can_access`). Tokens are checked with
//! `X-DPT-AUTHORIZATION` against the engine, and refusals use tessera's error body (401 /
//! 403 with the state's code, 403 `forbidden` without the environment's grant).
//!
//! Run it with `cargo run -p tessera-http --example embed_axum`; it creates a demo
//! user, prints a token and the curl commands to try.
#![allow(unreachable_pub)] // also mounted as a module by the tests, which call these items

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::response::Json;
use axum::routing::get;
use serde_json::{Value, json};
use tessera_core::{Engine, Error, MemoryStore};
use tessera_http::{Active, ApiError, AuthLayer, Authenticated};

/// The service: `/` is public, `/me` needs any valid token, `/reports` an active profile,
/// `/environments/{env}` a grant of that environment.
pub fn app(engine: Arc<Engine>) -> Router {
    // A whole sub-router guarded by the layer: handlers there need no extractor.
    let active_only = Router::new()
        .route("/reports", get(reports))
        .layer(AuthLayer::new(Arc::clone(&engine)).require_active());
    Router::new()
        .route("/", get(|| async { Json(json!({"hello": "anyone"})) }))
        .route("/me", get(me))
        .route("/environments/{env}", get(environment))
        .merge(active_only)
        // Makes the engine available to the `Authenticated` / `Active` extractors.
        .layer(AuthLayer::new(engine))
}

/// Any valid token, whatever the profile's state.
async fn me(Authenticated(p): Authenticated) -> Json<Value> {
    Json(json!({
        "profileId": p.profile_id.hyphenated().to_string(),
        "state": p.state.as_str(),
        "expiresAt": p.expires_at.to_rfc3339(),
    }))
}

/// Only reached by active profiles (the layer refused the others).
async fn reports(Active(p): Active) -> Json<Value> {
    Json(json!({"reports": [], "for": p.profile_id.hyphenated().to_string()}))
}

/// Only for profiles granted `env` (a grant revoked through the users API shows on the
/// next request: every request verifies its token afresh).
async fn environment(
    Authenticated(p): Authenticated,
    Path(env): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if !p.can_access(&env) {
        return Err(Error::Forbidden.into());
    }
    Ok(Json(
        json!({"environment": env, "profileId": p.profile_id.hyphenated().to_string()}),
    ))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Arc::new(
        Engine::builder()
            .store(Arc::new(MemoryStore::new()))
            .build()?,
    );
    let password = "demo password for the embedding example";
    engine.register_profile("demo", password).await?;
    let issued = engine.authenticate("demo", password, None).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://127.0.0.1:3000 — try:");
    println!("  curl -s http://127.0.0.1:3000/");
    println!(
        "  curl -s -H 'X-DPT-AUTHORIZATION: {}' http://127.0.0.1:3000/me",
        issued.token.expose()
    );
    println!(
        "  curl -s -H 'X-DPT-AUTHORIZATION: {}' http://127.0.0.1:3000/reports   # 403: no key yet",
        issued.token.expose()
    );
    axum::serve(listener, app(engine)).await?;
    Ok(())
}
