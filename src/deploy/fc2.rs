//! Function Compute 2.0 custom domain (fc-open 2021-04-06, ROA, V3-signed): its HTTPS
//! certificate, for users not yet on FC 3 (`fc`).
//! Read: GetCustomDomain (`GET /2021-04-06/custom-domains/{domain}`, certConfig.certificate).
//! Write: UpdateCustomDomain (`PUT` same path) with certConfig {certName, certificate,
//! privateKey}, turning HTTPS on (protocol `HTTP,HTTPS`) when the domain served HTTP only —
//! as `fc.rs` does for FC 3.
//!
//! Source: alibabacloud-fc-open20210406 2.0.12 client.py (get_custom_domain / update_custom_domain:
//! style ROA, method GET / PUT, pathname `/2021-04-06/custom-domains/{domain}`, body keys
//! certConfig, protocol, routeConfig, tlsConfig, wafConfig) and models.py (CertConfig certName,
//! certificate, privateKey; GetCustomDomainResponseBody certConfig, protocol, domainName).
//! FC 2.0's endpoint is `<account_id>.<region>.fc.aliyuncs.com` (the SDK's endpoint map), so
//! the account id is read once with STS GetCallerIdentity (alibabacloud-sts20150401 1.2.0,
//! GetCallerIdentityResponseBody.AccountId; the call needs no RAM permission).
use async_trait::async_trait;
use serde::Deserialize;
use tokio::sync::OnceCell;

use super::kinds::Kind;
use super::{answer, parse_deployed, NewCert, Target, TargetId, TargetKind};
use crate::aliyun::signer::percent_encode;
use crate::aliyun::{AliyunClient, Product};
use crate::cert::CertInfo;
use crate::error::{Error, Result};
use crate::ident::RegionId;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(deserialize_with = "super::kinds::domain")]
    pub domain: String,
    /// The region of the custom domain; default `[aliyun] region`.
    pub region: Option<RegionId>,
}

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &[
    "sts:GetCallerIdentity",
    "fc:GetCustomDomain",
    "fc:UpdateCustomDomain",
    "fc:ListCustomDomains",
];

impl Kind for Params {
    const KIND: TargetKind = TargetKind::Fc2;

    fn ram(
        &self,
        ctx: &crate::deploy::kinds::RamContext<'_>,
    ) -> Vec<crate::aliyun::ram::Statement> {
        use crate::aliyun::ram::{pick, Statement};
        // FC 2.0 GetCustomDomain: "All Resources"
        // (https://www.alibabacloud.com/help/en/functioncompute/fc-2-0/developer-reference/api-fc-open-2021-04-06-getcustomdomain).
        let mut out = vec![
            Statement::any(
                "DeployFc2",
                "target kind fc2: read the FC 2.0 custom domain and set its certificate (no resource-level permission for custom domains).",
                &pick(RAM, &["fc:GetCustomDomain", "fc:UpdateCustomDomain"]),
            ),
            Statement::any(
                "CallerIdentity",
                "The account id (STS GetCallerIdentity): FC 2.0's endpoint is <account id>.<region>.fc.aliyuncs.com.",
                &pick(RAM, &["sts:GetCallerIdentity"]),
            ),
        ];
        if ctx.covered.is_some() {
            out.push(Statement::any(
                "DeployFc2List",
                "domains = \"covered\": list the product's domains to match them against the certificate.",
                &pick(RAM, &["fc:ListCustomDomains"]),
            ));
        }
        out
    }

    fn build(self, _cert_name: &str, client: &AliyunClient) -> Box<dyn Target> {
        Box::new(Fc2 {
            client: super::regional(client, self.region.as_ref()),
            account: OnceCell::new(),
            params: self,
        })
    }
}

pub struct Fc2 {
    params: Params,
    client: AliyunClient,
    /// The client on this account's FC 2.0 endpoint, once GetCallerIdentity answered.
    account: OnceCell<AliyunClient>,
}

capabilities!(Fc2: none);

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CallerIdentity {
    #[serde(default)]
    account_id: String,
}

