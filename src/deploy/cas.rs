//! Certificate Management Service (CAS): keep the current certificate uploaded, named by
//! [`crate::naming::upload_name`] and recognised by exact name. Read: ListUserCertificateOrder + GetUserCertificateDetail.
//! Write: UploadUserCertificate (done by the hub, see hub.rs).
use async_trait::async_trait;

use super::hub::{list_uploads, Listing};
use super::{parse_deployed, NewCert, Target};
use crate::aliyun::{AliyunClient, Product};
use crate::cert::CertInfo;
use crate::error::{Error, Result};
use crate::naming;
use crate::secret::Secret;

pub struct Params;

impl Params {
    pub fn parse(t: &toml::Table) -> std::result::Result<Params, String> {
        super::params(t, &[], &[])?;
        Ok(Params)
    }
}

pub struct Cas {
    cert_name: String,
    client: AliyunClient,
}

impl Cas {
    pub fn new(_params: Params, cert_name: &str, client: AliyunClient) -> Cas {
        Cas {
            cert_name: cert_name.to_string(),
            client,
        }
    }

    /// The uploaded certificate with the latest not_after, and its key (GetUserCertificateDetail
    /// returns both).
    async fn newest(&self) -> Result<Option<(CertInfo, Option<Secret>)>> {
        let mut best: Option<(CertInfo, Option<Secret>)> = None;
        // The list comes newest first (ties broken by upload order), but its expiry may be
        // missing: read the first few and keep the latest validity; on a tie the earlier seen
        // (the later upload) stays.
        let name = &self.cert_name;
        let uploads = list_uploads(&self.client, Listing::Valid, |n| {
            naming::is_upload_of(name, n)
        })
        .await?;
        for id in uploads.into_iter().take(3).map(|c| c.id) {
            let rsp = self
                .client
                .rpc(Product::Cas, "GetUserCertificateDetail", &[("CertId", &id)])
                .await?;
            if let Some(info) = parse_deployed("cas", &id, rsp["Cert"].as_str()) {
                let later =
                    |b: &CertInfo| (info.not_after, info.not_before) > (b.not_after, b.not_before);
                if best.as_ref().is_none_or(|(b, _)| later(b)) {
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
        format!("{}{}", naming::UPLOAD_PREFIX, self.cert_name)
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
        // This target takes CAS ids (`uses_cas`), so the hub is on and has uploaded the
        // certificate (once, looked up by fingerprint) before any target deploys.
        match cert.cas {
            Some(_) => Ok(()),
            None => Err(Error::Deploy(format!(
                "cas {}: the CAS hub did not upload the certificate",
                self.id()
            ))),
        }
    }
}
