//! The `/v1` JSON APIs (token API, password reset, users API) and the JWKS in the OpenAPI
//! document: schemas and documentation stubs (the handlers live in `routes/`).
#![allow(dead_code, clippy::unused_async)] // stubs and fields exist for their attributes only

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::ErrorBody;

// ---- request bodies ----------------------------------------------------------------------

/// `POST /v1/login`.
#[derive(ToSchema)]
pub(super) struct LoginBody {
    /// Canonicalised (NFKC, lowercase) before the lookup.
    username: String,
    password: String,
}

/// `POST /v1/token-refresh`.
#[derive(ToSchema)]
pub(super) struct RefreshBody {
    /// Must own the refresh token (else 401).
    username: String,
    /// `tsr_…`, single use.
    refresh_token: String,
}

/// `POST /v1/token-revoke`.
#[derive(ToSchema)]
pub(super) struct RevokeBody {
    refresh_token: String,
}

/// `POST /v1/forgot-password`.
#[derive(ToSchema)]
pub(super) struct ForgotPasswordBody {
    username: String,
}

/// `POST /v1/forgot-password-confirm`.
#[derive(ToSchema)]
pub(super) struct ForgotPasswordConfirmBody {
    username: String,
    /// The new password (password rules).
    password: String,
    /// The 8-character code (Crockford base32; case-insensitive, `O`→`0`, `I`/`L`→`1`).
    confirmation_code: String,
}

/// `POST /v1/change-password`.
#[derive(ToSchema)]
pub(super) struct ChangePasswordBody {
    /// `tsa_…` access token of the profile (any authorization token).
    access_token: String,
    previous_password: String,
    /// The new password (password rules).
    proposed_password: String,
}

/// `POST /v1/new-password-required`.
#[derive(ToSchema)]
pub(super) struct NewPasswordBody {
    /// `tss_…` from the NEW_PASSWORD_REQUIRED answer of `/v1/login` (single use, 5 min).
    session: String,
    username: String,
    /// The password replacing the temporary one (password rules).
    new_password: String,
}

/// `PUT /v1/users/{externalId}`. Every member is optional; on an update an absent member
/// keeps its stored value.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(super) struct UserUpsertBody {
    /// For the registering server's identification (never sent to).
    email: Option<String>,
    /// A JSON object of at most 16 KiB (replaces the stored one).
    metadata: Option<serde_json::Value>,
    /// Environment → `true` (grant) / `false` (revoke); names are 1–64 of
    /// `A-Z a-z 0-9 . _ : -`, at most 64. Unnamed environments keep their grant.
    environments: Option<BTreeMap<String, bool>>,
    /// Also issue an authorization token (the user's login): `userToken` and `expiresAt`.
    create_token: Option<bool>,
    /// The login name (username rules). Required with `temporaryPassword` on creation;
    /// cannot change afterwards.
    username: Option<String>,
    /// A temporary password (password rules): the first `/v1/login` answers
    /// NEW_PASSWORD_REQUIRED. On an update it replaces the password and revokes every token.
    temporary_password: Option<String>,
}

// ---- replies -----------------------------------------------------------------------------

/// Tokens of a login, a refresh or a completed NEW_PASSWORD_REQUIRED challenge.
#[derive(Serialize, ToSchema)]
pub(super) struct TokensReply {
    /// `tsa_…`: an authorization token, also valid as `X-DPT-AUTHORIZATION`.
    access_token: String,
    /// `tsr_…`: single use; each refresh returns the next one.
    refresh_token: String,
    /// EdDSA JWT signed by the server key (`/.well-known/jwks.json`): `iss`, `sub` (profile
    /// id), `aud`, `iat`, `exp`, `username`, `profile_type`.
    id_token: String,
    /// Seconds until the access token expires (24 h by default).
    expires_in: u64,
}

