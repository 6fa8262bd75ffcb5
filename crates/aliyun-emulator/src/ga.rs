//! Global Accelerator 2019-11-20 (RPC): HTTPS listeners' certificates — DescribeListener,
//! UpdateListener (`Certificates.N.Id`), ListListenerCertificates,
//! AssociateAdditionalCertificatesWithListener (`Certificates.N.Domain` + `.Id`),
//! UpdateAdditionalCertificateWithListener (`Domain`, `CertificateId`).
//!
//! Source: PyPI alibabacloud-ga20191120 3.0.2, client.py (`_endpoint_map` cn-hangzhou only) and
//! models/: `_update_listener_request.py` (RegionId "Set the value to cn-hangzhou", ListenerId
//! required, Certificates "required only when you configure an HTTPS listener"),
//! `_associate_additional_certificates_with_listener_request.py` (AcceleratorId, ListenerId,
//! RegionId, Certificates required; "up to 10 certificates at a time"),
//! `_update_additional_certificate_with_listener_request.py` (AcceleratorId, CertificateId,
//! Domain, ListenerId, RegionId required), `_list_listener_certificates_request.py`
//! (AcceleratorId, ListenerId, RegionId required; MaxResults 1–50; Role `default` |
//! `additional`), `_describe_listener_response_body.py` (State), `_list_listener_certificates_
//! response_body.py` (State `active` | `updating`). API reference
//! AssociateAdditionalCertificatesWithListener: asynchronous, the listener is `updating` until
//! done ("you can perform only query operations"), then `active`; "cannot be called repeatedly
//! for the same GA instance within a specific period of time".
//!
//! Strictest plausible where the docs are silent: any write to an accelerator with a job running
//! is refused `StateError.Accelerator` (the code Terraform's alicloud GA resources retry); a
//! default-certificate job leaves the listener `configuring`, an additional one `updating`; an
//! unknown listener is 404 `NotExist.Listener`; certificate ids are CAS identifiers
//! `<CertId>-<region>` that exist, and an additional certificate must cover its domain;
//! associating a domain that has one, or updating a domain that has none, is refused.
use super::*;

#[derive(Debug, Clone, Serialize)]
pub struct GaListener {
    pub id: String,
    pub accelerator_id: String,
    /// `<CAS id>-<region>`.
    pub default_certificate: Option<String>,
    /// (domain, `<CAS id>-<region>`).
    pub additional: Vec<(String, String)>,
    pub job: Option<GaJob>,
    /// Writes refused because the accelerator was busy.
    pub refused_busy: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct GaJob {
    pub due_ms: i64,
    pub change: GaChange,
}

#[derive(Debug, Clone, Serialize)]
pub enum GaChange {
    SetDefault(String),
    /// (domain, certificate) bound or replaced.
    Additional(Vec<(String, String)>),
}

impl GaListener {
    fn settle(&mut self, now: i64) {
        if self.job.as_ref().is_none_or(|j| j.due_ms > now) {
            return;
        }
        match self.job.take().expect("checked").change {
            GaChange::SetDefault(id) => self.default_certificate = Some(id),
            GaChange::Additional(pairs) => {
                for (domain, id) in pairs {
                    self.additional.retain(|(d, _)| *d != domain);
                    self.additional.push((domain, id));
                }
            }
        }
    }
    fn state(&self) -> &'static str {
        match self.job.as_ref().map(|j| &j.change) {
            None => "active",
            Some(GaChange::SetDefault(_)) => "configuring",
            Some(GaChange::Additional(_)) => "updating",
        }
    }
    /// Certificate ids in use or being bound (CAS refuses to delete them).
    pub(crate) fn uses(&self) -> Vec<&String> {
        let mut ids: Vec<&String> = self.default_certificate.iter().collect();
        ids.extend(self.additional.iter().map(|(_, c)| c));
        match self.job.as_ref().map(|j| &j.change) {
            Some(GaChange::SetDefault(c)) => ids.push(c),
            Some(GaChange::Additional(p)) => ids.extend(p.iter().map(|(_, c)| c)),
            None => {}
        }
        ids
    }
}

