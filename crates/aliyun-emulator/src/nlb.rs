//! NLB 2022-04-30 (RPC): ListListeners; TCPSSL listeners' server certificates — GetListenerAttribute,
//! UpdateListenerAttribute (`CertificateIds`), AssociateAdditionalCertificatesWithListener /
//! DisassociateAdditionalCertificatesWithListener (`AdditionalCertificateIds`),
//! ListListenerCertificates, GetJobStatus.
//!
//! Source: PyPI alibabacloud-nlb20220430 4.1.3, client.py (action names, RPC, POST, form bodies)
//! and models/: `_update_listener_attribute_request.py` ("The server certificate. Only one server
//! certificate is supported", "takes effect only for listeners that use SSL over TCP", ListenerId
//! required), `_associate_additional_certificates_with_listener_request.py` ("up to 15 additional
//! certificates … in each call", "Only TCPSSL listener IDs are supported"),
//! `_disassociate_…` (up to 15), `_list_listener_certificates_request.py` (MaxResults 1–50,
//! default 20; CertType `Ca` | `Server`), `_get_listener_attribute_response_body.py`
//! (ListenerStatus `Provisioning|Running|Configuring|Stopping|Stopped|Starting…`),
//! `_get_job_status_response_body.py` (Status `Succeeded` | `processing`). API reference
//! AssociateAdditionalCertificatesWithListener: asynchronous, certificates `Associating` →
//! `Associated`.
//!
//! The asynchronous model is ALB's ([`AlbListener`]: one job at a time, `ClientToken`
//! idempotence). Strictest plausible where the docs are silent: a write while a job runs is
//! refused with `Conflict.Lock` (the code the brief and ALIBABA_API.md name for NLB; not one
//! ALB's client retries, so the NLB client must know it); an unknown listener is 404
//! `ResourceNotFound.listener` (Terraform's alicloud provider,
//! resource_alicloud_nlb_listener_additional_certificate_attachment.go, expects that code);
//! certificate ids must be CAS identifiers `<CertId>-<region>` that exist; `RegionId`, when
//! sent, must be the endpoint's region.
use super::*;

/// An NLB listener: the same asynchronous listener model as ALB's, plus its protocol.
pub type NlbListener = AlbListener;

impl Seed {
    /// A TCPSSL listener in cn-hangzhou.
    pub fn nlb_listener(mut self, listener_id: &str) -> Self {
        self.services.nlb_listeners.push(listener_id.into());
        self
    }
    pub fn nlb_listener_in(mut self, listener_id: &str, region: &str) -> Self {
        self.services.nlb_listeners.push(listener_id.into());
        self.services
            .nlb_listener_regions
            .insert(listener_id.into(), region.into());
        self
    }
    /// A TCP (not TCPSSL) listener: certificate calls are refused on it.
    pub fn nlb_tcp_listener(mut self, listener_id: &str) -> Self {
        self.services.nlb_tcp_listeners.push(listener_id.into());
        self
    }
    /// How long each NLB write job runs (the listener is `Configuring` meanwhile).
    pub fn nlb_job_ms(mut self, ms: u64) -> Self {
        self.services.nlb_job_ms = Some(ms);
        self
    }
}

impl Emulator {
    /// Makes CAS certificate `cas_id` the TCPSSL listener's default certificate at once, as a
    /// console edit would leave it (no call recorded), kept as `<CAS id>-<region>`.
    pub fn set_nlb_default_certificate(&self, listener_id: &str, cas_id: u64) {
        let mut inner = self.shared.lock();
        assert!(
            inner.state.cas_certs.iter().any(|c| c.cert_id == cas_id),
            "no CAS certificate {cas_id}"
        );
        let listener = inner
            .state
            .services
            .nlb_listeners
            .iter_mut()
            .find(|l| l.id == listener_id)
            .unwrap_or_else(|| panic!("NLB listener {listener_id} is not seeded"));
        listener.default_certificate = Some(format!("{cas_id}-{REGION}"));
    }
}

