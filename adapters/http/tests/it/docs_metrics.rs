//! `GET /openapi.json`, `GET /metrics` and `GET /utility/check-server-health`.

use tessera_testkit::app as common;

use axum::http::{Method, StatusCode};
use common::{TestApp, password};

/// Every JSON route of the router (API.md Utility, Profile, Public key, Device onboarding,
/// Token API, Server-registered users, OAuth, Directories; the OAuth pages are HTML and not
/// here).
const ROUTES: [(&str, &str); 56] = [
    ("post", "/profile/register-profile"),
    ("post", "/profile/authenticate"),
    ("get", "/profile/retrieve-profile-id"),
    ("post", "/profile/change-password"),
    ("post", "/profile/generate-qr-token"),
    ("post", "/profile/reauthorize-authorization-token"),
    ("post", "/profile/revoke-authorization-token"),
    ("post", "/profile/retrieve-token-expiry"),
    ("get", "/generate-keys"),
    ("post", "/public-key/register-public-key"),
    ("get", "/public-key/retrieve-public-key"),
    ("get", "/public-key/retrieve-cab-public-key"),
    ("post", "/device/request-unique-identifier"),
    ("post", "/device/retrieve-unique-identifier"),
    ("get", "/device/retrieve-profile-devices"),
    ("post", "/device/configure-device-meta"),
    ("post", "/device/approve-device"),
    ("post", "/device/reject-device"),
    (
        "get",
        "/device/retrieve-device-configuration/{deviceIdentifier}",
    ),
    ("post", "/device/remove"),
    ("get", "/utility/check-server-health"),
    ("get", "/request-status/{commandId}"),
    ("get", "/ws"),
    ("get", "/openapi.json"),
    ("get", "/metrics"),
    ("post", "/v1/login"),
    ("post", "/v1/token-refresh"),
    ("post", "/v1/token-revoke"),
    ("post", "/v1/forgot-password"),
    ("post", "/v1/forgot-password-confirm"),
    ("post", "/v1/change-password"),
    ("post", "/v1/new-password-required"),
    ("get", "/.well-known/jwks.json"),
    ("put", "/v1/users/{externalId}"),
    ("get", "/v1/users/{externalId}"),
    ("delete", "/v1/users/{externalId}/tokens"),
    ("post", "/oauth-application/retrieve-authorization-code"),
    ("post", "/directory/register-directory"),
    ("get", "/directory/retrieve-owned-directories"),
    ("get", "/directory/retrieve-assigned-directories"),
    ("get", "/directory/retrieve-directory/{directoryId}"),
    ("post", "/directory/store-directory-meta"),
    ("post", "/directory/remove-directory"),
    ("post", "/directory/create-directory-user"),
    ("post", "/directory/update-user-information"),
    ("post", "/directory/set-profile-password"),
    ("get", "/directory/retrieve-directory-profile"),
    ("get", "/directory/list-directory-users"),
    ("post", "/directory/directory-profiles-info"),
    ("post", "/directory/change-role"),
    ("post", "/directory/remove-member"),
    ("post", "/directory/invite-profile"),
    ("get", "/directory/list-directory-invites"),
    ("post", "/directory/process-invitation"),
    ("post", "/directory/create-profile-device"),
    ("get", "/directory/list-directory-devices"),
];

/// The operations of the document's `paths`, checking that their ids are unique.
fn count_operations(paths: &serde_json::Map<String, serde_json::Value>) -> usize {
    let mut ids: Vec<&str> = paths
        .values()
        .flat_map(|p| p.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    let total = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), total, "operation ids are unique");
    paths
        .values()
        .map(|p| {
            p.as_object()
                .unwrap()
                .keys()
                .filter(|k| *k != "parameters")
                .count()
        })
        .sum()
}

