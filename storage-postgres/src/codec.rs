//! Records ↔ columns: the enum numbers (core's tags, [`ProfileKind::tag`] and the like,
//! which the redb and sled layouts store too), the column lists of each table, and
//! decoding a row into its record. A value that does not fit (an unknown enum number, a
//! digest of the wrong length, a negative version) is `StoreError::Corrupt` naming the
//! table and key, never a panic.

use sqlx::Row;
use sqlx::postgres::PgRow;
use tessera_core::store::{
    ApiKeyRecord, CommandRecord, CommandStatus, ConsentRecord, DeviceInfo, DeviceRoles, IdTokenAlg,
    OAuthClientRecord, OAuthGrantRecord, ProfileRecord, QrRecord, ResolvedToken, ServerUserRecord,
    StoreResult, ThrottleRecord, TokenRecord,
};
use tessera_core::{ProfileKind, ProfileState, Timestamp, TokenDigest, TokenKind};
use uuid::Uuid;

use crate::error::{corrupt, from_sqlx};

/// The columns of `profiles` that [`profile`] reads, in its order.
pub(crate) const PROFILE_COLUMNS: &str = "id, kind, state, username, password_hash, \
    password_temporary, public_key, owner_id, environments, device_id, device_roles, \
    device_name, device_meta, created_at, updated_at, version";

/// The columns of `tokens` that [`token`] reads.
pub(crate) const TOKEN_COLUMNS: &str = "digest, profile_id, kind, issued_at, expires_at, family";

/// The columns of `qr_tokens` that [`qr`] reads.
pub(crate) const QR_COLUMNS: &str = "digest, owner_id, issued_at, expires_at, device_name";

/// The columns of `commands` that [`command`] reads.
pub(crate) const COMMAND_COLUMNS: &str =
    "id, profile_id, status, body, result_names, result_values, created_at, expires_at";

/// The columns of `external_users` that [`server_user`] reads.
pub(crate) const SERVER_USER_COLUMNS: &str =
    "external_id, profile_id, email, metadata, created_at, updated_at";

/// The columns of `oauth_clients` that [`client`] reads.
pub(crate) const CLIENT_COLUMNS: &str = "id, owner_id, name, confidential, redirect_uris, \
    scopes, id_token_alg, secret, pending_secret, first_party, created_at, updated_at, version";

/// The columns of `oauth_grants g` that [`grant`] reads, named `g_…` so that they can be
/// selected beside a token's and a profile's.
pub(crate) const GRANT_COLUMNS: &str = "g.id AS g_id, g.client_id AS g_client_id, \
    g.profile_id AS g_profile_id, g.scopes AS g_scopes, g.redirect_uri AS g_redirect_uri, \
    g.code_challenge AS g_code_challenge, g.nonce AS g_nonce, g.auth_time AS g_auth_time, \
    g.created_at AS g_created_at, g.expires_at AS g_expires_at";

/// The columns of `oauth_consents` that [`consent`] reads.
pub(crate) const CONSENT_COLUMNS: &str = "profile_id, client_id, scopes, granted_at";

/// Profile kind as stored: core's [`ProfileKind::tag`] as `smallint`.
pub(crate) fn kind_to_i16(k: ProfileKind) -> i16 {
    i16::from(k.tag())
}

fn kind_from_i16(n: i16) -> Option<ProfileKind> {
    u8::try_from(n).ok().and_then(ProfileKind::from_tag)
}

/// Profile state as stored: core's [`ProfileState::tag`] as `smallint`.
pub(crate) fn state_to_i16(s: ProfileState) -> i16 {
    i16::from(s.tag())
}

fn state_from_i16(n: i16) -> Option<ProfileState> {
    u8::try_from(n).ok().and_then(ProfileState::from_tag)
}

/// Token kind as stored.
pub(crate) fn token_kind_to_i16(k: TokenKind) -> i16 {
    i16::from(k.tag())
}