/// What alicert reads of GetCustomDomainResponseBody.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CustomDomain {
    #[serde(default)]
    protocol: String,
    #[serde(default)]
    cert_config: Option<CertConfig>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CertConfig {
    #[serde(default)]
    certificate: Option<String>,
    /// What alicert (or whoever set it) named it (src/drift.rs).
    #[serde(default)]
    cert_name: Option<String>,
}

/// Every FC 2.0 custom domain in the table's region, for `domains = "covered"`
/// (ListCustomDomains, `GET /2021-04-06/custom-domains`, paged as in `fc.rs`).
pub(crate) fn list_domains<'a>(
    table: &'a toml::Table,
    client: &'a AliyunClient,
) -> futures_util::future::BoxFuture<'a, Result<Vec<String>>> {
    Box::pin(async move {
        let client = super::regional(client, super::fc::region_of(table)?.as_ref());
        let client = for_account(&client).await?;
        super::fc::list_custom_domains(&client, Product::Fc2, "/2021-04-06/custom-domains").await
    })
}

/// `client` on this account's FC 2.0 endpoint (the account id from STS GetCallerIdentity).
async fn for_account(client: &AliyunClient) -> Result<AliyunClient> {
    let rsp = client.rpc(Product::Sts, "GetCallerIdentity", &[]).await?;
    let id = answer::<CallerIdentity>("GetCallerIdentity", rsp)?.account_id;
    // It becomes a host label: digits only.
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Deploy(format!(
            "fc2: GetCallerIdentity answered an account id that is not a number: `{id}`"
        )));
    }
    Ok(client.for_account(&id))
}

impl Fc2 {
    fn path(&self) -> String {
        format!(
            "/2021-04-06/custom-domains/{}",
            percent_encode(&self.params.domain)
        )
    }

    async fn fc(&self) -> Result<&AliyunClient> {
        self.account
            .get_or_try_init(|| for_account(&self.client))
            .await
    }

    async fn get(&self) -> Result<CustomDomain> {
        let rsp = self
            .fc()
            .await?
            .roa(Product::Fc2, "GetCustomDomain", "GET", &self.path(), None)
            .await?;
        answer("GetCustomDomain", rsp)
    }
}

#[async_trait]
impl Target for Fc2 {
    fn id(&self) -> TargetId {
        TargetId::new(TargetKind::Fc2, &self.params.domain)
    }

    async fn current(&self) -> Result<Option<CertInfo>> {
        let domain = self.get().await?;
        let config = domain.cert_config.as_ref();
        let info = parse_deployed(
            "fc2",
            &self.params.domain,
            config.and_then(|c| c.certificate.as_deref()),
        );
        Ok(super::named(
            info,
            config.and_then(|c| c.cert_name.as_deref()),
        ))
    }

    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()> {
        let body = super::fc::update_body(&self.get().await?.protocol, cert);
        self.fc()
            .await?
            .roa(
                Product::Fc2,
                "UpdateCustomDomain",
                "PUT",
                &self.path(),
                Some(&body),
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::aliyun::{AliyunClient, Credentials, Product};
    use crate::secret::Secret;

    fn client(overrides: &[(&str, &str)]) -> AliyunClient {
        let creds = Credentials {
            access_key_id: "id".into(),
            access_key_secret: Secret::new("s"),
            security_token: None,
        };
        let overrides: BTreeMap<String, String> = overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AliyunClient::new(creds, "cn-shanghai", &overrides).unwrap()
    }

    #[test]
    fn the_endpoint_carries_the_account_id() {
        let c = client(&[]).for_account("1234567890123456");
        assert_eq!(
            c.endpoint(Product::Fc2),
            "https://1234567890123456.cn-shanghai.fc.aliyuncs.com"
        );
        let c =
            client(&[("fc2", "https://{account_id}.{region}.fc-vpc.example")]).for_account("42");
        assert_eq!(
            c.endpoint(Product::Fc2),
            "https://42.cn-shanghai.fc-vpc.example"
        );
        // Other products are unaffected.
        assert_eq!(
            c.endpoint(Product::Fc),
            "https://fcv3.cn-shanghai.aliyuncs.com"
        );
    }
}
