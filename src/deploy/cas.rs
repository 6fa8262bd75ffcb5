//! Certificate Management Service (CAS): keep the current certificate uploaded, named
//! `alicert-<name>-<serial prefix>`. Read: ListUserCertificateOrder + GetUserCertificateDetail.
//! Write: UploadUserCertificate (done by the hub, see hub.rs).
use async_trait::async_trait;
use serde_json::Value;

use super::{parse_deployed, upload_prefix, NewCert, Target};
use crate::aliyun::{AliyunClient, Product};
use crate::cert::CertInfo;
use crate::error::{Error, Result};
use crate::secret::Secret;

pub struct Params;

impl Params {
    pub fn parse(t: &toml::Table) -> std::result::Result<Params, String> {
        super::params(t, &[], &[])?;
        Ok(Params)
    }
}

pub struct Cas {
    prefix: String,
    client: AliyunClient,
}

impl Cas {
    pub fn new(_params: Params, cert_name: &str, client: AliyunClient) -> Cas {
        Cas {
            prefix: upload_prefix(cert_name),
            client,
        }
    }

    /// The ids of the certificates alicert uploaded for this name, newest expiry first.
    async fn uploaded(&self) -> Result<Vec<(String, i64)>> {
        let mut found = Vec::new();
        for page in 1..=20 {
            let page_s = page.to_string();
            let rsp = self
                .client
                .rpc(
                    Product::Cas,
                    "ListUserCertificateOrder",
                    // No Keyword: it matches domains and resource ids, not names; filter here.
                    &[
                        ("OrderType", "UPLOAD"),
                        ("CurrentPage", &page_s),
                        ("ShowSize", "50"),
                    ],
                )
                .await?;
            let items = rsp["CertificateOrderList"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for item in &items {
                let name = item["Name"].as_str().unwrap_or_default();
                if !name.starts_with(&self.prefix) {
                    continue;
                }
                let id = match &item["CertificateId"] {
                    Value::Number(n) => n.to_string(),
                    Value::String(s) => s.clone(),
                    _ => continue,
                };
                let end = item["CertEndTime"].as_i64().unwrap_or(0);
                found.push((id, end));
            }
            let total = rsp["TotalCount"].as_u64().unwrap_or(0) as usize;
            if items.len() < 50 || page * 50 >= total {
                break;
            }
        }
        found.sort_by_key(|(_, end)| std::cmp::Reverse(*end));
        Ok(found)
    }

    /// The uploaded certificate with the latest not_after, and its key (GetUserCertificateDetail
    /// returns both).
    async fn newest(&self) -> Result<Option<(CertInfo, Option<Secret>)>> {
        let mut best: Option<(CertInfo, Option<Secret>)> = None;
        // Expiry from the list may be missing; read the newest few and keep the latest not_after.
        for (id, _) in self.uploaded().await?.into_iter().take(3) {
            let rsp = self
                .client
                .rpc(Product::Cas, "GetUserCertificateDetail", &[("CertId", &id)])
                .await?;
            if let Some(info) = parse_deployed("cas", &id, rsp["Cert"].as_str()) {
                if best
                    .as_ref()
                    .is_none_or(|(b, _)| info.not_after > b.not_after)
                {
                    let key = rsp["Key"]
                        .as_str()
                        .filter(|k| k.contains("PRIVATE KEY"))
                        .map(Secret::new);
                    best = Some((info, key));
                }
            }
        }
        Ok(best)
    }
}

#[async_trait]
impl Target for Cas {
    fn kind(&self) -> &'static str {
        "cas"
    }

    fn id(&self) -> String {
        self.prefix.trim_end_matches('-').to_string()
    }

    async fn current(&self) -> Result<Option<CertInfo>> {
        Ok(self.newest().await?.map(|(info, _)| info))
    }

    async fn current_key(&self) -> Result<Option<Secret>> {
        Ok(self.newest().await?.and_then(|(_, key)| key))
    }

    fn returns_keys(&self) -> bool {
        true
    }

    fn uses_cas(&self) -> bool {
        true
    }

    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()> {
        if cert.cas.is_some() {
            // The hub uploaded it already.
            return Ok(());
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
                tracing::info!(name, cert_id = %rsp["CertId"], "uploaded to CAS");
                Ok(())
            }
            // Same name = same serial, uploaded by an earlier, interrupted run.
            Err(Error::Aliyun { code, .. }) if code == "NameRepeat" => Ok(()),
            Err(e) => Err(e),
        }
    }
}
