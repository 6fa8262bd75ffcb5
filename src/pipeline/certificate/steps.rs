//! The steps of one certificate that run their calls side by side: reading the targets,
//! taking the lock while getting ready for the order, deploying the due targets.
use futures_util::future::join_all;
use time::OffsetDateTime;

use super::{CertificateRun, Finish};
use crate::acme::ari::Window;
use crate::backoff::{self, CertState, Gate};
use crate::budget::RESERVE;
use crate::cert::CertInfo;
use crate::config::CertificateConfig;
use crate::deploy::{self, NewCert};
use crate::drift::{Basis, Finding};
use crate::error::{Error, Result};
use crate::lock::{Acquire, Held};
use crate::pipeline::run::Run;
use crate::plan::DueReason;

impl CertificateRun<'_, '_> {
    /// Step 1: read every target and decide; a failed read fails the certificate (after all
    /// targets were read, so the result shows each).
    pub(super) async fn read(&mut self) -> std::result::Result<(), Finish> {
        let now = OffsetDateTime::now_utc();
        let (run, cert) = (self.run, self.cert);
        // All targets at once: each read is independent of the others.
        let reads = self.records.iter_mut().map(|record| async move {
            match record.target.current().await {
                Ok(current) => {
                    let drift = current
                        .as_ref()
                        .and_then(|c| crate::drift::judge(&cert.name, &cert.domains, c));
                    let (due, window) = if run.settings.force {
                        (Some(DueReason::Forced), None)
                    } else {
                        decide(run, cert, current.as_ref(), drift.as_ref(), now).await
                    };
                    tracing::info!(
                        kind = record.target.kind(),
                        id = %record.target.id(),
                        serial = current.as_ref().map(|c| c.serial.as_str()).unwrap_or("-"),
                        due = %due.map(|d| d.to_string()).unwrap_or_else(|| "no".into()),
                        drift = drift.as_ref().map(|f| f.reason.as_str()).unwrap_or("no"),
                        "read target"
                    );
                    if let Some(f) = &drift {
                        tracing::warn!(
                            kind = record.target.kind(),
                            id = %record.target.id(),
                            drift = %f.reason,
                            "the target serves a certificate alicert did not deploy"
                        );
                    }
                    record.read(current, due, window, drift.map(|f| f.reason));
                    None
                }
                Err(e) => {
                    record.read_failed(&e);
                    Some(e)
                }
            }
        });
        match join_all(reads).await.into_iter().flatten().next() {
            Some(e) => Err(Finish::Failed(e)),
            None => Ok(()),
        }
    }

    /// The lock (and the read after it), while the failure state is read and the issuer gets
    /// ready for the order: none of them waits for another. The zones are found whatever the
    /// state says; the account is opened only when the state lets the order go
    /// (a certificate backing off, perhaps from the CA's rate limits, does not touch the CA).
    pub(super) async fn lock_and_prepare(&mut self) -> std::result::Result<Option<Held>, Finish> {
        let (run, cert) = (self.run, self.cert);
        let fingerprint = self.fingerprint();
        let now = OffsetDateTime::now_utc();
        let emergency = self
            .records
            .iter()
            .filter_map(|r| r.current.as_ref())
            .any(|c| backoff::near_expiry(c, now));
        let ahead = get_ready(run, cert, fingerprint, emergency);
        let (held, state) = tokio::join!(self.lock(), ahead);
        self.set_gate(state);
        held
    }

    /// A forced run: the read, the lock and getting ready for the order all at once (every
    /// target is due whatever it serves). A failed read releases the lock it took.
    pub(super) async fn read_beside_lock(&mut self) -> std::result::Result<Option<Held>, Finish> {
        let (run, cert) = (self.run, self.cert);
        let acquire = async move {
            match &run.locks {
                Some(locks) => locks.acquire(&cert.name, run.lock_expiry()).await.map(Some),
                None => Ok(None),
            }
        };
        // No target's expiry is known yet; forced, the backoff lets the order go anyway.
        let ahead = get_ready(run, cert, self.fingerprint(), false);
        let (read, acquired, state) = tokio::join!(self.read(), acquire, ahead);
        self.set_gate(state);
        let held = match acquired? {
            Some(Acquire::Held(h)) => Some(h),
            Some(Acquire::Busy { owner, expires }) => return Err(self.busy(&owner, expires)),
            None => None,
        };
        if let Err(f) = read.and_then(|()| self.require_due(None)) {
            if let Some(h) = held {
                self.release(h).await;
            }
            return Err(f);
        }
        Ok(held)
    }

