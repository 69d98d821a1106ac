//! The directory routes' replies against the OpenAPI document (called by
//! `openapi_replies`, whose walk checks every documented operation), and directory helpers
//! the other tests share.

use tessera_testkit::app as common;

use axum::body::Body;
use axum::http::Request;
use common::{Reply, TestApp, User};

use super::openapi_contract::Contract;

/// The value `key` of the result of the command a 202 `reply` names.
pub(crate) async fn result(app: &TestApp, reply: &Reply, key: &str) -> String {
    let id = reply.command_id();
    let r = app.get(&format!("/request-status/{id}"), None).await;
    r.json()["data"]["result"][key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {}", r.text()))
        .to_owned()
}

/// `owner` registers a directory; its id.
pub(crate) async fn directory(app: &TestApp, owner: &User, short: &str) -> String {
    let r = app
        .post(
            "/directory/register-directory",
            Some(&owner.token),
            &[("directoryName", "Acme"), ("directoryShortName", short)],
        )
        .await;
    result(app, &r, "directoryId").await
}

/// `by` invites `who` into `dir` with `role`, and `who` accepts.
pub(crate) async fn join(app: &TestApp, by: &User, dir: &str, who: &User, role: &str) {
    let r = app
        .post(
            "/directory/invite-profile",
            Some(&by.token),
            &[
                ("directoryId", dir),
                ("username", &who.name),
                ("role", role),
            ],
        )
        .await;
    let inv = result(app, &r, "invitationId").await;
    app.post(
        "/directory/process-invitation",
        Some(&who.token),
        &[("invitationId", &inv), ("decision", "accept")],
    )
    .await
    .command_id();
}

/// Check the success and main error replies of every directory route.
#[allow(clippy::too_many_lines)] // one walk over every directory route
pub(crate) async fn check_directory_replies(app: &TestApp, c: &mut Contract) {
    let olga = app.active_user("dirowner").await;
    let ann = app.active_user("diradmin").await;
    let bob = app.active_user("dirmember").await;
    let eve = app.active_user("diroutsider").await;
    let incomplete = app.incomplete_user("dirincomplete").await;
    let (o, a, b, e) = (
        Some(olga.token.as_str()),
        Some(ann.token.as_str()),
        Some(bob.token.as_str()),
        Some(eve.token.as_str()),
    );

    let reg = "/directory/register-directory";
    for (token, short) in [
        (o, "contract"),
        (o, "contract"),
        (None, "x1"),
        (Some(incomplete.token.as_str()), "x2"),
    ] {
        let r = app
            .post(
                reg,
                token,
                &[("directoryName", "Contract"), ("directoryShortName", short)],
            )
            .await;
        c.check("post", reg, &r);
    }
    let dir = directory(app, &olga, "contract-two").await;
    let d = dir.as_str();
    join(app, &olga, d, &ann, "admin").await;
    join(app, &olga, d, &bob, "member").await;

    for path in [
        "/directory/retrieve-owned-directories",
        "/directory/retrieve-assigned-directories",
    ] {
        for token in [o, a, None, Some(incomplete.token.as_str())] {
            let r = app.get(path, token).await;
            c.check("get", path, &r);
        }
    }
    let rd = "/directory/retrieve-directory/{directoryId}";
    for (token, id) in [(o, d), (e, d), (o, "nope"), (None, d)] {
        let r = app
            .get(&format!("/directory/retrieve-directory/{id}"), token)
            .await;
        c.check("get", rd, &r);
    }
    let meta = "/directory/store-directory-meta";
    for (token, fields) in [
        (a, &[("directoryId", d), ("meta", "{\"plan\":\"pro\"}")][..]),
        (b, &[("directoryId", d), ("meta", "{}")][..]),
        (e, &[("directoryId", d), ("meta", "{}")][..]),
        (o, &[("directoryId", d), ("meta", "[]")][..]),
        (None, &[][..]),
    ] {
        let r = app.post(meta, token, fields).await;
        c.check("post", meta, &r);
    }

    let temp = common::password("dirtemp");
    let cu = "/directory/create-directory-user";
    let user_fields = |name: &'static str, pw: &str| {
        vec![
            ("directoryId", d.to_owned()),
            ("username", name.to_owned()),
            ("givenName", "Carol".to_owned()),
            ("familyName", "Jones".to_owned()),
            ("temporaryPassword", pw.to_owned()),
        ]
    };
    let mut carol = String::new();
    for (token, fields) in [
        (a, user_fields("dircarol", &temp)),
        (a, user_fields("dircarol", &temp)),
        (a, user_fields("dirweak", "password12345678")),
        (b, user_fields("dirother", &temp)),
        (e, user_fields("dirother", &temp)),
        (None, Vec::new()),
    ] {
        let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = app.post(cu, token, &f).await;
        c.check("post", cu, &r);
        if carol.is_empty() && r.status == 202 {
            carol = result(app, &r, "profileId").await;
        }
    }
    let upd = "/directory/update-user-information";
    for (token, fields) in [
        (
            b,
            &[
                ("directoryId", d),
                ("profileId", &bob.profile_id),
                ("givenName", "Bob"),
            ][..],
        ),
        (
            b,
            &[
                ("directoryId", d),
                ("profileId", &carol),
                ("givenName", "X"),
            ][..],
        ),
        (e, &[("directoryId", d), ("profileId", &eve.profile_id)][..]),
        (
            a,
            &[("directoryId", d), ("profileId", &carol), ("meta", "nope")][..],
        ),
        (None, &[][..]),
    ] {
        let r = app.post(upd, token, fields).await;
        c.check("post", upd, &r);
    }
    let spw = "/directory/set-profile-password";
    for (token, profile, pw) in [
        (a, carol.as_str(), temp.as_str()),
        (a, bob.profile_id.as_str(), temp.as_str()),
        (e, carol.as_str(), temp.as_str()),
        (a, carol.as_str(), "short"),
        (None, carol.as_str(), temp.as_str()),
    ] {
        let r = app
            .post(
                spw,
                token,
                &[
                    ("directoryId", d),
                    ("profileId", profile),
                    ("temporaryPassword", pw),
                ],
            )
            .await;
        c.check("post", spw, &r);
    }
    let rdp = "/directory/retrieve-directory-profile";
    for (token, query) in [
        (b, format!("directoryId={d}&profileId={}", ann.profile_id)),
        (e, format!("directoryId={d}&profileId={}", ann.profile_id)),
        (b, format!("directoryId={d}")),
        (None, String::new()),
    ] {
        let r = app.get(&format!("{rdp}?{query}"), token).await;
        c.check("get", rdp, &r);
    }
    let ldu = "/directory/list-directory-users";
    let r = app.get(&format!("{ldu}?directoryId={d}&limit=2"), b).await;
    c.check("get", ldu, &r);
    let cursor = r.json()["nextCursor"].as_str().unwrap().to_owned();
    for (token, query) in [
        (b, format!("directoryId={d}&limit=2&cursor={cursor}")),
        (b, format!("directoryId={d}&cursor=forged")),
        (b, format!("directoryId={d}&limit=501")),
        (e, format!("directoryId={d}")),
        (None, String::new()),
    ] {
        let r = app.get(&format!("{ldu}?{query}"), token).await;
        c.check("get", ldu, &r);
    }
    let info = "/directory/directory-profiles-info";
    for (token, fields) in [
        (
            b,
            vec![
                ("directoryId", d),
                ("profileId", &ann.profile_id),
                ("profileId", &carol),
            ],
        ),
        (b, vec![("directoryId", d), ("profileId", "nope")]),
        (e, vec![("directoryId", d), ("profileId", &ann.profile_id)]),
        (None, vec![]),
    ] {
        let r = app.post(info, token, &fields).await;
        c.check("post", info, &r);
    }

    let inv = "/directory/invite-profile";
    for (token, user) in [
        (o, "nobody-at-all"),
        (o, "x"),
        (b, "someone"),
        (e, "someone"),
        (None, "x"),
    ] {
        let r = app
            .post(inv, token, &[("directoryId", d), ("username", user)])
            .await;
        c.check("post", inv, &r);
    }
    let to_eve = app
        .post(inv, o, &[("directoryId", d), ("username", &eve.name)])
        .await;
    let to_eve = result(app, &to_eve, "invitationId").await;
    let ldi = "/directory/list-directory-invites";
    for (token, query) in [
        (e, String::new()),
        (o, format!("?directoryId={d}")),
        (b, format!("?directoryId={d}")),
        (e, format!("?directoryId={d}")),
        (None, String::new()),
    ] {
        let r = app.get(&format!("{ldi}{query}"), token).await;
        c.check("get", ldi, &r);
    }
    let pi = "/directory/process-invitation";
    for (token, decision) in [
        (b, "accept"),
        (e, "maybe"),
        (e, "decline"),
        (e, "accept"),
        (None, "x"),
    ] {
        let r = app
            .post(
                pi,
                token,
                &[("invitationId", &to_eve), ("decision", decision)],
            )
            .await;
        c.check("post", pi, &r);
    }

    let cr = "/directory/change-role";
    for (token, profile, role) in [
        (o, bob.profile_id.as_str(), "admin"),
        (o, olga.profile_id.as_str(), "member"),
        (a, bob.profile_id.as_str(), "member"),
        (b, ann.profile_id.as_str(), "member"),
        (e, bob.profile_id.as_str(), "member"),
        (o, bob.profile_id.as_str(), "owner"),
        (None, "", ""),
    ] {
        let r = app
            .post(
                cr,
                token,
                &[("directoryId", d), ("profileId", profile), ("role", role)],
            )
            .await;
        c.check("post", cr, &r);
    }

    let cpd = "/directory/create-profile-device";
    let fields = [("directoryId", d), ("profileId", bob.profile_id.as_str())];
    let r = app.post(cpd, a, &fields).await;
    c.check("post", cpd, &r);
    let r = app
        .send(
            Request::post(cpd)
                .header("X-DPT-AUTHORIZATION", &ann.token)
                .header("content-type", common::FORM)
                .header("accept", "image/svg+xml")
                .body(Body::from(common::form(&fields)))
                .unwrap(),
        )
        .await;
    c.check("post", cpd, &r);
    for (token, profile) in [
        (b, bob.profile_id.as_str()),
        (e, bob.profile_id.as_str()),
        (o, carol.as_str()),
        (None, ""),
    ] {
        let r = app
            .post(cpd, token, &[("directoryId", d), ("profileId", profile)])
            .await;
        c.check("post", cpd, &r);
    }
    let ldd = "/directory/list-directory-devices";
    for (token, query) in [
        (a, format!("?directoryId={d}")),
        (b, format!("?directoryId={d}")),
        (e, format!("?directoryId={d}")),
        (a, format!("?directoryId={d}&cursor=x")),
        (None, String::new()),
    ] {
        let r = app.get(&format!("{ldd}{query}"), token).await;
        c.check("get", ldd, &r);
    }

    let rm = "/directory/remove-member";
    for (token, profile) in [
        (a, olga.profile_id.as_str()),
        (b, ann.profile_id.as_str()),
        (e, bob.profile_id.as_str()),
        (o, bob.profile_id.as_str()),
        (None, ""),
    ] {
        let r = app
            .post(rm, token, &[("directoryId", d), ("profileId", profile)])
            .await;
        c.check("post", rm, &r);
    }
    let rmd = "/directory/remove-directory";
    for token in [a, e, o, None] {
        let r = app.post(rmd, token, &[("directoryId", d)]).await;
        c.check("post", rmd, &r);
    }
    let r = app.post(rmd, o, &[("directoryId", "x")]).await;
    c.check("post", rmd, &r);
}