impl Seed {
    /// An HTTPS listener of accelerator `accelerator_id`.
    pub fn ga_listener(mut self, listener_id: &str, accelerator_id: &str) -> Self {
        self.services
            .ga_listeners
            .push((listener_id.into(), accelerator_id.into()));
        self
    }
    /// How long each GA write job runs; `None`: 300 ms.
    pub fn ga_job_ms(mut self, ms: u64) -> Self {
        self.services.ga_job_ms = Some(ms);
        self
    }
}

impl EmulatorState {
    pub fn ga_listener(&self, id: &str) -> Option<&GaListener> {
        self.services.ga_listeners.iter().find(|l| l.id == id)
    }
    pub fn ga_default_cert(&self, id: &str) -> Option<&CertInfo> {
        self.cas_info(self.ga_listener(id)?.default_certificate.as_ref()?)
    }
    /// The additional certificate bound to `domain`.
    pub fn ga_additional_cert(&self, id: &str, domain: &str) -> Option<&CertInfo> {
        let l = self.ga_listener(id)?;
        let (_, c) = l.additional.iter().find(|(d, _)| d == domain)?;
        self.cas_info(c)
    }
}

fn cas_identifier(inner: &Inner, name: &str, id: &str) -> Result<CertInfo, ApiError> {
    if !id.contains('-') {
        return Err(super::invalid(
            name,
            "must be the certificate's identifier <CertId>-<region>",
        ));
    }
    Ok(find_cas(inner, id)?.info.clone())
}

/// (`Certificates.N.Domain`, `Certificates.N.Id`), in N order.
fn domain_certificates(p: &Params) -> Vec<(String, String)> {
    let mut n = 1;
    let mut out = Vec::new();
    while let (Some(d), Some(c)) = (
        p.get(&format!("Certificates.{n}.Domain")),
        p.get(&format!("Certificates.{n}.Id")),
    ) {
        out.push((d.to_string(), c.to_string()));
        n += 1;
    }
    out
}

