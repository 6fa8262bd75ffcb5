//! CAS cloud-resource deployment (cas 2020-04-07): for products without a certificate API of
//! their own (Web Hosting, SAE, MSE, ...) CAS deploys the certificate itself, as a job.
//!
//! `resource_ids = [...]` (the `Id`s ListCloudResources gives): each resource is its own target
//! (built one per id by `deploy::build_all`), with its own job, so a failed resource is a failed
//! target and the others still count.
//! Read: ListCloudResources (every page) → the resource's `CertId` → CAS.
//! Write: ListContact (a job needs a contact: the account's first), CreateDeploymentJob
//! (`JobType=user`, the hub's CAS copy, this resource) — the job is created `editing` and never
//! runs there — UpdateDeploymentJobStatus `Status=pending`, then DescribeDeploymentJob until
//! `success` or `error` (within [`SETTLE_FOR`], progress logged), and ListWorkerResource for this
//! resource's worker: anything but `success` fails the target with the worker's status.
//!
//! Fields (alibabacloud-cas20200407 3.9.4 models): CreateDeploymentJobRequest CertIds,
//! ContactIds, ResourceIds (comma-separated str), JobType (`cloud` | `user`), Name;
//! CreateDeploymentJobResponseBody JobId int; UpdateDeploymentJobStatusRequest JobId int, Status
//! `pending` | `scheduling` | `editing`; DescribeDeploymentJobResponseBody Status `pending` |
//! `editing` | `scheduling` | `processing` | `error` | `success`; ListWorkerResourceResponseBody
//! Data[] ResourceId int, Status str (no error text in the model); ListCloudResourcesResponseBody
//! Data[] Id int, CertId int; ListContactResponseBody ContactList[] ContactId int.
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Deserialize;

use super::kinds::{Kind, TargetKind};
use super::{answer, cas, CasConsumer, CasCopy, NewCert, Target, TargetId};
use crate::aliyun::{AliyunClient, Product};
use crate::cert::CertInfo;
use crate::error::{Error, Result};

/// How long a job may take (CAS documents no bound; jobs run for seconds to minutes).
const SETTLE_FOR: Duration = Duration::from_secs(600);
const FIRST_POLL: Duration = Duration::from_millis(100);
const MAX_POLL: Duration = Duration::from_secs(5);
/// Page size for ListCloudResources / ListWorkerResource (defaults 20 and 50 in the models, no
/// maximum given; the emulator holds it to 100).
const SHOW_SIZE: usize = 50;
const MAX_PAGES: usize = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(deserialize_with = "resource_ids")]
    pub resource_ids: Vec<u64>,
}

