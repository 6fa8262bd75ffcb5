//! API Gateway (cloudapi): the certificate of a custom domain bound to an API group.
//! Read: DescribeDomain. Write: SetDomainCertificate.
use async_trait::async_trait;

use super::{parse_deployed, NewCert, Target};
use crate::aliyun::{AliyunClient, Product};
use crate::cert::CertInfo;
use crate::error::Result;

pub struct Params {
    pub group_id: String,
    pub domain: String,
}

impl Params {
    pub fn parse(t: &toml::Table) -> std::result::Result<Params, String> {
        let v = super::params(t, &["group_id", "domain"], &[])?;
        Ok(Params {
            group_id: v[0].unwrap().to_string(),
            domain: v[1].unwrap().to_string(),
        })
    }
}

pub struct ApiGateway {
    params: Params,
    client: AliyunClient,
}

impl ApiGateway {
    pub fn new(params: Params, client: AliyunClient) -> ApiGateway {
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
                    ("GroupId", &self.params.group_id),
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
                    ("GroupId", &self.params.group_id),
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
