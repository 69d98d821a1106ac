//! Directory routes (API.md "Directories", Privicore "Directory"): form bodies and query
//! strings read strictly, one engine call each. The role guards and the 404 of non-members
//! are the engine's. This file: the router, the shared replies, and the directory itself
//! (register, read, meta, removal); members, invitations and devices in `directory/`.

pub(crate) mod devices;
pub(crate) mod invitations;
pub(crate) mod members;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::Value;
use tessera_core::engine::{Directory, DirectoryProfile};
use utoipa::ToSchema;

use super::super::fields::{read, wire_body};
use super::super::reply::{Accepted, CommandAccepted, JsonReply};
use super::super::{ApiError, AppState, Authenticated, ErrorBody, Form, accepted};
use super::{uuid_field, uuid_path};
use crate::routes::Routes;

use devices::{create_profile_device, list_directory_devices};
use invitations::{invite_profile, list_directory_invites, process_invitation};
use members::{
    change_role, create_directory_user, directory_profiles_info, list_directory_users,
    remove_member, retrieve_directory_profile, set_profile_password, update_user_information,
};

pub(crate) fn routes() -> Routes {
    Routes::new()
        .route("/directory/register-directory", post(register_directory))
        .route(
            "/directory/retrieve-owned-directories",
            get(retrieve_owned_directories),
        )
        .route(
            "/directory/retrieve-assigned-directories",
            get(retrieve_assigned_directories),
        )
        .route(
            "/directory/retrieve-directory/{directoryId}",
            get(retrieve_directory),
        )
        .route(
            "/directory/store-directory-meta",
            post(store_directory_meta),
        )
        .route("/directory/remove-directory", post(remove_directory))
        .route(
            "/directory/create-directory-user",
            post(create_directory_user),
        )
        .route(
            "/directory/update-user-information",
            post(update_user_information),
        )
        .route(
            "/directory/set-profile-password",
            post(set_profile_password),
        )
        .route(
            "/directory/retrieve-directory-profile",
            get(retrieve_directory_profile),
        )
        .route("/directory/list-directory-users", get(list_directory_users))
        .route(
            "/directory/directory-profiles-info",
            post(directory_profiles_info),
        )
        .route("/directory/change-role", post(change_role))
        .route("/directory/remove-member", post(remove_member))
        .route("/directory/invite-profile", post(invite_profile))
        .route(
            "/directory/list-directory-invites",
            get(list_directory_invites),
        )
        .route("/directory/process-invitation", post(process_invitation))
        .route(
            "/directory/create-profile-device",
            post(create_profile_device),
        )
        .route(
            "/directory/list-directory-devices",
            get(list_directory_devices),
        )
}

// ---- shared replies and field readers ------------------------------------------------------

/// A directory, as the caller sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DirectoryReply {
    directory_id: String,
    /// 1–100 characters.
    directory_name: String,
    /// Canonical: 2–32 of `a-z 0-9 -`.
    directory_short_name: String,
    owner_profile_id: String,
    /// The caller's role: `owner`, `admin` or `member`.
    #[schema(pattern = "^(owner|admin|member)$")]
    role: &'static str,
    /// The directory meta object (`null` when unset).
    #[schema(value_type = Option<Object>)]
    meta: Option<Value>,
    created_at: String,
}

impl From<Directory> for DirectoryReply {
    fn from(d: Directory) -> Self {
        Self {
            directory_id: d.id.hyphenated().to_string(),
            directory_name: d.name,
            directory_short_name: d.short_name,
            owner_profile_id: d.owner.hyphenated().to_string(),
            role: d.role.as_str(),
            meta: meta_value(d.meta.as_deref()),
            created_at: d.created_at.to_rfc3339(),
        }
    }
}

/// A member, as its directory shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DirectoryProfileReply {
    profile_id: String,
    username: String,
    given_name: Option<String>,
    family_name: Option<String>,
    /// `owner`, `admin` or `member`.
    #[schema(pattern = "^(owner|admin|member)$")]
    role: &'static str,
    /// The profile's state: `incomplete`, `active` …
    state: &'static str,
    /// The member meta object (`null` when unset).
    #[schema(value_type = Option<Object>)]
    meta: Option<Value>,
    joined_at: String,
}

impl From<DirectoryProfile> for DirectoryProfileReply {
    fn from(p: DirectoryProfile) -> Self {
        Self {
            profile_id: p.profile_id.hyphenated().to_string(),
            username: p.username,
            given_name: p.given_name,
            family_name: p.family_name,
            role: p.role.as_str(),
            state: p.state.as_str(),
            meta: meta_value(p.meta.as_deref()),
            joined_at: p.joined_at.to_rfc3339(),
        }
    }
}

/// Stored meta text as a JSON value (`None`, serialized `null`, when unset).
fn meta_value(meta: Option<&str>) -> Option<Value> {
    meta.and_then(|m| serde_json::from_str(m).ok())
}

/// A page size from a query: digits only (the engine checks 1–500).
fn limit(value: Option<&str>) -> Result<Option<usize>, ApiError> {
    value
        .map(|v| {
            v.parse::<usize>()
                .ok()
                .filter(|_| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| ApiError::invalid("limit", "limit must be a number, 1-500"))
        })
        .transpose()
}

// ---- request bodies ------------------------------------------------------------------------

wire_body! {
    /// A new directory.
    struct RegisterDirectoryForm<'a> from Form {
        /// 1–100 characters, no control characters.
        #[schema(min_length = 1, max_length = 100)]
        directory_name: &'a str = "directoryName",
        /// 2–32 of `a-z 0-9 -` after NFKC and lowercasing, starting and ending with a letter
        /// or digit; unique on the server.
        #[schema(min_length = 2, max_length = 32)]
        directory_short_name: &'a str = "directoryShortName",
    }
}

