//! ESA SaaS custom hostnames: ListSites (alibabacloud-esa20240910 3.16.0,
//! models/_list_sites_request.py: PageNumber from 1, PageSize "Valid values: 1 to 500"; the
//! answer's Sites[].SiteId and TotalCount) at the ESA endpoint that serves the account, then each
//! site's ListCustomHostnames (deploy/esa_saas.rs). One target table per hostname:
//! `{site_id, hostname, region}`.
//!
//! ESA has two API regions (client.py `_endpoint_rule = 'regional'`, no map; the SetCertificate
//! model: Region "cn-hangzhou" or "ap-southeast-1"): accounts of the Chinese mainland site use
//! cn-hangzhou, international ones ap-southeast-1. Scan picks by `[aliyun] region` (a `cn-`
//! region: cn-hangzhou), the one fixed region the kind is listed in.
use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};
use serde::Deserialize;

use super::table;
use crate::aliyun::{AliyunClient, Product};
use crate::error::{Error, Result};
use crate::ident::RegionId;

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &["esa:ListSites"];

/// The largest ListSites page.
const PAGE_SIZE: u64 = 500;
/// A guard against a listing that never ends (50,000 sites).
const MAX_PAGES: u64 = 100;
/// Sites whose hostnames are listed at once.
const SITES_AT_ONCE: usize = 4;

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct SitesPage {
    sites: Vec<Site>,
    total_count: u64,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Site {
    #[serde(deserialize_with = "crate::deploy::cas::de_id")]
    site_id: Option<String>,
}

/// The ESA API region for an account whose `[aliyun] region` is `region`.
pub(crate) fn esa_region(region: &str) -> &'static str {
    match region.starts_with("cn-") {
        true => "cn-hangzhou",
        false => "ap-southeast-1",
    }
}

pub fn list<'a>(
    _t: &'a toml::Table,
    client: &'a AliyunClient,
) -> BoxFuture<'a, Result<Vec<toml::Table>>> {
    Box::pin(async move {
        let (esa, region) = esa_client(client)?;
        let sites = sites(&esa).await?;
        let hostnames: Vec<Result<Vec<toml::Table>>> = stream::iter(sites)
            .map(|site| async move {
                let scope = table(&[("site_id", &site), ("region", region)]);
                let names = crate::deploy::esa_saas::list_domains(&scope, client).await?;
                Ok(names
                    .iter()
                    .map(|h| table(&[("site_id", &site), ("hostname", h), ("region", region)]))
                    .collect())
            })
            .buffer_unordered(SITES_AT_ONCE)
            .collect()
            .await;
        let mut out = Vec::new();
        for h in hostnames {
            out.extend(h?);
        }
        Ok(out)
    })
}

/// The client for the account's ESA API region, and that region.
pub(super) fn esa_client(client: &AliyunClient) -> Result<(AliyunClient, &'static str)> {
    let region = esa_region(client.region());
    let esa = client.for_region(&RegionId::parse(region).map_err(Error::Config)?);
    Ok((esa, region))
}

/// Every site id the endpoint lists (all pages).
pub(super) async fn sites(esa: &AliyunClient) -> Result<Vec<String>> {
    let size = PAGE_SIZE.to_string();
    let mut out = Vec::new();
    for page in 1..=MAX_PAGES {
        let number = page.to_string();
        let params = [("PageNumber", number.as_str()), ("PageSize", size.as_str())];
        let rsp = esa.rpc(Product::Esa, "ListSites", &params).await?;
        let page: SitesPage = crate::deploy::answer("ListSites", rsp)?;
        let empty = page.sites.is_empty();
        out.extend(page.sites.into_iter().filter_map(|s| s.site_id));
        if empty || out.len() as u64 >= page.total_count {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mainland_accounts_list_at_hangzhou_others_at_singapore() {
        assert_eq!(esa_region("cn-shanghai"), "cn-hangzhou");
        assert_eq!(esa_region("cn-hangzhou"), "cn-hangzhou");
        assert_eq!(esa_region("ap-southeast-1"), "ap-southeast-1");
        assert_eq!(esa_region("eu-central-1"), "ap-southeast-1");
    }
}
