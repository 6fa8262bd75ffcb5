//! Cloud-native API Gateway (apig 2024-03-27, ROA, V3-signed): ListDomains
//! (`GET /v1/domains`), GetDomain (`GET /v1/domains/{domainId}`), UpdateDomain
//! (`PUT /v1/domains/{domainId}`, JSON body).
//!
//! Source: PyPI alibabacloud-apig20240327 11.6.0 — client.py (`list_domains_with_options`,
//! `get_domain_with_options`, `update_domain_with_options`: method, path, query/body names,
//! `_endpoint_rule = 'regional'`), models/_update_domain_request.py, _get_domain_response_body.py,
//! _list_domains_request.py, _list_domains_response_body.py, _domain_info.py,
//! _tls_cipher_suites_config.py; API reference "UpdateDomain" (apig 2024-03-27): protocol
//! `HTTP`|`HTTPS`, "When the protocol is HTTPS, forceHttps is required", http2Option
//! `GlobalConfig`|`Close`|`Open`, tlsMin "TLS 1.0" at least, tlsMax "TLS 1.3" at most,
//! domainScope `Serverless`|`Dedicated`; user guide "Change the protocol and certificate of a
//! domain name": HTTPS needs an SSL certificate.
//!
//! Strictest plausible where the docs are silent (said so at each rule): UpdateDomain is a PUT
//! of the domain's whole TLS configuration — a field left out is reset to its default, so a
//! client that does not send the settings back loses them; unknown body fields are refused;
//! ListDomains pages hold at most 100; an unknown domain id is 404 `NotFound.Domain`.
use super::*;

/// API version (x-acs-version) of every apig action.
const VERSION: &str = "2024-03-27";
const TLS_VERSIONS: [&str; 4] = ["TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"];

/// One APIG domain, with every setting UpdateDomain takes (field names: the SDK's JSON names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApigDomain {
    pub domain_id: String,
    pub name: String,
    /// APIG is regional (`apig.<region>.aliyuncs.com`): only its region's endpoint finds it.
    pub region: String,
    pub protocol: String,
    pub force_https: bool,
    #[serde(rename = "mTLSEnabled")]
    pub m_tls_enabled: bool,
    pub http2_option: String,
    pub tls_min: Option<String>,
    pub tls_max: Option<String>,
    /// `<CAS id>-<region>`.
    pub cert_identifier: Option<String>,
    pub ca_cert_identifier: Option<String>,
    #[serde(rename = "clientCACert")]
    pub client_ca_cert: Option<String>,
    pub domain_scope: String,
    pub tls_cipher_suites_config: Option<Value>,
    /// UpdateDomain calls that changed it.
    #[serde(default)]
    pub updates: u32,
}

impl ApigDomain {
    /// An HTTP-only domain in cn-hangzhou with the defaults a new domain has.
    pub fn new(name: &str) -> ApigDomain {
        ApigDomain {
            domain_id: format!("d-{}", &sha256_hex(name.as_bytes())[..20]),
            name: name.to_string(),
            region: REGION.to_string(),
            protocol: "HTTP".into(),
            force_https: false,
            m_tls_enabled: false,
            http2_option: "GlobalConfig".into(),
            tls_min: None,
            tls_max: None,
            cert_identifier: None,
            ca_cert_identifier: None,
            client_ca_cert: None,
            domain_scope: "Dedicated".into(),
            tls_cipher_suites_config: None,
            updates: 0,
        }
    }

    /// What UpdateDomain leaves when a field is not sent (see the module comment).
    fn reset_settings(&mut self) {
        let fresh = ApigDomain::new(&self.name);
        self.protocol = fresh.protocol;
        self.force_https = fresh.force_https;
        self.m_tls_enabled = fresh.m_tls_enabled;
        self.http2_option = fresh.http2_option;
        self.tls_min = None;
        self.tls_max = None;
        self.cert_identifier = None;
        self.ca_cert_identifier = None;
        self.client_ca_cert = None;
        self.tls_cipher_suites_config = None;
    }

    /// DomainInfo (ListDomains items) fields.
    fn info(&self) -> Value {
        json!({
            "domainId": self.domain_id,
            "name": self.name,
            "protocol": self.protocol,
            "forceHttps": self.force_https,
            "mTLSEnabled": self.m_tls_enabled,
            "certIdentifier": self.cert_identifier,
            "clientCACert": self.client_ca_cert,
            "domainScope": self.domain_scope,
            "tlsMin": self.tls_min,
            "tlsMax": self.tls_max,
            "status": "Published",
            "resourceGroupId": RESOURCE_GROUP,
        })
    }
}

