//! An HTTPS front for Pebble 2.4 (Debian) that never lets an authorization request overlap a
//! newOrder request or another authorization request, so that `make bench`'s many concurrent
//! orders do not hang Pebble.
//!
//! Pebble 2.4 can deadlock under concurrent orders (wfe.go, db/memorystore.go at v2.4.0):
//! its `Authz` handler write-locks the authorization and then looks the account up under the
//! store's read lock, while `NewOrder` calls `FindValidAuthorization`, which holds the store's
//! read lock and read-locks every authorization in turn. Once a writer (another order being
//! added) queues on the store, neither gets on: Go's `RWMutex` lets no new reader in ahead of
//! a waiting writer. A goroutine dump of a hung bench run showed exactly these three.
//! Here an authorization request waits for the newOrders in flight and holds new ones back (a
//! readers-writer lock: newOrders, which take Pebble longer as its store grows, still run side
//! by side; authorization requests are quick); every other request passes straight through. Like persist_front.rs, it is a transparent reverse proxy (same
//! `Host`, same body), so Pebble builds every URL from the front's address.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;

use super::pebble::Pebble;
use super::persist_front::{forward, pebble_client, tls_listener};

struct Shared {
    pebble: String,
    client: reqwest::Client,
    /// Read across a newOrder, written across an authorization request.
    orders: tokio::sync::RwLock<()>,
}

pub struct SerialFront {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SerialFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SerialFront {
    /// `https://127.0.0.1:<port>/dir`: use as `[acme] directory`.
    pub fn directory_url(&self) -> String {
        format!("https://{}/dir", self.addr)
    }
}

pub async fn start(pebble: &Pebble) -> SerialFront {
    let (listener, addr) = tls_listener(pebble).await;
    let (base, client) = pebble_client(pebble);
    let shared = Arc::new(Shared {
        pebble: base,
        client,
        orders: tokio::sync::RwLock::new(()),
    });
    let app = Router::new().fallback(proxy).with_state(shared);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    SerialFront { addr, task }
}

/// Pebble 2.4's paths for newOrder and authorizations (wfe.go `newOrderPath`, `authzPath`).
const NEW_ORDER: &str = "/order-plz";
const AUTHZ: &str = "/authZ/";

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
    let _order = match uri.path() == NEW_ORDER {
        true => Some(shared.orders.read().await),
        false => None,
    };
    let _authz = match uri.path().starts_with(AUTHZ) {
        true => Some(shared.orders.write().await),
        false => None,
    };
    match forward(
        &shared.client,
        &shared.pebble,
        method,
        &path,
        &headers,
        body,
    )
    .await
    {
        Some(answer) => answer.into_response(),
        None => StatusCode::BAD_GATEWAY.into_response(),
    }
}
