//! The HTTP trigger (SPEC: HTTP trigger): `POST /renew`, `POST /issue`, `GET /status`,
//! `GET /healthz`. FC delivers these with their own method and path and the header
//! `x-fc-control-path: /http-invoke`. Every route but `/healthz` needs
//! `Authorization: Bearer <token>` whose SHA-256 matches `[http] token_sha256` (compared in
//! constant time), unless `[http] auth = "function"` (FC checks the caller's signature itself).
//! Errors are JSON: 400 malformed, 401 no valid auth, 403 domain not allowed, 404 no such
//! route, 405 wrong method, 413 body too large, 429 `/issue` rate limit.
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

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

use crate::config::TargetConfig;
use crate::error::Error;
use crate::event::{Event, RenewOptions};
use crate::issue::Refusal;
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
    /// `[http.target_sets]`: the only places `/issue` may deploy to, by name. A caller names
    /// one; it never supplies a target of its own (empty: `/issue` refuses every request).
    pub target_sets: BTreeMap<String, TargetSet>,
    /// Largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// `/issue` (and forced `/renew`) token bucket: this many at once, refilled at
    /// `issue_per_hour`. Per FC instance: each instance counts on its own.
    pub issue_burst: u32,
    pub issue_per_hour: u32,
}

/// One `[http.target_sets]` entry: `web = [ { kind = "cdn", domain = "www.example.com" } ]`,
/// or, to narrow the domains it may carry, `web = { targets = [...], allowed_domains = [...] }`.
#[derive(Debug, Clone, Default)]
pub struct TargetSet {
    pub targets: Vec<TargetConfig>,
    /// Further limits `[http] allowed_domains` for this set (empty: no further limit).
    pub allowed_domains: Vec<String>,
}

impl<'de> Deserialize<'de> for TargetSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Table {
            targets: Vec<TargetConfig>,
            #[serde(default)]
            allowed_domains: Vec<String>,
        }
        use serde::de::Error as _;
        match toml::Value::deserialize(d)? {
            v @ toml::Value::Array(_) => Ok(TargetSet {
                targets: v.try_into().map_err(D::Error::custom)?,
                allowed_domains: Vec::new(),
            }),
            v @ toml::Value::Table(_) => {
                let t: Table = v.try_into().map_err(D::Error::custom)?;
                Ok(TargetSet {
                    targets: t.targets,
                    allowed_domains: t.allowed_domains,
                })
            }
            _ => Err(D::Error::custom(
                "a target set is a list of targets, or a table with `targets` (and optional `allowed_domains`)",
            )),
        }
    }
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
            target_sets: BTreeMap::new(),
            max_body_bytes: 16 * 1024,
            issue_burst: 5,
            issue_per_hour: 20,
        }
    }
}

