//! ALB listeners: every HTTPS and QUIC listener of the region (the protocols that take a server
//! certificate; HTTP listeners hold none), each as `{listener_id, region}` — the listener's
//! default certificate, as deploy/alb.rs reads it.
//!
//! ListListeners (PyPI alibabacloud-alb20200616 1.3.3, client.py `list_listeners_with_options`:
//! RPC, version 2020-06-16; models/_list_listeners_request.py: MaxResults "Valid values: **1**
//! to **100** … default value is **20**", NextToken "set the value to the **NextToken** value
//! returned in the previous API call"; _list_listeners_response_body.py: `Listeners[]` with
//! `ListenerId` and `ListenerProtocol` "**HTTP** | **HTTPS** | **QUIC**", `NextToken` "An empty
//! value indicates that all data has been read"). The protocol is filtered here, not with the
//! request's single-valued ListenerProtocol, so one listing covers both HTTPS and QUIC.
use futures_util::future::BoxFuture;
use serde::Deserialize;

use crate::aliyun::{AliyunClient, Product};
use crate::error::{Error, Result};

/// The actions this file calls (tests/policy.rs).
pub(crate) const RAM: &[&str] = &["alb:ListListeners"];

/// The largest page ListListeners gives (MaxResults, above).
const PAGE: &str = "100";
/// A guard against a listing that never ends (a million listeners).
const MAX_PAGES: usize = 10_000;

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Page {
    listeners: Vec<Listener>,
    next_token: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Listener {
    listener_id: String,
    listener_protocol: String,
}

/// Every HTTPS and QUIC listener of the table's region, all pages.
pub fn list<'a>(
    table: &'a toml::Table,
    client: &'a AliyunClient,
) -> BoxFuture<'a, Result<Vec<toml::Table>>> {
    Box::pin(async move {
        let region = crate::deploy::fc::region_of(table)?;
        let alb = crate::deploy::regional(client, region.as_ref());
        let mut out = Vec::new();
        let mut token = String::new();
        for _ in 0..MAX_PAGES {
            let mut params = vec![("MaxResults", PAGE)];
            if !token.is_empty() {
                params.push(("NextToken", token.as_str()));
            }
            let rsp = alb.rpc(Product::Alb, "ListListeners", &params).await?;
            let page: Page = crate::deploy::answer("ListListeners", rsp)?;
            for l in page.listeners {
                if matches!(l.listener_protocol.as_str(), "HTTPS" | "QUIC") {
                    out.push(target(&l.listener_id, region.as_ref()));
                }
            }
            match page.next_token {
                Some(next) if !next.is_empty() && next != token => token = next,
                _ => return Ok(out),
            }
        }
        Err(Error::Deploy(format!(
            "alb: ListListeners gave more than {MAX_PAGES} pages"
        )))
    })
}

/// `{listener_id, region}` (the region when the listing had one).
pub(super) fn target(listener_id: &str, region: Option<&crate::ident::RegionId>) -> toml::Table {
    let mut pairs = vec![("listener_id", listener_id)];
    if let Some(r) = region {
        pairs.push(("region", r.as_str()));
    }
    super::table(&pairs)
}
