//! The layouts of OAuth applications, grants and consents (see the tables in
//! [`crate::codec`]).

use tessera_core::Timestamp;
use tessera_core::store::{ConsentRecord, IdTokenAlg, OAuthClientRecord, OAuthGrantRecord};
use tessera_core::token::TokenDigest;
use uuid::Uuid;

use super::bytes::{DecodeError, Reader, Writer};

const C_CONFIDENTIAL: u8 = 1;
const C_FIRST_PARTY: u8 = 2;
const C_SECRET: u8 = 4;
const C_PENDING: u8 = 8;
const G_REDIRECT: u8 = 1;
const G_CHALLENGE: u8 = 2;
const G_NONCE: u8 = 4;

/// Bytes of `strs(v)`.
fn strs_len(v: &[String]) -> usize {
    4 + v.iter().map(|s| 4 + s.len()).sum::<usize>()
}

/// Encode an application (its id is the key).
pub(crate) fn encode_client(c: &OAuthClientRecord) -> Vec<u8> {
    let mut flags = 0;
    for (on, bit) in [
        (c.confidential, C_CONFIDENTIAL),
        (c.first_party, C_FIRST_PARTY),
        (c.secret.is_some(), C_SECRET),
        (c.pending_secret.is_some(), C_PENDING),
    ] {
        if on {
            flags |= bit;
        }
    }
    let pending = c.pending_secret.as_deref();
    let mut w = Writer::with_capacity(
        78 + c.name.len()
            + strs_len(&c.redirect_uris)
            + strs_len(&c.scopes)
            + pending.map_or(0, |p| 4 + p.len()),
    );
    w.bytes(c.owner.as_bytes());
    w.u8(flags);
    w.u8(c.id_token_alg.tag());
    w.i64(c.created_at.0);
    w.i64(c.updated_at.0);
    w.u64(c.version);
    if let Some(s) = &c.secret {
        w.bytes(&s.0);
    }
    w.str(&c.name);
    w.strs(&c.redirect_uris);
    w.strs(&c.scopes);
    if let Some(p) = pending {
        w.str(p);
    }
    w.finish()
}

/// Decode an application stored under `id`.
pub(crate) fn decode_client(id: Uuid, data: &[u8]) -> Result<OAuthClientRecord, DecodeError> {
    let mut r = Reader::new(data);
    let owner = Uuid::from_bytes(r.array()?);
    let flags = r.u8()?;
    if flags & !(C_CONFIDENTIAL | C_FIRST_PARTY | C_SECRET | C_PENDING) != 0 {
        return Err(r.error_before(1, "unknown client flag bits"));
    }
    let id_token_alg =
        IdTokenAlg::from_tag(r.u8()?).ok_or(r.error_before(1, "unknown id token algorithm"))?;
    let created_at = Timestamp(r.i64()?);
    let updated_at = Timestamp(r.i64()?);
    let version = r.u64()?;
    let secret = (flags & C_SECRET != 0)
        .then(|| r.array().map(TokenDigest))
        .transpose()?;
    let name = r.str()?.to_owned();
    let redirect_uris = r.strs()?;
    let scopes = r.strs()?;
    let pending_secret = (flags & C_PENDING != 0)
        .then(|| r.str())
        .transpose()?
        .map(str::to_owned);
    r.end()?;
    Ok(OAuthClientRecord {
        id,
        owner,
        name,
        confidential: flags & C_CONFIDENTIAL != 0,
        redirect_uris,
        scopes,
        id_token_alg,
        secret,
        pending_secret,
        first_party: flags & C_FIRST_PARTY != 0,
        created_at,
        updated_at,
        version,
    })
}

/// Encode a grant (its id is the key).
pub(crate) fn encode_grant(g: &OAuthGrantRecord) -> Vec<u8> {
    let optional = [
        (g.redirect_uri.as_deref(), G_REDIRECT),
        (g.code_challenge.as_deref(), G_CHALLENGE),
        (g.nonce.as_deref(), G_NONCE),
    ];
    let flags = optional
        .iter()
        .filter(|(v, _)| v.is_some())
        .fold(0, |f, (_, bit)| f | bit);
    let text: usize = optional
        .iter()
        .filter_map(|(v, _)| v.map(|s| 4 + s.len()))
        .sum();
    let mut w = Writer::with_capacity(57 + strs_len(&g.scopes) + text);
    w.bytes(g.client_id.as_bytes());
    w.bytes(g.profile_id.as_bytes());
    w.i64(g.auth_time.0);
    w.i64(g.created_at.0);
    w.i64(g.expires_at.0);
    w.u8(flags);
    w.strs(&g.scopes);
    for s in optional.iter().filter_map(|(v, _)| *v) {
        w.str(s);
    }
    w.finish()
}

/// Decode a grant stored under `id`.
pub(crate) fn decode_grant(id: Uuid, data: &[u8]) -> Result<OAuthGrantRecord, DecodeError> {
    let mut r = Reader::new(data);
    let client_id = Uuid::from_bytes(r.array()?);
    let profile_id = Uuid::from_bytes(r.array()?);
    let auth_time = Timestamp(r.i64()?);
    let created_at = Timestamp(r.i64()?);
    let expires_at = Timestamp(r.i64()?);
    let flags = r.u8()?;
    if flags & !(G_REDIRECT | G_CHALLENGE | G_NONCE) != 0 {
        return Err(r.error_before(1, "unknown grant flag bits"));
    }
    let scopes = r.strs()?;
    let mut optional = |bit: u8| -> Result<Option<String>, DecodeError> {
        (flags & bit != 0)
            .then(|| r.str().map(str::to_owned))
            .transpose()
    };
    let redirect_uri = optional(G_REDIRECT)?;
    let code_challenge = optional(G_CHALLENGE)?;
    let nonce = optional(G_NONCE)?;
    r.end()?;
    Ok(OAuthGrantRecord {
        id,
        client_id,
        profile_id,
        scopes,
        redirect_uri,
        code_challenge,
        nonce,
        auth_time,
        created_at,
        expires_at,
    })
}

/// Encode a consent (profile and client are the key).
pub(crate) fn encode_consent(c: &ConsentRecord) -> Vec<u8> {
    let mut w = Writer::with_capacity(8 + strs_len(&c.scopes));
    w.i64(c.granted_at.0);
    w.strs(&c.scopes);
    w.finish()
}

/// Decode the consent of `profile` to `client`.
pub(crate) fn decode_consent(
    profile: Uuid,
    client: Uuid,
    data: &[u8],
) -> Result<ConsentRecord, DecodeError> {
    let mut r = Reader::new(data);
    let granted_at = Timestamp(r.i64()?);
    let scopes = r.strs()?;
    r.end()?;
    Ok(ConsentRecord {
        profile_id: profile,
        client_id: client,
        scopes,
        granted_at,
    })
}
