//! Classic Load Balancer (SLB/CLB, slb 2014-05-15): the server certificate of an HTTPS listener,
//! or of one of its domain extensions (SNI). The certificate comes from the hub's CAS copy:
//! UploadServerCertificate with AliCloudCertificateId makes an SLB server certificate of it,
//! then SetLoadBalancerHTTPSListenerAttribute / SetDomainExtensionAttribute switch to it.
//! Read: DescribeLoadBalancerHTTPSListenerAttribute / DescribeDomainExtensionAttribute →
//! DescribeServerCertificates → the CAS certificate it was made from. A server certificate that
//! did not come from CAS has no readable serial and counts as missing (so it gets replaced).
use async_trait::async_trait;
use serde::{Deserialize, Deserializer};

use super::kinds::{parsed, Kind};
use super::{cas, CasConsumer, CasCopy, NewCert, Target, TargetId, TargetKind};
use crate::aliyun::{AliyunClient, Product};
use crate::cert::CertInfo;
use crate::error::{Error, Result};
use crate::ident::{RegionId, ResourceId};
use crate::naming;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(deserialize_with = "slb_id")]
    pub load_balancer_id: ResourceId,
    /// Written as a number or a string.
    #[serde(default, deserialize_with = "port")]
    pub listener_port: Option<String>,
    #[serde(default, deserialize_with = "optional_slb_id")]
    pub domain_extension_id: Option<ResourceId>,
    /// The load balancer's region (default: `[aliyun] region`).
    pub region: Option<RegionId>,
}

fn slb_id<'de, D: Deserializer<'de>>(d: D) -> Result<ResourceId, D::Error> {
    parsed(d, ResourceId::parse, "; use the id the SLB console shows")
}

fn optional_slb_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ResourceId>, D::Error> {
    slb_id(d).map(Some)
}

fn port<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match toml::Value::deserialize(d) {
        Ok(toml::Value::Integer(p)) if (1..=65535).contains(&p) => Ok(Some(p.to_string())),
        Ok(toml::Value::String(s)) if s.parse::<u16>().is_ok_and(|p| p > 0) => Ok(Some(s)),
        _ => Err(serde::de::Error::custom("must be a port number (1-65535)")),
    }
}

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &[
    "slb:DescribeLoadBalancerHTTPSListenerAttribute",
    "slb:DescribeDomainExtensionAttribute",
    "slb:DescribeServerCertificates",
    "slb:UploadServerCertificate",
    "slb:SetLoadBalancerHTTPSListenerAttribute",
    "slb:SetDomainExtensionAttribute",
    "slb:DeleteServerCertificate",
];

impl Kind for Params {
    const KIND: TargetKind = TargetKind::Slb;

    fn ram(&self, _ctx: &super::kinds::RamContext<'_>) -> Vec<crate::aliyun::ram::Statement> {
        use crate::aliyun::ram::{pick, Statement};
        let mut out = vec![Statement::any(
            "DeploySlb",
            "target kind slb: upload the server certificate, set it on the HTTPS listener or SNI domain, and delete the superseded server certificates alicert uploaded (never one in use).",
            &pick(RAM, &["slb:DescribeLoadBalancerHTTPSListenerAttribute", "slb:DescribeDomainExtensionAttribute", "slb:DescribeServerCertificates", "slb:UploadServerCertificate", "slb:SetLoadBalancerHTTPSListenerAttribute", "slb:SetDomainExtensionAttribute", "slb:DeleteServerCertificate"]),
        )];
        out.extend(super::cas::hub_statements());
        out
    }

    fn check(&self) -> Result<(), String> {
        if self.listener_port.is_none() && self.domain_extension_id.is_none() {
            return Err(
                "set `listener_port` (the HTTPS listener) or `domain_extension_id` (one of its SNI domains)"
                    .into(),
            );
        }
        Ok(())
    }

    fn build(self, cert_name: &str, client: &AliyunClient) -> Box<dyn Target> {
        Box::new(Slb {
            slb: super::regional(client, self.region.as_ref()),
            params: self,
            cert_name: cert_name.to_string(),
            client: client.clone(),
        })
    }
}

