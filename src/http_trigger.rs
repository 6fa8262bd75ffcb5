//! The HTTP trigger (SPEC: HTTP trigger): `POST /renew`, `POST /issue`, `GET /status`,
//! `GET /healthz`. FC delivers these with their own method and path and the header
//! `x-fc-control-path: /http-invoke`. Every route but `/healthz` needs
//! `Authorization: Bearer <token>` whose SHA-256 matches `[http] token_sha256` (compared in
//! constant time), unless `[http] auth = "function"` (FC checks the caller's signature itself).
//! Errors are JSON: 400 malformed, 401 no valid auth, 403 domain not allowed, 404 no such
//! route, 405 wrong method, 413 body too large, 429 `/issue` rate limit.
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Digest;
use subtle::ConstantTimeEq;

use crate::config::Config;
use crate::error::Error;
use crate::event::{Event, RenewOptions};
use crate::runtime::SharedConfig;
use crate::secret::Secret;

/// `[http]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// `bearer` (default): a bearer token checked against `token_sha256`; `function`: the FC
    /// trigger has authType function, FC verifies callers, alicert checks no token.
    pub auth: HttpAuth,
    /// Hex SHA-256 of the bearer token (`printf %s "$TOKEN" | sha256sum`).
    pub token_sha256: Option<String>,
    /// Suffix patterns `/issue` may request: `example.com` (it and every name under it),
    /// `*.example.com` (only names under it). Empty: `/issue` refuses every domain.
    pub allowed_domains: Vec<String>,
    /// Largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// `/issue` token bucket: this many at once, refilled at `issue_per_hour`.
    pub issue_burst: u32,
    pub issue_per_hour: u32,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum HttpAuth {
    #[default]
    Bearer,
    Function,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            auth: HttpAuth::Bearer,
            token_sha256: None,
            allowed_domains: Vec::new(),
            max_body_bytes: 16 * 1024,
            issue_burst: 5,
            issue_per_hour: 20,
        }
    }
}

impl HttpConfig {
    pub fn validate(&self) -> std::result::Result<(), String> {
        if let Some(t) = &self.token_sha256 {
            if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(
                    "token_sha256 must be 64 hex digits: the SHA-256 of the token (printf %s \"$TOKEN\" | sha256sum), not the token".into(),
                );
            }
        }
        for p in &self.allowed_domains {
            let bare = p.trim_start_matches("*.").trim_start_matches('.');
            crate::domain::normalize(bare).map_err(|e| format!("allowed_domains: `{p}`: {e}"))?;
        }
        if !(64..=1024 * 1024).contains(&self.max_body_bytes) {
            return Err("max_body_bytes must be between 64 and 1048576".into());
        }
        if self.issue_burst == 0 || self.issue_per_hour == 0 {
            return Err("issue_burst and issue_per_hour must be at least 1".into());
        }
        Ok(())
    }

    /// Whether `/issue` may request `domain` (already normalized).
    pub fn allows(&self, domain: &str) -> bool {
        self.allowed_domains.iter().any(|p| {
            let (under_only, base) = match p.strip_prefix("*.").or_else(|| p.strip_prefix('.')) {
                Some(b) => (true, b),
                None => (false, p.as_str()),
            };
            let Ok(base) = crate::domain::normalize(base) else {
                return false;
            };
            (!under_only && domain == base) || domain.ends_with(&format!(".{base}"))
        })
    }
}

/// A token bucket: `capacity` at once, refilled continuously at `per_sec`.
#[derive(Debug)]
pub struct TokenBucket {
    capacity: f64,
    per_sec: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(capacity: u32, per_hour: u32, now: Instant) -> TokenBucket {
        TokenBucket {
            capacity: capacity as f64,
            per_sec: per_hour as f64 / 3600.0,
            tokens: capacity as f64,
            last: now,
        }
    }

    /// Take one token, or say how long until one is available.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                ((1.0 - self.tokens) / self.per_sec).ceil(),
            ))
        }
    }
}

/// What the HTTP trigger routes share: the config and the `/issue` rate limit.
pub struct HttpState {
    config: SharedConfig,
    issue_bucket: Mutex<Option<TokenBucket>>,
}

impl HttpState {
    pub fn new(config: SharedConfig) -> Arc<HttpState> {
        Arc::new(HttpState {
            config,
            issue_bucket: Mutex::new(None),
        })
    }
}

/// Middleware: requests FC marks as HTTP-trigger requests go to the trigger routes, whatever
/// their path (so an HTTP caller can never reach `/invoke` or `/initialize`).
pub async fn intercept(State(state): State<Arc<HttpState>>, req: Request, next: Next) -> Response {
    let from_trigger = req
        .headers()
        .get("x-fc-control-path")
        .is_some_and(|v| v.as_bytes() == b"/http-invoke");
    if from_trigger {
        handle(State(state), req).await
    } else {
        next.run(req).await
    }
}

