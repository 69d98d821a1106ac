//! Device clients: every device profile is a confidential OAuth client of its own.
//!
//! Its client id is the device's profile id; its secret is derived, never stored:
//! `tsd_` + base64url(HMAC-SHA256(server key seed, "tessera device client" ‖ profile id
//! bytes)). Removing the device ends it, as a removed device cannot authenticate and its
//! tokens are revoked with it; rotating the server key would change every device's secret.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use uuid::Uuid;

use super::super::Engine;
use super::clients::ClientSecret;
use crate::error::{Error, Result};

/// Prefix of derived device client secrets.
pub const DEVICE_SECRET_PREFIX: &str = "tsd_";

const DOMAIN: &[u8] = b"tessera device client";

impl Engine {
    /// The client secret of the device whose profile id is `device`.
    pub(crate) async fn device_client_secret(&self, device: Uuid) -> Result<ClientSecret> {
        let seed = self.server_key().await?.seed();
        let mut mac = Hmac::<Sha256>::new_from_slice(seed.as_ref())
            .map_err(|_| Error::Config("HMAC key".into()))?;
        mac.update(DOMAIN);
        mac.update(device.as_bytes());
        let tag = mac.finalize().into_bytes();
        let mut s = String::with_capacity(DEVICE_SECRET_PREFIX.len() + 43);
        s.push_str(DEVICE_SECRET_PREFIX);
        URL_SAFE_NO_PAD.encode_string(tag, &mut s);
        Ok(ClientSecret::from_text(s))
    }
}
