//! The stdin example (`examples/message_stdin.rs`): one verdict line per message.

#[allow(dead_code)] // its `main` is for `cargo run --example`
#[path = "../../examples/message_stdin.rs"]
mod message_stdin;

use std::sync::Arc;

use message_stdin::{Summary, run};
use serde_json::json;
use tessera_core::{KeyPair, MemoryStore, OsRandom};
use tessera_message::{MessageAuthenticator, MessagePolicy, canonical_bytes};

#[tokio::test]
async fn every_line_gets_a_verdict() {
    let (engine, clock) = tessera_testkit::test_engine(Arc::new(MemoryStore::new()));
    let pw = "velvet otter quasar lantern queue 7291";
    let id = engine.register_profile("queue", pw).await.unwrap().value;
    let login = engine.authenticate("queue", pw, None).await.unwrap();
    let me = engine.verify(login.token.expose()).await.unwrap();
    let keys = KeyPair::generate(&OsRandom);
    engine
        .register_public_key(&me, &keys.public().to_privicore_hex(), &keys.prove(id))
        .await
        .unwrap();
    let message = |nonce: &str| {
        json!({"token": login.token.expose(), "type": "job.run", "correlationId": "c-7",
               "timestamp": engine.now().to_rfc3339(), "nonce": nonce, "payload": [1, 2]})
    };
    let mut signed = message("queue-nonce-00000001");
    signed["signature"] = hex::encode(keys.sign(&canonical_bytes(&signed).unwrap())).into();
    let mut tampered = signed.clone();
    tampered["payload"] = json!([1, 3]);
    let input = format!(
        "{signed}\n\n{signed}\n{tampered}\n{}\nnot json\n",
        message("queue-nonce-00000002")
    );
    let auth = MessageAuthenticator::new(Arc::clone(&engine), clock, MessagePolicy::default());
    let mut out = Vec::new();
    let summary = run(&auth, input.as_bytes(), &mut out).await.unwrap();
    assert_eq!(
        summary,
        Summary {
            accepted: 2,
            rejected: 3
        }
    );
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!("accept 1 profile={id} type=job.run correlationId=c-7 signed=true")
    );
    assert!(lines[1].starts_with("reject 3 replayed_nonce:"), "{out}");
    assert!(lines[2].starts_with("reject 4 invalid_signature:"), "{out}");
    assert!(
        lines[3].starts_with("accept 5 ") && lines[3].ends_with("signed=false"),
        "{out}"
    );
    assert!(lines[4].starts_with("reject 6 malformed_message:"), "{out}");
    assert_eq!(lines.len(), 5);
}
