//! Classic Load Balancer (slb 2014-05-15) HTTPS listeners and their domain extensions (SNI).
//! DescribeLoadBalancerListeners lists the region's listeners of every load balancer in one
//! paged listing (alibabacloud-slb20140515 3.3.31, models/
//! _describe_load_balancer_listeners_request.py: `LoadBalancerId` optional, `ListenerProtocol`
//! `https`, `MaxResults` 1 to 100 (default 20), `NextToken` from the previous answer, empty on
//! the last page; API reference "DescribeLoadBalancerListeners") — cheaper than
//! DescribeLoadBalancers and one DescribeLoadBalancerAttribute per load balancer. Each HTTPS
//! listener's DescribeDomainExtensions (models/_describe_domain_extensions_request.py:
//! `RegionId`, `LoadBalancerId`, `ListenerPort` required; the answer
//! `DomainExtensions.DomainExtension[].DomainExtensionId`, not paged) names its SNI domains.
//! One target table per HTTPS listener, `{load_balancer_id, listener_port, region}`, and per
//! domain extension, `{load_balancer_id, domain_extension_id, region}` (deploy/slb.rs).
use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};
use serde_json::Value;

use super::table;
use crate::aliyun::{AliyunClient, Product};
use crate::error::{Error, Result};

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &[
    "slb:DescribeLoadBalancerListeners",
    "slb:DescribeDomainExtensions",
];

/// The largest page DescribeLoadBalancerListeners gives.
const MAX_RESULTS: &str = "100";
/// DescribeDomainExtensions calls in flight while listing the listeners' SNI domains.
const EXTENSION_READS_AT_ONCE: usize = 4;
/// A guard against a listing that never ends (100,000 listeners; a region holds far fewer).
const MAX_PAGES: usize = 1000;

/// An HTTPS listener: its load balancer and port.
#[derive(Debug, Clone, PartialEq)]
struct Listener {
    load_balancer_id: String,
    port: String,
}

pub fn list<'a>(
    t: &'a toml::Table,
    client: &'a AliyunClient,
) -> BoxFuture<'a, Result<Vec<toml::Table>>> {
    Box::pin(async move {
        let client = super::regional_client(t, client)?;
        let region = client.region().to_string();
        let (client, at) = (&client, region.as_str());
        let listed: Vec<Result<(Listener, Vec<String>)>> = stream::iter(listeners(client).await?)
            .map(|l| async move {
                let rsp = client
                    .rpc(
                        Product::Slb,
                        "DescribeDomainExtensions",
                        &[
                            ("RegionId", at),
                            ("LoadBalancerId", l.load_balancer_id.as_str()),
                            ("ListenerPort", l.port.as_str()),
                        ],
                    )
                    .await?;
                Ok((l, extension_ids(&rsp)))
            })
            .buffered(EXTENSION_READS_AT_ONCE)
            .collect()
            .await;
        let mut out = Vec::new();
        for listed in listed {
            let (l, extensions) = listed?;
            let lb = l.load_balancer_id.as_str();
            let mut listener = table(&[("load_balancer_id", lb), ("region", &region)]);
            // A port, as a config writes it (a number; deploy/slb.rs reads either).
            let port = match l.port.parse::<i64>() {
                Ok(p) => toml::Value::Integer(p),
                Err(_) => toml::Value::String(l.port.clone()),
            };
            listener.insert("listener_port".into(), port);
            out.push(listener);
            for ext in extensions {
                out.push(table(&[
                    ("load_balancer_id", lb),
                    ("domain_extension_id", &ext),
                    ("region", &region),
                ]));
            }
        }
        Ok(out)
    })
}

/// Every HTTPS listener of the client's region (all pages, each once).
async fn listeners(client: &AliyunClient) -> Result<Vec<Listener>> {
    let region = client.region().to_string();
    let mut out: Vec<Listener> = Vec::new();
    let mut token = String::new();
    for _ in 0..MAX_PAGES {
        let mut params = vec![
            ("RegionId", region.as_str()),
            ("ListenerProtocol", "https"),
            ("MaxResults", MAX_RESULTS),
        ];
        if !token.is_empty() {
            params.push(("NextToken", token.as_str()));
        }
        let rsp = client
            .rpc(Product::Slb, "DescribeLoadBalancerListeners", &params)
            .await?;
        let (page, next) = listener_page(&rsp).ok_or_else(|| {
            Error::Deploy(
                "slb: DescribeLoadBalancerListeners answered JSON alicert cannot read".into(),
            )
        })?;
        for l in page {
            if !out.contains(&l) {
                out.push(l);
            }
        }
        match next {
            Some(next) if next != token => token = next,
            _ => return Ok(out),
        }
    }
    Err(Error::Deploy(format!(
        "slb: DescribeLoadBalancerListeners gave more than {MAX_PAGES} pages"
    )))
}

/// A DescribeLoadBalancerListeners page: its HTTPS listeners (whatever the filter let through,
/// only `https` ones are kept) and the next page's token, if any; `None` if unreadable.
fn listener_page(rsp: &Value) -> Option<(Vec<Listener>, Option<String>)> {
    let items = match &rsp["Listeners"] {
        Value::Array(items) => items.as_slice(),
        // "This parameter is not returned if the CLB instance does not have a listener."
        Value::Null => &[],
        _ => return None,
    };
    let mut out = Vec::new();
    for l in items {
        let protocol = l["ListenerProtocol"].as_str()?;
        if !protocol.eq_ignore_ascii_case("https") {
            continue;
        }
        let port = match &l["ListenerPort"] {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            _ => return None,
        };
        out.push(Listener {
            load_balancer_id: l["LoadBalancerId"].as_str()?.to_string(),
            port,
        });
    }
    let next = rsp["NextToken"]
        .as_str()
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    Some((out, next))
}

/// The domain extension ids a DescribeDomainExtensions answer lists.
fn extension_ids(rsp: &Value) -> Vec<String> {
    rsp["DomainExtensions"]["DomainExtension"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["DomainExtensionId"].as_str())
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_listener_pages_and_domain_extensions() {
        let page = json!({
            "TotalCount": 3, "MaxResults": 100, "NextToken": "t2",
            "Listeners": [
                {"LoadBalancerId": "lb-1", "ListenerPort": 443, "ListenerProtocol": "https"},
                {"LoadBalancerId": "lb-1", "ListenerPort": 80, "ListenerProtocol": "http"},
                {"LoadBalancerId": "lb-2", "ListenerPort": "8443", "ListenerProtocol": "HTTPS"}
            ]
        });
        let (got, next) = listener_page(&page).unwrap();
        let got: Vec<(&str, &str)> = got
            .iter()
            .map(|l| (l.load_balancer_id.as_str(), l.port.as_str()))
            .collect();
        assert_eq!(got, [("lb-1", "443"), ("lb-2", "8443")]);
        assert_eq!(next.as_deref(), Some("t2"));
        let last = json!({"TotalCount": 0, "NextToken": ""});
        assert_eq!(listener_page(&last), Some((vec![], None)));
        assert_eq!(listener_page(&json!({"Listeners": {"x": 1}})), None);
        let bad = json!({"Listeners": [{"ListenerProtocol": "https", "ListenerPort": 443}]});
        assert_eq!(listener_page(&bad), None);

        let ext = json!({"DomainExtensions": {"DomainExtension": [
            {"DomainExtensionId": "de-1", "Domain": "a.example.com"}
        ]}});
        assert_eq!(extension_ids(&ext), ["de-1"]);
        assert!(extension_ids(&json!({})).is_empty());
    }
}
