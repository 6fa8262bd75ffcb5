//! Certificate Management Service (CAS, cas 2020-04-07): every CAS call alicert makes lives
//! here — list, detail, upload, delete and "where is it deployed" — with typed answers.
//! [`hub`] keeps one copy of each certificate in CAS for the targets that take a CAS id;
//! [`store`] is the `cas` target kind (the certificate kept in CAS, and its key).
//!
//! Field names and types: alibabacloud-cas20200407 3.9.4 models (ListUserCertificateOrderResponseBody,
//! GetUserCertificateDetailResponseBody, UploadUserCertificateResponseBody,
//! ListCloudResourcesResponseBody: CertificateId/CertId int, TotalCount/Total int, the rest str);
//! ids are integers there, but other products echo them as
//! strings, so ids are read as either.
pub mod hub;
pub mod store;

pub use hub::Hub;

use serde::{Deserialize, Deserializer};

use crate::aliyun::{AliyunClient, Product};
use crate::cert::CertInfo;
use crate::error::{Error, Result};

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

/// Where CAS keeps certificates when it does not say (mainland China accounts).
const DEFAULT_CAS_REGION: &str = "cn-hangzhou";

/// A CAS id as a string, whether the API sent a number or a (non-empty) string.
pub(crate) fn id_of(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// Serde form of [`id_of`] for the typed answers below.
pub(crate) fn de_id<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    Ok(id_of(&serde_json::Value::deserialize(d)?))
}

/// The numeric CertId of `123` or `123-cn-hangzhou` (ALB and OSS append the region).
pub(crate) fn numeric_id(id: &str) -> &str {
    id.split('-').next().unwrap_or(id)
}

/// The numeric CertIds of ids as a service reports them (`123` or `123-<region>`).
pub(crate) fn numeric_ids(ids: impl IntoIterator<Item = String>) -> Vec<String> {
    ids.into_iter()
        .map(|id| numeric_id(&id).to_string())
        .collect()
}

/// GetUserCertificateDetail, as alicert reads it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct Detail {
    pub name: Option<String>,
    /// The PEM (absent with `CertFilter=true`).
    pub cert: Option<String>,
    pub key: Option<String>,
    /// `<CertId>-<region>`.
    pub cert_identifier: Option<String>,
}

impl Detail {
    /// The region CAS keeps certificate `id` in, from `CertIdentifier`.
    fn region(&self, id: &str) -> String {
        self.cert_identifier
            .as_deref()
            .and_then(|s| s.strip_prefix(&format!("{id}-")))
            .filter(|r| !r.is_empty())
            .unwrap_or(DEFAULT_CAS_REGION)
            .to_string()
    }

    /// The private key, when CAS gave one back.
    pub fn private_key(&self) -> Option<crate::secret::Secret> {
        self.key
            .as_deref()
            .filter(|k| k.contains("PRIVATE KEY"))
            .map(crate::secret::Secret::new)
    }
}

/// What CAS says about certificate `id` (`123` or `123-<region>`); `with_pem = false` asks
/// for the metadata only (`CertFilter=true`).
pub(crate) async fn detail(client: &AliyunClient, id: &str, with_pem: bool) -> Result<Detail> {
    let id = numeric_id(id);
    let mut params = vec![("CertId", id)];
    if !with_pem {
        params.push(("CertFilter", "true"));
    }
    let rsp = client
        .rpc(Product::Cas, "GetUserCertificateDetail", &params)
        .await?;
    super::answer("GetUserCertificateDetail", rsp)
}

