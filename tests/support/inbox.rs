//! A local receiver for notification webhooks: every request whose path `route` accepts is kept
//! (channel, JSON body, query) and answered as `route` says; anything else is 404.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;

/// What the receiver accepted: (channel, body, query).
pub type Inbox = Arc<Mutex<Vec<(String, Value, String)>>>;

/// Which channel a request is for and the platform's answer; None: not a receiver's path.
pub type Route = fn(&Uri, &Value) -> Option<(&'static str, Response)>;

/// The generic `[notify] webhook` at `/hook`: 204, as alicert's README says a receiver may answer.
pub fn webhook_only(uri: &Uri, _body: &Value) -> Option<(&'static str, Response)> {
    (uri.path() == "/hook").then(|| ("webhook", StatusCode::NO_CONTENT.into_response()))
}

/// Starts the receiver on a free loopback port; its base URL and inbox.
pub async fn start(route: Route) -> (String, Inbox) {
    let inbox: Inbox = Arc::default();
    let app = Router::new()
        .fallback(receive)
        .with_state((inbox.clone(), route));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, inbox)
}

async fn receive(State((inbox, route)): State<(Inbox, Route)>, uri: Uri, body: Bytes) -> Response {
    let Ok(json) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
    };
    let Some((channel, rsp)) = route(&uri, &json) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    inbox.lock().unwrap().push((
        channel.to_string(),
        json,
        uri.query().unwrap_or_default().to_string(),
    ));
    rsp
}
