//! Function Compute 3 custom domain (fc 2023-03-30, ROA, V3-signed): its HTTPS certificate.
//! Read: GetCustomDomain (`GET /2023-03-30/custom-domains/{domain}`, certConfig.certificate).
//! Write: UpdateCustomDomain (`PUT` same path) with certConfig {certName, certificate,
//! privateKey}, turning HTTPS on (protocol `HTTP,HTTPS`) when the domain served HTTP only.
//! List (for `domains = "covered"`): ListCustomDomains (`GET /2023-03-30/custom-domains`,
//! `limit`/`nextToken`), shared with `fc2.rs`.
use async_trait::async_trait;
use futures_util::future::BoxFuture;
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

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &[
    "fc:GetCustomDomain",
    "fc:UpdateCustomDomain",
    "fc:ListCustomDomains",
];

impl Kind for Params {
    const KIND: TargetKind = TargetKind::Fc;

    fn ram(
        &self,
        ctx: &crate::deploy::kinds::RamContext<'_>,
    ) -> Vec<crate::aliyun::ram::Statement> {
        use crate::aliyun::ram::{pick, Statement};
        // FC 3.0 GetCustomDomain / UpdateCustomDomain: "All Resources" (no resource-level
        // permission; https://www.alibabacloud.com/help/en/functioncompute/api-fc-2023-03-30-updatecustomdomain).
        let mut out = vec![Statement::any(
            "DeployFc",
            "target kind fc: read the FC 3.0 custom domain and set its certificate (FC has no resource-level permission for custom domains).",
            &pick(RAM, &["fc:GetCustomDomain", "fc:UpdateCustomDomain"]),
        )];
        if ctx.covered.is_some() {
            out.push(Statement::any(
                "DeployFcList",
                "domains = \"covered\": list the product's domains to match them against the certificate.",
                &pick(RAM, &["fc:ListCustomDomains"]),
            ));
        }
        out
    }

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

/// Every FC 3 custom domain in the table's region, for `domains = "covered"`.
pub(crate) fn list_domains<'a>(
    table: &'a toml::Table,
    client: &'a AliyunClient,
) -> BoxFuture<'a, Result<Vec<String>>> {
    Box::pin(async move {
        let client = super::regional(client, region_of(table)?.as_ref());
        list_custom_domains(&client, Product::Fc, "/2023-03-30/custom-domains").await
    })
}

/// The optional `region` of a target table (the other keys are the kind's to check).
pub(crate) fn region_of(table: &toml::Table) -> Result<Option<RegionId>> {
    #[derive(Deserialize)]
    struct Where {
        region: Option<RegionId>,
    }
    super::kinds::from_table::<Where>(table)
        .map(|w| w.region)
        .map_err(crate::error::Error::Config)
}

/// ListCustomDomains' page: `limit` "Valid values: [0,100]" (alibabacloud-fc-open20210406
/// 2.0.12 models.py ListCustomDomainsRequest; FC 3's model, alibabacloud-fc20230330 4.8.3,
/// states no range); the answer is customDomains[].domainName and nextToken
/// (ListCustomDomainOutput / ListCustomDomainsResponseBody).
const LIST_LIMIT: &str = "100";
const MAX_PAGES: usize = 10_000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Listed {
    #[serde(default)]
    custom_domains: Vec<Named>,
    #[serde(default)]
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Named {
    domain_name: String,
}

/// Every custom domain ListCustomDomains gives at `path` (FC 3 or FC 2.0), all pages.
pub(crate) async fn list_custom_domains(
    client: &AliyunClient,
    product: Product,
    path: &str,
) -> Result<Vec<String>> {
    let mut domains = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut query = vec![("limit", LIST_LIMIT)];
        if let Some(t) = &token {
            query.push(("nextToken", t.as_str()));
        }
        let request = crate::aliyun::client::RoaRequest {
            action: "ListCustomDomains",
            method: "GET",
            path,
            query: &query,
            headers: &[],
            body: None,
        };
        let rsp = client.roa_request(product, &request).await?;
        let value: Value = serde_json::from_slice(&rsp.body).map_err(|e| {
            crate::error::Error::Deploy(format!("ListCustomDomains answered no JSON: {e}"))
        })?;
        let page: Listed = super::answer("ListCustomDomains", value)?;
        let empty = page.custom_domains.is_empty();
        domains.extend(page.custom_domains.into_iter().map(|d| d.domain_name));
        token = page.next_token.filter(|t| !t.is_empty());
        if token.is_none() || empty {
            break;
        }
    }
    Ok(domains)
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

/// UpdateCustomDomain's body, FC 3 and FC 2.0 alike: the certificate, and HTTPS turned on
/// (`HTTP,HTTPS`) when the domain served HTTP only (`protocol` as GetCustomDomain reported it).
pub(super) fn update_body(protocol: &str, cert: &NewCert<'_>) -> serde_json::Value {
    let protocol = if protocol.contains("HTTPS") {
        protocol
    } else {
        "HTTP,HTTPS"
    };
    json!({
        "protocol": protocol,
        "certConfig": {
            "certName": cert.upload_name(),
            "certificate": cert.fullchain,
            "privateKey": cert.private_key.expose(),
        },
    })
}

#[async_trait]
impl Target for Fc {
    fn id(&self) -> TargetId {
        TargetId::new(TargetKind::Fc, &self.params.domain)
    }

    async fn current(&self) -> Result<Option<CertInfo>> {
        let rsp = self.get().await?;
        let info = parse_deployed(
            "fc",
            &self.params.domain,
            rsp["certConfig"]["certificate"].as_str(),
        );
        // `certName`: what alicert (or whoever set it) named it (src/drift.rs).
        Ok(super::named(info, rsp["certConfig"]["certName"].as_str()))
    }

    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()> {
        let rsp = self.get().await?;
        let body = update_body(rsp["protocol"].as_str().unwrap_or_default(), cert);
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
