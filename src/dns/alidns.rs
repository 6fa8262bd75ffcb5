//! Alidns (Alibaba Cloud DNS) as a DNS-01 provider.
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::{OnceCell, Semaphore};

use super::{longest_suffix, relative_name, DnsProvider, TxtRecord, Zone};
use crate::aliyun::{AliyunClient, Product};
use crate::error::{Error, Result};

/// Cheap to clone: the zone list and the call bound are shared by every clone, so all orders
/// of an invocation list zones once and stay within one bound together.
#[derive(Clone)]
pub struct Alidns {
    client: AliyunClient,
    ttl: u32,
    /// The account's zones, listed once per invocation.
    zones: Arc<OnceCell<Vec<Zone>>>,
    /// The certificate the records are for, written into their remark.
    owner: String,
    /// Bounds the Alidns calls in flight when orders run concurrently (Alidns throttles per
    /// account; throttled calls are retried by the client, this keeps them rare).
    calls: Arc<Semaphore>,
}

/// Alidns calls in flight at once unless [`Alidns::with_max_concurrent_calls`] says otherwise.
const DEFAULT_CONCURRENT_CALLS: usize = 5;

impl Alidns {
    pub fn new(client: AliyunClient, ttl: u32) -> Alidns {
        Alidns {
            client,
            ttl,
            zones: Arc::new(OnceCell::new()),
            owner: String::new(),
            calls: Arc::new(Semaphore::new(DEFAULT_CONCURRENT_CALLS)),
        }
    }

    /// A handle whose records name certificate `name` in their remark (zones and the call
    /// bound stay shared).
    pub fn for_certificate(&self, name: &str) -> Alidns {
        Alidns {
            owner: name.to_string(),
            ..self.clone()
        }
    }

