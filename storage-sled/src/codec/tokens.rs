//! The token layout (see [`crate::codec`]), and the fixed-field view verify and the token
//! index read without allocating.

use tessera_core::store::TokenRecord;
use tessera_core::{Timestamp, TokenDigest, TokenKind};
use uuid::Uuid;

use super::bytes::{Reader, Result, Writer};

/// Encode a token (its digest is the key).
pub(crate) fn encode_token(t: &TokenRecord) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(50));
    w.uuid(t.profile_id);
    w.u8(t.kind.tag());
    w.time(t.issued_at);
    w.time(t.expires_at);
    w.opt(t.family, Writer::uuid);
    w.0
}

/// The fixed fields of a token value, decoded without allocating.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokenView {
    /// Owner profile.
    pub profile_id: Uuid,
    /// What the token is for (any kind but QR and API key).
    pub kind: TokenKind,
    /// Issue time.
    pub issued_at: Timestamp,
    /// Expiry.
    pub expires_at: Timestamp,
    /// Refresh family.
    pub family: Option<Uuid>,
}

/// Decode a token value.
pub(crate) fn decode_token_view(b: &[u8]) -> Result<TokenView> {
    let mut r = Reader::new(b);
    let profile_id = r.uuid()?;
    let kind = TokenKind::from_tag(r.u8()?).ok_or_else(|| r.bad_tag("unknown token kind"))?;
    let issued_at = r.time()?;
    let expires_at = r.time()?;
    let family = r.opt(Reader::uuid)?;
    r.end()?;
    Ok(TokenView {
        profile_id,
        kind,
        issued_at,
        expires_at,
        family,
    })
}

/// Decode a token stored under `digest`.
pub(crate) fn decode_token(digest: TokenDigest, b: &[u8]) -> Result<TokenRecord> {
    let v = decode_token_view(b)?;
    Ok(TokenRecord {
        digest,
        profile_id: v.profile_id,
        kind: v.kind,
        issued_at: v.issued_at,
        expires_at: v.expires_at,
        family: v.family,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_layout_is_fixed() {
        let t = TokenRecord {
            digest: TokenDigest([1; 32]),
            profile_id: Uuid::new_v4(),
            kind: TokenKind::Refresh,
            issued_at: Timestamp(10),
            expires_at: Timestamp(20),
            family: None,
        };
        let b = encode_token(&t);
        assert_eq!(b.len(), 34);
        assert_eq!(&b[..16], t.profile_id.as_bytes());
        assert_eq!(b[16], 2);
        assert_eq!(&b[17..25], &10i64.to_le_bytes());
        assert_eq!(decode_token(t.digest, &b).unwrap(), t);
        let mut bad = b.clone();
        bad[16] = 14;
        assert_eq!(
            decode_token_view(&bad).unwrap_err().what,
            "unknown token kind"
        );
        bad[16] = 0;
        assert_eq!(
            decode_token_view(&bad).unwrap_err().what,
            "unknown token kind"
        );
    }

    #[test]
    fn every_token_kind_and_family_round_trips() {
        let family = Uuid::new_v4();
        for (kind, tag) in [
            (TokenKind::Authorization, 1),
            (TokenKind::Refresh, 2),
            (TokenKind::RefreshUsed, 5),
            (TokenKind::ResetCode, 6),
            (TokenKind::Session, 7),
            (TokenKind::OAuthAccess, 8),
            (TokenKind::OAuthRefresh, 9),
            (TokenKind::OAuthRefreshUsed, 10),
            (TokenKind::OAuthCode, 11),
            (TokenKind::OAuthCodeUsed, 12),
            (TokenKind::Browser, 13),
        ] {
            let t = TokenRecord {
                digest: TokenDigest([3; 32]),
                profile_id: Uuid::new_v4(),
                kind,
                issued_at: Timestamp(-1),
                expires_at: Timestamp(i64::MAX),
                family: Some(family),
            };
            let b = encode_token(&t);
            assert_eq!(b.len(), 50);
            assert_eq!(b[16], tag, "{kind:?}");
            assert_eq!(b[33], 1);
            assert_eq!(&b[34..], family.as_bytes());
            assert_eq!(decode_token(t.digest, &b).unwrap(), t);
            assert_eq!(
                decode_token_view(&b[..49]).unwrap_err().what,
                "truncated",
                "a cut family"
            );
        }
    }
}
