//! Edge Security Acceleration (esa 2024-09-10): a site's edge certificate pool. ESA serves, per
//! request, the best certificate of the pool, so alicert adds the hub's CAS copy to it
//! (SetCertificate `Type=cas`, `CasId`, `Region`) and reads back the newest of its own
//! certificates of this name (ListCertificates → GetCertificate's PEM). Superseded alicert
//! certificates (exact name, [`crate::naming`]) are deleted once the rollout is confirmed.
//!
//! Plans cap a site's custom certificates (the issue: the free plan holds 2; the API offers no
//! call for the custom quota — GetCertificateQuota is the *free* certificate quota). When
//! SetCertificate is refused for the quota, alicert deletes its superseded certificate of this
//! name first, says so in the target's `notes`, and uploads again; it never deletes a
//! certificate it did not create: a pool full of those is an error naming the quota.
//!
//! Request and answer fields: alibabacloud-esa20240910 3.16.0, models/
//! `_set_certificate_request.py` (CasId int, Region "cn-hangzhou" / "ap-southeast-1" required
//! for Type=cas, SiteId int required, Type cas|upload|keyless required, Name),
//! `_list_certificates_request.py` / `_list_certificates_response_body.py` (PageNumber,
//! PageSize, SiteId; Result[] with Id str, Name, CasId str, Type, NotAfter, CreateTime;
//! TotalCount int), `_get_certificate_response_body.py` (Certificate: the PEM),
//! `_delete_certificate_request.py` (Id, SiteId).
use std::sync::Mutex;

use async_trait::async_trait;
use serde::{Deserialize, Deserializer};

use super::kinds::Kind;
use super::{
    cas, Capabilities, Caps, CasConsumer, CasCopy, NewCert, Target, TargetId, TargetKind,
    TargetNotes,
};
use crate::aliyun::{AliyunClient, Product};
use crate::cert::CertInfo;
use crate::error::{Error, Result};
use crate::ident::RegionId;
use crate::naming;

/// ListCertificates `PageSize`: the SDK and API reference give no bound; 100 is the strictest
/// plausible one (the emulator enforces it).
const PAGE_SIZE: u64 = 100;
/// More pages than a site can hold; a guard against a listing that never ends.
const MAX_PAGES: u64 = 100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(deserialize_with = "site_id")]
    pub site_id: u64,
    /// The ESA endpoint's region (default: `[aliyun] region`; international accounts use
    /// ap-southeast-1).
    pub region: Option<RegionId>,
}

/// A `site_id` key: the numeric site id ListSites and the console show (an integer, or a string
/// of digits). SetCertificateRequest `site_id: int`.
pub(crate) fn site_id<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Int(i64),
        Text(String),
    }
    let hint = "must be the numeric site id the ESA console shows (e.g. 1234567890123)";
    let id = match Raw::deserialize(d)? {
        Raw::Int(n) => u64::try_from(n).ok(),
        Raw::Text(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
        Raw::Text(_) => None,
    };
    id.filter(|n| *n > 0)
        .ok_or_else(|| serde::de::Error::custom(hint))
}

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &[
    "esa:ListCertificates",
    "esa:GetCertificate",
    "esa:SetCertificate",
    "esa:DeleteCertificate",
];

impl Kind for Params {
    const KIND: TargetKind = TargetKind::Esa;

    fn ram(&self, _ctx: &super::kinds::RamContext<'_>) -> Vec<crate::aliyun::ram::Statement> {
        use crate::aliyun::ram::{pick, Statement};
        let mut out = vec![Statement::any(
            "DeployEsa",
            "target kind esa: read the site's certificates and set the new one; delete only a superseded certificate alicert set when the plan's quota is full.",
            &pick(RAM, &["esa:ListCertificates", "esa:GetCertificate", "esa:SetCertificate", "esa:DeleteCertificate"]),
        )];
        out.extend(super::cas::hub_statements());
        out
    }

    fn build(self, cert_name: &str, client: &AliyunClient) -> Box<dyn Target> {
        Box::new(Esa {
            esa: super::regional(client, self.region.as_ref()),
            site: self.site_id.to_string(),
            cert_name: cert_name.to_string(),
            notes: Mutex::new(Vec::new()),
        })
    }
}

/// Every certificate in the pool of `site` (all pages, each read), under the name ESA lists it
/// with: what the site can serve (scan).
pub(crate) async fn pool(
    client: &AliyunClient,
    site: u64,
    region: Option<&RegionId>,
) -> Result<Vec<CertInfo>> {
    let esa = Esa {
        esa: super::regional(client, region),
        site: site.to_string(),
        cert_name: String::new(),
        notes: Mutex::new(Vec::new()),
    };
    let mut out = Vec::new();
    for c in esa.site_certs().await? {
        if let Some(mut info) = esa.read(&c.id).await? {
            info.deployed_as = Some(c.name);
            out.push(info);
        }
    }
    Ok(out)
}

