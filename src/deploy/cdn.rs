//! Alibaba Cloud CDN: the HTTPS certificate of an accelerated domain.
//! Read: DescribeDomainCertificateInfo. Write: SetCdnDomainSSLCertificate, CertType=cas with the
//! hub's CAS copy (CertType=upload with the PEM when there is none). List (for
//! `domains = "covered"`): DescribeUserDomains, every page.
//!
//! DCDN's API is the same shape under other names; [`Api`] holds the names, so `dcdn.rs` is
//! only its own constants and this file the one implementation.
use async_trait::async_trait;
use futures_util::future::BoxFuture;
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

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &[
    "cdn:DescribeDomainCertificateInfo",
    "cdn:SetCdnDomainSSLCertificate",
    "cdn:DescribeUserDomains",
];

impl Kind for Params {
    const KIND: TargetKind = TargetKind::Cdn;

    fn ram(
        &self,
        ctx: &crate::deploy::kinds::RamContext<'_>,
    ) -> Vec<crate::aliyun::ram::Statement> {
        use crate::aliyun::ram::{pick, Statement};
        // CDN RAM authorization, resource type Domain: `acs:cdn:*:{#accountId}:domain/{#DomainName}`
        // (https://www.alibabacloud.com/help/en/cdn/developer-reference/api-cdn-2018-05-10-setcdndomainsslcertificate).
        let arns = ctx
            .names(&self.domain)
            .iter()
            .map(|d| ctx.scope.arn("cdn", "*", &format!("domain/{d}")))
            .collect();
        let mut out = vec![Statement::new(
            "DeployCdn",
            "target kind cdn: read the accelerated domain's certificate and set the new one, on these domains only.",
            &pick(RAM, &["cdn:DescribeDomainCertificateInfo", "cdn:SetCdnDomainSSLCertificate"]),
            arns,
        )];
        if ctx.covered.is_some() {
            out.push(Statement::any(
                "DeployCdnList",
                "domains = \"covered\": list the product's domains to match them against the certificate.",
                &pick(RAM, &["cdn:DescribeUserDomains"]),
            ));
        }
        out.extend(super::cas::hub_statements());
        out
    }

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
    /// The paged listing of the account's domains (`Domains.PageData[].DomainName`).
    pub list: &'static str,
}

pub const API: Api = Api {
    kind: TargetKind::Cdn,
    product: Product::Cdn,
    describe: "DescribeDomainCertificateInfo",
    set: "SetCdnDomainSSLCertificate",
    https_status_field: "ServerCertificateStatus",
    certificate_field: "ServerCertificate",
    list: "DescribeUserDomains",
};

/// Every CDN domain of the account, for `domains = "covered"` (CDN has no region key).
pub(crate) fn list_domains<'a>(
    _table: &'a toml::Table,
    client: &'a AliyunClient,
) -> BoxFuture<'a, Result<Vec<String>>> {
    Box::pin(list_with(&API, client))
}

/// The most entries a page of DescribeUserDomains / DescribeDcdnUserDomains holds: "Valid
/// values: 1 to 500. Default value: 20" (PageSize in alibabacloud-cdn20180510 9.2.0
/// models/_describe_user_domains_request.py and alibabacloud-dcdn20180115 3.1.0
/// models/_describe_dcdn_user_domains_request.py); PageNumber is 1 to 100000.
const PAGE_SIZE: usize = 500;
const MAX_PAGES: usize = 100_000;

/// The listing answer (DescribeUserDomainsResponseBody / DescribeDcdnUserDomainsResponseBody).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UserDomains {
    #[serde(default)]
    domains: PageDomains,
    #[serde(default)]
    total_count: u64,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct PageDomains {
    #[serde(default)]
    page_data: Vec<PageData>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PageData {
    domain_name: String,
}

/// Every domain `api`'s listing returns, page by page until TotalCount is reached (or a short
/// page ends it, should the count be off).
pub(crate) async fn list_with(api: &Api, client: &AliyunClient) -> Result<Vec<String>> {
    let size = PAGE_SIZE.to_string();
    let mut domains = Vec::new();
    for page in 1..=MAX_PAGES {
        let number = page.to_string();
        let rsp = client
            .rpc(
                api.product,
                api.list,
                &[("PageNumber", &number), ("PageSize", &size)],
            )
            .await?;
        let answer: UserDomains = super::answer(api.list, rsp)?;
        let got = answer.domains.page_data.len();
        domains.extend(answer.domains.page_data.into_iter().map(|d| d.domain_name));
        if got < PAGE_SIZE || domains.len() as u64 >= answer.total_count {
            break;
        }
    }
    Ok(domains)
}

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
            let info = parse_deployed(
                self.api.kind.as_str(),
                &self.params.domain,
                i[self.api.certificate_field].as_str(),
            );
            // `CertName`: alicert's upload name, or whatever the console or another tool named it.
            super::named(info, i["CertName"].as_str())
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

    /// A CDN domain serves one certificate (SetCdnDomainSSLCertificate takes one CertId).
    fn sole_reference(&self) -> bool {
        true
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
