//! The decision of an authorization request: login page, consent page, or the redirect
//! with a code (or an error).
//!
//! - A login is needed without a browser session, with `prompt=login`, when the session is
//!   older than `max_age`, or when `id_token_hint` names someone else; with `prompt=none`
//!   that is `login_required` instead of the page.
//! - After the sign-in, consent is needed unless the application is first-party or a
//!   stored consent covers every requested scope, and always with `prompt=consent`; with
//!   `prompt=none` that is `consent_required`. An approval stores the consent (the union
//!   with an earlier one) and issues the code; a denial is `access_denied`.
//! - `retrieve-authorization-code` (a profile that already holds a token): the same checks
//!   of the request, PKCE required, the call itself is the consent.

use uuid::Uuid;

use super::answers::{AuthorizeRefusal, PageProblem};
use super::authorize::{AuthorizeParams, AuthorizeRequest};
use super::browser::FrontError;
use super::interactions::{self, FormProof, InteractionView, Stage};
use super::{ClientRedirect, OAuthError, OAuthErrorCode};
use crate::Engine;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::principal::Principal;
use crate::profile::ProfileKind;
use crate::store::ConsentRecord;
use crate::token::Token;

/// The browser's cookies, as the request carried them.
#[derive(Clone, Copy, Default)]
pub struct BrowserContext<'a> {
    /// The session cookie (`tsb_…`).
    pub session: Option<&'a str>,
    /// The binding cookie.
    pub binding: Option<&'a str>,
}

