//! CDN 2018-05-10 and DCDN 2018-01-15 (RPC), one implementation.
use super::*;

impl Seed {
    pub fn cdn_domain(mut self, name: &str) -> Self {
        self.cdn_domains.push(name.into());
        self
    }
    pub fn dcdn_domain(mut self, name: &str) -> Self {
        self.dcdn_domains.push(name.into());
        self
    }
}

impl EmulatorState {
    pub fn cdn_cert(&self, domain: &str) -> Option<&DeployedCert> {
        self.cdn_domains.get(domain).and_then(|c| c.as_ref())
    }
    pub fn dcdn_cert(&self, domain: &str) -> Option<&DeployedCert> {
        self.dcdn_domains.get(domain).and_then(|c| c.as_ref())
    }
}

impl Emulator {
    /// Installs a certificate on a seeded CDN domain directly (as if deployed earlier).
    pub fn set_cdn_certificate(&self, domain: &str, cert_pem: &str, key_pem: &str) {
        let dc = direct_cert(domain, cert_pem, key_pem);
        let mut inner = self.shared.lock();
        let slot = inner
            .state
            .cdn_domains
            .get_mut(domain)
            .unwrap_or_else(|| panic!("CDN domain {domain} is not seeded"));
        *slot = Some(dc);
    }
    /// Installs a certificate on a seeded DCDN domain directly.
    pub fn set_dcdn_certificate(&self, domain: &str, cert_pem: &str, key_pem: &str) {
        let dc = direct_cert(domain, cert_pem, key_pem);
        let mut inner = self.shared.lock();
        let slot = inner
            .state
            .dcdn_domains
            .get_mut(domain)
            .unwrap_or_else(|| panic!("DCDN domain {domain} is not seeded"));
        *slot = Some(dc);
    }
    /// Points a seeded CDN domain at CAS certificate `cas_id` (as a console user would).
    pub fn set_cdn_certificate_from_cas(&self, domain: &str, cas_id: u64) {
        let mut inner = self.shared.lock();
        let c = inner
            .state
            .cas_certs
            .iter()
            .find(|c| c.cert_id == cas_id)
            .unwrap_or_else(|| panic!("no CAS certificate {cas_id}"))
            .clone();
        let slot = inner
            .state
            .cdn_domains
            .get_mut(domain)
            .unwrap_or_else(|| panic!("CDN domain {domain} is not seeded"));
        *slot = Some(cas_deployed(&c, &cas_id.to_string(), "console"));
    }
}

pub(crate) fn seed_cdn(inner: &mut Inner, seed: &Seed) {
    for d in &seed.cdn_domains {
        inner.state.cdn_domains.insert(d.clone(), None);
    }
    for d in &seed.dcdn_domains {
        inner.state.dcdn_domains.insert(d.clone(), None);
    }
}

// ---------------------------------------------------------------------------------------------
// CDN 2018-05-10 and DCDN 2018-01-15
// ---------------------------------------------------------------------------------------------

