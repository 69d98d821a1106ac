//! Member routes: directory-created users, member information, passwords, roles, removal
//! and the member listing.

use axum::extract::State;
use serde::Serialize;
use tessera_core::engine::{MemberUpdate, NewDirectoryUser, directories};
use utoipa::ToSchema;
use uuid::Uuid;

use super::super::super::fields::{read, wire_body};
use super::super::super::query::Query;
use super::super::super::reply::{Accepted, CommandAccepted, JsonReply};
use super::super::super::{ApiError, AppState, Authenticated, ErrorBody, Form, accepted};
use super::super::{uuid_field, uuid_path};
use super::{DirectoryProfileReply, limit};

wire_body! {
    /// A user the directory creates.
    struct CreateDirectoryUserForm<'a> from Form {
        /// A UUID.
        directory_id: &'a str = "directoryId",
        /// The username rules.
        username: &'a str = "username",
        /// 1–100 characters.
        #[schema(min_length = 1, max_length = 100)]
        given_name: &'a str = "givenName",
        /// 1–100 characters.
        #[schema(min_length = 1, max_length = 100)]
        family_name: &'a str = "familyName",
        /// The password rules; the user must replace it at its first login
        /// (NEW_PASSWORD_REQUIRED on `/v1/login`).
        temporary_password: &'a str = "temporaryPassword",
    }
}

wire_body! {
    /// Member information; each field given is set (an empty name clears it).
    struct UpdateUserInformationForm<'a> from Form {
        /// A UUID.
        directory_id: &'a str = "directoryId",
        /// The member (a UUID): the caller itself, or (owner, admin) a member.
        profile_id: &'a str = "profileId",
        /// At most 100 characters.
        #[schema(max_length = 100)]
        given_name: Option<&'a str> = "givenName",
        /// At most 100 characters.
        #[schema(max_length = 100)]
        family_name: Option<&'a str> = "familyName",
        /// Member meta: a JSON object, at most 4 KiB.
        #[schema(max_length = 4096)]
        meta: Option<&'a str> = "meta",
    }
}

wire_body! {
    /// A temporary password for a user the directory created.
    struct SetProfilePasswordForm<'a> from Form {
        /// A UUID.
        directory_id: &'a str = "directoryId",
        /// A user this directory created (a UUID).
        profile_id: &'a str = "profileId",
        /// The password rules.
        temporary_password: &'a str = "temporaryPassword",
    }
}

wire_body! {
    /// A member's new role.
    struct ChangeRoleForm<'a> from Form {
        /// A UUID.
        directory_id: &'a str = "directoryId",
        /// The member (a UUID).
        profile_id: &'a str = "profileId",
        /// `admin` or `member`.
        #[schema(value_type = String, pattern = "^(admin|member)$")]
        role: &'a str = "role",
    }
}

wire_body! {
    /// A member of a directory.
    struct MemberForm<'a> from Form {
        /// A UUID.
        directory_id: &'a str = "directoryId",
        /// The member (a UUID).
        profile_id: &'a str = "profileId",
    }
}

wire_body! {
    /// Several members of a directory.
    struct ProfilesInfoForm<'a> from Form {
        /// A UUID.
        directory_id: &'a str = "directoryId",
        /// Member ids (UUIDs): the field repeated, 1–100 times.
        #[schema(min_items = 1, max_items = 100)]
        profile_id: Vec<&'a str> = "profileId",
    }
}

wire_body! {
    /// The query of `retrieve-directory-profile`.
    struct ProfileQuery<'a> from Form {
        directory_id: &'a str = "directoryId",
        profile_id: &'a str = "profileId",
    }
}

wire_body! {
    /// The query of the paged listings.
    struct PageQuery<'a> from Form {
        directory_id: &'a str = "directoryId",
        limit: Option<&'a str> = "limit",
        cursor: Option<&'a str> = "cursor",
    }
}

/// One page of the member listing.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsersPageReply {
    /// The members, in join order.
    users: Vec<DirectoryProfileReply>,
    /// Pass as `cursor` for the next page; `null` on the last.
    next_cursor: Option<String>,
}

/// `POST /directory/create-directory-user` (Privicore "Create Directory User").
#[utoipa::path(post, path = "/directory/create-directory-user", tag = "directory", security(("token" = [])),
    request_body(content = CreateDirectoryUserForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Command: a new user profile, member of the directory, that must choose its own password at first login (NEW_PASSWORD_REQUIRED); its result has profileId", body = CommandAccepted,
            headers(("X-DPT-CAB-ID" = String, description = "command id"))),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "forbidden (the caller's role), profile_incomplete, device_pending, device_rejected", body = ErrorBody),
        (status = 404, description = "not_found: unknown directory, or the caller is not a member", body = ErrorBody),
        (status = 422, description = "invalid_username, username_taken, weak_password, password_too_short, password_too_long (errors.temporaryPassword), validation_failed (directoryId, givenName, familyName)", body = ErrorBody),
        (status = 503, description = "overloaded (Retry-After), storage_unavailable", body = ErrorBody)))]
