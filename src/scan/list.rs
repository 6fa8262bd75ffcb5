//! One listing per kind (and region for the regional kinds): every endpoint the kind's
//! inventory (deploy/inventory.rs) returns as a target table, or else every domain its
//! `domains = "covered"` listing returns, each built as a target and read with
//! `Target::current`. Kinds run side by side; reads within a kind a few at a time.
use std::collections::HashMap;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};
use time::OffsetDateTime;

use super::listing::{ListRows, ListTargets};
use super::{Endpoint, Health, How, Reach, Scanned, Upload};
use crate::aliyun::AliyunClient;
use crate::budget::Budget;
use crate::cert::CertInfo;
use crate::deploy::discovery::Discovery;
use crate::deploy::kinds::{self, Entry, TargetKind};
use crate::error::{Error, Result};
use crate::ident::RegionId;
use crate::result::doctor::{Area, Check};

/// Reads of one kind's endpoints in flight at once (each is one or two calls; the client's
/// retry rules absorb throttling).
const READS_AT_ONCE: usize = 4;

/// Kept back from the invocation's deadline to assemble and return the report.
const KEEP: Duration = Duration::from_secs(3);

/// What listings found: the endpoints read, and what could not be listed or read.
pub type Listed = (Vec<Endpoint>, Vec<Check>);

/// One listing: a kind, in a region for the regional kinds.
pub struct Job {
    entry: &'static Entry,
    listing: Listing,
    region: Option<RegionId>,
}

/// How a kind's endpoints are listed.
#[derive(Clone, Copy)]
enum Listing {
    /// As target tables (listeners, buckets' domains, sites).
    Targets(ListTargets),
    /// As domains, each put under the kind's key.
    Domains(Discovery),
    /// As the certificates each endpoint holds, already read.
    Rows(ListRows),
}

impl Job {
    fn subject(&self) -> String {
        match &self.region {
            Some(r) => format!("{} listing in {}", self.entry.kind, r.as_str()),
            None => format!("{} listing", self.entry.kind),
        }
    }

    /// The target table the kind's listing and build take: `region` for regional kinds.
    fn table(&self) -> toml::Table {
        let mut t = toml::Table::new();
        if let Some(r) = &self.region {
            t.insert("region".into(), toml::Value::String(r.as_str().into()));
        }
        t
    }
}

/// The listings to make: every scanned kind, the regional ones once per region.
pub fn jobs(scanned: &[Scanned], regions: &[RegionId]) -> Vec<Job> {
    let mut out = Vec::new();
    for &Scanned { kind, reach, list } in scanned {
        let entry = kinds::find(kind.as_str()).expect("a scanned kind is in the kinds table");
        let discovery = || {
            entry
                .discovery
                .expect("a kind scanned by domain has a discovery key")
        };
        let listing = match list {
            How::Targets(list) => Listing::Targets(list),
            How::Rows(list) => Listing::Rows(list),
            How::Discovery => Listing::Domains(discovery()),
            How::Domains(list) => Listing::Domains(Discovery {
                list,
                ..discovery()
            }),
        };
        let one = |region| Job {
            entry,
            listing,
            region,
        };
        match reach {
            Reach::Regional => out.extend(regions.iter().map(|r| one(Some(r.clone())))),
            Reach::Global | Reach::Own => out.push(one(None)),
        }
    }
    out
}

