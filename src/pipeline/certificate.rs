//! The steps of one certificate. Each returns `Err(Finish)` to end the walk early; `run`
//! turns the way it ended into the certificate's result.
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::record::TargetRecord;
use super::run::Run;
use super::services::OrderRequest;
use crate::acme::order::Issued;
use crate::budget::RESERVE;
use crate::cert::CertInfo;
use crate::config::CertificateConfig;
use crate::deploy::cas::{CasCopy, Hub};
use crate::deploy::{self, Configured, NewCert};
use crate::error::{Error, ErrorReport, Result};
use crate::lock::{Acquire, Held};
use crate::plan::DueReason;
use crate::result::{CertResult, CertStatus, NOT_ATTEMPTED};

/// What reading a certificate's targets is assumed to take.
const READ_ESTIMATE: Duration = Duration::from_secs(2);

/// How the walk of one certificate ended.
enum Finish {
    UpToDate {
        note: Option<&'static str>,
    },
    WouldRenew,
    /// Another run holds the lock.
    Skipped(String),
    /// The deadline is too near to start the step.
    NotAttempted(String),
    Failed(Error),
    Rolled {
        first_issue: bool,
    },
}

impl From<Error> for Finish {
    fn from(e: Error) -> Self {
        Finish::Failed(e)
    }
}

pub(super) struct CertificateRun<'r, 'a> {
    run: &'r Run<'a>,
    cert: &'r CertificateConfig,
    records: Vec<TargetRecord>,
    reason: Option<String>,
    notes: Vec<String>,
    issued: Option<(String, String)>,
}

impl<'r, 'a> CertificateRun<'r, 'a> {
    pub(super) fn new(run: &'r Run<'a>, cert: &'r CertificateConfig) -> Self {
        CertificateRun {
            run,
            cert,
            records: Vec::new(),
            reason: None,
            notes: Vec::new(),
            issued: None,
        }
    }

    pub(super) async fn run(mut self, targets: Result<Vec<Configured>>) -> CertResult {
        let finish = match self.walk(targets).await {
            Ok(never) => match never {},
            Err(f) => f,
        };
        self.conclude(finish)
    }

    async fn walk(
        &mut self,
        targets: Result<Vec<Configured>>,
    ) -> std::result::Result<std::convert::Infallible, Finish> {
        if self.run.budget.short_of(READ_ESTIMATE) {
            return Err(Finish::NotAttempted(
                "not started: the invocation's deadline is near".into(),
            ));
        }
        self.records = targets?.into_iter().map(TargetRecord::new).collect();
        self.read().await?;
        self.require_due(None)?;
        if self.run.settings.dry_run {
            return Err(Finish::WouldRenew);
        }
        let estimate = self.run.order_estimate();
        if self.run.budget.short_of(estimate) {
            return Err(Finish::NotAttempted(format!(
                "not ordered: less than {}s left before the invocation's deadline",
                (estimate + RESERVE).as_secs()
            )));
        }
        let held = self.lock().await?;
        let rolled = match self.require_due(Some("renewed meanwhile by the run that held the lock"))
        {
            Ok(()) => self.roll_out().await,
            Err(f) => Err(f),
        };
        if let Some(h) = held {
            self.release(h).await;
        }
        match rolled {
            Ok(never) => match never {},
            Err(f) => Err(f),
        }
    }

    fn targets(&self) -> Vec<&Configured> {
        self.records.iter().map(|r| &r.target).collect()
    }

    /// Ends the walk as up to date when no target is due; else notes why they are.
    fn require_due(&mut self, note: Option<&'static str>) -> std::result::Result<(), Finish> {
        let lines: Vec<String> = self
            .records
            .iter()
            .filter_map(TargetRecord::due_line)
            .collect();
        if lines.is_empty() {
            return Err(Finish::UpToDate { note });
        }
        self.reason = Some(format!("due: {}", lines.join("; ")));
        Ok(())
    }

