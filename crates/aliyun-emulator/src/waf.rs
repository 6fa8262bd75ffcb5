//! WAF 3.0, waf-openapi 2021-10-01 (RPC): DescribeInstance, DescribeDomains,
//! DescribeDomainDetail, ModifyDomain (CNAME access), DescribeCloudResourceAccessPortDetails,
//! ModifyCloudResourceCert (cloud-native access).
//!
//! From alibabacloud-waf-openapi20211001 7.8.7 (client.py and models/):
//! - RegionId is `cn-hangzhou` or `ap-southeast-1` (required on ModifyDomain and
//!   ModifyCloudResourceCert), and its instance lives only behind that region's endpoint
//!   (`wafopenapi.<region>.aliyuncs.com`, the SDK's `_endpoint_map`).
//! - InstanceId is required on every action but DescribeInstance.
//! - ModifyDomain's `Listen` and `Redirect` are required JSON strings in the request shapes
//!   (ModifyDomainRequestListen / ModifyDomainRequestRedirect: only their fields; Redirect's
//!   `Backends`/`BackupBackends` are lists of strings, `Loadbalance` required). ModifyDomain
//!   replaces the whole configuration with what was sent.
//! - Certificate ids are CAS global ids `<CertId>-<region>` (DescribeResourceInstanceCerts'
//!   CertIdentifier: "certificate ID + \"-cn-hangzhou\"").
//! - ModifyCloudResourceCert takes every certificate of the port (Certificates.N.AppliedType
//!   `default` | `extension`, .CertificateId); the port keeps exactly what was sent. The port is
//!   named by ResourceInstanceId + ResourceProduct + Port (the alternative, CloudResourceId, is
//!   not modelled: refused as missing parameters).
//! - DescribeDomains / port `Status`: 1 normal, 3 being modified. Writes take `job_ms` to apply.
//!
//! Where the docs are silent the emulator is strict and says so: DescribeDomains PageSize at
//! most 50; exactly one `default` certificate per port; a write while the domain or port is
//! still being modified is refused (`Waf.Resource.Modifying`); unknown instance, domain or port
//! codes are named after the resource.
use super::*;

