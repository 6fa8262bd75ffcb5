//! Anti-DDoS Pro / Premium (ddoscoo 2020-01-01): the HTTPS certificate of a website (a domain
//! with a website forwarding rule). Write: AssociateWebCert with `CertIdentifier` =
//! `<CertId>-<region>` of the hub's CAS copy (its model: "The global certificate ID ... This
//! parameter cannot be used together with CertId"; every parameter in the form body, as the
//! SDK's client.py sends them). Read: DescribeCerts(Domain) → the certificate with
//! `DomainRelated` true → CAS (DescribeCerts gives no PEM or serial). Website rules are listed
//! with DescribeWebRules (PageSize "Valid values: 1 to 10").
//! Facts: alibabacloud-ddoscoo20200101 4.0.4, models/ _associate_web_cert_request.py,
//! _describe_certs_*, _describe_web_rules_*.
use async_trait::async_trait;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Deserializer};

use super::kinds::{domain, parsed, Kind};
use super::{cas, CasConsumer, CasCopy, NewCert, Target, TargetId, TargetKind};
use crate::aliyun::{AliyunClient, Product};
use crate::cert::CertInfo;
use crate::error::{Error, Result};
use crate::ident::RegionId;

/// ddoscoo's endpoints: cn-hangzhou (Anti-DDoS Pro, the Chinese mainland) and ap-southeast-1
/// (Anti-DDoS Premium); the SDK has no map, so other regions would name hosts that do not exist.
const REGIONS: [&str; 2] = ["cn-hangzhou", "ap-southeast-1"];
/// DescribeWebRules PageSize: "Valid values: 1 to 10".
const PAGE_SIZE: usize = 10;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(deserialize_with = "domain")]
    pub domain: String,
    /// `cn-hangzhou` (default, Anti-DDoS Pro) or `ap-southeast-1` (Anti-DDoS Premium).
    #[serde(default, deserialize_with = "ddos_region")]
    pub region: Option<RegionId>,
}

fn ddos_region<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<RegionId>, D::Error> {
    let hint = "; Anti-DDoS Pro is cn-hangzhou, Anti-DDoS Premium ap-southeast-1";
    parsed(d, parse_region, hint).map(Some)
}

fn parse_region(s: &str) -> std::result::Result<RegionId, String> {
    match RegionId::parse(s) {
        Ok(r) if REGIONS.contains(&r.as_str()) => Ok(r),
        Ok(_) => Err(format!("`{s}` is not an Anti-DDoS region")),
        Err(e) => Err(e.to_string()),
    }
}

fn region_or_default(region: Option<&RegionId>) -> RegionId {
    region
        .cloned()
        .unwrap_or_else(|| RegionId::parse(REGIONS[0]).expect("a region id"))
}

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &[
    "yundun-ddoscoo:DescribeWebRules",
    "yundun-ddoscoo:DescribeCerts",
    "yundun-ddoscoo:AssociateWebCert",
];

impl Kind for Params {
    const KIND: TargetKind = TargetKind::Ddos;

    fn ram(&self, ctx: &super::kinds::RamContext<'_>) -> Vec<crate::aliyun::ram::Statement> {
        use crate::aliyun::ram::{pick, Statement};
        let mut out =
            vec![Statement::any(
            "DeployDdos",
            "target kind ddos: read the Anti-DDoS website's certificate and associate the new one.",
            &pick(RAM, &["yundun-ddoscoo:DescribeCerts", "yundun-ddoscoo:AssociateWebCert"]),
        )];
        if ctx.covered.is_some() {
            out.push(Statement::any(
                "DeployDdosList",
                "domains = \"covered\": list the product's domains to match them against the certificate.",
                &pick(RAM, &["yundun-ddoscoo:DescribeWebRules"]),
            ));
        }
        out.extend(super::cas::hub_statements());
        out
    }

    fn build(self, _cert_name: &str, client: &AliyunClient) -> Box<dyn Target> {
        let region = region_or_default(self.region.as_ref());
        Box::new(Ddos {
            ddos: client.for_region(&region),
            domain: self.domain,
            client: client.clone(),
        })
    }
}

