//! The one HTTP(S) client stack of alicert: hyper-util's pooled (legacy) client over
//! hyper-rustls, rustls with ring, HTTP/1.1 and HTTP/2 (ALPN), `http://` allowed (local test
//! servers, endpoint overrides). Roots are webpki-roots (the FC runtime image need not carry a
//! CA store) plus any extra certificates the caller trusts (`[acme] ca_bundle`).
//!
//! Used by ACME (acme/http.rs, with its own body type and response capture), Alibaba Cloud
//! (aliyun/client), CRL downloads and notifications, through [`Https::send`]: one exchange with
//! a deadline over the whole of it and a cap on the body. It never follows a redirect (a signed
//! Alibaba request must not be replayed elsewhere; crl.rs follows its own, checked ones).
//!
//! No proxy: `HTTP(S)_PROXY` / `ALL_PROXY` are not read (reqwest read them before this module;
//! Function Compute reaches Alibaba Cloud and the CA directly). A bottom-layer module: it uses
//! nothing of the crate.
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls_pki_types::CertificateDer;

/// `User-Agent` of every request alicert makes.
pub const USER_AGENT: &str = concat!("alicert/", env!("CARGO_PKG_VERSION"));
/// Time to establish a TCP connection (TLS is within the request's own timeout).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub type Connector = HttpsConnector<HttpConnector>;

/// TLS (rustls, ring, safe default versions) trusting webpki-roots and `extra_roots`; plain
/// http passes through. Errors name the certificate that is not usable as a root.
pub fn connector(extra_roots: Vec<CertificateDer<'static>>) -> Result<Connector, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for (i, der) in extra_roots.into_iter().enumerate() {
        roots
            .add(der)
            .map_err(|e| format!("certificate {} is not usable as a root: {e}", i + 1))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // Nagle's algorithm delays each small request (an ACME JWS POST, a signed RPC call) by
    // ~40 ms against a delayed ACK; every exchange here is small, so it is off.
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    http.enforce_http(false);
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http))
}

/// A pooled client over `connector` for any body type (instant-acme brings its own).
pub fn pooled<B>(connector: Connector) -> Client<Connector, B>
where
    B: http_body::Body + Send,
    B::Data: Send,
{
    Client::builder(TokioExecutor::new()).build(connector)
}

/// What one exchange may cost.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connect, send, and read the whole body, all within this.
    pub timeout: Duration,
    /// A longer body (announced or streamed) ends the exchange with [`HttpError::TooLarge`].
    pub max_body: usize,
}

/// An answer as the server sent it (any status).
#[derive(Debug)]
pub struct Response {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Response {
    /// A header as text, if present and ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Why an exchange failed. The request URL is never part of it (queries hold signed
/// parameters, webhook URLs hold tokens): only our words and the underlying causes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The request could not be built (a bad URL or header); the text names no value.
    Invalid(String),
    Timeout,
    Connect(String),
    Failed(String),
    TooLarge(usize),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Invalid(e) => write!(f, "invalid request: {e}"),
            HttpError::Timeout => f.write_str("timed out"),
            HttpError::Connect(e) => write!(f, "connection failed: {e}"),
            HttpError::Failed(e) => write!(f, "request failed: {e}"),
            HttpError::TooLarge(max) => write!(f, "answer larger than {max} bytes; not read"),
        }
    }
}

impl std::error::Error for HttpError {}

/// `e` and its causes, `: `-separated.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The client of everything but ACME: bodies are whole byte strings.
#[derive(Clone)]
pub struct Https {
    client: Client<Connector, Full<Bytes>>,
}

impl Https {
    /// Public roots only.
    pub fn new() -> Https {
        // Only fails for a crypto provider without TLS 1.2/1.3 suites; ring has both.
        let connector = connector(Vec::new()).expect("ring supports the default TLS versions");
        Https {
            client: pooled(connector),
        }
    }

    /// `method url` with `headers` (a `User-Agent` is added) and `body`; no redirect followed.
    pub async fn send(
        &self,
        method: http::Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
        limits: Limits,
    ) -> Result<Response, HttpError> {
        let mut builder = http::Request::builder()
            .method(method)
            .uri(url)
            .header(http::header::USER_AGENT, USER_AGENT);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let request = builder
            .body(Full::new(body))
            .map_err(|e| HttpError::Invalid(e.to_string()))?;
        tokio::time::timeout(limits.timeout, self.exchange(request, limits.max_body))
            .await
            .map_err(|_| HttpError::Timeout)?
    }

    async fn exchange(
        &self,
        request: http::Request<Full<Bytes>>,
        max_body: usize,
    ) -> Result<Response, HttpError> {
        let rsp = self.client.request(request).await.map_err(|e| {
            if e.is_connect() {
                HttpError::Connect(chain(&e))
            } else {
                HttpError::Failed(chain(&e))
            }
        })?;
        let (parts, mut body) = rsp.into_parts();
        let announced = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if announced.is_some_and(|n| n > max_body as u64) {
            return Err(HttpError::TooLarge(max_body));
        }
        let mut out = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| HttpError::Failed(chain(&e)))?;
            if let Ok(data) = frame.into_data() {
                if out.len() + data.len() > max_body {
                    return Err(HttpError::TooLarge(max_body));
                }
                out.extend_from_slice(&data);
            }
        }
        Ok(Response {
            status: parts.status,
            headers: parts.headers,
            body: Bytes::from(out),
        })
    }
}