pub(crate) const WAF_REGIONS: [&str; 2] = ["cn-hangzhou", "ap-southeast-1"];
const DOMAIN_PAGE_MAX: u64 = 50;
const LISTEN_KEYS: &[&str] = &[
    "CertId",
    "CipherSuite",
    "CustomCiphers",
    "EnableTLSv3",
    "ExclusiveIp",
    "FocusHttps",
    "HstsIncludeSubDomain",
    "HstsMaxAge",
    "HstsPreload",
    "Http2Enabled",
    "HttpPorts",
    "HttpsPorts",
    "IPv6Enabled",
    "ProtectionResource",
    "SM2AccessOnly",
    "SM2CertId",
    "SM2Enabled",
    "TLSVersion",
    "XffHeaderMode",
    "XffHeaders",
];
const REDIRECT_KEYS: &[&str] = &[
    "BackendPorts",
    "Backends",
    "BackupBackends",
    "CnameEnabled",
    "ConnectTimeout",
    "FocusHttpBackend",
    "Http2Origin",
    "Http2OriginMaxConcurrency",
    "Keepalive",
    "KeepaliveRequests",
    "KeepaliveTimeout",
    "Loadbalance",
    "MaxBodySize",
    "ProxyProtocol",
    "ReadTimeout",
    "RequestHeaders",
    "Retry",
    "RoutingRules",
    "SniEnabled",
    "SniHost",
    "WLProxyClientIp",
    "WebServerType",
    "WriteTimeout",
    "XClientIp",
    "XTrueIp",
    "XffProto",
];

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WafSeed {
    /// Region → WAF 3.0 instance id.
    pub instances: BTreeMap<String, String>,
    /// CNAME-access domains: (domain, region).
    pub domains: Vec<(String, String)>,
    /// Cloud-native ports: (ResourceProduct, ResourceInstanceId, Port, region).
    pub ports: Vec<(String, String, u16, String)>,
    /// How long a write keeps the domain or port "being modified" (ms); `None`: 200.
    pub job_ms: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct WafState {
    pub instances: BTreeMap<String, String>,
    pub domains: Vec<WafDomain>,
    pub ports: Vec<WafPort>,
    pub job_ms: u64,
    /// Writes refused because the resource was still being modified.
    pub refused_busy: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct WafDomain {
    pub domain: String,
    pub region: String,
    pub domain_id: String,
    /// In ModifyDomainRequestListen's shape (`CertId` the served certificate).
    pub listen: Map<String, Value>,
    /// In ModifyDomainRequestRedirect's shape.
    pub redirect: Map<String, Value>,
    pub busy_until_ms: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct WafPort {
    pub product: String,
    pub resource_instance_id: String,
    pub port: u16,
    pub region: String,
    pub cloud_resource_id: String,
    /// (AppliedType, CertificateId).
    pub certificates: Vec<(String, String)>,
    pub busy_until_ms: i64,
}

impl Seed {
    pub fn waf_instance(mut self, region: &str, instance_id: &str) -> Self {
        self.waf.instances.insert(region.into(), instance_id.into());
        self
    }
    /// A CNAME-access domain with HTTP 80 and HTTPS 443 and a full set of other settings.
    pub fn waf_domain(mut self, domain: &str, region: &str) -> Self {
        self.waf.domains.push((domain.into(), region.into()));
        self
    }
    pub fn waf_port(mut self, product: &str, instance: &str, port: u16, region: &str) -> Self {
        self.waf
            .ports
            .push((product.into(), instance.into(), port, region.into()));
        self
    }
    pub fn waf_job_ms(mut self, ms: u64) -> Self {
        self.waf.job_ms = Some(ms);
        self
    }
}

impl EmulatorState {
    pub fn waf_domain(&self, domain: &str) -> Option<&WafDomain> {
        self.waf.domains.iter().find(|d| d.domain == domain)
    }
    pub fn waf_port(&self, instance: &str, port: u16) -> Option<&WafPort> {
        self.waf
            .ports
            .iter()
            .find(|p| p.resource_instance_id == instance && p.port == port)
    }
}

impl Emulator {
    /// Points a seeded WAF port's certificates at these (AppliedType, CAS global id) pairs, as
    /// a console user would.
    pub fn set_waf_port_certificates(&self, instance: &str, port: u16, certs: &[(&str, &str)]) {
        let mut inner = self.shared.lock();
        let p = inner
            .state
            .waf
            .ports
            .iter_mut()
            .find(|p| p.resource_instance_id == instance && p.port == port)
            .unwrap_or_else(|| panic!("WAF port {instance}:{port} is not seeded"));
        p.certificates = certs
            .iter()
            .map(|(t, id)| (t.to_string(), id.to_string()))
            .collect();
    }
}

/// The settings a seeded domain starts with: every kind of value ModifyDomain takes, so a
/// client that drops or reshapes one is caught.
fn seeded_listen() -> Map<String, Value> {
    let v = json!({
        "HttpPorts": [80], "HttpsPorts": [443], "Http2Enabled": true, "TLSVersion": "tlsv1.2",
        "EnableTLSv3": true, "CipherSuite": 99, "CustomCiphers": ["ECDHE-ECDSA-AES128-GCM-SHA256"],
        "FocusHttps": false, "IPv6Enabled": false, "ProtectionResource": "share",
        "XffHeaderMode": 2, "XffHeaders": ["X-Real-IP"], "HstsMaxAge": 31536000,
    });
    v.as_object().cloned().expect("object")
}

fn seeded_redirect() -> Map<String, Value> {
    let v = json!({
        "Backends": ["192.0.2.10", "192.0.2.11"], "BackupBackends": ["192.0.2.20"],
        "Loadbalance": "roundRobin", "ConnectTimeout": 7, "ReadTimeout": 120,
        "WriteTimeout": 120, "Keepalive": true, "KeepaliveRequests": 1000,
        "KeepaliveTimeout": 15, "Retry": true, "SniEnabled": true, "SniHost": "origin.example.net",
        "XffProto": true, "FocusHttpBackend": false,
        "RequestHeaders": [{"Key": "X-From-Waf", "Value": "1"}],
    });
    v.as_object().cloned().expect("object")
}

pub(crate) fn seed_waf(inner: &mut Inner, seed: &Seed) {
    let w = &seed.waf;
    inner.state.waf = WafState {
        instances: w.instances.clone(),
        domains: w
            .domains
            .iter()
            .enumerate()
            .map(|(i, (domain, region))| WafDomain {
                domain: domain.clone(),
                region: region.clone(),
                domain_id: format!("{domain}-waf{i}"),
                listen: seeded_listen(),
                redirect: seeded_redirect(),
                busy_until_ms: 0,
            })
            .collect(),
        ports: w
            .ports
            .iter()
            .enumerate()
            .map(|(i, (product, instance, port, region))| WafPort {
                product: product.clone(),
                resource_instance_id: instance.clone(),
                port: *port,
                region: region.clone(),
                cloud_resource_id: format!("{instance}-{port}-{product}-{i}"),
                certificates: vec![],
                busy_until_ms: 0,
            })
            .collect(),
        job_ms: w.job_ms.unwrap_or(200),
        refused_busy: 0,
    };
}

fn status(busy_until_ms: i64) -> i64 {
    if busy_until_ms > now_ms() {
        3
    } else {
        1
    }
}

/// RegionId (optional unless `required`; default cn-hangzhou) must be a WAF region and the
/// region of the endpoint called.
fn waf_region<'a>(p: &Params<'a>, ctx: &Ctx, required: bool) -> Result<&'a str, ApiError> {
    let region = match p.get("RegionId") {
        Some(r) => r,
        None if required => return Err(missing("RegionId")),
        None => WAF_REGIONS[0],
    };
    if !WAF_REGIONS.contains(&region) {
        return Err(invalid("RegionId", "must be cn-hangzhou or ap-southeast-1"));
    }
    if region != ctx.region {
        return Err(err(
            400,
            "InvalidRegionId",
            format!(
                "RegionId {region} is served by wafopenapi.{region}.aliyuncs.com, not this endpoint ({})",
                ctx.region
            ),
        ));
    }
    Ok(region)
}

fn check_instance(inner: &Inner, p: &Params, region: &str) -> Result<(), ApiError> {
    let id = p.req("InstanceId")?;
    if inner.state.waf.instances.get(region).map(String::as_str) != Some(id) {
        return Err(err(
            400,
            "Waf.Instance.NotFound",
            format!("The WAF instance {id} does not exist in {region}."),
        ));
    }
    Ok(())
}

/// A CAS global id `<CertId>-<region>` of a CAS certificate that covers `domain` (when given).
fn check_cert(inner: &Inner, id: &str, domain: Option<&str>) -> Result<(), ApiError> {
    let well_formed = id
        .split_once('-')
        .is_some_and(|(n, r)| n.parse::<u64>().is_ok() && WAF_REGIONS.contains(&r));
    if !well_formed {
        return Err(invalid(
            "CertId",
            "must be the CAS global id <CertId>-<region>, e.g. 123-cn-hangzhou",
        ));
    }
    let c = find_cas(inner, id)?;
    if let Some(d) = domain {
        require_cover(&c.info, d)?;
    }
    Ok(())
}

fn json_object(p: &Params, key: &str, allowed: &[&str]) -> Result<Map<String, Value>, ApiError> {
    let text = p.req(key)?;
    let Ok(Value::Object(m)) = serde_json::from_str::<Value>(text) else {
        return Err(invalid(key, "must be a JSON object"));
    };
    if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(invalid(key, &format!("unknown field {k}")));
    }
    Ok(m)
}

