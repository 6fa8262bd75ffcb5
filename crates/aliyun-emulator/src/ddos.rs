//! Anti-DDoS Pro/Premium, ddoscoo 2020-01-01 (RPC): AssociateWebCert, DescribeCerts,
//! DescribeWebRules.
//!
//! From alibabacloud-ddoscoo20200101 4.0.4 (client.py, models/):
//! - AssociateWebCert (all parameters in the form body): Domain required; the certificate by
//!   CertId (int) *or* CertIdentifier (`<CertId>-<region>`, "cannot be used together with
//!   CertId"), or as CertName + Cert + Key ("must be used together"); CertRegion cn-hangzhou |
//!   ap-southeast-1.
//! - DescribeCerts(Domain): Certs[] with Id (int), Name, Common, Issuer, StartDate, EndDate,
//!   CertIdentifier, DomainRelated (bool: associated with the domain).
//! - DescribeWebRules: PageSize "Valid values: 1 to 10"; WebRules[] with Domain, CertName,
//!   CertRegion, Cname; TotalCount.
//! - The domain "must have a website forwarding rule configured": others are refused. Regions:
//!   the SDK has no endpoint map (`ddoscoo.<region>.aliyuncs.com`); a website lives in one region
//!   (cn-hangzhou: Anti-DDoS Pro, ap-southeast-1: Premium) and only that endpoint finds it.
//!
//! The docs name no error codes for an unknown domain or a bad parameter combination; the
//! emulator's are `Ddos.Domain.NotFound` and `InvalidParameter.*`. A certificate given as PEM is
//! stored in CAS (as the console does) under its CertName.
use super::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DdosSeed {
    /// Website domains with a forwarding rule: (domain, region).
    pub domains: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DdosState {
    pub domains: Vec<DdosDomain>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DdosDomain {
    pub domain: String,
    pub region: String,
    /// The associated CAS certificate (numeric id).
    pub cert_id: Option<u64>,
}

impl Seed {
    pub fn ddos_domain(mut self, domain: &str, region: &str) -> Self {
        self.ddos.domains.push((domain.into(), region.into()));
        self
    }
}

impl EmulatorState {
    pub fn ddos_domain(&self, domain: &str) -> Option<&DdosDomain> {
        self.ddos.domains.iter().find(|d| d.domain == domain)
    }
    /// The CAS certificate a website serves.
    pub fn ddos_cert(&self, domain: &str) -> Option<&CasCert> {
        let id = self.ddos_domain(domain)?.cert_id?;
        self.cas_certs.iter().find(|c| c.cert_id == id)
    }
}

impl Emulator {
    /// Associates CAS certificate `cas_id` with a seeded website (as a console user would).
    pub fn set_ddos_certificate(&self, domain: &str, cas_id: u64) {
        let mut inner = self.shared.lock();
        let d = inner
            .state
            .ddos
            .domains
            .iter_mut()
            .find(|d| d.domain == domain)
            .unwrap_or_else(|| panic!("Anti-DDoS domain {domain} is not seeded"));
        d.cert_id = Some(cas_id);
    }
}

pub(crate) fn seed_ddos(inner: &mut Inner, seed: &Seed) {
    inner.state.ddos.domains = seed
        .ddos
        .domains
        .iter()
        .map(|(domain, region)| DdosDomain {
            domain: domain.clone(),
            region: region.clone(),
            cert_id: None,
        })
        .collect();
}

fn find_domain(inner: &Inner, domain: &str, region: &str) -> Result<usize, ApiError> {
    inner
        .state
        .ddos
        .domains
        .iter()
        .position(|d| d.domain == domain && d.region == region)
        .ok_or_else(|| {
            err(
                400,
                "Ddos.Domain.NotFound",
                format!("The domain {domain} has no website forwarding rule in {region}."),
            )
        })
}

pub(crate) fn ddos(
    inner: &mut Inner,
    action: &str,
    p: &Params,
    ctx: &Ctx,
) -> Result<Value, ApiError> {
    match action {
        "AssociateWebCert" => associate(inner, p, ctx),
        "DescribeCerts" => {
            let i = find_domain(inner, p.req("Domain")?, ctx.region)?;
            let d = &inner.state.ddos.domains[i];
            let certs: Vec<Value> = inner
                .state
                .cas_certs
                .iter()
                .filter(|c| Some(c.cert_id) == d.cert_id || cert_covers(&c.info, &d.domain))
                .map(|c| {
                    json!({
                        "Id": c.cert_id, "Name": c.name, "Common": c.info.common_name,
                        "Issuer": c.info.issuer_org, "StartDate": ymd(c.info.not_before_ms),
                        "EndDate": ymd(c.info.not_after_ms),
                        "CertIdentifier": format!("{}-{REGION}", c.cert_id),
                        "DomainRelated": Some(c.cert_id) == d.cert_id,
                    })
                })
                .collect();
            Ok(json!({"Certs": certs}))
        }
        "DescribeWebRules" => web_rules(inner, p, ctx),
        _ => Err(unknown_action()),
    }
}

fn associate(inner: &mut Inner, p: &Params, ctx: &Ctx) -> Result<Value, ApiError> {
    let i = find_domain(inner, p.req("Domain")?, ctx.region)?;
    let domain = inner.state.ddos.domains[i].domain.clone();
    if let Some(r) = p.get("CertRegion") {
        if !["cn-hangzhou", "ap-southeast-1"].contains(&r) {
            return Err(invalid(
                "CertRegion",
                "must be cn-hangzhou or ap-southeast-1",
            ));
        }
    }
    let pem = [p.get("CertName"), p.get("Cert"), p.get("Key")];
    let id = match (p.get("CertId"), p.get("CertIdentifier")) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "CertIdentifier",
                "cannot be used together with CertId",
            ))
        }
        (Some(id), None) => id
            .parse::<u64>()
            .map_err(|_| invalid("CertId", "not an integer"))?,
        (None, Some(ident)) => {
            let (n, r) = ident
                .split_once('-')
                .ok_or_else(|| invalid("CertIdentifier", "must be <CertId>-<region>"))?;
            if !["cn-hangzhou", "ap-southeast-1"].contains(&r) {
                return Err(invalid("CertIdentifier", "unknown region"));
            }
            n.parse::<u64>()
                .map_err(|_| invalid("CertIdentifier", "must be <CertId>-<region>"))?
        }
        (None, None) if pem.iter().all(Option::is_some) => {
            let info = check_pair(pem[1].unwrap_or_default(), pem[2].unwrap_or_default())?;
            let id = inner.next_cert_id();
            inner.state.cas_certs.push(CasCert {
                cert_id: id,
                name: pem[0].unwrap_or_default().to_string(),
                cert: pem[1].unwrap_or_default().to_string(),
                key: pem[2].unwrap_or_default().to_string(),
                info,
                created_by: ctx.ak.to_string(),
                created_ms: now_ms(),
            });
            id
        }
        (None, None) => {
            return Err(invalid(
                "CertId",
                "give CertId, CertIdentifier, or CertName with Cert and Key",
            ))
        }
    };
    let c = find_cas(inner, &id.to_string())?;
    require_cover(&c.info, &domain)?;
    inner.state.ddos.domains[i].cert_id = Some(id);
    Ok(json!({}))
}

