//! The Privicore-style "OAuth Application" management routes: register, retrieve the
//! configuration (with the secret once), rotate the secret, remove, list, an
//! application's scope, the caller's consents and their revocation. Privicore conventions:
//! form bodies, `X-DPT-AUTHORIZATION`, commands (202), our error body.

use axum::extract::{RawQuery, State};
use axum::routing::{get, post};
use serde::Serialize;
use tessera_core::engine::oauth::{Application, ApplicationRef, NewApplication};
use utoipa::{IntoParams, ToSchema};

use super::super::fields::{read, wire_body};
use super::super::reply::{Accepted, CommandAccepted, JsonReply};
use super::super::{ApiError, AppState, Authenticated, ErrorBody, Form, accepted};
use super::{uuid_field, uuid_path};
use crate::routes::Routes;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .route("/oauth-application/register", post(register_application))
        .route(
            "/oauth-application/retrieve-configuration",
            post(retrieve_application_configuration),
        )
        .route(
            "/oauth-application/rotate-secret",
            post(rotate_application_secret),
        )
        .route("/oauth-application/remove", post(remove_application))
        .route("/oauth-application/list", get(list_applications))
        .route("/oauth-application/scope", get(application_scope))
        .route("/oauth-application/consents", get(list_consents))
        .route("/oauth-application/revoke-consent", post(revoke_consent))
}

// ---- request bodies ----------------------------------------------------------------------

wire_body! {
    /// A new application.
    struct ApplicationRegisterForm<'a> from Form {
        /// 1–100 characters.
        #[schema(min_length = 1, max_length = 100)]
        name: &'a str = "name",
        /// Repeatable, 1–10 exact URIs: `https://…`; for public clients also
        /// `http://127.0.0.1/…`, `http://[::1]/…` (any port) or a private-use scheme
        /// (`com.example.app:/cb`). No fragment, no wildcard.
        #[schema(min_items = 1, max_items = 10)]
        redirect_uris: Vec<&'a str> = "redirectUri",
        /// Space-separated, from the supported scopes (`openid`, `profile`, `email`,
        /// `offline_access`, `directories` and the configured extra ones).
        scope: &'a str = "scope",
        /// `confidential` (default) or `public`.
        #[schema(value_type = Option<String>, pattern = "^(confidential|public)$")]
        client_type: Option<&'a str> = "clientType",
        /// `RS256` (default) or `EdDSA`.
        #[schema(value_type = Option<String>, pattern = "^(RS256|EdDSA)$")]
        id_token_alg: Option<&'a str> = "idTokenAlg",
    }
}

wire_body! {
    /// Which application: its `clientId`, or the `commandId` of its registration (one of
    /// the two).
    struct ApplicationConfigurationForm<'a> from Form {
        /// A UUID.
        client_id: Option<&'a str> = "clientId",
        /// A UUID: the id the registration's 202 carried.
        command_id: Option<&'a str> = "commandId",
    }
}

wire_body! {
    /// An application.
    struct ApplicationClientIdForm<'a> from Form {
        /// A UUID.
        client_id: &'a str = "clientId",
    }
}

/// The query of `GET /oauth-application/scope` (read with the form rules).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ApplicationScopeQuery<'a> {
    /// The application (a UUID; anything else → 404).
    #[param(rename = "clientId", value_type = String)]
    client_id: Option<&'a str>,
}

// ---- replies -----------------------------------------------------------------------------

/// An application's configuration.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApplicationConfigurationReply {
    client_id: String,
    name: String,
    /// `confidential` or `public`.
    client_type: &'static str,
    redirect_uris: Vec<String>,
    scopes: Vec<String>,
    /// `authorization_code`, `refresh_token` (with `offline_access`),
    /// `client_credentials` (confidential).
    grant_types: Vec<&'static str>,
    /// `RS256` or `EdDSA`.
    id_token_alg: &'static str,
    created_at: String,
    /// `tsx_…`: in the first reply after registration or rotation only, `null` afterwards
    /// (and for public clients).
    client_secret: Option<String>,
}

/// One of the caller's applications.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApplicationReply {
    client_id: String,
    name: String,
    /// `confidential` or `public`.
    client_type: &'static str,
    redirect_uris: Vec<String>,
    scopes: Vec<String>,
    created_at: String,
}