fn list_of(m: &Map<String, Value>, key: &str, is: fn(&Value) -> bool) -> bool {
    m.get(key)
        .is_none_or(|v| v.as_array().is_some_and(|a| a.iter().all(is)))
}

fn busy(inner: &mut Inner, what: &str) -> ApiError {
    inner.state.waf.refused_busy += 1;
    err(
        400,
        "Waf.Resource.Modifying",
        format!("{what} is being modified; try again later."),
    )
}

pub(crate) fn waf(
    inner: &mut Inner,
    action: &str,
    p: &Params,
    ctx: &Ctx,
) -> Result<Value, ApiError> {
    match action {
        "DescribeInstance" => {
            let region = waf_region(p, ctx, false)?;
            Ok(match inner.state.waf.instances.get(region) {
                Some(id) => json!({
                    "InstanceId": id, "RegionId": region, "Status": 1, "Edition": "pro",
                    "PayType": "Subscription", "InDebt": "0",
                }),
                None => json!({}),
            })
        }
        "DescribeDomains" => describe_domains(inner, p, ctx),
        "DescribeDomainDetail" => {
            let region = waf_region(p, ctx, false)?;
            check_instance(inner, p, region)?;
            let d = find_domain(inner, p.req("Domain")?, region)?;
            Ok(domain_detail(inner, d))
        }
        "ModifyDomain" => modify_domain(inner, p, ctx),
        "DescribeCloudResourceAccessPortDetails" => {
            let region = waf_region(p, ctx, false)?;
            check_instance(inner, p, region)?;
            let instance = p.req("ResourceInstanceId")?;
            let port: Option<u16> = p
                .get("Port")
                .map(|s| s.parse())
                .transpose()
                .map_err(|_| invalid("Port", "not a port"))?;
            let details: Vec<Value> = inner
                .state
                .waf
                .ports
                .iter()
                .filter(|x| x.region == region && x.resource_instance_id == instance)
                .filter(|x| p.get("ResourceProduct").none_or(|rp| rp == x.product))
                .filter(|x| port.none_or(|n| n == x.port))
                .map(|x| port_detail(inner, x))
                .collect();
            Ok(json!({"AccessPortDetails": details, "TotalCount": details.len()}))
        }
        "ModifyCloudResourceCert" => modify_port_certs(inner, p, ctx),
        _ => Err(unknown_action()),
    }
}

