//! Alidns (Alibaba Cloud DNS) as a DNS-01 provider.
use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::{OnceCell, Semaphore};

use super::caa::Caa;
use super::persist::{self, Existing};
use super::{longest_suffix, relative_name, CaaRecord, DnsProvider, TxtRecord, Zone};
use crate::aliyun::{AliyunClient, Product, RoleArn};

mod zones;
use crate::error::{Error, Result};

/// Cheap to clone: the zone list and the call bound are shared by every clone, so all orders
/// of an invocation list zones once and stay within one bound together.
#[derive(Clone)]
pub struct Alidns {
    client: AliyunClient,
    ttl: u32,
    /// The account's zones, listed once per invocation.
    zones: Arc<OnceCell<Vec<Zone>>>,
    /// Zone → its sweep of stale records, done once per invocation for all orders together.
    swept: Arc<std::sync::Mutex<HashMap<String, Arc<OnceCell<usize>>>>>,
    /// The certificate the records are for, written into their remark.
    owner: String,
    /// `[dns] sweep_grace_secs`: a duplicate add waits for the sweep of its name with it.
    sweep_grace: std::time::Duration,
    /// Bounds the Alidns calls in flight when orders run concurrently (Alidns throttles per
    /// account; throttled calls are retried by the client, this keeps them rare).
    calls: Arc<Semaphore>,
    /// `[[zone]]` mappings with `role_arn`: these zones are in another account, and every
    /// call on them is signed with the role's credentials (aliyun/role.rs).
    roles: Arc<Vec<(String, RoleArn)>>,
    /// Mapped zones that could not be found through their role (this invocation), with why:
    /// names under them fail with it, other zones go on.
    unreachable: Arc<std::sync::Mutex<Vec<(String, String)>>>,
}

/// `[dns] sweep_grace_secs`' default, unless [`Alidns::with_sweep_grace`] says otherwise.
const DEFAULT_SWEEP_GRACE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Alidns calls in flight at once unless [`Alidns::with_max_concurrent_calls`] says otherwise.
const DEFAULT_CONCURRENT_CALLS: usize = 25;

/// AddDomainRecord's answer when the zone has the record already (same RR, type and value).
const DUPLICATE: &str = "DomainRecordDuplicate";