/// Whether `domain` (normalized) matches one of `patterns` (see `allowed_domains`).
fn matches_any(patterns: &[String], domain: &str) -> bool {
    patterns.iter().any(|p| {
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

fn check_patterns(key: &str, patterns: &[String]) -> std::result::Result<(), String> {
    for p in patterns {
        let bare = p.trim_start_matches("*.").trim_start_matches('.');
        crate::domain::normalize(bare).map_err(|e| format!("{key}: `{p}`: {e}"))?;
    }
    Ok(())
}

impl HttpConfig {
    /// Every message starts with the key it is about (`[http] ...`, `[http.target_sets] ...`).
    pub fn validate(&self) -> std::result::Result<(), String> {
        if let Some(t) = &self.token_sha256 {
            if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(
                    "[http] token_sha256 must be 64 hex digits: the SHA-256 of the token (printf %s \"$TOKEN\" | sha256sum), not the token".into(),
                );
            }
        }
        check_patterns("[http] allowed_domains", &self.allowed_domains)?;
        if !(64..=1024 * 1024).contains(&self.max_body_bytes) {
            return Err("[http] max_body_bytes must be between 64 and 1048576".into());
        }
        if self.issue_burst == 0 || self.issue_per_hour == 0 {
            return Err("[http] issue_burst and issue_per_hour must be at least 1".into());
        }
        for (name, set) in &self.target_sets {
            let at = format!("[http.target_sets] {name}");
            if name.is_empty()
                || name.len() > 64
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(format!("{at}: a set name is 1 to 64 of A-Z a-z 0-9 - _"));
            }
            if set.targets.is_empty() {
                return Err(format!(
                    "{at}: targets must not be empty (e.g. {name} = [{{ kind = \"cdn\", domain = \"www.example.com\" }}])"
                ));
            }
            for (i, t) in set.targets.iter().enumerate() {
                crate::deploy::check(t)
                    .map_err(|e| format!("{at} targets[{i}] (kind = \"{}\"): {e}", t.kind))?;
            }
            check_patterns(&format!("{at} allowed_domains"), &set.allowed_domains)?;
        }
        Ok(())
    }

    /// Whether `/issue` may request `domain` (already normalized).
    pub fn allows(&self, domain: &str) -> bool {
        matches_any(&self.allowed_domains, domain)
    }
}

impl TargetSet {
    /// Whether this set may carry `domain` (normalized): `[http] allowed_domains` decides
    /// first; a set with its own `allowed_domains` narrows that further.
    pub fn allows(&self, domain: &str) -> bool {
        self.allowed_domains.is_empty() || matches_any(&self.allowed_domains, domain)
    }
}

/// The `/issue` (and forced `/renew`) rate limit: governor's GCRA, i.e. a token bucket of
/// `issue_burst` refilled at `issue_per_hour`. It lives in this process, so it is per FC
/// instance (see README: HTTP trigger).
pub type IssueLimiter = governor::DefaultDirectRateLimiter;

pub fn issue_limiter(http: &HttpConfig) -> Option<IssueLimiter> {
    let per_hour = std::num::NonZeroU32::new(http.issue_per_hour)?;
    let burst = std::num::NonZeroU32::new(http.issue_burst)?;
    Some(governor::RateLimiter::direct(
        governor::Quota::per_hour(per_hour).allow_burst(burst),
    ))
}

/// What the HTTP trigger routes share: the config and the `/issue` rate limit.
pub struct HttpState {
    config: SharedConfig,
    limiter: Option<IssueLimiter>,
}

impl HttpState {
    pub fn new(config: SharedConfig) -> Arc<HttpState> {
        let limiter = config
            .as_ref()
            .as_ref()
            .ok()
            .and_then(|c| issue_limiter(&c.http));
        Arc::new(HttpState { config, limiter })
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
    let path = strip_fc2_prefix(parts.uri.path()).to_string();
    let (id, rsp) = match crate::runtime::invocation_from_headers(&headers) {
        Ok(invocation) => {
            let id = invocation.request_id.clone();
            println!("FC Invoke Start RequestId: {id}");
            let rsp = route(
                &state,
                &parts.method,
                &path,
                &parts.headers,
                body,
                invocation,
            )
            .await;
            (id, rsp)
        }
        Err(e) => {
            let id = headers
                .get(crate::runtime::FC_REQUEST_ID)
                .cloned()
                .unwrap_or_default();
            println!("FC Invoke Start RequestId: {id}");
            (
                id,
                error(StatusCode::BAD_REQUEST, "BadRequest", e.to_string()),
            )
        }
    };
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
    // Everything about the request is checked against the config before anything runs (403
    // for what it may not do, 400 for what is malformed); only a request that would reach the
    // CA takes a token from the rate limit.
    let charged = match &event {
        Event::Issue {
            domains,
            targets,
            dry_run,
        } => {
            match crate::issue::resolve(config, domains, targets) {
                Ok(_) => {}
                Err(Refusal::Forbidden(m)) => return error(StatusCode::FORBIDDEN, "Forbidden", m),
                Err(Refusal::Invalid(m)) => return error(StatusCode::BAD_REQUEST, "BadRequest", m),
            }
            !dry_run
        }
        Event::Renew(o) => {
            if let Some(n) = o
                .certificates
                .iter()
                .find(|n| config.certificate(n).is_none())
            {
                return error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    format!(
                        "certificates: no certificate named `{n}` in {}",
                        config.source
                    ),
                );
            }
            // A forced renew orders whatever is due or not: a loop of them would burn the
            // CA's duplicate-certificate limit, so it counts like /issue.
            o.force && !o.dry_run
        }
        _ => false,
    };
    if charged {
        if let Err(wait) = take_issue_token(state) {
            let mut rsp = error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                format!(
                    "/issue and forced /renew are rate limited ([http] issue_burst / issue_per_hour, per instance); retry in {}s",
                    wait.as_secs()
                ),
            );
            if let Ok(v) = HeaderValue::from_str(&wait.as_secs().to_string()) {
                rsp.headers_mut().insert(header::RETRY_AFTER, v);
            }
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
                    "POST /issue takes {\"domains\": [...], \"target_set\": \"<one of [http.target_sets]>\"}".into(),
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

/// Take a token, or say how long until one is available (whole seconds, at least 1).
fn take_issue_token(state: &HttpState) -> Result<(), Duration> {
    use governor::clock::Clock;
    let Some(limiter) = &state.limiter else {
        // No valid config, so no request reaches here; refuse rather than run unlimited.
        return Err(Duration::from_secs(3600));
    };
    limiter.check().map_err(|not_until| {
        let wait = not_until.wait_time_from(limiter.clock().now());
        Duration::from_secs(wait.as_secs().saturating_add(1))
    })
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
    fn issue_limiter_allows_the_burst_then_says_when() {
        let http = HttpConfig {
            issue_burst: 2,
            issue_per_hour: 1,
            ..HttpConfig::default()
        };
        let state = HttpState {
            config: Arc::new(Err(Error::Config("unused".into()))),
            limiter: issue_limiter(&http),
        };
        assert!(take_issue_token(&state).is_ok());
        assert!(take_issue_token(&state).is_ok());
        let wait = take_issue_token(&state).unwrap_err();
        // One token an hour: the next is about an hour away.
        assert!((3500..=3601).contains(&wait.as_secs()), "{wait:?}");
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