    /// Step 1: read every target and decide; a failed read fails the certificate (after all
    /// targets were read, so the result shows each).
    async fn read(&mut self) -> std::result::Result<(), Finish> {
        let now = OffsetDateTime::now_utc();
        let mut first_error = None;
        for record in &mut self.records {
            match record.target.current().await {
                Ok(current) => {
                    let (due, window) = if self.run.settings.force {
                        (Some(DueReason::Forced), None)
                    } else {
                        self.run
                            .inspector
                            .decide(self.cert, current.as_ref(), now)
                            .await
                    };
                    tracing::info!(
                        kind = record.target.kind(),
                        id = %record.target.id(),
                        serial = current.as_ref().map(|c| c.serial.as_str()).unwrap_or("-"),
                        due = %due.map(|d| d.to_string()).unwrap_or_else(|| "no".into()),
                        "read target"
                    );
                    record.read(current, due, window);
                }
                Err(e) => {
                    record.read_failed(&e);
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(Finish::Failed(e)),
            None => Ok(()),
        }
    }

    /// Step 2: one run at a time. Take the certificate's lock, then read again: the run that
    /// held it a moment ago may have just deployed.
    async fn lock(&mut self) -> std::result::Result<Option<Held>, Finish> {
        let run = self.run;
        let Some(locks) = &run.locks else {
            return Ok(None);
        };
        match locks.acquire(&self.cert.name, run.lock_expiry()).await? {
            Acquire::Held(h) => match self.read().await {
                Ok(()) => Ok(Some(h)),
                Err(f) => {
                    self.release(h).await;
                    Err(f)
                }
            },
            Acquire::Busy { owner, expires } => Err(self.busy(&owner, expires)),
        }
    }

    fn busy(&self, owner: &str, expires: i64) -> Finish {
        // The expiry comes from an object in OSS: one that is not a time is an error naming
        // the lock, never a panic or a made-up date.
        let until = OffsetDateTime::from_unix_timestamp(expires)
            .map_err(|e| Error::Other(e.to_string()))
            .and_then(crate::cert::try_rfc3339);
        match until {
            Ok(until) => {
                tracing::info!(owner, "certificate locked by another run; skipped");
                Finish::Skipped(format!(
                    "locked: another run ({owner}) is renewing this certificate; its lock expires {until}"
                ))
            }
            Err(e) => Finish::Failed(Error::Other(format!(
                "the lock of `{}` held by {owner} has an impossible expiry {expires}: {e}; delete the lock object if no run holds it",
                self.cert.name
            ))),
        }
    }

    async fn release(&self, held: Held) {
        if let Some(locks) = &self.run.locks {
            if let Err(e) = locks.release(held).await {
                tracing::warn!(error = %e, "could not release the lock; it expires by itself");
            }
        }
    }

    /// Steps 3 to 5: obtain, deploy and verify, retire. Always ends the walk.
    async fn roll_out(&mut self) -> std::result::Result<std::convert::Infallible, Finish> {
        let first_issue = self
            .records
            .iter()
            .all(|r| r.due.is_some() && r.result.serial.is_none());
        let targets = self.targets();
        let hub = Hub::new(self.run.client, &self.cert.name, &targets);
        let started = Instant::now();
        let (issued, reused) = self.obtain(&hub).await?;
        if reused {
            let reason = self.reason.take().unwrap_or_default();
            self.reason = Some(format!(
                "{reason}; finishing the rollout of serial {} kept in CAS",
                issued.info.serial
            ));
        }
        self.notes.extend(issued.notes.iter().cloned());
        self.run.order_took(started.elapsed());
        self.issued = Some((issued.info.serial.clone(), issued.info.not_after_rfc3339()));
        let mut new_cert = NewCert {
            name: &self.cert.name,
            fullchain: &issued.fullchain,
            private_key: &issued.private_key,
            info: &issued.info,
            cas: None,
        };
        let cas = hub.publish(&new_cert).await?;
        new_cert.cas = cas.as_ref();
        self.deploy_due(&new_cert).await?;
        self.retire(&hub, cas.as_ref(), &issued.info).await;
        Err(Finish::Rolled { first_issue })
    }

    /// The certificate to deploy: the hub's current copy from an earlier, partial rollout when
    /// there is one that is itself not due (expiry, ARI, revocation) and the run is not forced;
    /// else a new order. `true` = reused.
    async fn obtain(&mut self, hub: &Hub<'_>) -> Result<(Issued, bool)> {
        if !self.run.settings.force {
            let now = OffsetDateTime::now_utc();
            let renew_before = self.run.settings.renew_before_days;
            if let Some(kept) = hub.reusable(&self.cert.domains, renew_before, now).await? {
                match self
                    .run
                    .inspector
                    .decide(self.cert, Some(&kept.info), now)
                    .await
                    .0
                {
                    None => return Ok((kept, true)),
                    Some(why) => tracing::info!(
                        serial = %kept.info.serial,
                        why = %why,
                        "the CAS copy is due itself; ordering a new certificate"
                    ),
                }
            }
        }
        // ARI: name the certificate being replaced (the first due target's, if the CA knows it).
        let replaces = self
            .records
            .iter()
            .find(|r| r.due.is_some() && r.window.is_some())
            .and_then(|r| r.current.as_ref())
            .and_then(CertInfo::ari_id);
        let key = if self.cert.reuse_key {
            self.previous_key().await
        } else {
            None
        };
        let issued = self
            .run
            .issuer
            .issue(self.cert, OrderRequest { replaces, key })
            .await?;
        Ok((issued, false))
    }

    async fn previous_key(&mut self) -> Option<rcgen::KeyPair> {
        // Field by field: `notes` is borrowed mutably beside the records.
        let targets: Vec<&Configured> = self.records.iter().map(|r| &r.target).collect();
        let currents: Vec<Option<CertInfo>> =
            self.records.iter().map(|r| r.current.clone()).collect();
        crate::inspect::previous_key(self.cert, &targets, &currents, &mut self.notes).await
    }

    /// Step 4: deploy to each due target and verify it serves the new serial; each reports
    /// on its own, the others proceed. The first error fails the certificate.
    async fn deploy_due(&mut self, new_cert: &NewCert<'_>) -> Result<()> {
        let budget = self.run.budget;
        let mut first_error = None;
        for record in self.records.iter_mut().filter(|r| r.due.is_some()) {
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
                }
                Err(e) => {
                    tracing::error!(kind = target.kind(), id = %target.id(), error = %e, "deploy failed");
                    record.deploy_failed(&e);
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Step 5: once every target serves the new serial, drop the copies it superseded.
    async fn retire(&self, hub: &Hub<'_>, cas: Option<&CasCopy>, info: &CertInfo) {
        let serial = Some(info.serial.as_str());
        if self
            .records
            .iter()
            .all(|r| r.result.serial.as_deref() == serial)
        {
            let targets = self.targets();
            hub.retire_superseded(&targets, cas).await;
        }
    }

    fn conclude(self, finish: Finish) -> CertResult {
        let mut result = CertResult {
            name: self.cert.name.clone(),
            status: CertStatus::UpToDate,
            domains: self.cert.domains.clone(),
            serial: None,
            not_after: None,
            reason: self.reason,
            targets: self.records.into_iter().map(|r| r.result).collect(),
            error: None,
            notes: self.notes,
        };
        if let Some((serial, not_after)) = self.issued {
            result.serial = Some(serial);
            result.not_after = Some(not_after);
        }
        match finish {
            Finish::UpToDate { note } => {
                // Nothing due: report the serial the targets agree on (the first target's).
                result.serial = result.targets.first().and_then(|t| t.serial.clone());
                result.not_after = result.targets.first().and_then(|t| t.not_after.clone());
                result.reason = note.map(String::from);
            }
            Finish::WouldRenew => result.status = CertStatus::WouldRenew,
            Finish::Skipped(why) => {
                result.status = CertStatus::Skipped;
                result.reason = Some(why);
            }
            Finish::NotAttempted(why) => {
                tracing::warn!(reason = %why, "certificate not attempted");
                result.status = CertStatus::Failed;
                result.error = Some(ErrorReport {
                    code: NOT_ATTEMPTED.into(),
                    message: why,
                    request_id: None,
                });
            }
            Finish::Failed(e) => {
                tracing::error!(error = %e, "certificate failed");
                result.status = CertStatus::Failed;
                result.error = Some(e.report());
            }
            Finish::Rolled { first_issue, .. } => {
                result.status = if first_issue {
                    CertStatus::Issued
                } else {
                    CertStatus::Renewed
                };
            }
        }
        result
    }
}