/// [`detail`], `None` when CAS does not know the certificate.
async fn detail_if_known(
    client: &AliyunClient,
    id: &str,
    with_pem: bool,
) -> Result<Option<Detail>> {
    match detail(client, id, with_pem).await {
        Ok(d) => Ok(Some(d)),
        Err(Error::Aliyun { code, .. })
            if code.contains("NotFound") || code.contains("NotExist") =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// What CAS certificate `id` (`123` or `123-cn-hangzhou`) is; `None` when CAS does not know it.
pub(crate) async fn read_cert(client: &AliyunClient, id: &str) -> Result<Option<CertInfo>> {
    Ok(detail_if_known(client, id, true).await?.and_then(|d| {
        let mut info = super::parse_deployed("cas", id, d.cert.as_deref())?;
        // The CAS name tells alicert's uploads from others' (src/drift.rs).
        info.deployed_as = d.name.filter(|n| !n.is_empty());
        Some(info)
    }))
}

/// [`read_cert`] of the id a service reports bound, if any.
pub(crate) async fn read_bound(
    client: &AliyunClient,
    id: Option<&str>,
) -> Result<Option<CertInfo>> {
    match id {
        Some(id) => read_cert(client, id).await,
        None => Ok(None),
    }
}

/// The CAS name of certificate `id`, if CAS knows it.
pub(crate) async fn name_of(client: &AliyunClient, id: &str) -> Result<Option<String>> {
    Ok(detail_if_known(client, id, false)
        .await?
        .and_then(|d| d.name))
}

/// The region CAS keeps what `client` uploads in, when the endpoint says: CAS has two sites,
/// and a certificate's region is one of them ("CertRegion: cn-hangzhou or ap-southeast-1,
/// default cn-hangzhou", SetCdnDomainSSLCertificate, help.aliyun.com/document_detail/2297005).
/// cas20200407 3.9.4 serves the mainland and its mapped overseas regions at the central
/// cas.aliyuncs.com, whose `CertIdentifier` is "the certificate ID appended with -cn-hangzhou"
/// (GetUserCertificateDetailResponseBody), and the international site at
/// cas.ap-southeast-1.aliyuncs.com. Any other host: `None`, and CAS is asked.
pub(crate) fn upload_region(client: &AliyunClient) -> Option<&'static str> {
    match crate::aliyun::endpoints::host(Product::Cas, client.region()).as_str() {
        "cas.aliyuncs.com" => Some(DEFAULT_CAS_REGION),
        "cas.ap-southeast-1.aliyuncs.com" => Some("ap-southeast-1"),
        _ => None,
    }
}

/// Certificate `id` as a [`CasCopy`]: its region from the endpoint ([`upload_region`]) or
/// else from `CertIdentifier` (no PEM fetched).
pub(crate) async fn copy_of(client: &AliyunClient, id: &str, name: &str) -> Result<CasCopy> {
    let region = match upload_region(client) {
        Some(region) => region.to_string(),
        None => detail(client, id, false).await?.region(id),
    };
    Ok(CasCopy {
        id: id.to_string(),
        region,
        name: name.to_string(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Uploaded {
    #[serde(default, deserialize_with = "de_id")]
    cert_id: Option<String>,
}

/// UploadUserCertificate: the new CertId. A `NameRepeat` error is the caller's to handle.
pub(crate) async fn upload(
    client: &AliyunClient,
    name: &str,
    fullchain: &str,
    key: &str,
) -> Result<String> {
    let rsp = client
        .rpc_with_form(
            Product::Cas,
            "UploadUserCertificate",
            &[("Name", name)],
            &[("Cert", fullchain), ("Key", key)],
        )
        .await?;
    super::answer::<Uploaded>("UploadUserCertificate", rsp)?
        .cert_id
        .ok_or_else(|| Error::Deploy("UploadUserCertificate returned no CertId".into()))
}

pub(crate) async fn delete(client: &AliyunClient, id: &str) -> Result<()> {
    client
        .rpc(Product::Cas, "DeleteUserCertificate", &[("CertId", id)])
        .await
        .map(drop)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CloudResources {
    #[serde(default)]
    data: Vec<CloudResource>,
    #[serde(default)]
    total: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CloudResource {
    #[serde(default)]
    cloud_product: Option<String>,
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    instance_id: Option<String>,
    #[serde(default, deserialize_with = "de_id")]
    id: Option<String>,
}

/// The cloud resources CAS reports certificate `id` deployed on (`product domain|instance`).
pub(crate) async fn deployed_on(client: &AliyunClient, id: &str) -> Result<Vec<String>> {
    let ids = format!("[{id}]");
    let rsp = client
        .rpc(
            Product::Cas,
            "ListCloudResources",
            &[("CertIds", &ids), ("ShowSize", "100")],
        )
        .await?;
    let rsp: CloudResources = super::answer("ListCloudResources", rsp)?;
    let mut users: Vec<String> = rsp
        .data
        .into_iter()
        .map(|r| {
            let what = [r.domain, r.instance_id, r.id]
                .into_iter()
                .flatten()
                .find(|s| !s.is_empty())
                .unwrap_or_default();
            format!("{} {what}", r.cloud_product.as_deref().unwrap_or("?"))
        })
        .collect();
    // A total above what was listed still means "in use".
    if users.is_empty() && rsp.total > 0 {
        users.push("(unlisted)".into());
    }
    Ok(users)
}

pub(crate) mod list;
pub(crate) use list::{list_uploads, Listed, Listing, Uploads};

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &[
    "yundun-cert:GetUserCertificateDetail",
    "yundun-cert:UploadUserCertificate",
    "yundun-cert:DeleteUserCertificate",
    "yundun-cert:ListCloudResources",
];

/// What the hub needs, for every target that takes a CAS id (and the `cas` kind): upload the
/// certificate once, find alicert's copies, and delete superseded copies it uploaded that no
/// cloud resource uses. CAS (RAM code yundun-cert) has no resource-level permission here.
pub fn hub_statements() -> Vec<crate::aliyun::ram::Statement> {
    use crate::aliyun::ram::{pick, Statement};
    let mut actions = pick(list::RAM, &["yundun-cert:ListUserCertificateOrder"]);
    actions.extend(pick(RAM, RAM));
    vec![Statement::any(
        "CasCertificates",
        "CAS (Certificate Management Service): upload each new certificate once, list alicert's \
         uploads, and delete only superseded ones alicert uploaded that no cloud resource uses.",
        &actions,
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert_eq!(numeric_id("14000002-cn-hangzhou"), "14000002");
        assert_eq!(numeric_id("14000002"), "14000002");
        let c = CasCopy {
            id: "7".into(),
            region: "cn-hangzhou".into(),
            name: "n".into(),
        };
        assert_eq!(c.identifier(), "7-cn-hangzhou");
        assert_eq!(id_of(&serde_json::json!(12)).as_deref(), Some("12"));
        assert_eq!(id_of(&serde_json::json!("")), None);
        let d: Detail =
            serde_json::from_value(serde_json::json!({"CertIdentifier": "7-eu-west-1"})).unwrap();
        assert_eq!(d.region("7"), "eu-west-1");
        assert_eq!(Detail::default().region("7"), DEFAULT_CAS_REGION);
    }
}