    /// Mark a record as alicert's (so a crashed run's leftovers can be swept).
    async fn mark(&self, record_id: &str) -> Result<()> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let remark = super::sweep::remark(&self.owner, now);
        self.call(
            "UpdateDomainRecordRemark",
            &[("RecordId", record_id), ("Remark", &remark)],
        )
        .await?;
        Ok(())
    }

    pub fn with_max_concurrent_calls(mut self, n: usize) -> Alidns {
        self.calls = Arc::new(Semaphore::new(n.max(1)));
        self
    }

    async fn call(&self, action: &str, params: &[(&str, &str)]) -> Result<Value> {
        let _permit = self.calls.acquire().await.expect("semaphore never closed");
        self.client.rpc(Product::Alidns, action, params).await
    }

    async fn list_zones(&self) -> Result<Vec<Zone>> {
        const PAGE_SIZE: usize = 100;
        let mut zones = Vec::new();
        for page in 1.. {
            let page_s = page.to_string();
            let size_s = PAGE_SIZE.to_string();
            let rsp = self
                .call(
                    "DescribeDomains",
                    &[("PageNumber", &page_s), ("PageSize", &size_s)],
                )
                .await?;
            let items = rsp["Domains"]["Domain"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for d in &items {
                // PunyCode is the ASCII form for IDN zones; DomainName may be Unicode.
                let name = d["PunyCode"]
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .or(d["DomainName"].as_str())
                    .unwrap_or_default()
                    .trim_end_matches('.')
                    .to_ascii_lowercase();
                let name_servers = d["DnsServers"]["DnsServer"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                zones.push(Zone { name, name_servers });
            }
            let total = rsp["TotalCount"].as_u64().unwrap_or(0) as usize;
            if items.len() < PAGE_SIZE || zones.len() >= total {
                break;
            }
        }
        Ok(zones)
    }
}

fn record_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Alidns {
    /// The RecordId of the TXT record at `fqdn` with exactly `value`, if there is one.
    async fn find_txt(&self, zone: &Zone, fqdn: &str, value: &str) -> Result<Option<String>> {
        let rsp = self
            .call(
                "DescribeSubDomainRecords",
                &[
                    ("SubDomain", fqdn),
                    ("DomainName", &zone.name),
                    ("Type", "TXT"),
                    ("PageSize", "500"),
                ],
            )
            .await?;
        Ok(rsp["DomainRecords"]["Record"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["Value"].as_str() == Some(value))
            .and_then(|r| record_id(&r["RecordId"])))
    }
}

#[async_trait]
impl DnsProvider for Alidns {
    async fn zone_for(&self, fqdn: &str) -> Result<Zone> {
        let zones = self.zones.get_or_try_init(|| self.list_zones()).await?;
        let best =
            longest_suffix(fqdn, zones.iter().map(|z| z.name.as_str())).ok_or_else(|| {
                Error::Dns(format!(
                    "no Alidns zone in this account holds {fqdn} (the account has {} zone(s)); \
                 add the domain to Alibaba Cloud DNS or fix `domains`",
                    zones.len()
                ))
            })?;
        Ok(zones
            .iter()
            .find(|z| z.name == best)
            .cloned()
            .expect("found above"))
    }

    async fn add_txt(&self, zone: &Zone, fqdn: &str, value: &str) -> Result<TxtRecord> {
        let rr = relative_name(fqdn, &zone.name)
            .ok_or_else(|| Error::Dns(format!("{fqdn} is not inside zone {}", zone.name)))?;
        let ttl = self.ttl.to_string();
        let added = self
            .call(
                "AddDomainRecord",
                &[
                    ("DomainName", &zone.name),
                    ("RR", &rr),
                    ("Type", "TXT"),
                    ("Value", value),
                    ("TTL", &ttl),
                ],
            )
            .await;
        let id = match added {
            Ok(rsp) => record_id(&rsp["RecordId"]).ok_or_else(|| {
                Error::Dns(format!("AddDomainRecord for {fqdn} returned no RecordId"))
            })?,
            // A retried call whose first attempt did land (or a crashed run of the same order):
            // the value is this order's key-authorization digest, so the record is ours to adopt.
            Err(Error::Aliyun { code, .. }) if code == "DomainRecordDuplicate" => {
                self.find_txt(zone, fqdn, value).await?.ok_or_else(|| {
                    Error::Dns(format!(
                        "Alidns reports a duplicate TXT record at {fqdn} but lists none with this value"
                    ))
                })?
            }
            Err(e) => return Err(e),
        };
        if let Err(e) = self.mark(&id).await {
            // Unmarked, a leftover could never be swept: do not go on with it.
            let record = TxtRecord {
                id: id.clone(),
                fqdn: fqdn.to_string(),
                value: value.to_string(),
                zone: zone.name.clone(),
            };
            if let Err(d) = self.delete_txt(&record).await {
                tracing::error!(fqdn, record_id = %id, error = %d, "could not delete an unmarked TXT record");
            }
            return Err(e);
        }
        tracing::info!(fqdn, record_id = %id, zone = %zone.name, "TXT record created");
        Ok(TxtRecord {
            id,
            fqdn: fqdn.to_string(),
            value: value.to_string(),
            zone: zone.name.clone(),
        })
    }

    async fn sweep_stale(&self, zone: &Zone, grace: std::time::Duration) -> Result<usize> {
        const PAGE_SIZE: usize = 500;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut stale = Vec::new();
        for page in 1..=20 {
            let page_s = page.to_string();
            let size_s = PAGE_SIZE.to_string();
            let rsp = self
                .client
                .rpc(
                    Product::Alidns,
                    "DescribeDomainRecords",
                    &[
                        ("DomainName", &zone.name),
                        ("RRKeyWord", "_acme-challenge"),
                        ("Type", "TXT"),
                        ("PageNumber", &page_s),
                        ("PageSize", &size_s),
                    ],
                )
                .await?;
            let items = rsp["DomainRecords"]["Record"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for r in &items {
                let rr = r["RR"].as_str().unwrap_or_default();
                let kind = r["Type"].as_str().unwrap_or_default();
                if super::sweep::is_stale(rr, kind, r["Remark"].as_str(), now, grace) {
                    if let Some(id) = record_id(&r["RecordId"]) {
                        stale.push(TxtRecord {
                            id,
                            fqdn: format!("{rr}.{}", zone.name),
                            value: r["Value"].as_str().unwrap_or_default().to_string(),
                            zone: zone.name.clone(),
                        });
                    }
                }
            }
            let total = rsp["TotalCount"].as_u64().unwrap_or(0) as usize;
            if items.len() < PAGE_SIZE || page * PAGE_SIZE >= total {
                break;
            }
        }
        for record in &stale {
            tracing::warn!(fqdn = %record.fqdn, record_id = %record.id, "sweeping a TXT record a crashed run left behind");
            self.delete_txt(record).await?;
        }
        Ok(stale.len())
    }

    async fn delete_txt(&self, record: &TxtRecord) -> Result<()> {
        match self
            .call("DeleteDomainRecord", &[("RecordId", &record.id)])
            .await
        {
            Ok(_) => {
                tracing::info!(fqdn = %record.fqdn, record_id = %record.id, "TXT record deleted");
                Ok(())
            }
            // Already gone (deleted by hand or by an earlier attempt): the goal is reached.
            Err(Error::Aliyun { code, .. }) if code == "DomainRecordNotBelongToUser" => Ok(()),
            Err(e) => Err(e),
        }
    }
}