/// One certificate of the site, as ListCertificates reports it.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct SiteCert {
    id: String,
    name: String,
    #[serde(deserialize_with = "cas::de_id")]
    cas_id: Option<String>,
    #[serde(rename = "Type")]
    kind: String,
    /// `YYYY-MM-DD HH:MM:SS` UTC: sorts as text.
    not_after: String,
    create_time: String,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct CertPage {
    result: Vec<SiteCert>,
    total_count: u64,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct CertDetail {
    certificate: Option<String>,
}

pub struct Esa {
    /// ESA's client (in the target's region).
    esa: AliyunClient,
    site: String,
    cert_name: String,
    /// What the last deploy did that the result must say.
    notes: Mutex<Vec<String>>,
}

/// Whether SetCertificate's refusal is the site's certificate quota. The API reference lists no
/// code; DCDN/ESA public error codes spell quota refusals `%s.OverQuota` ("The quantity of %s
/// exceeds the quota"), so any code naming a quota counts — except QuotaCheckFailed
/// (GetCertificateQuota's "failed to check", not a full quota).
fn is_quota(code: &str) -> bool {
    let c = code.to_ascii_lowercase();
    c.contains("quota") && !c.contains("checkfailed")
}

impl Esa {
    fn note(&self, line: String) {
        self.notes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line);
    }

    /// Every certificate of the site (all pages).
    async fn site_certs(&self) -> Result<Vec<SiteCert>> {
        let mut out: Vec<SiteCert> = Vec::new();
        let size = PAGE_SIZE.to_string();
        for page in 1..=MAX_PAGES {
            let number = page.to_string();
            let rsp = self
                .esa
                .rpc(
                    Product::Esa,
                    "ListCertificates",
                    &[
                        ("SiteId", &self.site),
                        ("PageNumber", &number),
                        ("PageSize", &size),
                    ],
                )
                .await?;
            let page: CertPage = super::answer("ListCertificates", rsp)?;
            let empty = page.result.is_empty();
            out.extend(page.result);
            if empty || out.len() as u64 >= page.total_count {
                break;
            }
        }
        Ok(out)
    }

    /// The site's certificates alicert uploaded for this certificate name.
    async fn ours(&self) -> Result<Vec<SiteCert>> {
        Ok(self
            .site_certs()
            .await?
            .into_iter()
            .filter(|c| naming::is_upload_of(&self.cert_name, &c.name))
            .collect())
    }

    /// The PEM ESA holds for certificate `id`, parsed.
    async fn read(&self, id: &str) -> Result<Option<CertInfo>> {
        let rsp = self
            .esa
            .rpc(
                Product::Esa,
                "GetCertificate",
                &[("SiteId", &self.site), ("Id", id)],
            )
            .await?;
        let detail: CertDetail = super::answer("GetCertificate", rsp)?;
        Ok(super::parse_deployed(
            "esa",
            &self.site,
            detail.certificate.as_deref(),
        ))
    }

    async fn delete(&self, c: &SiteCert) -> Result<()> {
        self.esa
            .rpc(
                Product::Esa,
                "DeleteCertificate",
                &[("SiteId", &self.site), ("Id", &c.id)],
            )
            .await?;
        tracing::info!(site = %self.site, id = %c.id, name = %c.name, "deleted superseded ESA certificate");
        Ok(())
    }

    async fn set(&self, copy: &CasCopy) -> Result<()> {
        self.esa
            .rpc(
                Product::Esa,
                "SetCertificate",
                &[
                    ("SiteId", &self.site),
                    ("Type", "cas"),
                    ("CasId", &copy.id),
                    ("Region", &copy.region),
                    ("Name", &copy.name),
                ],
            )
            .await?;
        Ok(())
    }

    /// The quota refused the upload: delete the oldest superseded alicert certificate of this
    /// name, or fail naming the quota when there is none.
    async fn make_room(&self, copy: &CasCopy, code: &str) -> Result<()> {
        let all = self.site_certs().await?;
        let mut superseded: Vec<&SiteCert> = all
            .iter()
            .filter(|c| naming::is_upload_of(&self.cert_name, &c.name))
            .filter(|c| c.cas_id.as_deref().map(cas::numeric_id) != Some(copy.id.as_str()))
            .collect();
        superseded
            .sort_by(|a, b| (&a.not_after, &a.create_time).cmp(&(&b.not_after, &b.create_time)));
        let Some(oldest) = superseded.first() else {
            let held: Vec<String> = all
                .iter()
                .filter(|c| c.kind != "free")
                .map(|c| format!("{} (id {})", c.name, c.id))
                .collect();
            return Err(Error::Deploy(format!(
                "esa site {}: the site's custom certificate quota is full ({code}) and none of its \
                 certificates is a superseded alicert upload of `{}`; it holds: {}. Delete one you no \
                 longer need in the ESA console (SSL/TLS > Edge Certificates) or upgrade the plan — \
                 alicert only removes certificates it uploaded",
                self.site,
                self.cert_name,
                if held.is_empty() { "none listed".to_string() } else { held.join(", ") },
            )));
        };
        self.delete(oldest).await?;
        tracing::warn!(site = %self.site, removed = %oldest.name, code, "ESA certificate quota full; removed alicert's superseded certificate before uploading");
        self.note(format!(
            "esa site {}: the certificate quota was full; removed the superseded alicert certificate \
             {} (id {}) before uploading the new one",
            self.site, oldest.name, oldest.id
        ));
        Ok(())
    }
}

