//! The provider's metadata: `GET /.well-known/openid-configuration` (OpenID Connect
//! Discovery 1.0) and `GET /.well-known/oauth-authorization-server` (RFC 8414), one
//! document, and `GET /oauth2/jwks`, the keys that verify its id tokens.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::reply::JsonReply;
use super::super::{ApiError, AppState, ErrorBody};
use crate::routes::Routes;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .route(
            "/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(authorization_server),
        )
        .route("/oauth2/jwks", get(oauth_jwks))
}

/// The claims an id token or userinfo may carry.
const CLAIMS: [&str; 13] = [
    "iss",
    "sub",
    "aud",
    "azp",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "preferred_username",
    "profile_type",
    "email",
    "directories",
];

/// The provider metadata (OpenID Connect Discovery 1.0 §3, RFC 8414 §2).
#[derive(Debug, Serialize, ToSchema)]
#[allow(clippy::struct_excessive_bools)] // the metadata's own flags
pub(crate) struct OAuthProviderMetadata {
    /// The issuer (`[oauth] issuer`, the public URL): every id token's `iss`.
    issuer: String,
    /// `{issuer}/oauth2/authorize`.
    authorization_endpoint: String,
    /// `{issuer}/oauth2/token`.
    token_endpoint: String,
    /// `{issuer}/oauth2/userinfo`.
    userinfo_endpoint: String,
    /// `{issuer}/oauth2/jwks`.
    jwks_uri: String,
    /// `{issuer}/oauth2/revoke` (RFC 7009).
    revocation_endpoint: String,
    /// `{issuer}/oauth2/introspect` (RFC 7662).
    introspection_endpoint: String,
    /// The supported scopes (`[oauth] extra_scopes` included).
    scopes_supported: Vec<String>,
    /// `["code"]`.
    response_types_supported: [&'static str; 1],
    /// `["query"]`.
    response_modes_supported: [&'static str; 1],
    /// `authorization_code`, `refresh_token`, `client_credentials`.
    grant_types_supported: [&'static str; 3],
    /// `["S256"]`.
    code_challenge_methods_supported: [&'static str; 1],
    /// `client_secret_basic`, `client_secret_post`, `none`.
    token_endpoint_auth_methods_supported: [&'static str; 3],
    /// The same as the token endpoint's.
    revocation_endpoint_auth_methods_supported: [&'static str; 3],
    /// The same as the token endpoint's.
    introspection_endpoint_auth_methods_supported: [&'static str; 3],
    /// `RS256` (the default), `EdDSA`.
    id_token_signing_alg_values_supported: [&'static str; 2],
    /// `["public"]`.
    subject_types_supported: [&'static str; 1],
    /// The claims of id tokens and userinfo.
    claims_supported: [&'static str; 13],
    /// `none`, `login`, `consent`.
    prompt_values_supported: [&'static str; 3],
    /// `iss` in every authorization response (RFC 9207).
    authorization_response_iss_parameter_supported: bool,
    /// No `claims` parameter.
    claims_parameter_supported: bool,
    /// No request objects.
    request_parameter_supported: bool,
    /// No request objects by reference.
    request_uri_parameter_supported: bool,
}

fn metadata(s: &AppState) -> Response {
    let cfg = &s.engine.config().oauth;
    let issuer = cfg.issuer.trim_end_matches('/').to_owned();
    let at = |path: &str| format!("{issuer}{path}");
    let auth_methods = ["client_secret_basic", "client_secret_post", "none"];
    let doc = OAuthProviderMetadata {
        authorization_endpoint: at("/oauth2/authorize"),
        token_endpoint: at("/oauth2/token"),
        userinfo_endpoint: at("/oauth2/userinfo"),
        jwks_uri: at("/oauth2/jwks"),
        revocation_endpoint: at("/oauth2/revoke"),
        introspection_endpoint: at("/oauth2/introspect"),
        issuer: cfg.issuer.clone(),
        scopes_supported: cfg.scopes_supported(),
        response_types_supported: ["code"],
        response_modes_supported: ["query"],
        grant_types_supported: ["authorization_code", "refresh_token", "client_credentials"],
        code_challenge_methods_supported: ["S256"],
        token_endpoint_auth_methods_supported: auth_methods,
        revocation_endpoint_auth_methods_supported: auth_methods,
        introspection_endpoint_auth_methods_supported: auth_methods,
        id_token_signing_alg_values_supported: ["RS256", "EdDSA"],
        subject_types_supported: ["public"],
        claims_supported: CLAIMS,
        prompt_values_supported: ["none", "login", "consent"],
        authorization_response_iss_parameter_supported: true,
        claims_parameter_supported: false,
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
    };
    cached(JsonReply(doc).into_response())
}

fn cached(mut res: Response) -> Response {
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}

#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "oauth2",
    responses((status = 200, description = "OpenID provider metadata", body = OAuthProviderMetadata)))]
pub(crate) async fn openid_configuration(State(s): State<AppState>) -> Response {
    metadata(&s)
}

#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "oauth2",
    responses((status = 200, description = "RFC 8414 authorization server metadata (the same document)", body = OAuthProviderMetadata)))]
pub(crate) async fn authorization_server(State(s): State<AppState>) -> Response {
    metadata(&s)
}

/// One public key of the OAuth JWK Set: an RSA key (`n`, `e`) or an Ed25519 key (`crv`,
/// `x`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct OAuthJwk {
    /// `RSA` or `OKP`.
    kty: String,
    /// `sig`.
    r#use: String,
    /// The key id id tokens name in their header.
    kid: String,
    /// `RS256` or `EdDSA`.
    alg: String,
    /// RSA modulus, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    n: Option<String>,
    /// RSA exponent, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    e: Option<String>,
    /// `Ed25519`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    crv: Option<String>,
    /// The Ed25519 public key, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    x: Option<String>,
}

/// RFC 7517 JWK Set.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct OAuthJwksReply {
    keys: Vec<OAuthJwk>,
}

#[utoipa::path(get, path = "/oauth2/jwks", tag = "oauth2",
    responses(
        (status = 200, description = "The keys that verify the provider's id tokens (RFC 7517 JWK Set): RSA (RS256) and Ed25519 (EdDSA)", body = OAuthJwksReply),
        (status = 503, description = "storage_unavailable", body = ErrorBody)))]
pub(crate) async fn oauth_jwks(State(s): State<AppState>) -> Result<Response, ApiError> {
    // Read into the documented shape, so a member the document does not name (a private
    // part) cannot reach the reply.
    let set: OAuthJwksReply = serde_json::from_value(s.engine.oauth_jwks().await?)
        .map_err(|_| ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR))?;
    Ok(cached(JsonReply(set).into_response()))
}