/// The HTTP-trigger request handler (also the runtime's fallback for unknown paths).
pub async fn handle(State(state): State<Arc<HttpState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let headers = crate::runtime::lower_headers(&parts.headers);
    let invocation = crate::runtime::invocation_from_headers(&headers);
    let id = invocation.request_id.clone();
    println!("FC Invoke Start RequestId: {id}");
    let path = strip_fc2_prefix(parts.uri.path()).to_string();
    let rsp = route(
        &state,
        &parts.method,
        &path,
        &parts.headers,
        body,
        invocation,
    )
    .await;
    tracing::info!(method = %parts.method, path = %path, status = rsp.status().as_u16(), "HTTP trigger request");
    println!("FC Invoke End RequestId: {id}");
    rsp
}

/// FC 2.0 HTTP triggers keep `/2016-08-15/proxy/<service>/<function>` before the path.
fn strip_fc2_prefix(path: &str) -> &str {
    if let Some(rest) = path.strip_prefix("/2016-08-15/proxy/") {
        let mut parts = rest.splitn(3, '/');
        let (_svc, _fn, tail) = (parts.next(), parts.next(), parts.next());
        return match tail {
            Some(t) => &path[path.len() - t.len() - 1..],
            None => "/",
        };
    }
    path
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Renew,
    Issue,
    Status,
    Health,
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({"ok": false, "error": {"code": code, "message": message.into()}});
    (status, Json(body)).into_response()
}

async fn route(
    state: &HttpState,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: Body,
    invocation: crate::handler::Invocation,
) -> Response {
    let (route, allowed) = match path {
        "/renew" => (Route::Renew, Method::POST),
        "/issue" => (Route::Issue, Method::POST),
        "/status" => (Route::Status, Method::GET),
        "/healthz" => (Route::Health, Method::GET),
        _ => {
            return error(
                StatusCode::NOT_FOUND,
                "NotFound",
                "no such route (POST /renew, POST /issue, GET /status, GET /healthz)",
            )
        }
    };
    if *method != allowed {
        let mut rsp = error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("use {allowed} {path}"),
        );
        rsp.headers_mut().insert(
            header::ALLOW,
            HeaderValue::from_str(allowed.as_str()).expect("method name"),
        );
        return rsp;
    }
    if route == Route::Health {
        return (StatusCode::OK, Json(json!({"ok": true}))).into_response();
    }
    let config = match state.config.as_ref() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "configuration is invalid");
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ConfigError",
                "the function's configuration is invalid; see its logs",
            );
        }
    };
    if let Err(why) = authorize(&config.http, headers) {
        let mut rsp = error(StatusCode::UNAUTHORIZED, "Unauthorized", why);
        rsp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return rsp;
    }
    let limit = config.http.max_body_bytes;
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLarge",
            format!("the body is larger than {limit} bytes ([http] max_body_bytes)"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large();
    }
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => return too_large(),
    };
    let event = match parse_event(route, &bytes) {
        Ok(e) => e,
        Err(e) => return error(StatusCode::BAD_REQUEST, "BadRequest", e.to_string()),
    };
    if let Event::Issue { domains, targets } = &event {
        // Forbidden names first (403), then everything else about the request (400): only a
        // request that would run takes a token from the rate limit.
        match crate::issue::normalize_domains(domains) {
            Err(e) => return error(StatusCode::BAD_REQUEST, "BadRequest", e.to_string()),
            Ok(names) => {
                if let Some(d) = names.iter().find(|d| !config.http.allows(d)) {
                    return error(
                        StatusCode::FORBIDDEN,
                        "Forbidden",
                        format!("domain `{d}` is not in [http] allowed_domains"),
                    );
                }
            }
        }
        if let Err(e) = crate::issue::certificate(config, domains, targets) {
            return error(StatusCode::BAD_REQUEST, "BadRequest", e.to_string());
        }
        if let Err(wait) = take_issue_token(state, config) {
            let mut rsp = error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                format!(
                    "/issue is rate limited ([http] issue_burst / issue_per_hour); retry in {}s",
                    wait.as_secs()
                ),
            );
            rsp.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&wait.as_secs().to_string()).expect("digits"),
            );
            return rsp;
        }
    }
    match crate::handler::handle(config, event, &invocation).await {
        Ok(result) => (StatusCode::OK, Json(result)).into_response(),
        Err(e) if matches!(e, Error::Input(_)) => {
            error(StatusCode::BAD_REQUEST, "BadRequest", e.to_string())
        }
        Err(e) => {
            tracing::error!(error = %e, "HTTP trigger request failed");
            let report = e.report();
            let body = json!({"ok": false, "request_id": invocation.request_id, "error": report});
            (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
        }
    }
}

