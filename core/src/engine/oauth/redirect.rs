//! Redirect URIs: what may be registered, and when a requested one matches a registered one.
//!
//! Registration (API.md): exact strings, `https://…`; for public (native) clients also
//! `http://127.0.0.1…`, `http://[::1]…` or a private-use scheme (`com.example.app:/cb`); never
//! a fragment, a wildcard, userinfo, or any other `http`. Matching is byte-exact, except that
//! a registered loopback URI matches the same URI with any port (RFC 8252 §7.3).

/// Longest redirect URI accepted (bytes).
pub const MAX_REDIRECT_URI_LEN: usize = 2000;

/// Why a redirect URI cannot be registered (safe to show).
pub fn check_registrable(uri: &str, public_client: bool) -> Result<(), &'static str> {
    if uri.is_empty() || uri.len() > MAX_REDIRECT_URI_LEN {
        return Err("a redirect URI must be 1-2000 characters");
    }
    if uri.bytes().any(|b| b <= 0x20 || b >= 0x7f) {
        return Err("a redirect URI must be printable ASCII without spaces");
    }
    if uri.contains('#') {
        return Err("a redirect URI must not have a fragment");
    }
    if uri.contains('*') {
        return Err("a redirect URI must not contain a wildcard");
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Err("a redirect URI must be absolute");
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase())
        && scheme
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c));
    if !scheme_ok {
        return Err("a redirect URI must start with a lowercase scheme");
    }
    match scheme {
        "https" => {
            let Some(authority) = authority(rest) else {
                return Err("an https redirect URI must name a host");
            };
            if authority.is_empty() || authority.contains('@') {
                return Err("an https redirect URI must name a host and no user");
            }
            if has_dot_segment(rest) {
                return Err("a redirect URI must not contain . or .. segments");
            }
            Ok(())
        }
        "http" => {
            if !public_client {
                return Err("http redirect URIs are only for public native clients (loopback)");
            }
            if loopback_parts(uri).is_none() {
                return Err("an http redirect URI must be http://127.0.0.1 or http://[::1]");
            }
            if has_dot_segment(rest) {
                return Err("a redirect URI must not contain . or .. segments");
            }
            Ok(())
        }
        _ if public_client && scheme.contains('.') => {
            // Private-use scheme (RFC 8252 §7.1): reverse domain name, e.g. com.example.app:/cb
            if rest.starts_with("//") {
                return Err("a private-use redirect URI has no authority (com.example.app:/cb)");
            }
            Ok(())
        }
        _ => Err(
            "a redirect URI must be https (or, for public clients, loopback http or a private-use scheme)",
        ),
    }
}

/// Whether `requested` matches the registered URI `registered`: byte-exact, or both loopback
/// `http` URIs that differ only in the port.
#[must_use]
pub fn matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    match (loopback_parts(registered), loopback_parts(requested)) {
        (Some((h1, _, rest1)), Some((h2, _, rest2))) => h1 == h2 && rest1 == rest2,
        _ => false,
    }
}

/// The authority of `//authority/path…` (the part after `scheme:`).
fn authority(rest: &str) -> Option<&str> {
    let after = rest.strip_prefix("//")?;
    Some(after.split(['/', '?']).next().unwrap_or(""))
}

fn has_dot_segment(rest: &str) -> bool {
    let path = rest
        .strip_prefix("//")
        .map_or(rest, |a| a.find('/').map_or("", |i| &a[i..]));
    let path = path.split('?').next().unwrap_or("");
    path.split('/').any(|s| s == "." || s == "..")
}

/// `(host, port, rest)` of a loopback `http` URI: host `127.0.0.1` or `[::1]`, optional
/// numeric port, then the path and query (`rest` empty or starting with `/` or `?`).
fn loopback_parts(uri: &str) -> Option<(&str, Option<&str>, &str)> {
    let after = uri.strip_prefix("http://")?;
    let (host, tail) = if let Some(t) = after.strip_prefix("127.0.0.1") {
        ("127.0.0.1", t)
    } else if let Some(t) = after.strip_prefix("[::1]") {
        ("[::1]", t)
    } else {
        return None;
    };
    let (port, rest) = match tail.strip_prefix(':') {
        Some(p) => {
            let end = p.find(['/', '?']).unwrap_or(p.len());
            let port = &p[..end];
            if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (Some(port), &p[end..])
        }
        None => (None, tail),
    };
    if !(rest.is_empty() || rest.starts_with('/') || rest.starts_with('?')) {
        return None;
    }
    Some((host, port, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_rules() {
        for ok in [
            "https://app.example.com/cb",
            "https://app.example.com:8443/cb?x=1",
        ] {
            assert!(check_registrable(ok, false).is_ok(), "{ok}");
        }
        for ok in [
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb",
            "com.example.app:/cb",
        ] {
            assert!(check_registrable(ok, true).is_ok(), "{ok}");
            assert!(check_registrable(ok, false).is_err(), "{ok} confidential");
        }
        for bad in [
            "",
            "https://app.example.com/cb#frag",
            "https://*.example.com/cb",
            "http://app.example.com/cb",
            "https://user@app.example.com/cb",
            "https:///cb",
            "https://a.example/x/../y",
            "javascript:alert(1)",
            "HTTPS://app.example.com/cb",
            "https://app.example.com/c b",
            "http://127.0.0.1.evil.example/cb",
            "http://localhost/cb",
        ] {
            assert!(check_registrable(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn matching_is_exact_but_for_the_loopback_port() {
        let r = "https://app.example.com/cb";
        assert!(matches(r, r));
        for bad in [
            "https://APP.example.com/cb",
            "https://app.example.com/cb/",
            "https://app.example.com/cb?x=1",
            "https://evil@app.example.com/cb",
            "https://app.example.com/cb/../cb",
            "https://app.example.com/CB",
        ] {
            assert!(!matches(r, bad), "{bad}");
        }
        assert!(matches("http://127.0.0.1/cb", "http://127.0.0.1:53123/cb"));
        assert!(matches("http://127.0.0.1:80/cb", "http://127.0.0.1:9/cb"));
        assert!(matches("http://[::1]/cb", "http://[::1]:4000/cb"));
        assert!(!matches("http://127.0.0.1/cb", "http://127.0.0.1:5/cb2"));
        assert!(!matches("http://127.0.0.1/cb", "http://[::1]:5/cb"));
        assert!(!matches("http://127.0.0.1/cb", "http://127.0.0.1:x/cb"));
    }
}
