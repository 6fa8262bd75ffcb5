//! Web Application Firewall 3.0 (waf-openapi 2021-10-01), two ways a site is protected:
//! - `mode = "cname"` (default): a domain added by CNAME. Read: DescribeDomainDetail
//!   (`Listen.CertId`). Write: ModifyDomain with the `Listen` and `Redirect` settings exactly as
//!   read, only `Listen.CertId` changed (ModifyDomain replaces the whole configuration: Listen
//!   and Redirect are required).
//! - `mode = "cloud-resource"`: a cloud product's port added in cloud-native mode
//!   (`resource_product`, `resource_instance_id`, `port`). Read:
//!   DescribeCloudResourceAccessPortDetails (`Certificates`, AppliedType default/extension).
//!   Write: ModifyCloudResourceCert with the whole certificate list (its docstring: "Specify all
//!   certificate IDs, including the default certificate ID and all extension certificate IDs"),
//!   the default replaced, every extension certificate kept.
//!
//! Both take the hub's CAS copy as `<CertId>-<region>` (the "global certificate ID" form of
//! DescribeResourceInstanceCerts' `CertIdentifier`). The instance id comes from
//! DescribeInstance. Writes apply asynchronously (domain / port `Status` 3 "being modified"),
//! so alicert waits for status 1 before and after writing.
//!
//! Facts: alibabacloud-waf-openapi20211001 7.8.7, models/ _describe_instance_*,
//! _describe_domain_detail_*, _modify_domain_request.py, _describe_domains_*,
//! _describe_cloud_resource_access_port_details_*, _modify_cloud_resource_cert_request.py;
//! client.py: ModifyDomain sends Listen/Redirect as JSON strings, Certificates flattened.
pub(crate) mod target;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Deserializer};

use super::kinds::{domain, parsed, Kind};
use super::{Target, TargetKind};
use crate::aliyun::{AliyunClient, Product};
use crate::error::{Error, Result};
use crate::ident::{RegionId, ResourceId};

/// WAF 3.0's two regions (RegionId "cn-hangzhou: the Chinese mainland; ap-southeast-1:
/// outside the Chinese mainland").
const REGIONS: [&str; 2] = ["cn-hangzhou", "ap-southeast-1"];
/// DescribeDomains page size (the SDK gives only the default, 10; the emulator, with the docs
/// silent, allows at most 50).
const PAGE_SIZE: usize = 50;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Defaulted: a `domain` alone names a CNAME-access domain, the usual WAF 3.0 setup.
    #[default]
    Cname,
    CloudResource,
}

/// ResourceProduct values of DescribeCloudResourceAccessPortDetails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceProduct {
    Clb4,
    Clb7,
    Ecs,
    Nlb,
}

impl ResourceProduct {
    fn as_str(self) -> &'static str {
        match self {
            ResourceProduct::Clb4 => "clb4",
            ResourceProduct::Clb7 => "clb7",
            ResourceProduct::Ecs => "ecs",
            ResourceProduct::Nlb => "nlb",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default, deserialize_with = "some_domain")]
    pub domain: Option<String>,
    #[serde(default)]
    pub mode: Mode,
    pub resource_product: Option<ResourceProduct>,
    #[serde(default, deserialize_with = "resource_instance")]
    pub resource_instance_id: Option<ResourceId>,
    #[serde(default, deserialize_with = "some_port")]
    pub port: Option<u16>,
    /// `cn-hangzhou` or `ap-southeast-1` (default: the one the SDK's endpoint map gives for
    /// `[aliyun] region`).
    #[serde(default, deserialize_with = "waf_region")]
    pub region: Option<RegionId>,
}

fn some_domain<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    domain(d).map(Some)
}

fn resource_instance<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<ResourceId>, D::Error> {
    let hint = "; use the instance id the cloud product's console shows";
    parsed(d, ResourceId::parse, hint).map(Some)
}

fn some_port<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<u16>, D::Error> {
    match u16::deserialize(d) {
        Ok(p) if p > 0 => Ok(Some(p)),
        _ => Err(serde::de::Error::custom("must be a port number (1-65535)")),
    }
}

