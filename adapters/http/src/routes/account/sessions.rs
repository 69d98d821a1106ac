//! The sessions page: every live token of the profile (kind, started, expires, the
//! application for OAuth tokens), "revoke" for each (named by its opaque handle), and
//! "sign out everywhere" (the API's revoke with scope `all`: every token, this browser's
//! session included), confirmed first.

use axum::extract::State;
use axum::response::Response;
use serde::Serialize;
use tessera_core::engine::account::SessionEntry;
use tessera_core::{RevokeScope, TokenKind};

use super::super::super::AppState;
use super::{Confirm, SignedForm, SignedIn, done, done_signed_out, refused, unavailable, when};

#[derive(Debug, Serialize)]
struct SessionView {
    label: String,
    current: bool,
    handle: String,
    issued_at: String,
    issued_text: String,
    expires_at: String,
    expires_text: String,
}

#[derive(Debug, Serialize)]
struct SessionsPage {
    sessions: Vec<SessionView>,
}

/// What a session is, in words.
fn label(e: &SessionEntry) -> String {
    let app = e.application.as_deref().unwrap_or("An application");
    match e.kind {
        TokenKind::Browser => "Browser session".to_owned(),
        TokenKind::Authorization => "API token".to_owned(),
        TokenKind::Refresh => "Refresh token of an app".to_owned(),
        TokenKind::OAuthAccess => format!("{app}: access token"),
        TokenKind::OAuthRefresh => format!("{app}: refresh token"),
        _ => "Token".to_owned(),
    }
}

/// `GET /account/sessions`.
pub(super) async fn page(State(s): State<AppState>, who: SignedIn) -> Response {
    match s.engine.account_sessions(&who.principal).await {
        Ok(list) => {
            let sessions = list
                .iter()
                .map(|e| SessionView {
                    label: label(e),
                    current: e.current,
                    handle: e.handle.clone(),
                    issued_at: e.issued_at.to_rfc3339(),
                    issued_text: when(e.issued_at),
                    expires_at: e.expires_at.to_rfc3339(),
                    expires_text: when(e.expires_at),
                })
                .collect();
            who.page(
                "account_sessions.html",
                "Sessions",
                SessionsPage { sessions },
            )
        }
        Err(e) => unavailable(&e),
    }
}

/// `POST /account/sessions/revoke`: `csrf`, `session` (a handle of the page).
pub(super) async fn revoke(State(s): State<AppState>, f: SignedForm) -> Response {
    let handle = match f.field("session") {
        Ok(h) => h,
        Err(res) => return *res,
    };
    match s
        .engine
        .account_revoke_session(&f.who.principal, handle)
        .await
    {
        Ok(_) => done("/account/sessions", "session-revoked"),
        Err(e) => refused("/account/sessions", &e),
    }
}

/// `GET /account/sessions/sign-out-everywhere`: the confirmation.
pub(super) async fn confirm_everywhere(who: SignedIn) -> Response {
    who.confirm(
        "Sign out everywhere",
        &Confirm {
            question: "End every session of your profile?".to_owned(),
            consequence: "Every browser, app and application signed in to your profile is signed out at once, this browser too. Apps and devices have to sign in again.",
            action: "/account/sessions/sign-out-everywhere",
            field: None,
            target: String::new(),
            button: "Sign out everywhere",
            cancel: "/account/sessions",
        },
    )
}

/// `POST /account/sessions/sign-out-everywhere`: `csrf`.
pub(super) async fn everywhere(State(s): State<AppState>, f: SignedForm) -> Response {
    match s.engine.revoke(&f.who.principal, RevokeScope::All).await {
        Ok(_) => done_signed_out(&s, "signed-out-everywhere"),
        Err(e) => refused("/account/sessions", &e),
    }
}