/// The answer of `/v1/login` for a profile with a temporary password: no tokens.
#[derive(Serialize, ToSchema)]
pub(super) struct ChallengeReply {
    /// `NEW_PASSWORD_REQUIRED`.
    challenge_name: String,
    /// `tss_…`, for `/v1/new-password-required`.
    session: String,
}

/// `/v1/login`: tokens, or the challenge.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(super) enum LoginReply {
    Tokens(TokensReply),
    Challenge(ChallengeReply),
}

/// An acknowledgement in the seed's shape.
#[derive(ToSchema)]
pub(super) struct MessageReply {
    message: String,
    /// 200.
    status: u16,
}

/// A server-registered user.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(super) struct UserReply {
    /// The identity provider's id.
    external_id: String,
    profile_id: String,
    /// The login name (`x-<profile id hex>` when none was given).
    username: String,
    email: Option<String>,
    metadata: Option<serde_json::Value>,
    /// Each granted environment → `true`.
    environments: BTreeMap<String, bool>,
    created_at: String,
    updated_at: String,
    /// Only with `createToken`: a `tsa_` authorization token.
    user_token: Option<String>,
    /// Only with `createToken`: when `userToken` expires.
    expires_at: Option<String>,
}

/// One key of the JWK Set.
#[derive(ToSchema)]
pub(super) struct Jwk {
    /// `OKP`.
    kty: String,
    /// `Ed25519`.
    crv: String,
    /// The public key, base64url.
    x: String,
    /// RFC 7638 thumbprint; id tokens name it in their header.
    kid: String,
    /// `EdDSA`.
    alg: String,
    /// `sig`.
    r#use: String,
}

/// RFC 7517 JWK Set.
#[derive(ToSchema)]
pub(super) struct JwksReply {
    keys: Vec<Jwk>,
}

// ---- operations --------------------------------------------------------------------------

#[utoipa::path(post, path = "/v1/login", tag = "token-api",
    request_body(content = LoginBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Tokens; or, for a profile with a temporary password, {challenge_name: NEW_PASSWORD_REQUIRED, session}", body = LoginReply),
        (status = 400, description = "bad_request: not JSON", body = ErrorBody),
        (status = 401, description = "unauthorized: unknown user or wrong password (one body)", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, description = "unsupported_media_type: not application/json", body = ErrorBody),
        (status = 422, description = "validation_failed (missing or mistyped member)", body = ErrorBody),
        (status = 429, description = "too_many_attempts (Retry-After)", body = ErrorBody),
        (status = 503, description = "overloaded (Retry-After), storage_unavailable", body = ErrorBody)))]
async fn login() {}

#[utoipa::path(post, path = "/v1/token-refresh", tag = "token-api",
    request_body(content = RefreshBody, content_type = "application/json"),
    responses(
        (status = 200, description = "A rotated token set: the presented refresh token is used up", body = TokensReply),
        (status = 401, description = "unauthorized: unknown, expired, revoked or reused refresh token (a reuse revokes the whole family), or another user's", body = ErrorBody),
        (status = 400, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "validation_failed", body = ErrorBody),
        (status = 503, description = "storage_unavailable: nothing changed, the token still works", body = ErrorBody)))]
async fn token_refresh() {}

#[utoipa::path(post, path = "/v1/token-revoke", tag = "token-api",
    request_body(content = RevokeBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The refresh token and every access token of its login stopped working", body = MessageReply),
        (status = 401, description = "unauthorized: unknown refresh token", body = ErrorBody),
        (status = 400, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "validation_failed", body = ErrorBody),
        (status = 503, body = ErrorBody)))]
async fn token_revoke() {}

#[utoipa::path(post, path = "/v1/forgot-password", tag = "token-api",
    request_body(content = ForgotPasswordBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The same answer whether or not the user exists; the code (8 characters, 10 min, single use; a newer one voids it) goes to the configured notifier", body = MessageReply),
        (status = 400, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "validation_failed (username missing)", body = ErrorBody)))]
async fn forgot_password() {}