/// An application's id token algorithm as stored: core's [`IdTokenAlg::tag`].
pub(crate) fn alg_to_i16(a: IdTokenAlg) -> i16 {
    i16::from(a.tag())
}

fn alg_from_i16(n: i16) -> Option<IdTokenAlg> {
    u8::try_from(n).ok().and_then(IdTokenAlg::from_tag)
}

/// A `u64` version or counter as `bigint`.
pub(crate) fn to_i64(n: u64, what: &str) -> StoreResult<i64> {
    i64::try_from(n).map_err(|_| {
        tessera_core::StoreError::Backend(format!("{what} {n} does not fit a PostgreSQL bigint"))
    })
}

fn get<'r, T>(row: &'r PgRow, column: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(column).map_err(from_sqlx)
}

fn digest_of(bytes: &[u8], table: &str) -> StoreResult<TokenDigest> {
    <[u8; 32]>::try_from(bytes)
        .map(TokenDigest)
        .map_err(|_| corrupt(table, hex(bytes), "a digest is not 32 bytes"))
}

/// Lowercase hex, for error locations.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn version_of(n: i64, table: &str, key: impl std::fmt::Display) -> StoreResult<u64> {
    u64::try_from(n).map_err(|_| corrupt(table, key, format!("negative version {n}")))
}

/// A `profiles` row (columns [`PROFILE_COLUMNS`]).
pub(crate) fn profile(row: &PgRow) -> StoreResult<ProfileRecord> {
    let id: Uuid = get(row, "id")?;
    let bad = |what: &str| corrupt("profiles", id, what);
    let kind = kind_from_i16(get(row, "kind")?).ok_or_else(|| bad("unknown profile kind"))?;
    let state = state_from_i16(get(row, "state")?).ok_or_else(|| bad("unknown profile state"))?;
    let public_key = get::<Option<Vec<u8>>>(row, "public_key")?
        .map(|k| <[u8; 32]>::try_from(k.as_slice()))
        .transpose()
        .map_err(|_| bad("a public key is not 32 bytes"))?;
    let device = match (
        get::<Option<Uuid>>(row, "device_id")?,
        get::<Option<i16>>(row, "device_roles")?,
    ) {
        (Some(device_id), Some(roles)) => Some(DeviceInfo {
            device_id,
            name: get(row, "device_name")?,
            roles: DeviceRoles(u8::try_from(roles).map_err(|_| bad("device roles out of range"))?),
            meta: get(row, "device_meta")?,
        }),
        (None, None) => None,
        _ => return Err(bad("device id and roles are not set together")),
    };
    Ok(ProfileRecord {
        id,
        kind,
        username: get(row, "username")?,
        password_hash: get(row, "password_hash")?,
        password_temporary: get(row, "password_temporary")?,
        state,
        public_key,
        owner: get(row, "owner_id")?,
        device,
        environments: get(row, "environments")?,
        created_at: Timestamp(get(row, "created_at")?),
        updated_at: Timestamp(get(row, "updated_at")?),
        version: version_of(get(row, "version")?, "profiles", id)?,
    })
}

fn token_kind(n: i16, digest: &TokenDigest) -> StoreResult<TokenKind> {
    u8::try_from(n)
        .ok()
        .and_then(TokenKind::from_tag)
        .ok_or_else(|| corrupt("tokens", hex(&digest.0), format!("unknown token kind {n}")))
}

/// A `tokens` row (columns [`TOKEN_COLUMNS`]).
pub(crate) fn token(row: &PgRow) -> StoreResult<TokenRecord> {
    let digest = digest_of(&get::<Vec<u8>>(row, "digest")?, "tokens")?;
    Ok(TokenRecord {
        kind: token_kind(get(row, "kind")?, &digest)?,
        profile_id: get(row, "profile_id")?,
        issued_at: Timestamp(get(row, "issued_at")?),
        expires_at: Timestamp(get(row, "expires_at")?),
        family: get(row, "family")?,
        digest,
    })
}

