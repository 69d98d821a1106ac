//! Profile routes: register, authenticate, sessions, password change, QR tokens.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use tessera_core::{Error, Issued, QrIssued, RevokeScope, Ttl};
use utoipa::ToSchema;

use super::super::fields::{FromFields, read, wire_body};
use super::super::reply::{Accepted, CommandAccepted, JsonReply};
use super::super::{ApiError, AppState, Authenticated, ErrorBody, Form, accepted};
use crate::routes::Routes;

pub(crate) fn routes() -> Routes {
    Routes::new()
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

// ---- request bodies ----------------------------------------------------------------------

/// The schema of a TTL form field: an integer of [`Ttl::TABLE`] (what `Ttl::parse` takes).
fn ttl_table() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Integer)
        .enum_values(Some(Ttl::TABLE))
        .description(Some(
            "Seconds, one of the TTL table (default 3600). Anything else, or given twice → \
             422 invalid_ttl.",
        ))
        .build()
}

wire_body! {
    /// Username and password.
    struct Credentials<'a> from Form {
        /// Canonicalised (NFKC, lowercase); 3–64 of `a-z 0-9 . _ - @ +`.
        username: &'a str = "username",
        /// 15–128 code points, zxcvbn score ≥ 3 on registration.
        password: &'a str = "password",
    }
}

wire_body! {
    /// Credentials plus an optional TTL.
    struct AuthenticateForm<'a> from Form {
        username: &'a str = "username",
        password: &'a str = "password",
        /// Seconds, one of the TTL table (default 3600). Anything else, or given twice →
        /// 422 `invalid_ttl`.
        #[schema(schema_with = ttl_table)]
        ttl: Option<&'a str> = "ttl",
    }
}

wire_body! {
    /// Optional TTL from the table.
    struct TtlForm<'a> from Form {
        /// Seconds, one of the TTL table (default 3600). Anything else, or given twice →
        /// 422 `invalid_ttl`.
        #[schema(schema_with = ttl_table)]
        ttl: Option<&'a str> = "ttl",
    }
}

wire_body! {
    /// Current and new password.
    struct ChangePasswordForm<'a> from Form {
        current_password: &'a str = "currentPassword",
        /// The password rules.
        new_password: &'a str = "newPassword",
    }
}

wire_body! {
    /// QR token options.
    struct QrForm<'a> from Form {
        /// Seconds, 60–900 by default (the server's configured range; default 300): digits
        /// only.
        #[schema(value_type = Option<u32>, minimum = 60, maximum = 900)]
        ttl: Option<&'a str> = "ttl",
        /// At most 64 characters.
        #[schema(max_length = 64)]
        device_name: Option<&'a str> = "deviceName",
    }
}

wire_body! {
    /// Revocation scope.
    struct RevokeForm<'a> from Form {
        /// `token` (default) or `all`.
        #[schema(value_type = Option<String>, pattern = "^(token|all)$")]
        scope: Option<&'a str> = "scope",
    }
}

/// No fields (any are ignored).
#[derive(Debug, ToSchema)]
pub(crate) struct EmptyForm {}

impl FromFields<'_, Form> for EmptyForm {
    fn from_fields(_: &Form) -> Result<Self, ApiError> {
        Ok(Self {})
    }
}

// ---- replies -----------------------------------------------------------------------------

/// An authorization token.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenReply {
    /// `tsa_…`: send it as `X-DPT-AUTHORIZATION`.
    authorization_token: String,
    /// RFC 3339, UTC, seconds.
    expires_at: String,
}

/// The profile of the presented token.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProfileReply {
    profile_id: String,
    /// `user` or `device`.
    profile_type: &'static str,
    /// `incomplete`, `pending`, `active`, `rejected`.
    state: &'static str,
    username: String,
    /// Devices only.
    #[serde(skip_serializing_if = "Option::is_none")]
    owner_profile_id: Option<String>,
}

/// A QR token for onboarding a device.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QrReply {
    /// `tsq_…`.
    qr_token: String,
    expires_at: String,
    /// `tessera://onboard?token=…&server=…`
    uri: String,
    /// Hex Ed25519 signature of `uri` by the server key.
    signature: String,
}

/// When the presented token expires.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExpiryReply {
    expires_at: String,
    /// Seconds from now.
    expires_in: u64,
}

// ---- handlers ----------------------------------------------------------------------------