fn find_domain<'a>(
    inner: &'a Inner,
    domain: &str,
    region: &str,
) -> Result<&'a WafDomain, ApiError> {
    inner
        .state
        .waf
        .domains
        .iter()
        .find(|d| d.domain == domain && d.region == region)
        .ok_or_else(|| {
            err(
                400,
                "Waf.Domain.NotFound",
                format!("The domain {domain} is not added to WAF."),
            )
        })
}

fn cert_detail(inner: &Inner, id: Option<&str>) -> Value {
    match id.and_then(|id| find_cas(inner, id).ok().map(|c| (id, c))) {
        Some((id, c)) => json!({
            "Id": id, "Name": c.name, "CommonName": c.info.common_name, "Sans": c.info.sans,
            "StartTime": c.info.not_before_ms, "EndTime": c.info.not_after_ms,
        }),
        None => json!({}),
    }
}

/// DescribeDomainDetail: Listen as stored; Redirect in the answer's shape
/// (`Backends: [{"Backend": ..}]` plus the flat `BackendList`).
fn domain_detail(inner: &Inner, d: &WafDomain) -> Value {
    let mut redirect = d.redirect.clone();
    for (key, flat) in [
        ("Backends", "BackendList"),
        ("BackupBackends", "BackUpBackendList"),
    ] {
        if let Some(Value::Array(list)) = d.redirect.get(key) {
            redirect.insert(
                key.into(),
                Value::Array(list.iter().map(|b| json!({"Backend": b})).collect()),
            );
            redirect.insert(flat.into(), Value::Array(list.clone()));
        }
    }
    let cert_id = d.listen.get("CertId").and_then(Value::as_str);
    json!({
        "Domain": d.domain, "DomainId": d.domain_id, "Cname": format!("{}.waf.example-cname.com", d.domain_id),
        "Status": status(d.busy_until_ms), "Listen": d.listen, "Redirect": redirect,
        "CertDetail": cert_detail(inner, cert_id),
        "ResourceManagerResourceGroupId": RESOURCE_GROUP,
    })
}

