//! CAS as the hub: each certificate is uploaded to Certificate Management Service once (looked
//! up by SHA-256 fingerprint first), targets that take a CAS id use that copy, a later run can
//! reuse it to finish a rollout, and once every target serves the new serial the superseded
//! copies alicert uploaded (named by [`crate::naming::upload_name`] and recognised by exact name,
//! never one a target still references) are deleted.
//!
//! The handler calls [`Hub::reusable`] before ordering, [`Hub::publish`] before deploying and
//! [`Hub::retire_superseded`] after every target confirmed the new serial.
use std::collections::HashSet;

use serde_json::Value;
use time::OffsetDateTime;

use super::{NewCert, Target};
use crate::acme::order::Issued;
use crate::aliyun::{AliyunClient, Product};
use crate::cert::CertInfo;
use crate::error::{Error, Result};
use crate::naming;
use crate::secret::Secret;

/// Where CAS keeps certificates when it does not say (mainland China accounts).
const DEFAULT_CAS_REGION: &str = "cn-hangzhou";

/// A certificate's copy in CAS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CasCopy {
    /// The numeric CertId.
    pub id: String,
    /// The region CAS keeps it in (`CertRegion`, `AliCloudCertificateRegionId`).
    pub region: String,
    pub name: String,
}

impl CasCopy {
    /// The globally unique id ALB and OSS want: `<CertId>-<region>`.
    pub fn identifier(&self) -> String {
        format!("{}-{}", self.id, self.region)
    }
}

/// A certificate uploaded to CAS, as `ListUserCertificateOrder` lists it.
#[derive(Debug, Clone)]
pub(crate) struct Listed {
    pub id: String,
    pub name: String,
    pub serial: String,
    /// SHA-256 fingerprint as CAS prints it (its case is not documented: compare ignoring case).
    pub sha256: String,
    /// End of the validity day (`EndDate`, YYYY-MM-DD) in ms; 0 when CAS did not say.
    pub not_after_ms: i64,
}

/// Page size for ListUserCertificateOrder: the documented default (cas20200407
/// ListUserCertificateOrderRequest `ShowSize`: "Default value: 50"; no maximum is documented,
/// so alicert never asks for more and pages by `TotalCount`).
const SHOW_SIZE: u32 = 50;
/// Safety bound on pages (50 000 certificates).
const MAX_PAGES: u32 = 1000;

/// Which uploads to list: without `Status`, CAS returns only valid ones (ISSUED and
/// WILLEXPIRED: "当 OrderType=CERT 或者 UPLOAD，Status 为空时，将默认返回有效证书",
/// help.aliyun.com/document_detail/455804.html); cleanup also wants the expired ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listing {
    Valid,
    ValidAndExpired,
}