/// Every listing side by side, each cut off at the deadline.
pub async fn run_all(
    jobs: &[Job],
    client: &AliyunClient,
    budget: Budget,
    expiring_days: u32,
) -> Listed {
    let runs: Vec<BoxFuture<'_, Listed>> = jobs
        .iter()
        .map(|job| Box::pin(bounded(job, client, budget, expiring_days)) as BoxFuture<'_, _>)
        .collect();
    let mut endpoints = Vec::new();
    let mut problems = Vec::new();
    for (e, p) in futures_util::future::join_all(runs).await {
        endpoints.extend(e);
        problems.extend(p);
    }
    (endpoints, problems)
}

/// One listing, cut off at the deadline (then it is one problem row).
async fn bounded(job: &Job, client: &AliyunClient, budget: Budget, expiring_days: u32) -> Listed {
    let work = async { Ok::<_, Error>(run(job, client, expiring_days).await) };
    let on_deadline = || {
        Error::Deploy(format!(
            "{}: not finished before the invocation's deadline",
            job.subject()
        ))
    };
    budget
        .within(KEEP, work, on_deadline)
        .await
        .unwrap_or_else(|e| {
            (
                vec![],
                vec![Check::from_error(Area::Target, job.subject(), "", &e)],
            )
        })
}

async fn run(job: &Job, client: &AliyunClient, expiring_days: u32) -> Listed {
    let kind = job.entry.kind;
    let region = job.region.as_ref().map(|r| r.as_str().to_string());
    if let Listing::Rows(list) = job.listing {
        return rows(job, list, client, expiring_days).await;
    }
    let mut tables = match list(job, client).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(%kind, region = region.as_deref().unwrap_or("-"), error = %e, "scan: listing failed");
            return (
                vec![],
                vec![Check::from_error(Area::Target, job.subject(), "", &e)],
            );
        }
    };
    tables.sort_by_key(|t| t.to_string());
    tables.dedup();
    tracing::info!(%kind, region = region.as_deref().unwrap_or("-"), listed = tables.len(), "scan: listed");
    // Collected, not a lazy map: a stream over a closure is not Send for every lifetime.
    let reads: Vec<BoxFuture<'_, (String, Read)>> = tables
        .iter()
        .map(|table| Box::pin(read(job, table, client)) as BoxFuture<'_, _>)
        .collect();
    let now = OffsetDateTime::now_utc();
    let mut endpoints = Vec::new();
    let mut problems = Vec::new();
    let mut results = stream::iter(reads).buffer_unordered(READS_AT_ONCE);
    while let Some((subject, read)) = results.next().await {
        match read {
            Ok((table, resource, served)) => endpoints.push(endpoint(
                kind,
                (table, resource),
                region.clone(),
                served.as_ref(),
                now,
                expiring_days,
            )),
            Err(e) => problems.push(Check::from_error(Area::Target, subject, "", &e)),
        }
    }
    (endpoints, problems)
}

/// A listing of the certificates endpoints hold: each row is read already.
async fn rows(job: &Job, list: ListRows, client: &AliyunClient, expiring_days: u32) -> Listed {
    let kind = job.entry.kind;
    let region = job.region.as_ref().map(|r| r.as_str().to_string());
    let rows = match list(&job.table(), client).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(%kind, error = %e, "scan: listing failed");
            let problem = Check::from_error(Area::Target, job.subject(), "", &e);
            return (vec![], vec![problem]);
        }
    };
    tracing::info!(%kind, listed = rows.len(), "scan: listed");
    let now = OffsetDateTime::now_utc();
    let endpoints = rows
        .into_iter()
        .map(|r| {
            let at = (r.table, r.resource);
            endpoint(
                kind,
                at,
                region.clone(),
                Some(&r.served),
                now,
                expiring_days,
            )
        })
        .collect();
    (endpoints, vec![])
}

/// The listing's endpoints as target tables: the kind's inventory, or its domains each put
/// under the kind's key.
async fn list(job: &Job, client: &AliyunClient) -> Result<Vec<toml::Table>> {
    let table = job.table();
    match job.listing {
        Listing::Targets(list) => list(&table, client).await,
        // Rows are listed by `rows`, which `run` calls instead.
        Listing::Rows(_) => Ok(vec![]),
        Listing::Domains(discovery) => {
            let domains = (discovery.list)(&table, client).await?;
            Ok(domains
                .into_iter()
                .map(|domain| {
                    let mut t = table.clone();
                    t.insert(discovery.key.into(), toml::Value::String(domain));
                    t
                })
                .collect())
        }
    }
}

type Read = Result<(toml::Table, String, Option<CertInfo>)>;

/// What one listed endpoint serves: (subject, (its table, its target's resource, the
/// certificate)).
async fn read(job: &Job, table: &toml::Table, client: &AliyunClient) -> (String, Read) {
    let kind = job.entry.kind;
    let target = match (job.entry.build)(table, "scan", client) {
        Ok(t) => t,
        Err(e) => {
            let listed = table.to_string().replace('\n', " ");
            let subject = format!("{kind} {}", listed.trim());
            return (subject, Err(Error::Config(e)));
        }
    };
    let resource = target.id().resource;
    let subject = format!("{kind} {resource}");
    let served = target.current().await;
    (subject, served.map(|s| (table.clone(), resource, s)))
}