fn describe_domains(inner: &Inner, p: &Params, ctx: &Ctx) -> Result<Value, ApiError> {
    let region = waf_region(p, ctx, false)?;
    check_instance(inner, p, region)?;
    let number = p.u64_or("PageNumber", 1)?;
    let size = p.u64_or("PageSize", 10)?;
    if number == 0 {
        return Err(invalid("PageNumber", "must be at least 1"));
    }
    if size == 0 || size > DOMAIN_PAGE_MAX {
        return Err(invalid("PageSize", "must be 1 to 50"));
    }
    let all: Vec<&WafDomain> = inner
        .state
        .waf
        .domains
        .iter()
        .filter(|d| d.region == region)
        .filter(|d| p.get("Domain").none_or(|f| d.domain.contains(f)))
        .collect();
    let page: Vec<Value> = all
        .iter()
        .skip(((number - 1) * size) as usize)
        .take(size as usize)
        .map(|d| {
            json!({
                "Domain": d.domain, "DomainId": d.domain_id, "Status": status(d.busy_until_ms),
                "ListenPorts": {"Http": d.listen.get("HttpPorts"), "Https": d.listen.get("HttpsPorts")},
            })
        })
        .collect();
    Ok(json!({"Domains": page, "TotalCount": all.len()}))
}

fn modify_domain(inner: &mut Inner, p: &Params, ctx: &Ctx) -> Result<Value, ApiError> {
    let region = waf_region(p, ctx, true)?;
    check_instance(inner, p, region)?;
    let domain = p.req("Domain")?.to_string();
    let busy_until = find_domain(inner, &domain, region)?.busy_until_ms;
    let listen = json_object(p, "Listen", LISTEN_KEYS)?;
    let redirect = json_object(p, "Redirect", REDIRECT_KEYS)?;
    for key in ["HttpPorts", "HttpsPorts"] {
        if !list_of(&listen, key, |v| v.as_u64().is_some()) {
            return Err(invalid(
                "Listen",
                &format!("{key} must be a list of port numbers"),
            ));
        }
    }
    for key in ["Backends", "BackupBackends", "XffHeaders"] {
        let m = if key == "XffHeaders" {
            &listen
        } else {
            &redirect
        };
        if !list_of(m, key, Value::is_string) {
            return Err(invalid(
                if key == "XffHeaders" {
                    "Listen"
                } else {
                    "Redirect"
                },
                &format!("{key} must be a list of strings"),
            ));
        }
    }
    if redirect
        .get("Loadbalance")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(missing("Redirect.Loadbalance"));
    }
    let https = listen
        .get("HttpsPorts")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    match listen.get("CertId") {
        Some(Value::String(id)) => check_cert(inner, id, Some(&domain))?,
        None if !https => {}
        _ => {
            return Err(invalid(
                "Listen",
                "CertId (a string) is required when HttpsPorts is set",
            ))
        }
    }
    let job = inner.state.waf.job_ms as i64;
    if busy_until > now_ms() {
        return Err(busy(inner, &format!("The domain {domain}")));
    }
    let d = inner
        .state
        .waf
        .domains
        .iter_mut()
        .find(|d| d.domain == domain && d.region == region)
        .expect("found above");
    d.listen = listen;
    d.redirect = redirect;
    d.busy_until_ms = now_ms() + job;
    Ok(
        json!({"DomainInfo": {"Domain": d.domain, "DomainId": d.domain_id, "Cname": format!("{}.waf.example-cname.com", d.domain_id)}}),
    )
}

