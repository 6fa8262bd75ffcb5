//! The HTTP client instant-acme talks through. Built here rather than by instant-acme because:
//! - `ca_bundle` adds *every* certificate of a PEM file to the public roots (instant-acme's
//!   `builder_with_root` trusts only the file's first certificate, and nothing else);
//! - it keeps the last response of each URL (status, headers, body) in a [`Tap`], so alicert
//!   can read what instant-acme parses and drops: the directory's `meta`, the account object
//!   returned by newAccount (status, contacts) and the certificate's `Link: rel="alternate"`
//!   chains (RFC 8555 §7.4.2);
//! - every request gets a deadline (instant-acme's own client has none).
//!
//! TLS, roots and connection settings are the crate's one stack (crate::https).
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hyper_util::client::legacy::Client as HyperClient;
use instant_acme::{BodyWrapper, BytesResponse, HttpClient};
use rustls_pki_types::CertificateDer;

use crate::error::{Error, Result};
use crate::https;

/// Bodies larger than this are passed through but not kept (certificate chains are a few KiB).
const TAP_MAX_BODY: usize = 256 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// One response as the server sent it.
#[derive(Debug, Clone)]
pub struct Captured {
    /// Order of arrival within this client (larger is newer).
    pub seq: u64,
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Captured {
    /// Targets of `Link: <url>;rel="<rel>"` headers (RFC 8288), in order.
    pub fn links(&self, rel: &str) -> Vec<String> {
        self.headers
            .get_all(http::header::LINK)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(split_link_header)
            .filter(|(_, r)| r.split_whitespace().any(|x| x.eq_ignore_ascii_case(rel)))
            .map(|(url, _)| url)
            .collect()
    }
}

/// `<a>;rel="x", <b>; rel=y` → [(a, x), (b, y)].
fn split_link_header(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for part in value.split(',') {
        let part = part.trim();
        let Some(rest) = part.strip_prefix('<') else {
            continue;
        };
        let Some((url, params)) = rest.split_once('>') else {
            continue;
        };
        for param in params.split(';') {
            if let Some((k, v)) = param.trim().split_once('=') {
                if k.trim().eq_ignore_ascii_case("rel") {
                    out.push((url.to_string(), v.trim().trim_matches('"').to_string()));
                }
            }
        }
    }
    out
}

/// The last response per URL (method GET or POST), shared by every clone of the client.
#[derive(Debug, Default)]
pub struct Tap {
    last: Mutex<HashMap<String, Captured>>,
    seq: std::sync::atomic::AtomicU64,
}

impl Tap {
    pub fn get(&self, url: &str) -> Option<Captured> {
        self.last.lock().ok()?.get(url).cloned()
    }

    /// The sequence number the next response will get: responses after this call have a
    /// `seq` at least this.
    pub fn mark(&self) -> u64 {
        self.seq.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The newest response since `mark` that refused for load or limits (429, 503).
    pub fn refused_since(&self, mark: u64) -> Option<Captured> {
        let map = self.last.lock().ok()?;
        map.values()
            .filter(|c| c.seq >= mark && matches!(c.status, 429 | 503))
            .max_by_key(|c| c.seq)
            .cloned()
    }

    fn record(&self, url: String, mut captured: Captured) {
        captured.seq = self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut map) = self.last.lock() {
            map.insert(url, captured);
        }
    }

    fn forget(&self, url: &str) {
        if let Ok(mut map) = self.last.lock() {
            map.remove(url);
        }
    }
}

#[derive(Clone)]
pub struct AcmeHttp {
    client: HyperClient<https::Connector, BodyWrapper<Bytes>>,
    tap: Arc<Tap>,
}

impl AcmeHttp {
    /// Public roots plus every certificate in `ca_bundle` (a PEM file), if given. The
    /// connector is the crate's one ([`crate::https::connector`]); `http://` stays possible
    /// because a directory URL may be one (a local test CA).
    pub fn new(ca_bundle: Option<&str>) -> Result<AcmeHttp> {
        let extra = match ca_bundle {
            Some(path) => read_bundle(path)?,
            None => Vec::new(),
        };
        let connector = https::connector(extra).map_err(|e| match ca_bundle {
            Some(path) => Error::Config(format!("[acme] ca_bundle {path}: {e}")),
            None => Error::Other(e),
        })?;
        Ok(AcmeHttp {
            client: https::pooled(connector),
            tap: Arc::new(Tap::default()),
        })
    }