impl Alidns {
    pub fn new(client: AliyunClient, ttl: u32) -> Alidns {
        Alidns {
            client,
            ttl,
            zones: Arc::new(OnceCell::new()),
            swept: Arc::default(),
            owner: String::new(),
            sweep_grace: DEFAULT_SWEEP_GRACE,
            calls: Arc::new(Semaphore::new(DEFAULT_CONCURRENT_CALLS)),
            roles: Arc::default(),
            unreachable: Arc::default(),
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
    async fn mark(&self, zone: &str, record_id: &str) -> Result<()> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let remark = super::sweep::remark(&self.owner, now);
        debug_assert!(super::sweep::is_valid_remark(&remark), "{remark}");
        self.call(
            zone,
            "UpdateDomainRecordRemark",
            &[("RecordId", record_id), ("Remark", &remark)],
        )
        .await?;
        Ok(())
    }

    pub fn with_sweep_grace(mut self, grace: std::time::Duration) -> Alidns {
        self.sweep_grace = grace;
        self
    }

    pub fn with_max_concurrent_calls(mut self, n: usize) -> Alidns {
        self.calls = Arc::new(Semaphore::new(n.max(1)));
        self
    }

    async fn call(&self, zone: &str, action: &str, params: &[(&str, &str)]) -> Result<Value> {
        let client = self.client_for(zone).await?;
        let _permit = self.calls.acquire().await.expect("semaphore never closed");
        client.rpc(Product::Alidns, action, params).await
    }

    /// Every item of a listing, page after page until `TotalCount` items are in (an empty
    /// page also ends it: the list shrank meanwhile).
    async fn list_all(
        &self,
        zone: &str,
        listing: &Listing,
        params: &[(&str, &str)],
    ) -> Result<Vec<Value>> {
        let size = listing.page_size.to_string();
        let mut out = Vec::new();
        for page in 1u64.. {
            let page_s = page.to_string();
            let mut p = params.to_vec();
            p.extend([("PageNumber", page_s.as_str()), ("PageSize", size.as_str())]);
            let rsp = self.call(zone, listing.action, &p).await?;
            let items = rsp[listing.list][listing.item]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let last = match rsp["TotalCount"].as_u64() {
                Some(total) => items.is_empty() || (out.len() + items.len()) as u64 >= total,
                None => items.len() < listing.page_size,
            };
            out.extend(items);
            if last {
                break;
            }
        }
        Ok(out)
    }

    /// Delete the `records` (a listing of `zone`) that `is_stale` picks, logging each.
    async fn sweep(
        &self,
        zone: &Zone,
        records: &[Value],
        is_stale: impl Fn(&str, &str, Option<&str>) -> bool,
    ) -> Result<usize> {
        let mut stale = Vec::new();
        for r in records {
            let rr = r["RR"].as_str().unwrap_or_default();
            let kind = r["Type"].as_str().unwrap_or_default();
            let remark = r["Remark"].as_str();
            if !is_stale(rr, kind, remark) {
                continue;
            }
            if let Some(id) = record_id(&r["RecordId"]) {
                let owner = remark
                    .and_then(super::sweep::parse_remark)
                    .map(|m| m.owner)
                    .unwrap_or_default();
                stale.push((
                    owner,
                    TxtRecord {
                        id,
                        fqdn: format!("{rr}.{}", zone.name),
                        value: r["Value"].as_str().unwrap_or_default().to_string(),
                        zone: zone.name.clone(),
                    },
                ));
            }
        }
        let deletes = stale.iter().map(|(owner, record)| {
            tracing::warn!(fqdn = %record.fqdn, record_id = %record.id, certificate = %owner, "sweeping a TXT record a crashed run left behind");
            self.delete_txt(record)
        });
        // All at once (within the call bound); the first failure after all of them ended.
        futures_util::future::join_all(deletes)
            .await
            .into_iter()
            .collect::<Result<Vec<()>>>()?;
        Ok(stale.len())
    }
}

/// A paged Alidns listing: the action, its largest `PageSize` and where the items are.
struct Listing {
    action: &'static str,
    page_size: usize,
    list: &'static str,
    item: &'static str,
}

// Page size maxima from the SDK request models (PyPI alibabacloud-alidns20150109 4.6.1,
// alibabacloud_alidns20150109/models/): _describe_domains_request.py "The maximum value is
// **100**", _describe_sub_domain_records_request.py "Maximum value: **100**" (older API pages
// said 500; the current model is the stricter), _describe_domain_records_request.py
// "Maximum value: **500**". Default for all three: 20.
const DOMAINS: Listing = Listing {
    action: "DescribeDomains",
    page_size: 100,
    list: "Domains",
    item: "Domain",
};
const SUB_DOMAIN_RECORDS: Listing = Listing {
    action: "DescribeSubDomainRecords",
    page_size: 100,
    list: "DomainRecords",
    item: "Record",
};
const DOMAIN_RECORDS: Listing = Listing {
    action: "DescribeDomainRecords",
    page_size: 500,
    list: "DomainRecords",
    item: "Record",
};

fn record_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Whether a zone is delegated to Alidns: DescribeDomainNs (alibabacloud-alidns20150109
/// DescribeDomainNsResponseBody: AllAliDns, DnsServers.DnsServer[] as the registry delegates,
/// ExpectDnsServers.ExpectDnsServer[] as Alidns expects).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    pub all_alidns: bool,
    pub serving: Vec<String>,
    pub expected: Vec<String>,
}

impl Alidns {
    /// `alicert doctor`: how `zone` is delegated (read only).
    pub async fn delegation(&self, zone: &str) -> Result<Delegation> {
        let rsp = self
            .call(zone, "DescribeDomainNs", &[("DomainName", zone)])
            .await?;
        let list = |v: &Value| -> Vec<String> {
            let items = v.as_array().into_iter().flatten();
            items.filter_map(|s| s.as_str().map(String::from)).collect()
        };
        Ok(Delegation {
            all_alidns: rsp["AllAliDns"].as_bool() == Some(true),
            serving: list(&rsp["DnsServers"]["DnsServer"]),
            expected: list(&rsp["ExpectDnsServers"]["ExpectDnsServer"]),
        })
    }