/// The row of one endpoint: what it serves, and how close that is to its end.
fn endpoint(
    kind: TargetKind,
    (target, resource): (toml::Table, String),
    region: Option<String>,
    served: Option<&CertInfo>,
    now: OffsetDateTime,
    expiring_days: u32,
) -> Endpoint {
    let mut e = Endpoint {
        kind: kind.as_str().to_string(),
        resource,
        region,
        health: Health::None,
        names: vec![],
        serial: None,
        issuer: None,
        not_after: None,
        days_left: None,
        source: None,
        cas_id: None,
        uploaded_by_alicert: false,
        managed: false,
        certificate: None,
        fingerprint: None,
        target,
    };
    let Some(info) = served else {
        return e;
    };
    let left = info.not_after - now;
    // Whole days, rounded down: 0 on the last day, negative once expired.
    let days = left.whole_seconds().div_euclid(86_400);
    e.health = if left.is_negative() {
        Health::Expired
    } else if days < i64::from(expiring_days) {
        Health::Expiring
    } else {
        Health::Valid
    };
    e.names = info.names.clone();
    e.serial = Some(info.serial.clone());
    e.issuer = Some(info.issuer.clone());
    e.not_after = Some(crate::cert::rfc3339(info.not_after));
    e.days_left = Some(days);
    e.fingerprint = Some(info.fingerprint_sha256.to_ascii_lowercase());
    e
}

/// Every CAS upload (valid and expired), by lower-case SHA-256 fingerprint.
pub async fn cas_uploads(client: &AliyunClient) -> Result<HashMap<String, Upload>> {
    use crate::deploy::cas::{list_uploads, Listing};
    let listed = list_uploads(client, Listing::ValidAndExpired, |_| true).await?;
    Ok(listed
        .into_iter()
        .map(|c| {
            let upload = Upload {
                id: c.id,
                by_alicert: crate::naming::upload_owner(&c.name).is_some(),
            };
            (c.sha256.to_ascii_lowercase(), upload)
        })
        .collect())
}

/// The read actions of the kinds' RAM tables scan's calls come from (their writes excluded).
pub fn reads() -> Vec<&'static str> {
    use crate::deploy as d;
    let tables: &[&[&str]] = &[
        d::cdn::RAM,
        d::dcdn::RAM,
        d::live::RAM,
        d::vod::RAM,
        d::fc::RAM,
        d::apig::RAM,
        d::waf::RAM,
        // WAF domains are listed in CNAME mode: only DescribeDomainDetail reads them.
        &d::waf::target::RAM[..1],
        d::ddos::RAM,
        // Of OSS's table, only ListCname (a bucket's domains and their certificates).
        &d::oss::RAM[..1],
        // Of ESA SaaS's table, the hostname's lookup and read (not UpdateCustomHostname).
        &d::esa_saas::RAM[..2],
        // Of ESA's table, the site pool's listing and each certificate's read.
        &d::esa::RAM[..2],
        // Listed listeners are read for their default certificate only (scan/listing/).
        &d::alb::RAM[..1],
        &d::nlb::RAM[..1],
        &d::ga::RAM[..1],
        // Of API Gateway's table, only DescribeDomain (a group's custom domain and its certificate).
        &d::apigateway::RAM[..1],
        // Of SLB's table, only the reads of a listener's or SNI domain's server certificate.
        &d::slb::RAM[..3],
        // Of CAS's own table, only the read of a bound certificate (read_bound).
        &d::cas::RAM[..1],
        d::cas::list::RAM,
    ];
    tables
        .iter()
        .chain(super::listing::READS)
        .flat_map(|t| t.iter().copied())
        .filter(|a| {
            let action = a.split(':').nth(1).unwrap_or_default();
            ["Describe", "List", "Get"]
                .iter()
                .any(|p| action.starts_with(p))
        })
        .collect()
}
