//! # tessera-message
//!
//! The message-token adapter: authenticate a JSON message that carries its authorization
//! token in a `token` field (API.md "Message channel"), whatever brought it — a WebSocket,
//! a queue, a file.
//!
//! A message is one JSON object:
//!
//! ```json
//! {"token":"tsa_…","type":"device.ping","correlationId":"c-1",
//!  "timestamp":"2026-02-21T15:33:44Z","nonce":"4f7c1d0e9a2b48d6",
//!  "payload":{"any":"JSON"},"signature":"<128 lowercase hex>"}
//! ```
//!
//! [`MessageAuthenticator::authenticate`] checks, in this order: size (64 KiB) and shape
//! (depth 32, no duplicated keys, no unknown fields, integers within ±(2^53−1)); the
//! signature's encoding; the timestamp (±300 s of the injected [`Clock`]); the token, with
//! the same engine call, errors and state guard as the `X-DPT-AUTHORIZATION` header; the
//! signature, when present or required by the [`MessagePolicy`]; and finally the nonce,
//! which is claimed in the store ([`Engine::claim_nonce`]) until the timestamp leaves the
//! window, so a message accepted by one process is a replay to every process on the store.
//! A bounded per-process cache of the nonces claimed here answers a replay without a store
//! call and bounds what one profile may claim per window.
//!
//! **Signing rule.** `signature` is the Ed25519 signature, by the key the profile
//! registered with `register-public-key`, over the RFC 8785 (JSON Canonicalization Scheme)
//! bytes of the message object without its `signature` field — `token` included, so a
//! signature cannot be moved to another profile's token. It is written as 128 lowercase hex
//! characters; S must be reduced (a malleated signature is `non_canonical_signature`), and
//! the check is `verify_strict`. Canonicalization uses the `serde_json_canonicalizer` crate
//! ([`canonical_bytes`] exposes it). Any JSON encoding of a message is accepted (it is
//! canonicalized before checking) unless [`MessagePolicy::canonical_encoding`] asks for
//! the canonical encoding itself.
//!
//! Every refusal is a [`MessageError`] with a stable code: `message_too_large`,
//! `malformed_message`, the engine's token codes (`unauthorized`, `profile_incomplete`,
//! `device_pending`, `device_rejected`, `storage_unavailable`), `stale_timestamp`,
//! `invalid_signature` (missing when required, or not verifying — a changed byte, another
//! profile's key or token), `malformed_signature` (not 64 bytes, e.g. 63 or 65; not lowercase
//! hex), `non_canonical_signature`, `replayed_nonce`, `replay_cache_full`.

#![forbid(unsafe_code)]

mod error;
mod parse;
mod policy;
mod replay;
mod signature;

use std::sync::Arc;

use serde_json::Value;
use tessera_core::{Clock, Engine, Operation, Principal, ProfileState, Timestamp};

pub use error::MessageError;
pub use policy::{DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, DEFAULT_WINDOW_SECS, MessagePolicy};
pub use signature::canonical_bytes;

use replay::ReplayCache;

/// A message that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthenticatedMessage {
    /// Who holds the message's token (as [`Engine::verify`] returns it).
    pub principal: Principal,
    /// The message's `type`.
    pub message_type: String,
    /// The message's `correlationId`.
    pub correlation_id: String,
    /// The message's `timestamp`, in whole seconds.
    pub timestamp: Timestamp,
    /// The message's `nonce`.
    pub nonce: String,
    /// The message's `payload` (any JSON value; `null` when the message said so).
    pub payload: Value,
    /// Whether the message carried a signature (then it verified).
    pub signed: bool,
}

/// Authenticates messages against an engine, with a policy and a nonce replay guard (the
/// store's claims, shared by every process, behind a per-process bounded cache). Share one
/// per process (e.g. in an `Arc`).
#[derive(Debug)]
pub struct MessageAuthenticator {
    engine: Arc<Engine>,
    clock: Arc<dyn Clock>,
    policy: MessagePolicy,
    replay: ReplayCache,
}