    /// Delete the stale marked `_acme-challenge` TXT records of `zone` (see [`DnsProvider::sweep_stale`]).
    async fn sweep_zone(&self, zone: &Zone, grace: std::time::Duration) -> Result<usize> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let records = self
            .list_all(
                &zone.name,
                &DOMAIN_RECORDS,
                &[
                    ("DomainName", &zone.name),
                    ("RRKeyWord", "_acme-challenge"),
                    ("Type", "TXT"),
                ],
            )
            .await?;
        self.sweep(zone, &records, |rr, kind, remark| {
            super::sweep::is_stale(rr, kind, remark, now, grace)
        })
        .await
    }

    /// AddDomainRecord: the new record's RecordId.
    async fn add_record(&self, zone: &Zone, fqdn: &str, rr: &str, value: &str) -> Result<String> {
        let ttl = self.ttl.to_string();
        let rsp = self
            .call(
                &zone.name,
                "AddDomainRecord",
                &[
                    ("DomainName", &zone.name),
                    ("RR", rr),
                    ("Type", "TXT"),
                    ("Value", value),
                    ("TTL", &ttl),
                ],
            )
            .await?;
        record_id(&rsp["RecordId"])
            .ok_or_else(|| Error::Dns(format!("AddDomainRecord for {fqdn} returned no RecordId")))
    }

    /// The `kind` records at exactly `fqdn` in `zone` (DescribeSubDomainRecords, every page).
    async fn records_at(&self, zone: &Zone, fqdn: &str, kind: &str) -> Result<Vec<Value>> {
        self.list_all(
            &zone.name,
            &SUB_DOMAIN_RECORDS,
            &[
                ("SubDomain", fqdn),
                ("DomainName", &zone.name),
                ("Type", kind),
            ],
        )
        .await
    }

    /// The RecordId of the TXT record at `fqdn` with exactly `value`, if there is one.
    async fn find_txt(&self, zone: &Zone, fqdn: &str, value: &str) -> Result<Option<String>> {
        let records = self.records_at(zone, fqdn, "TXT").await?;
        Ok(records
            .iter()
            .find(|r| r["Value"].as_str() == Some(value))
            .and_then(|r| record_id(&r["RecordId"])))
    }
}

#[async_trait]
impl DnsProvider for Alidns {
    async fn hosted_zone(&self, fqdn: &str) -> Result<Option<Zone>> {
        let zones = self.zones.get_or_try_init(|| self.list_zones()).await?;
        if let Some(e) = self.unreachable_for(fqdn) {
            return Err(e);
        }
        let best = longest_suffix(fqdn, zones.iter().map(|z| z.name.as_str()));
        Ok(best.and_then(|best| zones.iter().find(|z| z.name == best).cloned()))
    }

    async fn zone_for(&self, fqdn: &str) -> Result<Zone> {
        let zones = self
            .zones
            .get_or_try_init(|| self.list_zones())
            .await?
            .len();
        self.hosted_zone(fqdn).await?.ok_or_else(|| {
            Error::Dns(format!(
                "no Alidns zone in this account holds {fqdn} (the account has {zones} zone(s)); \
                 add the domain to Alibaba Cloud DNS, fix `domains`, or delegate the challenge \
                 with a CNAME (`challenge_alias`)"
            ))
        })
    }

