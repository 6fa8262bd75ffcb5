//! CAS as the hub: each certificate is uploaded to Certificate Management Service once (looked
//! up by SHA-256 fingerprint first), targets that take a CAS id use that copy, a later run can
//! reuse it to finish a rollout, and once every target serves the new serial the superseded
//! copies alicert uploaded (named by [`crate::naming::upload_name`] and recognised by exact name,
//! never one a target still references) are deleted.
//!
//! The handler calls [`Hub::reusable`] before ordering, [`Hub::publish`] before deploying and
//! [`Hub::retire_superseded`] after every target confirmed the new serial.
use std::collections::HashSet;

use time::OffsetDateTime;

use super::{list_uploads, CasCopy, Listed, Listing, Uploads};
use crate::acme::order::Issued;
use crate::aliyun::AliyunClient;
use crate::cert::CertInfo;
use crate::deploy::{Configured, NewCert};
use crate::error::{Error, Result};
use crate::naming;
use crate::secret::Secret;

pub struct Hub<'a> {
    client: &'a AliyunClient,
    cert_name: String,
    /// Off when no target of the certificate takes a CAS id: then CAS is not touched at all.
    active: bool,
    /// The run's listings of CAS uploads, shared by every certificate of the invocation.
    listed: &'a Uploads,
    /// alicert's uploads for this name (valid and expired), listed once per rollout.
    uploads: tokio::sync::OnceCell<Vec<Listed>>,
}

impl<'a> Hub<'a> {
    pub(crate) fn new(
        client: &'a AliyunClient,
        listed: &'a Uploads,
        cert_name: &str,
        targets: &[&Configured],
    ) -> Self {
        Hub {
            client,
            listed,
            cert_name: cert_name.to_string(),
            active: targets.iter().any(|t| t.cas().is_some()),
            uploads: tokio::sync::OnceCell::new(),
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
        let detail = super::detail(self.client, &newest.id, true).await?;
        let (Some(pem), Some(key)) = (detail.cert, detail.key) else {
            return Ok(None);
        };
        let info = CertInfo::from_pem(&pem)?;
        if crate::plan::due_reason(Some(&info), domains, renew_before_days, now).is_some() {
            return Ok(None);
        }
        tracing::info!(serial = %info.serial, cas_id = %newest.id, "reusing the certificate kept in CAS");
        Ok(Some(Issued {
            fullchain: pem,
            private_key: Secret::new(key),
            info,
            notes: Vec::new(),
            cleanup: crate::acme::order::Cleanup::none(),
        }))
    }

    /// Make sure `cert` is in CAS (looked up by fingerprint before uploading, unless it was
    /// `just_issued` by this run: then no copy can exist but one an interrupted upload of this
    /// run made, which `NameRepeat` finds); `None` when the hub is off.
    pub async fn publish(&self, cert: &NewCert<'_>, just_issued: bool) -> Result<Option<CasCopy>> {
        if !self.active {
            return Ok(None);
        }
        let found = match just_issued {
            true => None,
            false => {
                self.find_by_fingerprint(&cert.info.fingerprint_sha256)
                    .await?
            }
        };
        if let Some(found) = found {
            tracing::info!(cas_id = %found.id, name = %found.name, "certificate already in CAS");
            return super::copy_of(self.client, &found.id, &found.name)
                .await
                .map(Some);
        }
        let name = cert.upload_name();
        let key = cert.private_key.expose();
        let id = match super::upload(self.client, &name, cert.fullchain, key).await {
            Ok(id) => {
                tracing::info!(name, cas_id = %id, "uploaded to CAS");
                id
            }
            // Same name = same serial, uploaded by an interrupted run: look it up afresh (the
            // run's listing may predate that upload).
            Err(Error::Aliyun { code, .. }) if code == "NameRepeat" => {
                list_uploads(self.client, Listing::ValidAndExpired, |n| n == name)
                    .await?
                    .into_iter()
                    .next()
                    .map(|c| c.id)
                    .ok_or_else(|| {
                        Error::Deploy(format!("CAS says `{name}` exists but does not list it"))
                    })?
            }
            Err(e) => return Err(e),
        };
        super::copy_of(self.client, &id, &name).await.map(Some)
    }

    /// After every target confirmed `current`: let targets drop their superseded copies, then
    /// delete alicert's older uploads for this name that no target references. Best effort:
    /// failures are logged, never fail the run. Returns the CAS ids deleted.
    pub async fn retire_superseded(
        &self,
        targets: &[&Configured],
        current: Option<&CasCopy>,
    ) -> Vec<String> {
        let Some(current) = current.filter(|_| self.active) else {
            return Vec::new();
        };
        let consumers: Vec<_> = targets
            .iter()
            .filter_map(|t| t.cas().map(|c| (t, c)))
            .collect();
        // Each consumer retires its copies, then says what it references; all consumers and
        // the listing of alicert's uploads side by side.
        let references = consumers.iter().map(|(t, cas)| async move {
            if let Err(e) = cas.retire(current).await {
                tracing::warn!(kind = t.kind(), id = %t.id(), error = %e, "could not retire superseded copies");
            }
            if cas.sole_reference() {
                return Ok(Vec::new()); // the hub's copy, referenced below anyway
            }
            cas.cas_references().await.map_err(|e| {
                tracing::warn!(kind = t.kind(), id = %t.id(), error = %e, "cannot read CAS references; keeping old certificates");
            })
        });
        let (references, ours) =
            tokio::join!(futures_util::future::join_all(references), self.uploads());
        let mut referenced: HashSet<String> = HashSet::from([current.id.clone()]);
        for ids in references {
            // Without knowing what is in use, delete nothing.
            let Ok(ids) = ids else {
                return Vec::new();
            };
            referenced.extend(ids);
        }
        let ours = match ours {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list CAS certificates; keeping old certificates");
                return Vec::new();
            }
        };
        let unused = ours.iter().filter(|c| !referenced.contains(&c.id));
        let deletes =
            unused.map(|old| async move { self.delete_unused(old).await.then(|| old.id.clone()) });
        let deleted = futures_util::future::join_all(deletes)
            .await
            .into_iter()
            .flatten()
            .collect();
        deleted
    }

