//! CAS cloud-resource deployment jobs (cas 2020-04-07, RPC): ListContact, ListCloudResources
//! (the account's cloud resources, when no CertIds are given), CreateDeploymentJob,
//! UpdateDeploymentJobStatus, DescribeDeploymentJob, ListWorkerResource. cas.rs routes these
//! here ([`handles`]).
//!
//! Names, types and enums: alibabacloud-cas20200407 3.9.4 models (_create_deployment_job_request.py:
//! CertIds, ContactIds, JobType, Name, ResourceIds required, comma-separated str; JobType
//! `cloud` | `user`; _update_deployment_job_status_request.py: JobId int, Status `pending` |
//! `scheduling` | `editing`; _describe_deployment_job_response_body.py Status `pending` |
//! `editing` | `scheduling` | `processing` | `error` | `success`;
//! _list_worker_resource_request.py JobId required, ShowSize default 50;
//! _list_worker_resource_response_body.py Data[] Id, JobId, ResourceId, CertId, Status, ...;
//! _list_cloud_resources_response_body.py Data[] Id, CertId, CertName, CertEndTime, ...;
//! _list_contact_response_body.py ContactList[] ContactId, Name, Email).
//!
//! The job's life, modelled strictly: a created job is `editing` and never runs until
//! UpdateDeploymentJobStatus moves it to `pending`; each DescribeDeploymentJob then advances it
//! one step (pending → scheduling → processing → success | error), the last step installing
//! the certificate on each resource whose worker succeeds. A resource seeded as failing ends its
//! worker `error` and keeps its certificate; the job is then `error`. The model names no error
//! codes for these calls: unknown ids answer 400 `InvalidParameter.<Name>` (strictest plausible).
use super::*;

/// A cloud resource CAS can deploy to (Web Hosting, SAE, MSE, ... as ListCloudResources lists).
#[derive(Debug, Clone, Serialize)]
pub struct CloudResource {
    pub id: u64,
    /// `CloudProduct`, e.g. `SAE`, `webHosting`, `MSE`.
    pub cloud_product: String,
    pub domain: String,
    pub region_id: String,
    /// The CAS certificate bound now.
    pub cert_id: Option<u64>,
    /// Workers deploying here end `error` (seeded).
    pub failing: bool,
}

/// One deployment job.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentJob {
    pub id: u64,
    pub name: String,
    pub job_type: String,
    pub cert_ids: Vec<u64>,
    pub contact_ids: Vec<u64>,
    pub resource_ids: Vec<u64>,
    pub status: String,
    /// Resource id → worker status.
    pub workers: BTreeMap<u64, String>,
    /// Every status the job went through, in order.
    pub history: Vec<String>,
}

/// What the account holds for deployment jobs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CasDeployState {
    pub contacts: Vec<u64>,
    pub resources: Vec<CloudResource>,
    pub jobs: Vec<DeploymentJob>,
}

impl Seed {
    /// A CAS contact (deployment jobs need one).
    pub fn cas_contact(mut self, id: u64) -> Self {
        self.cas_contacts.push(id);
        self
    }
    /// A cloud resource CAS can deploy to, with no certificate yet.
    pub fn cloud_resource(mut self, id: u64, product: &str, domain: &str) -> Self {
        self.cloud_resources.push(SeedCloudResource {
            id,
            cloud_product: product.into(),
            domain: domain.into(),
            failing: false,
        });
        self
    }
    /// A cloud resource whose deployment workers fail.
    pub fn failing_cloud_resource(mut self, id: u64, product: &str, domain: &str) -> Self {
        self.cloud_resources.push(SeedCloudResource {
            id,
            cloud_product: product.into(),
            domain: domain.into(),
            failing: true,
        });
        self
    }
}

/// A seeded cloud resource.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SeedCloudResource {
    pub id: u64,
    pub cloud_product: String,
    pub domain: String,
    pub failing: bool,
}

pub(crate) fn seed_cas_deploy(inner: &mut Inner, seed: &Seed) {
    let s = &mut inner.state.cas_deploy;
    s.contacts = seed.cas_contacts.clone();
    s.resources = seed
        .cloud_resources
        .iter()
        .map(|r| CloudResource {
            id: r.id,
            cloud_product: r.cloud_product.clone(),
            domain: r.domain.clone(),
            region_id: REGION.into(),
            cert_id: None,
            failing: r.failing,
        })
        .collect();
}

impl EmulatorState {
    pub fn cloud_resource(&self, id: u64) -> Option<&CloudResource> {
        self.cas_deploy.resources.iter().find(|r| r.id == id)
    }
    /// Resources that use CAS certificate `id` (for DeleteUserCertificate).
    pub(crate) fn cloud_resource_users(&self, id: u64) -> Vec<String> {
        self.cas_deploy
            .resources
            .iter()
            .filter(|r| r.cert_id == Some(id))
            .map(|r| format!("{} {}", r.cloud_product, r.id))
            .collect()
    }
}