pub(crate) async fn create_directory_user(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Accepted, ApiError> {
    let f: CreateDirectoryUserForm<'_> = read(&form)?;
    let dir = uuid_field("directoryId", f.directory_id)?;
    let user = NewDirectoryUser {
        username: f.username,
        given_name: f.given_name,
        family_name: f.family_name,
        temporary_password: f.temporary_password,
    };
    let done = s
        .engine
        .create_directory_user(&p, dir, user)
        .await
        .map_err(|e| ApiError::from(e).rename_field("password", "temporaryPassword"))?;
    Ok(accepted(&done))
}

/// `POST /directory/update-user-information` (Privicore "Update user information").
#[utoipa::path(post, path = "/directory/update-user-information", tag = "directory", security(("token" = [])),
    request_body(content = UpdateUserInformationForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Command: the member's information is updated (the member itself; owner, admin for others; an admin not for the owner or other admins)", body = CommandAccepted,
            headers(("X-DPT-CAB-ID" = String, description = "command id"))),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "forbidden (the caller's role, or a member it may not manage), profile_incomplete, device_pending, device_rejected", body = ErrorBody),
        (status = 404, description = "not_found: unknown directory, the caller or profileId is not a member", body = ErrorBody),
        (status = 422, description = "validation_failed (directoryId, profileId, givenName, familyName, meta)", body = ErrorBody)))]
pub(crate) async fn update_user_information(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Accepted, ApiError> {
    let f: UpdateUserInformationForm<'_> = read(&form)?;
    let dir = uuid_field("directoryId", f.directory_id)?;
    let profile = uuid_field("profileId", f.profile_id)?;
    let update = MemberUpdate {
        given_name: f.given_name,
        family_name: f.family_name,
        meta: f.meta,
    };
    Ok(accepted(
        &s.engine
            .update_member_information(&p, dir, profile, update)
            .await?,
    ))
}

/// `POST /directory/set-profile-password` (Privicore "Set profile password").
#[utoipa::path(post, path = "/directory/set-profile-password", tag = "directory", security(("token" = [])),
    request_body(content = SetProfilePasswordForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Command: the temporary password is set and every token of the profile revoked in the same transaction; NEW_PASSWORD_REQUIRED at its next login", body = CommandAccepted,
            headers(("X-DPT-CAB-ID" = String, description = "command id"))),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "forbidden (the caller's role; a member the directory did not create, or one the caller may not manage), profile_incomplete, device_pending, device_rejected", body = ErrorBody),
        (status = 404, description = "not_found: unknown directory, the caller or profileId is not a member", body = ErrorBody),
        (status = 422, description = "weak_password, password_too_short, password_too_long (errors.temporaryPassword), validation_failed (directoryId, profileId)", body = ErrorBody),
        (status = 503, description = "overloaded (Retry-After), storage_unavailable", body = ErrorBody)))]
pub(crate) async fn set_profile_password(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Accepted, ApiError> {
    let f: SetProfilePasswordForm<'_> = read(&form)?;
    let dir = uuid_field("directoryId", f.directory_id)?;
    let profile = uuid_field("profileId", f.profile_id)?;
    let done = s
        .engine
        .set_member_password(&p, dir, profile, f.temporary_password)
        .await
        .map_err(|e| ApiError::from(e).rename_field("password", "temporaryPassword"))?;
    Ok(accepted(&done))
}

/// `GET /directory/retrieve-directory-profile` (Privicore "Retrieve directory profile").
#[utoipa::path(get, path = "/directory/retrieve-directory-profile", tag = "directory", security(("token" = [])),
    params(
        ("directoryId" = String, Query, description = "The directory (a UUID; anything else → 404)"),
        ("profileId" = String, Query, description = "The member (a UUID; anything else → 404)")),
    responses(
        (status = 200, description = "The member's directory profile", body = DirectoryProfileReply),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected, forbidden (devices)", body = ErrorBody),
        (status = 404, description = "not_found: unknown directory, the caller or profileId is not a member", body = ErrorBody),
        (status = 422, description = "validation_failed (directoryId or profileId missing or given twice)", body = ErrorBody)))]
pub(crate) async fn retrieve_directory_profile(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Query(q): Query,
) -> Result<JsonReply<DirectoryProfileReply>, ApiError> {
    let f: ProfileQuery<'_> = read(&q)?;
    let (dir, profile) = (uuid_path(f.directory_id)?, uuid_path(f.profile_id)?);
    let member = s.engine.directory_profile(&p, dir, profile).await?;
    Ok(JsonReply(member.into()))
}

