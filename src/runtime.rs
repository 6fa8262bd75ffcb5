//! The Function Compute custom-runtime contract: an HTTP server on FC_SERVER_PORT that turns
//! FC's requests into handler calls. No network work happens before the port is open.
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::aliyun::Credentials;
use crate::config::Config;
use crate::error::Error;
use crate::event::Event;
use crate::handler::{self, Invocation};

/// Largest invoke body accepted (events are tiny; FC's own limit is larger).
const MAX_BODY: usize = 64 * 1024;

/// `FC_SERVER_PORT`, else `FC_CUSTOM_LISTEN_PORT`, else 9000.
pub fn port_from_env() -> u16 {
    ["FC_SERVER_PORT", "FC_CUSTOM_LISTEN_PORT"]
        .iter()
        .find_map(|k| std::env::var(k).ok()?.parse().ok())
        .unwrap_or(9000)
}

/// The config, or why it failed to load: a bad config is reported per invocation rather than
/// keeping the port closed (FC would only see a start timeout).
pub type SharedConfig = Arc<Result<Config, Error>>;

/// How `serve` runs: on FC (the default) or, with `--insecure-local`, for local testing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServeOptions {
    /// Answer requests that carry none of FC's invocation headers (off FC: there is no FC in
    /// front to authenticate anyone), and listen on 127.0.0.1 only.
    pub insecure_local: bool,
}

/// FC's common request headers (FC 3.0 custom runtime "Context and log format", "Request
/// headers", https://www.alibabacloud.com/help/en/functioncompute/fc/context-and-log-format-1,
/// and FC "Specifications": "Function Compute automatically generates a set of common request
/// headers and sends them to your custom runtime on every invocation"). `x-fc-request-id`
/// comes on every request; the credential headers only with a role.
pub const FC_REQUEST_HEADERS: &[&str] = &[
    "x-fc-request-id",
    "x-fc-access-key-id",
    "x-fc-access-key-secret",
    "x-fc-security-token",
    "x-fc-function-handler",
    "x-fc-function-memory",
    "x-fc-function-initializer",
    "x-fc-initialization-timeout",
    "x-fc-instance-lifecycle-pre-stop-handler",
    "x-fc-instance-lifecycle-pre-freeze-handler",
    "x-fc-region",
    "x-fc-account-id",
    "x-fc-qualifier",
    "x-fc-version-id",
    "x-fc-function-name",
    "x-fc-service-logproject",
    "x-fc-service-logstore",
    "x-fc-control-path",
];
pub const FC_REQUEST_ID: &str = "x-fc-request-id";

/// The runtime's router, failing closed: only requests from FC are served.
pub fn router(config: SharedConfig) -> Router {
    router_with(config, ServeOptions::default())
}

pub fn router_with(config: SharedConfig, options: ServeOptions) -> Router {
    let http = crate::http_trigger::HttpState::new(config.clone());
    let router = Router::new()
        .route("/invoke", post(invoke))
        .route("/initialize", post(ok))
        .route("/pre-stop", get(ok))
        .route("/pre-freeze", get(ok))
        .with_state(config)
        .fallback(crate::http_trigger::handle)
        .layer(axum::middleware::from_fn_with_state(
            http.clone(),
            crate::http_trigger::intercept,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(http);
    if options.insecure_local {
        router
    } else {
        router.layer(axum::middleware::from_fn(only_from_fc))
    }
}

/// Refuse a request that carries none of FC's invocation headers: off FC (a port exposed by
/// mistake, a container run elsewhere) nobody authenticated it, and `/invoke` runs any event,
/// account deactivation included. (The headers prove nothing by themselves — on FC the port
/// is reachable only through FC; this guard makes an accidental exposure fail closed.)
async fn only_from_fc(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let from_fc = FC_REQUEST_HEADERS.iter().any(|h| {
        req.headers()
            .get(*h)
            .is_some_and(|v| !v.as_bytes().trim_ascii().is_empty())
    });
    if from_fc {
        return next.run(req).await;
    }
    tracing::warn!(path = %req.uri().path(), "refused a request carrying none of FC's request headers");
    let body = json!({"ok": false, "error": {
        "code": "Forbidden",
        "message": "not a Function Compute request (none of FC's x-fc-* request headers, e.g. x-fc-request-id); to run the runtime locally, start `alicert serve --insecure-local` (listens on 127.0.0.1 only)",
    }});
    (StatusCode::FORBIDDEN, Json(body)).into_response()
}

pub async fn serve(
    config: Result<Config, Error>,
    port: u16,
    options: ServeOptions,
) -> std::io::Result<()> {
    let ip = if options.insecure_local {
        std::net::Ipv4Addr::LOCALHOST
    } else {
        std::net::Ipv4Addr::UNSPECIFIED
    };
    let addr = SocketAddr::from((ip, port));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, insecure_local = options.insecure_local, "alicert serving FC custom runtime");
    if options.insecure_local {
        tracing::warn!(
            "--insecure-local: requests without FC's headers are served; never expose this port"
        );
    }
    if let Err(e) = &config {
        tracing::error!(error = %e, "configuration is invalid; every invocation will report it");
    }
    axum::serve(listener, router_with(Arc::new(config), options))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}

async fn ok() -> &'static str {
    "ok"
}