fn ttl(value: Option<&str>) -> Result<Option<Ttl>, ApiError> {
    Ok(value.map(Ttl::parse).transpose()?)
}

#[utoipa::path(post, path = "/profile/register-profile", tag = "profile",
    request_body(content = Credentials, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Command: profile registered (state incomplete)", body = CommandAccepted,
            headers(("X-DPT-CAB-ID" = String, description = "command id"))),
        (status = 413, description = "payload_too_large", body = ErrorBody),
        (status = 415, description = "unsupported_media_type", body = ErrorBody),
        (status = 422, description = "invalid_username, username_taken, weak_password, password_too_short, password_too_long, validation_failed", body = ErrorBody),
        (status = 503, description = "overloaded (Retry-After), storage_unavailable", body = ErrorBody)))]
pub(crate) async fn register_profile(
    State(s): State<AppState>,
    form: Form,
) -> Result<Accepted, ApiError> {
    let c: Credentials<'_> = read(&form)?;
    Ok(accepted(
        &s.engine.register_profile(c.username, c.password).await?,
    ))
}

#[utoipa::path(post, path = "/profile/authenticate", tag = "profile",
    request_body(content = AuthenticateForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "An authorization token", body = TokenReply),
        (status = 401, description = "unauthorized: unknown user or wrong password (one body)", body = ErrorBody),
        (status = 422, description = "invalid_ttl, validation_failed", body = ErrorBody),
        (status = 429, description = "too_many_attempts (Retry-After)", body = ErrorBody),
        (status = 503, description = "overloaded (Retry-After), storage_unavailable", body = ErrorBody)))]
pub(crate) async fn authenticate(
    State(s): State<AppState>,
    form: Form,
) -> Result<JsonReply<TokenReply>, ApiError> {
    let f: AuthenticateForm<'_> = read(&form)?;
    let ttl = ttl(f.ttl)?;
    let result = s.engine.authenticate(f.username, f.password, ttl).await;
    audit(&s, "authenticate", f.username, &result);
    let issued = result?;
    Ok(JsonReply(TokenReply {
        authorization_token: issued.token.expose().to_owned(),
        expires_at: issued.expires_at.to_rfc3339(),
    }))
}

/// One log line per authentication outcome (never the password or the token), and the
/// login counter.
fn audit(s: &AppState, event: &str, username: &str, result: &Result<Issued, Error>) {
    let outcome = super::audit(event, username, result.as_ref().map(|i| Some(i.profile_id)));
    s.metrics.login(outcome);
}

#[utoipa::path(get, path = "/profile/retrieve-profile-id", tag = "profile", security(("token" = [])),
    responses(
        (status = 200, description = "The profile of the token", body = ProfileReply),
        (status = 401, description = "unauthorized", body = ErrorBody)))]
pub(crate) async fn retrieve_profile_id(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
) -> Result<JsonReply<ProfileReply>, ApiError> {
    let info = s.engine.profile_info(&p).await?;
    Ok(JsonReply(ProfileReply {
        profile_id: info.profile_id.hyphenated().to_string(),
        profile_type: info.kind.as_str(),
        state: info.state.as_str(),
        username: info.username,
        owner_profile_id: info.owner.map(|o| o.hyphenated().to_string()),
    }))
}

#[utoipa::path(post, path = "/profile/change-password", tag = "profile", security(("token" = [])),
    request_body(content = ChangePasswordForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Command: every other token of the profile is revoked", body = CommandAccepted,
            headers(("X-DPT-CAB-ID" = String, description = "command id"))),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected", body = ErrorBody),
        (status = 422, description = "wrong_password, weak_password, password_too_short, password_too_long, validation_failed", body = ErrorBody),
        (status = 429, description = "too_many_attempts (Retry-After)", body = ErrorBody),
        (status = 503, description = "overloaded (Retry-After), storage_unavailable", body = ErrorBody)))]
pub(crate) async fn change_password(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Accepted, ApiError> {
    let f: ChangePasswordForm<'_> = read(&form)?;
    let result = s
        .engine
        .change_password(&p, f.current_password, f.new_password)
        .await;
    audit_password_change(&p, &result);
    let done = result.map_err(|e| ApiError::from(e).rename_field("password", "newPassword"))?;
    Ok(accepted(&done))
}

#[utoipa::path(post, path = "/profile/generate-qr-token", tag = "profile", security(("token" = [])),
    request_body(content = QrForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The QR token; with Accept: image/svg+xml the QR code of uri",
            content(
                (QrReply = "application/json"),
                (String = "image/svg+xml"))),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected, forbidden (devices)", body = ErrorBody),
        (status = 422, description = "validation_failed (ttl outside 60–900, deviceName)", body = ErrorBody)))]