fn waf_region<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<RegionId>, D::Error> {
    let hint = "; WAF 3.0 has cn-hangzhou (the Chinese mainland) and ap-southeast-1 (elsewhere)";
    parsed(
        d,
        |s| match RegionId::parse(s) {
            Ok(r) if REGIONS.contains(&r.as_str()) => Ok(r),
            Ok(_) => Err(format!("`{s}` is not a WAF 3.0 region")),
            Err(e) => Err(e.to_string()),
        },
        hint,
    )
    .map(Some)
}

/// The actions this file calls (tests/policy.rs checks them against the calls; target.rs has its own).
pub(crate) const RAM: &[&str] = &["yundun-waf:DescribeInstance", "yundun-waf:DescribeDomains"];

impl Kind for Params {
    const KIND: TargetKind = TargetKind::Waf;

    fn ram(
        &self,
        ctx: &crate::deploy::kinds::RamContext<'_>,
    ) -> Vec<crate::aliyun::ram::Statement> {
        use crate::aliyun::ram::{pick, Statement};
        let mut actions = pick(RAM, &["yundun-waf:DescribeInstance"]);
        actions.extend(pick(
            target::RAM,
            &[
                "yundun-waf:DescribeDomainDetail",
                "yundun-waf:ModifyDomain",
                "yundun-waf:DescribeCloudResourceAccessPortDetails",
                "yundun-waf:ModifyCloudResourceCert",
            ],
        ));
        let mut out = vec![Statement::any(
            "DeployWaf",
            "target kind waf: find the WAF 3.0 instance, read the domain or cloud-resource port and set its certificate.",
            &actions,
        )];
        if ctx.covered.is_some() {
            out.push(Statement::any(
                "DeployWafList",
                "domains = \"covered\": list the product's domains to match them against the certificate.",
                &pick(RAM, &["yundun-waf:DescribeDomains"]),
            ));
        }
        out.extend(crate::deploy::cas::hub_statements());
        out
    }

    fn check(&self) -> std::result::Result<(), String> {
        let resource = [
            ("resource_product", self.resource_product.is_some()),
            ("resource_instance_id", self.resource_instance_id.is_some()),
            ("port", self.port.is_some()),
        ];
        match self.mode {
            Mode::Cname => {
                if self.domain.is_none() {
                    return Err("missing required key `domain` (the domain added to WAF)".into());
                }
                if let Some((key, _)) = resource.iter().find(|(_, set)| *set) {
                    return Err(format!(
                        "`{key}` is for mode = \"cloud-resource\"; remove it or set the mode"
                    ));
                }
            }
            Mode::CloudResource => {
                if let Some((key, _)) = resource.iter().find(|(_, set)| !*set) {
                    return Err(format!(
                        "mode = \"cloud-resource\" needs `{key}` (resource_product, \
                         resource_instance_id and port name the protected port)"
                    ));
                }
                if self.domain.is_some() {
                    return Err(
                        "`domain` is for mode = \"cname\"; a cloud resource is named by \
                                resource_product, resource_instance_id and port"
                            .into(),
                    );
                }
            }
        }
        Ok(())
    }

    fn build(self, _cert_name: &str, client: &AliyunClient) -> Box<dyn Target> {
        let region = region_for(client, self.region.as_ref());
        Box::new(target::Waf::new(self, region, client))
    }
}

/// The WAF region: the key, else where the SDK's endpoint map sends `[aliyun] region`.
fn region_for(client: &AliyunClient, key: Option<&RegionId>) -> RegionId {
    let name = match key {
        Some(r) => r.as_str(),
        None if crate::aliyun::endpoints::host(Product::Waf, client.region())
            .contains(REGIONS[1]) =>
        {
            REGIONS[1]
        }
        None => REGIONS[0],
    };
    RegionId::parse(name).expect("a WAF region is a region id")
}

// Typed answers (field names and types from the models named in the module comment).
#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Instance {
    instance_id: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct DomainPage {
    domains: Vec<DomainEntry>,
    total_count: Option<i64>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct DomainEntry {
    domain: Option<String>,
}

/// DescribeInstance: the account's WAF 3.0 instance in `region`, if it has one.
async fn find_instance(waf: &AliyunClient, region: &str) -> Result<Option<String>> {
    let rsp = waf
        .rpc(Product::Waf, "DescribeInstance", &[("RegionId", region)])
        .await?;
    Ok(super::answer::<Instance>("DescribeInstance", rsp)?
        .instance_id
        .filter(|i| !i.is_empty()))
}

/// DescribeInstance: the account's WAF 3.0 instance in `region` (an error when it has none).
async fn instance_id(waf: &AliyunClient, region: &str) -> Result<String> {
    find_instance(waf, region).await?.ok_or_else(|| {
        Error::Deploy(format!(
            "waf: no WAF 3.0 instance in {region}; buy one, or set the target's `region`"
        ))
    })
}

pub fn list_domains<'a>(
    table: &'a toml::Table,
    client: &'a AliyunClient,
) -> BoxFuture<'a, Result<Vec<String>>> {
    Box::pin(async move { domains(table, client, true).await })
}