    async fn create_txt(&self, zone: &Zone, fqdn: &str, value: &str) -> Result<TxtRecord> {
        let rr = relative_name(fqdn, &zone.name)
            .ok_or_else(|| Error::Dns(format!("{fqdn} is not inside zone {}", zone.name)))?;
        let id = match self.add_record(zone, fqdn, &rr, value).await {
            // A leftover of a crashed run with this very value (the CA handed out the same
            // authorization again) is swept first: the zone's sweep may be deleting it right
            // now, beside this add. Then add again.
            Err(Error::Aliyun { code, .. }) if code == DUPLICATE => {
                self.sweep_stale_at(zone, fqdn, self.sweep_grace).await?;
                self.add_record(zone, fqdn, &rr, value).await
            }
            other => other,
        };
        let id = match id {
            Ok(id) => id,
            // A retried call whose first attempt did land (or a recent, unswept record of the
            // same order): the value is this order's key-authorization digest, so the record
            // is ours to adopt.
            Err(Error::Aliyun { code, .. }) if code == DUPLICATE => {
                self.find_txt(zone, fqdn, value).await?.ok_or_else(|| {
                    Error::Dns(format!(
                        "Alidns reports a duplicate TXT record at {fqdn} but lists none with this value"
                    ))
                })?
            }
            Err(e) => return Err(e),
        };
        tracing::info!(fqdn, record_id = %id, zone = %zone.name, "TXT record created");
        Ok(TxtRecord {
            id,
            fqdn: fqdn.to_string(),
            value: value.to_string(),
            zone: zone.name.clone(),
        })
    }

    async fn mark_txt(&self, record: &TxtRecord) -> Result<()> {
        self.mark(&record.zone, &record.id).await
    }

    /// Once per zone and invocation: the orders after the first find it swept (0 returned).
    async fn sweep_stale(&self, zone: &Zone, grace: std::time::Duration) -> Result<usize> {
        let cell = {
            let mut swept = self.swept.lock().unwrap_or_else(|e| e.into_inner());
            swept.entry(zone.name.clone()).or_default().clone()
        };
        let mut first = false;
        let n = *cell
            .get_or_try_init(|| {
                first = true;
                self.sweep_zone(zone, grace)
            })
            .await?;
        Ok(if first { n } else { 0 })
    }