pub(crate) fn cdn(
    inner: &mut Inner,
    action: &str,
    p: &Params,
    ctx: &Ctx,
    dcdn: bool,
) -> Result<Value, ApiError> {
    let (set_action, describe_action) = if dcdn {
        (
            "SetDcdnDomainSSLCertificate",
            "DescribeDcdnDomainCertificateInfo",
        )
    } else {
        (
            "SetCdnDomainSSLCertificate",
            "DescribeDomainCertificateInfo",
        )
    };
    let no_domain = || err(400, "InvalidDomain.NotFound", "The domain does not exist.");
    let list_action = if dcdn {
        "DescribeDcdnUserDomains"
    } else {
        "DescribeUserDomains"
    };
    if action == list_action {
        let map = if dcdn {
            &inner.state.dcdn_domains
        } else {
            &inner.state.cdn_domains
        };
        // Only the caller's account's domains (accounts.rs).
        let own: BTreeMap<String, Option<DeployedCert>> = map
            .iter()
            .filter(|(d, _)| inner.cdn_owner(d, dcdn) == ctx.account)
            .map(|(d, c)| (d.clone(), c.clone()))
            .collect();
        return user_domains(&own, p, dcdn);
    }
    if action == set_action {
        let domain = p.req("DomainName")?.to_string();
        let map = if dcdn {
            &inner.state.dcdn_domains
        } else {
            &inner.state.cdn_domains
        };
        if !map.contains_key(&domain) {
            return Err(no_domain());
        }
        let protocol = p.req("SSLProtocol")?.to_ascii_lowercase();
        let new = match protocol.as_str() {
            "off" => None,
            "on" => {
                let cert_type = p
                    .get("CertType")
                    .map(|t| t.to_ascii_lowercase())
                    .unwrap_or_else(|| "upload".into());
                let region = p.get("CertRegion").unwrap_or(REGION).to_string();
                let dc = match cert_type.as_str() {
                    "upload" => {
                        let pubk = p.req("SSLPub")?;
                        let prik = p.req("SSLPri")?;
                        let info = check_pair(pubk, prik)?;
                        require_cover(&info, &domain)?;
                        let id = inner.next_cert_id();
                        DeployedCert {
                            cert_name: p
                                .get("CertName")
                                .map(|s| s.to_string())
                                .unwrap_or_else(|| format!("{domain}-{}", now_ms())),
                            cert_id: id.to_string(),
                            cert_type,
                            cert_region: region,
                            cert: pubk.to_string(),
                            key: prik.to_string(),
                            info,
                            updated_ms: now_ms(),
                            updated_by: ctx.ak.to_string(),
                        }
                    }
                    "cas" => {
                        let id = p.req_u64("CertId")?;
                        let c = inner
                            .state
                            .cas_certs
                            .iter()
                            // Another account's CAS certificate does not exist for this
                            // caller (accounts.rs): its uploader's account must be the caller's.
                            .find(|c| {
                                c.cert_id == id && inner.account_of(&c.created_by) == ctx.account
                            })
                            .ok_or_else(|| {
                                err(
                                    400,
                                    "Certificate.NotFound",
                                    "The CAS certificate does not exist.",
                                )
                            })?;
                        require_cover(&c.info, &domain)?;
                        DeployedCert {
                            cert_name: p.get("CertName").unwrap_or(&c.name).to_string(),
                            cert_id: id.to_string(),
                            cert_type,
                            cert_region: region,
                            cert: c.cert.clone(),
                            key: c.key.clone(),
                            info: c.info.clone(),
                            updated_ms: now_ms(),
                            updated_by: ctx.ak.to_string(),
                        }
                    }
                    other => {
                        return Err(invalid(
                            "CertType",
                            &format!("{other} (the emulator supports upload and cas)"),
                        ))
                    }
                };
                Some(dc)
            }
            _ => return Err(invalid("SSLProtocol", "must be on or off")),
        };
        let map = if dcdn {
            &mut inner.state.dcdn_domains
        } else {
            &mut inner.state.cdn_domains
        };
        map.insert(domain, new);
        Ok(json!({}))
    } else if action == describe_action {
        let map = if dcdn {
            &inner.state.dcdn_domains
        } else {
            &inner.state.cdn_domains
        };
        let mut infos = Vec::new();
        for domain in p.req("DomainName")?.split(',').map(str::trim) {
            let slot = map.get(domain).ok_or_else(no_domain)?;
            infos.push(cdn_cert_info(domain, slot.as_ref(), dcdn));
        }
        Ok(json!({"CertInfos": {"CertInfo": infos}}))
    } else {
        Err(unknown_action())
    }
}

