//! The served OpenAPI document against the official OpenAPI 3.1 schema, and every route's
//! actual replies against the response the document declares for their status.
//!
//! `data/openapi-3.1-schema-2022-10-07.json` is the OpenAPI Initiative's published schema
//! for OpenAPI 3.1 documents (`https://spec.openapis.org/oas/3.1/schema/2022-10-07`,
//! Apache-2.0), vendored unchanged so the check needs no network.

use tessera_testkit::app as common;

use common::{Reply, TestApp};
use serde_json::{Value, json};

const OAS_31_SCHEMA: &str = include_str!("data/openapi-3.1-schema-2022-10-07.json");

async fn document(app: &TestApp) -> Value {
    app.get("/openapi.json", None).await.json()
}

#[tokio::test]
async fn served_document_is_valid_openapi_3_1() {
    let app = TestApp::new();
    let doc = document(&app).await;
    let schema: Value = serde_json::from_str(OAS_31_SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{} errors:\n{}",
        errors.len(),
        errors.join("\n")
    );
    // The schema requires a description on every response object; it must also say
    // something.
    let mut responses = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, r) in op["responses"].as_object().unwrap() {
                responses += 1;
                let d = r["description"].as_str().unwrap_or_default();
                assert!(!d.is_empty(), "{method} {path} {status}: no description");
            }
        }
    }
    assert!(responses > 140, "{responses}");
    // The constraints the handlers enforce.
    let qr = &doc["components"]["schemas"]["QrForm"]["properties"];
    assert_eq!(qr["ttl"]["minimum"], 60);
    assert_eq!(qr["ttl"]["maximum"], 900);
    assert_eq!(qr["deviceName"]["maxLength"], 64);
    let table = json!([
        3600, 86400, 604_800, 2_592_000, 7_776_000, 15_552_000, 23_328_000, 31_104_000
    ]);
    for form in ["AuthenticateForm", "TtlForm"] {
        let ttl = &doc["components"]["schemas"][form]["properties"]["ttl"];
        assert_eq!(ttl["enum"], table, "{form}");
        let required = doc["components"]["schemas"][form]["required"].as_array();
        assert!(
            !required.is_some_and(|r| r.contains(&json!("ttl"))),
            "{form}"
        );
    }
    // A document that breaks the rules is refused (the check is not vacuous).
    let mut broken = doc.clone();
    broken["paths"]["/v1/login"]["post"]["responses"]["200"]
        .as_object_mut()
        .unwrap()
        .remove("description");
    assert!(!validator.is_valid(&broken));
}

/// Every object schema of `v` closed to members it does not name, so an undocumented
/// member of a reply fails the check.
fn close_objects(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.contains_key("properties") && !m.contains_key("additionalProperties") {
                m.insert("additionalProperties".into(), Value::Bool(false));
            }
            m.values_mut().for_each(close_objects);
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

/// Checks replies against the document.
pub(crate) struct Contract {
    doc: Value,
    pub(crate) checked: Vec<(String, String, u16)>,
}

impl Contract {
    pub(crate) async fn new(app: &TestApp) -> Self {
        Self {
            doc: document(app).await,
            checked: Vec::new(),
        }
    }

    /// `reply` to `method path` is a response the document declares: its status, its
    /// content type and (for JSON) a body valid against the declared schema, `$ref`s
    /// resolved into the document's components.
    #[track_caller]
    pub(crate) fn check(&mut self, method: &str, path: &str, reply: &Reply) {
        let status = reply.status.as_u16();
        let op = &self.doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} undocumented");
        let declared = &op["responses"][status.to_string()];
        assert!(
            declared.is_object(),
            "{method} {path}: status {status} undeclared: {}",
            reply.text()
        );
        let content_type = reply
            .headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let Some(content) = declared.get("content").and_then(Value::as_object) else {
            assert!(
                reply.body.is_empty(),
                "{method} {path} {status}: a body where none is declared"
            );
            self.checked.push((method.into(), path.into(), status));
            return;
        };
        let content_type = content_type.expect("a content type");
        let media = content_type.split(';').next().unwrap().trim();
        let (_, declared_media) = content
            .iter()
            .find(|(k, _)| k.split(';').next().unwrap().trim() == media)
            .unwrap_or_else(|| {
                panic!("{method} {path} {status}: {content_type} undeclared ({content:?})")
            });
        if media == "application/json" {
            let mut components = self.doc["components"].clone();
            close_objects(&mut components);
            let mut schema = declared_media["schema"].clone();
            close_objects(&mut schema);
            let root = json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "components": components,
                "allOf": [schema],
            });
            let validator = jsonschema::validator_for(&root).unwrap();
            let body = reply.json();
            let errors: Vec<String> = validator
                .iter_errors(&body)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(
                errors.is_empty(),
                "{method} {path} {status}: {body}\n{}",
                errors.join("\n")
            );
        }
        self.checked.push((method.into(), path.into(), status));
    }

    /// Every documented operation but those of `skip` (checked by their own test) was
    /// checked at least once.
    pub(crate) fn all_operations_checked_except(&self, skip: &[(&str, &str)]) {
        for (path, item) in self.doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                if skip.iter().any(|(m, p)| m == method && p == path) {
                    continue;
                }
                assert!(
                    self.checked
                        .iter()
                        .any(|(m, p, _)| m == method && p == path),
                    "{method} {path} never checked"
                );
            }
        }
    }
}

impl Contract {
    /// Each operation of `ops` is documented and was checked at least once.
    pub(crate) fn checked_all_of(&self, ops: &[(&str, &str)]) {
        for (method, path) in ops {
            assert!(
                self.doc["paths"][path][method].is_object(),
                "{method} {path} undocumented"
            );
            assert!(
                self.checked
                    .iter()
                    .any(|(m, p, _)| m == method && p == path),
                "{method} {path} never checked"
            );
        }
    }
}

#[tokio::test]
async fn a_reply_off_the_document_is_caught() {
    let app = TestApp::new();
    let mut c = Contract::new(&app).await;
    let ok = app.get("/utility/check-server-health", None).await;
    let tampered = |body: &str| Reply {
        status: ok.status,
        headers: ok.headers.clone(),
        body: body.as_bytes().to_vec(),
    };
    for body in [
        r#"{"status":"ok","storage":"ok"}"#,
        r#"{"status":"ok","storage":"ok","version":"1","extra":1}"#,
        r#"{"status":"maybe","storage":"ok","version":"1"}"#,
    ] {
        let reply = tampered(body);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            c.check("get", "/utility/check-server-health", &reply);
        }));
        assert!(caught.is_err(), "{body} passed");
    }
    c.check("get", "/utility/check-server-health", &ok);
}