impl From<&Application> for ApplicationReply {
    fn from(a: &Application) -> Self {
        Self {
            client_id: a.client_id.hyphenated().to_string(),
            name: a.name.clone(),
            client_type: a.client_type(),
            redirect_uris: a.redirect_uris.clone(),
            scopes: a.scopes.clone(),
            created_at: a.created_at.to_rfc3339(),
        }
    }
}

/// What an application may ask for, and what the caller consented to.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApplicationScopeReply {
    client_id: String,
    name: String,
    /// Its registered scopes.
    scopes: Vec<String>,
    /// The caller's standing consent (empty when none).
    granted: Vec<String>,
}

/// One consent of the caller.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApplicationConsentReply {
    client_id: String,
    name: String,
    scopes: Vec<String>,
    granted_at: String,
}

// ---- handlers ----------------------------------------------------------------------------

#[utoipa::path(post, path = "/oauth-application/register", tag = "oauth-application", security(("token" = [])),
    request_body(content = ApplicationRegisterForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Command: the application is registered; its result has clientId", body = CommandAccepted,
            headers(("X-DPT-CAB-ID" = String, description = "command id"))),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected, forbidden (devices)", body = ErrorBody),
        (status = 422, description = "validation_failed (name, redirectUri, scope, clientType, idTokenAlg)", body = ErrorBody)))]
pub(crate) async fn register_application(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Accepted, ApiError> {
    let f: ApplicationRegisterForm<'_> = read(&form)?;
    let new = NewApplication {
        name: f.name,
        redirect_uris: &f.redirect_uris,
        scope: f.scope,
        client_type: f.client_type,
        id_token_alg: f.id_token_alg,
    };
    Ok(accepted(&s.engine.register_application(&p, &new).await?))
}

#[utoipa::path(post, path = "/oauth-application/retrieve-configuration", tag = "oauth-application", security(("token" = [])),
    request_body(content = ApplicationConfigurationForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The configuration; clientSecret only in the first reply after registration or rotation", body = ApplicationConfigurationReply),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected", body = ErrorBody),
        (status = 404, description = "not_found: unknown, or another profile's application", body = ErrorBody),
        (status = 422, description = "validation_failed (clientId or commandId: one, a UUID)", body = ErrorBody)))]
pub(crate) async fn retrieve_application_configuration(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<JsonReply<ApplicationConfigurationReply>, ApiError> {
    let f: ApplicationConfigurationForm<'_> = read(&form)?;
    let which = match (f.client_id, f.command_id) {
        (Some(id), None) => ApplicationRef::ClientId(uuid_field("clientId", id)?),
        (None, Some(id)) => ApplicationRef::Command(uuid_field("commandId", id)?),
        _ => {
            return Err(ApiError::invalid(
                "clientId",
                "give clientId or commandId (one of them)",
            ));
        }
    };
    let c = s.engine.application_configuration(&p, which).await?;
    let a = &c.application;
    Ok(JsonReply(ApplicationConfigurationReply {
        client_id: a.client_id.hyphenated().to_string(),
        name: a.name.clone(),
        client_type: a.client_type(),
        redirect_uris: a.redirect_uris.clone(),
        scopes: a.scopes.clone(),
        grant_types: a.grant_types.clone(),
        id_token_alg: a.id_token_alg.name(),
        created_at: a.created_at.to_rfc3339(),
        client_secret: c.client_secret.as_ref().map(|s| s.expose().to_owned()),
    }))
}

#[utoipa::path(post, path = "/oauth-application/rotate-secret", tag = "oauth-application", security(("token" = [])),
    request_body(content = ApplicationClientIdForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Command: a new secret (shown by the next retrieve-configuration); the old one stopped working", body = CommandAccepted,
            headers(("X-DPT-CAB-ID" = String, description = "command id"))),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected", body = ErrorBody),
        (status = 404, description = "not_found: unknown, or another profile's application", body = ErrorBody),
        (status = 422, description = "validation_failed (clientId; a public application has no secret)", body = ErrorBody)))]
