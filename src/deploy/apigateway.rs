//! API Gateway (cloudapi): the certificate of a custom domain bound to an API group.
//! Read: DescribeDomain. Write: SetDomainCertificate.
use async_trait::async_trait;
use serde::Deserialize;

use super::kinds::{from_table, Kind, Text};
use super::{
    parse_deployed, Capabilities, CasConsumer, KeySource, NewCert, Target, TargetId, TargetKind,
};
use crate::aliyun::{AliyunClient, Product};
use crate::cert::CertInfo;
use crate::error::Result;
use crate::ident::{RegionId, ResourceId};

pub struct Params {
    pub group_id: ResourceId,
    pub domain: String,
    /// The API group's region; default `[aliyun] region`.
    pub region: Option<RegionId>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    group_id: Text,
    domain: Text,
    region: Option<Text>,
}

impl Kind for Params {
    const KIND: TargetKind = TargetKind::ApiGateway;

    fn parse(t: &toml::Table) -> std::result::Result<Params, String> {
        let raw: Raw = from_table(t)?;
        let domain = raw.domain.0.to_ascii_lowercase();
        crate::domain::validate(&domain).map_err(|e| format!("`domain`: {e}"))?;
        Ok(Params {
            group_id: ResourceId::parse(raw.group_id.as_str())
                .map_err(|e| format!("`group_id`: {e}"))?,
            domain,
            region: super::kinds::region(raw.region)?,
        })
    }

    fn build(self, _cert_name: &str, client: &AliyunClient) -> Box<dyn Target> {
        Box::new(ApiGateway {
            client: super::regional(client, self.region.as_ref()),
            params: self,
        })
    }
}

pub struct ApiGateway {
    params: Params,
    client: AliyunClient,
}

impl Capabilities for ApiGateway {
    fn cas(&self) -> Option<&dyn CasConsumer> {
        None
    }

    fn keys(&self) -> Option<&dyn KeySource> {
        None
    }
}

#[async_trait]
impl Target for ApiGateway {
    fn id(&self) -> TargetId {
        TargetId::new(
            TargetKind::ApiGateway,
            format!("{}/{}", self.params.group_id, self.params.domain),
        )
    }

    async fn current(&self) -> Result<Option<CertInfo>> {
        let rsp = self
            .client
            .rpc(
                Product::ApiGateway,
                "DescribeDomain",
                &[
                    ("GroupId", self.params.group_id.as_str()),
                    ("DomainName", &self.params.domain),
                ],
            )
            .await?;
        Ok(parse_deployed(
            "apigateway",
            &self.id().resource,
            rsp["CertificateBody"].as_str(),
        ))
    }

    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()> {
        let name = cert.upload_name();
        self.client
            .rpc_with_form(
                Product::ApiGateway,
                "SetDomainCertificate",
                &[
                    ("GroupId", self.params.group_id.as_str()),
                    ("DomainName", &self.params.domain),
                    ("CertificateName", &name),
                ],
                &[
                    ("CertificateBody", cert.fullchain),
                    ("CertificatePrivateKey", cert.private_key.expose()),
                ],
            )
            .await?;
        Ok(())
    }
}