pub struct Slb {
    params: Params,
    cert_name: String,
    /// For CAS (the hub's region).
    client: AliyunClient,
    /// For SLB, in the load balancer's region (its endpoint follows the region).
    slb: AliyunClient,
}

impl Slb {
    fn region(&self) -> &str {
        self.slb.region()
    }

    /// The ServerCertificateId the listener (or domain extension) uses now.
    async fn server_certificate_id(&self) -> Result<Option<String>> {
        let region = self.region();
        let rsp = match &self.params.domain_extension_id {
            Some(ext) => {
                self.slb
                    .rpc(
                        Product::Slb,
                        "DescribeDomainExtensionAttribute",
                        &[("RegionId", region), ("DomainExtensionId", ext.as_str())],
                    )
                    .await?
            }
            None => {
                self.slb
                    .rpc(
                        Product::Slb,
                        "DescribeLoadBalancerHTTPSListenerAttribute",
                        &[
                            ("RegionId", region),
                            ("LoadBalancerId", self.params.load_balancer_id.as_str()),
                            (
                                "ListenerPort",
                                self.params.listener_port.as_deref().unwrap_or(""),
                            ),
                        ],
                    )
                    .await?
            }
        };
        let bound: Bound = super::answer("SLB Describe*Attribute", rsp)?;
        Ok(bound.server_certificate_id.filter(|s| !s.is_empty()))
    }

    /// DescribeServerCertificates in the region (optionally one id).
    async fn server_certificates(&self, id: Option<&str>) -> Result<Vec<ServerCertificate>> {
        let mut params = vec![("RegionId", self.region())];
        if let Some(id) = id {
            params.push(("ServerCertificateId", id));
        }
        let rsp = self
            .slb
            .rpc(Product::Slb, "DescribeServerCertificates", &params)
            .await?;
        let list: ServerCertificates = super::answer("DescribeServerCertificates", rsp)?;
        Ok(list.server_certificates.server_certificate)
    }

    /// alicert's server certificates for this certificate name.
    async fn ours(&self) -> Result<Vec<ServerCertificate>> {
        Ok(self
            .server_certificates(None)
            .await?
            .into_iter()
            .filter(|c| {
                c.server_certificate_name
                    .as_deref()
                    .is_some_and(|n| naming::is_upload_of(&self.cert_name, n))
            })
            .collect())
    }
}

