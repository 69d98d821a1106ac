//! Devices: QR onboarding and the owner's management of their devices.

use std::fmt::Write as _;

use uuid::Uuid;

use super::oauth::ClientSecret;
use super::{Accepted, Engine};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::key::PublicKey;
use crate::principal::Principal;
use crate::profile::{self, Event, Operation, ProfileKind, ProfileState};
use crate::store::{
    Conflict, DeviceInfo, DeviceRoles, ProfileRecord, QrRecord, Revoke, StoreError,
};
use crate::token::{Token, TokenDigest, TokenKind};
use crate::username::Username;

/// Largest device metadata (a JSON object's text), in bytes.
pub(super) const MAX_META_BYTES: usize = 4096;
/// Longest device name, in characters.
pub(super) const MAX_DEVICE_NAME: usize = 64;

/// A QR onboarding token, as issued.
#[derive(Debug)]
pub struct QrIssued {
    /// The secret token text (`tsq_…`).
    pub token: Token,
    /// Valid while `now < expires_at`.
    pub expires_at: Timestamp,
    /// `tessera://onboard?token=…&server=…`: what the QR code shows.
    pub uri: String,
    /// Hex Ed25519 signature of `uri` by the server key.
    pub signature: String,
}

/// A device created from a QR token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceEnrollment {
    /// The device identifier.
    pub device_id: Uuid,
    /// The device's own profile id.
    pub profile_id: Uuid,
}

/// A device as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Device identifier.
    pub device_id: Uuid,
    /// The device's profile id.
    pub profile_id: Uuid,
    /// Name.
    pub name: Option<String>,
    /// Roles.
    pub roles: DeviceRoles,
    /// State.
    pub state: ProfileState,
    /// Metadata (JSON object text).
    pub meta: Option<String>,
    /// Creation time.
    pub created_at: Timestamp,
}

/// What `retrieve-device-configuration` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceConfiguration {
    /// The device.
    pub device: Device,
    /// Its owner.
    pub owner: Uuid,
    /// The server's public key.
    pub server_key: PublicKey,
    /// The device's OAuth client id (its profile id): the device is a confidential client
    /// of its own and gets access tokens for itself with `client_credentials`.
    pub client_id: Uuid,
    /// The device's OAuth client secret (derived from the server key, never stored; ends
    /// with the device).
    pub client_secret: ClientSecret,
}

/// The owner's view of a device profile (`None` for a user).
pub(super) fn device_view(p: &ProfileRecord) -> Option<Device> {
    let d = p.device.as_ref()?;
    Some(Device {
        device_id: d.device_id,
        profile_id: p.id,
        name: d.name.clone(),
        roles: d.roles,
        state: p.state,
        meta: d.meta.clone(),
        created_at: p.created_at,
    })
}

fn check_device_name(name: Option<&str>) -> Result<Option<String>> {
    match name {
        None | Some("") => Ok(None),
        Some(n) if n.chars().count() > MAX_DEVICE_NAME || n.chars().any(char::is_control) => {
            Err(Error::validation(
                "deviceName",
                "deviceName: at most 64 characters, no control characters",
            ))
        }
        Some(n) => Ok(Some(n.to_owned())),
    }
}

/// Percent-encode everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

impl Engine {
    /// Issue a single-use QR token for onboarding a device (active users only). `ttl_secs`
    /// must lie in the configured bounds (default 60–900, default 300).
    pub async fn generate_qr_token(
        &self,
        principal: &Principal,
        ttl_secs: Option<u64>,
        device_name: Option<&str>,
    ) -> Result<QrIssued> {
        principal.require_active()?;
        if principal.kind != ProfileKind::User {
            return Err(Error::Forbidden);
        }
        let owner = self.profile(principal.profile_id).await?;
        self.issue_qr(&owner, ttl_secs, device_name, None).await
    }

    /// Issue a QR token owned by the user `owner`; `roles`, when given, are named in the
    /// URI (`&role=…`) for the device to ask for when it redeems the token.
    pub(super) async fn issue_qr(
        &self,
        owner: &ProfileRecord,
        ttl_secs: Option<u64>,
        device_name: Option<&str>,
        roles: Option<DeviceRoles>,
    ) -> Result<QrIssued> {
        let ttl = ttl_secs.unwrap_or(self.cfg.qr_ttl_default);
        if ttl < self.cfg.qr_ttl_min || ttl > self.cfg.qr_ttl_max {
            return Err(Error::validation(
                "ttl",
                format!(
                    "ttl must be between {} and {} seconds",
                    self.cfg.qr_ttl_min, self.cfg.qr_ttl_max
                ),
            ));
        }
        let device_name = check_device_name(device_name)?;
        // The signing key before the write: failing to get it must not leave a stored QR
        // token behind.
        let server_key = self.server_key().await?;
        let token = Token::generate(TokenKind::Qr, self.rng.as_ref());
        let now = self.clock.now();
        let rec = QrRecord {
            digest: token.digest(),
            owner: owner.id,
            issued_at: now,
            expires_at: now.plus_secs(ttl),
            device_name,
        };
        match self.store.put_qr(&rec, owner.version).await {
            Ok(()) => {}
            Err(StoreError::VersionMismatch | StoreError::NotFound) => {
                return Err(Error::Unauthorized);
            }
            Err(e) => return Err(e.into()),
        }
        let mut uri = format!(
            "tessera://onboard?token={}&server={}",
            token.expose(),
            percent_encode(&self.cfg.public_url)
        );
        if let Some(r) = roles {
            let _ = write!(uri, "&role={}", percent_encode(&r.names().join(",")));
        }
        let signature = hex::encode(server_key.sign(uri.as_bytes()));
        Ok(QrIssued {
            token,
            expires_at: rec.expires_at,
            uri,
            signature,
        })
    }