/// The verify row: token `digest` joined with its profile (see
/// [`crate::store::tokens::RESOLVE`]).
pub(crate) fn resolved(row: &PgRow, digest: TokenDigest) -> StoreResult<ResolvedToken> {
    let profile_id: Uuid = get(row, "id")?;
    let bad = |what: &str| corrupt("profiles", profile_id, what);
    Ok(ResolvedToken {
        profile_id,
        kind: kind_from_i16(get(row, "kind")?).ok_or_else(|| bad("unknown profile kind"))?,
        state: state_from_i16(get(row, "state")?).ok_or_else(|| bad("unknown profile state"))?,
        owner: get(row, "owner_id")?,
        environments: get(row, "environments")?,
        token_kind: token_kind(get(row, "token_kind")?, &digest)?,
        issued_at: Timestamp(get(row, "issued_at")?),
        expires_at: Timestamp(get(row, "expires_at")?),
        token: digest,
    })
}

/// A `qr_tokens` row (columns [`QR_COLUMNS`]).
pub(crate) fn qr(row: &PgRow) -> StoreResult<QrRecord> {
    Ok(QrRecord {
        digest: digest_of(&get::<Vec<u8>>(row, "digest")?, "qr_tokens")?,
        owner: get(row, "owner_id")?,
        issued_at: Timestamp(get(row, "issued_at")?),
        expires_at: Timestamp(get(row, "expires_at")?),
        device_name: get(row, "device_name")?,
    })
}

/// Command status as stored.
pub(crate) fn status_to_i16(s: CommandStatus) -> i16 {
    i16::from(s as u8)
}

/// A `commands` row (columns [`COMMAND_COLUMNS`]).
pub(crate) fn command(row: &PgRow) -> StoreResult<CommandRecord> {
    let id: Uuid = get(row, "id")?;
    let status: i16 = get(row, "status")?;
    let status = u8::try_from(status)
        .ok()
        .and_then(CommandStatus::from_u8)
        .ok_or_else(|| corrupt("commands", id, format!("unknown command status {status}")))?;
    let names: Vec<String> = get(row, "result_names")?;
    let values: Vec<String> = get(row, "result_values")?;
    if names.len() != values.len() {
        return Err(corrupt(
            "commands",
            id,
            "result names and values differ in count",
        ));
    }
    Ok(CommandRecord {
        id,
        profile_id: get(row, "profile_id")?,
        status,
        body: get(row, "body")?,
        result: names.into_iter().zip(values).collect(),
        created_at: Timestamp(get(row, "created_at")?),
        expires_at: Timestamp(get(row, "expires_at")?),
    })
}

/// A `throttle` row (`failures, last_failure`) of `key`.
pub(crate) fn throttle(row: &PgRow, key: &str) -> StoreResult<ThrottleRecord> {
    let failures: i64 = get(row, "failures")?;
    Ok(ThrottleRecord {
        failures: u32::try_from(failures)
            .map_err(|_| corrupt("throttle", key, format!("failure count {failures}")))?,
        last_failure: Timestamp(get(row, "last_failure")?),
    })
}

/// An `api_keys` row (`name, created_at`) of `digest`.
pub(crate) fn api_key(row: &PgRow, digest: TokenDigest) -> StoreResult<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        digest,
        name: get(row, "name")?,
        created_at: Timestamp(get(row, "created_at")?),
    })
}

/// An `external_users` row (columns [`SERVER_USER_COLUMNS`]).
pub(crate) fn server_user(row: &PgRow) -> StoreResult<ServerUserRecord> {
    Ok(ServerUserRecord {
        external_id: get(row, "external_id")?,
        profile_id: get(row, "profile_id")?,
        email: get(row, "email")?,
        metadata: get(row, "metadata")?,
        created_at: Timestamp(get(row, "created_at")?),
        updated_at: Timestamp(get(row, "updated_at")?),
    })
}