impl Seed {
    pub fn apig_domain(self, name: &str) -> Self {
        self.apig(ApigDomain::new(name))
    }
    /// A domain with any settings (`ApigDomain { tls_min: …, ..ApigDomain::new(name) }`).
    pub fn apig(mut self, domain: ApigDomain) -> Self {
        self.services.apig_domains.push(domain);
        self
    }
}

impl Emulator {
    /// Changes an APIG domain as a console user would (e.g. binds their own certificate).
    pub fn edit_apig_domain(&self, name: &str, edit: impl FnOnce(&mut ApigDomain)) {
        let mut inner = self.shared.lock();
        let d = inner
            .state
            .services
            .apig_domains
            .iter_mut()
            .find(|d| d.name == name)
            .expect("a seeded apig domain");
        edit(d);
    }
}

impl EmulatorState {
    pub fn apig_domain(&self, name: &str) -> Option<&ApigDomain> {
        self.services.apig_domains.iter().find(|d| d.name == name)
    }
    /// The certificate an APIG domain serves (from its CAS identifier).
    pub fn apig_cert(&self, name: &str) -> Option<&CertInfo> {
        self.cas_info(self.apig_domain(name)?.cert_identifier.as_ref()?)
    }
}

/// Which apig action a method + path is (the SDK's client.py), and the domain id in the path.
fn route(method: &Method, path: &str) -> Option<(&'static str, Option<String>)> {
    let rest = path.strip_prefix("/v1/domains")?;
    let id = match rest.strip_prefix('/') {
        None if rest.is_empty() => None,
        Some(id) if !id.is_empty() && !id.contains('/') => Some(percent_decode(id)?),
        _ => return None,
    };
    match (method, &id) {
        (&Method::GET, None) => Some(("ListDomains", None)),
        (&Method::GET, Some(_)) => Some(("GetDomain", id)),
        (&Method::PUT, Some(_)) => Some(("UpdateDomain", id)),
        _ => None,
    }
}

pub(crate) fn handle_apig(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    at: &super::Addressed,
) -> Response {
    let request_id = uuid_like();
    let action = header_str(headers, "x-acs-action")
        .unwrap_or_default()
        .to_string();
    let query_params: BTreeMap<String, String> = query
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let mut call = Call {
        product: "apig".into(),
        action: action.clone(),
        access_key_id: String::new(),
        security_token: headers.contains_key("x-acs-security-token"),
        method: method.to_string(),
        http_status: 200,
        code: None,
        request_id: request_id.clone(),
        params: query_params.clone(),
        started_us: 0,
        ended_us: 0,
    };
    // The body's top-level fields too (strings as they are), for tests to read what was sent.
    if let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(body) {
        for (k, v) in o {
            let v = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            call.params.insert(k, v);
        }
    }
    let outcome = (|| {
        let signed = at.signed_path(path);
        let ak = verify_v3_version(shared, VERSION, method, &signed, query, headers, body)?;
        call.access_key_id = ak;
        let (expected, id) = route(method, path).ok_or_else(super::unknown_action)?;
        if action != expected {
            return Err(super::unknown_action());
        }
        if let Some(id) = &id {
            call.params.insert("domainId".into(), id.clone());
        }
        let mut inner = shared.lock();
        // RAM (ram.rs): authorised on `*` (alicert's policy grants apig on `*`).
        if let Some(d) = inner.ram_check("apig", &[(action.as_str(), "*".to_string())]) {
            return Err(super::ram::roa_denied(&d, "apig"));
        }
        if let Some((code, status)) = inner.take_failure(&action) {
            return Err(err(status, code, "Injected failure (emulator fail_next)."));
        }
        match (expected, id) {
            ("ListDomains", _) => list_domains(&inner, &query_params, &at.region),
            (_, Some(id)) if expected == "GetDomain" => {
                Ok(detail(find(&mut inner, &id, &at.region)?))
            }
            (_, Some(id)) => {
                let input: Value = serde_json::from_slice(body)
                    .map_err(|e| err(400, "InvalidParameter", format!("body is not JSON: {e}")))?;
                update_domain(&mut inner, &id, &at.region, &input)
                    .map(|r| json!({"deployRevisionId": r}))
            }
            _ => Err(super::unknown_action()),
        }
    })();
    let resp = match outcome {
        Ok(data) => json_response(
            200,
            &request_id,
            json!({"code": "Ok", "message": "", "requestId": request_id, "data": data}),
        ),
        Err(e) => {
            call.http_status = e.status;
            call.code = Some(e.code.clone());
            json_response(
                e.status,
                &request_id,
                json!({"RequestId": request_id, "HostId": "apig.cn-hangzhou.aliyuncs.com",
                       "Code": e.code, "Message": e.message}),
            )
        }
    };
    if let Some(p) = call.params.get_mut("clientCACert") {
        *p = "<pem>".into();
    }
    shared.lock().record_call(call);
    resp
}