    pub fn tap(&self) -> &Tap {
        &self.tap
    }

    /// A plain GET (directory, renewalInfo): status, headers and body.
    pub async fn get(&self, url: &str) -> Result<Captured> {
        let request = http::Request::builder()
            .method(http::Method::GET)
            .uri(url)
            .header(http::header::USER_AGENT, https::USER_AGENT)
            .body(BodyWrapper::default())
            .map_err(|e| Error::Acme(format!("GET {url}: {e}")))?;
        let (parts, body) = exchange(self.client.request(request), url)
            .await
            .map_err(|e| Error::Acme(format!("GET {url}: {e}")))?;
        Ok(Captured {
            seq: 0,
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    }
}

/// Send, read the whole body, all within [`REQUEST_TIMEOUT`].
async fn exchange(
    fut: hyper_util::client::legacy::ResponseFuture,
    url: &str,
) -> Result<(http::response::Parts, Bytes), instant_acme::Error> {
    let exchange = async {
        let rsp = fut
            .await
            .map_err(|e| instant_acme::Error::Other(Box::new(e)))?;
        let mut rsp = BytesResponse::from(rsp);
        let body = rsp
            .body
            .into_bytes()
            .await
            .map_err(instant_acme::Error::Other)?;
        Ok::<_, instant_acme::Error>((rsp.parts, body))
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| {
            instant_acme::Error::Other(
                format!("no answer from {url} within {REQUEST_TIMEOUT:?}").into(),
            )
        })?
}

fn read_bundle(path: &str) -> Result<Vec<CertificateDer<'static>>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("[acme] ca_bundle {path}: cannot read: {e}")))?;
    let blocks = pem::parse_many(&text)
        .map_err(|e| Error::Config(format!("[acme] ca_bundle {path}: not PEM: {e}")))?;
    let certs: Vec<CertificateDer<'static>> = blocks
        .into_iter()
        .filter(|b| b.tag() == "CERTIFICATE")
        .map(|b| CertificateDer::from(b.into_contents()))
        .collect();
    if certs.is_empty() {
        return Err(Error::Config(format!(
            "[acme] ca_bundle {path}: no CERTIFICATE block in the file"
        )));
    }
    Ok(certs)
}

impl HttpClient for AcmeHttp {
    fn request(
        &self,
        req: http::Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let url = req.uri().to_string();
        let keep = matches!(*req.method(), http::Method::GET | http::Method::POST);
        let fut = self.client.request(req);
        let tap = self.tap.clone();
        Box::pin(async move {
            let (parts, body) = exchange(fut, &url).await?;
            if keep && body.len() <= TAP_MAX_BODY {
                tap.record(
                    url,
                    Captured {
                        seq: 0,
                        status: parts.status.as_u16(),
                        headers: parts.headers.clone(),
                        body: body.clone(),
                    },
                );
            } else if keep {
                tap.forget(&url);
            }
            Ok(BytesResponse {
                parts,
                body: Box::new(body),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_link_headers() {
        let mut headers = http::HeaderMap::new();
        headers.append(
            http::header::LINK,
            "<https://ca/dir>;rel=\"index\"".parse().unwrap(),
        );
        headers.append(
            http::header::LINK,
            "<https://ca/cert/1/1>;rel=\"alternate\", <https://ca/cert/1/2>; rel=alternate"
                .parse()
                .unwrap(),
        );
        let c = Captured {
            seq: 0,
            status: 200,
            headers,
            body: Bytes::new(),
        };
        assert_eq!(
            c.links("alternate"),
            ["https://ca/cert/1/1", "https://ca/cert/1/2"]
        );
        assert_eq!(c.links("index"), ["https://ca/dir"]);
        assert!(c.links("up").is_empty());
    }

    #[test]
    fn bundle_needs_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.pem");
        std::fs::write(&p, "nothing here").unwrap();
        let Err(e) = AcmeHttp::new(Some(p.to_str().unwrap())) else {
            panic!("empty bundle accepted")
        };
        assert!(e.to_string().contains("ca_bundle"), "{e}");
        let Err(e) = AcmeHttp::new(Some("/nonexistent/bundle.pem")) else {
            panic!("missing bundle accepted")
        };
        assert!(e.to_string().contains("cannot read"), "{e}");
    }
}