impl Default for Https {
    fn default() -> Self {
        Https::new()
    }
}

/// A local HTTP/1.1 server for the tests of every client of this module.
#[cfg(test)]
pub(crate) mod testing {
    use std::future::Future;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// Serve each connection with `handle(path, request head, stream)`; returns the base URL.
    pub async fn serve<F, Fut>(handle: F) -> String
    where
        F: Fn(String, String, TcpStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                let mut buf = vec![0u8; 8192];
                let n = tcp.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                tokio::spawn(handle(path, head, tcp));
            }
        });
        base
    }

    pub fn redirect(to: &str) -> String {
        format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\n\r\n")
    }

    pub fn ok(body: &str) -> String {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    pub async fn answer(mut tcp: TcpStream, text: &str) {
        let _ = tcp.write_all(text.as_bytes()).await;
    }

    /// 200 without a length, then up to 64 MiB of zeros while the client reads, counted in
    /// `written`.
    pub async fn stream_zeros(mut tcp: TcpStream, written: &AtomicUsize) {
        let _ = tcp
            .write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
            .await;
        let chunk = vec![0u8; 64 * 1024];
        for _ in 0..1024 {
            if tcp.write_all(&chunk).await.is_err() {
                break;
            }
            written.fetch_add(chunk.len(), Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{answer, ok, redirect, serve, stream_zeros};
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// `/redirect` answers 302 to `/ok`, `/ok` is `hello`, `/big` streams zeros without a
    /// length, `/echo` answers the request head it read, anything else never answers.
    async fn server() -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
        let written = Arc::new(AtomicUsize::new(0));
        let hits = Arc::new(AtomicUsize::new(0));
        let (w, h) = (written.clone(), hits.clone());
        let base = serve(move |path, head, tcp| {
            let (w, h) = (w.clone(), h.clone());
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                match path.as_str() {
                    "/redirect" => answer(tcp, &redirect("/ok")).await,
                    "/ok" => answer(tcp, &ok("hello")).await,
                    "/echo" => answer(tcp, &ok(&head)).await,
                    "/big" => stream_zeros(tcp, &w).await,
                    _ => tokio::time::sleep(Duration::from_secs(30)).await,
                }
            }
        })
        .await;
        (base, written, hits)
    }

    const LIMITS: Limits = Limits {
        timeout: Duration::from_secs(2),
        max_body: 1024 * 1024,
    };

    async fn get(h: &Https, url: &str, limits: Limits) -> Result<Response, HttpError> {
        h.send(http::Method::GET, url, &[], Bytes::new(), limits)
            .await
    }

    #[tokio::test]
    async fn redirects_come_back_unfollowed() {
        let (base, _, hits) = server().await;
        let h = Https::new();
        let rsp = get(&h, &format!("{base}/redirect"), LIMITS).await.unwrap();
        assert_eq!(rsp.status, 302);
        assert_eq!(rsp.header("location"), Some("/ok"));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(hits.load(Ordering::SeqCst), 1, "the redirect was followed");
        let rsp = get(&h, &format!("{base}/ok"), LIMITS).await.unwrap();
        assert_eq!(&rsp.body[..], b"hello");
    }

    #[tokio::test]
    async fn the_timeout_covers_the_whole_exchange() {
        let (base, _, _) = server().await;
        let started = std::time::Instant::now();
        let limits = Limits {
            timeout: Duration::from_millis(300),
            ..LIMITS
        };
        let e = get(&Https::new(), &format!("{base}/stall"), limits)
            .await
            .unwrap_err();
        assert_eq!(e, HttpError::Timeout);
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn bodies_are_capped_while_streaming() {
        let (base, written, _) = server().await;
        let e = get(&Https::new(), &format!("{base}/big"), LIMITS)
            .await
            .unwrap_err();
        assert_eq!(e, HttpError::TooLarge(1024 * 1024));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let sent = written.load(Ordering::SeqCst);
        assert!(sent < 16 * 1024 * 1024, "read {sent} bytes");
    }

    #[tokio::test]
    async fn headers_and_user_agent_are_sent_and_errors_name_no_url() {
        let (base, _, _) = server().await;
        let h = Https::new();
        let rsp = h
            .send(
                http::Method::POST,
                &format!("{base}/echo"),
                &[("x-acs-action", "Test")],
                Bytes::from_static(b"body"),
                LIMITS,
            )
            .await
            .unwrap();
        let head = String::from_utf8_lossy(&rsp.body).to_ascii_lowercase();
        assert!(head.starts_with("post /echo http/1.1"), "{head}");
        assert!(head.contains("x-acs-action: test"), "{head}");
        assert!(head.contains(&format!("user-agent: {}", USER_AGENT.to_ascii_lowercase())));
        // Nothing listens on port 9 of 127.0.0.1: the error keeps the query out.
        let e = get(&h, "http://127.0.0.1:9/?SecurityToken=tok", LIMITS)
            .await
            .unwrap_err();
        assert!(matches!(e, HttpError::Connect(_)), "{e}");
        assert!(!e.to_string().contains("tok"), "{e}");
    }
}
