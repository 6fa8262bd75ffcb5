//! Function Compute 3 custom domain (fc 2023-03-30, ROA, V3-signed): its HTTPS certificate.
//! Read: GetCustomDomain (`GET /2023-03-30/custom-domains/{domain}`, certConfig.certificate).
//! Write: UpdateCustomDomain (`PUT` same path) with certConfig {certName, certificate,
//! privateKey}, turning HTTPS on (protocol `HTTP,HTTPS`) when the domain served HTTP only.
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};

use super::kinds::Kind;
use super::{parse_deployed, NewCert, Target, TargetId, TargetKind};
use crate::aliyun::signer::percent_encode;
use crate::aliyun::{AliyunClient, Product};
use crate::cert::CertInfo;
use crate::error::Result;
use crate::ident::RegionId;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(deserialize_with = "super::kinds::domain")]
    pub domain: String,
    /// The region of the FC custom domain (custom domains are regional); default
    /// `[aliyun] region`.
    pub region: Option<RegionId>,
}

impl Kind for Params {
    const KIND: TargetKind = TargetKind::Fc;

    fn build(self, _cert_name: &str, client: &AliyunClient) -> Box<dyn Target> {
        Box::new(Fc {
            client: super::regional(client, self.region.as_ref()),
            params: self,
        })
    }
}

pub struct Fc {
    params: Params,
    client: AliyunClient,
}

capabilities!(Fc: none);

impl Fc {
    fn path(&self) -> String {
        format!(
            "/2023-03-30/custom-domains/{}",
            percent_encode(&self.params.domain)
        )
    }

    async fn get(&self) -> Result<Value> {
        self.client
            .roa(Product::Fc, "GetCustomDomain", "GET", &self.path(), None)
            .await
    }
}

#[async_trait]
impl Target for Fc {
    fn id(&self) -> TargetId {
        TargetId::new(TargetKind::Fc, &self.params.domain)
    }

    async fn current(&self) -> Result<Option<CertInfo>> {
        let rsp = self.get().await?;
        Ok(parse_deployed(
            "fc",
            &self.params.domain,
            rsp["certConfig"]["certificate"].as_str(),
        ))
    }

    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()> {
        let protocol = self.get().await?["protocol"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let protocol = if protocol.contains("HTTPS") {
            protocol
        } else {
            "HTTP,HTTPS".to_string()
        };
        let body = json!({
            "protocol": protocol,
            "certConfig": {
                "certName": cert.upload_name(),
                "certificate": cert.fullchain,
                "privateKey": cert.private_key.expose(),
            },
        });
        self.client
            .roa(
                Product::Fc,
                "UpdateCustomDomain",
                "PUT",
                &self.path(),
                Some(&body),
            )
            .await?;
        Ok(())
    }
}