pub struct Ddos {
    domain: String,
    /// For ddoscoo, in its region.
    ddos: AliyunClient,
    /// For CAS (the hub's region).
    client: AliyunClient,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Certs {
    certs: Vec<Cert>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Cert {
    #[serde(deserialize_with = "cas::de_id")]
    id: Option<String>,
    domain_related: bool,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct WebRules {
    web_rules: Vec<WebRule>,
    total_count: Option<i64>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct WebRule {
    domain: Option<String>,
}

impl Ddos {
    /// The CAS id of the certificate the website uses now.
    async fn related(&self) -> Result<Option<String>> {
        let rsp = self
            .ddos
            .rpc(
                Product::Ddoscoo,
                "DescribeCerts",
                &[("Domain", &self.domain)],
            )
            .await?;
        let certs: Certs = super::answer("DescribeCerts", rsp)?;
        Ok(certs
            .certs
            .into_iter()
            .find(|c| c.domain_related)
            .and_then(|c| c.id))
    }
}

#[async_trait]
impl Target for Ddos {
    fn id(&self) -> TargetId {
        TargetId::new(TargetKind::Ddos, &self.domain)
    }

    async fn current(&self) -> Result<Option<CertInfo>> {
        let id = self.related().await?;
        cas::read_bound(&self.client, id.as_deref()).await
    }

    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()> {
        let cas = cert.cas.ok_or_else(|| {
            Error::Deploy("ddos: the certificate must be in CAS first (hub inactive)".into())
        })?;
        self.ddos
            .rpc_with_form(
                Product::Ddoscoo,
                "AssociateWebCert",
                &[],
                &[
                    ("Domain", &self.domain),
                    ("CertIdentifier", &cas.identifier()),
                ],
            )
            .await?;
        Ok(())
    }
}

capabilities!(Ddos: cas);

#[async_trait]
impl CasConsumer for Ddos {
    async fn cas_references(&self) -> Result<Vec<String>> {
        Ok(cas::numeric_ids(self.related().await?))
    }

    /// Anti-DDoS keeps no copies of its own: it points at CAS certificates.
    async fn retire(&self, _current: &CasCopy) -> Result<()> {
        Ok(())
    }
}

/// Every website domain of the account's Anti-DDoS instances in the table's region (all pages),
/// for `domains = "covered"`.
pub fn list_domains<'a>(
    table: &'a toml::Table,
    client: &'a AliyunClient,
) -> BoxFuture<'a, Result<Vec<String>>> {
    Box::pin(async move {
        let region = match table.get("region").and_then(|v| v.as_str()) {
            Some(r) => Some(
                parse_region(r)
                    .map_err(|e| Error::Config(format!("target kind = \"ddos\": `region`: {e}")))?,
            ),
            None => None,
        };
        let ddos = client.for_region(&region_or_default(region.as_ref()));
        let size = PAGE_SIZE.to_string();
        let mut out = Vec::new();
        for page in 1.. {
            let number = page.to_string();
            let rsp = ddos
                .rpc(
                    Product::Ddoscoo,
                    "DescribeWebRules",
                    &[("PageNumber", &number), ("PageSize", &size)],
                )
                .await?;
            let rules: WebRules = super::answer("DescribeWebRules", rsp)?;
            let got = rules.web_rules.len();
            out.extend(rules.web_rules.into_iter().filter_map(|r| r.domain));
            let total = rules.total_count.unwrap_or_default().max(0) as usize;
            if got < PAGE_SIZE || out.len() >= total {
                break;
            }
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_is_one_of_the_two() {
        let parse = |t: &str| Params::parse(&toml::from_str(t).unwrap());
        assert!(parse("domain = \"www.example.com\"\nregion = \"ap-southeast-1\"").is_ok());
        let e = parse("domain = \"www.example.com\"\nregion = \"cn-shanghai\"")
            .err()
            .unwrap();
        assert!(e.contains("`region`") && e.contains("Anti-DDoS"), "{e}");
    }
}
