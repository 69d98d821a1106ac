//! Fuzz body `directory_form`: the form bodies and query strings of every directory route,
//! through the real router on a memory store with an owner, a member, a directory of theirs
//! (made fresh for each input, and removed after it) and an invitation.
//!
//! Input layout: byte 0 picks the route; byte 1 is a set of flags (bit 0 puts the
//! directory's `directoryId` in front of the fuzzed fields, bit 1 the member's `profileId`,
//! bit 2 a valid `cursor` of the directory, bit 3 sends the member's token instead of the
//! owner's, bit 4 no token at all; the last two routes are the invitee's); the rest is the query string, the form body, or (for
//! `retrieve-directory/{directoryId}`) the path segment. In it `$DIR`, `$MEMBER`, `$ME`,
//! `$INV` and `$CURSOR` become the directory id, the member's and the caller's profile ids,
//! the invitation id and a valid cursor.
//!
//! Properties: no panic; never a 5xx; every status is one the OpenAPI document declares for
//! the route (or a framework answer: 400, 405, 413, 415), every error has the one error
//! body (`status`, `error`, `errors` exactly on a 422).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::http::{Method, Request};
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;
use tessera_core::engine::InvitationDecision;
use tessera_core::principal::Principal;
use tessera_core::store::DirectoryRole;
use uuid::Uuid;

use crate::app::{FORM, TestApp};

/// Bytes kept as they are in a fuzzed query: everything a query may hold but `#`.
const QUERY: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'\\')
    .add(b'^')
    .add(b'[')
    .add(b']');

/// The routes byte 0 picks from: method, path (as documented), whether the input is the
/// query string.
const ROUTES: [(&str, &str, bool); 21] = [
    ("POST", "/directory/register-directory", false),
    ("GET", "/directory/retrieve-owned-directories", true),
    ("GET", "/directory/retrieve-assigned-directories", true),
    ("GET", "/directory/retrieve-directory/{directoryId}", true),
    ("POST", "/directory/store-directory-meta", false),
    ("POST", "/directory/remove-directory", false),
    ("POST", "/directory/create-directory-user", false),
    ("POST", "/directory/update-user-information", false),
    ("POST", "/directory/set-profile-password", false),
    ("GET", "/directory/retrieve-directory-profile", true),
    ("GET", "/directory/list-directory-users", true),
    ("POST", "/directory/directory-profiles-info", false),
    ("POST", "/directory/change-role", false),
    ("POST", "/directory/remove-member", false),
    ("POST", "/directory/invite-profile", false),
    ("GET", "/directory/list-directory-invites", true),
    ("POST", "/directory/process-invitation", false),
    ("POST", "/directory/create-profile-device", false),
    ("GET", "/directory/list-directory-devices", true),
    // the invitee's own view of two of them
    ("GET", "/directory/list-directory-invites", true),
    ("POST", "/directory/process-invitation", false),
];

/// Statuses any route may answer before its handler runs.
const FRAMEWORK: [u16; 4] = [400, 405, 413, 415];

struct Fixture {
    app: TestApp,
    owner: (Principal, String),
    member: (Principal, String),
    invitee: (Principal, String),
    /// Every documented response, by path and lowercase method.
    doc: Value,
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    })
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        runtime().block_on(async {
            let app = TestApp::new();
            let mut users = Vec::new();
            for name in ["fuzz-owner", "fuzz-member", "fuzz-invitee"] {
                let u = app.active_user(name).await;
                let p = app.engine.verify(&u.token).await.expect("verify");
                users.push((p, u.token));
            }
            let invitee = users.pop().expect("invitee");
            let member = users.pop().expect("member");
            let owner = users.pop().expect("owner");
            let doc = serde_json::to_value(tessera_http::openapi::document()).expect("document");
            Fixture {
                app,
                owner,
                member,
                invitee,
                doc,
            }
        })
    })
}

/// A fresh directory of the owner with the member in it, an invitation for the invitee,
/// and a valid cursor of its listing.
async fn directory(f: &Fixture) -> (Uuid, Uuid, String) {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let e = &f.app.engine;
    let dir = e
        .register_directory(&f.owner.0, "Fuzz", &format!("fuzz-{n}"))
        .await
        .expect("directory")
        .value;
    let to_member = e
        .invite_profile(&f.owner.0, dir, "fuzz-member", Some(DirectoryRole::Admin))
        .await
        .expect("invite")
        .value;
    e.process_invitation(&f.member.0, to_member, InvitationDecision::Accept)
        .await
        .expect("accept");
    let inv = e
        .invite_profile(&f.owner.0, dir, "fuzz-invitee", None)
        .await
        .expect("invite")
        .value;
    let cursor = e
        .list_directory_members(&f.owner.0, dir, Some(1), None)
        .await
        .expect("listing")
        .next_cursor
        .expect("two members, pages of one");
    (dir, inv, cursor)
}