impl Emulator {
    /// Binds CAS certificate `cert_id` to a seeded cloud resource (as a console user would).
    pub fn set_cloud_resource_cert(&self, resource: u64, cert_id: u64) {
        let mut inner = self.shared.lock();
        let r = inner
            .state
            .cas_deploy
            .resources
            .iter_mut()
            .find(|r| r.id == resource)
            .unwrap_or_else(|| panic!("cloud resource {resource} is not seeded"));
        r.cert_id = Some(cert_id);
    }
}

const ACTIONS: &[&str] = &[
    "ListContact",
    "CreateDeploymentJob",
    "UpdateDeploymentJobStatus",
    "DescribeDeploymentJob",
    "ListWorkerResource",
];

/// Whether this file answers `action` (ListCloudResources only when it lists the account's
/// resources, i.e. without CertIds; with CertIds cas.rs answers where a certificate is used).
pub(crate) fn handles(action: &str, p: &Params) -> bool {
    ACTIONS.contains(&action) || (action == "ListCloudResources" && p.get("CertIds").is_none())
}

/// ShowSize: the models give defaults (20, 50) and no maximum; strictest plausible: 100.
const MAX_SHOW_SIZE: u64 = 100;

fn paging(p: &Params, default: u64) -> Result<(usize, usize), ApiError> {
    let page = p.u64_or("CurrentPage", 1)?;
    let size = p.u64_or("ShowSize", default)?;
    if page == 0 {
        return Err(invalid("CurrentPage", "must be at least 1"));
    }
    if !(1..=MAX_SHOW_SIZE).contains(&size) {
        return Err(invalid("ShowSize", "must be 1 to 100"));
    }
    Ok((((page - 1) * size) as usize, size as usize))
}

/// A comma-separated list of ids (the SDK sends them as one str).
fn ids(p: &Params, name: &str) -> Result<Vec<u64>, ApiError> {
    p.req(name)?
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .map_err(|_| invalid(name, "must be comma-separated numeric ids"))
        })
        .collect()
}

fn unknown(name: &str, id: u64) -> ApiError {
    err(
        400,
        format!("InvalidParameter.{name}"),
        format!("{name} {id} does not exist."),
    )
}

fn job_mut(inner: &mut Inner, p: &Params) -> Result<usize, ApiError> {
    let id = p.req_u64("JobId")?;
    inner
        .state
        .cas_deploy
        .jobs
        .iter()
        .position(|j| j.id == id)
        .ok_or_else(|| unknown("JobId", id))
}

pub(crate) fn cas_deploy(inner: &mut Inner, action: &str, p: &Params) -> Result<Value, ApiError> {
    match action {
        "ListContact" => {
            let (start, size) = paging(p, 20)?;
            let all = &inner.state.cas_deploy.contacts;
            let list: Vec<Value> = all
                .iter()
                .skip(start)
                .take(size)
                .map(|id| json!({"ContactId": id, "Name": format!("contact-{id}"), "Email": format!("c{id}@example.com")}))
                .collect();
            Ok(json!({"ContactList": list, "TotalCount": all.len(), "ShowSize": size}))
        }
        "ListCloudResources" => list_resources(inner, p),
        "CreateDeploymentJob" => create(inner, p),
        "UpdateDeploymentJobStatus" => {
            let status = p.req("Status")?;
            if !matches!(status, "pending" | "scheduling" | "editing") {
                return Err(invalid("Status", "must be pending, scheduling or editing"));
            }
            let i = job_mut(inner, p)?;
            let job = &mut inner.state.cas_deploy.jobs[i];
            // Only a job that has not started can be moved (strictest plausible).
            if !matches!(job.status.as_str(), "editing" | "pending" | "scheduling") {
                return Err(err(
                    400,
                    "InvalidStatus",
                    format!("The job is {}; its status cannot change.", job.status),
                ));
            }
            set_status(job, status);
            Ok(json!({}))
        }
        "DescribeDeploymentJob" => {
            let i = job_mut(inner, p)?;
            advance(inner, i);
            let j = &inner.state.cas_deploy.jobs[i];
            Ok(json!({
                "Id": j.id, "Name": j.name, "JobType": j.job_type, "Status": j.status,
                "Del": 0, "Rollback": 0,
            }))
        }
        "ListWorkerResource" => {
            let i = job_mut(inner, p)?;
            let (start, size) = paging(p, 50)?;
            let state = &inner.state;
            let j = &state.cas_deploy.jobs[i];
            let data: Vec<Value> = j
                .workers
                .iter()
                .skip(start)
                .take(size)
                .enumerate()
                .map(|(n, (rid, status))| {
                    let r = state.cloud_resource(*rid);
                    json!({
                        "Id": j.id * 1000 + n as u64 + 1,
                        "JobId": j.id,
                        "ResourceId": rid,
                        "CertId": j.cert_ids.first(),
                        "CloudProduct": r.map(|r| r.cloud_product.clone()),
                        "ResourceDomain": r.map(|r| r.domain.clone()),
                        "RegionId": r.map(|r| r.region_id.clone()),
                        "Status": status,
                    })
                })
                .collect();
            Ok(
                json!({"Data": data, "Total": j.workers.len(), "CurrentPage": p.u64_or("CurrentPage", 1)?, "ShowSize": size}),
            )
        }
        _ => Err(unknown_action()),
    }
}

