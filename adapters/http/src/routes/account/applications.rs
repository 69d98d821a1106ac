//! Connected applications: the profile's consents (the application, what it may do, since
//! when) and withdrawing one (the engine's `revoke_consent`, as
//! `POST /oauth-application/revoke-consent`: the consent and every token of that
//! application for the profile), confirmed first.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde::Serialize;
use tessera_core::Error;
use uuid::Uuid;

use super::super::super::AppState;
use super::super::super::pages::{self, ScopeLine};
use super::{Confirm, SignedForm, SignedIn, done, query_value, refused, unavailable, when};

const APPLICATIONS: &str = "/account/applications";

#[derive(Debug, Serialize)]
struct ApplicationView {
    client_id: String,
    name: String,
    scopes: Vec<ScopeLine>,
    granted_at: String,
    granted_text: String,
}

#[derive(Debug, Serialize)]
struct ApplicationsPage {
    applications: Vec<ApplicationView>,
}

/// `GET /account/applications`.
pub(super) async fn page(State(s): State<AppState>, who: SignedIn) -> Response {
    match s.engine.consents(&who.principal).await {
        Ok(list) => {
            let applications = list
                .iter()
                .map(|c| ApplicationView {
                    client_id: c.client_id.hyphenated().to_string(),
                    name: c.name.clone(),
                    scopes: pages::scope_lines(&c.scopes),
                    granted_at: c.granted_at.to_rfc3339(),
                    granted_text: when(c.granted_at),
                })
                .collect();
            who.page(
                "account_applications.html",
                "Connected applications",
                ApplicationsPage { applications },
            )
        }
        Err(e) => unavailable(&e),
    }
}

/// `GET /account/applications/revoke?client=…`: the confirmation.
pub(super) async fn confirm(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    who: SignedIn,
) -> Response {
    let wanted = query_value(q.as_deref(), "client").and_then(|t| Uuid::parse_str(&t).ok());
    let list = match s.engine.consents(&who.principal).await {
        Ok(l) => l,
        Err(e) => return unavailable(&e),
    };
    let Some(c) = list.iter().find(|c| Some(c.client_id) == wanted) else {
        return refused(APPLICATIONS, &Error::NotFound);
    };
    who.confirm(
        "Withdraw access",
        &Confirm {
            question: format!("Withdraw the access of “{}”?", c.name),
            consequence: "Its tokens stop working at once. It asks for your permission again the next time you sign in to it.",
            action: "/account/applications/revoke",
            field: Some("client"),
            target: c.client_id.hyphenated().to_string(),
            button: "Withdraw access",
            cancel: APPLICATIONS,
        },
    )
}

/// `POST /account/applications/revoke`: `csrf`, `client`.
pub(super) async fn revoke(State(s): State<AppState>, f: SignedForm) -> Response {
    let client = match f.field("client").map(Uuid::parse_str) {
        Ok(Ok(id)) => id,
        Ok(Err(_)) => return refused(APPLICATIONS, &Error::NotFound),
        Err(res) => return *res,
    };
    match s.engine.revoke_consent(&f.who.principal, client).await {
        Ok(_) => done(APPLICATIONS, "consent-revoked"),
        Err(e) => refused(APPLICATIONS, &e),
    }
}