#[tokio::test]
async fn openapi_documents_every_route_field_and_error() {
    let app = TestApp::new();
    let r = app.get("/openapi.json", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    let operations = count_operations(paths);
    let routes = ROUTES.iter().chain(super::oauth_back::ROUTES.iter());
    assert_eq!(
        operations,
        routes.clone().count(),
        "{:?}",
        paths.keys().collect::<Vec<_>>()
    );
    for &(method, path) in routes {
        let op = &paths[path][method];
        assert!(op.is_object(), "{method} {path} undocumented");
        // every documented route exists in the router (not 404)
        let concrete = path
            .replace("{deviceIdentifier}", "x")
            .replace("{commandId}", "x")
            .replace("{directoryId}", "x")
            .replace("{externalId}", "x");
        let r = match method {
            "get" => app.get(&concrete, None).await,
            "post" => app.post(&concrete, None, &[]).await,
            "put" => app.users(Method::PUT, &concrete, None, None).await,
            _ => app.users(Method::DELETE, &concrete, None, None).await,
        };
        assert!(
            r.status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        // every documented error status of the JSON APIs is an ErrorBody
        for (status, resp) in op["responses"].as_object().unwrap() {
            let json_api = path.starts_with("/v1") || path.starts_with("/.well-known");
            if json_api && (status.starts_with('4') || status.starts_with('5')) {
                assert!(
                    resp.to_string().contains("ErrorBody"),
                    "{method} {path} {status} has no error body"
                );
            }
        }
        if path.contains('{') && !path.starts_with("/v1/users") {
            continue;
        }
        assert_ne!(r.status, StatusCode::NOT_FOUND, "{method} {path}");
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "ErrorBody",
        "Credentials",
        "DeviceConfigurationReply",
        "CommandAccepted",
        "LoginBody",
        "TokensReply",
        "ChallengeReply",
        "UserUpsertBody",
        "UserReply",
        "JwksReply",
        "MessageReply",
    ] {
        assert!(schemas.contains_key(name), "{name}");
    }
    let cfg = &schemas["DeviceConfigurationReply"]["properties"];
    assert!(cfg["cab-public-key"].is_object() && cfg["device-identifier"].is_object());
    assert!(schemas["ChangePasswordForm"]["properties"]["currentPassword"].is_object());
    assert!(doc["components"]["securitySchemes"]["token"]["name"] == "X-DPT-AUTHORIZATION");
    assert!(doc["components"]["securitySchemes"]["api_key"]["name"] == "X-Tessera-Api-Key");
    assert!(schemas["UserUpsertBody"]["properties"]["temporaryPassword"].is_object());
    assert!(schemas["ForgotPasswordConfirmBody"]["properties"]["confirmation_code"].is_object());
    assert!(
        paths["/v1/login"]["post"]["requestBody"]["content"]["application/json"].is_object(),
        "/v1 bodies are JSON"
    );
    let text = r.text();
    for code in [
        "invalid_ttl",
        "profile_incomplete",
        "too_many_attempts",
        "overloaded",
        "invalid_qr_token",
        "invalid_code",
        "wrong_password",
        "unsupported_media_type",
        "NEW_PASSWORD_REQUIRED",
    ] {
        assert!(text.contains(code), "{code} undocumented");
    }
}

#[tokio::test]
async fn metrics_count_requests_logins_and_verifications() {
    let app = TestApp::new();
    let u = app.incomplete_user("metricsuser").await;
    app.post(
        "/profile/authenticate",
        None,
        &[
            ("username", "metricsuser"),
            ("password", "wrong wrong wrong"),
        ],
    )
    .await;
    app.get("/profile/retrieve-profile-id", Some("tsa_bad"))
        .await;
    app.get("/nope", None).await;
    let _ = password("m");
    let r = app.get("/metrics", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = r.text();
    for needle in [
        "tessera_http_requests_total{route=\"/profile/authenticate\",method=\"POST\",status=\"200\"} 1",
        "tessera_http_requests_total{route=\"/profile/authenticate\",method=\"POST\",status=\"401\"} 1",
        "tessera_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1",
        "tessera_http_request_duration_seconds_bucket{route=\"/profile/register-profile\",le=\"+Inf\"} 1",
        "tessera_logins_total{outcome=\"success\"} 1",
        "tessera_logins_total{outcome=\"unauthorized\"} 1",
        "tessera_tokens_verified_total{result=\"valid\"} 1",
        "tessera_tokens_verified_total{result=\"rejected\"} 1",
        "tessera_hash_queue_depth 0",
    ] {
        assert!(has_sample(&text, needle), "missing {needle}\n{text}");
    }
    assert!(!text.contains(&u.token));
}

/// A sample `name{labels} value` as (name, sorted labels, value).
fn sample(line: &str) -> Option<(&str, Vec<&str>, &str)> {
    let (series, value) = line.rsplit_once(' ')?;
    let (name, labels) = match series.split_once('{') {
        Some((name, labels)) => (name, labels.strip_suffix('}')?.split(',').collect()),
        None => (series, Vec::new()),
    };
    let mut labels: Vec<&str> = labels;
    labels.sort_unstable();
    Some((name, labels, value))
}

/// Whether `text` has the sample `needle`, whatever the order of its labels (the text
/// format leaves it open; the registry writes `le` first).
fn has_sample(text: &str, needle: &str) -> bool {
    let want = sample(needle).expect("a sample");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .any(|l| sample(l).is_some_and(|s| s == want))
}

#[tokio::test]
async fn health_reports_version_and_every_reply_has_a_request_id() {
    let app = TestApp::new();
    let r = app.get("/utility/check-server-health", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let j = r.json();
    assert_eq!(j["status"], "ok");
    assert_eq!(j["storage"], "ok");
    assert_eq!(j["version"], env!("CARGO_PKG_VERSION"));
    let id = r.headers["x-request-id"].to_str().unwrap();
    uuid::Uuid::parse_str(id).unwrap();
}