fn set_status(job: &mut DeploymentJob, status: &str) {
    job.status = status.to_string();
    job.history.push(status.to_string());
    for w in job.workers.values_mut() {
        *w = status.to_string();
    }
}

fn create(inner: &mut Inner, p: &Params) -> Result<Value, ApiError> {
    let cert_ids = ids(p, "CertIds")?;
    let contact_ids = ids(p, "ContactIds")?;
    let resource_ids = ids(p, "ResourceIds")?;
    let name = p.req("Name")?.to_string();
    let job_type = p.req("JobType")?.to_string();
    if !matches!(job_type.as_str(), "cloud" | "user") {
        return Err(invalid("JobType", "must be cloud or user"));
    }
    for id in &cert_ids {
        if !inner.state.cas_certs.iter().any(|c| c.cert_id == *id) {
            return Err(unknown("CertIds", *id));
        }
    }
    for id in &contact_ids {
        if !inner.state.cas_deploy.contacts.contains(id) {
            return Err(unknown("ContactIds", *id));
        }
    }
    for id in &resource_ids {
        if inner.state.cloud_resource(*id).is_none() {
            return Err(unknown("ResourceIds", *id));
        }
    }
    let id = inner.next_cert_id();
    let mut job = DeploymentJob {
        id,
        name,
        job_type,
        cert_ids,
        contact_ids,
        workers: resource_ids.iter().map(|r| (*r, String::new())).collect(),
        resource_ids,
        status: String::new(),
        history: Vec::new(),
    };
    set_status(&mut job, "editing");
    inner.state.cas_deploy.jobs.push(job);
    Ok(json!({"JobId": id}))
}

/// One step of a job that is not editing: pending → scheduling → processing → success | error.
fn advance(inner: &mut Inner, i: usize) {
    let next = match inner.state.cas_deploy.jobs[i].status.as_str() {
        "pending" => "scheduling",
        "scheduling" => "processing",
        "processing" => "done",
        _ => return,
    };
    if next != "done" {
        set_status(&mut inner.state.cas_deploy.jobs[i], next);
        return;
    }
    let s = &mut inner.state.cas_deploy;
    let job = &mut s.jobs[i];
    let cert = job.cert_ids.first().copied();
    let mut failed = false;
    for (rid, status) in job.workers.iter_mut() {
        let r = s.resources.iter_mut().find(|r| r.id == *rid);
        match r {
            Some(r) if !r.failing => {
                r.cert_id = cert;
                *status = "success".into();
            }
            _ => {
                *status = "error".into();
                failed = true;
            }
        }
    }
    let end = if failed { "error" } else { "success" };
    job.status = end.into();
    job.history.push(end.into());
}

fn list_resources(inner: &Inner, p: &Params) -> Result<Value, ApiError> {
    let (start, size) = paging(p, 20)?;
    if let Some(cloud) = p.get("CloudName") {
        if cloud != "aliyun" {
            return Ok(json!({"Data": [], "Total": 0, "CurrentPage": 1, "ShowSize": size}));
        }
    }
    let state = &inner.state;
    let all = &state.cas_deploy.resources;
    let data: Vec<Value> = all
        .iter()
        .skip(start)
        .take(size)
        .map(|r| {
            let cert = r
                .cert_id
                .and_then(|id| state.cas_certs.iter().find(|c| c.cert_id == id));
            json!({
                "Id": r.id,
                "CloudName": "aliyun",
                "CloudProduct": r.cloud_product,
                "Domain": r.domain,
                "RegionId": r.region_id,
                "CertId": r.cert_id,
                "CertName": cert.map(|c| c.name.clone()),
                "CertStartTime": cert.map(|c| (c.info.not_before_ms / 1000).to_string()),
                "CertEndTime": cert.map(|c| (c.info.not_after_ms / 1000).to_string()),
                "EnableHttps": if r.cert_id.is_some() { 1 } else { 0 },
                "Status": "online",
            })
        })
        .collect();
    Ok(
        json!({"Data": data, "Total": all.len(), "CurrentPage": p.u64_or("CurrentPage", 1)?, "ShowSize": size}),
    )
}