fn web_rules(inner: &Inner, p: &Params, ctx: &Ctx) -> Result<Value, ApiError> {
    let number = p.req_u64("PageNumber")?;
    let size = p.req_u64("PageSize")?;
    if number == 0 {
        return Err(invalid("PageNumber", "must be at least 1"));
    }
    if size == 0 || size > 10 {
        return Err(invalid("PageSize", "must be 1 to 10"));
    }
    let exact = p.get("QueryDomainPattern") == Some("exact");
    let all: Vec<&DdosDomain> = inner
        .state
        .ddos
        .domains
        .iter()
        .filter(|d| d.region == ctx.region)
        .filter(|d| {
            p.get("Domain").none_or(|f| {
                if exact {
                    d.domain == f
                } else {
                    d.domain.contains(f)
                }
            })
        })
        .collect();
    let page: Vec<Value> = all
        .iter()
        .skip(((number - 1) * size) as usize)
        .take(size as usize)
        .map(|d| {
            let cert = d
                .cert_id
                .and_then(|id| inner.state.cas_certs.iter().find(|c| c.cert_id == id));
            json!({
                "Domain": d.domain, "Cname": format!("{}.aliyunddos0001.com", d.domain.replace('.', "-")),
                "CertName": cert.map(|c| c.name.clone()).unwrap_or_default(),
                "CertRegion": if cert.is_some() { REGION } else { "" },
                "ProxyTypes": [{"ProxyType": "https", "ProxyPorts": [443]}],
            })
        })
        .collect();
    Ok(json!({"WebRules": page, "TotalCount": all.len()}))
}

/// Anti-DDoS websites that use CAS certificate `id`.
pub(crate) fn cas_users(state: &EmulatorState, id: u64) -> Vec<String> {
    state
        .ddos
        .domains
        .iter()
        .filter(|d| d.cert_id == Some(id))
        .map(|d| format!("ddos {}", d.domain))
        .collect()
}
