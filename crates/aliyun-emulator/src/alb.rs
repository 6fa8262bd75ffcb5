//! ALB 2020-06-16 (RPC): ListListeners, GetListenerAttribute, UpdateListenerAttribute,
//! Associate/DissociateAdditionalCertificates…, ListListenerCertificates; writes are jobs that
//! keep the listener `Configuring` for `alb_job_ms` and refuse overlapping writes (see [`alb`]).
use super::*;

#[derive(Debug, Clone, Serialize)]
pub struct AlbListener {
    pub id: String,
    /// ALB is regional (alb20200616 `_endpoint_map`: one `alb.<region>.aliyuncs.com` per
    /// region, and no RegionId parameter on the listener actions): only the listener's own
    /// region's endpoint finds it.
    pub region: String,
    /// `HTTPS` as seeded; `HTTP` or `QUIC` through [`Emulator::add_alb_listener`] (for NLB:
    /// `TCPSSL`). ListListeners reports it.
    pub protocol: String,
    /// `<CAS id>-<region>` (what the finished jobs left).
    pub default_certificate: Option<String>,
    pub additional_certificates: Vec<String>,
    /// The write job running now: the listener is `Configuring` until it is due.
    pub job: Option<AlbJob>,
    /// `ClientToken` → JobId of the writes accepted so far (a repeated token is not re-run).
    pub tokens: Vec<(String, String)>,
    /// Writes refused because the listener was configuring.
    pub refused_busy: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlbJob {
    pub job_id: String,
    pub client_token: Option<String>,
    pub due_ms: i64,
    pub change: AlbChange,
}

#[derive(Debug, Clone, Serialize)]
pub enum AlbChange {
    SetDefault(String),
    Associate(Vec<String>),
    Dissociate(Vec<String>),
}

impl AlbListener {
    /// Apply the job if its time has come.
    pub(crate) fn settle(&mut self, now: i64) {
        if self.job.as_ref().is_none_or(|j| j.due_ms > now) {
            return;
        }
        match self.job.take().expect("checked").change {
            AlbChange::SetDefault(id) => self.default_certificate = Some(id),
            AlbChange::Associate(ids) => {
                for id in ids {
                    if !self.additional_certificates.contains(&id) {
                        self.additional_certificates.push(id);
                    }
                }
            }
            AlbChange::Dissociate(ids) => self.additional_certificates.retain(|c| !ids.contains(c)),
        }
    }
    /// Whether a write may start now: `Some(job)` when it repeats the token of an accepted one
    /// (not run again), `IdempotenceProcessing` while that job runs, `busy` while another job
    /// runs, `None` to go ahead.
    pub(crate) fn admit_write(
        &mut self,
        token: Option<&str>,
        busy: ApiError,
    ) -> Result<Option<String>, ApiError> {
        if let Some(t) = token {
            if self
                .job
                .as_ref()
                .is_some_and(|j| j.client_token.as_deref() == Some(t))
            {
                return Err(err(
                    400,
                    "IdempotenceProcessing",
                    "The request with this ClientToken is still being processed.",
                ));
            }
            if let Some((_, job)) = self.tokens.iter().find(|(k, _)| k == t) {
                return Ok(Some(job.clone()));
            }
        }
        if self.job.is_some() {
            self.refused_busy += 1;
            return Err(busy);
        }
        Ok(None)
    }
    /// Start a job due at `due_ms` (already done when that is now); its JobId.
    pub(crate) fn start_job(
        &mut self,
        token: Option<String>,
        due_ms: i64,
        change: AlbChange,
    ) -> String {
        let job_id = uuid_like();
        if let Some(t) = &token {
            self.tokens.push((t.clone(), job_id.clone()));
        }
        self.job = Some(AlbJob {
            job_id: job_id.clone(),
            client_token: token,
            due_ms,
            change,
        });
        self.settle(now_ms());
        job_id
    }
    /// The server certificates as ListListenerCertificates shows them: the default, the
    /// additional ones (`Diassociating` — sic, the SDKs' spelling — while a job removes them),
    /// and those a job is adding (`Associating`).
    pub(crate) fn server_certificates(&self) -> Vec<Value> {
        let (adding, removing): (Vec<&String>, Vec<&String>) =
            match self.job.as_ref().map(|j| &j.change) {
                Some(AlbChange::Associate(ids)) => (ids.iter().collect(), vec![]),
                Some(AlbChange::Dissociate(ids)) => (vec![], ids.iter().collect()),
                _ => (vec![], vec![]),
            };
        let entry = |c: &String, default: bool, status: &str| json!({"CertificateId": c, "CertificateType": "Server", "IsDefault": default, "Status": status});
        let mut list: Vec<Value> = self
            .default_certificate
            .iter()
            .map(|c| entry(c, true, "Associated"))
            .collect();
        for c in &self.additional_certificates {
            let status = if removing.contains(&c) {
                "Diassociating"
            } else {
                "Associated"
            };
            list.push(entry(c, false, status));
        }
        for c in adding
            .into_iter()
            .filter(|c| !self.additional_certificates.contains(c))
        {
            list.push(entry(c, false, "Associating"));
        }
        list
    }
    /// Certificate ids a running job is adding.
    pub(crate) fn pending(&self) -> Vec<&String> {
        match self.job.as_ref().map(|j| &j.change) {
            Some(AlbChange::SetDefault(id)) => vec![id],
            Some(AlbChange::Associate(ids)) => ids.iter().collect(),
            _ => vec![],
        }
    }
}

impl Seed {
    pub fn alb_listener(mut self, listener_id: &str) -> Self {
        self.services.alb_listeners.push(listener_id.into());
        self
    }
    pub fn alb_listener_in(mut self, listener_id: &str, region: &str) -> Self {
        self.services.alb_listeners.push(listener_id.into());
        self.services
            .alb_listener_regions
            .insert(listener_id.into(), region.into());
        self
    }
    /// How long each ALB write job runs (the listener is `Configuring` meanwhile).
    pub fn alb_job_ms(mut self, ms: u64) -> Self {
        self.services.alb_job_ms = Some(ms);
        self
    }
}

impl Emulator {
    /// Adds an ALB listener of any protocol (`HTTP`, `HTTPS`, `QUIC`) in `region`, as a console
    /// user creating one would; the seeded ones are HTTPS.
    pub fn add_alb_listener(&self, listener_id: &str, region: &str, protocol: &str) {
        let mut inner = self.shared.lock();
        let mut l = new_listener(listener_id, region);
        l.protocol = protocol.into();
        inner.state.services.alb_listeners.push(l);
    }
    /// Makes CAS certificate `cas_id` the listener's default certificate at once, as a console
    /// edit (or another tool's UpdateListenerAttribute, its job finished) would leave it: no
    /// call is recorded. The id is kept as `<CAS id>-<region>`, the form the finished jobs leave.
    pub fn set_alb_default_certificate(&self, listener_id: &str, cas_id: u64) {
        let mut inner = self.shared.lock();
        assert!(
            inner.state.cas_certs.iter().any(|c| c.cert_id == cas_id),
            "no CAS certificate {cas_id}"
        );
        let listener = inner
            .state
            .services
            .alb_listeners
            .iter_mut()
            .find(|l| l.id == listener_id)
            .unwrap_or_else(|| panic!("ALB listener {listener_id} is not seeded"));
        listener.default_certificate = Some(format!("{cas_id}-{REGION}"));
    }
}

impl EmulatorState {
    pub fn alb_listener(&self, id: &str) -> Option<&AlbListener> {
        self.services.alb_listeners.iter().find(|l| l.id == id)
    }
    /// The ALB listener's default certificate.
    pub fn alb_default_cert(&self, id: &str) -> Option<&CertInfo> {
        self.cas_info(self.alb_listener(id)?.default_certificate.as_ref()?)
    }
    /// The ALB listener's additional certificates.
    pub fn alb_additional_certs(&self, id: &str) -> Vec<&CertInfo> {
        self.alb_listener(id)
            .map(|l| {
                l.additional_certificates
                    .iter()
                    .filter_map(|c| self.cas_info(c))
                    .collect()
            })
            .unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------------
// ALB 2020-06-16
// ---------------------------------------------------------------------------------------------

/// `Certificates.N.CertificateId` values, in N order.
pub(crate) fn certificate_ids(p: &Params) -> Vec<String> {
    let mut ids: Vec<(u32, String)> =
        p.0.iter()
            .filter_map(|(k, v)| {
                let n = k
                    .strip_prefix("Certificates.")?
                    .strip_suffix(".CertificateId")?
                    .parse()
                    .ok()?;
                Some((n, v.clone()))
            })
            .collect();
    ids.sort();
    ids.into_iter().map(|(_, v)| v).collect()
}

/// ALB writes are asynchronous jobs (alibabacloud-alb20200616 1.3.3, models/
/// `_update_listener_attribute_response_body.py`, `_associate_additional_certificates_with_
/// listener_response_body.py`, `_dissociate_…`: `JobId`, "The asynchronous task ID"; API reference
/// UpdateListenerAttribute: "If a listener is in the Configuring state, the configuration of the
/// listener is being modified"; AssociateAdditionalCertificatesWithListener: `Associating` →
/// `Associated`). The emulator runs each job for `alb_job_ms` (default 300 ms): meanwhile
/// GetListenerAttribute says `ListenerStatus: Configuring`, ListListenerCertificates shows the
/// certificate `Associating` / `Diassociating` (sic, the SDK's spelling), the change is not yet
/// in effect, and any other write is refused with `IncorrectStatus.Listener` (HTTP 400, "The
/// status of listener [%s] is incorrect." — the code and message the API reference error tables
/// give for listener writes, e.g. nlb StopListener; Terraform's alicloud provider retries it on
/// these calls). `ClientToken` (API reference: ASCII only, at most 64 characters): a write
/// repeating the token of an accepted one is not run again — `IdempotenceProcessing` while that
/// job runs (docs are silent on the exact answer: the strictest plausible one, which Terraform
/// retries), its JobId afterwards.
pub(crate) fn alb(
    inner: &mut Inner,
    action: &str,
    p: &Params,
    region: &str,
) -> Result<Value, ApiError> {
    if action == "ListListeners" {
        return list_listeners(&inner.state.services.alb_listeners, p, region);
    }
    let listener_id = p.req("ListenerId")?.to_string();
    if !inner
        .state
        .services
        .alb_listeners
        .iter()
        .any(|l| l.id == listener_id && l.region == region)
    {
        return Err(err(
            404,
            "ResourceNotFound.Listener",
            "The specified listener does not exist.",
        ));
    }
    let ids = certificate_ids(p);
    let is_write = matches!(
        action,
        "UpdateListenerAttribute"
            | "AssociateAdditionalCertificatesWithListener"
            | "DissociateAdditionalCertificatesFromListener"
    );
    for id in &ids {
        if !id.contains('-') {
            return Err(super::invalid(
                "Certificates.N.CertificateId",
                "must be the certificate's global id <CertId>-<region>",
            ));
        }
        if action != "DissociateAdditionalCertificatesFromListener" && is_write {
            find_cas(inner, id)?;
        }
    }
    let token = p.get("ClientToken").map(str::to_string);
    if let Some(t) = &token {
        if t.is_empty() || t.len() > 64 || !t.is_ascii() {
            return Err(super::invalid(
                "ClientToken",
                "must be 1-64 ASCII characters",
            ));
        }
    }
    let job_ms = inner.state.services.alb_job_ms as i64;
    let now = now_ms();
    let l = inner
        .state
        .services
        .alb_listeners
        .iter_mut()
        .find(|l| l.id == listener_id)
        .expect("checked above");
    l.settle(now);
    if is_write {
        let busy = err(
            400,
            "IncorrectStatus.Listener",
            format!("The status of listener [{listener_id}] is incorrect."),
        );
        if let Some(job) = l.admit_write(token.as_deref(), busy)? {
            return Ok(json!({"JobId": job}));
        }
    }
    let start_job = |l: &mut AlbListener, change: AlbChange| json!({"JobId": l.start_job(token.clone(), now + job_ms, change)});
    Ok(match action {
        "GetListenerAttribute" => json!({
            "ListenerId": l.id,
            "ListenerProtocol": l.protocol,
            "ListenerPort": port(&l.protocol),
            "ListenerStatus": if l.job.is_some() { "Configuring" } else { "Running" },
            "Certificates": l.default_certificate.iter().map(|c| json!({"CertificateId": c})).collect::<Vec<_>>(),
        }),
        "UpdateListenerAttribute" => match ids.first() {
            Some(first) => start_job(l, AlbChange::SetDefault(first.clone())),
            // Nothing to change: still a job (the API always answers with one).
            None => start_job(l, AlbChange::Associate(vec![])),
        },
        "AssociateAdditionalCertificatesWithListener" => {
            if ids.is_empty() {
                return Err(super::missing("Certificates"));
            }
            start_job(l, AlbChange::Associate(ids))
        }
        "DissociateAdditionalCertificatesFromListener" => {
            if ids.is_empty() {
                return Err(super::missing("Certificates"));
            }
            // DissociateAdditionalCertificatesFromListenerRequest: "Specify a maximum of 20".
            if ids.len() > 20 {
                return Err(super::invalid("Certificates", "at most 20 certificates"));
            }
            start_job(l, AlbChange::Dissociate(ids))
        }
        "ListListenerCertificates" => {
            let want = p.get("CertificateType").unwrap_or("Server");
            // ListListenerCertificatesRequest MaxResults: "Valid values: 1 to 100".
            let max = p.u64_or("MaxResults", 20)?;
            if !(1..=100).contains(&max) {
                return Err(super::invalid("MaxResults", "must be 1-100"));
            }
            let list = if want == "Server" {
                l.server_certificates()
            } else {
                vec![]
            };
            let (page, total, next) = token_page(list, p.get("NextToken"), max);
            json!({"Certificates": page, "TotalCount": total, "MaxResults": max, "NextToken": next})
        }
        _ => return Err(super::unknown_action()),
    })
}

/// One `NextToken` page of `list` (the token is the offset): (page, total, next token).
pub(crate) fn token_page(
    list: Vec<Value>,
    token: Option<&str>,
    max: u64,
) -> (Vec<Value>, usize, String) {
    let total = list.len();
    let start: usize = token.and_then(|t| t.parse().ok()).unwrap_or(0);
    let page: Vec<Value> = list.into_iter().skip(start).take(max as usize).collect();
    let next = if start + page.len() < total {
        (start + page.len()).to_string()
    } else {
        String::new()
    };
    (page, total, next)
}

/// The port the emulator gives a listener of `protocol`.
fn port(protocol: &str) -> u16 {
    if protocol == "HTTP" {
        80
    } else {
        443
    }
}

/// ListListeners (alibabacloud-alb20200616 1.3.3, client.py `list_listeners_with_options`: RPC,
/// POST, query parameters; models/_list_listeners_request.py: ListenerProtocol `HTTP` | `HTTPS`
/// | `QUIC`, MaxResults "Valid values: 1 to 100 … default value is 20", NextToken from the
/// previous answer; _list_listeners_response_body.py: `Listeners[]` with `ListenerId`,
/// `ListenerProtocol`, `ListenerPort`, `ListenerStatus`, and `MaxResults`, `NextToken` ("An
/// empty value indicates that all data has been read"), `TotalCount`). The listeners of the
/// endpoint's region, in creation order. Strictest plausible where the docs are silent: an
/// out-of-range MaxResults or an unknown protocol is `InvalidParameter.<name>`.
fn list_listeners(listeners: &[AlbListener], p: &Params, region: &str) -> Result<Value, ApiError> {
    let max = p.u64_or("MaxResults", 20)?;
    if !(1..=100).contains(&max) {
        return Err(super::invalid("MaxResults", "must be 1-100"));
    }
    let protocol = p.get("ListenerProtocol");
    if protocol.is_some_and(|p| !matches!(p, "HTTP" | "HTTPS" | "QUIC")) {
        return Err(super::invalid(
            "ListenerProtocol",
            "must be HTTP, HTTPS or QUIC",
        ));
    }
    let list: Vec<Value> = listeners
        .iter()
        .filter(|l| l.region == region && protocol.is_none_or(|p| p == l.protocol))
        .map(|l| {
            json!({
                "ListenerId": l.id,
                "ListenerProtocol": l.protocol,
                "ListenerPort": port(&l.protocol),
                "ListenerStatus": if l.job.is_some() { "Configuring" } else { "Running" },
            })
        })
        .collect();
    let (page, total, next) = token_page(list, p.get("NextToken"), max);
    Ok(json!({"Listeners": page, "TotalCount": total, "MaxResults": max, "NextToken": next}))
}

/// A listener as created: HTTPS, no certificate, no job.
pub(crate) fn new_listener(id: &str, region: &str) -> AlbListener {
    AlbListener {
        id: id.into(),
        region: region.into(),
        protocol: "HTTPS".into(),
        default_certificate: None,
        additional_certificates: vec![],
        job: None,
        tokens: vec![],
        refused_busy: 0,
    }
}

/// The seeded `alb_listeners`.
pub(crate) fn seed_alb_listeners(seed: &ServicesSeed) -> Vec<AlbListener> {
    seed.alb_listeners
        .iter()
        .map(|id| {
            let region = seed.alb_listener_regions.get(id).map(String::as_str);
            new_listener(id, region.unwrap_or(REGION))
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
        alb(inner, "ListListeners", &Params(&map), REGION)
    }

    #[test]
    fn alb_list_listeners_pages_filters_and_enforces_max_results() {
        let seed = Seed::default()
            .alb_listener("lsn-1")
            .alb_listener("lsn-2")
            .alb_listener("lsn-3")
            .alb_listener_in("lsn-sh", "cn-shanghai");
        let mut inner = Inner::from_seed(&seed);
        let mut http = new_listener("lsn-http", REGION);
        http.protocol = "HTTP".into();
        inner.state.services.alb_listeners.push(http);
        let first = call(&mut inner, &[("MaxResults", "2")]).unwrap();
        assert_eq!(first["TotalCount"], 4);
        assert_eq!(first["Listeners"][0]["ListenerId"], "lsn-1");
        assert_eq!(first["Listeners"][1]["ListenerProtocol"], "HTTPS");
        let token = first["NextToken"].as_str().unwrap().to_string();
        let rest = call(&mut inner, &[("MaxResults", "2"), ("NextToken", &token)]).unwrap();
        let ids: Vec<&str> = rest["Listeners"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["ListenerId"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["lsn-3", "lsn-http"]);
        assert_eq!(rest["Listeners"][1]["ListenerProtocol"], "HTTP");
        assert_eq!(rest["NextToken"], "");
        let https = call(&mut inner, &[("ListenerProtocol", "HTTPS")]).unwrap();
        assert_eq!(https["TotalCount"], 3);
        for bad in ["0", "101"] {
            let e = call(&mut inner, &[("MaxResults", bad)]).unwrap_err();
            assert_eq!(e.code, "InvalidParameter.MaxResults", "{bad}");
        }
        let e = call(&mut inner, &[("ListenerProtocol", "TCP")]).unwrap_err();
        assert_eq!(e.code, "InvalidParameter.ListenerProtocol");
    }
}