wire_body! {
    /// A directory.
    struct DirectoryIdForm<'a> from Form {
        /// A UUID.
        directory_id: &'a str = "directoryId",
    }
}

wire_body! {
    /// Directory meta.
    struct DirectoryMetaForm<'a> from Form {
        /// A UUID.
        directory_id: &'a str = "directoryId",
        /// A JSON object, at most 4 KiB.
        #[schema(max_length = 4096)]
        meta: &'a str = "meta",
    }
}

// ---- handlers ------------------------------------------------------------------------------

/// `POST /directory/register-directory` (Privicore "Register Directory").
#[utoipa::path(post, path = "/directory/register-directory", tag = "directory", security(("token" = [])),
    request_body(content = RegisterDirectoryForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Command: the directory is registered, the caller its owner; its result has directoryId", body = CommandAccepted,
            headers(("X-DPT-CAB-ID" = String, description = "command id"))),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected, forbidden (devices)", body = ErrorBody),
        (status = 422, description = "validation_failed (directoryName; directoryShortName: rules or taken; directoryName when the caller owns the most directories allowed)", body = ErrorBody)))]
pub(crate) async fn register_directory(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Accepted, ApiError> {
    let f: RegisterDirectoryForm<'_> = read(&form)?;
    let done = s
        .engine
        .register_directory(&p, f.directory_name, f.directory_short_name)
        .await?;
    Ok(accepted(&done))
}

/// `GET /directory/retrieve-owned-directories` (Privicore "Retrieve owned Directories").
#[utoipa::path(get, path = "/directory/retrieve-owned-directories", tag = "directory", security(("token" = [])),
    responses(
        (status = 200, description = "The directories the caller owns", body = Vec<DirectoryReply>),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected, forbidden (devices)", body = ErrorBody)))]
pub(crate) async fn retrieve_owned_directories(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
) -> Result<JsonReply<Vec<DirectoryReply>>, ApiError> {
    let dirs = s.engine.owned_directories(&p).await?;
    Ok(JsonReply(
        dirs.into_iter().map(DirectoryReply::from).collect(),
    ))
}

/// `GET /directory/retrieve-assigned-directories` (Privicore "Retrieve assigned
/// directories").
#[utoipa::path(get, path = "/directory/retrieve-assigned-directories", tag = "directory", security(("token" = [])),
    responses(
        (status = 200, description = "The directories where the caller is admin or member", body = Vec<DirectoryReply>),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected, forbidden (devices)", body = ErrorBody)))]
pub(crate) async fn retrieve_assigned_directories(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
) -> Result<JsonReply<Vec<DirectoryReply>>, ApiError> {
    let dirs = s.engine.assigned_directories(&p).await?;
    Ok(JsonReply(
        dirs.into_iter().map(DirectoryReply::from).collect(),
    ))
}

/// `GET /directory/retrieve-directory/{directoryId}` (Privicore "Retrieve Directory").
#[utoipa::path(get, path = "/directory/retrieve-directory/{directoryId}", tag = "directory", security(("token" = [])),
    params(("directoryId" = String, Path, description = "The directory (a UUID; anything else → 404)")),
    responses(
        (status = 200, description = "The directory, with the caller's role", body = DirectoryReply),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected, forbidden (devices)", body = ErrorBody),
        (status = 404, description = "not_found: unknown directory, or the caller is not a member", body = ErrorBody)))]
pub(crate) async fn retrieve_directory(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Path(id): Path<String>,
) -> Result<JsonReply<DirectoryReply>, ApiError> {
    let d = s.engine.directory(&p, uuid_path(&id)?).await?;
    Ok(JsonReply(d.into()))
}

/// `POST /directory/store-directory-meta` (Privicore "Store directory meta information").
#[utoipa::path(post, path = "/directory/store-directory-meta", tag = "directory", security(("token" = [])),
    request_body(content = DirectoryMetaForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Command: the directory meta is stored (owner, admin)", body = CommandAccepted,
            headers(("X-DPT-CAB-ID" = String, description = "command id"))),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "forbidden (the caller's role), profile_incomplete, device_pending, device_rejected", body = ErrorBody),
        (status = 404, description = "not_found: unknown directory, or the caller is not a member", body = ErrorBody),
        (status = 422, description = "validation_failed (directoryId; meta: not a JSON object, over 4 KiB)", body = ErrorBody)))]
pub(crate) async fn store_directory_meta(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Accepted, ApiError> {
    let f: DirectoryMetaForm<'_> = read(&form)?;
    let dir = uuid_field("directoryId", f.directory_id)?;
    Ok(accepted(
        &s.engine.store_directory_meta(&p, dir, f.meta).await?,
    ))
}

/// `POST /directory/remove-directory` (ours): the directory with its memberships and
/// invitations, in one transaction; no profile changes.
#[utoipa::path(post, path = "/directory/remove-directory", tag = "directory", security(("token" = [])),
    request_body(content = DirectoryIdForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Command: the directory, its memberships and its invitations are removed (owner only)", body = CommandAccepted,
            headers(("X-DPT-CAB-ID" = String, description = "command id"))),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "forbidden (not the owner), profile_incomplete, device_pending, device_rejected", body = ErrorBody),
        (status = 404, description = "not_found: unknown directory, or the caller is not a member", body = ErrorBody),
        (status = 422, description = "validation_failed (directoryId)", body = ErrorBody)))]
pub(crate) async fn remove_directory(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Accepted, ApiError> {
    let f: DirectoryIdForm<'_> = read(&form)?;
    let dir = uuid_field("directoryId", f.directory_id)?;
    Ok(accepted(&s.engine.remove_directory(&p, dir).await?))
}