fn find<'a>(inner: &'a mut Inner, id: &str, region: &str) -> Result<&'a mut ApigDomain, ApiError> {
    inner
        .state
        .services
        .apig_domains
        .iter_mut()
        .find(|d| d.domain_id == id && d.region == region)
        .ok_or_else(|| {
            err(
                404,
                "NotFound.Domain",
                format!("The domain {id} does not exist."),
            )
        })
}

/// GetDomainResponseBodyData.
fn detail(d: &ApigDomain) -> Value {
    let mut v = d.info();
    v["http2Option"] = json!(d.http2_option);
    v["caCertIdentifier"] = json!(d.ca_cert_identifier);
    v["tlsCipherSuitesConfig"] = json!(d.tls_cipher_suites_config);
    v["default"] = json!(false);
    v
}

/// ListDomainsRequest: pageNumber (default 1), pageSize (default 10; at most 100 — the docs
/// give no bound, 100 is the strictest plausible), nameLike (fuzzy: a substring here).
fn list_domains(
    inner: &Inner,
    q: &BTreeMap<String, String>,
    region: &str,
) -> Result<Value, ApiError> {
    let number = |k: &str, default: u64| -> Result<u64, ApiError> {
        match q.get(k) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| super::invalid(k, "not a positive integer")),
        }
    };
    let page = number("pageNumber", 1)?;
    let size = number("pageSize", 10)?;
    if page < 1 {
        return Err(super::invalid("pageNumber", "must be at least 1"));
    }
    if !(1..=100).contains(&size) {
        return Err(super::invalid("pageSize", "must be 1-100"));
    }
    let like = q.get("nameLike").map(String::as_str).unwrap_or_default();
    let all: Vec<&ApigDomain> = inner
        .state
        .services
        .apig_domains
        .iter()
        .filter(|d| d.region == region && d.name.contains(like))
        .collect();
    let items: Vec<Value> = all
        .iter()
        .skip(((page - 1) * size) as usize)
        .take(size as usize)
        .map(|d| d.info())
        .collect();
    Ok(json!({"items": items, "pageNumber": page, "pageSize": size, "totalSize": all.len()}))
}

/// A body field of the given JSON type, or None when absent (null counts as absent).
fn field<'a>(input: &'a Value, name: &str, kind: &str) -> Result<Option<&'a Value>, ApiError> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let ok = match kind {
                "string" => v.is_string(),
                "boolean" => v.is_boolean(),
                _ => v.is_object(),
            };
            if ok {
                Ok(Some(v))
            } else {
                Err(super::invalid(name, &format!("must be a {kind}")))
            }
        }
    }
}

fn one_of(name: &str, v: Option<&Value>, allowed: &[&str]) -> Result<Option<String>, ApiError> {
    match v.and_then(Value::as_str) {
        None => Ok(None),
        Some(s) if allowed.contains(&s) => Ok(Some(s.to_string())),
        Some(_) => Err(super::invalid(
            name,
            &format!("must be one of {}", allowed.join(", ")),
        )),
    }
}

/// TlsCipherSuitesConfig: `configType` string, `tlsCipherSuite` list of
/// `{name, supportVersions}` (models/_tls_cipher_suites_config.py); nothing else.
fn check_ciphers(v: &Value) -> Result<(), ApiError> {
    let bad = |why: &str| super::invalid("tlsCipherSuitesConfig", why);
    let o = v.as_object().ok_or_else(|| bad("must be an object"))?;
    for (k, v) in o {
        match k.as_str() {
            "configType" if v.is_string() => {}
            "tlsCipherSuite" => {
                for s in v
                    .as_array()
                    .ok_or_else(|| bad("tlsCipherSuite must be a list"))?
                {
                    let s = s
                        .as_object()
                        .ok_or_else(|| bad("a suite must be an object"))?;
                    for (k, v) in s {
                        let ok = match k.as_str() {
                            "name" => v.is_string(),
                            "supportVersions" => v
                                .as_array()
                                .is_some_and(|a| a.iter().all(|x| x.is_string())),
                            _ => false,
                        };
                        if !ok {
                            return Err(bad(&format!("suite field {k}")));
                        }
                    }
                }
            }
            _ => return Err(bad(&format!("unknown or mistyped field {k}"))),
        }
    }
    Ok(())
}

