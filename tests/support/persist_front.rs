//! An HTTPS front that gives Pebble 2.4 (Debian; no dns-persist-01) the dns-persist-01
//! challenge of draft-ietf-acme-dns-persist, as upstream Pebble offers it.
//!
//! It is a transparent reverse proxy: every request goes to Pebble's ACME port with the
//! original `Host` header and body, so Pebble checks each JWS `url` against the front's own
//! address (wfe.go: `https://` + request.Host + path) and builds every URL it returns from it —
//! accounts, orders, nonces and certificates stay Pebble's. The test starts Pebble with
//! `PEBBLE_VA_ALWAYS_VALID=1`, and the front is the validator instead:
//! - authorization responses (and challenge responses) get their dns-01 challenge replaced by
//!   `{"type":"dns-persist-01","url":<same>,"status":…,"accounturi":…,"issuer-domain-names":[…]}`
//!   (upstream Pebble wfe.go), except for the names the test keeps on dns-01;
//! - a POST answering such a challenge is checked first: the TXT records at
//!   `_validation-persist.<name>` (from challtestsrv, the test DNS) must hold one for the issuer
//!   with `accounturi` equal to the JWS `kid` and, for a wildcard, `policy=wildcard` (upstream
//!   Pebble va.go `validateDNSPersist01`, rewritten here). Valid: forwarded to Pebble, whose
//!   always-valid VA then validates the authorization. Invalid: an `unauthorized` problem
//!   naming what was wrong, and Pebble never sees it.
//!
//! Which challenge was validated which way is kept in [`PersistState::validations`].
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine;
use serde_json::{json, Value};

use super::pebble::{resolve_txt, Pebble};

/// The issuer domain name the front's challenges offer.
pub const ISSUER: &str = "pebble.test";

/// How a challenge was validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proof {
    Persist,
    Dns01,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    /// As in the order (`*.` for a wildcard).
    pub identifier: String,
    pub method: Proof,
}

#[derive(Debug, Clone, Default)]
pub struct PersistState {
    /// Names (without `*.`) offered dns-01 only.
    pub dns01_only: Vec<String>,
    /// Challenges answered, in order (a refused one is not listed).
    pub validations: Vec<Validation>,
    /// The problem details of refused persist challenges.
    pub refusals: Vec<String>,
}

/// A challenge the front has seen in an authorization.
#[derive(Debug, Clone)]
struct Known {
    name: String,
    wildcard: bool,
    persist: bool,
}

struct Shared {
    pebble: String,
    client: reqwest::Client,
    dns: SocketAddr,
    state: Mutex<PersistState>,
    /// Challenge URL path → what it proves.
    challenges: Mutex<HashMap<String, Known>>,
}

pub struct PersistFront {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PersistFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// TLS over a TCP listener, for `axum::serve`. Handshakes run in their own tasks, so that many
/// clients connecting at once are not let in one handshake after another.
pub(super) struct TlsListener {
    ready: tokio::sync::mpsc::Receiver<(TlsStream, SocketAddr)>,
    addr: SocketAddr,
}

type TlsStream = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;

impl TlsListener {
    fn spawn(tcp: tokio::net::TcpListener, acceptor: tokio_rustls::TlsAcceptor) -> TlsListener {
        let addr = tcp.local_addr().expect("front addr");
        let (tx, ready) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let Ok((tcp, peer)) = tcp.accept().await else {
                    continue;
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    let handshake = acceptor.accept(tcp);
                    if let Ok(Ok(tls)) =
                        tokio::time::timeout(Duration::from_secs(5), handshake).await
                    {
                        let _ = tx.send((tls, peer)).await;
                    }
                });
            }
        });
        TlsListener { ready, addr }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept task ended: there will be no more connections.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.addr)
    }
}

/// A TLS listener on a free loopback port serving Pebble's own `localhost`/`127.0.0.1`
/// certificate, which the rig's CA bundle already trusts (shared with serial_front.rs).
pub(super) async fn tls_listener(pebble: &Pebble) -> (TlsListener, SocketAddr) {
    let read = |n: &str| std::fs::read_to_string(pebble.dir().join(n)).expect("pebble TLS files");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_cert_resolver(Arc::new(Fixed(super::edge::certified_key(
        &read("localhost-cert.pem"),
        &read("localhost-key.pem"),
    ))));
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind front");
    let listener = TlsListener::spawn(tcp, tokio_rustls::TlsAcceptor::from(Arc::new(config)));
    let addr = listener.addr;
    (listener, addr)
}

