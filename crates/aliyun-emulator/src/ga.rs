//! Global Accelerator 2019-11-20 (RPC): ListAccelerators and ListListeners (see
//! [`list_accelerators`]); HTTPS listeners' certificates — DescribeListener,
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
    /// `HTTPS` as seeded; `TCP`, `UDP` or `HTTP` through [`Emulator::add_ga_listener`].
    pub protocol: String,
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

impl Emulator {
    /// Adds a listener of any protocol (`TCP`, `UDP`, `HTTP`, `HTTPS`) to an accelerator, as a
    /// console user creating one would; the seeded ones are HTTPS.
    pub fn add_ga_listener(&self, listener_id: &str, accelerator_id: &str, protocol: &str) {
        let mut inner = self.shared.lock();
        let mut l = new_listener(listener_id, accelerator_id);
        l.protocol = protocol.into();
        inner.state.services.ga_listeners.push(l);
    }
    /// Makes CAS certificate `cas_id` the listener's default certificate at once, as a console
    /// edit would leave it (no call recorded), kept as `<CAS id>-<region>`.
    pub fn set_ga_default_certificate(&self, listener_id: &str, cas_id: u64) {
        let mut inner = self.shared.lock();
        assert!(
            inner.state.cas_certs.iter().any(|c| c.cert_id == cas_id),
            "no CAS certificate {cas_id}"
        );
        let listener = inner
            .state
            .services
            .ga_listeners
            .iter_mut()
            .find(|l| l.id == listener_id)
            .unwrap_or_else(|| panic!("GA listener {listener_id} is not added"));
        listener.default_certificate = Some(format!("{cas_id}-{REGION}"));
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
    match action {
        "ListAccelerators" => return list_accelerators(&inner.state.services.ga_listeners, p),
        "ListListeners" => return list_listeners(&inner.state.services.ga_listeners, p),
        _ => {}
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
            "Protocol": l.protocol,
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

/// `PageNumber` (default 1, from 1) and `PageSize` (default 10, at most 50) of GA's listings
/// (models/_list_accelerators_request.py, _list_listeners_request.py: "The number of entries
/// per page. Maximum value: **50**. Default value: **10**", "The page number. Default value:
/// **1**"); out of range (docs silent on the code): `InvalidParameter.<name>`.
fn page_of(list: Vec<Value>, key: &str, p: &Params) -> Result<Value, ApiError> {
    let number = p.u64_or("PageNumber", 1)?;
    if number < 1 {
        return Err(super::invalid("PageNumber", "must be at least 1"));
    }
    let size = p.u64_or("PageSize", 10)?;
    if !(1..=50).contains(&size) {
        return Err(super::invalid("PageSize", "must be 1-50"));
    }
    let total = list.len();
    let skip = ((number - 1) * size) as usize;
    let page: Vec<Value> = list.into_iter().skip(skip).take(size as usize).collect();
    Ok(json!({key: page, "PageNumber": number, "PageSize": size, "TotalCount": total}))
}

/// ListAccelerators (alibabacloud-ga20191120 3.0.2, client.py `list_accelerators_with_options`:
/// RPC, POST, query; models/_list_accelerators_request.py: RegionId required, "Set the value to
/// **cn-hangzhou**", PageNumber/PageSize as [`page_of`]; _list_accelerators_response_body.py:
/// `Accelerators[]` with `AcceleratorId`, `State`, and `PageNumber`, `PageSize`, `TotalCount`).
/// The emulator's accelerators are those its listeners name, in first-seen order, all `active`.
pub(crate) fn list_accelerators(listeners: &[GaListener], p: &Params) -> Result<Value, ApiError> {
    let mut ids: Vec<&str> = Vec::new();
    for l in listeners {
        if !ids.contains(&l.accelerator_id.as_str()) {
            ids.push(&l.accelerator_id);
        }
    }
    let list = ids.into_iter();
    let list = list.map(|id| json!({"AcceleratorId": id, "State": "active"}));
    page_of(list.collect(), "Accelerators", p)
}

/// ListListeners (client.py `list_listeners_with_options`: RPC, POST, query; models/
/// _list_listeners_request.py: AcceleratorId and RegionId required, Protocol, PageNumber /
/// PageSize as [`page_of`]; _list_listeners_response_body.py: `Listeners[]` with `ListenerId`,
/// `AcceleratorId`, `Protocol` (`TCP` | `UDP` | `HTTP` | `HTTPS`), `State`, `Certificates[]`).
/// An accelerator the account does not have (docs silent on the code): 404
/// `NotExist.Accelerator`, like `NotExist.Listener`.
fn list_listeners(listeners: &[GaListener], p: &Params) -> Result<Value, ApiError> {
    let accelerator = p.req("AcceleratorId")?;
    if !listeners.iter().any(|l| l.accelerator_id == accelerator) {
        return Err(err(
            404,
            "NotExist.Accelerator",
            format!("The accelerator {accelerator} does not exist."),
        ));
    }
    let protocol = p.get("Protocol");
    let list = listeners
        .iter()
        .filter(|l| l.accelerator_id == accelerator && protocol.is_none_or(|p| p == l.protocol));
    let list = list.map(|l| {
        let certs: Vec<Value> = l
            .default_certificate
            .iter()
            .map(|c| json!({"Id": c, "Type": "Server"}))
            .collect();
        json!({"ListenerId": l.id, "AcceleratorId": l.accelerator_id, "Protocol": l.protocol,
               "State": l.state(), "Certificates": certs})
    });
    page_of(list.collect(), "Listeners", p)
}

/// A listener as created: HTTPS, no certificate, no job.
fn new_listener(id: &str, accelerator_id: &str) -> GaListener {
    GaListener {
        id: id.into(),
        accelerator_id: accelerator_id.into(),
        protocol: "HTTPS".into(),
        default_certificate: None,
        additional: vec![],
        job: None,
        refused_busy: 0,
    }
}

/// The seeded `ga_listeners`.
pub(crate) fn seed_ga_listeners(seed: &ServicesSeed) -> Vec<GaListener> {
    seed.ga_listeners
        .iter()
        .map(|(id, acc)| new_listener(id, acc))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(inner: &mut Inner, action: &str, pairs: &[(&str, &str)]) -> Result<Value, ApiError> {
        let mut map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.entry("RegionId".into())
            .or_insert_with(|| REGION.into());
        ga(inner, action, &Params(&map), REGION)
    }

    fn ids<'a>(page: &'a Value, key: &str, id: &str) -> Vec<&'a str> {
        let list = page[key].as_array().unwrap();
        list.iter().map(|l| l[id].as_str().unwrap()).collect()
    }

    #[test]
    fn ga_listings_page_by_number_and_enforce_page_size() {
        let seed = Seed::default()
            .ga_listener("lsr-1", "ga-a")
            .ga_listener("lsr-2", "ga-b")
            .ga_listener("lsr-3", "ga-a");
        let mut inner = Inner::from_seed(&seed);
        let mut tcp = new_listener("lsr-tcp", "ga-a");
        tcp.protocol = "TCP".into();
        inner.state.services.ga_listeners.push(tcp);
        let accs = call(&mut inner, "ListAccelerators", &[("PageSize", "1")]).unwrap();
        assert_eq!(ids(&accs, "Accelerators", "AcceleratorId"), ["ga-a"]);
        assert_eq!(accs["TotalCount"], 2);
        let second = [("PageSize", "1"), ("PageNumber", "2")];
        let accs = call(&mut inner, "ListAccelerators", &second).unwrap();
        assert_eq!(ids(&accs, "Accelerators", "AcceleratorId"), ["ga-b"]);
        let of_a = [
            ("AcceleratorId", "ga-a"),
            ("PageSize", "2"),
            ("PageNumber", "2"),
        ];
        let page = call(&mut inner, "ListListeners", &of_a).unwrap();
        assert_eq!(ids(&page, "Listeners", "ListenerId"), ["lsr-tcp"]);
        assert_eq!(page["Listeners"][0]["Protocol"], "TCP");
        assert_eq!(page["TotalCount"], 3);
        for bad in ["0", "51"] {
            let e = call(&mut inner, "ListAccelerators", &[("PageSize", bad)]).unwrap_err();
            assert_eq!(e.code, "InvalidParameter.PageSize", "{bad}");
            let listeners = [("AcceleratorId", "ga-a"), ("PageSize", bad)];
            let e = call(&mut inner, "ListListeners", &listeners).unwrap_err();
            assert_eq!(e.code, "InvalidParameter.PageSize", "{bad}");
        }
        let e = call(&mut inner, "ListListeners", &[]).unwrap_err();
        assert_eq!(e.code, "MissingParameter.AcceleratorId");
        let e = call(&mut inner, "ListListeners", &[("AcceleratorId", "ga-x")]).unwrap_err();
        assert_eq!(e.code, "NotExist.Accelerator");
        let e = call(
            &mut inner,
            "ListAccelerators",
            &[("RegionId", "cn-shanghai")],
        )
        .unwrap_err();
        assert_eq!(e.code, "InvalidParameter.RegionId");
    }
}
