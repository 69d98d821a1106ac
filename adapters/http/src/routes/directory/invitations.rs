//! Invitation routes: invite by username, list pending invitations, accept or decline.

use axum::extract::State;
use serde::Serialize;
use tessera_core::engine::{Invitation, InvitationDecision, directories};
use utoipa::ToSchema;

use super::super::super::fields::{read, wire_body};
use super::super::super::query::Query;
use super::super::super::reply::{Accepted, CommandAccepted, JsonReply};
use super::super::super::{ApiError, AppState, Authenticated, ErrorBody, Form, accepted};
use super::super::{uuid_field, uuid_path};

wire_body! {
    /// An invitation to send.
    struct InviteProfileForm<'a> from Form {
        /// A UUID.
        directory_id: &'a str = "directoryId",
        /// The invitee's username (the same answer whether or not it exists).
        username: &'a str = "username",
        /// `member` (default) or `admin`.
        #[schema(value_type = Option<String>, pattern = "^(admin|member)$")]
        role: Option<&'a str> = "role",
    }
}

wire_body! {
    /// The invitee's decision.
    struct ProcessInvitationForm<'a> from Form {
        /// A UUID.
        invitation_id: &'a str = "invitationId",
        /// `accept` or `decline`.
        #[schema(value_type = String, pattern = "^(accept|decline)$")]
        decision: &'a str = "decision",
    }
}

wire_body! {
    /// The query of `list-directory-invites`.
    struct InvitesQuery<'a> from Form {
        directory_id: Option<&'a str> = "directoryId",
    }
}

/// A pending invitation.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InvitationReply {
    invitation_id: String,
    directory_id: String,
    directory_name: String,
    directory_short_name: String,
    /// The canonical username invited.
    username: String,
    /// The role it grants: `admin` or `member`.
    #[schema(pattern = "^(admin|member)$")]
    role: &'static str,
    /// The profile that sent it.
    invited_by: String,
    created_at: String,
    /// 7 days after `createdAt`.
    expires_at: String,
}

impl From<Invitation> for InvitationReply {
    fn from(i: Invitation) -> Self {
        Self {
            invitation_id: i.id.hyphenated().to_string(),
            directory_id: i.directory_id.hyphenated().to_string(),
            directory_name: i.directory_name,
            directory_short_name: i.directory_short_name,
            username: i.username,
            role: i.role.as_str(),
            invited_by: i.invited_by.hyphenated().to_string(),
            created_at: i.created_at.to_rfc3339(),
            expires_at: i.expires_at.to_rfc3339(),
        }
    }
}

/// `POST /directory/invite-profile` (Privicore "Invite Profile").
#[utoipa::path(post, path = "/directory/invite-profile", tag = "directory", security(("token" = [])),
    request_body(content = InviteProfileForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Command: the invitation is sent (the same answer whether or not the username exists); its result has invitationId; it expires after 7 days", body = CommandAccepted,
            headers(("X-DPT-CAB-ID" = String, description = "command id"))),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "forbidden (the caller's role), profile_incomplete, device_pending, device_rejected", body = ErrorBody),
        (status = 404, description = "not_found: unknown directory, or the caller is not a member", body = ErrorBody),
        (status = 422, description = "invalid_username, validation_failed (directoryId; role; username already a member; directoryId when the directory has the most pending invitations allowed)", body = ErrorBody)))]
pub(crate) async fn invite_profile(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Accepted, ApiError> {
    let f: InviteProfileForm<'_> = read(&form)?;
    let dir = uuid_field("directoryId", f.directory_id)?;
    let role = f.role.map(directories::parse_granted_role).transpose()?;
    Ok(accepted(
        &s.engine.invite_profile(&p, dir, f.username, role).await?,
    ))
}

/// `GET /directory/list-directory-invites` (Privicore "List Directory Invites").
#[utoipa::path(get, path = "/directory/list-directory-invites", tag = "directory", security(("token" = [])),
    params(("directoryId" = Option<String>, Query, description = "Without it: the caller's pending invitations. With it (owner, admin): the directory's pending invitations (a UUID; anything else → 404)")),
    responses(
        (status = 200, description = "Pending invitations, oldest first", body = Vec<InvitationReply>),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "forbidden (the caller's role, with directoryId), profile_incomplete, device_pending, device_rejected", body = ErrorBody),
        (status = 404, description = "not_found: unknown directory, or the caller is not a member", body = ErrorBody),
        (status = 422, description = "validation_failed (directoryId given twice)", body = ErrorBody)))]
pub(crate) async fn list_directory_invites(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    Query(q): Query,
) -> Result<JsonReply<Vec<InvitationReply>>, ApiError> {
    let f: InvitesQuery<'_> = read(&q)?;
    let invitations = match f.directory_id {
        None => s.engine.my_invitations(&p).await?,
        Some(dir) => s.engine.directory_invitations(&p, uuid_path(dir)?).await?,
    };
    Ok(JsonReply(invitations.into_iter().map(Into::into).collect()))
}

/// `POST /directory/process-invitation` (Privicore "Process Invitation").
#[utoipa::path(post, path = "/directory/process-invitation", tag = "directory", security(("token" = [])),
    request_body(content = ProcessInvitationForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Command: accepted (the caller is now a member) or declined; an invitation is used once", body = CommandAccepted,
            headers(("X-DPT-CAB-ID" = String, description = "command id"))),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected, forbidden (devices)", body = ErrorBody),
        (status = 404, description = "not_found: unknown, used, expired, or another profile's invitation", body = ErrorBody),
        (status = 422, description = "validation_failed (invitationId: not a UUID, already a member, the most memberships allowed; decision not accept or decline)", body = ErrorBody)))]
pub(crate) async fn process_invitation(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Accepted, ApiError> {
    let f: ProcessInvitationForm<'_> = read(&form)?;
    let id = uuid_field("invitationId", f.invitation_id)?;
    let decision = InvitationDecision::parse(f.decision)?;
    Ok(accepted(
        &s.engine.process_invitation(&p, id, decision).await?,
    ))
}
