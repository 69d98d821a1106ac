//! The OAuth layouts (see [`crate::codec`]): applications, grants, consents.

use tessera_core::TokenDigest;
use tessera_core::store::{ConsentRecord, IdTokenAlg, OAuthClientRecord, OAuthGrantRecord};
use uuid::Uuid;

use super::bytes::{Reader, Result, Writer};

/// `flags` bit of a confidential client.
const CONFIDENTIAL: u8 = 1;
/// `flags` bit of a first-party client.
const FIRST_PARTY: u8 = 2;

fn strs(w: &mut Writer, list: &[String]) {
    w.len(list.len());
    for s in list {
        w.str(s);
    }
}

fn read_strs(r: &mut Reader<'_>) -> Result<Vec<String>> {
    let n = r.count()?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(r.str()?);
    }
    Ok(out)
}

/// Encode an application (its id is the key). The value holds the pending secret's text,
/// so the caller zeroizes it once written.
pub(crate) fn encode_client(c: &OAuthClientRecord) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(128));
    w.uuid(c.owner);
    w.str(&c.name);
    w.u8(
        if c.confidential { CONFIDENTIAL } else { 0 } | if c.first_party { FIRST_PARTY } else { 0 }
    );
    strs(&mut w, &c.redirect_uris);
    strs(&mut w, &c.scopes);
    w.u8(c.id_token_alg.tag());
    w.opt(c.secret, |w, d| w.bytes(&d.0));
    w.opt(c.pending_secret.as_deref(), Writer::str);
    w.time(c.created_at);
    w.time(c.updated_at);
    w.u64(c.version);
    w.0
}

/// Decode an application stored under `id`.
pub(crate) fn decode_client(id: Uuid, b: &[u8]) -> Result<OAuthClientRecord> {
    let mut r = Reader::new(b);
    let owner = r.uuid()?;
    let name = r.str()?;
    let flags = r.u8()?;
    if flags & !(CONFIDENTIAL | FIRST_PARTY) != 0 {
        return Err(r.bad_tag("unknown client flag bits"));
    }
    let redirect_uris = read_strs(&mut r)?;
    let scopes = read_strs(&mut r)?;
    let id_token_alg =
        IdTokenAlg::from_tag(r.u8()?).ok_or_else(|| r.bad_tag("unknown id token algorithm"))?;
    let secret = r.opt(|r| r.array::<32>().map(TokenDigest))?;
    let pending_secret = r.opt(Reader::str)?;
    let c = OAuthClientRecord {
        id,
        owner,
        name,
        confidential: flags & CONFIDENTIAL != 0,
        redirect_uris,
        scopes,
        id_token_alg,
        secret,
        pending_secret,
        first_party: flags & FIRST_PARTY != 0,
        created_at: r.time()?,
        updated_at: r.time()?,
        version: r.u64()?,
    };
    r.end()?;
    Ok(c)
}

/// Encode a grant (its id is the key).
pub(crate) fn encode_grant(g: &OAuthGrantRecord) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(128));
    w.uuid(g.client_id);
    w.uuid(g.profile_id);
    strs(&mut w, &g.scopes);
    w.opt(g.redirect_uri.as_deref(), Writer::str);
    w.opt(g.code_challenge.as_deref(), Writer::str);
    w.opt(g.nonce.as_deref(), Writer::str);
    w.time(g.auth_time);
    w.time(g.created_at);
    w.time(g.expires_at);
    w.0
}

/// Decode a grant stored under `id`.
pub(crate) fn decode_grant(id: Uuid, b: &[u8]) -> Result<OAuthGrantRecord> {
    let mut r = Reader::new(b);
    let g = OAuthGrantRecord {
        id,
        client_id: r.uuid()?,
        profile_id: r.uuid()?,
        scopes: read_strs(&mut r)?,
        redirect_uri: r.opt(Reader::str)?,
        code_challenge: r.opt(Reader::str)?,
        nonce: r.opt(Reader::str)?,
        auth_time: r.time()?,
        created_at: r.time()?,
        expires_at: r.time()?,
    };
    r.end()?;
    Ok(g)
}

