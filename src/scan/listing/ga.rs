//! Global Accelerator listeners: every HTTPS listener of every accelerator (the one protocol
//! that takes a certificate; TCP, UDP and HTTP hold none), each as `{listener_id}` — the
//! listener's default certificate, as deploy/ga.rs reads it. GA is called in cn-hangzhou only
//! (deploy/ga.rs), so scan lists it once (Reach::Own) and its targets have no `region`.
//!
//! PyPI alibabacloud-ga20191120 3.0.2, client.py `list_accelerators_with_options` and
//! `list_listeners_with_options` (RPC, version 2019-11-20); models/_list_accelerators_request.py
//! and _list_listeners_request.py: RegionId required, "Set the value to **cn-hangzhou**";
//! ListListeners' AcceleratorId required; PageNumber "Default value: **1**", PageSize "Maximum
//! value: **50**. Default value: **10**"; the response bodies: `Accelerators[].AcceleratorId`,
//! `Listeners[]` with `ListenerId` and `Protocol` (**TCP** | **UDP** | **HTTP** | **HTTPS**),
//! and `TotalCount`.
use futures_util::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::aliyun::{AliyunClient, Product};
use crate::error::{Error, Result};
use crate::ident::RegionId;

/// The actions this file calls (tests/policy.rs).
pub(crate) const RAM: &[&str] = &["ga:ListAccelerators", "ga:ListListeners"];

/// GA's API region (deploy/ga.rs).
const GA_REGION: &str = "cn-hangzhou";
/// The largest page of both listings (PageSize, above).
const PAGE_SIZE: usize = 50;
/// A guard against a listing that never ends (half a million entries).
const MAX_PAGES: usize = 10_000;

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Accelerators {
    accelerators: Vec<Accelerator>,
    total_count: usize,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Accelerator {
    accelerator_id: String,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Listeners {
    listeners: Vec<Listener>,
    total_count: usize,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Listener {
    listener_id: String,
    protocol: String,
}

/// A page of a PageNumber/PageSize listing: its entries and TotalCount.
trait Paged: DeserializeOwned {
    type Item;
    fn split(self) -> (Vec<Self::Item>, usize);
}

impl Paged for Accelerators {
    type Item = Accelerator;
    fn split(self) -> (Vec<Accelerator>, usize) {
        (self.accelerators, self.total_count)
    }
}

impl Paged for Listeners {
    type Item = Listener;
    fn split(self) -> (Vec<Listener>, usize) {
        (self.listeners, self.total_count)
    }
}

/// Every HTTPS listener of every accelerator, all pages of both listings.
pub fn list<'a>(
    _table: &'a toml::Table,
    client: &'a AliyunClient,
) -> BoxFuture<'a, Result<Vec<toml::Table>>> {
    Box::pin(async move {
        let ga = client.for_region(&RegionId::parse(GA_REGION).expect("a region id"));
        let size = PAGE_SIZE.to_string();
        let mut accelerators = Vec::new();
        for number in 1..=MAX_PAGES {
            let n = number.to_string();
            let params = [
                ("RegionId", GA_REGION),
                ("PageNumber", n.as_str()),
                ("PageSize", size.as_str()),
            ];
            let rsp = ga.rpc(Product::Ga, "ListAccelerators", &params).await?;
            if !take::<Accelerators>("ListAccelerators", rsp, &mut accelerators)? {
                break;
            }
            if number == MAX_PAGES {
                return Err(too_many("ListAccelerators"));
            }
        }
        let mut out = Vec::new();
        for accelerator in &accelerators {
            let mut listeners = Vec::new();
            for number in 1..=MAX_PAGES {
                let n = number.to_string();
                let params = [
                    ("RegionId", GA_REGION),
                    ("AcceleratorId", accelerator.accelerator_id.as_str()),
                    ("PageNumber", n.as_str()),
                    ("PageSize", size.as_str()),
                ];
                let rsp = ga.rpc(Product::Ga, "ListListeners", &params).await?;
                if !take::<Listeners>("ListListeners", rsp, &mut listeners)? {
                    break;
                }
                if number == MAX_PAGES {
                    return Err(too_many("ListListeners"));
                }
            }
            out.extend(
                listeners
                    .into_iter()
                    .filter(|l| l.protocol == "HTTPS")
                    .map(|l| super::table(&[("listener_id", &l.listener_id)])),
            );
        }
        Ok(out)
    })
}

fn too_many(action: &str) -> Error {
    Error::Deploy(format!("ga: {action} gave more than {MAX_PAGES} pages"))
}

/// Adds a page's entries to `into`; whether another page follows (a full page, and fewer
/// entries so far than TotalCount).
fn take<P: Paged>(action: &str, rsp: serde_json::Value, into: &mut Vec<P::Item>) -> Result<bool> {
    let (items, total) = crate::deploy::answer::<P>(action, rsp)?.split();
    let full = items.len() == PAGE_SIZE;
    into.extend(items);
    Ok(full && into.len() < total)
}