/// UpdateDomain: every field of UpdateDomainRequest checked, then the domain's settings replaced.
fn update_domain(
    inner: &mut Inner,
    id: &str,
    region: &str,
    input: &Value,
) -> Result<String, ApiError> {
    const FIELDS: [&str; 11] = [
        "caCertIdentifier",
        "certIdentifier",
        "clientCACert",
        "domainScope",
        "forceHttps",
        "http2Option",
        "mTLSEnabled",
        "protocol",
        "tlsCipherSuitesConfig",
        "tlsMax",
        "tlsMin",
    ];
    let o = input
        .as_object()
        .ok_or_else(|| super::invalid("body", "must be a JSON object"))?;
    if let Some(k) = o.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(super::invalid(k, "is not a parameter of UpdateDomain"));
    }
    let s = |k| field(input, k, "string");
    let b = |k| field(input, k, "boolean").map(|v| v.and_then(Value::as_bool));
    let protocol = one_of("protocol", s("protocol")?, &["HTTP", "HTTPS"])?;
    let http2 = one_of(
        "http2Option",
        s("http2Option")?,
        &["GlobalConfig", "Close", "Open"],
    )?;
    let tls_min = one_of("tlsMin", s("tlsMin")?, &TLS_VERSIONS)?;
    let tls_max = one_of("tlsMax", s("tlsMax")?, &TLS_VERSIONS)?;
    let scope = one_of(
        "domainScope",
        s("domainScope")?,
        &["Serverless", "Dedicated"],
    )?;
    let force_https = b("forceHttps")?;
    let mtls = b("mTLSEnabled")?.unwrap_or(false);
    let text = |k| s(k).map(|v| v.and_then(Value::as_str).map(str::to_string));
    let (cert, ca, client_ca) = (
        text("certIdentifier")?,
        text("caCertIdentifier")?,
        text("clientCACert")?,
    );
    let ciphers = field(input, "tlsCipherSuitesConfig", "object")?.cloned();
    if let Some(c) = &ciphers {
        check_ciphers(c)?;
    }
    if let (Some(min), Some(max)) = (&tls_min, &tls_max) {
        if min > max {
            return Err(super::invalid("tlsMin", "must not be above tlsMax"));
        }
    }
    let https = protocol.as_deref() == Some("HTTPS");
    if https && force_https.is_none() {
        return Err(super::missing("forceHttps"));
    }
    if https && cert.is_none() {
        return Err(super::missing("certIdentifier"));
    }
    // Strictest plausible: mTLS needs the CA that verifies clients.
    if mtls && ca.is_none() && client_ca.is_none() {
        return Err(super::invalid(
            "mTLSEnabled",
            "needs caCertIdentifier or clientCACert",
        ));
    }
    for (name, c) in [("certIdentifier", &cert), ("caCertIdentifier", &ca)] {
        if let Some(c) = c {
            if !c.contains('-') {
                return Err(super::invalid(
                    name,
                    "must be the CAS certificate identifier <CertId>-<region>",
                ));
            }
            find_cas(inner, c)?;
        }
    }
    let cert_info = cert
        .as_ref()
        .map(|c| find_cas(inner, c).map(|c| c.info.clone()))
        .transpose()?;
    let d = find(inner, id, region)?;
    if let Some(info) = &cert_info {
        require_cover(info, &d.name)?;
    }
    d.reset_settings();
    d.protocol = protocol.unwrap_or_else(|| "HTTP".into());
    d.force_https = force_https.unwrap_or(false);
    d.m_tls_enabled = mtls;
    if let Some(h) = http2 {
        d.http2_option = h;
    }
    (d.tls_min, d.tls_max) = (tls_min, tls_max);
    (d.cert_identifier, d.ca_cert_identifier, d.client_ca_cert) = (cert, ca, client_ca);
    if let Some(scope) = scope {
        d.domain_scope = scope;
    }
    d.tls_cipher_suites_config = ciphers;
    d.updates += 1;
    Ok(format!("dr-{}", random_hex(16)))
}
