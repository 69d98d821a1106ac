//! Device onboarding and management routes.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::Value;
use tessera_core::Device;
use utoipa::ToSchema;

use super::super::fields::{read, wire_body};
use super::super::reply::{Accepted, CommandAccepted, JsonReply};
use super::super::{ApiError, AppState, Authenticated, ErrorBody, Form, accepted};
use super::{uuid_field, uuid_path};
use crate::routes::Routes;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .route(
            "/device/request-unique-identifier",
            post(request_unique_identifier),
        )
        .route(
            "/device/retrieve-unique-identifier",
            post(retrieve_unique_identifier),
        )
        .route(
            "/device/retrieve-profile-devices",
            get(retrieve_profile_devices),
        )
        .route("/device/configure-device-meta", post(configure_device_meta))
        .route("/device/approve-device", post(approve_device))
        .route("/device/reject-device", post(reject_device))
        .route(
            "/device/retrieve-device-configuration/{deviceIdentifier}",
            get(retrieve_device_configuration),
        )
        .route("/device/remove", post(remove_device))
}

// ---- request bodies ----------------------------------------------------------------------

wire_body! {
    /// QR redemption by a device.
    struct DeviceRequestForm<'a> from Form {
        /// `tsq_…` from `/profile/generate-qr-token`.
        qr_token: &'a str = "qrToken",
        /// The device profile's username (username rules).
        username: &'a str = "username",
        /// The device profile's password (password rules).
        password: &'a str = "password",
        /// At most 64 characters.
        #[schema(max_length = 64)]
        device_name: Option<&'a str> = "deviceName",
        /// `storage` (default), `authenticator` or `storage,authenticator`.
        role: Option<&'a str> = "role",
    }
}

wire_body! {
    /// A command id.
    struct CommandIdForm<'a> from Form {
        /// The id a `request-unique-identifier` answered (a UUID).
        command_id: &'a str = "commandId",
    }
}

wire_body! {
    /// A device identifier.
    struct DeviceIdForm<'a> from Form {
        /// A UUID.
        device_identifier: &'a str = "deviceIdentifier",
    }
}

wire_body! {
    /// Device metadata.
    struct DeviceMetaForm<'a> from Form {
        /// A UUID.
        device_identifier: &'a str = "deviceIdentifier",
        /// A JSON object, at most 4 KiB.
        #[schema(max_length = 4096)]
        meta: &'a str = "meta",
    }
}

// ---- replies -----------------------------------------------------------------------------

/// The device and profile a command created.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeviceIdReply {
    device_identifier: String,
    profile_id: String,
}

/// One device of the owner.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeviceReply {
    device_identifier: String,
    device_name: Option<String>,
    /// `storage`, `authenticator`.
    role: Vec<&'static str>,
    /// `incomplete`, `pending`, `active`, `rejected`.
    state: &'static str,
    /// The configured meta object (`null` when unset).
    meta: Option<Value>,
    created_at: String,
}

/// A device's configuration (Privicore: hyphenated keys).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeviceConfigurationReply {
    #[serde(rename = "device-identifier")]
    device_identifier: String,
    #[serde(rename = "profile-id")]
    profile_id: String,
    #[serde(rename = "owner-profile-id")]
    owner_profile_id: String,
    role: Vec<&'static str>,
    state: &'static str,
    /// The configured meta object (`null` when unset).
    meta: Option<Value>,
    /// The server's key, 200-hex.
    #[serde(rename = "cab-public-key")]
    cab_public_key: String,
    /// The device's OAuth client id (its profile id): it gets access tokens for itself
    /// with `client_credentials` at `/oauth2/token`.
    #[serde(rename = "client-id")]
    client_id: String,
    /// The device's OAuth client secret (`tsd_…`, derived, ends with the device).
    #[serde(rename = "client-secret")]
    client_secret: String,
}

/// Stored meta text as a JSON value (`None`, serialized `null`, when unset).
fn meta_value(meta: Option<&str>) -> Option<Value> {
    meta.and_then(|m| serde_json::from_str(m).ok())
}

