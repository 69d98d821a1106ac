//! Device routes of a directory: provision a device for a member, list the members' devices.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;
use tessera_core::engine::DirectoryDevice;
use utoipa::ToSchema;

use super::super::super::fields::{read, wire_body};
use super::super::super::query::Query;
use super::super::super::reply::JsonReply;
use super::super::super::{ApiError, AppState, Authenticated, ErrorBody, Form};
use super::super::profile::{QrReply, qr_response};
use super::super::{uuid_field, uuid_path};
use super::members::PageQuery;
use super::{limit, meta_value};

wire_body! {
    /// A device to provision for a member.
    struct CreateProfileDeviceForm<'a> from Form {
        /// A UUID.
        directory_id: &'a str = "directoryId",
        /// The member who will own the device (a UUID; an active user).
        profile_id: &'a str = "profileId",
        /// At most 64 characters.
        #[schema(max_length = 64)]
        device_name: Option<&'a str> = "deviceName",
        /// The device role: `storage`, `authenticator` or `storage,authenticator` (named in
        /// the URI for the device to ask for at `request-unique-identifier`).
        role: Option<&'a str> = "role",
    }
}

/// A device of a member.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DirectoryDeviceReply {
    /// The member owning it.
    profile_id: String,
    device_identifier: String,
    device_name: Option<String>,
    /// `storage`, `authenticator`.
    role: Vec<&'static str>,
    /// `incomplete`, `pending`, `active`, `rejected`.
    state: &'static str,
    /// The configured meta object (`null` when unset).
    #[schema(value_type = Option<Object>)]
    meta: Option<Value>,
    created_at: String,
}

impl From<DirectoryDevice> for DirectoryDeviceReply {
    fn from(d: DirectoryDevice) -> Self {
        Self {
            profile_id: d.member.hyphenated().to_string(),
            device_identifier: d.device.device_id.hyphenated().to_string(),
            device_name: d.device.name,
            role: d.device.roles.names(),
            state: d.device.state.as_str(),
            meta: meta_value(d.device.meta.as_deref()),
            created_at: d.device.created_at.to_rfc3339(),
        }
    }
}

/// The devices of one page of members.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DevicesPageReply {
    /// The devices (not removed) of the page's members, by member in join order.
    devices: Vec<DirectoryDeviceReply>,
    /// Pass as `cursor` for the next page of members; `null` on the last.
    next_cursor: Option<String>,
}

/// `POST /directory/create-profile-device` (Privicore "Create profile device").
#[utoipa::path(post, path = "/directory/create-profile-device", tag = "directory", security(("token" = [])),
    request_body(content = CreateProfileDeviceForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A QR onboarding token owned by the member, as /profile/generate-qr-token (with Accept: image/svg+xml the QR code of uri); the device it onboards waits for that member's approval",
            content(
                (QrReply = "application/json"),
                (String = "image/svg+xml"))),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "forbidden (the caller's role, or a member it may not manage), profile_incomplete, device_pending, device_rejected", body = ErrorBody),
        (status = 404, description = "not_found: unknown directory, the caller or profileId is not a member", body = ErrorBody),
        (status = 422, description = "validation_failed (directoryId; profileId: not a UUID, the member's profile not active; deviceName; role)", body = ErrorBody)))]
pub(crate) async fn create_profile_device(
    State(s): State<AppState>,
    headers: HeaderMap,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Response, ApiError> {
    let f: CreateProfileDeviceForm<'_> = read(&form)?;
    let dir = uuid_field("directoryId", f.directory_id)?;
    let profile = uuid_field("profileId", f.profile_id)?;
    let qr = s
        .engine
        .create_member_device(&p, dir, profile, f.device_name, f.role)
        .await?;
    qr_response(&headers, qr)
}

/// `GET /directory/list-directory-devices` (Privicore "List directory devices").
#[utoipa::path(get, path = "/directory/list-directory-devices", tag = "directory", security(("token" = [])),
    params(
        ("directoryId" = String, Query, description = "The directory (a UUID; anything else → 404)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Members per page, 1–500 (default 100)"),
        ("cursor" = Option<String>, Query, description = "The nextCursor of the previous page (opaque; bound to this directory)")),
    responses(
        (status = 200, description = "The devices of every member, a page of members at a time (owner, admin)", body = DevicesPageReply),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "forbidden (the caller's role), profile_incomplete, device_pending, device_rejected", body = ErrorBody),
        (status = 404, description = "not_found: unknown directory, or the caller is not a member", body = ErrorBody),
        (status = 422, description = "validation_failed (directoryId; limit outside 1–500; cursor forged, edited or of another directory)", body = ErrorBody)))]
pub(crate) async fn list_directory_devices(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Query(q): Query,
) -> Result<JsonReply<DevicesPageReply>, ApiError> {
    let f: PageQuery<'_> = read(&q)?;
    let dir = uuid_path(f.directory_id)?;
    let page = s
        .engine
        .directory_devices(&p, dir, limit(f.limit)?, f.cursor)
        .await?;
    Ok(JsonReply(DevicesPageReply {
        devices: page.devices.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}