impl MessageAuthenticator {
    /// An authenticator over `engine`, reading the time from `clock` (use the engine's
    /// clock, e.g. [`tessera_core::SystemClock`], or a `ManualClock` in tests).
    pub fn new(engine: Arc<Engine>, clock: Arc<dyn Clock>, policy: MessagePolicy) -> Self {
        let replay = ReplayCache::new(policy.replay_capacity, policy.replay_per_profile);
        Self {
            engine,
            clock,
            policy,
            replay,
        }
    }

    /// The policy in force.
    #[must_use]
    pub const fn policy(&self) -> &MessagePolicy {
        &self.policy
    }

    /// Authenticate the raw bytes of one message with the policy's state guard.
    pub async fn authenticate(&self, bytes: &[u8]) -> Result<AuthenticatedMessage, MessageError> {
        self.authenticate_for(bytes, self.policy.operation).await
    }

    /// Authenticate the raw bytes of one message, applying the state guard of `op` (as
    /// the HTTP route for that operation would) instead of the policy's.
    pub async fn authenticate_for(
        &self,
        bytes: &[u8],
        op: Operation,
    ) -> Result<AuthenticatedMessage, MessageError> {
        let policy = &self.policy;
        if bytes.len() > policy.max_bytes {
            return Err(MessageError::TooLarge {
                max: policy.max_bytes,
            });
        }
        let value = parse::parse_bounded(bytes, policy.max_depth)?;
        if policy.canonical_encoding && canonical_bytes(&value)? != bytes {
            return Err(MessageError::malformed(
                "the message is not in RFC 8785 canonical form",
            ));
        }
        let parse::Fields {
            mut object,
            signature,
            timestamp,
        } = parse::fields(value)?;
        let signature = signature.as_ref().map(signature::decode).transpose()?;
        if signature.is_none() && policy.require_signature {
            return Err(MessageError::MissingSignature);
        }
        let now = self.clock.now();
        if now.0.abs_diff(timestamp.0) > policy.window_secs {
            return Err(MessageError::StaleTimestamp {
                window_secs: policy.window_secs,
            });
        }
        let token = object.get("token").and_then(Value::as_str).unwrap_or("");
        let principal = self.engine.verify(token).await?;
        principal.require(op)?;
        if let Some(sig) = &signature {
            let key = self.registered_key(&principal).await?;
            key.verify(&canonical_bytes(&object)?, sig)
                .map_err(|_| MessageError::InvalidSignature("the signature does not verify"))?;
        }
        let take = |object: &mut serde_json::Map<String, Value>, k: &str| match object.remove(k) {
            Some(Value::String(s)) => s,
            _ => String::new(), // checked by parse::fields
        };
        let nonce = take(&mut object, "nonce");
        let expires = timestamp.0.saturating_add_unsigned(policy.window_secs);
        self.replay.admit(principal.profile_id, &nonce, now.0)?;
        // the claim lasts while the timestamp check still accepts the message: to `expires`
        // inclusive, so it expires at the next second
        let claim_until = Timestamp(expires.saturating_add(1));
        if !self
            .engine
            .claim_nonce(principal.profile_id, &nonce, claim_until)
            .await?
        {
            return Err(MessageError::ReplayedNonce);
        }
        self.replay.remember(principal.profile_id, &nonce, expires);
        Ok(AuthenticatedMessage {
            message_type: take(&mut object, "type"),
            correlation_id: take(&mut object, "correlationId"),
            payload: object.remove("payload").unwrap_or(Value::Null),
            principal,
            timestamp,
            nonce,
            signed: signature.is_some(),
        })
    }

    /// The public key registered by the token's own profile.
    ///
    /// `Engine::public_key` applies the active-only guard (it serves other profiles' keys
    /// too); reading one's own key to check one's own signature is allowed in every state
    /// the caller's operation admits, so the lookup is made as an active principal of the
    /// same profile. The state guard of the message was applied before.
    async fn registered_key(
        &self,
        principal: &Principal,
    ) -> Result<tessera_core::PublicKey, MessageError> {
        let mut own = principal.clone();
        own.state = ProfileState::Active;
        match self.engine.public_key(&own, None).await {
            Ok(key) => Ok(key),
            Err(tessera_core::Error::NotFound) => Err(MessageError::InvalidSignature(
                "the profile has no registered public key",
            )),
            Err(e) => Err(e.into()),
        }
    }
}
