//! API Gateway (cloudapi): the certificate of a custom domain bound to an API group.
//! Read: DescribeDomain. Write: SetDomainCertificate.
use async_trait::async_trait;

use super::{parse_deployed, NewCert, Target};
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

impl Params {
    pub fn parse(t: &toml::Table) -> std::result::Result<Params, String> {
        let v = super::params(t, &["group_id", "domain"], &["region"])?;
        let domain = v[1].unwrap().to_ascii_lowercase();
        crate::domain::validate(&domain).map_err(|e| format!("`domain`: {e}"))?;
        Ok(Params {
            group_id: ResourceId::parse(v[0].unwrap()).map_err(|e| format!("`group_id`: {e}"))?,
            domain,
            region: super::region_param(v[2])?,
        })
    }
}

pub struct ApiGateway {
    params: Params,
    client: AliyunClient,
}

impl ApiGateway {
    pub fn new(params: Params, client: AliyunClient) -> ApiGateway {
        let client = match &params.region {
            Some(r) => client.for_region(r),
            None => client,
        };
        ApiGateway { params, client }
    }
}

#[async_trait]
impl Target for ApiGateway {
    fn kind(&self) -> &'static str {
        "apigateway"
    }

    fn id(&self) -> String {
        format!("{}/{}", self.params.group_id, self.params.domain)
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
            &self.id(),
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
