//! The HTTP client instant-acme talks to the CA with: reqwest on rustls, the stack the Alibaba
//! Cloud client already uses. instant-acme's own hyper client leaves Nagle's algorithm on, so a
//! request written in two parts waits for the server's delayed ACK (~40 ms per ACME request on
//! loopback), and its platform verifier parses every system root at start; reqwest sets
//! TCP_NODELAY and carries the webpki roots compiled in.
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use instant_acme::{BodyWrapper, BytesResponse, HttpClient};

use crate::error::{Error, Result};

pub struct AcmeHttp(reqwest::Client);

impl AcmeHttp {
    /// Trusts the built-in web PKI roots, or only the first certificate of `ca_bundle` (a PEM
    /// file; Pebble's CA in tests).
    pub fn new(ca_bundle: Option<&str>) -> Result<AcmeHttp> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("alicert/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = ca_bundle {
            let pem = std::fs::read(path)
                .map_err(|e| Error::Config(format!("[acme] ca_bundle {path}: cannot read: {e}")))?;
            let root = reqwest::Certificate::from_pem(&pem).map_err(|e| {
                Error::Config(format!(
                    "[acme] ca_bundle {path}: cannot load a PEM root: {e}"
                ))
            })?;
            builder = builder
                .tls_built_in_root_certs(false)
                .add_root_certificate(root);
        }
        let client = builder
            .build()
            .map_err(|e| Error::Acme(format!("HTTP client: {e}")))?;
        Ok(AcmeHttp(client))
    }
}

impl HttpClient for AcmeHttp {
    fn request(
        &self,
        req: http::Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = std::result::Result<BytesResponse, instant_acme::Error>> + Send>>
    {
        let client = self.0.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            // One in-memory chunk with an exact size hint: sent with a Content-Length.
            let body = reqwest::Body::wrap(body);
            let rsp = client
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await
                .map_err(|e| instant_acme::Error::Other(Box::new(e)))?;
            Ok(BytesResponse::from(http::Response::from(rsp)))
        })
    }
}
