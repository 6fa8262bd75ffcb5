//! FC 3 (Function Compute) in the emulator: `POST /2023-03-30/functions/{name}/invocations`
//! (InvokeFunction), V3-signed (ACS3-HMAC-SHA256) and verified by `services::verify_v3` like
//! every FC route. Functions come from the seed (`fc_functions`).
//! An async invocation is recorded in `fc_invocations` and answered 202; when a forward URL is
//! set ([`Emulator::set_fc_forward`]), its body is then POSTed to `<url>/invoke`, as FC would
//! run the function (an `alicert serve` in tests).
use super::*;

/// One InvokeFunction the emulator accepted.
#[derive(Debug, Clone, Serialize)]
pub struct FcInvocation {
    pub function: String,
    pub qualifier: Option<String>,
    /// `Async` or `Sync`.
    pub invocation_type: String,
    pub body: String,
    pub request_id: String,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(super) async fn handle(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    at: &super::Addressed,
) -> Response {
    let request_id = uuid_like();
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    if let Some(q) = query {
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            params.insert(k.into_owned(), v.into_owned());
        }
    }
    let function = path
        .strip_prefix("/2023-03-30/functions/")
        .and_then(|rest| rest.strip_suffix("/invocations"))
        .map(|f| {
            form_urlencoded::parse(format!("f={f}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        });
    let outcome = match (method, &function) {
        (&Method::POST, Some(function)) => {
            // The same V3 verification as the other FC routes (emulator/services.rs).
            super::services::verify_v3(shared, method, &at.signed_path(path), query, headers, body)
                .and_then(|ak| {
                    let mut inner = shared.lock();
                    if !inner.fc_functions.contains(function) {
                        return Err(err(
                            404,
                            "FunctionNotFound",
                            format!("function '{function}' does not exist"),
                        ));
                    }
                    let invocation_type = header(headers, "x-fc-invocation-type")
                        .unwrap_or("Sync")
                        .to_string();
                    if invocation_type != "Async" {
                        return Err(err(
                            400,
                            "InvalidArgument",
                            "the emulator only takes x-fc-invocation-type: Async",
                        ));
                    }
                    inner.state.fc_invocations.push(FcInvocation {
                        function: function.clone(),
                        qualifier: params.get("qualifier").cloned(),
                        invocation_type,
                        body: String::from_utf8_lossy(body).into_owned(),
                        request_id: request_id.clone(),
                    });
                    Ok((ak, inner.fc_forward.clone()))
                })
        }
        _ => Err(err(
            404,
            "PathNotFound",
            format!("no FC route {method} {path}"),
        )),
    };
    let (ak, status, code) = match &outcome {
        Ok((ak, _)) => (ak.clone(), 202, None),
        Err(e) => (String::new(), e.status, Some(e.code.clone())),
    };
    shared.lock().state.calls.push(Call {
        product: "fc".into(),
        action: "InvokeFunction".into(),
        access_key_id: ak,
        security_token: headers.contains_key("x-acs-security-token"),
        method: method.to_string(),
        http_status: status,
        code,
        request_id: request_id.clone(),
        params: params.clone(),
    });
    match outcome {
        Ok((_, forward)) => {
            if let Some(url) = forward {
                let (http, body, id) = (shared.http.clone(), body.to_vec(), request_id.clone());
                tokio::spawn(async move {
                    let _ = http
                        .post(format!("{url}/invoke"))
                        .header("x-fc-request-id", id)
                        .body(body)
                        .timeout(std::time::Duration::from_secs(120))
                        .send()
                        .await;
                });
            }
            let mut rsp = Response::new(Body::empty());
            *rsp.status_mut() = StatusCode::ACCEPTED;
            if let Ok(v) = HeaderValue::from_str(&request_id) {
                rsp.headers_mut().insert("x-fc-request-id", v);
            }
            rsp
        }
        Err(e) => {
            let body = json!({"Code": e.code, "Message": e.message, "RequestId": request_id});
            json_response(e.status, &request_id, body)
        }
    }
}