/// An `oauth_clients` row (columns [`CLIENT_COLUMNS`]).
pub(crate) fn client(row: &PgRow) -> StoreResult<OAuthClientRecord> {
    let id: Uuid = get(row, "id")?;
    let bad = |what: &str| corrupt("oauth_clients", id, what);
    let alg: i16 = get(row, "id_token_alg")?;
    let secret = get::<Option<Vec<u8>>>(row, "secret")?
        .map(|d| <[u8; 32]>::try_from(d.as_slice()).map(TokenDigest))
        .transpose()
        .map_err(|_| bad("a secret digest is not 32 bytes"))?;
    Ok(OAuthClientRecord {
        id,
        owner: get(row, "owner_id")?,
        name: get(row, "name")?,
        confidential: get(row, "confidential")?,
        redirect_uris: get(row, "redirect_uris")?,
        scopes: get(row, "scopes")?,
        id_token_alg: alg_from_i16(alg)
            .ok_or_else(|| bad(&format!("unknown id token algorithm {alg}")))?,
        secret,
        pending_secret: get(row, "pending_secret")?,
        first_party: get(row, "first_party")?,
        created_at: Timestamp(get(row, "created_at")?),
        updated_at: Timestamp(get(row, "updated_at")?),
        version: version_of(get(row, "version")?, "oauth_clients", id)?,
    })
}

/// An `oauth_grants` row (columns [`GRANT_COLUMNS`]).
pub(crate) fn grant(row: &PgRow) -> StoreResult<OAuthGrantRecord> {
    Ok(OAuthGrantRecord {
        id: get(row, "g_id")?,
        client_id: get(row, "g_client_id")?,
        profile_id: get(row, "g_profile_id")?,
        scopes: get(row, "g_scopes")?,
        redirect_uri: get(row, "g_redirect_uri")?,
        code_challenge: get(row, "g_code_challenge")?,
        nonce: get(row, "g_nonce")?,
        auth_time: Timestamp(get(row, "g_auth_time")?),
        created_at: Timestamp(get(row, "g_created_at")?),
        expires_at: Timestamp(get(row, "g_expires_at")?),
    })
}

/// An `oauth_consents` row (columns [`CONSENT_COLUMNS`]).
pub(crate) fn consent(row: &PgRow) -> StoreResult<ConsentRecord> {
    Ok(ConsentRecord {
        profile_id: get(row, "profile_id")?,
        client_id: get(row, "client_id")?,
        scopes: get(row, "scopes")?,
        granted_at: Timestamp(get(row, "granted_at")?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_numbers_round_trip() {
        for k in [ProfileKind::User, ProfileKind::Device] {
            assert_eq!(kind_from_i16(kind_to_i16(k)), Some(k));
        }
        for s in [
            ProfileState::Incomplete,
            ProfileState::Pending,
            ProfileState::Active,
            ProfileState::Rejected,
            ProfileState::Removed,
        ] {
            assert_eq!(state_from_i16(state_to_i16(s)), Some(s));
        }
        assert_eq!(kind_from_i16(0), None);
        assert_eq!(state_from_i16(6), None);
        let d = TokenDigest([0; 32]);
        for k in TokenKind::ALL {
            assert_eq!(token_kind(token_kind_to_i16(k), &d).unwrap(), k);
        }
        for a in [IdTokenAlg::Rs256, IdTokenAlg::EdDsa] {
            assert_eq!(alg_from_i16(alg_to_i16(a)), Some(a));
        }
        assert_eq!(alg_from_i16(3), None);
        assert_eq!(alg_from_i16(-1), None);
        assert!(matches!(
            token_kind(99, &d),
            Err(tessera_core::StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn out_of_range_numbers_are_errors() {
        assert!(to_i64(u64::MAX, "version").is_err());
        assert_eq!(to_i64(7, "version").unwrap(), 7);
        assert!(version_of(-1, "profiles", "x").is_err());
        assert!(digest_of(&[1, 2], "tokens").is_err());
    }
}
