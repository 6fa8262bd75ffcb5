//! The `cas` target: keep the current certificate uploaded to CAS, named by
//! [`crate::naming::upload_name`] and recognised by exact name. Read: ListUserCertificateOrder +
//! GetUserCertificateDetail (which also gives the key back, for `reuse_key`). Write:
//! UploadUserCertificate, done by the hub before any target deploys.
use async_trait::async_trait;
use serde::Deserialize;

use super::{list_uploads, CasCopy, Listing};
use crate::aliyun::AliyunClient;
use crate::cert::CertInfo;
use crate::deploy::{
    parse_deployed, CasConsumer, KeySource, NewCert, Target, TargetId, TargetKind,
};
use crate::error::{Error, Result};
use crate::naming;
use crate::secret::Secret;

/// `{ kind = "cas" }` takes no other key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl crate::deploy::kinds::Kind for Params {
    const KIND: TargetKind = TargetKind::Cas;

    /// The `cas` kind is the hub's copy itself (its calls are in cas/mod.rs and list.rs).
    fn ram(
        &self,
        _ctx: &crate::deploy::kinds::RamContext<'_>,
    ) -> Vec<crate::aliyun::ram::Statement> {
        super::hub_statements()
    }

    fn build(self, cert_name: &str, client: &AliyunClient) -> Box<dyn Target> {
        Box::new(CasStore {
            cert_name: cert_name.to_string(),
            client: client.clone(),
        })
    }
}

pub struct CasStore {
    cert_name: String,
    client: AliyunClient,
}

impl CasStore {
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
            let detail = super::detail(&self.client, &id, true).await?;
            let info = parse_deployed("cas", &id, detail.cert.as_deref());
            // Only alicert's uploads are read: their names say so (src/drift.rs).
            if let Some(info) = crate::deploy::named(info, detail.name.as_deref()) {
                let later =
                    |b: &CertInfo| (info.not_after, info.not_before) > (b.not_after, b.not_before);
                if best.as_ref().is_none_or(|(b, _)| later(b)) {
                    best = Some((info, detail.private_key()));
                }
            }
        }
        Ok(best)
    }
}

#[async_trait]
impl Target for CasStore {
    fn id(&self) -> TargetId {
        TargetId::new(
            TargetKind::Cas,
            format!("{}{}", naming::UPLOAD_PREFIX, self.cert_name),
        )
    }

    async fn current(&self) -> Result<Option<CertInfo>> {
        Ok(self.newest().await?.map(|(info, _)| info))
    }

    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()> {
        // This target takes CAS ids (`cas()`), so the hub is on and has uploaded the
        // certificate (once, looked up by fingerprint) before any target deploys.
        match cert.cas {
            Some(_) => Ok(()),
            None => Err(Error::Deploy(format!(
                "cas {}: the CAS hub did not upload the certificate",
                self.id().resource
            ))),
        }
    }
}

impl crate::deploy::Capabilities for CasStore {
    fn capabilities(&self) -> crate::deploy::Caps<'_> {
        crate::deploy::Caps {
            keys: Some(self),
            ..crate::deploy::Caps::cas(self)
        }
    }
}

#[async_trait]
impl CasConsumer for CasStore {
    /// The hub keeps its own current copy; nothing else is held here.
    async fn cas_references(&self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    async fn retire(&self, _current: &CasCopy) -> Result<()> {
        Ok(())
    }
}

#[async_trait]
impl KeySource for CasStore {
    async fn current_key(&self) -> Result<Option<Secret>> {
        Ok(self.newest().await?.and_then(|(_, key)| key))
    }
}