    async fn sweep_stale_at(
        &self,
        zone: &Zone,
        fqdn: &str,
        grace: std::time::Duration,
    ) -> Result<usize> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let records = self.records_at(zone, fqdn, "TXT").await?;
        self.sweep(zone, &records, |_, kind, remark| {
            super::sweep::is_stale_mark(kind, remark, now, grace)
        })
        .await
    }

    async fn caa_records(&self, zone: &Zone, fqdn: &str) -> Result<Vec<CaaRecord>> {
        let rr = relative_name(fqdn, &zone.name)
            .ok_or_else(|| Error::Dns(format!("{fqdn} is not inside zone {}", zone.name)))?;
        let records = self.records_at(zone, fqdn, "CAA").await?;
        Ok(records
            .iter()
            .filter(|r| r["RR"].as_str() == Some(rr.as_str()))
            .filter_map(|r| {
                Some(CaaRecord {
                    id: record_id(&r["RecordId"])?,
                    caa: Caa::parse(r["Value"].as_str()?)?,
                    ours: r["Remark"]
                        .as_str()
                        .is_some_and(|m| super::sweep::is_remark_of(&self.owner, m)),
                })
            })
            .collect())
    }

    async fn put_caa(&self, zone: &Zone, fqdn: &str, id: Option<&str>, caa: &Caa) -> Result<()> {
        let rr = relative_name(fqdn, &zone.name)
            .ok_or_else(|| Error::Dns(format!("{fqdn} is not inside zone {}", zone.name)))?;
        let value = caa.to_string();
        let ttl = self.ttl.to_string();
        if let Some(id) = id {
            self.call(
                &zone.name,
                "UpdateDomainRecord",
                &[
                    ("RecordId", id),
                    ("RR", &rr),
                    ("Type", "CAA"),
                    ("Value", &value),
                    ("TTL", &ttl),
                ],
            )
            .await?;
            tracing::info!(fqdn, record_id = id, value = %value, "CAA record updated");
            return Ok(());
        }
        let added = self
            .call(
                &zone.name,
                "AddDomainRecord",
                &[
                    ("DomainName", &zone.name),
                    ("RR", &rr),
                    ("Type", "CAA"),
                    ("Value", &value),
                    ("TTL", &ttl),
                ],
            )
            .await?;
        let id = record_id(&added["RecordId"]).ok_or_else(|| {
            Error::Dns(format!("AddDomainRecord for {fqdn} returned no RecordId"))
        })?;
        if let Err(e) = self.mark(&zone.name, &id).await {
            // Unmarked, alicert would not know the record as its own: do not keep it.
            if let Err(d) = self
                .call(&zone.name, "DeleteDomainRecord", &[("RecordId", &id)])
                .await
            {
                tracing::error!(fqdn, record_id = %id, error = %d, "could not delete an unmarked CAA record");
            }
            return Err(e);
        }
        tracing::info!(fqdn, record_id = %id, value = %value, "CAA record created");
        Ok(())
    }

    async fn txt_records_at(&self, zone: &Zone, fqdn: &str) -> Result<Vec<Existing>> {
        let rr = relative_name(fqdn, &zone.name)
            .ok_or_else(|| Error::Dns(format!("{fqdn} is not inside zone {}", zone.name)))?;
        let records = self.records_at(zone, fqdn, "TXT").await?;
        Ok(records
            .iter()
            .filter(|r| r["RR"].as_str() == Some(rr.as_str()))
            .filter_map(|r| {
                let remark = r["Remark"].as_str().unwrap_or_default();
                Some(Existing {
                    id: record_id(&r["RecordId"])?,
                    value: r["Value"].as_str()?.to_string(),
                    ours: super::sweep::is_remark_of(&self.owner, remark),
                    alicert: super::sweep::parse_remark(remark).is_some(),
                })
            })
            .collect())
    }

    async fn update_txt(&self, zone: &Zone, fqdn: &str, id: &str, value: &str) -> Result<()> {
        let rr = relative_name(fqdn, &zone.name)
            .ok_or_else(|| Error::Dns(format!("{fqdn} is not inside zone {}", zone.name)))?;
        let ttl = self.ttl.to_string();
        self.call(
            &zone.name,
            "UpdateDomainRecord",
            &[
                ("RecordId", id),
                ("RR", &rr),
                ("Type", "TXT"),
                ("Value", value),
                ("TTL", &ttl),
            ],
        )
        .await?;
        tracing::info!(fqdn, record_id = id, value, "TXT record updated");
        Ok(())
    }

    async fn persist_records(&self, zone: &Zone) -> Result<Vec<(TxtRecord, Option<String>)>> {
        // Without SearchMode and KeyWord, RRKeyWord is a fuzzy, case-insensitive match
        // (SDK 4.6.1 models/_describe_domain_records_request.py); the exact name test follows.
        let records = self
            .list_all(
                &zone.name,
                &DOMAIN_RECORDS,
                &[
                    ("DomainName", &zone.name),
                    ("RRKeyWord", persist::LABEL),
                    ("Type", "TXT"),
                ],
            )
            .await?;
        Ok(records
            .iter()
            .filter(|r| {
                r["Type"]
                    .as_str()
                    .is_some_and(|t| t.eq_ignore_ascii_case("TXT"))
            })
            .filter_map(|r| {
                let rr = r["RR"].as_str().filter(|rr| persist::is_persist_rr(rr))?;
                let record = TxtRecord {
                    id: record_id(&r["RecordId"])?,
                    fqdn: format!("{rr}.{}", zone.name),
                    value: r["Value"].as_str().unwrap_or_default().to_string(),
                    zone: zone.name.clone(),
                };
                Some((record, r["Remark"].as_str().map(str::to_string)))
            })
            .collect())
    }

    async fn delete_txt(&self, record: &TxtRecord) -> Result<()> {
        match self
            .call(
                &record.zone,
                "DeleteDomainRecord",
                &[("RecordId", &record.id)],
            )
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

/// The Alidns actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &[
    "alidns:DescribeDomains",
    "alidns:DescribeSubDomainRecords",
    "alidns:DescribeDomainRecords",
    "alidns:AddDomainRecord",
    "alidns:UpdateDomainRecordRemark",
    "alidns:DeleteDomainRecord",
    "alidns:UpdateDomainRecord",
    "alidns:DescribeDomainNs",
];