fn replace(hay: &[u8], pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    'outer: while i < hay.len() {
        for (needle, with) in pairs {
            if hay[i..].starts_with(needle.as_bytes()) {
                out.extend_from_slice(with.as_bytes());
                i += needle.len();
                continue 'outer;
            }
        }
        out.push(hay[i]);
        i += 1;
    }
    out
}

/// The fuzz body. See the module docs.
pub fn directory_form(data: &[u8]) {
    let (Some(&pick), Some(&flags)) = (data.first(), data.get(1)) else {
        return;
    };
    let f = fixture();
    let rt = runtime();
    let (dir, inv, cursor) = rt.block_on(directory(f));
    let route = usize::from(pick) % ROUTES.len();
    let (method, path, in_query) = ROUTES[route];
    let (caller, token) = if route >= 19 {
        &f.invitee
    } else if flags & 8 != 0 {
        &f.member
    } else {
        &f.owner
    };
    let (dir_s, member_s, me_s, inv_s) = (
        dir.to_string(),
        f.member.0.profile_id.to_string(),
        caller.profile_id.to_string(),
        inv.to_string(),
    );
    let raw = replace(
        &data[2..],
        &[
            ("$DIR", &dir_s),
            ("$MEMBER", &member_s),
            ("$ME", &me_s),
            ("$INV", &inv_s),
            ("$CURSOR", &cursor),
        ],
    );
    let mut pairs = form_urlencoded::Serializer::new(String::new());
    if flags & 1 != 0 {
        pairs.append_pair("directoryId", &dir_s);
    }
    if flags & 2 != 0 {
        pairs.append_pair("profileId", &member_s);
    }
    if flags & 4 != 0 {
        pairs.append_pair("cursor", &cursor);
    }
    let prefix = pairs.finish();
    let join = |a: &[u8], b: &[u8]| {
        let mut v = a.to_vec();
        if !a.is_empty() && !b.is_empty() {
            v.push(b'&');
        }
        v.extend_from_slice(b);
        v
    };
    let mut req = Request::builder().method(Method::from_bytes(method.as_bytes()).expect("method"));
    let body = if path.ends_with("{directoryId}") {
        let segment =
            utf8_percent_encode(&String::from_utf8_lossy(&raw), NON_ALPHANUMERIC).to_string();
        req = req.uri(path.replace("{directoryId}", &segment));
        Vec::new()
    } else if in_query {
        let q = utf8_percent_encode(&String::from_utf8_lossy(&raw), QUERY).to_string();
        let query = join(prefix.as_bytes(), q.as_bytes());
        req = req.uri(format!("{path}?{}", String::from_utf8_lossy(&query)));
        Vec::new()
    } else {
        req = req.uri(path).header("content-type", FORM);
        join(prefix.as_bytes(), &raw)
    };
    if flags & 16 == 0 {
        req = req.header("X-DPT-AUTHORIZATION", token.as_str());
    }
    let Ok(req) = req.body(Body::from(body)) else {
        return;
    };
    let reply = rt.block_on(f.app.send(req));
    let status = reply.status.as_u16();
    assert!(status < 500, "{method} {path}: {status} {}", reply.text());
    let declared = &f.doc["paths"][path][method.to_ascii_lowercase()]["responses"];
    assert!(
        declared.get(status.to_string()).is_some() || FRAMEWORK.contains(&status),
        "{method} {path}: undocumented {status} {}",
        reply.text()
    );
    if status >= 400 {
        let v = reply.json();
        assert_eq!(v["status"], status, "{v}");
        assert!(v["error"].is_string(), "{v}");
        assert_eq!(v.get("errors").is_some(), status == 422, "{v}");
    }
    // leave the fixture as it was: the directory (and what it holds) goes
    rt.block_on(async {
        let _ = f.app.engine.remove_directory(&f.owner.0, dir).await;
        for d in f
            .app
            .engine
            .owned_directories(&f.owner.0)
            .await
            .unwrap_or_default()
        {
            let _ = f.app.engine.remove_directory(&f.owner.0, d.id).await;
        }
        for p in [&f.member.0, &f.invitee.0] {
            for d in f.app.engine.owned_directories(p).await.unwrap_or_default() {
                let _ = f.app.engine.remove_directory(p, d.id).await;
            }
        }
    });
}