    /// Redeem a QR token into a new device profile owned by the token's issuer. The device
    /// starts `incomplete`; it authenticates, registers its key (→ `pending`) and waits for
    /// approval. Single use: of many concurrent redemptions exactly one succeeds. A command
    /// of the owner ("Device registered", result `deviceIdentifier`, `profileId`).
    pub async fn redeem_qr_token(
        &self,
        qr_token: &str,
        username: &str,
        password: &str,
        device_name: Option<&str>,
        roles: Option<&str>,
    ) -> Result<Accepted<DeviceEnrollment>> {
        let digest =
            TokenDigest::of_token(TokenKind::Qr, qr_token).map_err(|_| Error::InvalidQrToken)?;
        let roles = match roles {
            None | Some("") => DeviceRoles::STORAGE,
            Some(r) => DeviceRoles::parse(r).ok_or_else(|| {
                Error::validation(
                    "role",
                    "role must be storage, authenticator or storage,authenticator",
                )
            })?,
        };
        let name = Username::parse(username)?;
        let password = self.check_new_password(password, name.as_str()).await?;
        let device_name = check_device_name(device_name)?;
        let now = self.clock.now();
        let qr = self
            .store
            .get_qr(&digest)
            .await?
            .filter(|q| q.expires_at > now)
            .ok_or(Error::InvalidQrToken)?;
        // An owner gone is an invalid QR token; a storage failure stays one (the QR token
        // may still be good, and the client must not be told to throw it away).
        let owner = match self.profile(qr.owner).await {
            Err(Error::NotFound) => return Err(Error::InvalidQrToken),
            owner => owner?,
        };
        if owner.kind != ProfileKind::User || owner.state != ProfileState::Active {
            return Err(Error::InvalidQrToken);
        }
        let hash = self.hash_password(password).await?;
        let rec = ProfileRecord {
            id: self.new_id(),
            kind: ProfileKind::Device,
            username: name.as_str().to_owned(),
            password_hash: Some(hash),
            password_temporary: false,
            state: ProfileState::Incomplete,
            public_key: None,
            owner: Some(owner.id),
            device: Some(DeviceInfo {
                device_id: self.new_id(),
                name: device_name.or(qr.device_name),
                roles,
                meta: None,
            }),
            environments: Vec::new(),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let enrollment = DeviceEnrollment {
            device_id: rec.device.as_ref().map_or(rec.id, |d| d.device_id),
            profile_id: rec.id,
        };
        // The owner follows onboarding on their channel: the command is theirs.
        let command = self.new_command(
            Some(owner.id),
            "Device registered",
            vec![
                (
                    "deviceIdentifier".to_owned(),
                    enrollment.device_id.hyphenated().to_string(),
                ),
                (
                    "profileId".to_owned(),
                    enrollment.profile_id.hyphenated().to_string(),
                ),
            ],
        );
        match self
            .store
            .create_device(&rec, &digest, self.clock.now(), Some(&command))
            .await
        {
            Ok(()) => Ok(self.accepted(enrollment, command)),
            Err(StoreError::NotFound) => Err(Error::InvalidQrToken),
            Err(StoreError::Conflict(Conflict::Username)) => Err(Error::UsernameTaken),
            Err(e) => Err(e.into()),
        }
    }

    fn require_owner(principal: &Principal) -> Result<()> {
        principal.require_active()?;
        if principal.kind == ProfileKind::User {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }

    /// The owner's devices (removed ones are not listed).
    pub async fn list_devices(&self, principal: &Principal) -> Result<Vec<Device>> {
        Self::require_owner(principal)?;
        Ok(self
            .store
            .list_devices(principal.profile_id)
            .await?
            .iter()
            .filter(|p| p.state != ProfileState::Removed)
            .filter_map(device_view)
            .collect())
    }

    /// The owner's device `device_id` (not removed). Another profile's device is
    /// `NotFound`, exactly like an unknown one.
    async fn owned_device(&self, owner: Uuid, device_id: Uuid) -> Result<ProfileRecord> {
        self.store
            .list_devices(owner)
            .await?
            .into_iter()
            .find(|p| {
                p.state != ProfileState::Removed
                    && p.device.as_ref().is_some_and(|d| d.device_id == device_id)
            })
            .ok_or(Error::NotFound)
    }

    async fn device_event(
        &self,
        principal: &Principal,
        device_id: Uuid,
        event: Event,
        body: &str,
    ) -> Result<Accepted<Device>> {
        Self::require_owner(principal)?;
        let dev = self.owned_device(principal.profile_id, device_id).await?;
        let revoke = match event {
            Event::Rejected | Event::Removed => Revoke::All,
            Event::Approved | Event::KeyRegistered => Revoke::Nothing,
        };
        let (p, command) = self
            .update_profile_command(
                dev.id,
                revoke,
                |p| {
                    p.state = profile::apply(p.kind, p.state, event)?;
                    Ok(())
                },
                |p| {
                    let result = vec![
                        (
                            "deviceIdentifier".to_owned(),
                            device_id.hyphenated().to_string(),
                        ),
                        ("state".to_owned(), p.state.as_str().to_owned()),
                    ];
                    self.new_command(Some(principal.profile_id), body, result)
                },
            )
            .await?;
        Ok(self.accepted(device_view(&p).ok_or(Error::NotFound)?, command))
    }

    /// Approve a pending device (else `validation_failed`). A command ("Device approved",
    /// result `deviceIdentifier`, `state`).
    pub async fn approve_device(
        &self,
        principal: &Principal,
        device_id: Uuid,
    ) -> Result<Accepted<Device>> {
        self.device_event(principal, device_id, Event::Approved, "Device approved")
            .await
    }

    /// Reject a device; its tokens are revoked in the same transaction. A command ("Device
    /// rejected").
    pub async fn reject_device(
        &self,
        principal: &Principal,
        device_id: Uuid,
    ) -> Result<Accepted<Device>> {
        self.device_event(principal, device_id, Event::Rejected, "Device rejected")
            .await
    }

    /// Remove a device (terminal); its tokens are revoked in the same transaction. A
    /// command ("Device removed").
    pub async fn remove_device(
        &self,
        principal: &Principal,
        device_id: Uuid,
    ) -> Result<Accepted<Device>> {
        self.device_event(principal, device_id, Event::Removed, "Device removed")
            .await
    }

    /// Set a device's metadata: a JSON object of at most 4 KiB. A command ("Device meta
    /// configured").
    pub async fn configure_device_meta(
        &self,
        principal: &Principal,
        device_id: Uuid,
        meta: &str,
    ) -> Result<Accepted<Device>> {
        Self::require_owner(principal)?;
        if meta.len() > MAX_META_BYTES {
            return Err(Error::validation("meta", "meta must be at most 4096 bytes"));
        }
        let parsed: serde_json::Value = serde_json::from_str(meta)
            .map_err(|_| Error::validation("meta", "meta must be a JSON object"))?;
        if !parsed.is_object() {
            return Err(Error::validation("meta", "meta must be a JSON object"));
        }
        let canonical = parsed.to_string();
        let dev = self.owned_device(principal.profile_id, device_id).await?;
        let (p, command) = self
            .update_profile_command(
                dev.id,
                Revoke::Nothing,
                |p| {
                    if p.state == ProfileState::Removed {
                        return Err(Error::NotFound);
                    }
                    if let Some(d) = p.device.as_mut() {
                        d.meta = Some(canonical.clone());
                    }
                    Ok(())
                },
                |_| {
                    self.new_command(
                        Some(principal.profile_id),
                        "Device meta configured",
                        Vec::new(),
                    )
                },
            )
            .await?;
        Ok(self.accepted(device_view(&p).ok_or(Error::NotFound)?, command))
    }

    /// A device's configuration, for its owner or the device itself.
    pub async fn device_configuration(
        &self,
        principal: &Principal,
        device_id: Uuid,
    ) -> Result<DeviceConfiguration> {
        principal.require(Operation::RetrieveDeviceConfiguration)?;
        let dev = match principal.kind {
            ProfileKind::User => self.owned_device(principal.profile_id, device_id).await?,
            ProfileKind::Device => {
                let me = self.profile(principal.profile_id).await?;
                if me.device.as_ref().is_some_and(|d| d.device_id == device_id) {
                    me
                } else {
                    return Err(Error::NotFound);
                }
            }
        };
        let device = device_view(&dev).ok_or(Error::NotFound)?;
        Ok(DeviceConfiguration {
            owner: dev.owner.ok_or(Error::NotFound)?,
            client_id: dev.id,
            client_secret: self.device_client_secret(dev.id).await?,
            device,
            server_key: self.server_public_key().await?,
        })
    }
}