pub(crate) async fn rotate_application_secret(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Accepted, ApiError> {
    let f: ApplicationClientIdForm<'_> = read(&form)?;
    let id = uuid_field("clientId", f.client_id)?;
    Ok(accepted(&s.engine.rotate_application_secret(&p, id).await?))
}

#[utoipa::path(post, path = "/oauth-application/remove", tag = "oauth-application", security(("token" = [])),
    request_body(content = ApplicationClientIdForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Command: the application is removed with every code, token and consent of it", body = CommandAccepted,
            headers(("X-DPT-CAB-ID" = String, description = "command id"))),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected", body = ErrorBody),
        (status = 404, description = "not_found: unknown, or another profile's application", body = ErrorBody),
        (status = 422, description = "validation_failed (clientId)", body = ErrorBody)))]
pub(crate) async fn remove_application(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Accepted, ApiError> {
    let f: ApplicationClientIdForm<'_> = read(&form)?;
    let id = uuid_field("clientId", f.client_id)?;
    Ok(accepted(&s.engine.remove_application(&p, id).await?))
}

#[utoipa::path(get, path = "/oauth-application/list", tag = "oauth-application", security(("token" = [])),
    responses(
        (status = 200, description = "The caller's applications, by creation time", body = Vec<ApplicationReply>),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected", body = ErrorBody)))]
pub(crate) async fn list_applications(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
) -> Result<JsonReply<Vec<ApplicationReply>>, ApiError> {
    let apps = s.engine.list_applications(&p).await?;
    Ok(JsonReply(apps.iter().map(ApplicationReply::from).collect()))
}

#[utoipa::path(get, path = "/oauth-application/scope", tag = "oauth-application", security(("token" = [])),
    params(ApplicationScopeQuery),
    responses(
        (status = 200, description = "The application's scopes and the caller's consent", body = ApplicationScopeReply),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected", body = ErrorBody),
        (status = 404, description = "not_found: unknown application (or clientId missing or not a UUID)", body = ErrorBody),
        (status = 422, description = "validation_failed (clientId given twice)", body = ErrorBody)))]
pub(crate) async fn application_scope(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    RawQuery(query): RawQuery,
) -> Result<JsonReply<ApplicationScopeReply>, ApiError> {
    let form = query
        .map(|q| Form::parse(q.as_bytes()))
        .transpose()?
        .unwrap_or_default();
    let q = ApplicationScopeQuery {
        client_id: form.optional("clientId")?,
    };
    let id = uuid_path(q.client_id.unwrap_or_default())?;
    let a = s.engine.application_scope(&p, id).await?;
    Ok(JsonReply(ApplicationScopeReply {
        client_id: a.client_id.hyphenated().to_string(),
        name: a.name,
        scopes: a.scopes,
        granted: a.granted,
    }))
}

#[utoipa::path(get, path = "/oauth-application/consents", tag = "oauth-application", security(("token" = [])),
    responses(
        (status = 200, description = "The caller's consents, by grant time", body = Vec<ApplicationConsentReply>),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected", body = ErrorBody)))]
pub(crate) async fn list_consents(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
) -> Result<JsonReply<Vec<ApplicationConsentReply>>, ApiError> {
    let list = s.engine.consents(&p).await?;
    Ok(JsonReply(
        list.into_iter()
            .map(|c| ApplicationConsentReply {
                client_id: c.client_id.hyphenated().to_string(),
                name: c.name,
                scopes: c.scopes,
                granted_at: c.granted_at.to_rfc3339(),
            })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/oauth-application/revoke-consent", tag = "oauth-application", security(("token" = [])),
    request_body(content = ApplicationClientIdForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Command: the consent and every token of the application for the caller are revoked", body = CommandAccepted,
            headers(("X-DPT-CAB-ID" = String, description = "command id"))),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected", body = ErrorBody),
        (status = 404, description = "not_found: no consent or grant to this application", body = ErrorBody),
        (status = 422, description = "validation_failed (clientId)", body = ErrorBody)))]
pub(crate) async fn revoke_consent(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Accepted, ApiError> {
    let f: ApplicationClientIdForm<'_> = read(&form)?;
    let id = uuid_field("clientId", f.client_id)?;
    Ok(accepted(&s.engine.revoke_consent(&p, id).await?))
}