impl From<&Device> for DeviceReply {
    fn from(d: &Device) -> Self {
        Self {
            device_identifier: d.device_id.hyphenated().to_string(),
            device_name: d.name.clone(),
            role: d.roles.names(),
            state: d.state.as_str(),
            meta: meta_value(d.meta.as_deref()),
            created_at: d.created_at.to_rfc3339(),
        }
    }
}

/// `POST /device/request-unique-identifier`: redeem a QR token into a device profile.
#[utoipa::path(post, path = "/device/request-unique-identifier", tag = "device", request_body(content = DeviceRequestForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Command: device created; its result has deviceIdentifier and profileId", body = CommandAccepted,
            headers(("X-DPT-CAB-ID" = String, description = "command id"))),
        (status = 422, description = "invalid_qr_token, invalid_username, username_taken, weak_password, password_too_short, password_too_long, validation_failed", body = ErrorBody),
        (status = 503, description = "overloaded (Retry-After), storage_unavailable", body = ErrorBody)))]
pub(crate) async fn request_unique_identifier(
    State(s): State<AppState>,
    form: Form,
) -> Result<Accepted, ApiError> {
    let f: DeviceRequestForm<'_> = read(&form)?;
    let done = s
        .engine
        .redeem_qr_token(f.qr_token, f.username, f.password, f.device_name, f.role)
        .await?;
    Ok(accepted(&done))
}

/// `POST /device/retrieve-unique-identifier`: the device created by command `commandId`.
#[utoipa::path(post, path = "/device/retrieve-unique-identifier", tag = "device", request_body(content = CommandIdForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The device the command created", body = DeviceIdReply),
        (status = 404, description = "not_found: unknown or purged command, or not a device command", body = ErrorBody),
        (status = 422, description = "validation_failed (commandId)", body = ErrorBody)))]
pub(crate) async fn retrieve_unique_identifier(
    State(s): State<AppState>,
    form: Form,
) -> Result<JsonReply<DeviceIdReply>, ApiError> {
    let f: CommandIdForm<'_> = read(&form)?;
    let id = uuid_field("commandId", f.command_id)?;
    let rec = s
        .engine
        .command(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let get = |k: &str| {
        rec.result
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    match (get("deviceIdentifier"), get("profileId")) {
        (Some(device_identifier), Some(profile_id)) => Ok(JsonReply(DeviceIdReply {
            device_identifier,
            profile_id,
        })),
        _ => Err(ApiError::not_found()),
    }
}

/// `GET /device/retrieve-profile-devices`: the owner's devices.
#[utoipa::path(get, path = "/device/retrieve-profile-devices", tag = "device", security(("token" = [])),
    responses(
        (status = 200, description = "The owner's devices", body = Vec<DeviceReply>),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected, forbidden (devices)", body = ErrorBody)))]
pub(crate) async fn retrieve_profile_devices(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
) -> Result<JsonReply<Vec<DeviceReply>>, ApiError> {
    let devices = s.engine.list_devices(&p).await?;
    Ok(JsonReply(devices.iter().map(DeviceReply::from).collect()))
}

/// `POST /device/configure-device-meta`: form `deviceIdentifier`, `meta`.
#[utoipa::path(post, path = "/device/configure-device-meta", tag = "device", security(("token" = [])), request_body(content = DeviceMetaForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Command: the meta is stored", body = CommandAccepted,
            headers(("X-DPT-CAB-ID" = String, description = "command id"))),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected, forbidden (devices)", body = ErrorBody),
        (status = 404, description = "not_found: unknown or another profile's device", body = ErrorBody),
        (status = 422, description = "validation_failed (deviceIdentifier, meta)", body = ErrorBody)))]