pub(crate) fn ga(
    inner: &mut Inner,
    action: &str,
    p: &Params,
    region: &str,
) -> Result<Value, ApiError> {
    if p.req("RegionId")? != "cn-hangzhou" || region != "cn-hangzhou" {
        return Err(super::invalid(
            "RegionId",
            "Global Accelerator is called in cn-hangzhou",
        ));
    }
    let listener_id = p.req("ListenerId")?.to_string();
    let needs_accelerator = action != "DescribeListener" && action != "UpdateListener";
    let accelerator = if needs_accelerator {
        Some(p.req("AcceleratorId")?.to_string())
    } else {
        None
    };
    let now = now_ms();
    let job_ms = inner.state.services.ga_job_ms as i64;
    let is_write = !matches!(action, "DescribeListener" | "ListListenerCertificates");
    let mut change = None;
    if is_write {
        change = Some(match action {
            "UpdateListener" => {
                let id = p.req("Certificates.1.Id")?;
                if p.get("Certificates.2.Id").is_some() {
                    return Err(super::invalid("Certificates", "one default certificate"));
                }
                cas_identifier(inner, "Certificates.1.Id", id)?;
                GaChange::SetDefault(id.to_string())
            }
            "AssociateAdditionalCertificatesWithListener" => {
                let pairs = domain_certificates(p);
                if pairs.is_empty() {
                    return Err(super::missing("Certificates"));
                }
                if pairs.len() > 10 {
                    return Err(super::invalid("Certificates", "at most 10 at a time"));
                }
                for (domain, id) in &pairs {
                    require_cover(&cas_identifier(inner, "Certificates.N.Id", id)?, domain)?;
                }
                GaChange::Additional(pairs)
            }
            "UpdateAdditionalCertificateWithListener" => {
                let (domain, id) = (p.req("Domain")?, p.req("CertificateId")?);
                require_cover(&cas_identifier(inner, "CertificateId", id)?, domain)?;
                GaChange::Additional(vec![(domain.to_string(), id.to_string())])
            }
            _ => return Err(super::unknown_action()),
        });
    }
    let listeners = &mut inner.state.services.ga_listeners;
    for l in listeners.iter_mut() {
        l.settle(now);
    }
    let Some(at) = listeners.iter().position(|l| l.id == listener_id) else {
        return Err(err(
            404,
            "NotExist.Listener",
            format!("The listener {listener_id} does not exist."),
        ));
    };
    let owner = listeners[at].accelerator_id.clone();
    if accelerator.as_ref().is_some_and(|a| *a != owner) {
        return Err(super::invalid(
            "AcceleratorId",
            "is not the listener's accelerator",
        ));
    }
    if is_write {
        if listeners
            .iter()
            .any(|l| l.accelerator_id == owner && l.job.is_some())
        {
            listeners[at].refused_busy += 1;
            return Err(err(
                400,
                "StateError.Accelerator",
                format!("The state of the accelerator {owner} is not active."),
            ));
        }
        let l = &mut listeners[at];
        let bound = |d: &str| l.additional.iter().any(|(x, _)| x == d);
        match (&change, action) {
            (Some(GaChange::Additional(pairs)), "AssociateAdditionalCertificatesWithListener")
                if pairs.iter().any(|(d, _)| bound(d)) =>
            {
                return Err(err(
                    400,
                    "Exist.Domain",
                    "A certificate is already associated with this domain; update it instead.",
                ));
            }
            (Some(GaChange::Additional(pairs)), "UpdateAdditionalCertificateWithListener")
                if !bound(&pairs[0].0) =>
            {
                return Err(err(
                    404,
                    "NotExist.Domain",
                    "No additional certificate is associated with this domain.",
                ));
            }
            _ => {}
        }
        l.job = Some(GaJob {
            due_ms: now + job_ms,
            change: change.expect("a write"),
        });
        l.settle(now);
        return Ok(json!({"ListenerId": l.id}));
    }
    let l = &listeners[at];
    if action == "DescribeListener" {
        return Ok(json!({
            "ListenerId": l.id,
            "AcceleratorId": l.accelerator_id,
            "Protocol": "HTTPS",
            "State": l.state(),
            "Certificates": l.default_certificate.iter().map(|c| json!({"Id": c, "Type": "Server"})).collect::<Vec<_>>(),
        }));
    }
    // ListListenerCertificates
    let max = p.u64_or("MaxResults", 20)?;
    if !(1..=50).contains(&max) {
        return Err(super::invalid("MaxResults", "must be 1-50"));
    }
    let role = p.get("Role");
    if role.is_some_and(|r| r != "default" && r != "additional") {
        return Err(super::invalid("Role", "must be default or additional"));
    }
    let updating: Vec<&String> = match l.job.as_ref().map(|j| &j.change) {
        Some(GaChange::Additional(pairs)) => pairs.iter().map(|(d, _)| d).collect(),
        _ => vec![],
    };
    let mut list = Vec::new();
    if role != Some("additional") {
        if let Some(c) = &l.default_certificate {
            list.push(json!({"CertificateId": c, "IsDefault": true, "State": "active"}));
        }
    }
    if role != Some("default") {
        for (d, c) in &l.additional {
            let state = if updating.contains(&d) {
                "updating"
            } else {
                "active"
            };
            list.push(json!({"CertificateId": c, "Domain": d, "IsDefault": false, "State": state}));
        }
    }
    let (page, total, next) = token_page(list, p.get("NextToken"), max);
    Ok(json!({"Certificates": page, "TotalCount": total, "MaxResults": max, "NextToken": next}))
}

/// The seeded `ga_listeners`.
pub(crate) fn seed_ga_listeners(seed: &ServicesSeed) -> Vec<GaListener> {
    seed.ga_listeners
        .iter()
        .map(|(id, acc)| GaListener {
            id: id.clone(),
            accelerator_id: acc.clone(),
            default_certificate: None,
            additional: vec![],
            job: None,
            refused_busy: 0,
        })
        .collect()
}