#[async_trait]
impl Target for Esa {
    fn id(&self) -> TargetId {
        TargetId::new(TargetKind::Esa, &self.site)
    }

    /// The newest of alicert's certificates of this name in the site's pool (the pool is what
    /// ESA serves from; certificates of other names are not this target's).
    async fn current(&self) -> Result<Option<CertInfo>> {
        // Latest validity first; certificates of the same second (a CA issuing with fixed
        // validity) by the later upload: the larger CAS id, then the larger ESA id.
        let number = |s: Option<&str>| s.map(cas::numeric_id).and_then(|n| n.parse::<u64>().ok());
        let mut newest: Option<((_, _, Option<u64>, Option<u64>), CertInfo)> = None;
        for c in self.ours().await? {
            if let Some(mut info) = self.read(&c.id).await? {
                // Only alicert's uploads are read (a site holds others' beside them, which
                // replace nothing): the name says whose it is (src/drift.rs).
                info.deployed_as = Some(c.name.clone());
                let key = (
                    info.not_after,
                    info.not_before,
                    number(c.cas_id.as_deref()),
                    number(Some(&c.id)),
                );
                if newest.as_ref().is_none_or(|(k, _)| key > *k) {
                    newest = Some((key, info));
                }
            }
        }
        Ok(newest.map(|(_, info)| info))
    }

    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()> {
        let copy = cert.cas.ok_or_else(|| {
            Error::Deploy("esa: the certificate must be in CAS first (hub inactive)".into())
        })?;
        let present = self
            .ours()
            .await?
            .iter()
            .any(|c| c.cas_id.as_deref().map(cas::numeric_id) == Some(copy.id.as_str()));
        if present {
            tracing::info!(site = %self.site, cas_id = %copy.id, "already in the ESA site's pool");
            return Ok(());
        }
        // Each refusal for the quota frees one superseded certificate; a pool holds few.
        for _ in 0..10 {
            match self.set(copy).await {
                Err(Error::Aliyun { code, .. }) if is_quota(&code) => {
                    self.make_room(copy, &code).await?
                }
                other => return other,
            }
        }
        Err(Error::Deploy(format!(
            "esa site {}: SetCertificate still refused for the quota after removing superseded certificates",
            self.site
        )))
    }
}

impl Capabilities for Esa {
    fn capabilities(&self) -> Caps<'_> {
        Caps {
            notes: Some(self),
            ..Caps::cas(self)
        }
    }
}

impl TargetNotes for Esa {
    fn take_notes(&self) -> Vec<String> {
        std::mem::take(&mut *self.notes.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[async_trait]
impl CasConsumer for Esa {
    async fn cas_references(&self) -> Result<Vec<String>> {
        let ids = self
            .site_certs()
            .await?
            .into_iter()
            .filter(|c| c.kind == "cas")
            .filter_map(|c| c.cas_id);
        Ok(cas::numeric_ids(ids))
    }

    /// Delete alicert's certificates of this name other than `current` from the pool.
    async fn retire(&self, current: &CasCopy) -> Result<()> {
        for c in self.ours().await? {
            if c.cas_id.as_deref().map(cas::numeric_id) != Some(current.id.as_str()) {
                self.delete(&c).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> std::result::Result<Params, String> {
        Params::parse(&toml::from_str(text).unwrap())
    }

    #[test]
    fn the_site_id_is_numeric() {
        assert_eq!(
            parse("site_id = 1234567890123").unwrap().site_id,
            1234567890123
        );
        assert_eq!(parse("site_id = \"42\"").unwrap().site_id, 42);
        let p = parse("site_id = 7\nregion = \"ap-southeast-1\"").unwrap();
        assert_eq!(p.region.unwrap().as_str(), "ap-southeast-1");
        for bad in [
            "site_id = 0",
            "site_id = -3",
            "site_id = \"12a\"",
            "site_id = \"\"",
            "site_id = \"1&Type=upload\"",
        ] {
            let e = parse(bad).err().unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(
                e.contains("`site_id`") && e.contains("numeric site id"),
                "{bad}: {e}"
            );
        }
        assert!(parse("region = \"cn-hangzhou\"")
            .unwrap_err()
            .contains("missing required key `site_id`"));
        assert!(parse("site_id = 1\nregion = \"cn-hangzhou.evil.com\"")
            .unwrap_err()
            .contains("`region`"));
    }

    #[test]
    fn quota_codes() {
        assert!(is_quota("Certificate.OverQuota"));
        assert!(is_quota("QuotaExceeded.Certificate"));
        assert!(!is_quota("QuotaCheckFailed"));
        assert!(!is_quota("InvalidParameter"));
        assert!(!is_quota("SiteNotFound"));
    }
}