/// Every uploaded CAS certificate whose name `keep` accepts, newest first: latest expiry date,
/// and among equal dates the later upload (higher CertId).
pub(crate) async fn list_uploads(
    client: &AliyunClient,
    listing: Listing,
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<Listed>> {
    let mut found = Vec::new();
    let statuses: &[Option<&str>] = match listing {
        Listing::Valid => &[None],
        Listing::ValidAndExpired => &[None, Some("EXPIRED")],
    };
    for status in statuses {
        list_pages(client, *status, &keep, &mut found).await?;
    }
    found.sort_by_key(|c| std::cmp::Reverse((c.not_after_ms, c.id.parse::<u64>().unwrap_or(0))));
    found.dedup_by(|a, b| a.id == b.id);
    Ok(found)
}

async fn list_pages(
    client: &AliyunClient,
    status: Option<&str>,
    keep: &impl Fn(&str) -> bool,
    found: &mut Vec<Listed>,
) -> Result<()> {
    let show = SHOW_SIZE.to_string();
    let mut seen = 0usize;
    for page in 1..=MAX_PAGES {
        let page_s = page.to_string();
        // No Keyword: it matches domains and resource ids, not names; filter here.
        let mut params = vec![
            ("OrderType", "UPLOAD"),
            ("CurrentPage", page_s.as_str()),
            ("ShowSize", show.as_str()),
        ];
        if let Some(s) = status {
            params.push(("Status", s));
        }
        let rsp = client
            .rpc(Product::Cas, "ListUserCertificateOrder", &params)
            .await?;
        let items = rsp["CertificateOrderList"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        seen += items.len();
        for item in &items {
            let name = item["Name"].as_str().unwrap_or_default();
            let Some(id) = id_string(&item["CertificateId"]) else {
                continue;
            };
            if !keep(name) {
                continue;
            }
            found.push(Listed {
                id,
                name: name.to_string(),
                serial: normalize_serial(item["SerialNo"].as_str().unwrap_or_default()),
                sha256: item["Sha2"].as_str().unwrap_or_default().replace(':', ""),
                not_after_ms: end_date_ms(&item["EndDate"]),
            });
        }
        let total = rsp["TotalCount"].as_u64().unwrap_or(0) as usize;
        if items.is_empty() || seen >= total {
            break;
        }
    }
    Ok(())
}

/// `EndDate` (YYYY-MM-DD, cas20200407 ListUserCertificateOrderResponseBody: "Returned when
/// OrderType is set to CERT or UPLOAD") as the last millisecond of that day, UTC; 0 if absent.
fn end_date_ms(v: &Value) -> i64 {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    v.as_str()
        .and_then(|s| time::Date::parse(s, &format).ok())
        .and_then(|d| d.next_day())
        .map(|d| d.midnight().assume_utc().unix_timestamp() * 1000 - 1)
        .unwrap_or(0)
}

pub struct Hub<'a> {
    client: &'a AliyunClient,
    cert_name: String,
    /// Off when no target of the certificate takes a CAS id: then CAS is not touched at all.
    active: bool,
}

impl<'a> Hub<'a> {
    pub fn new(client: &'a AliyunClient, cert_name: &str, targets: &[&dyn Target]) -> Self {
        Hub {
            client,
            cert_name: cert_name.to_string(),
            active: targets.iter().any(|t| t.uses_cas()),
        }
    }

    pub fn is_active(&self) -> bool {
        self.active
    }

    /// The certificate alicert uploaded earlier for this name, with its key, if it covers
    /// `domains` and is not due: a run after a partial rollout deploys that one instead of
    /// ordering another.
    pub async fn reusable(
        &self,
        domains: &[String],
        renew_before_days: u32,
        now: OffsetDateTime,
    ) -> Result<Option<Issued>> {
        if !self.active {
            return Ok(None);
        }
        let ours = self.list_ours(Listing::Valid).await?;
        let Some(newest) = ours.first() else {
            return Ok(None);
        };
        let detail = self
            .client
            .rpc(
                Product::Cas,
                "GetUserCertificateDetail",
                &[("CertId", &newest.id)],
            )
            .await?;
        let (Some(pem), Some(key)) = (detail["Cert"].as_str(), detail["Key"].as_str()) else {
            return Ok(None);
        };
        let info = CertInfo::from_pem(pem)?;
        if crate::plan::due_reason(Some(&info), domains, renew_before_days, now).is_some() {
            return Ok(None);
        }
        tracing::info!(serial = %info.serial, cas_id = %newest.id, "reusing the certificate kept in CAS");
        Ok(Some(Issued {
            fullchain: pem.to_string(),
            private_key: Secret::new(key),
            info,
            notes: Vec::new(),
        }))
    }

    /// Make sure `cert` is in CAS (looked up by fingerprint before uploading); `None` when the
    /// hub is off.
    pub async fn publish(&self, cert: &NewCert<'_>) -> Result<Option<CasCopy>> {
        if !self.active {
            return Ok(None);
        }
        if let Some(found) = self
            .find_by_fingerprint(&cert.info.fingerprint_sha256)
            .await?
        {
            tracing::info!(cas_id = %found.id, name = %found.name, "certificate already in CAS");
            return self.copy(&found.id, &found.name).await.map(Some);
        }
        let name = cert.upload_name();
        match self
            .client
            .rpc_with_form(
                Product::Cas,
                "UploadUserCertificate",
                &[("Name", &name)],
                &[("Cert", cert.fullchain), ("Key", cert.private_key.expose())],
            )
            .await
        {
            Ok(rsp) => {
                let id = id_string(&rsp["CertId"]).ok_or_else(|| {
                    Error::Deploy("UploadUserCertificate returned no CertId".into())
                })?;
                tracing::info!(name, cas_id = %id, "uploaded to CAS");
                self.copy(&id, &name).await.map(Some)
            }
            // Same name = same serial, uploaded by an interrupted run: look it up again.
            Err(Error::Aliyun { code, .. }) if code == "NameRepeat" => {
                let found = self
                    .list_ours(Listing::ValidAndExpired)
                    .await?
                    .into_iter()
                    .find(|c| c.name == name)
                    .ok_or_else(|| {
                        Error::Deploy(format!("CAS says `{name}` exists but does not list it"))
                    })?;
                self.copy(&found.id, &found.name).await.map(Some)
            }
            Err(e) => Err(e),
        }
    }

    /// After every target confirmed `current`: let targets drop their superseded copies, then
    /// delete alicert's older uploads for this name that no target references. Best effort:
    /// failures are logged, never fail the run. Returns the CAS ids deleted.
    pub async fn retire_superseded(
        &self,
        targets: &[&dyn Target],
        current: Option<&CasCopy>,
    ) -> Vec<String> {
        let Some(current) = current.filter(|_| self.active) else {
            return Vec::new();
        };
        for t in targets {
            if let Err(e) = t.retire(current).await {
                tracing::warn!(kind = t.kind(), id = %t.id(), error = %e, "could not retire superseded copies");
            }
        }
        let mut referenced: HashSet<String> = HashSet::from([current.id.clone()]);
        for t in targets {
            match t.cas_references().await {
                Ok(ids) => referenced.extend(ids),
                Err(e) => {
                    // Without knowing what is in use, delete nothing.
                    tracing::warn!(kind = t.kind(), id = %t.id(), error = %e, "cannot read CAS references; keeping old certificates");
                    return Vec::new();
                }
            }
        }
        let ours = match self.list_ours(Listing::ValidAndExpired).await {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list CAS certificates; keeping old certificates");
                return Vec::new();
            }
        };
        let mut deleted = Vec::new();
        for old in ours.iter().filter(|c| !referenced.contains(&c.id)) {
            // Something outside the config may use it (set by hand, another tool): ask CAS
            // where it is deployed and never send a delete for a certificate in use.
            match self.deployed_on(&old.id).await {
                Ok(users) if users.is_empty() => {}
                Ok(users) => {
                    tracing::info!(cas_id = %old.id, users = %users.join(", "), "superseded certificate still in use; kept");
                    continue;
                }
                Err(e) => {
                    tracing::warn!(cas_id = %old.id, error = %e, "cannot tell whether the superseded certificate is in use; kept");
                    continue;
                }
            }
            match self
                .client
                .rpc(
                    Product::Cas,
                    "DeleteUserCertificate",
                    &[("CertId", &old.id)],
                )
                .await
            {
                Ok(_) => {
                    tracing::info!(cas_id = %old.id, name = %old.name, serial = %old.serial, "deleted superseded certificate from CAS");
                    deleted.push(old.id.clone());
                }
                Err(e) => {
                    tracing::warn!(cas_id = %old.id, error = %e, "could not delete superseded certificate")
                }
            }
        }
        deleted
    }

    /// The cloud resources CAS reports certificate `id` deployed on (`product domain|instance`).
    async fn deployed_on(&self, id: &str) -> Result<Vec<String>> {
        let ids = format!("[{id}]");
        let rsp = self
            .client
            .rpc(
                Product::Cas,
                "ListCloudResources",
                &[("CertIds", &ids), ("ShowSize", "100")],
            )
            .await?;
        let data = rsp["Data"].as_array().cloned().unwrap_or_default();
        let mut users: Vec<String> = data
            .iter()
            .map(|r| {
                let what = [&r["Domain"], &r["InstanceId"], &r["Id"]]
                    .iter()
                    .find_map(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_string))
                    .unwrap_or_default();
                format!("{} {what}", r["CloudProduct"].as_str().unwrap_or("?"))
            })
            .collect();
        // A total above what was listed still means "in use".
        if users.is_empty() && rsp["Total"].as_u64().unwrap_or(0) > 0 {
            users.push("(unlisted)".into());
        }
        Ok(users)
    }

    async fn copy(&self, id: &str, name: &str) -> Result<CasCopy> {
        // CertIdentifier (`<id>-<region>`) tells the region; the PEM is not needed here.
        let detail = self
            .client
            .rpc(
                Product::Cas,
                "GetUserCertificateDetail",
                &[("CertId", id), ("CertFilter", "true")],
            )
            .await?;
        let region = detail["CertIdentifier"]
            .as_str()
            .and_then(|s| s.strip_prefix(&format!("{id}-")))
            .filter(|r| !r.is_empty())
            .unwrap_or(DEFAULT_CAS_REGION)
            .to_string();
        Ok(CasCopy {
            id: id.to_string(),
            region,
            name: name.to_string(),
        })
    }

    async fn find_by_fingerprint(&self, sha256: &str) -> Result<Option<Listed>> {
        let all = list_uploads(self.client, Listing::Valid, |_| true).await?;
        // Prefer alicert's own copy when the same certificate was uploaded twice.
        Ok(all
            .iter()
            .filter(|c| same_fingerprint(&c.sha256, sha256))
            .max_by_key(|c| naming::is_upload_of(&self.cert_name, &c.name))
            .cloned())
    }

    async fn list_ours(&self, listing: Listing) -> Result<Vec<Listed>> {
        let name = self.cert_name.clone();
        list_uploads(self.client, listing, move |n| {
            naming::is_upload_of(&name, n)
        })
        .await
    }
}