#[utoipa::path(post, path = "/v1/forgot-password-confirm", tag = "token-api",
    request_body(content = ForgotPasswordConfirmBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Password set; every token of the profile revoked; no token issued", body = MessageReply),
        (status = 400, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "invalid_code (wrong, used, expired or another user's code), weak_password, password_too_short, password_too_long, validation_failed", body = ErrorBody),
        (status = 429, description = "too_many_attempts (Retry-After): guesses are throttled per account", body = ErrorBody),
        (status = 503, description = "overloaded (Retry-After), storage_unavailable", body = ErrorBody)))]
async fn forgot_password_confirm() {}

#[utoipa::path(post, path = "/v1/change-password", tag = "token-api", operation_id = "v1_change_password",
    request_body(content = ChangePasswordBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Password changed; every other token of the profile revoked", body = MessageReply),
        (status = 401, description = "unauthorized: bad access token", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected (as /profile/change-password)", body = ErrorBody),
        (status = 400, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "wrong_password (counts toward throttling), weak_password, password_too_short, password_too_long, validation_failed", body = ErrorBody),
        (status = 429, description = "too_many_attempts (Retry-After)", body = ErrorBody),
        (status = 503, description = "overloaded (Retry-After), storage_unavailable", body = ErrorBody)))]
async fn change_password() {}

#[utoipa::path(post, path = "/v1/new-password-required", tag = "token-api",
    request_body(content = NewPasswordBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Password set; tokens as /v1/login", body = TokensReply),
        (status = 401, description = "unauthorized: unknown, used or expired session, or another user's", body = ErrorBody),
        (status = 400, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "weak_password, password_too_short, password_too_long, validation_failed", body = ErrorBody),
        (status = 503, description = "overloaded (Retry-After), storage_unavailable", body = ErrorBody)))]
async fn new_password_required() {}

#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "token-api",
    responses((status = 200, description = "The key that verifies id tokens (RFC 7517 JWK Set)", body = JwksReply),
        (status = 503, description = "storage_unavailable", body = ErrorBody)))]
async fn jwks() {}

#[utoipa::path(put, path = "/v1/users/{externalId}", tag = "users", security(("api_key" = [])),
    params(("externalId" = String, Path, description = "The identity provider's id: 1–255 printable ASCII characters, no spaces (percent-encode reserved characters)")),
    request_body(content = UserUpsertBody, content_type = "application/json",
        description = "At most 16 KiB plus the metadata allowance (32 KiB by default)"),
    responses(
        (status = 201, description = "Created (an active user)", body = UserReply),
        (status = 200, description = "Updated", body = UserReply),
        (status = 401, description = "unauthorized: missing or wrong X-Tessera-Api-Key", body = ErrorBody),
        (status = 400, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "validation_failed (externalId, email, metadata, environments, username, createToken), invalid_username, username_taken, weak_password, password_too_short, password_too_long", body = ErrorBody),
        (status = 503, description = "overloaded (Retry-After), storage_unavailable", body = ErrorBody)))]
async fn upsert_user() {}

#[utoipa::path(get, path = "/v1/users/{externalId}", tag = "users", security(("api_key" = [])),
    params(("externalId" = String, Path)),
    responses(
        (status = 200, body = UserReply),
        (status = 401, description = "unauthorized: missing or wrong X-Tessera-Api-Key", body = ErrorBody),
        (status = 404, description = "not_found: unknown external id", body = ErrorBody)))]
async fn get_user() {}

#[utoipa::path(delete, path = "/v1/users/{externalId}/tokens", tag = "users", security(("api_key" = [])),
    params(("externalId" = String, Path)),
    responses(
        (status = 204, description = "Logged out: every token of the user revoked"),
        (status = 401, description = "unauthorized: missing or wrong X-Tessera-Api-Key", body = ErrorBody),
        (status = 404, description = "not_found: unknown external id", body = ErrorBody)))]
async fn logout_user() {}