    /// Delete `old` unless CAS says it is deployed somewhere (set by hand, another tool):
    /// never send a delete for a certificate in use. Whether it was deleted.
    async fn delete_unused(&self, old: &Listed) -> bool {
        match super::deployed_on(self.client, &old.id).await {
            Ok(users) if users.is_empty() => {}
            Ok(users) => {
                tracing::info!(cas_id = %old.id, users = %users.join(", "), "superseded certificate still in use; kept");
                return false;
            }
            Err(e) => {
                tracing::warn!(cas_id = %old.id, error = %e, "cannot tell whether the superseded certificate is in use; kept");
                return false;
            }
        }
        match super::delete(self.client, &old.id).await {
            Ok(()) => {
                tracing::info!(cas_id = %old.id, name = %old.name, serial = %old.serial, "deleted superseded certificate from CAS");
                true
            }
            Err(e) => {
                tracing::warn!(cas_id = %old.id, error = %e, "could not delete superseded certificate");
                false
            }
        }
    }

    /// List alicert's uploads ahead of [`Hub::retire_superseded`], while the certificate is
    /// obtained (best effort: a failed listing is tried again there).
    pub async fn prefetch_uploads(&self) {
        if self.active {
            if let Err(e) = self.uploads().await {
                tracing::debug!(error = %e, "listing CAS certificates ahead of the rollout failed");
            }
        }
    }

    async fn uploads(&self) -> Result<&Vec<Listed>> {
        self.uploads
            .get_or_try_init(|| self.list_ours(Listing::ValidAndExpired))
            .await
    }

    async fn find_by_fingerprint(&self, sha256: &str) -> Result<Option<Listed>> {
        let all = self
            .listed
            .list(self.client, Listing::Valid, |_| true)
            .await?;
        // Prefer alicert's own copy when the same certificate was uploaded twice.
        Ok(all
            .iter()
            .filter(|c| same_fingerprint(&c.sha256, sha256))
            .max_by_key(|c| naming::is_upload_of(&self.cert_name, &c.name))
            .cloned())
    }

    async fn list_ours(&self, listing: Listing) -> Result<Vec<Listed>> {
        let name = &self.cert_name;
        self.listed
            .list(self.client, listing, |n| naming::is_upload_of(name, n))
            .await
    }
}

/// Whether two hex fingerprints are the same, whatever case and `:` separators either uses
/// (CAS does not document the case of `Sha2`).
fn same_fingerprint(a: &str, b: &str) -> bool {
    let clean = |s: &str| s.replace(':', "");
    !a.is_empty() && clean(a).eq_ignore_ascii_case(&clean(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_compare_in_any_case() {
        assert!(same_fingerprint("AB:CD:EF", "abcdef"));
        assert!(same_fingerprint("ABCDEF", "abcdef"));
        assert!(!same_fingerprint("ABCDEE", "abcdef"));
        assert!(!same_fingerprint("", ""));
    }
}
