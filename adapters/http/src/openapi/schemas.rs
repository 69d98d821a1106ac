//! The request and reply schemas of the OpenAPI document (documentation types: the
//! handlers build the same shapes with `serde_json`).
#![allow(dead_code)] // fields exist for their schema only

use serde::Serialize;
use utoipa::ToSchema;

// ---- form bodies -------------------------------------------------------------------------

/// Username and password.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(super) struct Credentials {
    /// Canonicalised (NFKC, lowercase); 3–64 of `a-z 0-9 . _ - @ +`.
    username: String,
    /// 15–128 code points, zxcvbn score ≥ 3 on registration.
    password: String,
}

/// Credentials plus an optional TTL.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(super) struct AuthenticateForm {
    username: String,
    password: String,
    /// One of 3600, 86400, 604800, 2592000, 7776000, 15552000, 23328000, 31104000.
    ttl: Option<u32>,
}

/// Optional TTL from the table.
#[derive(ToSchema)]
pub(super) struct TtlForm {
    /// One of 3600, 86400, 604800, 2592000, 7776000, 15552000, 23328000, 31104000
    /// (default 3600). Anything else, or given twice → 422 `invalid_ttl`.
    ttl: Option<u32>,
}

/// Current and new password.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(super) struct ChangePasswordForm {
    current_password: String,
    new_password: String,
}

/// QR token options.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(super) struct QrForm {
    /// 60–900 seconds (default 300).
    ttl: Option<u32>,
    /// At most 64 characters.
    device_name: Option<String>,
}

/// Revocation scope.
#[derive(ToSchema)]
pub(super) struct RevokeForm {
    /// `token` (default) or `all`.
    scope: Option<String>,
}

/// A public key with proof of possession.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(super) struct PublicKeyForm {
    /// Privicore 200-hex (`31420500` ‖ key ‖ BLAKE2b-512) or 64-hex raw Ed25519 key.
    public_key: String,
    /// 128-hex Ed25519 signature over `tessera-register-key:<profileId>:<64-hex raw key>`.
    signature: Option<String>,
}

/// QR redemption by a device.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(super) struct DeviceRequestForm {
    qr_token: String,
    username: String,
    password: String,
    device_name: Option<String>,
    /// `storage` (default), `authenticator` or `storage,authenticator`.
    role: Option<String>,
}

/// A command id.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(super) struct CommandIdForm {
    command_id: String,
}

/// A device identifier.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(super) struct DeviceIdForm {
    device_identifier: String,
}

/// Device metadata.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(super) struct DeviceMetaForm {
    device_identifier: String,
    /// A JSON object, at most 4 KiB.
    meta: String,
}

/// No fields.
#[derive(ToSchema)]
pub(super) struct EmptyForm {}

// ---- replies -----------------------------------------------------------------------------

/// `["<commandId>"]`; the id is also in the `X-DPT-CAB-ID` header.
#[derive(Serialize, ToSchema)]
pub(super) struct CommandAccepted(Vec<String>);

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(super) struct TokenReply {
    authorization_token: String,
    /// RFC 3339, UTC, seconds.
    expires_at: String,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(super) struct ProfileReply {
    profile_id: String,
    /// `user` or `device`.
    profile_type: String,
    /// `incomplete`, `pending`, `active`, `rejected`.
    state: String,
    username: String,
    /// Devices only.
    owner_profile_id: Option<String>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(super) struct QrReply {
    qr_token: String,
    expires_at: String,
    /// `tessera://onboard?token=…&server=…`
    uri: String,
    /// Hex Ed25519 signature of `uri` by the server key.
    signature: String,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(super) struct ExpiryReply {
    expires_at: String,
    expires_in: u64,
}

#[derive(ToSchema)]
pub(super) struct KeyPairReply {
    /// 64-hex private seed.
    private: String,
    /// 200-hex public key.
    public: String,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(super) struct PublicKeyReply {
    /// 200-hex Privicore format.
    public_key: String,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(super) struct DeviceIdReply {
    device_identifier: String,
    profile_id: String,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(super) struct DeviceReply {
    device_identifier: String,
    device_name: Option<String>,
    role: Vec<String>,
    state: String,
    meta: Option<serde_json::Value>,
    created_at: String,
}

#[derive(ToSchema)]
pub(super) struct DeviceConfigurationReply {
    #[schema(rename = "device-identifier")]
    device_identifier: String,
    #[schema(rename = "profile-id")]
    profile_id: String,
    #[schema(rename = "owner-profile-id")]
    owner_profile_id: String,
    role: Vec<String>,
    state: String,
    meta: Option<serde_json::Value>,
    /// The server's key, 200-hex.
    #[schema(rename = "cab-public-key")]
    cab_public_key: String,
}

#[derive(ToSchema)]
pub(super) struct HealthReply {
    /// `ok` or `unavailable`.
    status: String,
    storage: String,
    version: String,
}

#[derive(ToSchema)]
pub(super) struct CommandStatusData {
    /// Always `X-DPT-CAB-ID`.
    r#type: String,
    id: String,
    /// 1 pending, 2 succeeded, 3 failed.
    command_status: u8,
    body: String,
    /// Values the command produced, e.g. `deviceIdentifier`.
    result: Option<serde_json::Value>,
}

#[derive(ToSchema)]
pub(super) struct CommandStatusReply {
    data: CommandStatusData,
}
