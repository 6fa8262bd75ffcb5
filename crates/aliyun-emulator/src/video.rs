//! ApsaraVideo Live 2016-11-01 and VOD 2017-03-21 (RPC): domain certificates and domain
//! listings.
//!
//! From alibabacloud-live20161101 3.0.2 and alibabacloud-vod20170321 3.12.1 (models/):
//! - SetLiveDomainCertificate: DomainName and SSLProtocol required; with SSLProtocol `on`
//!   "you must also set the SSLPub and SSLPri request parameters"; CertType upload | cas | free;
//!   ForceSet "Ignores the check for duplicate certificate names" (so without it a CertName
//!   already used for a different certificate is refused: `Certificate.NameDuplicate`, the code
//!   being the emulator's, the docs name none).
//! - DescribeLiveDomainCertificateInfo: CertInfos.CertInfo[] with SSLProtocol, SSLPub, CertName,
//!   CertType (no certificate id).
//! - SetVodDomainSSLCertificate: DomainName, SSLProtocol required; CertType upload | cas; CertId
//!   int; CertRegion cn-hangzhou | ap-southeast-1 (default cn-hangzhou).
//! - DescribeVodDomainCertificateInfo: CertInfos.CertInfo[] with ServerCertificateStatus,
//!   ServerCertificate, CertType, CertId, CertRegion, CertName.
//! - DescribeLiveUserDomains / DescribeVodUserDomains: PageSize "Maximum value: 50" (default
//!   20), Live PageNumber 1 to 100000; Domains.PageData[] with DomainName, TotalCount.
//! - An unknown domain is HTTP 404 `InvalidDomain.NotFound` (Live's "common error codes" page,
//!   help.aliyun.com/zh/live/developer-reference/common-error-codes; VOD's domain APIs are the
//!   same CDN family).
use super::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VideoSeed {
    pub live_domains: Vec<String>,
    pub vod_domains: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct VideoState {
    pub live_domains: BTreeMap<String, Option<DeployedCert>>,
    pub vod_domains: BTreeMap<String, Option<DeployedCert>>,
}

impl Seed {
    pub fn live_domain(mut self, name: &str) -> Self {
        self.video.live_domains.push(name.into());
        self
    }
    pub fn vod_domain(mut self, name: &str) -> Self {
        self.video.vod_domains.push(name.into());
        self
    }
}

impl EmulatorState {
    pub fn live_cert(&self, domain: &str) -> Option<&DeployedCert> {
        self.video.live_domains.get(domain).and_then(|c| c.as_ref())
    }
    pub fn vod_cert(&self, domain: &str) -> Option<&DeployedCert> {
        self.video.vod_domains.get(domain).and_then(|c| c.as_ref())
    }
}

pub(crate) fn seed_video(inner: &mut Inner, seed: &Seed) {
    let v = &seed.video;
    inner.state.video = VideoState {
        live_domains: v.live_domains.iter().map(|d| (d.clone(), None)).collect(),
        vod_domains: v.vod_domains.iter().map(|d| (d.clone(), None)).collect(),
    };
}

fn no_domain() -> ApiError {
    err(
        404,
        "InvalidDomain.NotFound",
        "The domain provided does not exist in our records.",
    )
}

fn domains_mut(inner: &mut Inner, vod: bool) -> &mut BTreeMap<String, Option<DeployedCert>> {
    if vod {
        &mut inner.state.video.vod_domains
    } else {
        &mut inner.state.video.live_domains
    }
}

fn domains(inner: &Inner, vod: bool) -> &BTreeMap<String, Option<DeployedCert>> {
    if vod {
        &inner.state.video.vod_domains
    } else {
        &inner.state.video.live_domains
    }
}

pub(crate) fn live(
    inner: &mut Inner,
    action: &str,
    p: &Params,
    ctx: &Ctx,
) -> Result<Value, ApiError> {
    match action {
        "SetLiveDomainCertificate" => set_cert(inner, p, ctx, false),
        "DescribeLiveDomainCertificateInfo" => describe_cert(inner, p, false),
        "DescribeLiveUserDomains" => user_domains(inner, p, false),
        _ => Err(unknown_action()),
    }
}

pub(crate) fn vod(
    inner: &mut Inner,
    action: &str,
    p: &Params,
    ctx: &Ctx,
) -> Result<Value, ApiError> {
    match action {
        "SetVodDomainSSLCertificate" => set_cert(inner, p, ctx, true),
        "DescribeVodDomainCertificateInfo" => describe_cert(inner, p, true),
        "DescribeVodUserDomains" => user_domains(inner, p, true),
        _ => Err(unknown_action()),
    }
}

fn set_cert(inner: &mut Inner, p: &Params, ctx: &Ctx, vod: bool) -> Result<Value, ApiError> {
    let domain = p.req("DomainName")?.to_string();
    if !domains(inner, vod).contains_key(&domain) {
        return Err(no_domain());
    }
    let new = match p.req("SSLProtocol")? {
        "off" => None,
        "on" => Some(new_cert(inner, p, ctx, vod, &domain)?),
        _ => return Err(invalid("SSLProtocol", "must be on or off")),
    };
    domains_mut(inner, vod).insert(domain, new);
    Ok(json!({}))
}

fn new_cert(
    inner: &mut Inner,
    p: &Params,
    ctx: &Ctx,
    vod: bool,
    domain: &str,
) -> Result<DeployedCert, ApiError> {
    let cert_type = p.get("CertType").unwrap_or("upload");
    let allowed: &[&str] = if vod {
        &["upload", "cas"]
    } else {
        &["upload", "cas", "free"]
    };
    if !allowed.contains(&cert_type) {
        return Err(invalid("CertType", &format!("must be one of {allowed:?}")));
    }
    let region = p.get("CertRegion").unwrap_or(REGION).to_string();
    if !["cn-hangzhou", "ap-southeast-1"].contains(&region.as_str()) {
        return Err(invalid(
            "CertRegion",
            "must be cn-hangzhou or ap-southeast-1",
        ));
    }
    let (name, id, cert, key, info) = if vod && cert_type == "cas" {
        let id = p.req_u64("CertId")?;
        let c = find_cas(inner, &id.to_string())?;
        (
            c.name.clone(),
            id.to_string(),
            c.cert.clone(),
            c.key.clone(),
            c.info.clone(),
        )
    } else {
        // Live takes the PEM whatever the CertType (its model: SSLPub and SSLPri with `on`).
        let (pubk, prik) = (p.req("SSLPub")?, p.req("SSLPri")?);
        let info = check_pair(pubk, prik)?;
        let name = p
            .get("CertName")
            .map(str::to_string)
            .unwrap_or_else(|| format!("{domain}-{}", now_ms()));
        let id = inner.next_cert_id().to_string();
        (name, id, pubk.to_string(), prik.to_string(), info)
    };
    require_cover(&info, domain)?;
    let force = p.get("ForceSet") == Some("1");
    let clash = domains(inner, vod)
        .values()
        .flatten()
        .any(|c| c.cert_name == name && c.info.serial_no != info.serial_no);
    if !vod && clash && !force {
        return Err(err(
            400,
            "Certificate.NameDuplicate",
            format!("The certificate name {name} is already used by another certificate."),
        ));
    }
    Ok(DeployedCert {
        cert_name: p.get("CertName").unwrap_or(&name).to_string(),
        cert_id: id,
        cert_type: cert_type.to_string(),
        cert_region: region,
        cert,
        key,
        info,
        updated_ms: now_ms(),
        updated_by: ctx.ak.to_string(),
    })
}

fn describe_cert(inner: &Inner, p: &Params, vod: bool) -> Result<Value, ApiError> {
    let domain = p.req("DomainName")?;
    let slot = domains(inner, vod).get(domain).ok_or_else(no_domain)?;
    let c = slot.as_ref();
    let s = |f: &dyn Fn(&DeployedCert) -> String| c.map(f).unwrap_or_default();
    let on = if c.is_some() { "on" } else { "off" };
    let mut info = json!({
        "DomainName": domain,
        "CertName": s(&|c| c.cert_name.clone()),
        "CertType": s(&|c| c.cert_type.clone()),
        "CertDomainName": s(&|c| c.info.common_name.clone()),
        "CertExpireTime": s(&|c| rfc3339(c.info.not_after_ms)),
        "CertOrg": s(&|c| c.info.issuer_org.clone()),
        "Status": if c.is_some() { "success" } else { "" },
    });
    let m = info.as_object_mut().expect("object");
    if vod {
        m.insert("ServerCertificateStatus".into(), json!(on));
        m.insert("ServerCertificate".into(), json!(s(&|c| c.cert.clone())));
        m.insert("CertId".into(), json!(s(&|c| c.cert_id.clone())));
        m.insert("CertRegion".into(), json!(s(&|c| c.cert_region.clone())));
        m.insert(
            "CertStartTime".into(),
            json!(s(&|c| rfc3339(c.info.not_before_ms))),
        );
        m.insert(
            "CertUpdateTime".into(),
            json!(s(&|c| rfc3339(c.updated_ms))),
        );
    } else {
        m.insert("SSLProtocol".into(), json!(on));
        m.insert("SSLPub".into(), json!(s(&|c| c.cert.clone())));
    }
    Ok(json!({"CertInfos": {"CertInfo": [info]}}))
}

fn user_domains(inner: &Inner, p: &Params, vod: bool) -> Result<Value, ApiError> {
    let number = p.u64_or("PageNumber", 1)?;
    let size = p.u64_or("PageSize", 20)?;
    if number == 0 || number > 100_000 {
        return Err(invalid("PageNumber", "must be 1 to 100000"));
    }
    if size == 0 || size > 50 {
        return Err(invalid("PageSize", "must be 1 to 50"));
    }
    let all: Vec<&String> = domains(inner, vod).keys().collect();
    let status_field = if vod {
        "DomainStatus"
    } else {
        "LiveDomainStatus"
    };
    let page: Vec<Value> = all
        .iter()
        .skip(((number - 1) * size) as usize)
        .take(size as usize)
        .map(|d| json!({"DomainName": d, status_field: "online", "Cname": format!("{d}.w.alikunlun.com")}))
        .collect();
    Ok(json!({
        "Domains": {"PageData": page}, "PageNumber": number, "PageSize": size,
        "TotalCount": all.len(),
    }))
}

/// VOD domains that use CAS certificate `id` (Live takes PEM, never a CAS id).
pub(crate) fn cas_users(state: &EmulatorState, id: &str) -> Vec<String> {
    state
        .video
        .vod_domains
        .iter()
        .filter(|(_, c)| {
            c.as_ref()
                .is_some_and(|c| c.cert_type == "cas" && c.cert_id == id)
        })
        .map(|(d, _)| format!("vod {d}"))
        .collect()
}