    /// Step 4: deploy to each due target and verify it serves the new serial; each reports
    /// on its own, the others proceed. The first error fails the certificate.
    pub(super) async fn deploy_due(&mut self, new_cert: &NewCert<'_>) -> Result<()> {
        let budget = self.run.budget;
        // All at once: writes that must not overlap (one ALB/NLB/GA listener) are serialised
        // by the listener's own lock (deploy/listener_job.rs).
        let deploys = self
            .records
            .iter_mut()
            .filter(|r| r.due.is_some())
            .map(|record| async move {
                let target = &record.target;
                let deployed = budget
                    .within(
                        RESERVE / 2,
                        deploy::deploy_and_verify(target, new_cert),
                        || {
                            Error::Deploy(format!(
                                "{} {}: cut short by the invocation's deadline",
                                target.kind(),
                                target.id()
                            ))
                        },
                    )
                    .await;
                match deployed {
                    Ok(()) => {
                        tracing::info!(kind = target.kind(), id = %target.id(), serial = %new_cert.info.serial, "deployed and verified");
                        let hook = format!("deployed:{}", target.kind());
                        record.deployed(new_cert.info);
                        crate::testhook::pause(&hook).await;
                        None
                    }
                    Err(e) => {
                        tracing::error!(kind = target.kind(), id = %target.id(), error = %e, "deploy failed");
                        record.deploy_failed(&e);
                        Some(e)
                    }
                }
            });
        join_all(deploys)
            .await
            .into_iter()
            .flatten()
            .next()
            .map_or(Ok(()), Err)
    }
}

/// Whether `current` is due. A certificate that is not alicert's by name (src/drift.rs) is
/// judged by its own dates: someone chose it, so not covering the configured names does not
/// make it due, and it stays until it expires, its ARI window opens or it is revoked.
async fn decide(
    run: &Run<'_>,
    cert: &CertificateConfig,
    current: Option<&CertInfo>,
    drift: Option<&Finding>,
    now: OffsetDateTime,
) -> (Option<DueReason>, Option<Window>) {
    let decided = run.inspector.decide(cert, current, now).await;
    match (current, drift, decided.0) {
        (Some(c), Some(f), Some(DueReason::DomainsChanged)) if f.basis == Basis::Name => {
            let own = CertificateConfig {
                domains: c.names.clone(),
                ..cert.clone()
            };
            run.inspector.decide(&own, Some(c), now).await
        }
        _ => decided,
    }
}

/// The failure state, the account and the zones for an order that is likely
/// to follow. Unforced, the account is opened only when the state lets the order go (a
/// certificate backing off, perhaps from the CA's rate limits, does not touch the CA); forced,
/// the state cannot stop the order, so neither waits for the other.
async fn get_ready(
    run: &Run<'_>,
    cert: &CertificateConfig,
    fingerprint: String,
    emergency: bool,
) -> Option<CertState> {
    let state_and_account = async {
        if run.settings.force {
            let (state, ()) =
                tokio::join!(load_state(run, &cert.name), run.issuer.prepare_account());
            return state;
        }
        let state = load_state(run, &cert.name).await;
        let now = OffsetDateTime::now_utc();
        if matches!(
            backoff::gate(state.as_ref(), &fingerprint, now, false, emergency),
            Gate::Go
        ) {
            run.issuer.prepare_account().await;
        }
        state
    };
    let (state, ()) = tokio::join!(state_and_account, run.issuer.prepare_dns(cert));
    state
}

/// The failure state an earlier run left for certificate `name` (None: none, or no state bucket).
pub(super) async fn load_state(run: &Run<'_>, name: &str) -> Option<CertState> {
    let states = run.states.as_ref()?;
    match states.load(name).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the failure state; ordering as if there were none");
            None
        }
    }
}
