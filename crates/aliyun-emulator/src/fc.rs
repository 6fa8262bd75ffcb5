//! FC 3 (Function Compute) in the emulator: custom domains (ROA fc 2023-03-30,
//! Get/UpdateCustomDomain) and `POST /2023-03-30/functions/{name}/invocations`
//! (InvokeFunction), V3-signed (ACS3-HMAC-SHA256) and verified by `auth::verify_v3` like
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

pub(crate) async fn handle(
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
            // The same V3 verification as the other FC routes (auth.rs).
            verify_v3(shared, method, &at.signed_path(path), query, headers, body).and_then(|ak| {
                let mut inner = shared.lock();
                // RAM (ram.rs): FC 3 InvokeFunction on `functions/<name>`.
                let arn = format!("acs:fc:{}:{ACCOUNT_ID}:functions/{function}", at.region);
                if let Some(d) = inner.ram_check("fc", &[("InvokeFunction", arn)]) {
                    return Err(super::ram::roa_denied(&d, "fc"));
                }
                if !inner.fc_functions.contains(function) {
                    return Err(err(
                        404,
                        "FunctionNotFound",
                        format!("function '{function}' does not exist"),
                    ));
                }
                let invocation_type = header_str(headers, "x-fc-invocation-type")
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
    shared.lock().record_call(Call {
        product: "fc".into(),
        action: "InvokeFunction".into(),
        access_key_id: ak,
        security_token: headers.contains_key("x-acs-security-token"),
        method: method.to_string(),
        http_status: status,
        code,
        request_id: request_id.clone(),
        params: params.clone(),
        started_us: 0,
        ended_us: 0,
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

#[derive(Debug, Clone, Serialize)]
pub struct FcDomain {
    pub domain: String,
    /// FC custom domains are regional: only that region's FC endpoint finds them.
    pub region: String,
    pub protocol: String,
    pub certificate: Option<DeployedCert>,
}

impl Seed {
    pub fn fc_domain(mut self, domain: &str) -> Self {
        self.services.fc_domains.push(domain.into());
        self
    }
    pub fn fc_domain_in(mut self, domain: &str, region: &str) -> Self {
        self.services.fc_domains.push(domain.into());
        self.services
            .fc_domain_regions
            .insert(domain.into(), region.into());
        self
    }
    pub fn fc_function(mut self, name: &str) -> Self {
        self.fc_functions.push(name.into());
        self
    }
}

impl Emulator {
    /// Runs accepted async FC invocations by POSTing their body to `<url>/invoke`.
    pub fn set_fc_forward(&self, url: Option<String>) {
        self.shared.lock().fc_forward = url;
    }
}

impl EmulatorState {
    pub fn fc_cert(&self, domain: &str) -> Option<&DeployedCert> {
        self.services
            .fc_domains
            .iter()
            .find(|d| d.domain == domain)?
            .certificate
            .as_ref()
    }
}

// ---------------------------------------------------------------------------------------------
// FC 3 (ROA, V3 signatures)
// ---------------------------------------------------------------------------------------------

pub(crate) fn fc_error(status: u16, code: &str, message: &str, request_id: &str) -> Response {
    json_response(
        status,
        request_id,
        json!({"Code": code, "Message": message, "RequestId": request_id}),
    )
}
pub(crate) fn handle_fc(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    at: &super::Addressed,
) -> Response {
    custom_domains(shared, method, path, query, headers, body, at, "2023-03-30")
}

/// Get/UpdateCustomDomain under API `version`: FC 3 (2023-03-30) or FC 2.0 (2021-04-06,
/// fc2.rs); both address the account's one set of custom domains.
#[allow(clippy::too_many_arguments)]
pub(crate) fn custom_domains(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    at: &super::Addressed,
    version: &str,
) -> Response {
    let request_id = uuid_like();
    let action = headers
        .get("x-acs-action")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let domain = path
        .strip_prefix(&format!("/{version}/custom-domains/"))
        .map(|d| super::percent_decode(d).unwrap_or_default());
    let mut call = Call {
        product: if version == "2023-03-30" { "fc" } else { "fc2" }.into(),
        action: action.clone(),
        access_key_id: String::new(),
        security_token: headers.contains_key("x-acs-security-token"),
        method: method.to_string(),
        http_status: 200,
        code: None,
        request_id: request_id.clone(),
        params: BTreeMap::from([("domain".to_string(), domain.clone().unwrap_or_default())]),
        started_us: 0,
        ended_us: 0,
    };
    let outcome = (|| {
        let ak = verify_v3(shared, method, &at.signed_path(path), query, headers, body)?;
        call.access_key_id = ak.clone();
        let mut inner = shared.lock();
        // RAM (ram.rs): FC custom-domain APIs have no resource-level permission ("All
        // Resources"), so they are authorised on `*`; FC 2.0's are `fc:` actions too.
        if let Some(d) = inner.ram_check("fc", &[(action.as_str(), "*".to_string())]) {
            return Err(super::ram::roa_denied(&d, "fc"));
        }
        if let Some((code, status)) = inner.take_failure(&action) {
            return Err(err(status, code, "Injected failure (emulator fail_next)."));
        }
        if path == format!("/{version}/custom-domains") {
            call.params = super::fc2::query_params(query);
            return super::fc2::list_custom_domains(
                &inner,
                method,
                &action,
                &call.params,
                &at.region,
            );
        }
        let domain = domain.ok_or_else(super::unknown_action)?;
        let expected = match *method {
            Method::GET => "GetCustomDomain",
            Method::PUT => "UpdateCustomDomain",
            _ => "",
        };
        if action != expected {
            return Err(super::unknown_action());
        }
        let d = inner
            .state
            .services
            .fc_domains
            .iter_mut()
            // Another region's FC endpoint does not know the domain.
            .find(|d| d.domain == domain && d.region == at.region)
            .ok_or_else(|| {
                err(
                    404,
                    "DomainNameNotFound",
                    format!("custom domain {domain} does not exist"),
                )
            })?;
        if *method == Method::PUT {
            let input: Value = serde_json::from_slice(body)
                .map_err(|e| err(400, "InvalidArgument", format!("body is not JSON: {e}")))?;
            if let Some(p) = input["protocol"].as_str() {
                if !matches!(p, "HTTP" | "HTTPS" | "HTTP,HTTPS") {
                    return Err(err(
                        400,
                        "InvalidArgument",
                        "protocol must be HTTP, HTTPS or HTTP,HTTPS",
                    ));
                }
                d.protocol = p.to_string();
            }
            if let Some(cc) = input.get("certConfig") {
                let cert = cc["certificate"].as_str().unwrap_or_default();
                let key = cc["privateKey"].as_str().unwrap_or_default();
                let info = check_pair(cert, key)?;
                require_cover(&info, &domain)?;
                d.certificate = Some(DeployedCert {
                    cert_name: cc["certName"].as_str().unwrap_or_default().to_string(),
                    cert_id: String::new(),
                    cert_type: "upload".into(),
                    cert_region: REGION.into(),
                    cert: cert.to_string(),
                    key: key.to_string(),
                    info,
                    updated_ms: now_ms(),
                    updated_by: ak,
                });
            }
            if d.certificate.is_some() && !d.protocol.contains("HTTPS") {
                return Err(err(
                    400,
                    "InvalidArgument",
                    "certConfig needs protocol HTTPS or HTTP,HTTPS",
                ));
            }
        }
        let mut v = json!({
            "domainName": d.domain,
            "protocol": d.protocol,
            "accountId": ACCOUNT_ID,
            "apiVersion": version,
            "lastModifiedTime": rfc3339(now_ms()),
        });
        if let Some(c) = &d.certificate {
            // The private key is never returned.
            v["certConfig"] = json!({"certName": c.cert_name, "certificate": c.cert});
        }
        Ok(v)
    })();
    let resp = match outcome {
        Ok(v) => json_response(200, &request_id, v),
        Err(e) => {
            call.http_status = e.status;
            call.code = Some(e.code.clone());
            fc_error(e.status, &e.code, &e.message, &request_id)
        }
    };
    shared.lock().record_call(call);
    resp
}

/// The seeded `fc_domains`.
pub(crate) fn seed_fc_domains(seed: &ServicesSeed) -> Vec<FcDomain> {
    seed.fc_domains
        .iter()
        .map(|d| FcDomain {
            domain: d.clone(),
            region: seed
                .fc_domain_regions
                .get(d)
                .cloned()
                .unwrap_or_else(|| REGION.to_string()),
            protocol: "HTTP".into(),
            certificate: None,
        })
        .collect()
}