/// `GET /directory/list-directory-users` (Privicore "List directory users").
#[utoipa::path(get, path = "/directory/list-directory-users", tag = "directory", security(("token" = [])),
    params(
        ("directoryId" = String, Query, description = "The directory (a UUID; anything else → 404)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Members per page, 1–500 (default 100)"),
        ("cursor" = Option<String>, Query, description = "The nextCursor of the previous page (opaque; bound to this directory)")),
    responses(
        (status = 200, description = "One page of members, in join order: a walk lists each member who joined before its first page exactly once, however members join and leave meanwhile", body = UsersPageReply),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected, forbidden (devices)", body = ErrorBody),
        (status = 404, description = "not_found: unknown directory, or the caller is not a member", body = ErrorBody),
        (status = 422, description = "validation_failed (directoryId; limit outside 1–500; cursor forged, edited or of another directory)", body = ErrorBody)))]
pub(crate) async fn list_directory_users(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Query(q): Query,
) -> Result<JsonReply<UsersPageReply>, ApiError> {
    let f: PageQuery<'_> = read(&q)?;
    let dir = uuid_path(f.directory_id)?;
    let page = s
        .engine
        .list_directory_members(&p, dir, limit(f.limit)?, f.cursor)
        .await?;
    Ok(JsonReply(UsersPageReply {
        users: page.members.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// `POST /directory/directory-profiles-info` (Privicore "Directory profiles info").
#[utoipa::path(post, path = "/directory/directory-profiles-info", tag = "directory", security(("token" = [])),
    request_body(content = ProfilesInfoForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The directory profiles of the members among profileId (in the order asked, each once; non-members left out)", body = Vec<DirectoryProfileReply>),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected, forbidden (devices)", body = ErrorBody),
        (status = 404, description = "not_found: unknown directory, or the caller is not a member", body = ErrorBody),
        (status = 422, description = "validation_failed (directoryId; profileId missing, not a UUID, more than 100)", body = ErrorBody)))]
pub(crate) async fn directory_profiles_info(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<JsonReply<Vec<DirectoryProfileReply>>, ApiError> {
    let f: ProfilesInfoForm<'_> = read(&form)?;
    let dir = uuid_field("directoryId", f.directory_id)?;
    if f.profile_id.len() > directories::rules::MAX_PROFILES_PER_CALL {
        return Err(ApiError::invalid(
            "profileId",
            "profileId must be given 1-100 times",
        ));
    }
    let ids = f
        .profile_id
        .iter()
        .map(|v| uuid_field("profileId", v))
        .collect::<Result<Vec<Uuid>, ApiError>>()?;
    let members = s.engine.directory_profiles(&p, dir, &ids).await?;
    Ok(JsonReply(members.into_iter().map(Into::into).collect()))
}

/// `POST /directory/change-role` (ours).
#[utoipa::path(post, path = "/directory/change-role", tag = "directory", security(("token" = [])),
    request_body(content = ChangeRoleForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Command: the member has the role (owner, admin; an admin changes only plain members and itself)", body = CommandAccepted,
            headers(("X-DPT-CAB-ID" = String, description = "command id"))),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "forbidden (the caller's role, or a member it may not manage), profile_incomplete, device_pending, device_rejected", body = ErrorBody),
        (status = 404, description = "not_found: unknown directory, the caller or profileId is not a member", body = ErrorBody),
        (status = 422, description = "validation_failed (directoryId; profileId is the owner: never demoted; role not admin or member)", body = ErrorBody)))]
pub(crate) async fn change_role(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Accepted, ApiError> {
    let f: ChangeRoleForm<'_> = read(&form)?;
    let dir = uuid_field("directoryId", f.directory_id)?;
    let profile = uuid_field("profileId", f.profile_id)?;
    let role = directories::parse_granted_role(f.role)?;
    Ok(accepted(
        &s.engine.change_member_role(&p, dir, profile, role).await?,
    ))
}

/// `POST /directory/remove-member` (ours).
#[utoipa::path(post, path = "/directory/remove-member", tag = "directory", security(("token" = [])),
    request_body(content = MemberForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Command: the membership is removed, nothing else of the profile (owner, admin; an admin only plain members; any member itself)", body = CommandAccepted,
            headers(("X-DPT-CAB-ID" = String, description = "command id"))),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "forbidden (the caller's role, or a member it may not manage), profile_incomplete, device_pending, device_rejected", body = ErrorBody),
        (status = 404, description = "not_found: unknown directory, the caller or profileId is not a member", body = ErrorBody),
        (status = 422, description = "validation_failed (directoryId; profileId is the owner: never removed)", body = ErrorBody)))]
pub(crate) async fn remove_member(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Accepted, ApiError> {
    let f: MemberForm<'_> = read(&form)?;
    let dir = uuid_field("directoryId", f.directory_id)?;
    let profile = uuid_field("profileId", f.profile_id)?;
    Ok(accepted(&s.engine.remove_member(&p, dir, profile).await?))
}
