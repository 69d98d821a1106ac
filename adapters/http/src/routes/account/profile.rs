//! `GET /account`: the signed-in profile (id, type, state, key fingerprint; a device's
//! name, role and owner). An incomplete profile is shown how to register its key; a
//! device sees its own state only. A user also sees the directories it belongs to, with
//! its role in each ([`tessera_core::Engine::directory_claims`], the same call as the OpenID
//! `directories` claim).

use axum::extract::State;
use axum::response::Response;
use serde::Serialize;
use tessera_core::{ProfileKind, ProfileState};

use super::super::super::AppState;
use super::{SignedIn, unavailable};

#[derive(Debug, Serialize)]
struct DirectoryView {
    short_name: String,
    id: String,
    role: &'static str,
}

#[derive(Debug, Serialize)]
struct DeviceView {
    name: String,
    roles: String,
    id: String,
}

#[derive(Debug, Serialize)]
struct ProfileView {
    username: String,
    id: String,
    kind: &'static str,
    state: &'static str,
    fingerprint: Option<String>,
    device: Option<DeviceView>,
    owner: Option<String>,
    note: Option<&'static str>,
    register_key: bool,
}

#[derive(Debug, Serialize)]
struct ProfilePage {
    profile: ProfileView,
    directories: Vec<DirectoryView>,
}

/// What the page says about a profile's state, if anything.
fn note(kind: ProfileKind, state: ProfileState) -> Option<&'static str> {
    match (kind, state) {
        (ProfileKind::User, ProfileState::Incomplete) => {
            Some("Your profile is incomplete: it has no public key yet.")
        }
        (ProfileKind::Device, ProfileState::Incomplete) => {
            Some("This device has no public key yet. Register it; then its owner can approve it.")
        }
        (ProfileKind::Device, ProfileState::Pending) => {
            Some("This device waits for its owner's approval.")
        }
        (ProfileKind::Device, ProfileState::Active) => {
            Some("This device is approved and can be used.")
        }
        (ProfileKind::Device, ProfileState::Rejected) => {
            Some("The owner rejected this device. It cannot be used.")
        }
        _ => None,
    }
}

/// `GET /account`.
pub(super) async fn page(State(s): State<AppState>, who: SignedIn) -> Response {
    let p = &who.profile;
    let directories = match s.engine.directory_claims(p.info.profile_id).await {
        Ok(list) => list
            .into_iter()
            .map(|d| DirectoryView {
                short_name: d.short_name,
                id: d.id.hyphenated().to_string(),
                role: d.role.as_str(),
            })
            .collect(),
        Err(e) => return unavailable(&e),
    };
    let info = &p.info;
    let view = ProfileView {
        username: info.username.clone(),
        id: info.profile_id.hyphenated().to_string(),
        kind: info.kind.as_str(),
        state: info.state.as_str(),
        fingerprint: p.public_key.map(|k| k.fingerprint()),
        device: p.device.as_ref().map(|d| DeviceView {
            name: d.name.clone().unwrap_or_else(|| "(no name)".to_owned()),
            roles: d.roles.names().join(", "),
            id: d.device_id.hyphenated().to_string(),
        }),
        owner: info.owner.map(|o| o.hyphenated().to_string()),
        note: note(info.kind, info.state),
        register_key: info.state == ProfileState::Incomplete,
    };
    let title = if info.kind == ProfileKind::Device {
        "This device"
    } else {
        "Your profile"
    };
    who.page(
        "account_profile.html",
        title,
        ProfilePage {
            profile: view,
            directories,
        },
    )
}