pub(crate) fn cdn_cert_info(domain: &str, c: Option<&DeployedCert>, dcdn: bool) -> Value {
    let s = |f: &dyn Fn(&DeployedCert) -> String| c.map(f).unwrap_or_default();
    let mut v = json!({
        "DomainName": domain,
        "CertName": s(&|c| c.cert_name.clone()),
        "CertId": s(&|c| c.cert_id.clone()),
        "CertType": s(&|c| c.cert_type.clone()),
        "CertRegion": s(&|c| c.cert_region.clone()),
        "CertDomainName": s(&|c| c.info.common_name.clone()),
        "CertExpireTime": s(&|c| rfc3339(c.info.not_after_ms)),
        "CertStartTime": s(&|c| rfc3339(c.info.not_before_ms)),
        "CertOrg": s(&|c| c.info.issuer_org.clone()),
        "Status": if c.is_some() { "success" } else { "" },
    });
    let m = v.as_object_mut().expect("object");
    if dcdn {
        m.insert(
            "SSLProtocol".into(),
            json!(if c.is_some() { "on" } else { "off" }),
        );
        m.insert("SSLPub".into(), json!(s(&|c| c.cert.clone())));
    } else {
        m.insert(
            "ServerCertificateStatus".into(),
            json!(if c.is_some() { "on" } else { "off" }),
        );
        m.insert("ServerCertificate".into(), json!(s(&|c| c.cert.clone())));
        m.insert(
            "CertUpdateTime".into(),
            json!(s(&|c| rfc3339(c.updated_ms))),
        );
        m.insert("DomainCnameStatus".into(), json!("online"));
    }
    v
}

// Paging of DescribeUserDomains (alibabacloud-cdn20180510 9.2.0
// models/_describe_user_domains_request.py) and DescribeDcdnUserDomains
// (alibabacloud-dcdn20180115 3.1.0 models/_describe_dcdn_user_domains_request.py), the same in
// both: PageSize "Valid values: 1 to 500. Default value: 20", PageNumber "Valid values: 1 to
// 100000".
pub(crate) const USER_DOMAINS_MAX_PAGE_SIZE: u64 = 500;
pub(crate) const USER_DOMAINS_MAX_PAGE_NUMBER: u64 = 100_000;

/// The CDN pages name no code for an out-of-range paging value; Alibaba's gateway answers a value
/// outside a documented range with 400 `InvalidParameter` (as the Alidns listings here do).
/// Strictest plausible: refuse rather than clamp.
fn paging_invalid(name: &str) -> ApiError {
    err(
        400,
        "InvalidParameter",
        format!("The specified parameter \"{name}\" is not valid."),
    )
}

/// One page of the account's domains, in name order (response body
/// DescribeUserDomainsResponseBody / DescribeDcdnUserDomainsResponseBody: Domains.PageData[],
/// PageNumber, PageSize, TotalCount). Filters alicert does not send are refused, not ignored.
fn user_domains(
    map: &BTreeMap<String, Option<DeployedCert>>,
    p: &Params,
    dcdn: bool,
) -> Result<Value, ApiError> {
    for unsupported in [
        "DomainName",
        "DomainStatus",
        "DomainSearchType",
        "CheckDomainShow",
    ] {
        if p.get(unsupported).is_some() {
            return Err(invalid(
                unsupported,
                "(the emulator lists every domain; filters are not modelled)",
            ));
        }
    }
    let page_number = p.u64_or("PageNumber", 1)?;
    if !(1..=USER_DOMAINS_MAX_PAGE_NUMBER).contains(&page_number) {
        return Err(paging_invalid("PageNumber"));
    }
    let page_size = p.u64_or("PageSize", 20)?;
    if !(1..=USER_DOMAINS_MAX_PAGE_SIZE).contains(&page_size) {
        return Err(paging_invalid("PageSize"));
    }
    let total = map.len();
    let start = ((page_number - 1) * page_size).min(total as u64) as usize;
    let end = (start + page_size as usize).min(total);
    let ssl_field = if dcdn { "SSLProtocol" } else { "SslProtocol" };
    let page: Vec<Value> = map
        .iter()
        .skip(start)
        .take(end - start)
        .map(|(name, cert)| {
            json!({
                "DomainName": name,
                "DomainStatus": "online",
                "Cname": format!("{name}.w.kunlunsl.com"),
                ssl_field: if cert.is_some() { "on" } else { "off" },
            })
        })
        .collect();
    Ok(json!({
        "Domains": {"PageData": page},
        "PageNumber": page_number,
        "PageSize": page_size,
        "TotalCount": total,
    }))
}
