//! API Gateway (cloudapi): the certificate of a custom domain bound to an API group.
//! Read: DescribeDomain. Write: SetDomainCertificate.
use async_trait::async_trait;
use serde::Deserialize;

use super::kinds::Kind;
use super::{parse_deployed, NewCert, Target, TargetId, TargetKind};
use crate::aliyun::{AliyunClient, Product};
use crate::cert::CertInfo;
use crate::error::Result;
use crate::ident::{RegionId, ResourceId};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub group_id: ResourceId,
    #[serde(deserialize_with = "super::kinds::domain")]
    pub domain: String,
    /// The API group's region; default `[aliyun] region`.
    pub region: Option<RegionId>,
}

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &[
    "apigateway:DescribeDomain",
    "apigateway:SetDomainCertificate",
];

impl Kind for Params {
    const KIND: TargetKind = TargetKind::ApiGateway;

    fn ram(&self, _ctx: &super::kinds::RamContext<'_>) -> Vec<crate::aliyun::ram::Statement> {
        use crate::aliyun::ram::{pick, Statement};
        let out =
            vec![Statement::any(
            "DeployApiGateway",
            "target kind apigateway: read the API group's custom domain and set its certificate.",
            &pick(RAM, &["apigateway:DescribeDomain", "apigateway:SetDomainCertificate"]),
        )];
        out
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

capabilities!(ApiGateway: none);

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
        let info = parse_deployed(
            "apigateway",
            &self.id().resource,
            rsp["CertificateBody"].as_str(),
        );
        // `CertificateName`: what alicert (or whoever set it) named it (src/drift.rs).
        Ok(super::named(info, rsp["CertificateName"].as_str()))
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