/// Whether two hex fingerprints are the same, whatever case and `:` separators either uses
/// (CAS does not document the case of `Sha2`).
fn same_fingerprint(a: &str, b: &str) -> bool {
    let clean = |s: &str| s.replace(':', "");
    !a.is_empty() && clean(a).eq_ignore_ascii_case(&clean(b))
}

/// A CAS id as a string, whether the API sent a number or a string.
pub(crate) fn id_string(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// The numeric CertId of `123` or `123-cn-hangzhou` (ALB and OSS append the region).
pub(crate) fn numeric_id(id: &str) -> &str {
    id.split('-').next().unwrap_or(id)
}

/// Serials as CAS may print them (upper case, colons, leading zeros) → SPEC form.
fn normalize_serial(s: &str) -> String {
    let t = s.replace(':', "").to_ascii_lowercase();
    match t.trim_start_matches('0') {
        "" => "0".to_string(),
        rest => rest.to_string(),
    }
}

/// What CAS certificate `id` (`123` or `123-cn-hangzhou`) is; `None` when CAS does not know it.
pub(crate) async fn read_cas_cert(client: &AliyunClient, id: &str) -> Result<Option<CertInfo>> {
    match client
        .rpc(
            Product::Cas,
            "GetUserCertificateDetail",
            &[("CertId", numeric_id(id))],
        )
        .await
    {
        Ok(rsp) => Ok(super::parse_deployed("cas", id, rsp["Cert"].as_str())),
        Err(Error::Aliyun { code, .. })
            if code.contains("NotFound") || code.contains("NotExist") =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The CAS name of certificate `id`, if CAS knows it.
pub(crate) async fn cas_name(client: &AliyunClient, id: &str) -> Result<Option<String>> {
    match client
        .rpc(
            Product::Cas,
            "GetUserCertificateDetail",
            &[("CertId", numeric_id(id)), ("CertFilter", "true")],
        )
        .await
    {
        Ok(rsp) => Ok(rsp["Name"].as_str().map(str::to_string)),
        Err(Error::Aliyun { code, .. })
            if code.contains("NotFound") || code.contains("NotExist") =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_serials() {
        assert_eq!(numeric_id("14000002-cn-hangzhou"), "14000002");
        assert_eq!(numeric_id("14000002"), "14000002");
        assert_eq!(normalize_serial("00:0A:BC"), "abc");
        assert_eq!(normalize_serial("03ff"), "3ff");
        assert_eq!(normalize_serial("abc"), "abc");
        let c = CasCopy {
            id: "7".into(),
            region: "cn-hangzhou".into(),
            name: "n".into(),
        };
        assert_eq!(c.identifier(), "7-cn-hangzhou");
        assert_eq!(id_string(&serde_json::json!(12)).as_deref(), Some("12"));
    }

    #[test]
    fn fingerprints_compare_in_any_case() {
        assert!(same_fingerprint("AB:CD:EF", "abcdef"));
        assert!(same_fingerprint("ABCDEF", "abcdef"));
        assert!(!same_fingerprint("ABCDEE", "abcdef"));
        assert!(!same_fingerprint("", ""));
    }

    #[test]
    fn end_dates_are_the_end_of_the_day() {
        let ms = end_date_ms(&serde_json::json!("2027-02-20"));
        // 2027-02-20T23:59:59.999Z
        assert_eq!(ms, 1_803_167_999_999);
        assert_eq!(end_date_ms(&serde_json::json!(1_803_167_999_999i64)), 0);
        assert_eq!(end_date_ms(&serde_json::json!("20 Feb 2027")), 0);
    }
}
