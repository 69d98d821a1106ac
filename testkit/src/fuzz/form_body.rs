//! Fuzz body `form_body`: the strict form decoder, directly ([`Form::parse`]) and as the
//! axum extractor (content type, body limit), against a plain reference decoder.
//!
//! Input layout: byte 0 chooses the request's shape (bits 0–2 the `Content-Type`, 7 meaning
//! "the bytes up to the first newline"; bit 3 a `Content-Length` header; bits 4–5 the body
//! limit); the rest is the body.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::FromRequest as _;
use axum::http::{HeaderValue, Request, StatusCode, header};

use tessera_http::Form;
use tessera_http::form::BodyLimit;

/// Content types the first byte picks from (index 7: read from the input).
const CONTENT_TYPES: [Option<&str>; 7] = [
    None,
    Some("application/x-www-form-urlencoded"),
    Some("application/x-www-form-urlencoded; charset=utf-8"),
    Some(" APPLICATION/X-WWW-FORM-URLENCODED ;"),
    Some("application/json"),
    Some("multipart/form-data; boundary=x"),
    Some("application/x-www-form-urlencodedx"),
];
/// Body limits bits 4–5 pick from (`None`: the default, 16 KiB).
const LIMITS: [Option<usize>; 4] = [None, Some(0), Some(8), Some(64)];
/// Field names the routes read.
const KNOWN: [&str; 17] = [
    "username",
    "password",
    "ttl",
    "scope",
    "role",
    "deviceName",
    "profileId",
    "signature",
    "publicKey",
    "qrToken",
    "commandId",
    "currentPassword",
    "newPassword",
    "deviceIdentifier",
    "meta",
    "token",
    "",
];

/// The reference: split on `&` (empty pairs skipped), then on the first `=`; `+` is a
/// space; `%XX` with two hex digits is a byte, any other `%` stays; the bytes must be
/// UTF-8. `Err(i)` names the first pair that is not.
fn reference(body: &[u8]) -> Result<Vec<(String, String)>, usize> {
    fn decode(raw: &[u8]) -> Option<String> {
        let hex = |b: u8| char::from(b).to_digit(16);
        let mut out = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            let b = raw[i];
            match (
                b,
                raw.get(i + 1).copied().and_then(hex),
                raw.get(i + 2).copied().and_then(hex),
            ) {
                (b'%', Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                }
                (b'+', _, _) => {
                    out.push(b' ');
                    i += 1;
                }
                _ => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8(out).ok()
    }
    let mut fields = Vec::new();
    for (i, pair) in body
        .split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .enumerate()
    {
        let (k, v) = match pair.iter().position(|&b| b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &[][..]),
        };
        match (decode(k), decode(v)) {
            (Some(k), Some(v)) => fields.push((k, v)),
            _ => return Err(i),
        }
    }
    Ok(fields)
}

/// Whether the percent-decoded input itself holds an encoded U+FFFD (EF BF BD).
fn input_has_replacement_char(body: &[u8]) -> bool {
    let lossy = String::from_utf8_lossy(body).replace('+', " ");
    percent_encoding::percent_decode_str(&lossy)
        .collect::<Vec<u8>>()
        .windows(3)
        .any(|w| w == [0xEF, 0xBF, 0xBD])
}

fn check_parse(body: &[u8]) -> Option<Form> {
    let want = reference(body);
    match Form::parse(body) {
        Ok(form) => {
            let got: Vec<(String, String)> = form
                .fields()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().to_owned()))
                .collect();
            assert_eq!(Ok(&got), want.as_ref(), "decoded fields");
            if got
                .iter()
                .any(|(k, v)| k.contains('\u{fffd}') || v.contains('\u{fffd}'))
            {
                assert!(input_has_replacement_char(body), "a U+FFFD nobody sent");
            }
            check_fields(&form, &got);
            Some(form)
        }
        Err(e) => {
            assert!(want.is_err(), "refused a valid body: {e:?}");
            assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(e.code(), "validation_failed");
            assert_eq!(e.body().errors.map_or(0, |m| m.len()), 1, "names one field");
            None
        }
    }
}

/// `optional` and `required` over the known names agree with the decoded list.
fn check_fields(form: &Form, fields: &[(String, String)]) {
    let mut count: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in fields {
        count.entry(k.as_str()).or_default().push(v.as_str());
    }
    for name in KNOWN {
        let given = count.get(name).map_or(&[][..], Vec::as_slice);
        match (form.optional(name), given) {
            (Ok(None), []) => {}
            (Ok(Some(v)), [w]) => assert_eq!(v, *w, "{name}"),
            (Err(e), [_, _, ..]) => {
                let code = if name == "ttl" {
                    "invalid_ttl"
                } else {
                    "validation_failed"
                };
                assert_eq!(e.code(), code, "{name}");
            }
            (got, given) => panic!("{name}: {got:?} for {} values", given.len()),
        }
    }
    let once = |n: &str| count.get(n).is_some_and(|v| v.len() == 1);
    let pair = form.required(["username", "password"]);
    assert_eq!(pair.is_ok(), once("username") && once("password"));
    if let Err(e) = pair {
        let errors = e.body().errors.unwrap_or_default();
        let bad = ["username", "password"].iter().filter(|n| !once(n)).count();
        assert_eq!(errors.len(), bad, "every bad field reported: {errors:?}");
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    })
}

/// The fuzz body. See the module docs.
pub fn form_body(data: &[u8]) {
    let Some((&shape, rest)) = data.split_first() else {
        return;
    };
    let (content_type, body) = match CONTENT_TYPES.get(usize::from(shape & 7)) {
        Some(t) => (t.map(str::as_bytes), rest),
        None => match rest.iter().position(|&b| b == b'\n') {
            Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
            None => (Some(rest), &[][..]),
        },
    };
    let parsed = check_parse(body);
    let limit = LIMITS[usize::from(shape >> 4 & 3)];
    let mut req = Request::post("/")
        .body(Body::from(body.to_vec()))
        .expect("request");
    if let Some(t) = content_type {
        let Ok(v) = HeaderValue::from_bytes(t) else {
            return; // not a header value a server could receive
        };
        req.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    if shape & 8 != 0 {
        req.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    if let Some(l) = limit {
        req.extensions_mut().insert(BodyLimit(l));
    }
    // `HeaderValue::to_str` admits visible ASCII and tabs only.
    let is_form = content_type.map(|t| {
        t.iter().all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
            && String::from_utf8_lossy(t)
                .split(';')
                .next()
                .is_some_and(|m| {
                    m.trim()
                        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                })
    });
    let got = runtime().block_on(Form::from_request(req, &()));
    // A wrong content type is refused before the body is read; a missing one only after
    // (an empty body needs none).
    let want = if is_form == Some(false) {
        Err(StatusCode::UNSUPPORTED_MEDIA_TYPE)
    } else if body.len() > limit.unwrap_or(tessera_http::BODY_LIMIT) {
        Err(StatusCode::PAYLOAD_TOO_LARGE)
    } else if is_form.is_none() && !body.is_empty() {
        Err(StatusCode::UNSUPPORTED_MEDIA_TYPE)
    } else if parsed.is_none() {
        Err(StatusCode::UNPROCESSABLE_ENTITY)
    } else {
        Ok(())
    };
    let got_status = got
        .as_ref()
        .map(|_| ())
        .map_err(tessera_http::ApiError::status);
    assert_eq!(
        got_status, want,
        "content type {content_type:?}, limit {limit:?}"
    );
    if let (Ok(form), Some(parsed)) = (got, parsed) {
        assert_eq!(form.fields().len(), parsed.fields().len());
    }
}