/// Encode a consent (its key is profile ‖ client).
pub(crate) fn encode_consent(c: &ConsentRecord) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(64));
    strs(&mut w, &c.scopes);
    w.time(c.granted_at);
    w.0
}

/// Decode the consent of `profile` to `client`.
pub(crate) fn decode_consent(profile: Uuid, client: Uuid, b: &[u8]) -> Result<ConsentRecord> {
    let mut r = Reader::new(b);
    let c = ConsentRecord {
        profile_id: profile,
        client_id: client,
        scopes: read_strs(&mut r)?,
        granted_at: r.time()?,
    };
    r.end()?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use tessera_core::Timestamp;

    use super::*;

    fn client() -> OAuthClientRecord {
        OAuthClientRecord {
            id: Uuid::new_v4(),
            owner: Uuid::new_v4(),
            name: "Photos".into(),
            confidential: true,
            redirect_uris: vec!["https://a.example/cb".into(), "http://127.0.0.1/cb".into()],
            scopes: vec!["openid".into(), "profile".into()],
            id_token_alg: IdTokenAlg::EdDsa,
            secret: Some(TokenDigest([7; 32])),
            pending_secret: Some("tsx_secret".into()),
            first_party: false,
            created_at: Timestamp(-3),
            updated_at: Timestamp(9),
            version: 4,
        }
    }

    #[test]
    fn clients_round_trip_and_refuse_bad_bytes() {
        let mut c = client();
        let b = encode_client(&c);
        assert_eq!(decode_client(c.id, &b).unwrap(), c);
        (c.confidential, c.first_party, c.secret, c.pending_secret) = (false, true, None, None);
        c.id_token_alg = IdTokenAlg::Rs256;
        c.redirect_uris.clear();
        let b = encode_client(&c);
        assert_eq!(decode_client(c.id, &b).unwrap(), c);
        // flags byte after owner (16) and name (4 + 6)
        let mut bad = b.clone();
        bad[26] = 4;
        assert_eq!(
            decode_client(c.id, &bad).unwrap_err().what,
            "unknown client flag bits"
        );
        assert_eq!(
            decode_client(c.id, &b[..b.len() - 1]).unwrap_err().what,
            "truncated"
        );
        let mut long = b;
        long.push(0);
        assert_eq!(
            decode_client(c.id, &long).unwrap_err().what,
            "trailing bytes"
        );
    }

    #[test]
    fn grants_and_consents_round_trip() {
        let mut g = OAuthGrantRecord {
            id: Uuid::new_v4(),
            client_id: Uuid::new_v4(),
            profile_id: Uuid::new_v4(),
            scopes: vec!["openid".into(), "offline_access".into()],
            redirect_uri: Some("https://a.example/cb".into()),
            code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
            nonce: Some("n-0S6_WzA2Mj".into()),
            auth_time: Timestamp(1),
            created_at: Timestamp(2),
            expires_at: Timestamp(i64::MAX),
        };
        assert_eq!(decode_grant(g.id, &encode_grant(&g)).unwrap(), g);
        (g.redirect_uri, g.code_challenge, g.nonce) = (None, None, None);
        g.scopes.clear();
        assert_eq!(decode_grant(g.id, &encode_grant(&g)).unwrap(), g);
        let c = ConsentRecord {
            profile_id: g.profile_id,
            client_id: g.client_id,
            scopes: vec!["openid".into()],
            granted_at: Timestamp(5),
        };
        let b = encode_consent(&c);
        assert_eq!(decode_consent(c.profile_id, c.client_id, &b).unwrap(), c);
        assert!(decode_consent(c.profile_id, c.client_id, &b[..3]).is_err());
    }
}
