//! SLB 2014-05-15 (RPC): UploadServerCertificate, DescribeServerCertificates,
//! DeleteServerCertificate, Set/DescribeLoadBalancerHTTPSListenerAttribute,
//! Set/DescribeDomainExtensionAttribute; `ServerCertificateName` is checked as the SDK documents it.
//! The listings (DescribeLoadBalancerListeners, DescribeDomainExtensions) are in slb_list.rs.
use super::*;

#[derive(Debug, Clone, Serialize)]
pub struct SlbServerCert {
    pub server_certificate_id: String,
    pub name: String,
    pub region: String,
    /// Set when made from a CAS certificate.
    pub ali_cloud_certificate_id: Option<String>,
    pub ali_cloud_certificate_name: Option<String>,
    pub cert: String,
    pub info: CertInfo,
}

#[derive(Debug, Clone, Serialize)]
pub struct SlbListener {
    pub load_balancer_id: String,
    pub port: u16,
    /// `https` (the seeded `slb_listeners`), else `http`, `tcp` or `udp`.
    pub protocol: String,
    pub server_certificate_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SlbDomainExtension {
    pub id: String,
    pub load_balancer_id: String,
    pub port: u16,
    pub domain: String,
    pub server_certificate_id: Option<String>,
}

impl Seed {
    pub fn slb_listener(mut self, load_balancer_id: &str, port: u16) -> Self {
        self.services
            .slb_listeners
            .push((load_balancer_id.into(), port));
        self
    }
    /// A listener of another protocol than HTTPS (`http`, `tcp`, `udp`): it holds no certificate.
    pub fn slb_listener_of(mut self, load_balancer_id: &str, port: u16, protocol: &str) -> Self {
        self.services
            .slb_other_listeners
            .push((load_balancer_id.into(), port, protocol.into()));
        self
    }
    pub fn slb_domain_extension(mut self, id: &str, lb: &str, port: u16, domain: &str) -> Self {
        self.services
            .slb_domain_extensions
            .push((id.into(), lb.into(), port, domain.into()));
        self
    }
}

impl EmulatorState {
    pub(crate) fn slb_server_cert_info(&self, id: Option<&String>) -> Option<&CertInfo> {
        let id = id?;
        self.services
            .slb_server_certs
            .iter()
            .find(|c| &c.server_certificate_id == id)
            .map(|c| &c.info)
    }
    /// What an SLB HTTPS listener serves.
    pub fn slb_listener_cert(&self, lb: &str, port: u16) -> Option<&CertInfo> {
        let l = self
            .services
            .slb_listeners
            .iter()
            .find(|l| l.load_balancer_id == lb && l.port == port)?;
        self.slb_server_cert_info(l.server_certificate_id.as_ref())
    }
    /// What an SLB domain extension serves.
    pub fn slb_extension_cert(&self, id: &str) -> Option<&CertInfo> {
        let e = self
            .services
            .slb_domain_extensions
            .iter()
            .find(|e| e.id == id)?;
        self.slb_server_cert_info(e.server_certificate_id.as_ref())
    }
}

// ---------------------------------------------------------------------------------------------
// SLB 2014-05-15
// ---------------------------------------------------------------------------------------------

pub(crate) fn slb_server_cert_json(c: &SlbServerCert) -> Value {
    json!({
        "ServerCertificateId": c.server_certificate_id,
        "ServerCertificateName": c.name,
        "RegionId": c.region,
        "Fingerprint": c.info.fingerprint,
        "CommonName": c.info.common_name,
        "SubjectAlternativeNames": {"SubjectAlternativeName": c.info.sans},
        "ExpireTime": rfc3339(c.info.not_after_ms),
        "ExpireTimeStamp": c.info.not_after_ms,
        "IsAliCloudCertificate": if c.ali_cloud_certificate_id.is_some() { 1 } else { 0 },
        "AliCloudCertificateId": c.ali_cloud_certificate_id.clone().unwrap_or_default(),
        "AliCloudCertificateName": c.ali_cloud_certificate_name.clone().unwrap_or_default(),
        "ResourceGroupId": super::RESOURCE_GROUP,
    })
}

/// `ServerCertificateName` (alibabacloud-slb20140515 3.3.31, models/
/// `_upload_server_certificate_request.py`): "The name must be 1 to 80 characters in length. It
/// must start with an English letter. It can contain letters, numbers, periods (.), underscores
/// (_), and hyphens (-)." Enforced when given (the SDK marks it optional). The error code is not
/// in the SDK; `InvalidParameter.ServerCertificateName` is the emulator's choice.
pub(crate) fn check_server_certificate_name(name: Option<&str>) -> Result<(), ApiError> {
    let Some(name) = name else {
        return Ok(());
    };
    let ok = (1..=80).contains(&name.chars().count())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(err(
            400,
            "InvalidParameter.ServerCertificateName",
            "The ServerCertificateName must be 1 to 80 characters, start with a letter, and contain only letters, digits, '.', '_' and '-'.",
        ))
    }
}