/// Pebble's base URL (its directory without `/dir`) and a client for it.
pub(super) fn pebble_client(pebble: &Pebble) -> (String, reqwest::Client) {
    let pebble_base = pebble
        .directory_url()
        .strip_suffix("/dir")
        .expect("pebble directory ends in /dir")
        .to_string();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pebble.ca_pem().as_bytes()).unwrap())
        .http1_only()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    (pebble_base, client)
}

/// Starts the front before `pebble` (started with `always_valid`).
pub async fn start(pebble: &Pebble) -> PersistFront {
    let (listener, addr) = tls_listener(pebble).await;
    let (pebble_base, client) = pebble_client(pebble);
    let shared = Arc::new(Shared {
        pebble: pebble_base,
        client,
        dns: pebble.dns_addr(),
        state: Mutex::new(PersistState::default()),
        challenges: Mutex::new(HashMap::new()),
    });
    let app = Router::new().fallback(proxy).with_state(shared.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    PersistFront { addr, shared, task }
}

#[derive(Debug)]
struct Fixed(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for Fixed {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

impl PersistFront {
    /// `https://127.0.0.1:<port>/dir`: use as `[acme] directory`.
    pub fn directory_url(&self) -> String {
        format!("https://{}/dir", self.addr)
    }
    pub fn state(&self) -> PersistState {
        self.shared.state.lock().unwrap().clone()
    }
    /// Offer only dns-01 for `name` (and `*.name`).
    pub fn dns01_only(&self, name: &str) {
        self.shared
            .state
            .lock()
            .unwrap()
            .dns01_only
            .push(name.to_string());
    }
}

/// The JWS of a request body: its protected header's `kid` and whether the payload is `{}`
/// (answering a challenge) rather than empty (POST-as-GET).
fn jws(body: &[u8]) -> (Option<String>, bool) {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return (None, false);
    };
    let protected: Option<Value> = v["protected"]
        .as_str()
        .and_then(|p| b64.decode(p).ok())
        .and_then(|p| serde_json::from_slice(&p).ok());
    let kid = protected.and_then(|p| p["kid"].as_str().map(str::to_string));
    let answer = v["payload"]
        .as_str()
        .and_then(|p| b64.decode(p).ok())
        .is_some_and(|p| !p.is_empty());
    (kid, answer)
}

async fn proxy(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let (kid, answer) = jws(&body);
    let known = shared.challenges.lock().unwrap().get(uri.path()).cloned();
    if let (Some(k), true, true) = (&known, answer, method == Method::POST) {
        let identifier = match k.wildcard {
            true => format!("*.{}", k.name),
            false => k.name.clone(),
        };
        if k.persist {
            if let Err(why) = validate(&shared, k, kid.as_deref().unwrap_or_default()).await {
                shared.state.lock().unwrap().refusals.push(why.clone());
                return problem(&why);
            }
        }
        let method = match k.persist {
            true => Proof::Persist,
            false => Proof::Dns01,
        };
        shared
            .state
            .lock()
            .unwrap()
            .validations
            .push(Validation { identifier, method });
    }
    let Some((status, out_headers, bytes)) = forward(
        &shared.client,
        &shared.pebble,
        method,
        &path,
        &headers,
        body,
    )
    .await
    else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let bytes = match status.is_success() {
        true => rewrite(&shared, uri.path(), kid.as_deref(), bytes),
        false => bytes,
    };
    (status, out_headers, bytes).into_response()
}

/// `method path` with `headers` and `body` to Pebble at `base`, as the client sent it; its
/// status, headers and body (`None`: no answer).
pub(super) async fn forward(
    client: &reqwest::Client,
    base: &str,
    method: Method,
    path: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Option<(StatusCode, HeaderMap, Vec<u8>)> {
    let mut request = client
        .request(method, format!("{base}{path}"))
        .body(body.to_vec());
    for (name, value) in headers {
        if name != header::CONTENT_LENGTH && name != header::CONNECTION {
            request = request.header(name, value);
        }
    }
    let rsp = request.send().await.ok()?;
    let status = rsp.status();
    let mut out_headers = HeaderMap::new();
    for (name, value) in rsp.headers() {
        if name != header::CONTENT_LENGTH
            && name != header::TRANSFER_ENCODING
            && name != header::CONNECTION
        {
            out_headers.append(name.clone(), value.clone());
        }
    }
    let bytes = rsp.bytes().await.unwrap_or_default().to_vec();
    Some((status, out_headers, bytes))
}

/// An authorization (or challenge) answer with dns-persist-01 in place of dns-01.
fn rewrite(shared: &Shared, path: &str, kid: Option<&str>, body: Vec<u8>) -> Vec<u8> {
    let Ok(mut v) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    if path.starts_with("/authZ/") {
        let name = v["identifier"]["value"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let wildcard = v["wildcard"].as_bool().unwrap_or(false);
        let persist = !shared.state.lock().unwrap().dns01_only.contains(&name);
        if let Some(challenges) = v["challenges"].as_array_mut() {
            for c in challenges.iter_mut().filter(|c| c["type"] == "dns-01") {
                let url = c["url"].as_str().unwrap_or_default();
                let at = url.find("/chalZ/").map(|i| &url[i..]).unwrap_or(url);
                shared.challenges.lock().unwrap().insert(
                    at.to_string(),
                    Known {
                        name: name.clone(),
                        wildcard,
                        persist,
                    },
                );
                if persist {
                    *c = persist_challenge(c, kid);
                }
            }
        }
    } else if path.starts_with("/chalZ/") {
        let persist = shared
            .challenges
            .lock()
            .unwrap()
            .get(path)
            .is_some_and(|k| k.persist);
        if persist {
            v = persist_challenge(&v, kid);
        }
    } else {
        return body;
    }
    serde_json::to_vec(&v).unwrap()
}

/// Upstream Pebble's dns-persist-01 object: no token, the account and the issuers.
fn persist_challenge(dns01: &Value, kid: Option<&str>) -> Value {
    let mut c = json!({
        "type": "dns-persist-01",
        "url": dns01["url"],
        "status": dns01["status"],
        "issuer-domain-names": [ISSUER],
    });
    if let Some(kid) = kid {
        c["accounturi"] = json!(kid);
    }
    for k in ["validated", "error"] {
        if !dns01[k].is_null() {
            c[k] = dns01[k].clone();
        }
    }
    c
}

fn problem(detail: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "application/problem+json")],
        json!({
            "type": "urn:ietf:params:acme:error:unauthorized",
            "detail": detail,
            "status": 403
        })
        .to_string(),
    )
        .into_response()
}

/// Upstream Pebble's `validateDNSPersist01` rules, as far as the tests need them.
async fn validate(shared: &Shared, known: &Known, account: &str) -> Result<(), String> {
    let name = format!("_validation-persist.{}", known.name);
    let records = resolve_txt(shared.dns, &name).await;
    if records.is_empty() {
        return Err(format!(
            "No TXT records found for DNS-PERSIST-01 challenge at {name}"
        ));
    }
    let mut errors = Vec::new();
    for record in &records {
        let mut parts = record.split(';').map(|p| p.trim_matches([' ', '\t']));
        if parts.next() != Some(ISSUER) {
            continue;
        }
        let mut params: HashMap<String, String> = HashMap::new();
        for p in parts {
            let Some((k, v)) = p.split_once('=') else {
                errors.push(format!("malformed parameter {p:?} in {record:?}"));
                continue;
            };
            params.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
        match params.get("accounturi") {
            None => errors.push(format!("missing mandatory accounturi in {record:?}")),
            Some(uri) if uri != account => errors.push(format!(
                "accounturi mismatch: expected {account:?}, got {uri:?}"
            )),
            Some(_) => {
                let policy = params.get("policy").map(|p| p.to_ascii_lowercase());
                if known.wildcard && policy.as_deref() != Some("wildcard") {
                    errors.push(format!(
                        "policy mismatch: expected \"wildcard\", got {policy:?}"
                    ));
                } else {
                    return Ok(());
                }
            }
        }
    }
    if errors.is_empty() {
        return Err(format!(
            "No valid TXT record found for DNS-PERSIST-01 challenge at {name}"
        ));
    }
    Err(errors.join("; "))
}
