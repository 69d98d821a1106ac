//! Interactions: the pending authorization requests of the login and consent pages.
//!
//! An interaction is created when an authorization request needs a page. It holds the
//! checked request, where it stands (login, new password, consent), its CSRF token and the
//! browser binding it was created for, and lives in the engine's memory only: at most
//! [`MAX_INTERACTIONS`] (the oldest is dropped to make room), each until
//! `interaction_ttl_secs` after its creation. Its id is 32 random bytes (base64url): the
//! pages carry it in their forms as the only "return to" value, never a URL.
//!
//! Every form of the pages proves it belongs to its interaction ([`FormProof`]): the CSRF
//! token of the page, and the browser binding cookie (`SameSite=Lax`, so a cross-site POST
//! does not carry it: no login CSRF). Both are compared in constant time.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq as _;
use uuid::Uuid;

use super::answers::PageProblem;
use super::authorize::AuthorizeRequest;
use crate::clock::Timestamp;
use crate::random::{self, Random};
use crate::token::Token;

/// Most interactions kept at once.
pub const MAX_INTERACTIONS: usize = 10_000;

/// Where an interaction stands.
#[derive(Debug, Clone)]
pub(crate) enum Stage {
    /// The login page.
    Login,
    /// The profile signed in with a temporary password: the "choose a new password" page,
    /// with the NEW_PASSWORD_REQUIRED session of [`crate::Engine::login`].
    NewPassword {
        /// The canonical username.
        username: String,
        /// The single-use `tss_` session.
        session: Token,
    },
    /// The consent page, for the profile that signed in (its session's auth time).
    Consent {
        /// Who is asked.
        profile: Uuid,
        /// When it signed in.
        auth_time: Timestamp,
    },
}

/// One pending authorization.
#[derive(Debug, Clone)]
pub(crate) struct Interaction {
    pub(crate) request: AuthorizeRequest,
    pub(crate) stage: Stage,
    csrf: String,
    binding: String,
    expires_at: Timestamp,
    key: (Timestamp, u64),
}

/// What a page needs of its interaction. `Debug` hides the CSRF token.
#[derive(Clone, PartialEq, Eq)]
pub struct InteractionView {
    /// The interaction id (a hidden field of every form).
    pub id: String,
    /// The CSRF token (a hidden field of every form).
    pub csrf: String,
    /// The browser binding the interaction belongs to (the binding cookie's value).
    pub binding: String,
    /// The application's name.
    pub client_name: String,
    /// The requested scopes, in request order.
    pub scopes: Vec<String>,
    /// Where the browser is sent back (for the pages' `form-action`).
    pub redirect_uri: String,
    /// A username to prefill.
    pub login_hint: Option<String>,
    /// Who signed in with a temporary password (the "choose a new password" stage).
    pub username: Option<String>,
    /// When the interaction stops being usable.
    pub expires_at: Timestamp,
}

impl fmt::Debug for InteractionView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InteractionView")
            .field("id", &self.id)
            .field("client_name", &self.client_name)
            .field("scopes", &self.scopes)
            .field("redirect_uri", &self.redirect_uri)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// What a form of the pages sends to prove it belongs to its interaction.
#[derive(Clone, Copy)]
pub struct FormProof<'a> {
    /// The `interaction` field.
    pub interaction: &'a str,
    /// The `csrf` field.
    pub csrf: &'a str,
    /// The browser binding cookie, if the request carried one.
    pub binding: Option<&'a str>,
}

impl fmt::Debug for FormProof<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FormProof")
            .field("interaction", &self.interaction)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct Map {
    by_id: HashMap<String, Interaction>,
    /// (expiry, sequence) → id: the oldest first.
    by_age: BTreeMap<(Timestamp, u64), String>,
    seq: u64,
}

impl Map {
    fn remove(&mut self, id: &str) -> Option<Interaction> {
        let i = self.by_id.remove(id)?;
        self.by_age.remove(&i.key);
        Some(i)
    }

    /// Drop the expired ones, then the oldest until there is room for one more.
    fn make_room(&mut self, now: Timestamp, max: usize) {
        while let Some((&(expires, seq), _)) = self.by_age.first_key_value() {
            if expires > now && self.by_id.len() < max {
                break;
            }
            if let Some(id) = self.by_age.remove(&(expires, seq)) {
                self.by_id.remove(&id);
            }
        }
    }
}

/// The bounded map of interactions.
#[derive(Debug)]
pub(crate) struct Interactions {
    map: Mutex<Map>,
    max: usize,
}

/// A random 32-byte value, base64url (43 characters).
pub(crate) fn random_text(rng: &dyn Random) -> String {
    URL_SAFE_NO_PAD.encode(random::bytes::<32>(rng))
}