/// The event a route's body stands for; a body naming another action is malformed.
fn parse_event(route: Route, body: &[u8]) -> Result<Event, Error> {
    match route {
        Route::Status => Ok(Event::Status(RenewOptions::default())),
        Route::Renew => match Event::parse(body)? {
            e @ Event::Renew(_) => Ok(e),
            _ => Err(Error::Input(
                "POST /renew takes a renew event: {} or {\"action\":\"renew\", ...}".into(),
            )),
        },
        Route::Issue => {
            // The action may be left out: the route says it.
            let mut value: Value = serde_json::from_slice(body)
                .map_err(|e| Error::Input(format!("body is not valid JSON: {e}")))?;
            let obj = value
                .as_object_mut()
                .ok_or_else(|| Error::Input("body must be a JSON object".into()))?;
            obj.entry("action").or_insert_with(|| json!("issue"));
            let text = serde_json::to_vec(&value).expect("JSON serializes");
            match Event::parse(&text)? {
                e @ Event::Issue { .. } => Ok(e),
                _ => Err(Error::Input(
                    "POST /issue takes {\"domains\": [...], \"targets\": [...]}".into(),
                )),
            }
        }
        Route::Health => Ok(Event::Status(RenewOptions::default())),
    }
}

/// Bearer token check, in constant time over the token's SHA-256.
fn authorize(http: &HttpConfig, headers: &HeaderMap) -> Result<(), String> {
    if http.auth == HttpAuth::Function {
        return Ok(());
    }
    let Some(expected) = http
        .token_sha256
        .as_deref()
        .and_then(|h| hex::decode(h).ok())
    else {
        return Err(
            "the HTTP trigger is not set up: configure [http] token_sha256 (or auth = \"function\")"
                .into(),
        );
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| Secret::new(token.trim()))
        });
    let Some(token) = presented else {
        return Err("missing `Authorization: Bearer <token>`".into());
    };
    let digest = sha2::Sha256::digest(token.expose().as_bytes());
    if bool::from(digest.as_slice().ct_eq(&expected)) {
        Ok(())
    } else {
        Err("invalid bearer token".into())
    }
}

fn take_issue_token(state: &HttpState, config: &Config) -> Result<(), Duration> {
    let mut bucket = state.issue_bucket.lock().unwrap_or_else(|e| e.into_inner());
    let now = Instant::now();
    bucket
        .get_or_insert_with(|| {
            TokenBucket::new(config.http.issue_burst, config.http.issue_per_hour, now)
        })
        .take(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_domain_patterns() {
        let h = HttpConfig {
            allowed_domains: vec!["example.com".into(), "*.shop.example.net".into()],
            ..HttpConfig::default()
        };
        assert!(h.allows("example.com"));
        assert!(h.allows("a.b.example.com"));
        assert!(h.allows("*.example.com"));
        assert!(!h.allows("badexample.com"));
        assert!(!h.allows("example.com.evil.org"));
        assert!(h.allows("x.shop.example.net"));
        assert!(h.allows("*.shop.example.net"));
        assert!(!h.allows("shop.example.net"));
        assert!(!HttpConfig::default().allows("example.com"));
    }

    #[test]
    fn token_bucket_limits_and_refills() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(2, 3600, t0);
        assert!(b.take(t0).is_ok());
        assert!(b.take(t0).is_ok());
        let wait = b.take(t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(1));
        assert!(b.take(t0 + Duration::from_millis(1500)).is_ok());
        assert!(b.take(t0 + Duration::from_millis(1600)).is_err());
    }

    #[test]
    fn validates_config() {
        let ok = HttpConfig {
            token_sha256: Some("a".repeat(64)),
            allowed_domains: vec!["*.example.com".into(), "bücher.de".into()],
            ..HttpConfig::default()
        };
        ok.validate().unwrap();
        let raw_token = HttpConfig {
            token_sha256: Some("hunter2".into()),
            ..HttpConfig::default()
        };
        assert!(raw_token.validate().unwrap_err().contains("64 hex"));
        let bad_pattern = HttpConfig {
            allowed_domains: vec!["10.0.0.1".into()],
            ..HttpConfig::default()
        };
        assert!(bad_pattern
            .validate()
            .unwrap_err()
            .contains("allowed_domains"));
    }

    #[test]
    fn fc2_paths_lose_their_proxy_prefix() {
        assert_eq!(strip_fc2_prefix("/2016-08-15/proxy/svc/fn/renew"), "/renew");
        assert_eq!(strip_fc2_prefix("/2016-08-15/proxy/svc/fn"), "/");
        assert_eq!(strip_fc2_prefix("/status"), "/status");
    }
}
