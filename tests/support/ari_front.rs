//! A small HTTP front for Pebble 2.4, which has neither ACME Renewal Information (RFC 9773) nor
//! profiles: it serves Pebble's own directory with `renewalInfo` (pointing here) and
//! `meta.profiles` added, answers renewalInfo requests with a window the test sets, and serves
//! static files (CRLs). Every other ACME request goes straight to Pebble, whose URLs the
//! directory keeps — so accounts, orders and certificates stay real.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::pebble::Pebble;

#[derive(Debug, Clone)]
pub struct FrontState {
    /// The suggested window every renewalInfo request gets.
    pub window: (OffsetDateTime, OffsetDateTime),
    /// Retry-After header value (seconds).
    pub retry_after: String,
    /// Non-200: renewalInfo answers this status with a problem document.
    pub status: u16,
    /// CertIDs asked for, in order.
    pub requests: Vec<String>,
    pub profiles: BTreeMap<String, String>,
    /// Some(Retry-After seconds): the directory's newOrder points here and every newOrder is
    /// refused with a `rateLimited` problem (429) carrying that Retry-After.
    pub order_limit: Option<u64>,
    /// newOrder requests refused so far.
    pub orders_refused: usize,
    /// `meta.caaIdentities` of the directory (empty: left out, as Pebble does).
    pub caa_identities: Vec<String>,
    files: HashMap<String, Vec<u8>>,
}

struct Shared {
    directory: Value,
    state: Mutex<FrontState>,
}

pub struct AriFront {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for AriFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the front for `pebble`; the window starts far in the future, profiles are
/// `classic` and `shortlived`.
pub async fn start(pebble: &Pebble) -> AriFront {
    let mut directory: Value = pebble
        .https_client()
        .get(pebble.directory_url())
        .send()
        .await
        .expect("pebble directory")
        .json()
        .await
        .expect("directory JSON");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind front");
    let addr = listener.local_addr().expect("front addr");
    directory["renewalInfo"] = json!(format!("http://{addr}/renewal-info"));
    let now = OffsetDateTime::now_utc();
    let state = FrontState {
        window: (
            now + time::Duration::days(60),
            now + time::Duration::days(62),
        ),
        retry_after: "21600".into(),
        status: 200,
        requests: Vec::new(),
        profiles: BTreeMap::from([
            ("classic".to_string(), "90-day certificates".to_string()),
            ("shortlived".to_string(), "6-day certificates".to_string()),
        ]),
        order_limit: None,
        orders_refused: 0,
        caa_identities: Vec::new(),
        files: HashMap::new(),
    };
    let shared = Arc::new(Shared {
        directory,
        state: Mutex::new(state),
    });
    let app = Router::new()
        .route("/dir", get(directory_handler))
        .route("/renewal-info/{id}", get(renewal_info))
        .route("/files/{name}", get(file))
        .route("/new-order", axum::routing::post(refused_order))
        .with_state(shared.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    AriFront { addr, shared, task }
}

impl AriFront {
    /// `http://127.0.0.1:<port>/dir`: use as `[acme] directory`.
    pub fn directory_url(&self) -> String {
        format!("http://{}/dir", self.addr)
    }
    pub fn state(&self) -> FrontState {
        self.shared.state.lock().unwrap().clone()
    }
    pub fn set_window(&self, start: OffsetDateTime, end: OffsetDateTime) {
        self.shared.state.lock().unwrap().window = (start, end);
    }
    pub fn set_status(&self, status: u16) {
        self.shared.state.lock().unwrap().status = status;
    }
    /// Refuse every newOrder as rate limited, asking to retry after `retry_after_secs`
    /// (None: orders go to Pebble again).
    pub fn limit_orders(&self, retry_after_secs: Option<u64>) {
        self.shared.state.lock().unwrap().order_limit = retry_after_secs;
    }
    /// The issuer domain names the directory lists for CAA (RFC 8555 §7.1.1).
    pub fn set_caa_identities(&self, identities: &[&str]) {
        self.shared.state.lock().unwrap().caa_identities =
            identities.iter().map(|s| s.to_string()).collect();
    }
    /// Serves `body` at the returned URL.
    pub fn put_file(&self, name: &str, body: Vec<u8>) -> String {
        self.shared
            .state
            .lock()
            .unwrap()
            .files
            .insert(name.to_string(), body);
        format!("http://{}/files/{name}", self.addr)
    }
    /// The URL a file `name` is (or will be) served at.
    pub fn file_url(&self, name: &str) -> String {
        format!("http://{}/files/{name}", self.addr)
    }
}

async fn directory_handler(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let mut d = shared.directory.clone();
    let state = shared.state.lock().unwrap().clone();
    d["meta"]["profiles"] = json!(state.profiles);
    if !state.caa_identities.is_empty() {
        d["meta"]["caaIdentities"] = json!(state.caa_identities);
    }
    if state.order_limit.is_some() {
        let renewal = d["renewalInfo"].as_str().unwrap_or_default().to_string();
        d["newOrder"] = json!(renewal.replace("/renewal-info", "/new-order"));
    }
    Json(d)
}

/// Let's Encrypt's answer past a limit (RFC 8555 §6.7 `rateLimited`, 429, Retry-After). It
/// needs no nonce check: the request is refused whatever it holds.
async fn refused_order(State(shared): State<Arc<Shared>>) -> Response {
    let mut s = shared.state.lock().unwrap();
    s.orders_refused += 1;
    let retry_after = s.order_limit.unwrap_or(3600).to_string();
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            (header::CONTENT_TYPE, "application/problem+json".to_string()),
            (header::RETRY_AFTER, retry_after),
        ],
        json!({
            "type": "urn:ietf:params:acme:error:rateLimited",
            "detail": "too many new orders recently",
            "status": 429
        })
        .to_string(),
    )
        .into_response()
}

async fn renewal_info(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let mut s = shared.state.lock().unwrap();
    s.requests.push(id);
    let retry_after = s.retry_after.clone();
    if s.status != 200 {
        let status = StatusCode::from_u16(s.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (
            status,
            [
                (header::CONTENT_TYPE, "application/problem+json".to_string()),
                (header::RETRY_AFTER, retry_after),
            ],
            json!({"type": "urn:ietf:params:acme:error:serverInternal", "detail": "injected", "status": s.status})
                .to_string(),
        )
            .into_response();
    }
    let fmt = |t: OffsetDateTime| t.format(&Rfc3339).unwrap();
    let body = json!({
        "suggestedWindow": {"start": fmt(s.window.0), "end": fmt(s.window.1)},
        "explanationURL": "https://example.com/why",
    });
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::RETRY_AFTER, retry_after),
        ],
        body.to_string(),
    )
        .into_response()
}

async fn file(State(shared): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    match shared.state.lock().unwrap().files.get(&name) {
        Some(body) => (StatusCode::OK, body.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