/// As [`list_domains`], but an account without a WAF 3.0 instance in the region simply has no
/// WAF domains (`alicert scan`: nothing to list is not a problem there).
pub fn list_domains_if_any<'a>(
    table: &'a toml::Table,
    client: &'a AliyunClient,
) -> BoxFuture<'a, Result<Vec<String>>> {
    Box::pin(async move { domains(table, client, false).await })
}

/// Every domain of the WAF instance (CNAME mode, all pages); `need_instance`: no instance is
/// an error (a target asked for WAF) rather than no domains.
async fn domains(
    table: &toml::Table,
    client: &AliyunClient,
    need_instance: bool,
) -> Result<Vec<String>> {
    let region = match table.get("region").and_then(|v| v.as_str()) {
        Some(r) => Some(
            RegionId::parse(r)
                .map_err(|e| Error::Config(format!("target kind = \"waf\": `region`: {e}")))?,
        ),
        None => None,
    };
    let region = region_for(client, region.as_ref());
    let waf = client.for_region(&region);
    let instance = if need_instance {
        instance_id(&waf, region.as_str()).await?
    } else {
        match find_instance(&waf, region.as_str()).await? {
            Some(i) => i,
            None => return Ok(vec![]),
        }
    };
    let size = PAGE_SIZE.to_string();
    let mut out = Vec::new();
    for page in 1.. {
        let number = page.to_string();
        let rsp = waf
            .rpc(
                Product::Waf,
                "DescribeDomains",
                &[
                    ("InstanceId", &instance),
                    ("RegionId", region.as_str()),
                    ("PageNumber", &number),
                    ("PageSize", &size),
                ],
            )
            .await?;
        let page: DomainPage = super::answer("DescribeDomains", rsp)?;
        let got = page.domains.len();
        out.extend(page.domains.into_iter().filter_map(|d| d.domain));
        let total = page.total_count.unwrap_or_default().max(0) as usize;
        if got < PAGE_SIZE || out.len() >= total {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> std::result::Result<Params, String> {
        Params::parse(&toml::from_str(text).unwrap())
    }

    #[test]
    fn modes_take_their_own_keys() {
        let p = parse("domain = \"WWW.example.com\"").unwrap();
        assert_eq!(
            (p.mode, p.domain.as_deref()),
            (Mode::Cname, Some("www.example.com"))
        );
        let p = parse(
            "mode = \"cloud-resource\"\nresource_product = \"clb7\"\nresource_instance_id = \"lb-1\"\nport = 443\nregion = \"ap-southeast-1\"",
        )
        .unwrap();
        assert_eq!(p.resource_product, Some(ResourceProduct::Clb7));
        for (text, want) in [
            ("mode = \"cname\"", "missing required key `domain`"),
            ("domain = \"a.example.com\"\nport = 443", "`port` is for mode"),
            ("mode = \"cloud-resource\"\nresource_product = \"ecs\"\nport = 443", "needs `resource_instance_id`"),
            ("mode = \"cloud-resource\"\ndomain = \"a.example.com\"\nresource_product = \"ecs\"\nresource_instance_id = \"i-1\"\nport = 443", "`domain` is for mode"),
            ("domain = \"a.example.com\"\nmode = \"sni\"", "`mode`: unknown variant `sni`"),
            ("domain = \"a.example.com\"\nregion = \"cn-shanghai\"", "not a WAF 3.0 region"),
            ("mode = \"cloud-resource\"\nresource_product = \"alb\"", "`resource_product`: unknown variant"),
            ("mode = \"cloud-resource\"\nport = 0", "`port` must be a port number"),
        ] {
            let e = parse(text).err().unwrap_or_else(|| panic!("{text} accepted"));
            assert!(e.contains(want), "{text}: {e}");
        }
    }
}
