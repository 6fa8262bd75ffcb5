//! DCDN (Dynamic Route for CDN, dcdn 2018-01-15): the HTTPS certificate of an accelerated
//! domain. Read: DescribeDcdnDomainCertificateInfo (SSLPub, SSLProtocol). Write:
//! SetDcdnDomainSSLCertificate, CertType=cas with the hub's CAS copy (upload + PEM otherwise).
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

pub struct Dcdn {
    params: Params,
    client: AliyunClient,
}

impl Dcdn {
    pub fn new(params: Params, client: AliyunClient) -> Dcdn {
        Dcdn { params, client }
    }
}

#[async_trait]
impl Target for Dcdn {
    fn kind(&self) -> &'static str {
        "dcdn"
    }

    fn id(&self) -> String {
        self.params.domain.clone()
    }

    async fn current(&self) -> Result<Option<CertInfo>> {
        Ok(self.describe().await?.and_then(|i| {
            if i["SSLProtocol"].as_str() == Some("off") {
                return None;
            }
            parse_deployed("dcdn", &self.params.domain, i["SSLPub"].as_str())
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
                    Product::Dcdn,
                    "SetDcdnDomainSSLCertificate",
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
                Product::Dcdn,
                "SetDcdnDomainSSLCertificate",
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

impl Dcdn {
    /// This domain's entry of DescribeDcdnDomainCertificateInfo.
    async fn describe(&self) -> Result<Option<serde_json::Value>> {
        let rsp = self
            .client
            .rpc(
                Product::Dcdn,
                "DescribeDcdnDomainCertificateInfo",
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
