//! The devices page: the profile's devices (name, role, state) with approve, reject and
//! remove, the engine calls of the device routes. Reject and remove cannot be undone:
//! their button leads to a confirmation page whose form does it.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde::Serialize;
use tessera_core::{Device, Error};
use uuid::Uuid;

use super::super::super::AppState;
use super::{Confirm, SignedForm, SignedIn, done, query_value, refused, unavailable, when};

const DEVICES: &str = "/account/devices";

#[derive(Debug, Serialize)]
struct DeviceView {
    id: String,
    name: String,
    roles: String,
    state: &'static str,
    created_at: String,
    created_text: String,
}

#[derive(Debug, Serialize)]
struct DevicesPage {
    devices: Vec<DeviceView>,
}

fn name(d: &Device) -> String {
    d.name
        .clone()
        .unwrap_or_else(|| "Unnamed device".to_owned())
}

/// `GET /account/devices`.
pub(super) async fn page(State(s): State<AppState>, who: SignedIn) -> Response {
    match s.engine.list_devices(&who.principal).await {
        Ok(list) => {
            let devices = list
                .iter()
                .map(|d| DeviceView {
                    id: d.device_id.hyphenated().to_string(),
                    name: name(d),
                    roles: d.roles.names().join(", "),
                    state: d.state.as_str(),
                    created_at: d.created_at.to_rfc3339(),
                    created_text: when(d.created_at),
                })
                .collect();
            who.page("account_devices.html", "Devices", DevicesPage { devices })
        }
        Err(e) => unavailable(&e),
    }
}

/// The device a form's `device` field names (not a UUID: `NotFound`, like an unknown one).
fn device_field(f: &SignedForm) -> Result<Uuid, Box<Response>> {
    let text = f.field("device")?;
    Uuid::parse_str(text).map_err(|_| Box::new(refused(DEVICES, &Error::NotFound)))
}

/// What a device form changes.
#[derive(Debug, Clone, Copy)]
enum Change {
    Approve,
    Reject,
    Remove,
}

/// The device form `f` doing `c`: the engine call of the device route, 303 to the devices
/// page with its outcome.
async fn change(s: &AppState, f: &SignedForm, c: Change) -> Response {
    let id = match device_field(f) {
        Ok(id) => id,
        Err(res) => return *res,
    };
    let p = &f.who.principal;
    let (result, key) = match c {
        Change::Approve => (s.engine.approve_device(p, id).await, "device-approved"),
        Change::Reject => (s.engine.reject_device(p, id).await, "device-rejected"),
        Change::Remove => (s.engine.remove_device(p, id).await, "device-removed"),
    };
    match result {
        Ok(_) => done(DEVICES, key),
        Err(e) => refused(DEVICES, &e),
    }
}

/// `POST /account/devices/approve`: `csrf`, `device` (a pending device's identifier).
pub(super) async fn approve(State(s): State<AppState>, f: SignedForm) -> Response {
    change(&s, &f, Change::Approve).await
}

/// What the confirmation of `action` on device `?device=` asks.
async fn confirm(s: &AppState, who: &SignedIn, query: Option<&str>, reject: bool) -> Response {
    let wanted = query_value(query, "device").and_then(|t| Uuid::parse_str(&t).ok());
    let list = match s.engine.list_devices(&who.principal).await {
        Ok(l) => l,
        Err(e) => return unavailable(&e),
    };
    let Some(d) = list.iter().find(|d| Some(d.device_id) == wanted) else {
        return refused(DEVICES, &Error::NotFound);
    };
    let (title, question, consequence, action, button) = if reject {
        (
            "Reject a device",
            format!("Reject the device “{}”?", name(d)),
            "Its tokens stop working at once and it cannot be approved later. It can still sign in to see that it was rejected.",
            "/account/devices/reject",
            "Reject device",
        )
    } else {
        (
            "Remove a device",
            format!("Remove the device “{}”?", name(d)),
            "Its tokens stop working at once, it can no longer sign in, and this cannot be undone. To use it again, add it as a new device.",
            "/account/devices/remove",
            "Remove device",
        )
    };
    who.confirm(
        title,
        &Confirm {
            question,
            consequence,
            action,
            field: Some("device"),
            target: d.device_id.hyphenated().to_string(),
            button,
            cancel: DEVICES,
        },
    )
}

/// `GET /account/devices/reject?device=…`: the confirmation.
pub(super) async fn confirm_reject(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    who: SignedIn,
) -> Response {
    confirm(&s, &who, q.as_deref(), true).await
}

/// `GET /account/devices/remove?device=…`: the confirmation.
pub(super) async fn confirm_remove(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    who: SignedIn,
) -> Response {
    confirm(&s, &who, q.as_deref(), false).await
}

/// `POST /account/devices/reject`: `csrf`, `device`.
pub(super) async fn reject(State(s): State<AppState>, f: SignedForm) -> Response {
    change(&s, &f, Change::Reject).await
}

/// `POST /account/devices/remove`: `csrf`, `device`.
pub(super) async fn remove(State(s): State<AppState>, f: SignedForm) -> Response {
    change(&s, &f, Change::Remove).await
}
