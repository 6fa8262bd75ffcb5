//! Function Compute 3 custom domain (fc 2023-03-30, ROA, V3-signed): its HTTPS certificate.
//! Read: GetCustomDomain (`GET /2023-03-30/custom-domains/{domain}`, certConfig.certificate).
//! Write: UpdateCustomDomain (`PUT` same path) with certConfig {certName, certificate,
//! privateKey}, turning HTTPS on (protocol `HTTP,HTTPS`) when the domain served HTTP only.
use async_trait::async_trait;
use serde_json::{json, Value};

use super::{parse_deployed, NewCert, Target};
use crate::aliyun::signer::percent_encode;
use crate::aliyun::{AliyunClient, Product};
use crate::cert::CertInfo;
use crate::error::Result;
use crate::ident::RegionId;

pub struct Params {
    pub domain: String,
    /// The region of the FC custom domain (custom domains are regional); default
    /// `[aliyun] region`.
    pub region: Option<RegionId>,
}

impl Params {
    pub fn parse(t: &toml::Table) -> std::result::Result<Params, String> {
        let v = super::params(t, &["domain"], &["region"])?;
        let domain = v[0].unwrap().to_ascii_lowercase();
        crate::domain::validate(&domain).map_err(|e| format!("`domain`: {e}"))?;
        Ok(Params {
            domain,
            region: super::region_param(v[1])?,
        })
    }
}

pub struct Fc {
    params: Params,
    client: AliyunClient,
}

impl Fc {
    pub fn new(params: Params, client: AliyunClient) -> Fc {
        let client = match &params.region {
            Some(r) => client.for_region(r),
            None => client,
        };
        Fc { params, client }
    }

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
    fn kind(&self) -> &'static str {
        "fc"
    }

    fn id(&self) -> String {
        self.params.domain.clone()
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
