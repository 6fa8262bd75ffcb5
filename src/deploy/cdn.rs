//! Alibaba Cloud CDN: the HTTPS certificate of an accelerated domain.
//! Read: DescribeDomainCertificateInfo. Write: SetCdnDomainSSLCertificate, CertType=cas with the
//! hub's CAS copy (CertType=upload with the PEM when there is none).
use async_trait::async_trait;

use super::{parse_deployed, NewCert, Target};
use crate::aliyun::{AliyunClient, Product};
use crate::cert::CertInfo;
use crate::error::Result;

pub struct Params {
    pub domain: String,
}

impl Params {
    pub fn parse(t: &toml::Table) -> std::result::Result<Params, String> {
        let v = super::params(t, &["domain"], &[])?;
        Ok(Params {
            domain: v[0].unwrap().to_string(),
        })
    }
}

pub struct Cdn {
    params: Params,
    client: AliyunClient,
}

impl Cdn {
    pub fn new(params: Params, client: AliyunClient) -> Cdn {
        Cdn { params, client }
    }
}

#[async_trait]
impl Target for Cdn {
    fn kind(&self) -> &'static str {
        "cdn"
    }

    fn id(&self) -> String {
        self.params.domain.clone()
    }

    async fn current(&self) -> Result<Option<CertInfo>> {
        Ok(self.describe().await?.and_then(|i| {
            if i["ServerCertificateStatus"].as_str() == Some("off") {
                return None;
            }
            parse_deployed("cdn", &self.params.domain, i["ServerCertificate"].as_str())
        }))
    }

    fn uses_cas(&self) -> bool {
        true
    }

    async fn cas_references(&self) -> Result<Vec<String>> {
        Ok(self
            .describe()
            .await?
            .filter(|i| i["CertType"].as_str() == Some("cas"))
            .and_then(|i| super::hub::id_string(&i["CertId"]))
            .into_iter()
            .collect())
    }

    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()> {
        let name = cert.upload_name();
        if let Some(cas) = cert.cas {
            self.client
                .rpc(
                    Product::Cdn,
                    "SetCdnDomainSSLCertificate",
                    &[
                        ("DomainName", &self.params.domain),
                        ("SSLProtocol", "on"),
                        ("CertType", "cas"),
                        ("CertId", &cas.id),
                        ("CertRegion", &cas.region),
                        ("CertName", &cas.name),
                    ],
                )
                .await?;
            return Ok(());
        }
        self.client
            .rpc_with_form(
                Product::Cdn,
                "SetCdnDomainSSLCertificate",
                &[
                    ("DomainName", &self.params.domain),
                    ("SSLProtocol", "on"),
                    ("CertType", "upload"),
                    ("CertName", &name),
                ],
                &[
                    ("SSLPub", cert.fullchain),
                    ("SSLPri", cert.private_key.expose()),
                ],
            )
            .await?;
        Ok(())
    }
}

impl Cdn {
    /// This domain's entry of DescribeDomainCertificateInfo.
    async fn describe(&self) -> Result<Option<serde_json::Value>> {
        let rsp = self
            .client
            .rpc(
                Product::Cdn,
                "DescribeDomainCertificateInfo",
                &[("DomainName", &self.params.domain)],
            )
            .await?;
        let infos = rsp["CertInfos"]["CertInfo"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        Ok(infos
            .iter()
            .find(|i| i["DomainName"].as_str() == Some(&self.params.domain))
            .or(infos.first())
            .cloned())
    }
}
