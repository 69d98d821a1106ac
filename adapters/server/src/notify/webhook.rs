//! The `webhook` notifier: an HTTP POST of each notification's JSON to a configured URL.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http::{Method, Request, Uri, header};
use http_body_util::Full;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tessera_core::{Notification, Notifier};
use zeroize::Zeroizing;

/// POSTs [`super::payload`] as `application/json` to a URL (`http://` or `https://`; TLS by
/// rustls with the Mozilla root certificates). One attempt per notification, bounded by the
/// timeout (connect, send and the response's status line); any 2xx is a delivery. A
/// failure is logged with the URL's host and the reason, never with the code.
#[derive(Clone)]
pub struct WebhookNotifier {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    url: Uri,
    timeout: Duration,
}

impl std::fmt::Debug for WebhookNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Only the host: the path or query may carry a secret of the receiver.
        f.debug_struct("WebhookNotifier")
            .field("host", &self.url.host())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl WebhookNotifier {
    /// A notifier posting to `url` with `timeout` (1 ms – 60 s).
    pub fn new(url: &str, timeout: Duration) -> Result<Self, String> {
        let uri: Uri = url
            .parse()
            .map_err(|_| "notify: the webhook URL is not a valid URL".to_owned())?;
        let scheme = uri.scheme_str().unwrap_or_default();
        if !matches!(scheme, "http" | "https") || uri.host().is_none_or(str::is_empty) {
            return Err("notify: the webhook URL must be http:// or https:// with a host".into());
        }
        if timeout.is_zero() || timeout > Duration::from_secs(60) {
            return Err("notify: the webhook timeout must be 1-60 s".into());
        }
        if scheme == "http" && !is_loopback(uri.host().unwrap_or_default()) {
            tracing::warn!(
                host = uri.host().unwrap_or_default(),
                "the webhook URL is plain http: reset codes travel unencrypted"
            );
        }
        let provider = rustls::crypto::ring::default_provider();
        let https = HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .map_err(|e| format!("notify: TLS setup failed: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(https);
        Ok(Self {
            client,
            url: uri,
            timeout,
        })
    }

    /// Send `body`; `Err` says why it was not delivered (never containing the body).
    async fn post(&self, body: Bytes) -> Result<(), String> {
        let req = Request::builder()
            .method(Method::POST)
            .uri(self.url.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(
                header::USER_AGENT,
                concat!("tessera/", env!("CARGO_PKG_VERSION")),
            )
            .body(Full::new(body))
            .map_err(|_| "cannot build the request".to_owned())?;
        let res = tokio::time::timeout(self.timeout, self.client.request(req))
            .await
            .map_err(|_| format!("no answer within {} ms", self.timeout.as_millis()))?
            .map_err(|e| describe(&e))?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(format!("the receiver answered {}", res.status().as_u16()))
        }
    }
}

/// A client error's kind, without any detail that might echo the request.
fn describe(e: &hyper_util::client::legacy::Error) -> String {
    if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        "the exchange failed".to_owned()
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[async_trait]
impl Notifier for WebhookNotifier {
    async fn notify(&self, notification: Notification) {
        let Some(payload) = super::payload(&notification) else {
            return;
        };
        let body = Zeroizing::new(serde_json::to_vec(&payload).unwrap_or_default());
        if let Err(reason) = self.post(Bytes::copy_from_slice(&body)).await {
            tracing::error!(host = self.url.host().unwrap_or_default(), reason = %reason,
                "reset code not delivered: the webhook failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_timeouts_are_checked() {
        let t = Duration::from_secs(5);
        assert!(WebhookNotifier::new("https://hooks.example/tessera?k=1", t).is_ok());
        assert!(WebhookNotifier::new("http://127.0.0.1:9/x", t).is_ok());
        for bad in [
            "",
            "hooks.example/x",
            "ftp://hooks.example/",
            "http:///x",
            "not a url",
        ] {
            assert!(WebhookNotifier::new(bad, t).is_err(), "{bad}");
        }
        assert!(WebhookNotifier::new("https://h.example/", Duration::ZERO).is_err());
        let n = WebhookNotifier::new("https://h.example/p?secret=s3cr3t", t).unwrap();
        assert!(!format!("{n:?}").contains("s3cr3t"));
        assert!(is_loopback("[::1]") && is_loopback("localhost") && !is_loopback("h.example"));
    }
}