pub(crate) fn slb(inner: &mut Inner, action: &str, p: &Params) -> Result<Value, ApiError> {
    let region = p.req("RegionId")?.to_string();
    let server_cert_exists = |inner: &Inner, id: &str| {
        inner
            .state
            .services
            .slb_server_certs
            .iter()
            .any(|c| c.server_certificate_id == id && c.region == region)
    };
    let no_cert = || {
        err(
            400,
            "ServerCertificateId.NotFound",
            "The specified ServerCertificateId does not exist.",
        )
    };
    match action {
        "DescribeLoadBalancerListeners" => return super::slb_list::listeners(inner, p),
        "DescribeDomainExtensions" => return super::slb_list::domain_extensions(inner, p),
        _ => {}
    }
    Ok(match action {
        "UploadServerCertificate" => {
            check_server_certificate_name(p.get("ServerCertificateName"))?;
            let id = format!("{ACCOUNT_ID}_{}", random_hex(12));
            let cert = match p.get("AliCloudCertificateId") {
                Some(cas_id) => {
                    let c = find_cas(inner, cas_id)?;
                    SlbServerCert {
                        server_certificate_id: id,
                        name: p
                            .get("ServerCertificateName")
                            .unwrap_or(&c.name)
                            .to_string(),
                        region: region.clone(),
                        ali_cloud_certificate_id: Some(c.cert_id.to_string()),
                        ali_cloud_certificate_name: p
                            .get("AliCloudCertificateName")
                            .map(str::to_string),
                        cert: c.cert.clone(),
                        info: c.info.clone(),
                    }
                }
                None => {
                    let pem = p.req("ServerCertificate")?;
                    let info = check_pair(pem, p.req("PrivateKey")?)?;
                    SlbServerCert {
                        server_certificate_id: id,
                        name: p.get("ServerCertificateName").unwrap_or("").to_string(),
                        region: region.clone(),
                        ali_cloud_certificate_id: None,
                        ali_cloud_certificate_name: None,
                        cert: pem.to_string(),
                        info,
                    }
                }
            };
            let v = slb_server_cert_json(&cert);
            inner.state.services.slb_server_certs.push(cert);
            v
        }
        "DescribeServerCertificates" => {
            let filter = p.get("ServerCertificateId");
            let list: Vec<Value> = inner
                .state
                .services
                .slb_server_certs
                .iter()
                .filter(|c| {
                    c.region == region && filter.is_none_or(|f| c.server_certificate_id == f)
                })
                .map(slb_server_cert_json)
                .collect();
            json!({"ServerCertificates": {"ServerCertificate": list}})
        }
        "DeleteServerCertificate" => {
            let id = p.req("ServerCertificateId")?.to_string();
            if !server_cert_exists(inner, &id) {
                return Err(no_cert());
            }
            let s = &inner.state.services;
            let used = s
                .slb_listeners
                .iter()
                .any(|l| l.server_certificate_id.as_deref() == Some(id.as_str()))
                || s.slb_domain_extensions
                    .iter()
                    .any(|e| e.server_certificate_id.as_deref() == Some(id.as_str()));
            if used {
                return Err(err(
                    400,
                    "ResourceInUse.ServerCertificate",
                    "The server certificate is used by a listener.",
                ));
            }
            inner
                .state
                .services
                .slb_server_certs
                .retain(|c| c.server_certificate_id != id);
            json!({})
        }
        "SetLoadBalancerHTTPSListenerAttribute" | "DescribeLoadBalancerHTTPSListenerAttribute" => {
            let lb = p.req("LoadBalancerId")?.to_string();
            let port: u16 = p
                .req("ListenerPort")?
                .parse()
                .map_err(|_| super::invalid("ListenerPort", "not a port"))?;
            if !inner
                .state
                .services
                .slb_listeners
                .iter()
                .any(|l| l.load_balancer_id == lb)
            {
                return Err(err(
                    404,
                    "InvalidLoadBalancerId.NotFound",
                    "The specified load balancer does not exist.",
                ));
            }
            let new_cert = p.get("ServerCertificateId").map(str::to_string);
            if let Some(id) = &new_cert {
                if !server_cert_exists(inner, id) {
                    return Err(no_cert());
                }
            }
            let l = inner
                .state
                .services
                .slb_listeners
                .iter_mut()
                .find(|l| l.load_balancer_id == lb && l.port == port && l.protocol == "https")
                .ok_or_else(|| {
                    err(
                        400,
                        "ListenerNotExist",
                        "The specified listener does not exist.",
                    )
                })?;
            if action.starts_with("Set") {
                if new_cert.is_some() {
                    l.server_certificate_id = new_cert;
                }
                json!({})
            } else {
                json!({
                    "ListenerPort": l.port,
                    "Status": "running",
                    "Bandwidth": -1,
                    "ServerCertificateId": l.server_certificate_id.clone().unwrap_or_default(),
                    "DomainExtensions": {"DomainExtension": []},
                })
            }
        }
        "SetDomainExtensionAttribute" | "DescribeDomainExtensionAttribute" => {
            let id = p.req("DomainExtensionId")?.to_string();
            let new_cert = p.get("ServerCertificateId").map(str::to_string);
            if action.starts_with("Set") {
                let c = new_cert
                    .clone()
                    .ok_or_else(|| super::missing("ServerCertificateId"))?;
                if !server_cert_exists(inner, &c) {
                    return Err(no_cert());
                }
            }
            let e = inner
                .state
                .services
                .slb_domain_extensions
                .iter_mut()
                .find(|e| e.id == id)
                .ok_or_else(|| {
                    err(
                        400,
                        "InvalidParameter.DomainExtensionId",
                        "The specified domain extension does not exist.",
                    )
                })?;
            if action.starts_with("Set") {
                e.server_certificate_id = new_cert;
                json!({})
            } else {
                json!({
                    "DomainExtensionId": e.id,
                    "Domain": e.domain,
                    "LoadBalancerId": e.load_balancer_id,
                    "ListenerPort": e.port,
                    "ServerCertificateId": e.server_certificate_id.clone().unwrap_or_default(),
                })
            }
        }
        _ => return Err(super::unknown_action()),
    })
}

/// The seeded `slb_listeners`.
pub(crate) fn seed_slb_listeners(seed: &ServicesSeed) -> Vec<SlbListener> {
    let https = seed
        .slb_listeners
        .iter()
        .map(|(lb, port)| (lb, port, "https"));
    let other = (seed.slb_other_listeners.iter()).map(|(lb, port, p)| (lb, port, p.as_str()));
    https
        .chain(other)
        .map(|(lb, port, protocol)| SlbListener {
            load_balancer_id: lb.clone(),
            port: *port,
            protocol: protocol.to_ascii_lowercase(),
            server_certificate_id: None,
        })
        .collect()
}

/// The seeded `slb_domain_extensions`.
pub(crate) fn seed_slb_domain_extensions(seed: &ServicesSeed) -> Vec<SlbDomainExtension> {
    seed.slb_domain_extensions
        .iter()
        .map(|(id, lb, port, domain)| SlbDomainExtension {
            id: id.clone(),
            load_balancer_id: lb.clone(),
            port: *port,
            domain: domain.clone(),
            server_certificate_id: None,
        })
        .collect()
}
