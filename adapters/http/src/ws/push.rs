//! The command object of API.md "Commands" and its signed push form.

use serde_json::{Map, Value, json};
use tessera_core::Engine;
use tessera_core::store::CommandRecord;

use tessera_message::canonical_bytes;

/// The `data` object of a command, as `GET /request-status/{id}` serves it:
/// `{"type":"X-DPT-CAB-ID","id","command_status","body","result"?}`.
#[must_use]
pub fn command_data(rec: &CommandRecord) -> Value {
    let mut data = Map::new();
    data.insert("type".into(), "X-DPT-CAB-ID".into());
    data.insert("id".into(), rec.id.hyphenated().to_string().into());
    data.insert("command_status".into(), (rec.status as u8).into());
    data.insert("body".into(), rec.body.clone().into());
    if !rec.result.is_empty() {
        let result: Map<String, Value> = rec
            .result
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into()))
            .collect();
        data.insert("result".into(), result.into());
    }
    Value::Object(data)
}

/// The frame pushed to a profile's channel for a command:
/// `{"data":{…command…},"signature":"<128 hex>"}`, where `signature` is the server key's
/// Ed25519 signature over the RFC 8785 canonical bytes of `data`. Verify it with the key
/// `GET /public-key/retrieve-cab-public-key` serves (bytes 4..36 of its 200-hex form).
pub async fn command_push(
    engine: &Engine,
    rec: &CommandRecord,
) -> Result<String, tessera_core::Error> {
    let data = command_data(rec);
    let bytes = canonical_bytes(&data)
        .map_err(|e| tessera_core::Error::Config(format!("push canonicalization: {e}")))?;
    let signature = engine.server_sign(&bytes).await?;
    Ok(json!({ "data": data, "signature": hex::encode(signature) }).to_string())
}
