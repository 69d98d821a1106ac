//! The command object of API.md "Commands" and its signed push form.

use serde::Serialize;
use serde_json::{Map, Value, json};
use tessera_core::Engine;
use tessera_core::store::CommandRecord;

use tessera_message::canonical_bytes;

/// The `data` object of a command, as `GET /request-status/{id}` serves it and `/ws`
/// pushes it: `{"type":"X-DPT-CAB-ID","id","command_status","body","result"?}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CommandData {
    /// Always `X-DPT-CAB-ID`.
    #[schema(pattern = "^X-DPT-CAB-ID$")]
    pub r#type: &'static str,
    /// The command id.
    pub id: String,
    /// 1 pending, 2 succeeded, 3 failed.
    #[schema(minimum = 1, maximum = 3)]
    pub command_status: u8,
    /// What the command did.
    pub body: String,
    /// Values the command produced, e.g. `deviceIdentifier` (absent when none).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<std::collections::BTreeMap<String, String>>)]
    pub result: Option<Map<String, Value>>,
}

impl From<&CommandRecord> for CommandData {
    fn from(rec: &CommandRecord) -> Self {
        Self {
            r#type: "X-DPT-CAB-ID",
            id: rec.id.hyphenated().to_string(),
            command_status: rec.status as u8,
            body: rec.body.clone(),
            result: (!rec.result.is_empty()).then(|| {
                rec.result
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone().into()))
                    .collect()
            }),
        }
    }
}

/// The [`CommandData`] of `rec` as a JSON value (what the push signs).
#[must_use]
pub fn command_data(rec: &CommandRecord) -> Value {
    serde_json::to_value(CommandData::from(rec)).unwrap_or(Value::Null)
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