pub(crate) async fn configure_device_meta(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Accepted, ApiError> {
    let f: DeviceMetaForm<'_> = read(&form)?;
    let id = uuid_field("deviceIdentifier", f.device_identifier)?;
    Ok(accepted(
        &s.engine.configure_device_meta(&p, id, f.meta).await?,
    ))
}

/// `POST /device/approve-device` \[P\].
#[utoipa::path(post, path = "/device/approve-device", tag = "device", security(("token" = [])), request_body(content = DeviceIdForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Command: the device is active", body = CommandAccepted,
            headers(("X-DPT-CAB-ID" = String, description = "command id"))),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected, forbidden (devices)", body = ErrorBody),
        (status = 404, description = "not_found: unknown or another profile's device", body = ErrorBody),
        (status = 422, description = "validation_failed; the device is not pending", body = ErrorBody)))]
pub(crate) async fn approve_device(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Accepted, ApiError> {
    let f: DeviceIdForm<'_> = read(&form)?;
    let done = s
        .engine
        .approve_device(&p, uuid_field("deviceIdentifier", f.device_identifier)?)
        .await?;
    Ok(accepted(&done))
}

/// `POST /device/reject-device`.
#[utoipa::path(post, path = "/device/reject-device", tag = "device", security(("token" = [])), request_body(content = DeviceIdForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Command: the device is rejected, its tokens revoked", body = CommandAccepted,
            headers(("X-DPT-CAB-ID" = String, description = "command id"))),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected, forbidden (devices)", body = ErrorBody),
        (status = 404, description = "not_found: unknown or another profile's device", body = ErrorBody),
        (status = 422, description = "validation_failed; the device cannot be rejected", body = ErrorBody)))]
pub(crate) async fn reject_device(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Accepted, ApiError> {
    let f: DeviceIdForm<'_> = read(&form)?;
    let done = s
        .engine
        .reject_device(&p, uuid_field("deviceIdentifier", f.device_identifier)?)
        .await?;
    Ok(accepted(&done))
}

/// `POST /device/remove` \[P\].
#[utoipa::path(post, path = "/device/remove", tag = "device", security(("token" = [])), request_body(content = DeviceIdForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Command: the device is removed, its tokens revoked", body = CommandAccepted,
            headers(("X-DPT-CAB-ID" = String, description = "command id"))),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected, forbidden (devices)", body = ErrorBody),
        (status = 404, description = "not_found: unknown or another profile's device", body = ErrorBody),
        (status = 422, description = "validation_failed (deviceIdentifier)", body = ErrorBody)))]
pub(crate) async fn remove_device(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Accepted, ApiError> {
    let f: DeviceIdForm<'_> = read(&form)?;
    let done = s
        .engine
        .remove_device(&p, uuid_field("deviceIdentifier", f.device_identifier)?)
        .await?;
    Ok(accepted(&done))
}

/// `GET /device/retrieve-device-configuration/{deviceIdentifier}` \[P\]: hyphenated keys.
#[utoipa::path(get, path = "/device/retrieve-device-configuration/{deviceIdentifier}", tag = "device", security(("token" = [])),
    params(("deviceIdentifier" = String, Path, description = "The device (a UUID; anything else → 404)")),
    responses(
        (status = 200, description = "The device's configuration", body = DeviceConfigurationReply),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected, forbidden (devices)", body = ErrorBody),
        (status = 404, description = "not_found: unknown or another profile's device", body = ErrorBody)))]
pub(crate) async fn retrieve_device_configuration(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Path(id): Path<String>,
) -> Result<JsonReply<DeviceConfigurationReply>, ApiError> {
    let c = s.engine.device_configuration(&p, uuid_path(&id)?).await?;
    Ok(JsonReply(DeviceConfigurationReply {
        device_identifier: c.device.device_id.hyphenated().to_string(),
        profile_id: c.device.profile_id.hyphenated().to_string(),
        owner_profile_id: c.owner.hyphenated().to_string(),
        role: c.device.roles.names(),
        state: c.device.state.as_str(),
        meta: meta_value(c.device.meta.as_deref()),
        cab_public_key: c.server_key.to_privicore_hex(),
        client_id: c.client_id.hyphenated().to_string(),
        client_secret: c.client_secret.expose().to_owned(),
    }))
}
