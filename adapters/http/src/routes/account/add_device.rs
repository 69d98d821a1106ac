//! "Add a device": a new onboarding QR token (the engine's `generate_qr_token`, as
//! `POST /profile/generate-qr-token`), shown as its QR code (the `qrcode` crate's SVG,
//! inline, with a text alternative), its expiry and the `tessera://onboard` URI as text.
//! Every visit issues a new single-use token (`Cache-Control: no-store`); an unused one
//! expires by itself.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::super::super::AppState;
use super::super::super::pages;
use super::super::super::qr_svg;
use super::{SignedIn, unavailable, when};

#[derive(Debug, Serialize)]
struct AddDevicePage {
    /// Crate-generated SVG markup: the only value a template shows unescaped.
    qr_svg: String,
    uri: String,
    expires_at: String,
    expires_text: String,
    minutes: u64,
}

/// `GET /account/devices/add`.
pub(super) async fn page(State(s): State<AppState>, who: SignedIn) -> Response {
    let qr = match s.engine.generate_qr_token(&who.principal, None, None).await {
        Ok(q) => q,
        Err(e) => return unavailable(&e),
    };
    let Some(svg) = qr_svg::element(&qr.uri) else {
        tracing::error!("the onboarding URI does not fit a QR code");
        return pages::failure_page(&tessera_core::Error::Config("QR code".into()))
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response();
    };
    let secs = s.engine.now().secs_until(qr.expires_at);
    who.page(
        "account_add_device.html",
        "Add a device",
        AddDevicePage {
            qr_svg: svg,
            uri: qr.uri,
            expires_at: qr.expires_at.to_rfc3339(),
            expires_text: when(qr.expires_at),
            minutes: secs.div_ceil(60),
        },
    )
}
