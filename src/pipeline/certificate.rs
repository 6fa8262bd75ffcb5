//! The steps of one certificate. Each returns `Err(Finish)` to end the walk early; `run`
//! turns the way it ended into the certificate's result.
use std::time::{Duration, Instant};

use time::OffsetDateTime;

mod steps;

use super::record::TargetRecord;
use super::run::Run;
use super::services::OrderRequest;
use crate::acme::order::Issued;
use crate::backoff::{self, CertState, Gate};
use crate::budget::RESERVE;
use crate::cert::CertInfo;
use crate::config::CertificateConfig;
use crate::deploy::cas::{CasCopy, Hub};
use crate::deploy::{Configured, NewCert};
use crate::error::{Error, ErrorReport, Result};
use crate::lock::{Acquire, Held};
use crate::result::{CertResult, CertStatus, NextRenewal, NOT_ATTEMPTED};

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
    /// Inside the failure backoff: no order before `until`.
    BackingOff {
        until: OffsetDateTime,
        why: String,
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
    /// The failure state read before ordering (see [`crate::backoff`]), and what it says.
    state: Option<CertState>,
    gate: Gate,
    /// The walk ended in the order itself (the CA or the DNS-01 proof), the failures the
    /// backoff counts; a failed deploy is finished by the next run from the CAS copy.
    order_failed: bool,
    /// The certificate obtained in this run.
    issued: Option<CertInfo>,
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
            state: None,
            gate: Gate::Go,
            order_failed: false,
        }
    }

    /// Notes the result carries whatever happens (what building the targets found).
    pub(super) fn noting(mut self, notes: Vec<String>) -> Self {
        self.notes.extend(notes);
        self
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
        let mut held = if self.run.settings.force && !self.run.settings.dry_run {
            // Forced: every target is due whatever it serves, so the lock need not wait for
            // the read.
            self.time_for_an_order()?;
            self.read_beside_lock().await?
        } else {
            self.read_then_lock().await?
        };
        let rolled = match self.require_due(Some("renewed meanwhile by the run that held the lock"))
        {
            Ok(()) => self.roll_out(&mut held).await,
            Err(f) => Err(f),
        };
        match &rolled {
            // A rollout remembered its success and released the lock itself, beside retiring.
            Err(Finish::Rolled { .. }) | Ok(_) => {}
            Err(f) => self.remember(f).await,
        }
        if let Some(h) = held {
            self.release(h).await;
        }
        match rolled {
            Ok(never) => match never {},
            Err(f) => Err(f),
        }
    }

    /// The read, then (when a target is due and the run writes) the lock.
    async fn read_then_lock(&mut self) -> std::result::Result<Option<Held>, Finish> {
        // The run's one-time lock check goes alongside the first reads (one call per run).
        let locks = self.run.locks.as_ref();
        let warm_lock = async move {
            if let Some(locks) = locks {
                // An error here is met again, and reported, when the lock is taken.
                let _ = locks.check_versioning().await;
            }
        };
        let (read, ()) = tokio::join!(self.read(), warm_lock);
        read?;
        self.require_due(None)?;
        if self.run.settings.dry_run {
            self.load_backoff().await;
            return Err(self.backing_off().unwrap_or(Finish::WouldRenew));
        }
        self.time_for_an_order()?;
        self.lock_and_prepare().await
    }

    /// Ends the walk when the invocation's deadline leaves too little time for an order.
    fn time_for_an_order(&self) -> std::result::Result<(), Finish> {
        let estimate = self.run.order_estimate();
        if self.run.budget.short_of(estimate) {
            return Err(Finish::NotAttempted(format!(
                "not ordered: less than {}s left before the invocation's deadline",
                (estimate + RESERVE).as_secs()
            )));
        }
        Ok(())
    }

    /// Reads the failure state an earlier run left and decides whether a new order may be
    /// placed now (it may when the config changed, a target is near expiry, or `force`).
    async fn load_backoff(&mut self) {
        let state = steps::load_state(self.run, &self.cert.name).await;
        self.set_gate(state);
    }

    fn set_gate(&mut self, state: Option<CertState>) {
        self.state = state;
        let now = OffsetDateTime::now_utc();
        let emergency = self
            .records
            .iter()
            .filter_map(|r| r.current.as_ref())
            .any(|c| backoff::near_expiry(c, now));
        if emergency && self.state.is_some() {
            tracing::warn!("a target's certificate is within 1/20 of its lifetime of expiry: ordering despite the failure backoff");
        }
        self.gate = backoff::gate(
            self.state.as_ref(),
            &self.fingerprint(),
            now,
            self.run.settings.force,
            emergency,
        );
    }

    /// The finish of a walk that must not order yet, if it must not.
    fn backing_off(&self) -> Option<Finish> {
        match &self.gate {
            Gate::Go => None,
            Gate::Wait { until, why } => Some(Finish::BackingOff {
                until: *until,
                why: why.clone(),
            }),
        }
    }

    fn fingerprint(&self) -> String {
        backoff::fingerprint(&(&self.run.context, self.cert))
    }

    /// After an attempt: a failure is counted in the state object, a success clears it.
    async fn remember(&self, finish: &Finish) {
        let Some(states) = &self.run.states else {
            return;
        };
        let written = match finish {
            // A config error places no order (nothing to protect) and is fixed by a change
            // the next run must see at once, perhaps made outside the config (`account create`).
            Finish::Failed(e) if e.is_user_error() || !self.order_failed => Ok(()),
            Finish::Failed(e) => {
                let state = backoff::failed(
                    self.state.as_ref(),
                    &self.cert.name,
                    &self.fingerprint(),
                    e,
                    OffsetDateTime::now_utc(),
                );
                tracing::info!(failures = state.failures, next_attempt = state.next_attempt, state = %states.url(&self.cert.name), "failure recorded; the next order waits");
                states.store(&state).await
            }
            Finish::Rolled { .. } if self.state.is_some() => states.clear(&self.cert.name).await,
            _ => Ok(()),
        };
        if let Err(e) = written {
            tracing::warn!(error = %e, state = %states.url(&self.cert.name), "could not update the failure state");
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

    /// Step 2: one run at a time. Take the certificate's lock, then read again: the run that
    /// held it a moment ago may have just deployed. (A forced run takes the lock beside its
    /// only read, [`Self::read_beside_lock`].)
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
    async fn roll_out(
        &mut self,
        held: &mut Option<Held>,
    ) -> std::result::Result<std::convert::Infallible, Finish> {
        let first_issue = self
            .records
            .iter()
            .all(|r| r.due.is_some() && r.result.serial.is_none());
        let targets = self.targets();
        let hub = Hub::new(
            self.run.client,
            &self.run.cas_uploads,
            &self.cert.name,
            &targets,
        );
        let started = Instant::now();
        // The listing of the copies a rollout supersedes is taken while the certificate is
        // obtained (the copy this run uploads is never among those retired).
        let (obtained, ()) = tokio::join!(self.obtain(&hub), hub.prefetch_uploads());
        let (mut issued, reused) = obtained?;
        if reused {
            let reason = self.reason.take().unwrap_or_default();
            self.reason = Some(format!(
                "{reason}; finishing the rollout of serial {} kept in CAS",
                issued.info.serial
            ));
        }
        self.notes.extend(issued.notes.iter().cloned());
        self.run.order_took(started.elapsed());
        self.issued = Some(issued.info.clone());
        let mut new_cert = NewCert {
            name: &self.cert.name,
            fullchain: &issued.fullchain,
            private_key: &issued.private_key,
            info: &issued.info,
            cas: None,
        };
        // The order's TXT records are deleted while the certificate goes to CAS.
        let cleanup = std::mem::take(&mut issued.cleanup);
        let ((), cas) = tokio::join!(cleanup.run(), hub.publish(&new_cert, !reused));
        crate::testhook::pause("cas_uploaded").await;
        let cas = cas?;
        new_cert.cas = cas.as_ref();
        self.deploy_due(&new_cert).await?;
        // Done: the superseded copies go while the success is remembered and the lock released.
        let rolled = Finish::Rolled { first_issue };
        let held = held.take();
        let release = async {
            if let Some(h) = held {
                self.release(h).await;
            }
        };
        tokio::join!(
            self.retire(&hub, cas.as_ref(), &issued.info),
            self.remember(&rolled),
            release
        );
        Err(rolled)
    }

    /// The certificate to deploy: the hub's current copy from an earlier, partial rollout when
    /// there is one that is itself not due (expiry, ARI, revocation) and the run is not forced;
    /// else a new order. `true` = reused.
    async fn obtain(&mut self, hub: &Hub<'_>) -> std::result::Result<(Issued, bool), Finish> {
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
        if let Some(wait) = self.backing_off() {
            return Err(wait);
        }
        if self.state.is_some() {
            let rehearsed = self.run.issuer.rehearse(self.cert).await.map_err(|e| {
                self.order_failed = true;
                Error::Acme(format!(
                    "rehearsal on the staging CA failed, so production was not asked: {e}"
                ))
            })?;
            if rehearsed {
                self.notes.push(
                    "after the last failure, the order was rehearsed on the staging CA first"
                        .into(),
                );
            }
        }
        let issued = self
            .run
            .issuer
            .issue(self.cert, OrderRequest { replaces, key })
            .await
            .inspect_err(|_| self.order_failed = true)?;
        Ok((issued, false))
    }

    async fn previous_key(&mut self) -> Option<rcgen::KeyPair> {
        // Field by field: `notes` is borrowed mutably beside the records.
        let targets: Vec<&Configured> = self.records.iter().map(|r| &r.target).collect();
        let currents: Vec<Option<CertInfo>> =
            self.records.iter().map(|r| r.current.clone()).collect();
        crate::inspect::previous_key(self.cert, &targets, &currents, &mut self.notes).await
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

    /// Issuer and next renewal of the certificate the result reports: the one obtained in this
    /// run, else the one the first target serves (with its ARI window).
    fn outlook(&self) -> (Option<String>, Option<NextRenewal>) {
        let (cert, window) = match &self.issued {
            Some(info) => (Some(info), None),
            None => self
                .records
                .first()
                .map_or((None, None), |r| (r.current.as_ref(), r.window.as_ref())),
        };
        let Some(cert) = cert else {
            return (None, None);
        };
        let policy = crate::plan::Policy {
            renew_before_days: self.run.settings.renew_before_days,
            lookahead: time::Duration::ZERO,
        };
        let next = crate::plan::next_renewal(cert, window, &policy);
        let next = NextRenewal {
            at: crate::cert::rfc3339(next.at),
            why: next.why,
        };
        (Some(cert.issuer.clone()), Some(next))
    }

    fn conclude(self, finish: Finish) -> CertResult {
        let (issuer, next_renewal) = self.outlook();
        let mut result = CertResult {
            name: self.cert.name.clone(),
            status: CertStatus::UpToDate,
            domains: self.cert.domains.clone(),
            serial: None,
            not_after: None,
            reason: self.reason,
            issuer,
            next_renewal,
            targets: self.records.into_iter().map(|r| r.result).collect(),
            next_attempt: None,
            error: None,
            notes: self.notes,
        };
        if let Some(info) = &self.issued {
            result.serial = Some(info.serial.clone());
            result.not_after = Some(info.not_after_rfc3339());
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
            Finish::BackingOff { until, why } => {
                let until = crate::cert::rfc3339(until);
                tracing::info!(next_attempt = %until, reason = %why, "certificate backing off");
                result.status = CertStatus::BackingOff;
                result.reason = Some(format!("backing off after {why}; next attempt {until}"));
                result.next_attempt = Some(until);
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
