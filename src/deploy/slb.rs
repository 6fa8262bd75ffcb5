//! Classic Load Balancer (SLB/CLB, slb 2014-05-15): the server certificate of an HTTPS listener,
//! or of one of its domain extensions (SNI). The certificate comes from the hub's CAS copy:
//! UploadServerCertificate with AliCloudCertificateId makes an SLB server certificate of it,
//! then SetLoadBalancerHTTPSListenerAttribute / SetDomainExtensionAttribute switch to it.
//! Read: DescribeLoadBalancerHTTPSListenerAttribute / DescribeDomainExtensionAttribute →
//! DescribeServerCertificates → the CAS certificate it was made from. A server certificate that
//! did not come from CAS has no readable serial and counts as missing (so it gets replaced).
use async_trait::async_trait;
use serde_json::Value;

use super::hub::{self, CasCopy};
use super::{NewCert, Target};
use crate::aliyun::{AliyunClient, Product};
use crate::cert::CertInfo;
use crate::error::{Error, Result};
use crate::ident::{RegionId, ResourceId};
use crate::naming;

pub struct Params {
    pub load_balancer_id: ResourceId,
    pub listener_port: Option<String>,
    pub domain_extension_id: Option<ResourceId>,
    /// The load balancer's region (default: `[aliyun] region`).
    pub region: Option<RegionId>,
}

impl Params {
    pub fn parse(t: &toml::Table) -> std::result::Result<Params, String> {
        // listener_port may be written as a number; the generic reader wants strings.
        let mut t = t.clone();
        let port = match t.remove("listener_port") {
            None => None,
            Some(toml::Value::Integer(p)) if (1..=65535).contains(&p) => Some(p.to_string()),
            Some(toml::Value::String(s)) if s.parse::<u16>().is_ok_and(|p| p > 0) => Some(s),
            Some(_) => return Err("`listener_port` must be a port number (1-65535)".into()),
        };
        let v = super::params(
            &t,
            &["load_balancer_id"],
            &["domain_extension_id", "region"],
        )
        .map_err(|e| e.replace("(known: ", "(known: listener_port, "))?;
        let id = |key: &str, v: &str| {
            ResourceId::parse(v)
                .map_err(|e| format!("`{key}`: {e}; use the id the SLB console shows"))
        };
        let load_balancer_id = id("load_balancer_id", v[0].unwrap())?;
        let domain_extension_id = v[1].map(|d| id("domain_extension_id", d)).transpose()?;
        let region = super::region_param(v[2])?;
        if port.is_none() && domain_extension_id.is_none() {
            return Err(
                "set `listener_port` (the HTTPS listener) or `domain_extension_id` (one of its SNI domains)"
                    .into(),
            );
        }
        Ok(Params {
            load_balancer_id,
            listener_port: port,
            domain_extension_id,
            region,
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
    pub fn new(params: Params, cert_name: &str, client: AliyunClient) -> Slb {
        let slb = match &params.region {
            Some(r) => client.for_region(r),
            None => client.clone(),
        };
        Slb {
            params,
            cert_name: cert_name.to_string(),
            client,
            slb,
        }
    }

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
        Ok(rsp["ServerCertificateId"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string))
    }

    /// DescribeServerCertificates in the region (optionally one id).
    async fn server_certificates(&self, id: Option<&str>) -> Result<Vec<Value>> {
        let mut params = vec![("RegionId", self.region())];
        if let Some(id) = id {
            params.push(("ServerCertificateId", id));
        }
        let rsp = self
            .slb
            .rpc(Product::Slb, "DescribeServerCertificates", &params)
            .await?;
        Ok(rsp["ServerCertificates"]["ServerCertificate"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    /// alicert's server certificates for this certificate name.
    async fn ours(&self) -> Result<Vec<Value>> {
        Ok(self
            .server_certificates(None)
            .await?
            .into_iter()
            .filter(|c| {
                c["ServerCertificateName"]
                    .as_str()
                    .is_some_and(|n| naming::is_upload_of(&self.cert_name, n))
            })
            .collect())
    }
}

fn cas_id_of(server_cert: &Value) -> Option<String> {
    let from_cas = matches!(&server_cert["IsAliCloudCertificate"], Value::Number(n) if n.as_i64() == Some(1))
        || server_cert["IsAliCloudCertificate"].as_str() == Some("1");
    if !from_cas {
        return None;
    }
    hub::id_string(&server_cert["AliCloudCertificateId"])
}

#[async_trait]
impl Target for Slb {
    fn kind(&self) -> &'static str {
        "slb"
    }

    fn id(&self) -> String {
        match (&self.params.domain_extension_id, &self.params.listener_port) {
            (Some(ext), _) => format!("{}/{ext}", self.params.load_balancer_id),
            (None, Some(port)) => format!("{}:{port}", self.params.load_balancer_id),
            (None, None) => self.params.load_balancer_id.to_string(),
        }
    }

    async fn current(&self) -> Result<Option<CertInfo>> {
        let Some(sc_id) = self.server_certificate_id().await? else {
            return Ok(None);
        };
        let certs = self.server_certificates(Some(&sc_id)).await?;
        let Some(cas_id) = certs.first().and_then(cas_id_of) else {
            tracing::info!(id = %self.id(), server_certificate = %sc_id, "SLB certificate is not from CAS; its serial cannot be read, treating as missing");
            return Ok(None);
        };
        hub::read_cas_cert(&self.client, &cas_id).await
    }

    fn uses_cas(&self) -> bool {
        true
    }

    async fn cas_references(&self) -> Result<Vec<String>> {
        // Every alicert server certificate still present holds on to its CAS certificate.
        Ok(self.ours().await?.iter().filter_map(cas_id_of).collect())
    }

    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()> {
        let cas = cert.cas.ok_or_else(|| {
            Error::Deploy("slb: the certificate must be in CAS first (hub inactive)".into())
        })?;
        let region = self.region();
        // A server certificate made from this CAS copy by an earlier (interrupted) run is reused.
        let existing = self
            .ours()
            .await?
            .into_iter()
            .find(|c| cas_id_of(c).as_deref() == Some(cas.id.as_str()))
            .and_then(|c| c["ServerCertificateId"].as_str().map(str::to_string));
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
                rsp["ServerCertificateId"]
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| {
                        Error::Deploy(
                            "UploadServerCertificate returned no ServerCertificateId".into(),
                        )
                    })?
            }
        };
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

    async fn retire(&self, current: &CasCopy) -> Result<()> {
        for old in self.ours().await? {
            if cas_id_of(&old).as_deref() == Some(current.id.as_str()) {
                continue;
            }
            let Some(id) = old["ServerCertificateId"].as_str() else {
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
