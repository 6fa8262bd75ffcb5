//! Alibaba Cloud CDN: the HTTPS certificate of an accelerated domain.
//! Read: DescribeDomainCertificateInfo. Write: SetCdnDomainSSLCertificate, CertType=cas with the
//! hub's CAS copy (CertType=upload with the PEM when there is none).
//!
//! DCDN's API is the same shape under other names; [`Api`] holds the names, so `dcdn.rs` is
//! only its own constants and this file the one implementation.
use async_trait::async_trait;
use serde::{Deserialize, Deserializer};

use super::kinds::{parsed, Kind};
use super::{parse_deployed, CasConsumer, CasCopy, NewCert, Target, TargetId, TargetKind};
use crate::aliyun::{AliyunClient, Product};
use crate::cert::CertInfo;
use crate::error::Result;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(deserialize_with = "accelerated_domain")]
    pub domain: String,
}

/// It goes into signed requests as DomainName: a DNS name (wildcard allowed, CDN accelerates
/// `*.example.com`), exactly as the console lists it (not lower-cased).
fn accelerated_domain<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    let hint = "; set it to the accelerated domain exactly as the console lists it";
    parsed(
        d,
        |s| crate::domain::validate(s).map(|()| s.to_string()),
        hint,
    )
}

impl Kind for Params {
    const KIND: TargetKind = TargetKind::Cdn;

    fn build(self, _cert_name: &str, client: &AliyunClient) -> Box<dyn Target> {
        Box::new(Cdn::with_api(&API, self, client.clone()))
    }
}

/// The names one CDN-like product uses for the same two calls.
pub struct Api {
    pub kind: TargetKind,
    pub product: Product,
    pub describe: &'static str,
    pub set: &'static str,
    /// Field of the describe answer that is `off` when HTTPS is off.
    pub https_status_field: &'static str,
    /// Field of the describe answer holding the certificate PEM.
    pub certificate_field: &'static str,
}

pub const API: Api = Api {
    kind: TargetKind::Cdn,
    product: Product::Cdn,
    describe: "DescribeDomainCertificateInfo",
    set: "SetCdnDomainSSLCertificate",
    https_status_field: "ServerCertificateStatus",
    certificate_field: "ServerCertificate",
};

/// An accelerated domain of CDN or DCDN.
pub struct Cdn {
    api: &'static Api,
    params: Params,
    client: AliyunClient,
}

impl Cdn {
    pub fn with_api(api: &'static Api, params: Params, client: AliyunClient) -> Cdn {
        Cdn {
            api,
            params,
            client,
        }
    }
}

#[async_trait]
impl Target for Cdn {
    fn id(&self) -> TargetId {
        TargetId::new(self.api.kind, &self.params.domain)
    }

    async fn current(&self) -> Result<Option<CertInfo>> {
        Ok(self.describe().await?.and_then(|i| {
            if i[self.api.https_status_field].as_str() == Some("off") {
                return None;
            }
            parse_deployed(
                self.api.kind.as_str(),
                &self.params.domain,
                i[self.api.certificate_field].as_str(),
            )
        }))
    }

    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()> {
        let name = cert.upload_name();
        if let Some(cas) = cert.cas {
            self.client
                .rpc(
                    self.api.product,
                    self.api.set,
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
                self.api.product,
                self.api.set,
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

capabilities!(Cdn: cas);

#[async_trait]
impl CasConsumer for Cdn {
    async fn cas_references(&self) -> Result<Vec<String>> {
        Ok(self
            .describe()
            .await?
            .filter(|i| i["CertType"].as_str() == Some("cas"))
            .and_then(|i| super::cas::id_of(&i["CertId"]))
            .into_iter()
            .collect())
    }

    /// CDN keeps no copies of its own.
    async fn retire(&self, _current: &CasCopy) -> Result<()> {
        Ok(())
    }
}

impl Cdn {
    /// This domain's entry of the describe call.
    async fn describe(&self) -> Result<Option<serde_json::Value>> {
        let rsp = self
            .client
            .rpc(
                self.api.product,
                self.api.describe,
                &[("DomainName", &self.params.domain)],
            )
            .await?;
        let infos = rsp["CertInfos"]["CertInfo"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        // Only this domain's own entry: never another domain's certificate.
        Ok(infos
            .iter()
            .find(|i| {
                i["DomainName"]
                    .as_str()
                    .is_some_and(|d| d.eq_ignore_ascii_case(&self.params.domain))
            })
            .cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_domain_must_be_a_dns_name() {
        let parse = |d: &str| {
            let mut t = toml::Table::new();
            t.insert("domain".into(), toml::Value::String(d.into()));
            Params::parse(&t)
        };
        assert!(parse("www.example.com").is_ok());
        assert!(parse("*.example.com").is_ok());
        for bad in [
            "attacker.example/#",
            "www.example.com&CertType=upload",
            "WWW.example.com",
            "localhost",
            "1.2.3.4",
        ] {
            let e = parse(bad).err().unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(e.contains("`domain`"), "{e}");
        }
    }
}
