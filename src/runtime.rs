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

pub fn router(config: SharedConfig) -> Router {
    let http = crate::http_trigger::HttpState::new(config.clone());
    Router::new()
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
        .with_state(http)
}

pub async fn serve(config: Result<Config, Error>, addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "alicert serving FC custom runtime");
    if let Err(e) = &config {
        tracing::error!(error = %e, "configuration is invalid; every invocation will report it");
    }
    axum::serve(listener, router(Arc::new(config)))
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

/// The invocation's facts from FC's request headers: request id, the role's credentials, and
/// the deadline from `x-fc-function-timeout` (seconds), counted from now.
pub fn invocation_from_headers(headers: &BTreeMap<String, String>) -> Invocation {
    let deadline = headers
        .get("x-fc-function-timeout")
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map(|secs| std::time::Instant::now() + std::time::Duration::from_secs(secs));
    Invocation {
        request_id: request_id(headers),
        fc_credentials: Credentials::from_fc_headers(headers),
        deadline,
    }
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
    let invocation = invocation_from_headers(&headers);
    let id = invocation.request_id.clone();
    println!("FC Invoke Start RequestId: {id}");
    let outcome = match (Event::parse(&body), config.as_ref()) {
        (Ok(event), Ok(config)) => handler::handle(config, event, &invocation).await,
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
