//! The Function Compute custom-runtime contract: an HTTP server on FC_SERVER_PORT that turns
//! FC's requests into handler calls. No network work happens before the port is open.
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
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
    Router::new()
        .route("/invoke", post(invoke))
        .route("/initialize", post(ok))
        .route("/pre-stop", get(ok))
        .route("/pre-freeze", get(ok))
        .fallback(http_trigger)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(config)
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

fn lower_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
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

/// An invocation error: FC's function-error signal is the `x-fc-status: 404` header.
fn function_error(e: &Error, request_id: &str) -> Response {
    let body = json!({"ok": false, "request_id": request_id, "error": e.report()});
    let mut rsp = (StatusCode::OK, Json(body)).into_response();
    rsp.headers_mut()
        .insert("x-fc-status", axum::http::HeaderValue::from_static("404"));
    rsp
}

async fn invoke(State(config): State<SharedConfig>, headers: HeaderMap, body: Bytes) -> Response {
    let headers = lower_headers(&headers);
    if headers.get("x-fc-control-path").map(String::as_str) == Some("/http-invoke") {
        // An HTTP-trigger request that happens to use the path /invoke: never run it unauthenticated.
        return http_error(StatusCode::NOT_FOUND, "no such route");
    }
    let id = request_id(&headers);
    println!("FC Invoke Start RequestId: {id}");
    let invocation = Invocation {
        request_id: id.clone(),
        fc_credentials: Credentials::from_fc_headers(&headers),
    };
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

fn http_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"ok": false, "error": {"code": status.as_u16().to_string(), "message": message}})))
        .into_response()
}

/// HTTP trigger requests (`x-fc-control-path: /http-invoke`) keep their own method and path.
async fn http_trigger(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let id = request_id(&lower_headers(&headers));
    println!("FC Invoke Start RequestId: {id}");
    let rsp = http_route(method, uri.path());
    println!("FC Invoke End RequestId: {id}");
    rsp
}

fn http_route(method: Method, path: &str) -> Response {
    match (method, path) {
        (Method::GET, "/healthz") => (StatusCode::OK, Json(json!({"ok": true}))).into_response(),
        (_, "/healthz") => http_error(StatusCode::METHOD_NOT_ALLOWED, "use GET /healthz"),
        _ => http_error(StatusCode::NOT_FOUND, "no such route"),
    }
}
