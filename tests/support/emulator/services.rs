//! The emulator's load balancers, FC custom domains and OSS bucket CNAMEs:
//! * slb 2014-05-15 (RPC): UploadServerCertificate, DescribeServerCertificates,
//!   DeleteServerCertificate, Set/DescribeLoadBalancerHTTPSListenerAttribute,
//!   Set/DescribeDomainExtensionAttribute;
//! * alb 2020-06-16 (RPC): GetListenerAttribute, UpdateListenerAttribute,
//!   Associate/DissociateAdditionalCertificates…, ListListenerCertificates; writes are jobs that
//!   keep the listener `Configuring` for `alb_job_ms` and refuse overlapping writes (see [`alb`]);
//! * SLB `ServerCertificateName` is checked as the SDK documents it;
//! * fc 2023-03-30 (ROA, V3 ACS3-HMAC-SHA256 signatures verified): Get/UpdateCustomDomain;
//! * OSS PutCname (`POST /<bucket>/?cname&comp=add`) and ListCname (`GET /<bucket>/?cname`).
//!
//! Certificates referenced by CAS id must exist in the emulated CAS, and CAS refuses to delete a
//! certificate any of these (or a CDN/DCDN domain) still uses.
use std::collections::BTreeMap;
use std::sync::Arc;

use alicert::aliyun::signer::{sha256_hex, v3_authorization, v3_canonical_request, V3Request};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{
    check_pair, err, json_response, now_ms, random_hex, require_cover, rfc3339, uuid_like,
    ApiError, Call, CasCert, CertInfo, DeployedCert, EmulatorState, Inner, Params, Seed, Shared,
    ACCOUNT_ID, MAX_SKEW_SECS, REGION,
};

// ---------------------------------------------------------------------------------------------
// Seed and state
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServicesSeed {
    /// SLB HTTPS listeners: (LoadBalancerId, ListenerPort).
    pub slb_listeners: Vec<(String, u16)>,
    /// SLB domain extensions: (DomainExtensionId, LoadBalancerId, ListenerPort, Domain).
    pub slb_domain_extensions: Vec<(String, String, u16, String)>,
    /// ALB HTTPS listener ids.
    pub alb_listeners: Vec<String>,
    /// ALB listener → region, for listeners outside cn-hangzhou.
    pub alb_listener_regions: BTreeMap<String, String>,
    /// How long an ALB listener stays `Configuring` after each write (ms); `None`: 300.
    pub alb_job_ms: Option<u64>,
    /// FC 3 custom domains (protocol HTTP at start).
    pub fc_domains: Vec<String>,
    /// FC custom domain → region, for domains outside cn-hangzhou.
    pub fc_domain_regions: BTreeMap<String, String>,
    /// OSS bucket CNAMEs: (bucket, domain).
    pub oss_cnames: Vec<(String, String)>,
}

