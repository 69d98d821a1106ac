//! The QR code of a device-onboarding URI as SVG (the `qrcode` crate's renderer): the
//! `image/svg+xml` reply of `generate-qr-token`, and inline in the account console's
//! "add a device" page.

/// Smallest side of the image, in pixels.
const MIN_SIDE: u32 = 256;

/// The QR code of `uri` as an SVG document, or `None` if `uri` is too long for a QR code.
pub(crate) fn document(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(MIN_SIDE, MIN_SIDE)
            .build(),
    )
}

/// The same as an element to put inside an HTML page: the `<svg>` without the XML
/// declaration. Only this crate-generated markup is ever inserted unescaped.
pub(crate) fn element(uri: &str) -> Option<String> {
    let svg = document(uri)?;
    let start = svg.find("<svg")?;
    Some(svg[start..].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_element_is_the_svg_alone() {
        let e = element("tessera://onboard?token=tsq_x&server=http%3A%2F%2F127.0.0.1").unwrap();
        assert!(
            e.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"") && e.ends_with("</svg>")
        );
        assert!(document("x").unwrap().starts_with("<?xml"));
        assert!(document(&"x".repeat(8000)).is_none());
    }
}