impl EmulatorState {
    pub fn nlb_listener(&self, id: &str) -> Option<&NlbListener> {
        self.services.nlb_listeners.iter().find(|l| l.id == id)
    }
    pub fn nlb_default_cert(&self, id: &str) -> Option<&CertInfo> {
        self.cas_info(self.nlb_listener(id)?.default_certificate.as_ref()?)
    }
    pub fn nlb_additional_certs(&self, id: &str) -> Vec<&CertInfo> {
        self.nlb_listener(id)
            .map(|l| {
                l.additional_certificates
                    .iter()
                    .filter_map(|c| self.cas_info(c))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// `Name.N` values, in N order.
fn numbered(p: &Params, name: &str) -> Vec<String> {
    let prefix = format!("{name}.");
    let mut ids: Vec<(u32, String)> =
        p.0.iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.parse().ok()?, v.clone())))
            .collect();
    ids.sort();
    ids.into_iter().map(|(_, v)| v).collect()
}

pub(crate) fn nlb(
    inner: &mut Inner,
    action: &str,
    p: &Params,
    region: &str,
) -> Result<Value, ApiError> {
    if let Some(r) = p.get("RegionId") {
        if r != region {
            return Err(super::invalid(
                "RegionId",
                "must be the region of the endpoint called",
            ));
        }
    }
    if action == "GetJobStatus" {
        return job_status(inner, p.req("JobId")?);
    }
    if action == "ListListeners" {
        return list_listeners(&inner.state.services, p, region);
    }
    let listener_id = p.req("ListenerId")?.to_string();
    let services = &inner.state.services;
    let known = services
        .nlb_listeners
        .iter()
        .any(|l| l.id == listener_id && l.region == region);
    let tcp = services.nlb_tcp_listeners.contains(&listener_id) && region == REGION;
    if !known && !tcp {
        return Err(err(
            404,
            "ResourceNotFound.listener",
            format!("The specified resource listener {listener_id} is not found."),
        ));
    }
    let (field, limit) = match action {
        "UpdateListenerAttribute" => ("CertificateIds", 1),
        "AssociateAdditionalCertificatesWithListener"
        | "DisassociateAdditionalCertificatesWithListener" => ("AdditionalCertificateIds", 15),
        _ => ("CertificateIds", 1),
    };
    let is_write = action != "GetListenerAttribute" && action != "ListListenerCertificates";
    let ids = numbered(p, field);
    if is_write {
        if tcp {
            return Err(err(
                400,
                "OperationDenied.ListenerProtocolNotSupport",
                "Certificates are only supported on TCPSSL listeners.",
            ));
        }
        if ids.len() > limit {
            return Err(super::invalid(field, &format!("at most {limit} per call")));
        }
        for id in &ids {
            if !id.contains('-') {
                return Err(super::invalid(
                    field,
                    "must be the certificate's identifier <CertId>-<region>",
                ));
            }
            if action != "DisassociateAdditionalCertificatesWithListener" {
                find_cas(inner, id)?;
            }
        }
    }
    let token = p.get("ClientToken").map(str::to_string);
    if token
        .as_ref()
        .is_some_and(|t| t.len() > 64 || !t.is_ascii())
    {
        return Err(super::invalid(
            "ClientToken",
            "must be ASCII, at most 64 characters",
        ));
    }
    let job_ms = inner.state.services.nlb_job_ms as i64;
    let now = now_ms();
    let services = &mut inner.state.services;
    if tcp {
        return Ok(match action {
            "GetListenerAttribute" => json!({"ListenerId": listener_id, "ListenerProtocol": "TCP",
                "ListenerStatus": "Running", "RegionId": region, "CertificateIds": []}),
            _ => {
                json!({"Certificates": [], "CertificateIds": [], "TotalCount": 0, "MaxResults": 20, "NextToken": ""})
            }
        });
    }
    let l = services
        .nlb_listeners
        .iter_mut()
        .find(|l| l.id == listener_id)
        .expect("checked above");
    l.settle(now);
    if is_write {
        let busy = err(
            400,
            "Conflict.Lock",
            "The resource is being operated by another request; try again later.",
        );
        if let Some(job) = l.admit_write(token.as_deref(), busy)? {
            return Ok(json!({"JobId": job}));
        }
    }
    let change = match action {
        "GetListenerAttribute" => {
            return Ok(json!({
                "ListenerId": l.id,
                "ListenerProtocol": "TCPSSL",
                "ListenerPort": 443,
                "RegionId": region,
                "ListenerStatus": if l.job.is_some() { "Configuring" } else { "Running" },
                "CertificateIds": l.default_certificate.iter().collect::<Vec<_>>(),
            }))
        }
        "ListListenerCertificates" => {
            let max = p.u64_or("MaxResults", 20)?;
            if !(1..=50).contains(&max) {
                return Err(super::invalid("MaxResults", "must be 1-50"));
            }
            let want = p.get("CertType").unwrap_or("Server");
            if !matches!(want, "Server" | "Ca") {
                return Err(super::invalid("CertType", "must be Ca or Server"));
            }
            let list = if want == "Server" {
                l.server_certificates()
            } else {
                vec![]
            };
            let (page, total, next) = token_page(list, p.get("NextToken"), max);
            let ids: Vec<&Value> = page.iter().map(|c| &c["CertificateId"]).collect();
            return Ok(
                json!({"Certificates": page, "CertificateIds": ids, "TotalCount": total,
                             "MaxResults": max, "NextToken": next}),
            );
        }
        "UpdateListenerAttribute" => match ids.first() {
            Some(first) => AlbChange::SetDefault(first.clone()),
            None => AlbChange::Associate(vec![]),
        },
        "AssociateAdditionalCertificatesWithListener" if !ids.is_empty() => {
            AlbChange::Associate(ids)
        }
        "DisassociateAdditionalCertificatesWithListener" if !ids.is_empty() => {
            AlbChange::Dissociate(ids)
        }
        "AssociateAdditionalCertificatesWithListener"
        | "DisassociateAdditionalCertificatesWithListener" => {
            return Err(super::missing("AdditionalCertificateIds"))
        }
        _ => return Err(super::unknown_action()),
    };
    let job = l.start_job(token, now + job_ms, change);
    services.nlb_jobs.push(job.clone());
    Ok(json!({"JobId": job}))
}

/// ListListeners (alibabacloud-nlb20220430 4.1.3, client.py `list_listeners_with_options`: RPC,
/// POST, query parameters; models/_list_listeners_request.py: ListenerProtocol "Valid values:
/// **TCP**, **UDP**, and **TCPSSL**", MaxResults "Valid values: **1** to **100**. Default value:
/// **20**", NextToken; _list_listeners_response_body.py: `Listeners[]` with `ListenerId`,
/// `ListenerProtocol`, `ListenerPort`, `ListenerStatus`, `RegionId`, `CertificateIds`, and
/// `MaxResults`, `NextToken` (empty: no next query), `TotalCount`). The region's TCPSSL
/// listeners, then the seeded TCP ones (cn-hangzhou). Strictest plausible where the docs are
/// silent: an out-of-range MaxResults or an unknown protocol is `InvalidParameter.<name>`.
fn list_listeners(services: &ServicesState, p: &Params, region: &str) -> Result<Value, ApiError> {
    let max = p.u64_or("MaxResults", 20)?;
    if !(1..=100).contains(&max) {
        return Err(super::invalid("MaxResults", "must be 1-100"));
    }
    let protocol = p.get("ListenerProtocol");
    if protocol.is_some_and(|p| !matches!(p, "TCP" | "UDP" | "TCPSSL")) {
        return Err(super::invalid(
            "ListenerProtocol",
            "must be TCP, UDP or TCPSSL",
        ));
    }
    let ssl = services.nlb_listeners.iter().filter(|l| l.region == region);
    let ssl = ssl.map(|l| {
        let status = if l.job.is_some() {
            "Configuring"
        } else {
            "Running"
        };
        (
            l.id.as_str(),
            l.protocol.as_str(),
            status,
            l.default_certificate.iter().collect(),
        )
    });
    let tcp = services
        .nlb_tcp_listeners
        .iter()
        .filter(|_| region == REGION);
    let tcp = tcp.map(|id| (id.as_str(), "TCP", "Running", vec![]));
    let list: Vec<Value> = ssl
        .chain(tcp)
        .filter(|(_, proto, _, _)| protocol.is_none_or(|p| p == *proto))
        .map(
            |(id, proto, status, certs): (&str, &str, &str, Vec<&String>)| {
                json!({"ListenerId": id, "ListenerProtocol": proto, "ListenerPort": 443,
                   "ListenerStatus": status, "RegionId": region, "CertificateIds": certs})
            },
        )
        .collect();
    let (page, total, next) = token_page(list, p.get("NextToken"), max);
    Ok(json!({"Listeners": page, "TotalCount": total, "MaxResults": max, "NextToken": next}))
}

/// GetJobStatus: `processing` while the job's listener still runs it, `Succeeded` after.
fn job_status(inner: &mut Inner, job: &str) -> Result<Value, ApiError> {
    let services = &mut inner.state.services;
    if !services.nlb_jobs.iter().any(|j| j == job) {
        return Err(err(
            404,
            "ResourceNotFound.job",
            format!("The specified job {job} is not found."),
        ));
    }
    let now = now_ms();
    let running = services.nlb_listeners.iter_mut().any(|l| {
        l.settle(now);
        l.job.as_ref().is_some_and(|j| j.job_id == job)
    });
    Ok(json!({"Status": if running { "processing" } else { "Succeeded" }}))
}

/// The seeded `nlb_listeners`.
pub(crate) fn seed_nlb_listeners(seed: &ServicesSeed) -> Vec<NlbListener> {
    seed.nlb_listeners
        .iter()
        .map(|id| {
            let region = seed.nlb_listener_regions.get(id).map(String::as_str);
            let mut l = super::alb::new_listener(id, region.unwrap_or(REGION));
            l.protocol = "TCPSSL".into();
            l
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(inner: &mut Inner, pairs: &[(&str, &str)]) -> Result<Value, ApiError> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        nlb(inner, "ListListeners", &Params(&map), REGION)
    }

    fn ids(page: &Value) -> Vec<&str> {
        let listeners = page["Listeners"].as_array().unwrap();
        listeners
            .iter()
            .map(|l| l["ListenerId"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn nlb_list_listeners_pages_filters_and_enforces_max_results() {
        let seed = Seed::default()
            .nlb_listener("lsn-a")
            .nlb_listener("lsn-b")
            .nlb_listener_in("lsn-bj", "cn-beijing")
            .nlb_tcp_listener("lsn-tcp");
        let mut inner = Inner::from_seed(&seed);
        let first = call(&mut inner, &[("MaxResults", "2"), ("RegionId", REGION)]).unwrap();
        assert_eq!(ids(&first), ["lsn-a", "lsn-b"]);
        assert_eq!(first["TotalCount"], 3);
        assert_eq!(first["Listeners"][0]["ListenerProtocol"], "TCPSSL");
        let token = first["NextToken"].as_str().unwrap().to_string();
        let rest = call(&mut inner, &[("MaxResults", "2"), ("NextToken", &token)]).unwrap();
        assert_eq!(ids(&rest), ["lsn-tcp"]);
        assert_eq!(rest["Listeners"][0]["ListenerProtocol"], "TCP");
        assert_eq!(rest["NextToken"], "");
        let ssl = call(&mut inner, &[("ListenerProtocol", "TCPSSL")]).unwrap();
        assert_eq!(ids(&ssl), ["lsn-a", "lsn-b"]);
        for bad in ["0", "101"] {
            let e = call(&mut inner, &[("MaxResults", bad)]).unwrap_err();
            assert_eq!(e.code, "InvalidParameter.MaxResults", "{bad}");
        }
        let e = call(&mut inner, &[("ListenerProtocol", "HTTPS")]).unwrap_err();
        assert_eq!(e.code, "InvalidParameter.ListenerProtocol");
        let e = call(&mut inner, &[("RegionId", "cn-beijing")]).unwrap_err();
        assert_eq!(e.code, "InvalidParameter.RegionId");
    }
}
