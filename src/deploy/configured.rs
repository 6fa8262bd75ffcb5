//! One configured target: the product's [`Target`] and the steps its table adds around it
//! (`verify_tls`). It holds the target instead of wrapping it, so the target's capabilities
//! are reached as they are: nothing here can hide one.
use std::time::Duration;

use super::tls::{self, VerifyTls};
use super::{CasConsumer, KeySource, NewCert, Target, TargetId, TargetNotes};
use crate::cert::CertInfo;
use crate::error::{Error, Result};

pub struct Configured {
    target: Box<dyn Target>,
    id: TargetId,
    /// Read what is served over TLS too (tls.rs).
    verify_tls: Option<VerifyTls>,
    /// Reached through `role_arn` (through.rs): in another account, so it never takes the
    /// hub's CAS copy.
    foreign: bool,
}

impl Configured {
    pub fn new(target: Box<dyn Target>, verify_tls: Option<VerifyTls>) -> Configured {
        Configured {
            id: target.id(),
            target,
            verify_tls,
            foreign: false,
        }
    }

    /// The target is in another account (`role_arn`): the hub's copy is not for it.
    pub fn in_other_account(mut self, foreign: bool) -> Configured {
        self.foreign = foreign;
        self
    }

    pub fn target_id(&self) -> &TargetId {
        &self.id
    }

    /// The result's `kind`.
    pub fn kind(&self) -> &'static str {
        self.id.kind.as_str()
    }

    /// The result's `id` (what the target is of its kind).
    pub fn id(&self) -> String {
        self.id.resource.clone()
    }

    pub fn verify_tls(&self) -> Option<&VerifyTls> {
        self.verify_tls.as_ref()
    }

    pub fn cas(&self) -> Option<&dyn CasConsumer> {
        match self.foreign {
            true => None,
            false => self.target.capabilities().cas,
        }
    }

    pub fn keys(&self) -> Option<&dyn KeySource> {
        self.target.capabilities().keys
    }

    /// What the last deploy left for the result's `notes` (taken).
    pub fn take_notes(&self) -> Vec<String> {
        self.target
            .capabilities()
            .notes
            .map(TargetNotes::take_notes)
            .unwrap_or_default()
    }

    /// What the target serves: what its API reports, or with `verify_tls` what it serves over
    /// TLS once the API reports a certificate.
    pub async fn current(&self) -> Result<Option<CertInfo>> {
        let reported = self.target.current().await?;
        match (&self.verify_tls, reported) {
            (Some(verify), Some(reported)) => tls::served_instead(verify, &self.id, reported)
                .await
                .map(Some),
            (_, reported) => Ok(reported),
        }
    }
}

/// Read-backs after a deploy: the first at once, then after 50 ms, doubling up to 5 s; ten
/// reads wait about 16 s in all (most services report the new certificate at once, so the
/// first interval is short and the long tail stays for the ones that lag).
const READ_BACKS: usize = 10;
const FIRST_READ_BACK_DELAY: Duration = Duration::from_millis(50);

/// Deploy, then read back until the target reports the new serial (bounded wait). A read-back
/// error counts as "not yet" (a service or its TLS edge may lag) until the last attempt.
pub async fn deploy_and_verify(target: &Configured, cert: &NewCert<'_>) -> Result<()> {
    // In another account the hub's CAS id names nothing: the target takes the PEM.
    let own = NewCert {
        name: cert.name,
        fullchain: cert.fullchain,
        private_key: cert.private_key,
        info: cert.info,
        cas: cert.cas.filter(|_| !target.foreign),
    };
    target.target.deploy(&own).await?;
    let mut delay = FIRST_READ_BACK_DELAY;
    let mut seen = Ok(None);
    for _ in 0..READ_BACKS {
        match target.current().await {
            Ok(Some(info)) if info.serial == cert.info.serial => return Ok(()),
            Ok(other) => seen = Ok(other.map(|i| i.serial)),
            Err(e) => {
                tracing::info!(kind = target.kind(), id = %target.id.resource, error = %e, "read-back failed; retrying");
                seen = Err(e);
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
    let seen = seen?;
    Err(Error::Deploy(format!(
        "{}: after deploying serial {}, the target still reports {}",
        target.id,
        cert.info.serial,
        seen.as_deref().unwrap_or("no certificate")
    )))
}

#[cfg(test)]
mod tests;