/// Whether `text` looks like [`random_text`] output (43 base64url characters).
pub(crate) fn is_random_text(text: &str) -> bool {
    text.len() == 43
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

impl Interactions {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            map: Mutex::new(Map::default()),
            max: max.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Map> {
        // A panic while holding the lock cannot leave the map inconsistent in a way that
        // matters (entries are independent): keep going.
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Start an interaction for `request` in browser `binding`.
    pub(crate) fn create(
        &self,
        request: AuthorizeRequest,
        stage: Stage,
        binding: &str,
        now: Timestamp,
        ttl_secs: u64,
        rng: &dyn Random,
    ) -> InteractionView {
        let id = random_text(rng);
        let expires_at = now.plus_secs(ttl_secs);
        let mut map = self.lock();
        map.make_room(now, self.max);
        map.seq += 1;
        let key = (expires_at, map.seq);
        let i = Interaction {
            request,
            stage,
            csrf: random_text(rng),
            binding: binding.to_owned(),
            expires_at,
            key,
        };
        let view = view(&id, &i);
        map.by_age.insert(key, id.clone());
        map.by_id.insert(id, i);
        view
    }

    /// The live interaction `id` in browser `binding` (no CSRF token: for the GET of a
    /// page).
    pub(crate) fn get(
        &self,
        id: &str,
        binding: Option<&str>,
        now: Timestamp,
    ) -> Result<(Interaction, InteractionView), PageProblem> {
        let mut map = self.lock();
        let i = live(&mut map, id, now)?;
        if !binding.is_some_and(|b| ct_eq(b, &i.binding)) {
            return Err(PageProblem::FormForged);
        }
        Ok((i.clone(), view(id, i)))
    }

    /// The live interaction of a form, if the form's proof matches it.
    pub(crate) fn check(
        &self,
        proof: FormProof<'_>,
        now: Timestamp,
    ) -> Result<(Interaction, InteractionView), PageProblem> {
        let mut map = self.lock();
        let i = live(&mut map, proof.interaction, now)?;
        // Both compared, whatever the first one gives.
        let csrf_ok = ct_eq(proof.csrf, &i.csrf);
        let binding_ok = proof.binding.is_some_and(|b| ct_eq(b, &i.binding));
        if !(csrf_ok & binding_ok) {
            return Err(PageProblem::FormForged);
        }
        Ok((i.clone(), view(proof.interaction, i)))
    }

    /// Interaction `id` as it is, if it exists (for a caller that checked it already).
    pub(crate) fn peek(&self, id: &str) -> Option<(Interaction, InteractionView)> {
        let map = self.lock();
        let i = map.by_id.get(id)?;
        Some((i.clone(), view(id, i)))
    }

    /// Move interaction `id` to `stage`; its view, if it still exists.
    pub(crate) fn set_stage(&self, id: &str, stage: Stage) -> Option<InteractionView> {
        let mut map = self.lock();
        let i = map.by_id.get_mut(id)?;
        i.stage = stage;
        Some(view(id, i))
    }

    /// End interaction `id`. Returns whether it was there (each ends once).
    pub(crate) fn finish(&self, id: &str) -> bool {
        self.lock().remove(id).is_some()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().by_id.len()
    }
}

/// The interaction `id` if it has not expired (an expired one is dropped).
fn live<'m>(map: &'m mut Map, id: &str, now: Timestamp) -> Result<&'m Interaction, PageProblem> {
    let expired = match map.by_id.get(id) {
        None => return Err(PageProblem::InteractionExpired),
        Some(i) => i.expires_at <= now,
    };
    if expired {
        map.remove(id);
        return Err(PageProblem::InteractionExpired);
    }
    map.by_id.get(id).ok_or(PageProblem::InteractionExpired)
}

fn view(id: &str, i: &Interaction) -> InteractionView {
    InteractionView {
        id: id.to_owned(),
        csrf: i.csrf.clone(),
        binding: i.binding.clone(),
        client_name: i.request.client_name.clone(),
        scopes: i.request.scopes.clone(),
        redirect_uri: i.request.redirect_uri.clone(),
        login_hint: i.request.login_hint.clone(),
        username: match &i.stage {
            Stage::NewPassword { username, .. } => Some(username.clone()),
            _ => None,
        },
        expires_at: i.expires_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::oauth::authorize::Prompt;
    use crate::random::OsRandom;

    fn request() -> AuthorizeRequest {
        AuthorizeRequest {
            client_id: Uuid::nil(),
            client_name: "App".into(),
            first_party: false,
            redirect_uri: "https://a.example/cb".into(),
            scopes: vec!["openid".into()],
            state: None,
            code_challenge: None,
            nonce: None,
            prompt: Prompt::default(),
            max_age: None,
            login_hint: None,
            id_token_hint: None,
            issuer: "https://id.example".into(),
        }
    }

    #[test]
    fn proofs_expiry_and_bound() {
        let m = Interactions::new(3);
        let t = Timestamp(1000);
        let v = m.create(request(), Stage::Login, "bind", t, 600, &OsRandom);
        assert!(is_random_text(&v.id) && is_random_text(&v.csrf));
        let proof = |csrf, binding| FormProof {
            interaction: &v.id,
            csrf,
            binding,
        };
        assert!(m.check(proof(&v.csrf, Some("bind")), t).is_ok());
        for (csrf, binding) in [
            ("", Some("bind")),
            ("x", Some("bind")),
            (v.csrf.as_str(), None),
            (v.csrf.as_str(), Some("other")),
        ] {
            assert_eq!(
                m.check(proof(csrf, binding), t).unwrap_err(),
                PageProblem::FormForged
            );
        }
        assert!(m.get(&v.id, Some("bind"), t.plus_secs(599)).is_ok());
        assert_eq!(
            m.get(&v.id, Some("bind"), t.plus_secs(600)).unwrap_err(),
            PageProblem::InteractionExpired
        );
        assert_eq!(m.len(), 0, "an expired one is dropped when met");
        // bounded: the oldest goes
        let ids: Vec<String> = (0..5)
            .map(|i| {
                m.create(request(), Stage::Login, "b", t.plus_secs(i), 600, &OsRandom)
                    .id
            })
            .collect();
        assert_eq!(m.len(), 3);
        assert!(m.get(&ids[0], Some("b"), t).is_err());
        assert!(m.get(&ids[4], Some("b"), t).is_ok());
        assert!(m.finish(&ids[4]) && !m.finish(&ids[4]));
    }
}
