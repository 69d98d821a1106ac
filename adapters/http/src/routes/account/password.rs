//! Change password: the engine's `change_password`, as `POST /profile/change-password`
//! (the current password checked under the throttle, the new one against the policy;
//! every other token of the profile revoked in the same transaction, this browser's
//! session kept). A refusal about a field is shown beside it, zxcvbn's advice included.

use axum::extract::State;
use axum::response::Response;
use serde::Serialize;

use super::super::super::AppState;
use super::super::super::pages;
use super::super::super::pages::flash::{self, Field, Flash};
use super::super::profile::audit_password_change;
use super::{SignedForm, SignedIn, done, refused};

const PASSWORD: &str = "/account/password";

#[derive(Debug, Serialize)]
struct PasswordPage<'a> {
    min_length: usize,
    current_problem: Option<&'a Flash>,
    new_problem: Option<&'a Flash>,
}

/// `GET /account/password`.
pub(super) async fn page(State(s): State<AppState>, who: SignedIn) -> Response {
    let about = |field| who.flash.as_ref().filter(|f| f.field == Some(field));
    let page = PasswordPage {
        min_length: s.engine.config().password_policy.min_len,
        current_problem: about(Field::CurrentPassword),
        new_problem: about(Field::NewPassword),
    };
    who.page("account_password.html", "Change password", page)
}

/// `POST /account/password`: `csrf`, `current_password`, `new_password`,
/// `new_password_repeat`.
pub(super) async fn change(State(s): State<AppState>, f: SignedForm) -> Response {
    let [current, new, repeated] =
        match f.fields(["current_password", "new_password", "new_password_repeat"]) {
            Ok(v) => v,
            Err(res) => return *res,
        };
    if new != repeated {
        return pages::see_other(&flash::problem(PASSWORD, "passwords-differ"), Vec::new());
    }
    let result = s
        .engine
        .change_password(&f.who.principal, current, new)
        .await;
    audit_password_change(&f.who.principal, &result);
    match result {
        Ok(_) => done(PASSWORD, "password-changed"),
        Err(e) => refused(PASSWORD, &e),
    }
}
