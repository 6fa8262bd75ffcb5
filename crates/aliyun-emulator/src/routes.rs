//! The HTTP plumbing and the path-level product registry: the inspection and fault endpoints,
//! the `/__region/<r>` prefix ([`Addressed`]), [`Route`] (FC 3, RPC, OSS by path) and
//! [`dispatch`], which draws the random fault and hands the request to its product.
use super::*;

pub(crate) async fn state_handler(State(shared): State<Arc<Shared>>) -> Json<EmulatorState> {
    Json(shared.lock().state.clone())
}

#[derive(Deserialize)]
pub(crate) struct FailNextBody {
    action: String,
    code: String,
    #[serde(default = "default_fail_status")]
    status: u16,
}

pub(crate) fn default_fail_status() -> u16 {
    500
}

pub(crate) async fn fail_next_handler(
    State(shared): State<Arc<Shared>>,
    body: axum::body::Bytes,
) -> Response {
    match serde_json::from_slice::<FailNextBody>(&body) {
        Ok(b) => {
            shared
                .lock()
                .failures
                .entry(b.action)
                .or_default()
                .push_back((b.code, b.status));
            (StatusCode::OK, Json(json!({"ok": true}))).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"ok": false, "error": e.to_string()})),
        )
            .into_response(),
    }
}

/// Which regional endpoint a request was sent to: `/__region/<region>` in front of the path
/// (the rig's `{region}`-templated endpoint overrides), else the default region's host.
#[derive(Debug, Clone)]
pub(crate) struct Addressed {
    pub region: String,
    /// The path prefix as sent (empty without one), for signatures over the path (V3).
    pub prefix: String,
}

impl Addressed {
    fn split(path: &str) -> (Addressed, String) {
        if let Some(rest) = path.strip_prefix("/__region/") {
            let (region, tail) = rest.split_once('/').unwrap_or((rest, ""));
            let at = Addressed {
                region: region.to_string(),
                prefix: format!("/__region/{region}"),
            };
            return (at, format!("/{tail}"));
        }
        let at = Addressed {
            region: REGION.to_string(),
            prefix: String::new(),
        };
        (at, path.to_string())
    }

    /// The path the client signed.
    pub fn signed_path(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }
}

/// The product registry for requests routed by path. RPC requests (`/`) are then routed by their
/// `Version` through [`RPC_PRODUCTS`] (rpc.rs); everything else not under FC's API version is OSS.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Route {
    /// FC 3 InvokeFunction (fc.rs).
    FcInvoke,
    /// FC 3 ROA routes: custom domains (fc.rs).
    FcRoa,
    /// Cloud-native API Gateway ROA routes under `/v1/domains` (apig.rs).
    ApigRoa,
    /// FC 2.0 ROA routes: custom domains (fc2.rs).
    Fc2Roa,
    /// Every RPC product (rpc.rs, then [`RPC_PRODUCTS`]).
    Rpc,
    /// OSS objects and bucket sub-resources (oss.rs).
    Oss,
}

impl Route {
    /// The route of a request. Every product shares the emulator's one host, so `/` is RPC
    /// unless the request is OSS-signed (OSS4-HMAC-SHA256): OSS's ListBuckets is `GET /` on
    /// the OSS endpoint.
    pub(crate) fn of(path: &str, headers: &HeaderMap) -> Route {
        let oss_signed = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.starts_with("OSS"));
        if path.starts_with("/2023-03-30/functions/") {
            Route::FcInvoke
        } else if path.starts_with("/2023-03-30/") {
            Route::FcRoa
        } else if path == "/v1/domains" || path.starts_with("/v1/domains/") {
            Route::ApigRoa
        } else if path == "/2021-04-06/custom-domains"
            || path.starts_with("/2021-04-06/custom-domains/")
        {
            Route::Fc2Roa
        } else if path == "/" && !oss_signed {
            Route::Rpc
        } else {
            Route::Oss
        }
    }
}

/// A ROA product's handler (FC 3, cloud-native API Gateway, FC 2.0).
type RoaHandler =
    fn(&Arc<Shared>, &Method, &str, Option<&str>, &HeaderMap, &[u8], &Addressed) -> Response;

pub(crate) async fn dispatch(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    // Timed from arrival, so a logged call's span includes its latency.
    REQUEST_START
        .scope(std::time::Instant::now(), dispatch_timed(shared, req))
        .await
}

async fn dispatch_timed(shared: Arc<Shared>, req: Request) -> Response {
    let latency = shared.lock().latency();
    if let Some(latency) = latency {
        tokio::time::sleep(latency).await;
    }
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, 64 << 20).await {
        Ok(b) => b,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, format!("cannot read body: {e}")).into_response();
        }
    };
    let (at, path) = Addressed::split(parts.uri.path());
    let path = path.as_str();
    let route = Route::of(path, &parts.headers);
    let rpc = route == Route::Rpc;
    let fault = shared.lock().draw_fault();
    match fault {
        Some(Fault::Throttle) => {
            return injected_error(
                rpc,
                400,
                "Throttling.User",
                "Request was denied due to user flow control.",
            );
        }
        Some(Fault::Unavailable) => {
            return injected_error(
                rpc,
                503,
                "ServiceUnavailable",
                "The request has failed due to a temporary failure of the server.",
            );
        }
        Some(Fault::Slow(ms)) => tokio::time::sleep(std::time::Duration::from_millis(ms)).await,
        _ => {}
    }
    let rsp = match route {
        Route::FcInvoke => {
            fc::handle(
                &shared,
                &parts.method,
                path,
                parts.uri.query(),
                &parts.headers,
                &body,
                &at,
            )
            .await
        }
        route @ (Route::FcRoa | Route::ApigRoa | Route::Fc2Roa) => {
            // The ROA products take the same request parts; only the handler differs.
            let handle: RoaHandler = match route {
                Route::FcRoa => fc::handle_fc,
                Route::ApigRoa => apig::handle_apig,
                _ => fc2::handle_fc2,
            };
            handle(
                &shared,
                &parts.method,
                path,
                parts.uri.query(),
                &parts.headers,
                &body,
                &at,
            )
        }
        Route::Rpc => {
            handle_rpc(
                &shared,
                &parts.method,
                parts.uri.query(),
                &parts.headers,
                &body,
                &at,
            )
            .await
        }
        Route::Oss => {
            handle_oss(
                &shared,
                &parts.method,
                path,
                parts.uri.query(),
                &parts.headers,
                &body,
                &at,
            )
            .await
        }
    };
    if fault == Some(Fault::Drop) {
        // The request took effect, but the answer is lost: the headers go out, then the
        // connection breaks in the middle of the body.
        let (mut head, _) = rsp.into_parts();
        head.headers.remove(header::CONTENT_LENGTH);
        if head.status == StatusCode::NO_CONTENT {
            // A 204 has no body to break off.
            head.status = StatusCode::OK;
        }
        let broken = futures_util::stream::iter([
            Ok(axum::body::Bytes::from_static(b"{")),
            Err(std::io::Error::other("emulator: connection dropped")),
        ]);
        return Response::from_parts(head, Body::from_stream(broken));
    }
    rsp
}
