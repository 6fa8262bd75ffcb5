//! NLB listeners: every TCPSSL listener of the region (the one protocol that takes a server
//! certificate; TCP and UDP hold none), each as `{listener_id, region}` — the listener's
//! default certificate, as deploy/nlb.rs reads it.
//!
//! ListListeners (PyPI alibabacloud-nlb20220430 4.1.3, client.py `list_listeners_with_options`:
//! RPC, version 2022-04-30, RegionId in the query as deploy/nlb.rs sends it; models/
//! _list_listeners_request.py: ListenerProtocol "**TCP**, **UDP**, and **TCPSSL**", MaxResults
//! "Valid values: **1** to **100**. Default value: **20**", NextToken "the value of NextToken
//! obtained from the previous query"; _list_listeners_response_body.py: `Listeners[]` with
//! `ListenerId`, `ListenerProtocol`, and `NextToken` "If **NextToken** is empty, … no next
//! query").
use futures_util::future::BoxFuture;
use serde::Deserialize;

use crate::aliyun::{AliyunClient, Product};
use crate::error::{Error, Result};

/// The actions this file calls (tests/policy.rs).
pub(crate) const RAM: &[&str] = &["nlb:ListListeners"];

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

/// Every TCPSSL listener of the table's region, all pages.
pub fn list<'a>(
    table: &'a toml::Table,
    client: &'a AliyunClient,
) -> BoxFuture<'a, Result<Vec<toml::Table>>> {
    Box::pin(async move {
        let region = crate::deploy::fc::region_of(table)?;
        let nlb = crate::deploy::regional(client, region.as_ref());
        let region_id = nlb.region().to_string();
        let mut out = Vec::new();
        let mut token = String::new();
        for _ in 0..MAX_PAGES {
            let mut params = vec![
                ("RegionId", region_id.as_str()),
                ("ListenerProtocol", "TCPSSL"),
                ("MaxResults", PAGE),
            ];
            if !token.is_empty() {
                params.push(("NextToken", token.as_str()));
            }
            let rsp = nlb.rpc(Product::Nlb, "ListListeners", &params).await?;
            let page: Page = crate::deploy::answer("ListListeners", rsp)?;
            for l in page.listeners {
                // Filtered by the request too; checked again so a TCP listener is never a target.
                if l.listener_protocol == "TCPSSL" {
                    out.push(super::alb::target(&l.listener_id, region.as_ref()));
                }
            }
            match page.next_token {
                Some(next) if !next.is_empty() && next != token => token = next,
                _ => return Ok(out),
            }
        }
        Err(Error::Deploy(format!(
            "nlb: ListListeners gave more than {MAX_PAGES} pages"
        )))
    })
}