impl std::fmt::Debug for BrowserContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserContext")
            .field("session", &self.session.map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// What to do with an authorization request, or after a step of its pages.
#[derive(Debug)]
pub enum AuthorizeStep {
    /// Send the browser to the client (a code, or an error).
    Redirect(ClientRedirect),
    /// Show the login page.
    Login(InteractionView),
    /// Show the "choose a new password" page.
    NewPassword(InteractionView),
    /// Show the consent page to `username`.
    Consent {
        /// The interaction.
        page: InteractionView,
        /// Who is signed in.
        username: String,
    },
    /// Show an error page.
    Page(PageProblem),
}

/// A code from `retrieve-authorization-code`.
#[derive(Debug)]
pub struct RetrievedCode {
    /// The `tsc_` code (single use).
    pub code: Token,
    /// The request's `state`.
    pub state: Option<String>,
    /// The redirect URI the token request must repeat.
    pub redirect_uri: String,
    /// When the code expires.
    pub expires_at: Timestamp,
}

/// Where the interaction of a step is.
#[derive(Clone, Copy)]
enum Place<'a> {
    /// An interaction that exists (the pages' forms).
    Existing(&'a str),
    /// None yet: create one in this browser binding if a page is needed.
    New(&'a str),
}

fn error(code: OAuthErrorCode, description: &str) -> OAuthError {
    OAuthError::new(code, description)
}

impl Engine {
    /// An authorization request from the browser (`GET`/`POST /oauth2/authorize`): check
    /// it, then decide with the browser's session. `Err` only when the engine failed.
    pub async fn authorize(
        &self,
        params: &AuthorizeParams,
        browser: BrowserContext<'_>,
    ) -> Result<AuthorizeStep> {
        let req = match self.check_authorize(params).await {
            Ok(r) => r,
            Err(AuthorizeRefusal::Page(p)) => return Ok(AuthorizeStep::Page(p)),
            Err(AuthorizeRefusal::Redirect { to, .. }) => return Ok(AuthorizeStep::Redirect(to)),
            Err(AuthorizeRefusal::Failed(e)) => return Err(e),
        };
        let session = match browser.session {
            None => None,
            Some(token) => match self.browser_session(token).await {
                Ok(s) => Some(s),
                Err(Error::Storage(e)) => return Err(Error::Storage(e)),
                Err(_) => None,
            },
        };
        let binding = browser
            .binding
            .filter(|b| interactions::is_random_text(b))
            .map_or_else(|| self.new_browser_binding(), str::to_owned);
        let now = self.clock.now();
        let login_needed = session.is_none_or(|s| {
            req.prompt.login
                || req.max_age.is_some_and(|m| s.auth_time.secs_until(now) > m)
                || req.id_token_hint.is_some_and(|sub| sub != s.profile_id)
        });
        match session {
            Some(s) if !login_needed => {
                self.after_sign_in(Place::New(&binding), req, s.profile_id, s.auth_time)
                    .await
            }
            _ if req.prompt.none => Ok(AuthorizeStep::Redirect(req.error_redirect(&error(
                OAuthErrorCode::LoginRequired,
                "the user must sign in",
            )))),
            _ => {
                let view = self.interactions.create(
                    req,
                    Stage::Login,
                    &binding,
                    now,
                    self.cfg.oauth.interaction_ttl_secs,
                    self.rng.as_ref(),
                );
                Ok(AuthorizeStep::Login(view))
            }
        }
    }

    /// A signed-in profile goes on with `req`: the consent page, or the code.
    pub(super) async fn after_sign_in_at(
        &self,
        id: &str,
        req: AuthorizeRequest,
        profile: Uuid,
        auth_time: Timestamp,
    ) -> Result<AuthorizeStep> {
        self.after_sign_in(Place::Existing(id), req, profile, auth_time)
            .await
    }

    async fn after_sign_in(
        &self,
        place: Place<'_>,
        req: AuthorizeRequest,
        profile: Uuid,
        auth_time: Timestamp,
    ) -> Result<AuthorizeStep> {
        let consent_needed =
            req.prompt.consent || (!req.first_party && !self.consented(profile, &req).await?);
        if consent_needed && req.prompt.none {
            if let Place::Existing(id) = place {
                self.interactions.finish(id);
            }
            return Ok(AuthorizeStep::Redirect(req.error_redirect(&error(
                OAuthErrorCode::ConsentRequired,
                "the user must approve this application",
            ))));
        }
        if consent_needed {
            let stage = Stage::Consent { profile, auth_time };
            let page = match place {
                Place::Existing(id) => match self.interactions.set_stage(id, stage) {
                    Some(v) => v,
                    None => return Ok(AuthorizeStep::Page(PageProblem::InteractionExpired)),
                },
                Place::New(binding) => self.interactions.create(
                    req,
                    stage,
                    binding,
                    self.clock.now(),
                    self.cfg.oauth.interaction_ttl_secs,
                    self.rng.as_ref(),
                ),
            };
            let username = self.profile(profile).await?.username;
            return Ok(AuthorizeStep::Consent { page, username });
        }
        if let Place::Existing(id) = place
            && !self.interactions.finish(id)
        {
            // another request finished it first: one code per interaction
            return Ok(AuthorizeStep::Page(PageProblem::InteractionExpired));
        }
        self.code_redirect(&req, profile, auth_time).await
    }

    /// Whether `profile`'s stored consent to the client covers every requested scope.
    async fn consented(&self, profile: Uuid, req: &AuthorizeRequest) -> Result<bool> {
        let stored = self.store.get_consent(profile, req.client_id).await?;
        Ok(stored.is_some_and(|c| req.scopes.iter().all(|s| c.scopes.contains(s))))
    }

    /// Store the consent to `req`'s scopes (with those consented to before).
    async fn store_consent(&self, profile: Uuid, req: &AuthorizeRequest) -> Result<()> {
        let mut scopes = self
            .store
            .get_consent(profile, req.client_id)
            .await?
            .map(|c| c.scopes)
            .unwrap_or_default();
        for s in &req.scopes {
            if !scopes.contains(s) {
                scopes.push(s.clone());
            }
        }
        let consent = ConsentRecord {
            profile_id: profile,
            client_id: req.client_id,
            scopes,
            granted_at: self.clock.now(),
        };
        match self.store.put_consent(&consent).await {
            Ok(()) => Ok(()),
            Err(crate::store::StoreError::NotFound) => Err(Error::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    async fn code_redirect(
        &self,
        req: &AuthorizeRequest,
        profile: Uuid,
        auth_time: Timestamp,
    ) -> Result<AuthorizeStep> {
        match self.issue_code(profile, &req.code_request(auth_time)).await {
            Ok(code) => Ok(AuthorizeStep::Redirect(
                req.code_redirect(code.code.expose()),
            )),
            // the application (or the profile) was removed meanwhile
            Err(Error::NotFound) => Ok(AuthorizeStep::Redirect(req.error_redirect(&error(
                OAuthErrorCode::AccessDenied,
                "the application or the profile no longer exists",
            )))),
            Err(e) => Err(e),
        }
    }

    /// The page interaction `id` is at (`GET /oauth2/continue`, after a form's 303): the
    /// login page, the "choose a new password" page, or the consent page, shown to the
    /// browser that started it; the consent page only while its session is the one that
    /// signed in.
    pub async fn interaction_page(
        &self,
        id: &str,
        browser: BrowserContext<'_>,
    ) -> Result<AuthorizeStep> {
        let (interaction, page) = match self.interactions.get(id, browser.binding, self.clock.now())
        {
            Ok(found) => found,
            Err(p) => return Ok(AuthorizeStep::Page(p)),
        };
        let profile = match interaction.stage {
            Stage::Login => return Ok(AuthorizeStep::Login(page)),
            Stage::NewPassword { .. } => return Ok(AuthorizeStep::NewPassword(page)),
            Stage::Consent { profile, .. } => profile,
        };
        if !self.same_session(browser.session, profile).await? {
            return Ok(AuthorizeStep::Page(PageProblem::SessionEnded));
        }
        let username = self.profile(profile).await?.username;
        Ok(AuthorizeStep::Consent { page, username })
    }

    /// Whether the session cookie is a live session of `profile`.
    async fn same_session(&self, session: Option<&str>, profile: Uuid) -> Result<bool> {
        let Some(token) = session else {
            return Ok(false);
        };
        match self.browser_session(token).await {
            Ok(s) => Ok(s.profile_id == profile),
            Err(Error::Storage(e)) => Err(Error::Storage(e)),
            Err(_) => Ok(false),
        }
    }

    /// The consent form: `approve` stores the consent and redirects with a code (the
    /// browser session must still be the one that signed in); a denial redirects with
    /// `access_denied`. Each interaction is decided once.
    pub async fn decide_consent(
        &self,
        proof: FormProof<'_>,
        session: Option<&str>,
        approve: bool,
    ) -> Result<ClientRedirect, FrontError> {
        let (interaction, _) = self
            .interactions
            .check(proof, self.clock.now())
            .map_err(FrontError::Page)?;
        let Stage::Consent { profile, auth_time } = interaction.stage else {
            return Err(FrontError::Page(PageProblem::InteractionExpired));
        };
        let req = interaction.request;
        if !approve {
            return self.cancel_interaction(proof);
        }
        if !self.same_session(session, profile).await? {
            return Err(FrontError::Page(PageProblem::SessionEnded));
        }
        if !self.interactions.finish(proof.interaction) {
            return Err(FrontError::Page(PageProblem::InteractionExpired));
        }
        match self.store_consent(profile, &req).await {
            Ok(()) => {}
            Err(Error::NotFound) => {
                return Ok(req.error_redirect(&error(
                    OAuthErrorCode::AccessDenied,
                    "the application no longer exists",
                )));
            }
            Err(e) => return Err(FrontError::Failed(e)),
        }
        match self.code_redirect(&req, profile, auth_time).await? {
            AuthorizeStep::Redirect(r) => Ok(r),
            _ => Err(FrontError::Page(PageProblem::InteractionExpired)),
        }
    }

    /// "Cancel" on the login page, "Deny" on the consent page: end the interaction and
    /// redirect with `access_denied`.
    pub fn cancel_interaction(&self, proof: FormProof<'_>) -> Result<ClientRedirect, FrontError> {
        let (interaction, _) = self
            .interactions
            .check(proof, self.clock.now())
            .map_err(FrontError::Page)?;
        if !self.interactions.finish(proof.interaction) {
            return Err(FrontError::Page(PageProblem::InteractionExpired));
        }
        Ok(interaction.request.error_redirect(&error(
            OAuthErrorCode::AccessDenied,
            "the user denied the request",
        )))
    }

    /// `retrieve-authorization-code`: a code for the token's (active) profile without the
    /// pages; the call is its consent (stored like the consent page's). `params` carries
    /// `client_id`, `redirect_uri`, `scope`, `code_challenge` (S256, required here),
    /// `state`, `nonce`. The request's problems are [`Error::Validation`] naming the
    /// parameter; an unknown application is `NotFound`; a device's token is `Forbidden`
    /// (devices get their tokens with `client_credentials`).
    pub async fn retrieve_authorization_code(
        &self,
        principal: &Principal,
        params: &AuthorizeParams,
    ) -> Result<RetrievedCode> {
        principal.require_active()?;
        // only users sign in; a device gets its tokens with `client_credentials` (its own
        // client). Refused before anything is stored.
        if principal.kind != ProfileKind::User {
            return Err(Error::Forbidden);
        }
        let mut params = params.clone();
        params.response_type = Some("code".to_owned());
        params.prompt = None;
        params.max_age = None;
        params.id_token_hint = None;
        if params.code_challenge.is_none() {
            return Err(Error::validation(
                "code_challenge",
                "code_challenge (S256) is required",
            ));
        }
        let req = match self.check_authorize(&params).await {
            Ok(r) => r,
            Err(AuthorizeRefusal::Page(p)) => return Err(page_problem_error(p)),
            Err(AuthorizeRefusal::Redirect {
                error, parameter, ..
            }) => return Err(Error::validation(parameter, error.description)),
            Err(AuthorizeRefusal::Failed(e)) => return Err(e),
        };
        self.store_consent(principal.profile_id, &req).await?;
        let issued = self
            .issue_code(principal.profile_id, &req.code_request(principal.issued_at))
            .await?;
        Ok(RetrievedCode {
            code: issued.code,
            state: req.state,
            redirect_uri: req.redirect_uri,
            expires_at: issued.expires_at,
        })
    }
}

/// A page problem of `retrieve-authorization-code` as an API error.
fn page_problem_error(p: PageProblem) -> Error {
    match p {
        PageProblem::UnknownClient => Error::NotFound,
        PageProblem::MissingClientId => Error::validation("client_id", "client_id is required"),
        PageProblem::MissingRedirectUri => {
            Error::validation("redirect_uri", "redirect_uri is required")
        }
        PageProblem::UnregisteredRedirectUri => Error::validation(
            "redirect_uri",
            "redirect_uri is not registered for this application",
        ),
        PageProblem::OversizedState => {
            Error::validation("state", "state is longer than 2048 bytes")
        }
        other => Error::validation("request", other.message()),
    }
}
