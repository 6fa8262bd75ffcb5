//! The Function Compute custom-runtime contract: an HTTP server on FC_SERVER_PORT that turns
//! FC's requests into handler calls. No network work happens before the port is open.
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::config::Config;
use crate::error::Error;
use crate::event::Event;
pub use crate::fc_request::{
    deadline_after, invocation_from_headers, lower_headers, request_id, FC_REQUEST_HEADERS,
    FC_REQUEST_ID, MAX_TIMEOUT_SECS,
};
use crate::handler;

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
pub use crate::config::SharedConfig;

/// How `serve` runs: on FC (the default) or, with `--insecure-local`, for local testing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServeOptions {
    /// Answer requests that carry none of FC's invocation headers (off FC: there is no FC in
    /// front to authenticate anyone), and listen on 127.0.0.1 only.
    pub insecure_local: bool,
}

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