fn port_detail(inner: &Inner, x: &WafPort) -> Value {
    let certs: Vec<Value> = x
        .certificates
        .iter()
        .map(|(t, id)| {
            let name = find_cas(inner, id)
                .map(|c| c.name.clone())
                .unwrap_or_default();
            json!({"AppliedType": t, "CertificateId": id, "CertificateName": name})
        })
        .collect();
    json!({
        "Port": x.port, "Protocol": "https", "Status": status(x.busy_until_ms),
        "CloudResourceId": x.cloud_resource_id, "Certificates": certs,
        "TLSVersion": "tlsv1.2", "EnableTLSv3": true, "Http2Enabled": true,
    })
}

fn modify_port_certs(inner: &mut Inner, p: &Params, ctx: &Ctx) -> Result<Value, ApiError> {
    let region = waf_region(p, ctx, true)?;
    check_instance(inner, p, region)?;
    let mut certs = Vec::new();
    for n in 1.. {
        let (t, id) = (
            p.get(&format!("Certificates.{n}.AppliedType")),
            p.get(&format!("Certificates.{n}.CertificateId")),
        );
        match (t, id) {
            (None, None) => break,
            (Some(t), Some(id)) => {
                if t != "default" && t != "extension" {
                    return Err(invalid(
                        "Certificates.AppliedType",
                        "must be default or extension",
                    ));
                }
                check_cert(inner, id, None)?;
                certs.push((t.to_string(), id.to_string()));
            }
            (None, _) => return Err(missing(&format!("Certificates.{n}.AppliedType"))),
            (_, None) => return Err(missing(&format!("Certificates.{n}.CertificateId"))),
        }
    }
    if certs.is_empty() {
        return Err(missing("Certificates"));
    }
    if certs.iter().filter(|(t, _)| t == "default").count() != 1 {
        return Err(invalid("Certificates", "exactly one default certificate"));
    }
    let port: u16 = p
        .req("Port")?
        .parse()
        .map_err(|_| invalid("Port", "not a port"))?;
    let instance = p.req("ResourceInstanceId")?;
    let product = p.req("ResourceProduct")?;
    let job = inner.state.waf.job_ms as i64;
    let Some(i) = inner.state.waf.ports.iter().position(|x| {
        x.region == region
            && x.resource_instance_id == instance
            && x.product == product
            && x.port == port
    }) else {
        return Err(err(
            400,
            "Waf.CloudResource.NotFound",
            format!("Port {port} of {product} {instance} is not added to WAF."),
        ));
    };
    if inner.state.waf.ports[i].busy_until_ms > now_ms() {
        return Err(busy(inner, &format!("Port {port} of {instance}")));
    }
    let x = &mut inner.state.waf.ports[i];
    x.certificates = certs;
    x.busy_until_ms = now_ms() + job;
    Ok(json!({}))
}

/// Where CAS certificate `is` is in use in WAF, for CAS's in-use checks.
pub(crate) fn cas_users(state: &EmulatorState, is: &dyn Fn(&str) -> bool) -> Vec<String> {
    let domains = state.waf.domains.iter().filter(|d| {
        d.listen
            .get("CertId")
            .and_then(Value::as_str)
            .is_some_and(is)
    });
    let ports = state
        .waf
        .ports
        .iter()
        .filter(|p| p.certificates.iter().any(|(_, c)| is(c)));
    domains
        .map(|d| format!("waf {}", d.domain))
        .chain(ports.map(|p| format!("waf {}:{}", p.resource_instance_id, p.port)))
        .collect()
}
