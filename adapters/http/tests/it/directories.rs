//! The directory routes through the router: the workflow, Privicore conventions on their
//! bodies and queries, the 404 of non-members, metrics, and the push of a directory command
//! on the acting profile's `/ws` channel.

use tessera_testkit::app as common;
use tessera_testkit::ws as ws_support;

use axum::http::Method;
use common::TestApp;
use serde_json::json;
use tessera_http::HttpConfig;

use super::openapi_directory::{directory, join, result};

#[tokio::test]
#[allow(clippy::too_many_lines)] // one walk through the whole workflow
async fn directory_workflow_through_the_router() {
    let app = TestApp::new();
    let olga = app.active_user("olga").await;
    let ann = app.active_user("ann").await;
    let dir = directory(&app, &olga, "ACME").await;
    let r = app
        .get(
            &format!("/directory/retrieve-directory/{dir}"),
            Some(&olga.token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let d = r.json();
    assert_eq!(d["directoryShortName"], "acme");
    assert_eq!(d["role"], "owner");
    assert_eq!(d["ownerProfileId"], olga.profile_id.as_str());
    assert_eq!(d["meta"], json!(null));
    // not a member: the same 404 as for an unknown directory
    let unknown = uuid::Uuid::new_v4().to_string();
    for id in [dir.as_str(), unknown.as_str(), "not-a-uuid"] {
        app.get(
            &format!("/directory/retrieve-directory/{id}"),
            Some(&ann.token),
        )
        .await
        .expect_error(404, "not_found");
    }
    join(&app, &olga, &dir, &ann, "admin").await;
    let r = app
        .get("/directory/retrieve-assigned-directories", Some(&ann.token))
        .await;
    assert_eq!(r.json()[0]["role"], "admin");
    // a user the directory creates, then provisioned a password
    let temp = common::password("carol-temp");
    let r = app
        .post(
            "/directory/create-directory-user",
            Some(&ann.token),
            &[
                ("directoryId", &dir),
                ("username", "carol"),
                ("givenName", "Carol"),
                ("familyName", "Jones"),
                ("temporaryPassword", &temp),
            ],
        )
        .await;
    let carol = result(&app, &r, "profileId").await;
    let r = app
        .post_json("/v1/login", &json!({"username": "carol", "password": temp}))
        .await;
    assert_eq!(
        r.json()["challenge_name"],
        "NEW_PASSWORD_REQUIRED",
        "{}",
        r.text()
    );
    let r = app
        .post(
            "/directory/set-profile-password",
            Some(&ann.token),
            &[
                ("directoryId", &dir),
                ("profileId", &carol),
                ("temporaryPassword", "weak"),
            ],
        )
        .await;
    r.expect_error(422, "password_too_short");
    assert!(
        r.json()["errors"]["temporaryPassword"].is_array(),
        "{}",
        r.text()
    );
    // listing, with a cursor; several profile ids in one form
    let r = app
        .get(
            &format!("/directory/list-directory-users?directoryId={dir}&limit=2"),
            Some(&olga.token),
        )
        .await;
    let page = r.json();
    assert_eq!(page["users"].as_array().unwrap().len(), 2);
    assert_eq!(page["users"][0]["role"], "owner");
    let next = page["nextCursor"].as_str().unwrap();
    let r = app
        .get(
            &format!("/directory/list-directory-users?directoryId={dir}&limit=2&cursor={next}"),
            Some(&olga.token),
        )
        .await;
    let last = r.json();
    assert_eq!(last["users"][0]["profileId"], carol.as_str());
    assert_eq!(last["users"][0]["givenName"], "Carol");
    assert_eq!(last["nextCursor"], json!(null));
    let r = app
        .post(
            "/directory/directory-profiles-info",
            Some(&ann.token),
            &[
                ("directoryId", &dir),
                ("profileId", &carol),
                ("profileId", &olga.profile_id),
            ],
        )
        .await;
    let infos = r.json();
    assert_eq!(infos.as_array().unwrap().len(), 2, "{infos}");
    assert_eq!(infos[1]["role"], "owner");
    // the role table's answers: a member's role refused with 403
    app.post(
        "/directory/change-role",
        Some(&olga.token),
        &[
            ("directoryId", &dir),
            ("profileId", &ann.profile_id),
            ("role", "member"),
        ],
    )
    .await
    .command_id();
    app.post(
        "/directory/invite-profile",
        Some(&ann.token),
        &[("directoryId", &dir), ("username", "someone")],
    )
    .await
    .expect_error(403, "forbidden");
    app.post(
        "/directory/remove-member",
        Some(&olga.token),
        &[("directoryId", &dir), ("profileId", &olga.profile_id)],
    )
    .await
    .expect_error(422, "validation_failed");
    // ann leaves by itself; then the directory is gone with its memberships
    app.post(
        "/directory/remove-member",
        Some(&ann.token),
        &[("directoryId", &dir), ("profileId", &ann.profile_id)],
    )
    .await
    .command_id();
    app.post(
        "/directory/remove-directory",
        Some(&olga.token),
        &[("directoryId", &dir)],
    )
    .await
    .command_id();
    let r = app
        .get("/directory/retrieve-owned-directories", Some(&olga.token))
        .await;
    assert_eq!(r.json(), json!([]));
}

#[tokio::test]
async fn directory_bodies_and_queries_follow_the_conventions() {
    let app = TestApp::new();
    let olga = app.active_user("olga").await;
    let dir = directory(&app, &olga, "acme").await;
    let reg = "/directory/register-directory";
    // a JSON body → 415; a field given twice → 422; not UTF-8 → 422; no token → 401
    let r = app
        .request(
            Method::POST,
            reg,
            Some(&olga.token),
            Some("application/json"),
            r#"{"directoryName":"x","directoryShortName":"xy"}"#,
        )
        .await;
    r.expect_error(415, "unsupported_media_type");
    let r = app
        .post(
            reg,
            Some(&olga.token),
            &[
                ("directoryName", "a"),
                ("directoryName", "b"),
                ("directoryShortName", "ab"),
            ],
        )
        .await;
    r.expect_error(422, "validation_failed");
    assert!(r.json()["errors"]["directoryName"].is_array());
    let r = app
        .request(
            Method::POST,
            reg,
            Some(&olga.token),
            Some(common::FORM),
            "directoryName=%FF&directoryShortName=ab",
        )
        .await;
    r.expect_error(422, "validation_failed");
    app.post(reg, None, &[])
        .await
        .expect_error(401, "unauthorized");
    // a missing field is named; several at once
    let r = app.post(reg, Some(&olga.token), &[]).await;
    let errors = r.json()["errors"].clone();
    assert!(errors["directoryName"].is_array() && errors["directoryShortName"].is_array());
    // queries: not UTF-8 or a parameter twice → 422; a missing one → 422; not a UUID → 404
    let ldu = "/directory/list-directory-users";
    for (query, status) in [
        (format!("directoryId={dir}&directoryId={dir}"), 422),
        ("directoryId=%FF".to_owned(), 422),
        (String::new(), 422),
        ("directoryId=nope".to_owned(), 404),
        (format!("directoryId={dir}&limit=ten"), 422),
        (format!("directoryId={dir}&limit=-1"), 422),
        (format!("directoryId={dir}&limit=0"), 422),
        (
            format!("directoryId={dir}&limit=99999999999999999999999"),
            422,
        ),
        (format!("directoryId={dir}&cursor=%FF"), 422),
        (format!("directoryId={dir}&cursor={}", "A".repeat(44)), 422),
    ] {
        let r = app.get(&format!("{ldu}?{query}"), Some(&olga.token)).await;
        assert_eq!(r.status, status, "{query}: {}", r.text());
    }
    // a token in the query is ignored
    app.get(
        &format!("{ldu}?directoryId={dir}&X-DPT-AUTHORIZATION={}", olga.token),
        None,
    )
    .await
    .expect_error(401, "unauthorized");
    // unknown decision, meta not an object or over 4 KiB, too many profile ids
    let big = format!("{{\"k\":\"{}\"}}", "x".repeat(4096));
    for meta in ["[1]", "{", big.as_str()] {
        let r = app
            .post(
                "/directory/store-directory-meta",
                Some(&olga.token),
                &[("directoryId", &dir), ("meta", meta)],
            )
            .await;
        r.expect_error(422, "validation_failed");
        assert!(r.json()["errors"]["meta"].is_array());
    }
    let r = app
        .post(
            "/directory/process-invitation",
            Some(&olga.token),
            &[("invitationId", &dir), ("decision", "perhaps")],
        )
        .await;
    assert!(r.json()["errors"]["decision"].is_array(), "{}", r.text());
    let ids: Vec<String> = (0..101).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let mut fields = vec![("directoryId", dir.as_str())];
    fields.extend(ids.iter().map(|i| ("profileId", i.as_str())));
    let r = app
        .post(
            "/directory/directory-profiles-info",
            Some(&olga.token),
            &fields,
        )
        .await;
    r.expect_error(422, "validation_failed");
    assert!(r.json()["errors"]["profileId"].is_array());
}

#[tokio::test]
async fn directory_commands_are_pushed_to_the_acting_profile_and_counted() {
    let s = ws_support::Server::start(HttpConfig::default()).await;
    let olga = s.active_user("olga").await;
    let mut ws = ws_support::joined(&s.ws_url, &olga.token).await;
    let (status, cab, body) = s
        .post(
            "/directory/register-directory",
            Some(&olga.token),
            &[("directoryName", "Acme"), ("directoryShortName", "acme")],
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let push = ws_support::next_json(&mut ws).await;
    let data = ws_support::verified_data(&push, &s.cab_key().await);
    assert_eq!(data["id"], cab.unwrap().as_str());
    assert_eq!(data["body"], "Directory registered");
    assert!(data["result"]["directoryId"].is_string(), "{data}");
    let metrics = s
        .http
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "tessera_http_requests_total{route=\"/directory/register-directory\",method=\"POST\",status=\"202\"} 1"
        ),
        "{metrics}"
    );
    s.stop().await;
}
