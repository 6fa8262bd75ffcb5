//! FC 3 (Function Compute) in the emulator: `POST /2023-03-30/functions/{name}/invocations`
//! (InvokeFunction), V3-signed (ACS3-HMAC-SHA256) and verified like Alibaba does: known
//! AccessKey, STS token, x-acs-content-sha256 of the body, signature over the signed headers,
//! 15 minute x-acs-date window, nonce reuse. Functions come from the seed (`fc_functions`).
//! An async invocation is recorded in `fc_invocations` and answered 202; when a forward URL is
//! set ([`Emulator::set_fc_forward`]), its body is then POSTed to `<url>/invoke`, as FC would
//! run the function (an `alicert serve` in tests).
use super::*;
use alicert::aliyun::acs3::{self, SignedRequest};

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

/// Parses `ACS3-HMAC-SHA256 Credential=<ak>,SignedHeaders=<a;b>,Signature=<hex>`.
fn parse_authorization(value: &str) -> Option<(String, Vec<String>, String)> {
    let rest = value.strip_prefix(acs3::ALGORITHM)?.trim();
    let mut ak = None;
    let mut signed = None;
    let mut sig = None;
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => ak = Some(v.to_string()),
            "SignedHeaders" => signed = Some(v.split(';').map(str::to_string).collect()),
            "Signature" => sig = Some(v.to_string()),
            _ => return None,
        }
    }
    Some((ak?, signed?, sig?))
}

fn verify(
    shared: &Shared,
    path: &str,
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, ApiError> {
    let auth = header(headers, "authorization").ok_or_else(|| {
        err(
            401,
            "MissingAuthorization",
            "Authorization header is missing.",
        )
    })?;
    let (ak, signed, signature) = parse_authorization(auth).ok_or_else(|| {
        err(
            400,
            "InvalidAuthorization",
            format!("Malformed Authorization: {auth}"),
        )
    })?;
    for required in [
        "host",
        "x-acs-action",
        "x-acs-version",
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-content-sha256",
    ] {
        if !signed.iter().any(|h| h == required) {
            return Err(err(
                400,
                "InvalidAuthorization",
                format!("{required} must be a signed header"),
            ));
        }
    }
    let hash = header(headers, "x-acs-content-sha256").unwrap_or_default();
    if hash != acs3::sha256_hex(body) {
        return Err(err(
            400,
            "ContentSHA256Mismatch",
            "x-acs-content-sha256 does not match the body.",
        ));
    }
    let date = header(headers, "x-acs-date").unwrap_or_default();
    let ts = parse_rpc_timestamp(date).ok_or_else(|| {
        err(
            400,
            "InvalidTimeStamp.Format",
            "x-acs-date is not yyyy-MM-ddTHH:mm:ssZ.",
        )
    })?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    if (now - ts).abs() > MAX_SKEW_SECS {
        return Err(err(
            400,
            "InvalidTimeStamp.Expired",
            "x-acs-date is expired.",
        ));
    }
    let mut inner = shared.lock();
    let key = inner.keys.get(&ak).cloned().ok_or_else(|| {
        err(
            404,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        )
    })?;
    if let Some(token) = &key.security_token {
        if header(headers, "x-acs-security-token") != Some(token.as_str())
            || !signed.iter().any(|h| h == "x-acs-security-token")
        {
            return Err(err(
                400,
                "InvalidSecurityToken.Mismatch",
                "A signed x-acs-security-token matching the AccessKey is required.",
            ));
        }
    }
    let mut signed_values = BTreeMap::new();
    for name in &signed {
        let value = header(headers, name).ok_or_else(|| {
            err(
                400,
                "InvalidAuthorization",
                format!("signed header {name} is missing"),
            )
        })?;
        signed_values.insert(name.clone(), value.to_string());
    }
    let expected = acs3::authorization(
        &ak,
        &key.secret,
        &SignedRequest {
            method: "POST",
            path,
            query,
            headers: &signed_values,
            payload_sha256: hash,
        },
    );
    if !expected.ends_with(&format!("Signature={signature}")) {
        return Err(err(
            403,
            "SignatureDoesNotMatch",
            format!(
                "The request signature does not conform to Aliyun standards. canonical request: {:?}",
                acs3::canonical_request(&SignedRequest {
                    method: "POST",
                    path,
                    query,
                    headers: &signed_values,
                    payload_sha256: hash,
                })
                .0
            ),
        ));
    }
    let nonce = header(headers, "x-acs-signature-nonce").unwrap_or_default();
    inner.nonces.retain(|_, t| now - *t <= 2 * MAX_SKEW_SECS);
    if inner
        .nonces
        .insert((ak.clone(), nonce.to_string()), now)
        .is_some()
    {
        return Err(err(
            400,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        ));
    }
    Ok(ak)
}

pub(super) async fn handle(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
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
            verify(shared, path, &params, headers, body).and_then(|ak| {
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
