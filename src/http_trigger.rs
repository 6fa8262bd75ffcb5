//! The HTTP trigger (SPEC: HTTP trigger): `POST /renew`, `POST /issue`, `GET /status`,
//! `GET /report` (the HTML report, rendered from a live read), `GET /healthz`. FC delivers these with their own method and path and the header
//! `x-fc-control-path: /http-invoke`. Every route but `/healthz` needs
//! `Authorization: Bearer <token>` whose SHA-256 matches `[http] token_sha256` (compared in
//! constant time), unless `[http] auth = "function"` (FC checks the caller's signature itself).
//! Errors are JSON: 400 malformed, 401 no valid auth, 403 domain not allowed, 404 no such
//! route, 405 wrong method, 413 body too large, 429 `/issue` rate limit.
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use sha2::Digest;
use subtle::ConstantTimeEq;

use crate::config::{Config, SharedConfig};
use crate::error::Error;
use crate::event::{Event, RenewOptions};
pub use crate::http_access::{HttpAuth, HttpConfig, TargetSet};
use crate::issue::Refusal;
use crate::secret::Secret;

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
    let headers = crate::fc_request::lower_headers(&parts.headers);
    let path = strip_fc2_prefix(parts.uri.path()).to_string();
    let (id, rsp) = match crate::fc_request::invocation_from_headers(&headers) {
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
                .get(crate::fc_request::FC_REQUEST_ID)
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
    Report,
    Health,
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({"ok": false, "error": {"code": code, "message": message.into()}});
    (status, Json(body)).into_response()
}

/// A refusal: the response to send instead of running anything. (Not boxed: one is built at
/// most once per request, and only on the way out.)
type Refused = Response;

async fn route(
    state: &HttpState,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: Body,
    invocation: crate::invocation::Invocation,
) -> Response {
    let (config, event, route) = match admit(state, method, path, headers, body).await {
        Ok(Some(admitted)) => admitted,
        Ok(None) => return (StatusCode::OK, Json(json!({"ok": true}))).into_response(),
        Err(refused) => return refused,
    };
    let started = (time::OffsetDateTime::now_utc(), std::time::Instant::now());
    match crate::handler::handle(config, event, &invocation).await {
        Ok(result) if matches!(route, Route::Report | Route::Status) => {
            let facts = crate::report::RunFacts {
                action: "status",
                started: started.0,
                duration: started.1.elapsed(),
                known: config.certificates.iter().map(|c| c.name.clone()).collect(),
            };
            report_response(config, route, result, &facts, &invocation).await
        }
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

/// `GET /report`: the HTML page of a live read; `GET /status`: the result JSON as before, plus
/// `report`, the same document as `status.json` (added, so existing readers are unaffected).
async fn report_response(
    config: &Config,
    route: Route,
    result: crate::result::RunResult,
    facts: &crate::report::RunFacts,
    invocation: &crate::invocation::Invocation,
) -> Response {
    let doc = match invocation.aliyun_client(&config.aliyun).await {
        Ok(client) => crate::report::document(&config.report, &client, &result, facts).await,
        Err(e) => Err(e),
    };
    let doc = match doc {
        Ok(doc) => doc,
        Err(e) => {
            tracing::error!(error = %e, "HTTP trigger: the report could not be built");
            let body =
                json!({"ok": false, "request_id": invocation.request_id, "error": e.report()});
            return (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response();
        }
    };
    if route == Route::Status {
        let mut body = serde_json::to_value(&result).expect("result serializes");
        body["report"] = serde_json::to_value(&doc).expect("status document serializes");
        return (StatusCode::OK, Json(body)).into_response();
    }
    let page = crate::report::html::render(&doc);
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    (StatusCode::OK, headers, page).into_response()
}

/// Everything about the request, checked before anything runs: route and method, config,
/// authorization, body size, the event itself (403 for what it may not do, 400 for what is
/// malformed), then the rate limit. `None`: `/healthz`.
async fn admit<'s>(
    state: &'s HttpState,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Option<(&'s Config, Event, Route)>, Refused> {
    let route = match_route(method, path)?;
    if route == Route::Health {
        return Ok(None);
    }
    let config = state.config.as_ref().as_ref().map_err(|e| {
        tracing::error!(error = %e, "configuration is invalid");
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ConfigError",
            "the function's configuration is invalid; see its logs",
        )
    })?;
    authorize(&config.http, headers).map_err(|why| {
        let mut rsp = error(StatusCode::UNAUTHORIZED, "Unauthorized", why);
        rsp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        rsp
    })?;
    let bytes = read_body(config.http.max_body_bytes, headers, body).await?;
    let event = parse_event(route, &bytes)
        .map_err(|e| error(StatusCode::BAD_REQUEST, "BadRequest", e.to_string()))?;
    // Only a request that would reach the CA takes a token from the rate limit.
    if charged(config, &event)? {
        take_issue_token(state).map_err(rate_limited)?;
    }
    Ok(Some((config, event, route)))
}

#[allow(clippy::result_large_err)]
fn match_route(method: &Method, path: &str) -> Result<Route, Refused> {
    let (route, allowed) =
        match path {
            "/renew" => (Route::Renew, Method::POST),
            "/issue" => (Route::Issue, Method::POST),
            "/status" => (Route::Status, Method::GET),
            "/report" => (Route::Report, Method::GET),
            "/healthz" => (Route::Health, Method::GET),
            _ => return Err(error(
                StatusCode::NOT_FOUND,
                "NotFound",
                "no such route (POST /renew, POST /issue, GET /status, GET /report, GET /healthz)",
            )),
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
        return Err(rsp);
    }
    Ok(route)
}

/// The body, at most `limit` bytes (413 beyond, by the declared length or by counting).
async fn read_body(limit: usize, headers: &HeaderMap, body: Body) -> Result<Bytes, Refused> {
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
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())
}

/// Whether the event may run as asked (else 403/400), and whether it would order from the CA
/// (then it is rate limited).
#[allow(clippy::result_large_err)]
fn charged(config: &Config, event: &Event) -> Result<bool, Refused> {
    match event {
        Event::Issue {
            domains,
            targets,
            dry_run,
        } => match crate::issue::resolve(config, domains, targets) {
            Ok(_) => Ok(!dry_run),
            Err(Refusal::Forbidden(m)) => Err(error(StatusCode::FORBIDDEN, "Forbidden", m)),
            Err(Refusal::Invalid(m)) => Err(error(StatusCode::BAD_REQUEST, "BadRequest", m)),
        },
        Event::Renew(o) => {
            if let Some(n) = o
                .certificates
                .iter()
                .find(|n| config.certificate(n).is_none())
            {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    format!(
                        "certificates: no certificate named `{n}` in {}",
                        config.source
                    ),
                ));
            }
            // A forced renew orders whatever is due or not: a loop of them would burn the
            // CA's duplicate-certificate limit, so it counts like /issue.
            Ok(o.force && !o.dry_run)
        }
        _ => Ok(false),
    }
}

fn rate_limited(wait: Duration) -> Refused {
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
    rsp
}

/// The event a route's body stands for; a body naming another action is malformed.
fn parse_event(route: Route, body: &[u8]) -> Result<Event, Error> {
    match route {
        Route::Status | Route::Report => Ok(Event::Status(RenewOptions::default())),
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