/// `resource_ids`: at least one, each once (ListCloudResources' numeric `Id`).
fn resource_ids<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<u64>, D::Error> {
    let ids = Vec::<u64>::deserialize(d)?;
    if ids.is_empty() {
        return Err(serde::de::Error::custom(
            "must list at least one resource id (the Id of ListCloudResources / the CAS console)",
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = ids.iter().find(|i| !seen.insert(**i)) {
        return Err(serde::de::Error::custom(format!(
            "lists resource {dup} twice"
        )));
    }
    Ok(ids)
}

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &[
    "yundun-cert:ListCloudResources",
    "yundun-cert:ListContact",
    "yundun-cert:CreateDeploymentJob",
    "yundun-cert:UpdateDeploymentJobStatus",
    "yundun-cert:DescribeDeploymentJob",
    "yundun-cert:ListWorkerResource",
];

impl Kind for Params {
    const KIND: TargetKind = TargetKind::CasDeploy;

    fn ram(
        &self,
        _ctx: &crate::deploy::kinds::RamContext<'_>,
    ) -> Vec<crate::aliyun::ram::Statement> {
        use crate::aliyun::ram::{pick, Statement};
        let mut out = vec![Statement::any(
            "DeployCasJobs",
            "target kind cas-deploy: CAS deployment jobs for the configured cloud resources (create, start, follow).",
            &pick(RAM, RAM),
        )];
        out.extend(super::cas::hub_statements());
        out
    }

    /// One target for the first id: `deploy::build_all` builds a table per id.
    fn build(self, _cert_name: &str, client: &AliyunClient) -> Box<dyn Target> {
        Box::new(CasDeploy {
            resource: self.resource_ids[0],
            client: client.clone(),
        })
    }
}

/// One cloud resource CAS deploys to.
pub struct CasDeploy {
    resource: u64,
    client: AliyunClient,
}

capabilities!(CasDeploy: cas);

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Resources {
    #[serde(default)]
    data: Vec<Resource>,
    #[serde(default)]
    total: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Resource {
    #[serde(default, deserialize_with = "cas::de_id")]
    id: Option<String>,
    #[serde(default, deserialize_with = "cas::de_id")]
    cert_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Contacts {
    #[serde(default)]
    contact_list: Vec<Contact>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Contact {
    #[serde(default, deserialize_with = "cas::de_id")]
    contact_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Created {
    #[serde(default, deserialize_with = "cas::de_id")]
    job_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Job {
    #[serde(default)]
    status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Workers {
    #[serde(default)]
    data: Vec<Worker>,
    #[serde(default)]
    total: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Worker {
    #[serde(default, deserialize_with = "cas::de_id")]
    resource_id: Option<String>,
    #[serde(default)]
    status: String,
}

impl CasDeploy {
    fn name(&self) -> String {
        self.resource.to_string()
    }

    /// The CAS id bound to this resource now; an error when CAS lists no such resource.
    async fn bound(&self) -> Result<Option<String>> {
        let me = self.name();
        let size = SHOW_SIZE.to_string();
        let mut seen = 0u64;
        for page in 1..=MAX_PAGES {
            let number = page.to_string();
            let rsp = self
                .client
                .rpc(
                    Product::Cas,
                    "ListCloudResources",
                    &[
                        ("CloudName", "aliyun"),
                        ("CurrentPage", &number),
                        ("ShowSize", &size),
                    ],
                )
                .await?;
            let rsp: Resources = answer("ListCloudResources", rsp)?;
            let got = rsp.data.len();
            seen += got as u64;
            if let Some(r) = rsp.data.into_iter().find(|r| r.id.as_deref() == Some(&me)) {
                return Ok(r.cert_id.filter(|c| c != "0"));
            }
            if got < SHOW_SIZE || seen >= rsp.total {
                break;
            }
        }
        Err(Error::Deploy(format!(
            "cas-deploy: CAS lists no cloud resource {me} (ListCloudResources, CloudName=aliyun); \
             take `resource_ids` from the Id column of ListCloudResources or the CAS console's deployment page"
        )))
    }

    /// The account's first CAS contact (CreateDeploymentJob requires ContactIds).
    async fn contact(&self) -> Result<String> {
        let rsp = self
            .client
            .rpc(
                Product::Cas,
                "ListContact",
                &[("CurrentPage", "1"), ("ShowSize", "20")],
            )
            .await?;
        let rsp: Contacts = answer("ListContact", rsp)?;
        rsp.contact_list
            .into_iter()
            .find_map(|c| c.contact_id)
            .ok_or_else(|| {
                Error::Deploy(
                    "cas-deploy: CAS deployment jobs need a contact and the account has none; \
                     add one in the CAS console (Certificate Management Service → Contacts)"
                        .into(),
                )
            })
    }

    /// Poll the job until it ends; its final status.
    async fn settle(&self, job: &str) -> Result<String> {
        let started = Instant::now();
        let mut delay = FIRST_POLL;
        for poll in 0u32.. {
            let rsp = self
                .client
                .rpc(Product::Cas, "DescribeDeploymentJob", &[("JobId", job)])
                .await?;
            let status = answer::<Job>("DescribeDeploymentJob", rsp)?.status;
            if matches!(status.as_str(), "success" | "error") {
                tracing::info!(
                    resource = self.resource,
                    job,
                    status,
                    waited_ms = started.elapsed().as_millis() as u64,
                    "CAS deployment job ended"
                );
                return Ok(status);
            }
            if started.elapsed() + delay > SETTLE_FOR {
                return Err(Error::Deploy(format!(
                    "cas-deploy {}: deployment job {job} is still {status} after {}s; check it in the CAS console, the next run retries",
                    self.resource,
                    SETTLE_FOR.as_secs()
                )));
            }
            if poll % 10 == 9 {
                tracing::info!(
                    resource = self.resource,
                    job,
                    status,
                    waited_ms = started.elapsed().as_millis() as u64,
                    "waiting for the CAS deployment job"
                );
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 3 / 2).min(MAX_POLL);
        }
        unreachable!("the poll loop returns")
    }

    /// This resource's worker status in `job`.
    async fn worker(&self, job: &str) -> Result<Option<String>> {
        let me = self.name();
        let size = SHOW_SIZE.to_string();
        let mut seen = 0u64;
        for page in 1..=MAX_PAGES {
            let number = page.to_string();
            let rsp = self
                .client
                .rpc(
                    Product::Cas,
                    "ListWorkerResource",
                    &[
                        ("JobId", job),
                        ("CurrentPage", &number),
                        ("ShowSize", &size),
                    ],
                )
                .await?;
            let rsp: Workers = answer("ListWorkerResource", rsp)?;
            let got = rsp.data.len();
            seen += got as u64;
            if let Some(w) = rsp
                .data
                .into_iter()
                .find(|w| w.resource_id.as_deref() == Some(&me))
            {
                return Ok(Some(w.status));
            }
            if got < SHOW_SIZE || seen >= rsp.total {
                break;
            }
        }
        Ok(None)
    }
}

#[async_trait]
impl Target for CasDeploy {
    fn id(&self) -> TargetId {
        TargetId::new(TargetKind::CasDeploy, self.name())
    }

    async fn current(&self) -> Result<Option<CertInfo>> {
        let bound = self.bound().await?;
        cas::read_bound(&self.client, bound.as_deref()).await
    }

    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()> {
        let copy = cert.cas.ok_or_else(|| {
            Error::Deploy("cas-deploy: the certificate must be in CAS first (hub inactive)".into())
        })?;
        let contact = self.contact().await?;
        let resource = self.name();
        let name = cert.upload_name();
        let rsp = self
            .client
            .rpc(
                Product::Cas,
                "CreateDeploymentJob",
                &[
                    ("CertIds", &copy.id),
                    ("ContactIds", &contact),
                    ("JobType", "user"),
                    ("Name", &name),
                    ("ResourceIds", &resource),
                ],
            )
            .await?;
        let job = answer::<Created>("CreateDeploymentJob", rsp)?
            .job_id
            .ok_or_else(|| Error::Deploy("CreateDeploymentJob answered no JobId".into()))?;
        // Created jobs are `editing` and never run there.
        self.client
            .rpc(
                Product::Cas,
                "UpdateDeploymentJobStatus",
                &[("JobId", &job), ("Status", "pending")],
            )
            .await?;
        tracing::info!(resource = self.resource, job, cert = %copy.id, "CAS deployment job started");
        let status = self.settle(&job).await?;
        match self.worker(&job).await? {
            Some(w) if w == "success" => Ok(()),
            worker => Err(Error::Deploy(format!(
                "cas-deploy {resource}: deployment job {job} ended {status}, this resource's worker {}; \
                 see the job in the CAS console (Deployment → tasks) for the cause",
                worker.as_deref().unwrap_or("is not listed")
            ))),
        }
    }
}

#[async_trait]
impl CasConsumer for CasDeploy {
    async fn cas_references(&self) -> Result<Vec<String>> {
        Ok(self.bound().await?.into_iter().collect())
    }

    /// The resource keeps no copies of its own; the hub deletes superseded CAS copies.
    async fn retire(&self, _current: &CasCopy) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids_are_checked() {
        let parse = |t: &str| Params::parse(&toml::from_str(t).unwrap()).map(|p| p.resource_ids);
        assert_eq!(parse("resource_ids = [1, 2]").unwrap(), [1, 2]);
        for (bad, want) in [
            ("resource_ids = []", "at least one"),
            ("resource_ids = [1, 1]", "twice"),
            ("resource_ids = [\"a\"]", "`resource_ids"),
            ("", "missing required key `resource_ids`"),
        ] {
            let e = parse(bad).err().unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(e.contains(want), "{bad}: {e}");
        }
    }
}