/// What alicert reads of the SLB answers (alibabacloud-slb20140515 3.3.31 models/
/// _describe_server_certificates_response_body.py:
/// DescribeServerCertificatesResponseBody `ServerCertificates.ServerCertificate[]`,
/// UploadServerCertificateResponseBody and the Describe*Attribute bodies' `ServerCertificateId`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct ServerCertificate {
    server_certificate_id: Option<String>,
    server_certificate_name: Option<String>,
    /// 1 when made from a CAS certificate (an integer in the models; a string tolerated).
    #[serde(deserialize_with = "cas::de_id")]
    is_ali_cloud_certificate: Option<String>,
    #[serde(deserialize_with = "cas::de_id")]
    ali_cloud_certificate_id: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct ServerCertificates {
    server_certificates: ServerCertificateList,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct ServerCertificateList {
    server_certificate: Vec<ServerCertificate>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Bound {
    server_certificate_id: Option<String>,
}

fn cas_id_of(server_cert: &ServerCertificate) -> Option<String> {
    match server_cert.is_ali_cloud_certificate.as_deref() {
        Some("1") => server_cert.ali_cloud_certificate_id.clone(),
        _ => None,
    }
}

#[async_trait]
impl Target for Slb {
    fn id(&self) -> TargetId {
        let lb = &self.params.load_balancer_id;
        let resource = match (&self.params.domain_extension_id, &self.params.listener_port) {
            (Some(ext), _) => format!("{lb}/{ext}"),
            (None, Some(port)) => format!("{lb}:{port}"),
            (None, None) => lb.to_string(),
        };
        TargetId::new(TargetKind::Slb, resource)
    }

    async fn current(&self) -> Result<Option<CertInfo>> {
        let Some(sc_id) = self.server_certificate_id().await? else {
            return Ok(None);
        };
        let certs = self.server_certificates(Some(&sc_id)).await?;
        let Some(cas_id) = certs.first().and_then(cas_id_of) else {
            tracing::info!(id = %self.id().resource, server_certificate = %sc_id, "SLB certificate is not from CAS; its serial cannot be read, treating as missing");
            return Ok(None);
        };
        cas::read_cert(&self.client, &cas_id).await
    }

    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()> {
        let cas = cert.cas.ok_or_else(|| {
            Error::Deploy("slb: the certificate must be in CAS first (hub inactive)".into())
        })?;
        let region = self.region();
        // The targets of a certificate deploy side by side: two SLB targets in one region find
        // or make the server certificate one after the other, so they share one.
        let making = making_lock(&format!("{region}/{}", cas.id));
        let making = making.lock().await;
        // A server certificate made from this CAS copy by an earlier (interrupted) run, or by
        // another target of this run, is reused.
        let existing = self
            .ours()
            .await?
            .into_iter()
            .find(|c| cas_id_of(c).as_deref() == Some(cas.id.as_str()))
            .and_then(|c| c.server_certificate_id);
        let sc_id = match existing {
            Some(id) => id,
            None => {
                let rsp = self
                    .slb
                    .rpc(
                        Product::Slb,
                        "UploadServerCertificate",
                        &[
                            ("RegionId", region),
                            ("AliCloudCertificateId", &cas.id),
                            ("AliCloudCertificateName", &cas.name),
                            ("AliCloudCertificateRegionId", &cas.region),
                            ("ServerCertificateName", &cert.upload_name()),
                        ],
                    )
                    .await?;
                super::answer::<Bound>("UploadServerCertificate", rsp)?
                    .server_certificate_id
                    .ok_or_else(|| {
                        Error::Deploy(
                            "UploadServerCertificate returned no ServerCertificateId".into(),
                        )
                    })?
            }
        };
        drop(making);
        match &self.params.domain_extension_id {
            Some(ext) => {
                self.slb
                    .rpc(
                        Product::Slb,
                        "SetDomainExtensionAttribute",
                        &[
                            ("RegionId", region),
                            ("DomainExtensionId", ext.as_str()),
                            ("ServerCertificateId", &sc_id),
                        ],
                    )
                    .await?;
            }
            None => {
                self.slb
                    .rpc(
                        Product::Slb,
                        "SetLoadBalancerHTTPSListenerAttribute",
                        &[
                            ("RegionId", region),
                            ("LoadBalancerId", self.params.load_balancer_id.as_str()),
                            (
                                "ListenerPort",
                                self.params.listener_port.as_deref().unwrap_or(""),
                            ),
                            ("ServerCertificateId", &sc_id),
                        ],
                    )
                    .await?;
            }
        }
        Ok(())
    }
}

capabilities!(Slb: cas);

#[async_trait]
impl CasConsumer for Slb {
    async fn cas_references(&self) -> Result<Vec<String>> {
        // Every alicert server certificate still present holds on to its CAS certificate.
        Ok(self.ours().await?.iter().filter_map(cas_id_of).collect())
    }

    async fn retire(&self, current: &CasCopy) -> Result<()> {
        for old in self.ours().await? {
            if cas_id_of(&old).as_deref() == Some(current.id.as_str()) {
                continue;
            }
            let Some(id) = old.server_certificate_id.as_deref() else {
                continue;
            };
            // Still used by another listener: SLB refuses, and that is fine.
            match self
                .slb
                .rpc(
                    Product::Slb,
                    "DeleteServerCertificate",
                    &[("RegionId", self.region()), ("ServerCertificateId", id)],
                )
                .await
            {
                Ok(_) => tracing::info!(
                    server_certificate = id,
                    "deleted superseded SLB server certificate"
                ),
                Err(e) => {
                    tracing::info!(server_certificate = id, error = %e, "kept SLB server certificate")
                }
            }
        }
        Ok(())
    }
}

/// One lock per (region, CAS copy): a find-or-create of a server certificate at a time.
fn making_lock(key: &str) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    static LOCKS: std::sync::LazyLock<
        std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>,
    > = std::sync::LazyLock::new(Default::default);
    let mut locks = LOCKS.lock().unwrap_or_else(|e| e.into_inner());
    locks.entry(key.to_string()).or_default().clone()
}
