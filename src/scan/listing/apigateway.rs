//! API Gateway (cloudapi 2016-07-14) group custom domains: DescribeApiGroups pages through the
//! region's groups (alibabacloud-cloudapi20160714 4.9.0, models/_describe_api_groups_request.py:
//! `PageNumber` from 1, `PageSize` "Maximum value: 50. Default value: 10"; the answer's
//! `ApiGroupAttributes.ApiGroupAttribute[].GroupId` and `TotalCount`; API reference
//! "DescribeApiGroups", alibabacloud.com/help/doc-detail/43616.htm), and each group's
//! DescribeApiGroup (models/_describe_api_group_response_body.py:
//! `CustomDomains.DomainItem[].DomainName`) names its bound custom domains. One target table
//! per custom domain: `{group_id, domain, region}` (deploy/apigateway.rs), whether or not it
//! serves a certificate yet (SetDomainCertificate gives any bound domain one).
use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};
use serde_json::Value;

use super::table;
use crate::aliyun::{AliyunClient, Product};
use crate::error::{Error, Result};

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &[
    "apigateway:DescribeApiGroups",
    "apigateway:DescribeApiGroup",
];

/// The largest page DescribeApiGroups gives.
const PAGE_SIZE: u64 = 50;
/// DescribeApiGroup calls in flight while listing the groups' domains.
const GROUP_READS_AT_ONCE: usize = 4;
/// A guard against a listing that never ends (50,000 groups; a region holds far fewer).
const MAX_PAGES: u64 = 1000;

pub fn list<'a>(
    t: &'a toml::Table,
    client: &'a AliyunClient,
) -> BoxFuture<'a, Result<Vec<toml::Table>>> {
    Box::pin(async move {
        let client = super::regional_client(t, client)?;
        let region = client.region().to_string();
        let client = &client;
        // A few groups' DescribeApiGroup at once (a region may hold hundreds of groups).
        let listed: Vec<Result<(String, Vec<String>)>> = stream::iter(groups(client).await?)
            .map(|group| async move {
                let rsp = client
                    .rpc(
                        Product::ApiGateway,
                        "DescribeApiGroup",
                        &[("GroupId", group.as_str())],
                    )
                    .await?;
                Ok((group, custom_domains(&rsp)))
            })
            .buffered(GROUP_READS_AT_ONCE)
            .collect()
            .await;
        let mut out = Vec::new();
        for group in listed {
            let (group, domains) = group?;
            for domain in domains {
                out.push(table(&[
                    ("group_id", &group),
                    ("domain", &domain),
                    ("region", &region),
                ]));
            }
        }
        Ok(out)
    })
}

/// Every group id of the client's region (all pages, each once, in the order listed).
async fn groups(client: &AliyunClient) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let size = PAGE_SIZE.to_string();
    for number in 1..=MAX_PAGES {
        let page = number.to_string();
        let rsp = client
            .rpc(
                Product::ApiGateway,
                "DescribeApiGroups",
                &[("PageNumber", page.as_str()), ("PageSize", size.as_str())],
            )
            .await?;
        let (ids, total) = group_page(&rsp).ok_or_else(|| {
            Error::Deploy("apigateway: DescribeApiGroups answered JSON alicert cannot read".into())
        })?;
        let full = ids.len() as u64 >= PAGE_SIZE;
        for id in ids {
            if !out.contains(&id) {
                out.push(id);
            }
        }
        // The last page: a short one, or every group counted (TotalCount).
        if !full || out.len() as u64 >= total {
            return Ok(out);
        }
    }
    Err(Error::Deploy(format!(
        "apigateway: DescribeApiGroups gave more than {MAX_PAGES} pages"
    )))
}

/// A DescribeApiGroups page: its group ids and `TotalCount`; `None` if it has no group list.
fn group_page(rsp: &Value) -> Option<(Vec<String>, u64)> {
    let attrs = &rsp["ApiGroupAttributes"]["ApiGroupAttribute"];
    let items = match attrs {
        Value::Array(items) => items.as_slice(),
        // An empty page may come without the list.
        Value::Null if rsp.get("TotalCount").is_some() => &[],
        _ => return None,
    };
    let ids = items
        .iter()
        .map(|g| g["GroupId"].as_str().map(str::to_string))
        .collect::<Option<Vec<String>>>()?;
    Some((ids, rsp["TotalCount"].as_u64().unwrap_or(0)))
}

/// The custom domain names a DescribeApiGroup answer lists (none when it lists none).
fn custom_domains(rsp: &Value) -> Vec<String> {
    rsp["CustomDomains"]["DomainItem"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["DomainName"].as_str())
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_group_pages_and_custom_domains() {
        let page = json!({
            "TotalCount": 2, "PageNumber": 1, "PageSize": 50,
            "ApiGroupAttributes": {"ApiGroupAttribute": [
                {"GroupId": "g1", "GroupName": "a"}, {"GroupId": "g2"}
            ]}
        });
        assert_eq!(
            group_page(&page),
            Some((vec!["g1".to_string(), "g2".to_string()], 2))
        );
        assert_eq!(group_page(&json!({"TotalCount": 0})), Some((vec![], 0)));
        assert_eq!(group_page(&json!({"Code": "x"})), None);
        let bad = json!({"TotalCount": 1, "ApiGroupAttributes": {"ApiGroupAttribute": [{}]}});
        assert_eq!(group_page(&bad), None);

        let group = json!({"GroupId": "g1", "CustomDomains": {"DomainItem": [
            {"DomainName": "api.example.com", "CertificateId": "c"},
            {"DomainName": "plain.example.com"}
        ]}});
        assert_eq!(
            custom_domains(&group),
            ["api.example.com", "plain.example.com"]
        );
        assert!(custom_domains(&json!({"GroupId": "g2"})).is_empty());
    }
}