impl Seed {
    pub fn slb_listener(mut self, load_balancer_id: &str, port: u16) -> Self {
        self.services
            .slb_listeners
            .push((load_balancer_id.into(), port));
        self
    }
    pub fn slb_domain_extension(mut self, id: &str, lb: &str, port: u16, domain: &str) -> Self {
        self.services
            .slb_domain_extensions
            .push((id.into(), lb.into(), port, domain.into()));
        self
    }
    pub fn alb_listener(mut self, listener_id: &str) -> Self {
        self.services.alb_listeners.push(listener_id.into());
        self
    }
    pub fn alb_listener_in(mut self, listener_id: &str, region: &str) -> Self {
        self.services.alb_listeners.push(listener_id.into());
        self.services
            .alb_listener_regions
            .insert(listener_id.into(), region.into());
        self
    }
    /// How long each ALB write job runs (the listener is `Configuring` meanwhile).
    pub fn alb_job_ms(mut self, ms: u64) -> Self {
        self.services.alb_job_ms = Some(ms);
        self
    }
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
    /// A CNAME bound to `bucket` (the bucket must be seeded too).
    pub fn oss_cname(mut self, bucket: &str, domain: &str) -> Self {
        self.services
            .oss_cnames
            .push((bucket.into(), domain.into()));
        self
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ServicesState {
    pub slb_server_certs: Vec<SlbServerCert>,
    pub slb_listeners: Vec<SlbListener>,
    pub slb_domain_extensions: Vec<SlbDomainExtension>,
    pub alb_listeners: Vec<AlbListener>,
    /// Duration of every ALB write job (ms).
    pub alb_job_ms: u64,
    pub fc_domains: Vec<FcDomain>,
    pub oss_cnames: Vec<OssCname>,
}

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

#[derive(Debug, Clone, Serialize)]
pub struct AlbListener {
    pub id: String,
    /// ALB is regional (alb20200616 `_endpoint_map`: one `alb.<region>.aliyuncs.com` per
    /// region, and no RegionId parameter on the listener actions): only the listener's own
    /// region's endpoint finds it.
    pub region: String,
    /// `<CAS id>-<region>` (what the finished jobs left).
    pub default_certificate: Option<String>,
    pub additional_certificates: Vec<String>,
    /// The write job running now: the listener is `Configuring` until it is due.
    pub job: Option<AlbJob>,
    /// `ClientToken` → JobId of the writes accepted so far (a repeated token is not re-run).
    pub tokens: Vec<(String, String)>,
    /// Writes refused because the listener was configuring.
    pub refused_busy: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlbJob {
    pub job_id: String,
    pub client_token: Option<String>,
    pub due_ms: i64,
    pub change: AlbChange,
}

#[derive(Debug, Clone, Serialize)]
pub enum AlbChange {
    SetDefault(String),
    Associate(Vec<String>),
    Dissociate(Vec<String>),
}

impl AlbListener {
    /// Apply the job if its time has come.
    fn settle(&mut self, now: i64) {
        if self.job.as_ref().is_none_or(|j| j.due_ms > now) {
            return;
        }
        match self.job.take().expect("checked").change {
            AlbChange::SetDefault(id) => self.default_certificate = Some(id),
            AlbChange::Associate(ids) => {
                for id in ids {
                    if !self.additional_certificates.contains(&id) {
                        self.additional_certificates.push(id);
                    }
                }
            }
            AlbChange::Dissociate(ids) => self.additional_certificates.retain(|c| !ids.contains(c)),
        }
    }
    /// Certificate ids a running job is adding.
    fn pending(&self) -> Vec<&String> {
        match self.job.as_ref().map(|j| &j.change) {
            Some(AlbChange::SetDefault(id)) => vec![id],
            Some(AlbChange::Associate(ids)) => ids.iter().collect(),
            _ => vec![],
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

#[derive(Debug, Clone, Serialize)]
pub struct OssCname {
    pub bucket: String,
    pub domain: String,
    pub certificate: Option<DeployedCert>,
}

impl ServicesState {
    pub fn from_seed(seed: &ServicesSeed) -> ServicesState {
        ServicesState {
            slb_server_certs: vec![],
            slb_listeners: seed
                .slb_listeners
                .iter()
                .map(|(lb, port)| SlbListener {
                    load_balancer_id: lb.clone(),
                    port: *port,
                    server_certificate_id: None,
                })
                .collect(),
            slb_domain_extensions: seed
                .slb_domain_extensions
                .iter()
                .map(|(id, lb, port, domain)| SlbDomainExtension {
                    id: id.clone(),
                    load_balancer_id: lb.clone(),
                    port: *port,
                    domain: domain.clone(),
                    server_certificate_id: None,
                })
                .collect(),
            alb_listeners: seed
                .alb_listeners
                .iter()
                .map(|id| AlbListener {
                    id: id.clone(),
                    region: seed
                        .alb_listener_regions
                        .get(id)
                        .cloned()
                        .unwrap_or_else(|| REGION.into()),
                    default_certificate: None,
                    additional_certificates: vec![],
                    job: None,
                    tokens: vec![],
                    refused_busy: 0,
                })
                .collect(),
            alb_job_ms: seed.alb_job_ms.unwrap_or(300),
            fc_domains: seed
                .fc_domains
                .iter()
                .map(|d| FcDomain {
                    domain: d.clone(),
                    region: seed
                        .fc_domain_regions
                        .get(d)
                        .cloned()
                        .unwrap_or_else(|| super::REGION.to_string()),
                    protocol: "HTTP".into(),
                    certificate: None,
                })
                .collect(),
            oss_cnames: seed
                .oss_cnames
                .iter()
                .map(|(b, d)| OssCname {
                    bucket: b.clone(),
                    domain: d.clone(),
                    certificate: None,
                })
                .collect(),
        }
    }
}

impl EmulatorState {
    fn cas_info(&self, cas_id: &str) -> Option<&CertInfo> {
        let id: u64 = cas_id.split('-').next()?.parse().ok()?;
        self.cas_certs
            .iter()
            .find(|c| c.cert_id == id)
            .map(|c| &c.info)
    }
    fn slb_server_cert_info(&self, id: Option<&String>) -> Option<&CertInfo> {
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
    pub fn alb_listener(&self, id: &str) -> Option<&AlbListener> {
        self.services.alb_listeners.iter().find(|l| l.id == id)
    }
    /// The ALB listener's default certificate.
    pub fn alb_default_cert(&self, id: &str) -> Option<&CertInfo> {
        self.cas_info(self.alb_listener(id)?.default_certificate.as_ref()?)
    }
    /// The ALB listener's additional certificates.
    pub fn alb_additional_certs(&self, id: &str) -> Vec<&CertInfo> {
        self.alb_listener(id)
            .map(|l| {
                l.additional_certificates
                    .iter()
                    .filter_map(|c| self.cas_info(c))
                    .collect()
            })
            .unwrap_or_default()
    }
    pub fn fc_cert(&self, domain: &str) -> Option<&DeployedCert> {
        self.services
            .fc_domains
            .iter()
            .find(|d| d.domain == domain)?
            .certificate
            .as_ref()
    }
    pub fn oss_cname_cert(&self, bucket: &str, domain: &str) -> Option<&DeployedCert> {
        self.services
            .oss_cnames
            .iter()
            .find(|c| c.bucket == bucket && c.domain == domain)?
            .certificate
            .as_ref()
    }
    /// Who still uses CAS certificate `id` (CDN/DCDN, SLB, ALB, OSS), for DeleteUserCertificate.
    pub(super) fn cas_users(&self, id: u64) -> Vec<String> {
        let id_s = id.to_string();
        let is = |c: &str| c.split('-').next() == Some(id_s.as_str());
        let mut users = Vec::new();
        for (kind, map) in [("cdn", &self.cdn_domains), ("dcdn", &self.dcdn_domains)] {
            for (d, c) in map {
                if c.as_ref()
                    .is_some_and(|c| c.cert_type == "cas" && c.cert_id == id_s)
                {
                    users.push(format!("{kind} {d}"));
                }
            }
        }
        for c in &self.services.slb_server_certs {
            if c.ali_cloud_certificate_id.as_deref() == Some(id_s.as_str()) {
                users.push(format!("slb {}", c.server_certificate_id));
            }
        }
        for l in &self.services.alb_listeners {
            if l.default_certificate
                .iter()
                .chain(&l.additional_certificates)
                .chain(l.pending())
                .any(|c| is(c))
            {
                users.push(format!("alb {}", l.id));
            }
        }
        for c in &self.services.oss_cnames {
            if c.certificate
                .as_ref()
                .is_some_and(|d| d.cert_type == "cas" && is(&d.cert_id))
            {
                users.push(format!("oss {}", c.domain));
            }
        }
        users
    }
}

fn find_cas<'a>(inner: &'a Inner, cas_id: &str) -> Result<&'a CasCert, ApiError> {
    let id: Option<u64> = cas_id.split('-').next().and_then(|s| s.parse().ok());
    id.and_then(|id| inner.state.cas_certs.iter().find(|c| c.cert_id == id))
        .ok_or_else(|| {
            err(
                404,
                "ResourceNotFound.Certificate",
                format!("The CAS certificate {cas_id} does not exist."),
            )
        })
}

fn cas_deployed(c: &CasCert, cas_id: &str, ak: &str) -> DeployedCert {
    DeployedCert {
        cert_name: c.name.clone(),
        cert_id: cas_id.to_string(),
        cert_type: "cas".into(),
        cert_region: REGION.into(),
        cert: c.cert.clone(),
        key: c.key.clone(),
        info: c.info.clone(),
        updated_ms: now_ms(),
        updated_by: ak.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// SLB 2014-05-15
// ---------------------------------------------------------------------------------------------

fn slb_server_cert_json(c: &SlbServerCert) -> Value {
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
fn check_server_certificate_name(name: Option<&str>) -> Result<(), ApiError> {
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

pub(super) fn slb(inner: &mut Inner, action: &str, p: &Params) -> Result<Value, ApiError> {
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
                .find(|l| l.load_balancer_id == lb && l.port == port)
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

// ---------------------------------------------------------------------------------------------
// ALB 2020-06-16
// ---------------------------------------------------------------------------------------------

/// `Certificates.N.CertificateId` values, in N order.
fn certificate_ids(p: &Params) -> Vec<String> {
    let mut ids: Vec<(u32, String)> =
        p.0.iter()
            .filter_map(|(k, v)| {
                let n = k
                    .strip_prefix("Certificates.")?
                    .strip_suffix(".CertificateId")?
                    .parse()
                    .ok()?;
                Some((n, v.clone()))
            })
            .collect();
    ids.sort();
    ids.into_iter().map(|(_, v)| v).collect()
}

/// ALB writes are asynchronous jobs (alibabacloud-alb20200616 1.3.3, models/
/// `_update_listener_attribute_response_body.py`, `_associate_additional_certificates_with_
/// listener_response_body.py`, `_dissociate_…`: `JobId`, "The asynchronous task ID"; API reference
/// UpdateListenerAttribute: "If a listener is in the Configuring state, the configuration of the
/// listener is being modified"; AssociateAdditionalCertificatesWithListener: `Associating` →
/// `Associated`). The emulator runs each job for `alb_job_ms` (default 300 ms): meanwhile
/// GetListenerAttribute says `ListenerStatus: Configuring`, ListListenerCertificates shows the
/// certificate `Associating` / `Diassociating` (sic, the SDK's spelling), the change is not yet
/// in effect, and any other write is refused with `IncorrectStatus.Listener` (HTTP 400, "The
/// status of listener [%s] is incorrect." — the code and message the API reference error tables
/// give for listener writes, e.g. nlb StopListener; Terraform's alicloud provider retries it on
/// these calls). `ClientToken` (API reference: ASCII only, at most 64 characters): a write
/// repeating the token of an accepted one is not run again — `IdempotenceProcessing` while that
/// job runs (docs are silent on the exact answer: the strictest plausible one, which Terraform
/// retries), its JobId afterwards.
pub(super) fn alb(
    inner: &mut Inner,
    action: &str,
    p: &Params,
    region: &str,
) -> Result<Value, ApiError> {
    let listener_id = p.req("ListenerId")?.to_string();
    if !inner
        .state
        .services
        .alb_listeners
        .iter()
        .any(|l| l.id == listener_id && l.region == region)
    {
        return Err(err(
            404,
            "ResourceNotFound.Listener",
            "The specified listener does not exist.",
        ));
    }
    let ids = certificate_ids(p);
    let is_write = matches!(
        action,
        "UpdateListenerAttribute"
            | "AssociateAdditionalCertificatesWithListener"
            | "DissociateAdditionalCertificatesFromListener"
    );
    for id in &ids {
        if !id.contains('-') {
            return Err(super::invalid(
                "Certificates.N.CertificateId",
                "must be the certificate's global id <CertId>-<region>",
            ));
        }
        if action != "DissociateAdditionalCertificatesFromListener" && is_write {
            find_cas(inner, id)?;
        }
    }
    let token = p.get("ClientToken").map(str::to_string);
    if let Some(t) = &token {
        if t.is_empty() || t.len() > 64 || !t.is_ascii() {
            return Err(super::invalid(
                "ClientToken",
                "must be 1-64 ASCII characters",
            ));
        }
    }
    let job_ms = inner.state.services.alb_job_ms as i64;
    let now = now_ms();
    let l = inner
        .state
        .services
        .alb_listeners
        .iter_mut()
        .find(|l| l.id == listener_id)
        .expect("checked above");
    l.settle(now);
    if is_write {
        if let Some(t) = &token {
            if l.job
                .as_ref()
                .is_some_and(|j| j.client_token.as_ref() == Some(t))
            {
                return Err(err(
                    400,
                    "IdempotenceProcessing",
                    "The request with this ClientToken is still being processed.",
                ));
            }
            if let Some((_, job)) = l.tokens.iter().find(|(k, _)| k == t) {
                return Ok(json!({"JobId": job}));
            }
        }
        if l.job.is_some() {
            l.refused_busy += 1;
            return Err(err(
                400,
                "IncorrectStatus.Listener",
                format!("The status of listener [{listener_id}] is incorrect."),
            ));
        }
    }
    let start_job = |l: &mut AlbListener, change: AlbChange| {
        let job_id = uuid_like();
        if let Some(t) = &token {
            l.tokens.push((t.clone(), job_id.clone()));
        }
        l.job = Some(AlbJob {
            job_id: job_id.clone(),
            client_token: token.clone(),
            due_ms: now + job_ms,
            change,
        });
        // A zero-length job is done at once.
        l.settle(now);
        json!({"JobId": job_id})
    };
    Ok(match action {
        "GetListenerAttribute" => json!({
            "ListenerId": l.id,
            "ListenerProtocol": "HTTPS",
            "ListenerPort": 443,
            "ListenerStatus": if l.job.is_some() { "Configuring" } else { "Running" },
            "Certificates": l.default_certificate.iter().map(|c| json!({"CertificateId": c})).collect::<Vec<_>>(),
        }),
        "UpdateListenerAttribute" => match ids.first() {
            Some(first) => start_job(l, AlbChange::SetDefault(first.clone())),
            // Nothing to change: still a job (the API always answers with one).
            None => start_job(l, AlbChange::Associate(vec![])),
        },
        "AssociateAdditionalCertificatesWithListener" => {
            if ids.is_empty() {
                return Err(super::missing("Certificates"));
            }
            start_job(l, AlbChange::Associate(ids))
        }
        "DissociateAdditionalCertificatesFromListener" => {
            if ids.is_empty() {
                return Err(super::missing("Certificates"));
            }
            // DissociateAdditionalCertificatesFromListenerRequest: "Specify a maximum of 20".
            if ids.len() > 20 {
                return Err(super::invalid("Certificates", "at most 20 certificates"));
            }
            start_job(l, AlbChange::Dissociate(ids))
        }
        "ListListenerCertificates" => {
            let want = p.get("CertificateType").unwrap_or("Server");
            // ListListenerCertificatesRequest MaxResults: "Valid values: 1 to 100".
            let max = p.u64_or("MaxResults", 20)?;
            if !(1..=100).contains(&max) {
                return Err(super::invalid("MaxResults", "must be 1-100"));
            }
            let (adding, removing): (Vec<&String>, Vec<&String>) =
                match l.job.as_ref().map(|j| &j.change) {
                    Some(AlbChange::Associate(ids)) => (ids.iter().collect(), vec![]),
                    Some(AlbChange::Dissociate(ids)) => (vec![], ids.iter().collect()),
                    _ => (vec![], vec![]),
                };
            let mut list = Vec::new();
            if want == "Server" {
                if let Some(c) = &l.default_certificate {
                    list.push(json!({"CertificateId": c, "CertificateType": "Server", "IsDefault": true, "Status": "Associated"}));
                }
                for c in &l.additional_certificates {
                    let status = if removing.contains(&c) {
                        "Diassociating"
                    } else {
                        "Associated"
                    };
                    list.push(json!({"CertificateId": c, "CertificateType": "Server", "IsDefault": false, "Status": status}));
                }
                for c in adding
                    .into_iter()
                    .filter(|c| !l.additional_certificates.contains(c))
                {
                    list.push(json!({"CertificateId": c, "CertificateType": "Server", "IsDefault": false, "Status": "Associating"}));
                }
            }
            let total = list.len();
            let start: usize = p.get("NextToken").and_then(|t| t.parse().ok()).unwrap_or(0);
            let page: Vec<Value> = list.into_iter().skip(start).take(max as usize).collect();
            let next = if start + page.len() < total {
                (start + page.len()).to_string()
            } else {
                String::new()
            };
            json!({"Certificates": page, "TotalCount": total, "MaxResults": max, "NextToken": next})
        }
        _ => return Err(super::unknown_action()),
    })
}

// ---------------------------------------------------------------------------------------------
// FC 3 (ROA, V3 signatures)
// ---------------------------------------------------------------------------------------------

fn fc_error(status: u16, code: &str, message: &str, request_id: &str) -> Response {
    json_response(
        status,
        request_id,
        json!({"Code": code, "Message": message, "RequestId": request_id}),
    )
}

/// Verify a V3 request; returns the AccessKeyId.
pub(super) fn verify_v3(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, ApiError> {
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    let auth = h("authorization").ok_or_else(|| {
        err(
            400,
            "MissingAuthorization",
            "Authorization header is required.",
        )
    })?;
    let rest = auth
        .strip_prefix("ACS3-HMAC-SHA256 ")
        .ok_or_else(|| err(400, "InvalidAuthorization", "Expected ACS3-HMAC-SHA256."))?;
    let mut fields = BTreeMap::new();
    for part in rest.split(',') {
        if let Some((k, v)) = part.trim().split_once('=') {
            fields.insert(k.to_string(), v.to_string());
        }
    }
    let (ak, signed, signature) = match (
        fields.get("Credential"),
        fields.get("SignedHeaders"),
        fields.get("Signature"),
    ) {
        (Some(a), Some(s), Some(g)) => (a.clone(), s.clone(), g.clone()),
        _ => return Err(err(400, "InvalidAuthorization", "Malformed Authorization.")),
    };
    let signed: Vec<&str> = signed.split(';').collect();
    for required in [
        "host",
        "x-acs-action",
        "x-acs-version",
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-content-sha256",
    ] {
        if !signed.contains(&required) || h(required).is_none() {
            return Err(err(
                400,
                "MissingSignedHeader",
                format!("Header {required} must be present and signed."),
            ));
        }
    }
    for (name, _) in headers.iter() {
        let n = name.as_str();
        if n.starts_with("x-acs-") && !signed.contains(&n) {
            return Err(err(
                400,
                "UnsignedHeader",
                format!("Header {n} must be signed."),
            ));
        }
    }
    if h("x-acs-version") != Some("2023-03-30") {
        return Err(err(
            400,
            "InvalidVersion",
            "x-acs-version must be 2023-03-30.",
        ));
    }
    let payload = sha256_hex(body);
    if h("x-acs-content-sha256") != Some(payload.as_str()) {
        return Err(err(
            400,
            "ContentSha256Mismatch",
            "x-acs-content-sha256 does not match the body.",
        ));
    }
    let date = h("x-acs-date").unwrap_or_default();
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    let when = time::PrimitiveDateTime::parse(date, &fmt)
        .map_err(|_| {
            err(
                400,
                "InvalidTimeStamp.Format",
                "x-acs-date is not well formatted.",
            )
        })?
        .assume_utc()
        .unix_timestamp();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    if (now - when).abs() > MAX_SKEW_SECS {
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
        if h("x-acs-security-token") != Some(token.as_str()) {
            return Err(err(
                400,
                "InvalidSecurityToken.Mismatch",
                "x-acs-security-token is missing or does not match the AccessKey.",
            ));
        }
    }
    let req = V3Request {
        method: method.as_str(),
        path,
        query: query
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default(),
        headers: signed
            .iter()
            .map(|n| (n.to_string(), h(n).unwrap_or_default().to_string()))
            .collect(),
        payload_sha256: &payload,
    };
    let expected = v3_authorization(&ak, &key.secret, &req);
    if !expected.ends_with(&format!("Signature={signature}")) {
        return Err(err(
            400,
            "SignatureDoesNotMatch",
            format!(
                "The request signature does not conform to Aliyun standards. server canonical request: {}",
                v3_canonical_request(&req).0
            ),
        ));
    }
    let nonce = h("x-acs-signature-nonce").unwrap_or_default().to_string();
    inner.nonces.retain(|_, t| now - *t <= 2 * MAX_SKEW_SECS);
    if inner.nonces.insert((ak.clone(), nonce), now).is_some() {
        return Err(err(
            400,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        ));
    }
    Ok(ak)
}

pub(super) fn handle_fc(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    at: &super::Addressed,
) -> Response {
    let request_id = uuid_like();
    let action = headers
        .get("x-acs-action")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let domain = path
        .strip_prefix("/2023-03-30/custom-domains/")
        .map(|d| super::percent_decode(d).unwrap_or_default());
    let mut call = Call {
        product: "fc".into(),
        action: action.clone(),
        access_key_id: String::new(),
        security_token: headers.contains_key("x-acs-security-token"),
        method: method.to_string(),
        http_status: 200,
        code: None,
        request_id: request_id.clone(),
        params: BTreeMap::from([("domain".to_string(), domain.clone().unwrap_or_default())]),
    };
    let outcome = (|| {
        let ak = verify_v3(shared, method, &at.signed_path(path), query, headers, body)?;
        call.access_key_id = ak.clone();
        let mut inner = shared.lock();
        if let Some((code, status)) = inner.take_failure(&action) {
            return Err(err(status, code, "Injected failure (emulator fail_next)."));
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
            "apiVersion": "2023-03-30",
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
    shared.lock().state.calls.push(call);
    resp
}

// ---------------------------------------------------------------------------------------------
// OSS PutCname / ListCname
// ---------------------------------------------------------------------------------------------

fn xml_tag(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    Some(
        xml[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// Returns (status, XML body) or an OSS error (status, code, message).
pub(super) fn oss_cname(
    inner: &mut Inner,
    action: &str,
    bucket: &str,
    body: &[u8],
    ak: &str,
) -> Result<(u16, String), (u16, &'static str, String)> {
    match action {
        "ListCname" => {
            let mut xml = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListCnameResult><Bucket>{bucket}</Bucket><Owner>{ACCOUNT_ID}</Owner>"
            );
            for c in inner
                .state
                .services
                .oss_cnames
                .iter()
                .filter(|c| c.bucket == bucket)
            {
                xml.push_str(&format!(
                    "<Cname><Domain>{}</Domain><LastModified>{}</LastModified><Status>Enabled</Status>",
                    c.domain,
                    rfc3339(now_ms())
                ));
                if let Some(d) = &c.certificate {
                    xml.push_str(&format!(
                        "<Certificate><Type>{}</Type><CertId>{}</CertId><Status>Enabled</Status>\
                         <CreationDate>{}</CreationDate><Fingerprint>{}</Fingerprint>\
                         <ValidStartDate>{}</ValidStartDate><ValidEndDate>{}</ValidEndDate></Certificate>",
                        if d.cert_type == "cas" { "CAS" } else { "BYOC" },
                        d.cert_id,
                        rfc3339(d.updated_ms),
                        d.info.fingerprint,
                        rfc3339(d.info.not_before_ms),
                        rfc3339(d.info.not_after_ms),
                    ));
                }
                xml.push_str("</Cname>");
            }
            xml.push_str("</ListCnameResult>");
            Ok((200, xml))
        }
        "PutCname" => {
            let text = String::from_utf8_lossy(body).to_string();
            let domain = xml_tag(&text, "Domain").ok_or((
                400,
                "MalformedXML",
                "Domain is missing".to_string(),
            ))?;
            let cc = xml_tag(&text, "CertificateConfiguration");
            let idx = inner
                .state
                .services
                .oss_cnames
                .iter()
                .position(|c| c.bucket == bucket && c.domain == domain)
                .ok_or((
                    400,
                    "NeedVerifyDomainOwnership",
                    format!("{domain} is not bound to {bucket} (the emulator needs it seeded)"),
                ))?;
            if let Some(cc) = cc {
                let force = xml_tag(&cc, "Force").is_some_and(|f| f.eq_ignore_ascii_case("true"));
                if inner.state.services.oss_cnames[idx].certificate.is_some() && !force {
                    return Err((
                        409,
                        "CertificateAlreadyExist",
                        "set Force to replace".into(),
                    ));
                }
                let deployed = if let Some(cas_id) = xml_tag(&cc, "CertId") {
                    let c = find_cas(inner, &cas_id)
                        .map_err(|e| (404, "NoSuchCertificate", e.message))?;
                    cas_deployed(c, &cas_id, ak)
                } else {
                    let cert = xml_tag(&cc, "Certificate").unwrap_or_default();
                    let key = xml_tag(&cc, "PrivateKey").unwrap_or_default();
                    let info = check_pair(&cert, &key)
                        .map_err(|e| (400, "InvalidCertificate", e.message))?;
                    DeployedCert {
                        cert_name: String::new(),
                        cert_id: format!("{}-{REGION}", inner.next_cert_id()),
                        cert_type: "upload".into(),
                        cert_region: REGION.into(),
                        cert,
                        key,
                        info,
                        updated_ms: now_ms(),
                        updated_by: ak.to_string(),
                    }
                };
                if !super::cert_covers(&deployed.info, &domain) {
                    return Err((
                        400,
                        "InvalidCertificate",
                        format!("the certificate does not cover {domain}"),
                    ));
                }
                inner.state.services.oss_cnames[idx].certificate = Some(deployed);
            }
            Ok((200, String::new()))
        }
        _ => Err((
            405,
            "MethodNotAllowed",
            "unsupported bucket operation".into(),
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Test helpers
// ---------------------------------------------------------------------------------------------

impl super::Emulator {
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

    /// Uploads a certificate to CAS directly (someone else's upload); returns its CertId.
    pub fn put_cas_certificate(&self, name: &str, cert_pem: &str, key_pem: &str) -> u64 {
        let info = super::parse_cert(cert_pem).expect("certificate parses");
        let mut inner = self.shared.lock();
        let id = inner.next_cert_id();
        inner.state.cas_certs.push(CasCert {
            cert_id: id,
            name: name.into(),
            cert: cert_pem.into(),
            key: key_pem.into(),
            info,
            created_by: "console".into(),
            created_ms: now_ms(),
        });
        id
    }
}