pub fn lower_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    headers
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.as_str().to_ascii_lowercase(),
                v.to_str().ok()?.to_string(),
            ))
        })
        .collect()
}

fn request_id(headers: &BTreeMap<String, String>) -> String {
    headers
        .get("x-fc-request-id")
        .filter(|s| !s.is_empty())
        .cloned()
        .unwrap_or_else(|| format!("local-{}", hex::encode(rand::random::<[u8; 8]>())))
}

/// FC's longest function timeout: "The maximum execution time of a function is 24 hours"
/// (https://www.alibabacloud.com/help/en/functioncompute/fc/what-can-i-do-if-my-function-exceeds-the-timeout-period-1).
/// A larger `x-fc-function-timeout` or `--timeout` is not from FC, and is refused.
pub const MAX_TIMEOUT_SECS: u64 = 24 * 3600;

/// The deadline `secs` from now, checked: 1 to [`MAX_TIMEOUT_SECS`] seconds.
pub fn deadline_after(secs: u64, what: &str) -> Result<std::time::Instant, Error> {
    if !(1..=MAX_TIMEOUT_SECS).contains(&secs) {
        return Err(Error::Input(format!(
            "{what} = {secs}: must be 1 to {MAX_TIMEOUT_SECS} seconds (FC's longest function timeout is 24 hours)"
        )));
    }
    std::time::Instant::now()
        .checked_add(std::time::Duration::from_secs(secs))
        .ok_or_else(|| Error::Input(format!("{what} = {secs}: too far in the future")))
}

/// The invocation's facts from FC's request headers: request id, the role's credentials, and
/// the deadline from `x-fc-function-timeout` (seconds), counted from now. A timeout that is not
/// a whole number of seconds in FC's range is an input error naming the header.
pub fn invocation_from_headers(headers: &BTreeMap<String, String>) -> Result<Invocation, Error> {
    let deadline = match headers.get("x-fc-function-timeout").map(|s| s.trim()) {
        None | Some("") => None,
        Some(s) => {
            let secs = s.parse::<u64>().map_err(|_| {
                Error::Input(format!(
                    "header x-fc-function-timeout = `{}`: not a whole number of seconds",
                    s.escape_debug()
                ))
            })?;
            Some(deadline_after(secs, "header x-fc-function-timeout")?)
        }
    };
    Ok(Invocation {
        request_id: request_id(headers),
        fc_credentials: Credentials::from_fc_headers(headers),
        deadline,
    })
}

/// An invocation error: FC's function-error signal is the `x-fc-status: 404` header.
fn function_error(e: &Error, request_id: &str) -> Response {
    let body = json!({"ok": false, "request_id": request_id, "error": e.report()});
    let mut rsp = (StatusCode::OK, Json(body)).into_response();
    rsp.headers_mut()
        .insert("x-fc-status", axum::http::HeaderValue::from_static("404"));
    rsp
}

async fn invoke(State(config): State<SharedConfig>, headers: HeaderMap, body: Bytes) -> Response {
    // HTTP-trigger requests never get here: `http_trigger::intercept` takes them first.
    let headers = lower_headers(&headers);
    let id = request_id(&headers);
    println!("FC Invoke Start RequestId: {id}");
    let parsed = invocation_from_headers(&headers)
        .map(|mut i| {
            i.request_id = id.clone();
            i
        })
        .and_then(|i| Ok((i, Event::parse(&body)?)));
    let outcome = match (parsed, config.as_ref()) {
        (Ok((invocation, event)), Ok(config)) => handler::handle(config, event, &invocation).await,
        (Err(e), _) => Err(e),
        (_, Err(Error::Config(m))) => Err(Error::Config(m.clone())),
        (_, Err(e)) => Err(Error::Other(e.to_string())),
    };
    let rsp = match outcome {
        Ok(result) => (StatusCode::OK, Json(result)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "invocation failed");
            function_error(&e, &id)
        }
    };
    println!("FC Invoke End RequestId: {id}");
    rsp
}
