//! Device onboarding and management routes.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tessera_core::{
    Device, DeviceEnrollment, Engine, Principal, ProfileKind, ProfileState, TokenDigest, TokenKind,
};
use uuid::Uuid;

use super::super::{ApiError, AppState, Authenticated, Form, accepted, json as reply};
use super::{uuid_field, uuid_path};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
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

/// Stored meta text as a JSON value (`null` when unset).
fn meta_value(meta: Option<&str>) -> Value {
    meta.and_then(|m| serde_json::from_str(m).ok())
        .unwrap_or(Value::Null)
}

fn device_json(d: &Device) -> Value {
    json!({
        "deviceIdentifier": d.device_id.hyphenated().to_string(),
        "deviceName": d.name,
        "role": d.roles.names(),
        "state": d.state.as_str(),
        "meta": meta_value(d.meta.as_deref()),
        "createdAt": d.created_at.to_rfc3339(),
    })
}

/// `POST /device/request-unique-identifier`: redeem a QR token into a device profile.
async fn request_unique_identifier(
    State(s): State<AppState>,
    form: Form,
) -> Result<Response, ApiError> {
    let [qr, username, password] = form.required(["qrToken", "username", "password"])?;
    let (name, role) = (form.optional("deviceName")?, form.optional("role")?);
    let e = s
        .engine
        .redeem_qr_token(qr, username, password, name, role)
        .await?;
    let result = vec![
        (
            "deviceIdentifier".to_owned(),
            e.device_id.hyphenated().to_string(),
        ),
        (
            "profileId".to_owned(),
            e.profile_id.hyphenated().to_string(),
        ),
    ];
    // The owner follows onboarding on their channel: the command is theirs.
    let owner = enrollment_owner(&s.engine, &e).await;
    accepted(
        &s,
        Some(owner.unwrap_or(e.profile_id)),
        "Device registered",
        result,
    )
    .await
}

/// The owner of a device just created from a QR token.
///
/// `DeviceEnrollment` does not carry it; the device's configuration does, and a device may
/// read its own configuration in any state. So the read is made as the device, by a
/// principal built here for that one call and dropped (no token exists behind it, and it
/// reveals only the owner id, to this handler). `None` if the read fails (then the command
/// stays the device's).
async fn enrollment_owner(engine: &Engine, e: &DeviceEnrollment) -> Option<Uuid> {
    let now = engine.now();
    let device = Principal {
        profile_id: e.profile_id,
        kind: ProfileKind::Device,
        state: ProfileState::Incomplete,
        owner: None,
        environments: Vec::new(),
        token_kind: TokenKind::Authorization,
        issued_at: now,
        expires_at: now,
        token: TokenDigest([0; 32]),
    };
    match engine.device_configuration(&device, e.device_id).await {
        Ok(c) => Some(c.owner),
        Err(err) => {
            tracing::warn!(error = %err, "cannot find the owner of a new device");
            None
        }
    }
}

/// `POST /device/retrieve-unique-identifier`: the device created by command `commandId`.
async fn retrieve_unique_identifier(
    State(s): State<AppState>,
    form: Form,
) -> Result<Response, ApiError> {
    let [id] = form.required(["commandId"])?;
    let id = uuid_field("commandId", id)?;
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
        (Some(d), Some(p)) => Ok(reply(
            StatusCode::OK,
            &json!({"deviceIdentifier": d, "profileId": p}),
        )),
        _ => Err(ApiError::not_found()),
    }
}

/// `GET /device/retrieve-profile-devices`: the owner's devices.
async fn retrieve_profile_devices(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
) -> Result<Response, ApiError> {
    let devices = s.engine.list_devices(&p).await?;
    let list: Vec<Value> = devices.iter().map(device_json).collect();
    Ok(reply(StatusCode::OK, &list))
}

/// `POST /device/configure-device-meta`: form `deviceIdentifier`, `meta`.
async fn configure_device_meta(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Response, ApiError> {
    let [id, meta] = form.required(["deviceIdentifier", "meta"])?;
    let id = uuid_field("deviceIdentifier", id)?;
    s.engine.configure_device_meta(&p, id, meta).await?;
    accepted(&s, Some(p.profile_id), "Device meta configured", Vec::new()).await
}

/// `POST /device/approve-device` [P].
async fn approve_device(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Response, ApiError> {
    let [id] = form.required(["deviceIdentifier"])?;
    let d = s
        .engine
        .approve_device(&p, uuid_field("deviceIdentifier", id)?)
        .await?;
    accepted(&s, Some(p.profile_id), "Device approved", device_result(&d)).await
}

/// `POST /device/reject-device`.
async fn reject_device(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Response, ApiError> {
    let [id] = form.required(["deviceIdentifier"])?;
    let d = s
        .engine
        .reject_device(&p, uuid_field("deviceIdentifier", id)?)
        .await?;
    accepted(&s, Some(p.profile_id), "Device rejected", device_result(&d)).await
}

/// `POST /device/remove` [P].
async fn remove_device(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Response, ApiError> {
    let [id] = form.required(["deviceIdentifier"])?;
    let d = s
        .engine
        .remove_device(&p, uuid_field("deviceIdentifier", id)?)
        .await?;
    accepted(&s, Some(p.profile_id), "Device removed", device_result(&d)).await
}

fn device_result(d: &Device) -> Vec<(String, String)> {
    vec![
        (
            "deviceIdentifier".to_owned(),
            d.device_id.hyphenated().to_string(),
        ),
        ("state".to_owned(), d.state.as_str().to_owned()),
    ]
}

/// `GET /device/retrieve-device-configuration/{deviceIdentifier}` [P]: hyphenated keys.
async fn retrieve_device_configuration(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let c = s.engine.device_configuration(&p, uuid_path(&id)?).await?;
    Ok(reply(
        StatusCode::OK,
        &json!({
            "device-identifier": c.device.device_id.hyphenated().to_string(),
            "profile-id": c.device.profile_id.hyphenated().to_string(),
            "owner-profile-id": c.owner.hyphenated().to_string(),
            "role": c.device.roles.names(),
            "state": c.device.state.as_str(),
            "meta": meta_value(c.device.meta.as_deref()),
            "cab-public-key": c.server_key.to_privicore_hex(),
        }),
    ))
}