pub(crate) async fn generate_qr_token(
    State(s): State<AppState>,
    headers: HeaderMap,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Response, ApiError> {
    let f: QrForm<'_> = read(&form)?;
    let ttl = f
        .ttl
        .map(|t| {
            t.parse::<u64>()
                .ok()
                .filter(|_| t.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| ApiError::invalid("ttl", "ttl must be a number of seconds"))
        })
        .transpose()?;
    let qr = s.engine.generate_qr_token(&p, ttl, f.device_name).await?;
    qr_response(&headers, qr)
}

/// A QR token as JSON ([`QrReply`]), or with `Accept: image/svg+xml` the QR code of its URI.
pub(super) fn qr_response(headers: &HeaderMap, qr: QrIssued) -> Result<Response, ApiError> {
    if wants_svg(headers) {
        return qr_svg(&qr.uri);
    }
    Ok(JsonReply(QrReply {
        qr_token: qr.token.expose().to_owned(),
        expires_at: qr.expires_at.to_rfc3339(),
        uri: qr.uri,
        signature: qr.signature,
    })
    .into_response())
}

/// One audit line per password change (never a password), of the API and of the account
/// page alike.
pub(super) fn audit_password_change<T>(p: &tessera_core::Principal, result: &Result<T, Error>) {
    let outcome = match result {
        Ok(_) => "success",
        Err(Error::WrongPassword) => "wrong_password",
        Err(Error::TooManyAttempts { .. }) => "throttled",
        Err(e) => e.code(),
    };
    tracing::info!(target: "tessera::audit", event = "change_password", profile_id = %p.profile_id, outcome, "authentication");
}

fn wants_svg(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("image/svg+xml"))
}

fn qr_svg(uri: &str) -> Result<Response, ApiError> {
    let svg = crate::qr_svg::document(uri)
        .ok_or_else(|| ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("image/svg+xml"),
        )],
        svg,
    )
        .into_response())
}

#[utoipa::path(post, path = "/profile/reauthorize-authorization-token", tag = "profile", security(("token" = [])),
    request_body(content = TtlForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Command: the same token now expires at now + ttl", body = CommandAccepted,
            headers(("X-DPT-CAB-ID" = String, description = "command id"))),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 422, description = "invalid_ttl", body = ErrorBody)))]
pub(crate) async fn reauthorize(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Accepted, ApiError> {
    let f: TtlForm<'_> = read(&form)?;
    Ok(accepted(&s.engine.reauthorize(&p, ttl(f.ttl)?).await?))
}

#[utoipa::path(post, path = "/profile/revoke-authorization-token", tag = "profile", security(("token" = [])),
    request_body(content = RevokeForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Command: the token (or every token of the profile) is revoked", body = CommandAccepted,
            headers(("X-DPT-CAB-ID" = String, description = "command id"))),
        (status = 401, description = "unauthorized, also for a second revoke", body = ErrorBody),
        (status = 422, description = "validation_failed (scope)", body = ErrorBody)))]
pub(crate) async fn revoke(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Accepted, ApiError> {
    let f: RevokeForm<'_> = read(&form)?;
    let scope = f.scope.map(RevokeScope::parse).transpose()?;
    Ok(accepted(
        &s.engine.revoke(&p, scope.unwrap_or_default()).await?,
    ))
}

#[utoipa::path(post, path = "/profile/retrieve-token-expiry", tag = "profile", security(("token" = [])),
    request_body(content = EmptyForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "When the token expires", body = ExpiryReply),
        (status = 401, description = "unauthorized", body = ErrorBody)))]
pub(crate) async fn retrieve_token_expiry(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<JsonReply<ExpiryReply>, ApiError> {
    let EmptyForm {} = read(&form)?;
    let e = s.engine.token_expiry(&p)?;
    Ok(JsonReply(ExpiryReply {
        expires_at: e.expires_at.to_rfc3339(),
        expires_in: e.expires_in,
    }))
}
