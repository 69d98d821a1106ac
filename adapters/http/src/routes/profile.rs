//! Profile routes: register, authenticate, sessions, password change, QR tokens.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tessera_core::{Error, Issued, RevokeScope, Ttl};

use super::super::{ApiError, AppState, Authenticated, Form, accepted, json as reply};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/profile/register-profile", post(register_profile))
        .route("/profile/authenticate", post(authenticate))
        .route("/profile/retrieve-profile-id", get(retrieve_profile_id))
        .route("/profile/change-password", post(change_password))
        .route("/profile/generate-qr-token", post(generate_qr_token))
        .route(
            "/profile/reauthorize-authorization-token",
            post(reauthorize),
        )
        .route("/profile/revoke-authorization-token", post(revoke))
        .route(
            "/profile/retrieve-token-expiry",
            post(retrieve_token_expiry),
        )
}

fn ttl(form: &Form) -> Result<Option<Ttl>, ApiError> {
    Ok(form.optional("ttl")?.map(Ttl::parse).transpose()?)
}

async fn register_profile(State(s): State<AppState>, form: Form) -> Result<Response, ApiError> {
    let [username, password] = form.required(["username", "password"])?;
    let id = s.engine.register_profile(username, password).await?;
    accepted(&s, Some(id), "Profile registered", Vec::new()).await
}

async fn authenticate(State(s): State<AppState>, form: Form) -> Result<Response, ApiError> {
    let [username, password] = form.required(["username", "password"])?;
    let ttl = ttl(&form)?;
    let result = s.engine.authenticate(username, password, ttl).await;
    audit(&s, "authenticate", username, &result);
    let issued = result?;
    Ok(reply(
        StatusCode::OK,
        &json!({
            "authorizationToken": issued.token.expose(),
            "expiresAt": issued.expires_at.to_rfc3339(),
        }),
    ))
}

/// One log line per authentication outcome (never the password or the token), and the
/// login counter.
fn audit(s: &AppState, event: &str, username: &str, result: &Result<Issued, Error>) {
    let outcome = super::audit(event, username, result.as_ref().map(|i| Some(i.profile_id)));
    s.metrics.login(outcome);
}

async fn retrieve_profile_id(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
) -> Result<Response, ApiError> {
    let info = s.engine.profile_info(&p).await?;
    let mut body = json!({
        "profileId": info.profile_id.hyphenated().to_string(),
        "profileType": info.kind.as_str(),
        "state": info.state.as_str(),
        "username": info.username,
    });
    if let Some(owner) = info.owner {
        body["ownerProfileId"] = owner.hyphenated().to_string().into();
    }
    Ok(reply(StatusCode::OK, &body))
}

async fn change_password(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Response, ApiError> {
    let [current, new] = form.required(["currentPassword", "newPassword"])?;
    let result = s.engine.change_password(&p, current, new).await;
    let outcome = match &result {
        Ok(()) => "success",
        Err(Error::WrongPassword) => "wrong_password",
        Err(Error::TooManyAttempts { .. }) => "throttled",
        Err(e) => e.code(),
    };
    tracing::info!(target: "tessera::audit", event = "change_password", profile_id = %p.profile_id, outcome, "authentication");
    result.map_err(|e| ApiError::from(e).rename_field("password", "newPassword"))?;
    accepted(&s, Some(p.profile_id), "Password changed", Vec::new()).await
}

async fn generate_qr_token(
    State(s): State<AppState>,
    headers: HeaderMap,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Response, ApiError> {
    let ttl = form
        .optional("ttl")?
        .map(|t| {
            t.parse::<u64>()
                .ok()
                .filter(|_| t.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| ApiError::invalid("ttl", "ttl must be a number of seconds"))
        })
        .transpose()?;
    let qr = s
        .engine
        .generate_qr_token(&p, ttl, form.optional("deviceName")?)
        .await?;
    if wants_svg(&headers) {
        return qr_svg(&qr.uri);
    }
    Ok(reply(
        StatusCode::OK,
        &json!({
            "qrToken": qr.token.expose(),
            "expiresAt": qr.expires_at.to_rfc3339(),
            "uri": qr.uri,
            "signature": qr.signature,
        }),
    ))
}

fn wants_svg(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("image/svg+xml"))
}

fn qr_svg(uri: &str) -> Result<Response, ApiError> {
    let code = qrcode::QrCode::new(uri.as_bytes())
        .map_err(|_| ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(256, 256)
        .build();
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("image/svg+xml"),
        )],
        svg,
    )
        .into_response())
}

async fn reauthorize(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Response, ApiError> {
    let expiry = s.engine.reauthorize(&p, ttl(&form)?).await?;
    let result = vec![("expiresAt".to_owned(), expiry.expires_at.to_rfc3339())];
    accepted(
        &s,
        Some(p.profile_id),
        "Authorization token reauthorized",
        result,
    )
    .await
}

async fn revoke(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Response, ApiError> {
    let scope = form
        .optional("scope")?
        .map(RevokeScope::parse)
        .transpose()?;
    s.engine.revoke(&p, scope.unwrap_or_default()).await?;
    accepted(
        &s,
        Some(p.profile_id),
        "Authorization token revoked",
        Vec::new(),
    )
    .await
}

async fn retrieve_token_expiry(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    _form: Form,
) -> Result<Response, ApiError> {
    let e = s.engine.token_expiry(&p)?;
    Ok(reply(
        StatusCode::OK,
        &json!({"expiresAt": e.expires_at.to_rfc3339(), "expiresIn": e.expires_in}),
    ))
}
