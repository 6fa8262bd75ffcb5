//! Event → plan → results. Reads what each target serves, decides what is due, orders and
//! deploys only that, and reports per certificate and per target. Keeps no state of its own.
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use time::OffsetDateTime;
use tokio::sync::OnceCell;
use tracing::Instrument;

use crate::acme::order::{self, DnsSettings, OrderOptions};
use crate::acme::{ari, Acme, OpenAccount};
use crate::aliyun::{AliyunClient, Credentials};
use crate::cert::CertInfo;
use crate::config::{CertificateConfig, Config};
use crate::deploy::{self, Configured, NewCert};
use crate::dns::alidns::Alidns;
use crate::error::{Error, Result};
use crate::event::{Event, RenewOptions};
use crate::lock::{Acquire, Locks};
use crate::result::{CertResult, CertStatus, RunResult, TargetResult, TargetStatus};

/// Per-invocation facts from the runtime (FC headers) or the command line.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    pub request_id: String,
    /// The function role's credentials from FC's request headers, if any.
    pub fc_credentials: Option<Credentials>,
    /// When the platform kills the invocation (FC's `x-fc-function-timeout`, or
    /// `alicert invoke --timeout`): no order starts that could not end before it.
    pub deadline: Option<Instant>,
}

/// The decision of the first version (days only); the full one is [`crate::plan::due`].
pub use crate::plan::due_reason;

pub async fn handle(config: &Config, event: Event, invocation: &Invocation) -> Result<RunResult> {
    match event {
        Event::Renew(opts) => renew(config, &opts, invocation, false).await,
        Event::Status(opts) => renew(config, &opts, invocation, true).await,
        Event::Issue {
            domains,
            targets,
            dry_run,
        } => {
            let cert = crate::issue::certificate(config, &domains, &targets)?;
            // A dry run reads the set's targets and reports would_renew / would_deploy.
            let opts = RenewOptions {
                dry_run,
                ..RenewOptions::default()
            };
            run_certificates(config, &[&cert], &opts, invocation, false).await
        }
        Event::Revoke {
            certificate,
            reason,
            dry_run,
            replace,
        } => {
            let acme = Acme::new(&config.acme)?;
            let client = aliyun_client(config, invocation)?;
            let options = crate::revoke::Options { replace, dry_run };
            let report = crate::revoke::run(
                config,
                &acme,
                &client,
                &certificate,
                reason,
                options,
                invocation,
            )
            .await?;
            Ok(RunResult {
                ok: report
                    .revoked
                    .iter()
                    .all(|r| r.status != "failed" && r.status != "not_revoked"),
                request_id: invocation.request_id.clone(),
                revocation: Some(report),
                ..RunResult::default()
            })
        }
        Event::Account {
            op,
            email,
            confirm,
            dry_run,
        } => {
            let op = crate::acme::account::Op::parse(&op, email.as_deref(), confirm)?;
            let acme = Acme::new(&config.acme)?;
            // Only kms:/oss:// keys need Alibaba Cloud credentials.
            let client = if crate::acme::needs_aliyun(&config.acme) {
                Some(aliyun_client(config, invocation)?)
            } else {
                None
            };
            let report = crate::acme::account::run(&acme, client.as_ref(), op, dry_run).await?;
            Ok(RunResult {
                ok: true,
                request_id: invocation.request_id.clone(),
                account: Some(report),
                ..RunResult::default()
            })
        }
    }
}

/// The Alibaba Cloud client for this invocation (credential chain resolved now).
pub fn aliyun_client(config: &Config, invocation: &Invocation) -> Result<AliyunClient> {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let credentials =
        Credentials::resolve(invocation.fc_credentials.clone(), &env, &config.aliyun)?;
    Ok(
        AliyunClient::new(credentials, &config.aliyun.region, &config.aliyun.endpoints)?
            .with_retry((&config.aliyun.retry).into())
            .with_deadline(invocation.deadline),
    )
}

async fn renew(
    config: &Config,
    opts: &RenewOptions,
    invocation: &Invocation,
    read_only: bool,
) -> Result<RunResult> {
    for name in &opts.certificates {
        if config.certificate(name).is_none() {
            return Err(Error::Input(format!(
                "certificates: no certificate named `{name}` in {}",
                config.source
            )));
        }
    }
    let selected: Vec<&CertificateConfig> = config
        .certificates
        .iter()
        .filter(|c| opts.certificates.is_empty() || opts.certificates.contains(&c.name))
        .collect();
    let names: Vec<String> = selected.iter().map(|c| c.name.clone()).collect();
    if let Some(groups) = crate::fanout::groups_for(config, opts, read_only, &names) {
        let client = aliyun_client(config, invocation)?;
        return crate::fanout::dispatch(config, &client, opts, groups, invocation).await;
    }
    run_certificates(config, &selected, opts, invocation, read_only).await
}

/// Read, decide, order and deploy each of `certificates` in turn (one result each).
pub async fn run_certificates(
    config: &Config,
    certificates: &[&CertificateConfig],
    opts: &RenewOptions,
    invocation: &Invocation,
    read_only: bool,
) -> Result<RunResult> {
    let client = aliyun_client(config, invocation)?;
    let dry_run = read_only || opts.dry_run;
    let locks = match config.lock.location(&config.acme.account_key) {
        Some(location) if !dry_run => {
            let owner = format!(
                "{}/{}",
                invocation.request_id,
                hex::encode(rand::random::<[u8; 4]>())
            );
            Some(Locks::new(client.clone(), location, owner))
        }
        Some(_) => None,
        None => {
            if !dry_run {
                tracing::info!("no lock bucket ([lock] bucket, or an oss:// account key): concurrent runs are not excluded");
            }
            None
        }
    };
    let run = Run {
        config,
        dns: Alidns::new(client.clone(), config.dns.ttl)
            .with_max_concurrent_calls(config.dns.max_concurrent_calls),
        client,
        acme: Acme::new(&config.acme)?,
        crl: crate::crl::Checker::default(),
        account: OnceCell::new(),
        dry_run,
        force: opts.force,
        deadline: invocation.deadline,
        locks,
        lock_ttl: Duration::from_secs(config.lock.ttl_secs),
        slowest_order: Mutex::new(Duration::ZERO),
    };
    // Certificates run concurrently, at most `max_concurrent_orders` at once (orders spend most
    // of their time waiting on DNS and the CA); `buffered` keeps the results in config order.
    // (The futures are built first: a closure inside the stream trips rustc's Send inference.)
    let pending: Vec<_> = certificates
        .iter()
        .map(|cert| {
            let span = tracing::info_span!("certificate", name = %cert.name);
            run.certificate(cert).instrument(span)
        })
        .collect();
    let results: Vec<CertResult> = futures_util::stream::iter(pending)
        .buffered(config.acme.max_concurrent_orders.max(1))
        .collect()
        .await;
    let result = RunResult {
        ok: results.iter().all(|c| c.status != CertStatus::Failed),
        request_id: invocation.request_id.clone(),
        certificates: results,
        ..RunResult::default()
    };
    if !run.dry_run {
        crate::notify::send(&config.notify, &result, &run.client).await;
    }
    Ok(result)
}

/// Kept back from the deadline for replying (and for cleanup inside an order).
const DEADLINE_RESERVE: Duration = Duration::from_secs(2);
/// What an order is assumed to take before one has been timed in this run.
const MIN_ORDER_ESTIMATE: Duration = Duration::from_secs(15);
/// What reading a certificate's targets is assumed to take.
const READ_ESTIMATE: Duration = Duration::from_secs(2);

struct Run<'a> {
    config: &'a Config,
    client: AliyunClient,
    /// Shared by all orders of the invocation: zones listed once, Alidns calls bounded.
    dns: Alidns,
    /// The CA: directory, ARI answers (read for deployed certificates on every run).
    acme: Acme,
    crl: crate::crl::Checker,
    /// Opened on the first order only: a run with nothing due creates no key or account.
    account: OnceCell<OpenAccount>,
    dry_run: bool,
    force: bool,
    deadline: Option<Instant>,
    /// Per-certificate locks in OSS (None: no lock bucket known, or nothing will change).
    locks: Option<Locks>,
    lock_ttl: Duration,
    /// The longest order so far in this run: the estimate for the next one.
    slowest_order: Mutex<Duration>,
}

/// What reading a certificate's targets found.
struct Reading {
    targets: Vec<TargetResult>,
    /// Index of each due target and why it is due.
    due: Vec<(usize, String)>,
    /// What each target serves now (None: nothing, or its read failed).
    currents: Vec<Option<CertInfo>>,
    /// The CA's ARI window for each target's certificate, when it has one.
    windows: Vec<Option<ari::Window>>,
}

impl Run<'_> {
    /// Whether less than `need` (plus the reserve) is left before the deadline.
    fn short_of(&self, need: Duration) -> bool {
        self.deadline
            .is_some_and(|d| d.saturating_duration_since(Instant::now()) < need + DEADLINE_RESERVE)
    }

    fn order_estimate(&self) -> Duration {
        let slowest = *self.slowest_order.lock().unwrap_or_else(|e| e.into_inner());
        slowest.max(MIN_ORDER_ESTIMATE)
    }

    /// When this run's lock on a certificate expires, in unix seconds: a minute after the
    /// deadline (the owner is dead by then), else after `[lock] ttl_secs`.
    fn lock_expiry(&self) -> i64 {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let life = match self.deadline {
            Some(d) => d.saturating_duration_since(Instant::now()) + Duration::from_secs(60),
            None => self.lock_ttl,
        };
        // Checked: `[lock] ttl_secs` is any u64 the config holds.
        now.saturating_add(i64::try_from(life.as_secs()).unwrap_or(i64::MAX))
    }

    async fn certificate(&self, cert: &CertificateConfig) -> CertResult {
        let mut result = CertResult {
            name: cert.name.clone(),
            status: CertStatus::UpToDate,
            domains: cert.domains.clone(),
            serial: None,
            not_after: None,
            reason: None,
            targets: Vec::new(),
            error: None,
            notes: Vec::new(),
        };
        if self.short_of(READ_ESTIMATE) {
            return not_attempted(result, "not started: the invocation's deadline is near");
        }
        let targets: Vec<Configured> = match cert
            .targets
            .iter()
            .map(|t| deploy::build(t, &cert.name, &self.client))
            .collect::<Result<_>>()
        {
            Ok(t) => t,
            Err(e) => return fail(result, e),
        };

        // 1. Read what is deployed, decide what is due.
        let mut reading = match self.read(cert, &targets).await {
            Ok(r) => r,
            Err((read, e)) => {
                result.targets = read;
                return fail(result, e);
            }
        };
        result.targets = std::mem::take(&mut reading.targets);
        if reading.due.is_empty() {
            return up_to_date(result);
        }
        result.reason = Some(due_summary(&targets, &reading.due));
        if self.dry_run {
            result.status = CertStatus::WouldRenew;
            return result;
        }
        if self.short_of(self.order_estimate()) {
            return not_attempted(
                result,
                &format!(
                    "not ordered: less than {}s left before the invocation's deadline",
                    (self.order_estimate() + DEADLINE_RESERVE).as_secs()
                ),
            );
        }

        // 2. One run at a time: take the certificate's lock, then read again, since the run
        // that held it a moment ago may have just deployed.
        let held = match &self.locks {
            None => None,
            Some(locks) => match locks.acquire(&cert.name, self.lock_expiry()).await {
                Ok(Acquire::Held(h)) => {
                    match self.read(cert, &targets).await {
                        Ok(mut again) => {
                            result.targets = std::mem::take(&mut again.targets);
                            reading = again;
                        }
                        Err((read, e)) => {
                            result.targets = read;
                            self.release(h).await;
                            return fail(result, e);
                        }
                    }
                    Some(h)
                }
                Ok(Acquire::Busy { owner, expires }) => {
                    // The expiry comes from an object in OSS: one that is not a time is an
                    // error naming the lock, never a panic or a made-up date.
                    let until = match OffsetDateTime::from_unix_timestamp(expires)
                        .map_err(|e| Error::Other(e.to_string()))
                        .and_then(crate::cert::try_rfc3339)
                    {
                        Ok(t) => t,
                        Err(e) => {
                            return fail(
                                result,
                                Error::Other(format!(
                                    "the lock of `{}` held by {owner} has an impossible expiry {expires}: {e}; delete the lock object if no run holds it",
                                    cert.name
                                )),
                            )
                        }
                    };
                    result.status = CertStatus::Skipped;
                    result.reason = Some(format!(
                        "locked: another run ({owner}) is renewing this certificate; its lock expires {until}"
                    ));
                    tracing::info!(owner, "certificate locked by another run; skipped");
                    return result;
                }
                Err(e) => return fail(result, e),
            },
        };
        if reading.due.is_empty() {
            if let Some(h) = held {
                self.release(h).await;
            }
            let mut result = up_to_date(result);
            result.reason = Some("renewed meanwhile by the run that held the lock".into());
            return result;
        }
        result.reason = Some(due_summary(&targets, &reading.due));
        let result = self
            .order_and_deploy(cert, &targets, &reading, result)
            .await;
        if let Some(h) = held {
            self.release(h).await;
        }
        result
    }

    async fn release(&self, held: crate::lock::Held) {
        if let Some(locks) = &self.locks {
            if let Err(e) = locks.release(held).await {
                tracing::warn!(error = %e, "could not release the lock; it expires by itself");
            }
        }
    }

    /// Read every target; on a failed read, the targets read so far and the first error.
    async fn read(
        &self,
        cert: &CertificateConfig,
        targets: &[Configured],
    ) -> std::result::Result<Reading, (Vec<TargetResult>, Error)> {
        let now = OffsetDateTime::now_utc();
        let mut reading = Reading {
            targets: Vec::new(),
            due: Vec::new(),
            currents: Vec::new(),
            windows: Vec::new(),
        };
        let mut read_failed = None;
        for (i, target) in targets.iter().enumerate() {
            match target.current().await {
                Ok(current) => {
                    let (reason, window) = if self.force {
                        (Some("forced".to_string()), None)
                    } else {
                        crate::inspect::decide(&self.acme, &self.crl, cert, current.as_ref(), now)
                            .await
                    };
                    let status = if reason.is_some() {
                        TargetStatus::WouldDeploy
                    } else {
                        TargetStatus::UpToDate
                    };
                    tracing::info!(
                        kind = target.kind(),
                        id = %target.id(),
                        serial = current.as_ref().map(|c| c.serial.as_str()).unwrap_or("-"),
                        due = reason.as_deref().unwrap_or("no"),
                        "read target"
                    );
                    reading.targets.push(TargetResult::new(
                        target.kind(),
                        target.id(),
                        status,
                        current.as_ref(),
                    ));
                    if let Some(r) = reason {
                        reading.due.push((i, r));
                    }
                    reading.currents.push(current);
                    reading.windows.push(window);
                }
                Err(e) => {
                    let mut t =
                        TargetResult::new(target.kind(), target.id(), TargetStatus::Failed, None);
                    t.error = Some(e.report());
                    reading.targets.push(t);
                    read_failed.get_or_insert(e);
                    reading.currents.push(None);
                    reading.windows.push(None);
                }
            }
        }
        match read_failed {
            Some(e) => Err((reading.targets, e)),
            None => Ok(reading),
        }
    }

    async fn order_and_deploy(
        &self,
        cert: &CertificateConfig,
        targets: &[Configured],
        reading: &Reading,
        mut result: CertResult,
    ) -> CertResult {
        let due = &reading.due;
        let first_issue =
            due.len() == targets.len() && result.targets.iter().all(|t| t.serial.is_none());
        let started = Instant::now();
        // Order, unless CAS keeps a current certificate from an earlier, partial rollout.
        let hub = deploy::cas::Hub::new(&self.client, &cert.name, targets);
        // ARI: name the certificate being replaced (the first due target's, if the CA knows it).
        let replaces = due
            .iter()
            .find(|(i, _)| reading.windows[*i].is_some())
            .and_then(|(i, _)| reading.currents[*i].as_ref())
            .and_then(CertInfo::ari_id);
        let (issued, reused) = match self
            .obtain(
                cert,
                &hub,
                targets,
                &reading.currents,
                replaces,
                &mut result.notes,
            )
            .await
        {
            Ok(i) => i,
            Err(e) => return fail(result, e),
        };
        if reused {
            let reason = result.reason.take().unwrap_or_default();
            result.reason = Some(format!(
                "{reason}; finishing the rollout of serial {} kept in CAS",
                issued.info.serial
            ));
        }
        result.notes.extend(issued.notes.iter().cloned());
        {
            let mut slowest = self.slowest_order.lock().unwrap_or_else(|e| e.into_inner());
            *slowest = (*slowest).max(started.elapsed());
        }
        result.serial = Some(issued.info.serial.clone());
        result.not_after = Some(issued.info.not_after_rfc3339());
        let mut new_cert = NewCert {
            name: &cert.name,
            fullchain: &issued.fullchain,
            private_key: &issued.private_key,
            info: &issued.info,
            cas: None,
        };
        let cas = match hub.publish(&new_cert).await {
            Ok(c) => c,
            Err(e) => return fail(result, e),
        };
        new_cert.cas = cas.as_ref();

        // 3. Deploy to the due targets; each reports on its own, the others proceed.
        let mut first_error = None;
        for (i, _) in due {
            let target = &targets[*i];
            let entry = &mut result.targets[*i];
            let deployed = match self.deadline {
                None => deploy::deploy_and_verify(target, &new_cert).await,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    tokio::time::timeout(
                        left.saturating_sub(DEADLINE_RESERVE / 2),
                        deploy::deploy_and_verify(target, &new_cert),
                    )
                    .await
                    .unwrap_or_else(|_| {
                        Err(Error::Deploy(format!(
                            "{} {}: cut short by the invocation's deadline",
                            target.kind(),
                            target.id()
                        )))
                    })
                }
            };
            match deployed {
                Ok(()) => {
                    tracing::info!(kind = target.kind(), id = %target.id(), serial = %issued.info.serial, "deployed and verified");
                    *entry = TargetResult::new(
                        target.kind(),
                        target.id(),
                        TargetStatus::Deployed,
                        Some(&issued.info),
                    );
                    crate::testhook::pause(&format!("deployed:{}", target.kind())).await;
                }
                Err(e) => {
                    tracing::error!(kind = target.kind(), id = %target.id(), error = %e, "deploy failed");
                    entry.status = TargetStatus::Failed;
                    entry.error = Some(e.report());
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => fail(result, e),
            None => {
                // Every target serves the new serial: drop the copies it superseded.
                let serial = Some(issued.info.serial.as_str());
                if result.targets.iter().all(|t| t.serial.as_deref() == serial) {
                    hub.retire_superseded(targets, cas.as_ref()).await;
                }
                result.status = if first_issue {
                    CertStatus::Issued
                } else {
                    CertStatus::Renewed
                };
                result
            }
        }
    }

    /// The certificate to deploy: the hub's current copy from an earlier, partial rollout when
    /// there is one that is itself not due (expiry, ARI, revocation) and the run is not forced;
    /// else a new order. `true` = reused.
    async fn obtain(
        &self,
        cert: &CertificateConfig,
        hub: &deploy::cas::Hub<'_>,
        targets: &[Configured],
        currents: &[Option<CertInfo>],
        replaces: Option<instant_acme::CertificateIdentifier<'static>>,
        notes: &mut Vec<String>,
    ) -> Result<(order::Issued, bool)> {
        if !self.force {
            let now = OffsetDateTime::now_utc();
            let renew_before = self.config.acme.renew_before_days;
            if let Some(kept) = hub.reusable(&cert.domains, renew_before, now).await? {
                let (due, _) =
                    crate::inspect::decide(&self.acme, &self.crl, cert, Some(&kept.info), now)
                        .await;
                match due {
                    None => return Ok((kept, true)),
                    Some(why) => tracing::info!(
                        serial = %kept.info.serial,
                        why = %why,
                        "the CAS copy is due itself; ordering a new certificate"
                    ),
                }
            }
        }
        let key = if cert.reuse_key {
            crate::inspect::previous_key(cert, targets, currents, notes).await
        } else {
            None
        };
        Ok((self.order(cert, replaces, key).await?, false))
    }

    async fn order(
        &self,
        cert: &CertificateConfig,
        replaces: Option<instant_acme::CertificateIdentifier<'static>>,
        key: Option<rcgen::KeyPair>,
    ) -> Result<order::Issued> {
        let open = self.acme.open(Some(&self.client), true);
        let opened = match self.deadline {
            None => self.account.get_or_try_init(|| open).await?,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                tokio::time::timeout(
                    left.saturating_sub(DEADLINE_RESERVE),
                    self.account.get_or_try_init(|| open),
                )
                .await
                .map_err(|_| {
                    Error::Acme("opening the ACME account ran into the deadline".into())
                })??
            }
        };
        let dns = self.dns.for_certificate(&cert.name);
        let resolvers = self
            .config
            .dns
            .resolvers
            .iter()
            .map(|r| crate::dns::propagation::parse_resolver(r).map_err(Error::Config))
            .collect::<Result<Vec<_>>>()?;
        let settings = DnsSettings {
            resolvers,
            propagation_timeout: Duration::from_secs(self.config.dns.propagation_timeout_secs),
            sweep_grace: Duration::from_secs(self.config.dns.sweep_grace_secs),
        };
        let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
        let profile = nonempty(&cert.profile).or(nonempty(&self.config.acme.profile));
        let preferred =
            nonempty(&cert.preferred_chain).or(nonempty(&self.config.acme.preferred_chain));
        let options = OrderOptions {
            key_type: cert.key_type,
            key,
            profile: profile.as_deref(),
            replaces,
            preferred_chain: preferred.as_deref(),
        };
        order::issue(
            &self.acme,
            &opened.account,
            &cert.domains,
            options,
            &dns,
            &settings,
            self.deadline,
        )
        .await
    }
}

fn due_summary(targets: &[Configured], due: &[(usize, String)]) -> String {
    let reasons: Vec<String> = due
        .iter()
        .map(|(i, r)| format!("{} {}: {r}", targets[*i].kind(), targets[*i].id()))
        .collect();
    format!("due: {}", reasons.join("; "))
}

/// Nothing due: report the serial the targets agree on (the first target's).
fn up_to_date(mut result: CertResult) -> CertResult {
    result.status = CertStatus::UpToDate;
    result.serial = result.targets.first().and_then(|t| t.serial.clone());
    result.not_after = result.targets.first().and_then(|t| t.not_after.clone());
    result
}

fn not_attempted(mut result: CertResult, why: &str) -> CertResult {
    tracing::warn!(reason = why, "certificate not attempted");
    result.status = CertStatus::Failed;
    result.error = Some(crate::error::ErrorReport {
        code: crate::result::NOT_ATTEMPTED.into(),
        message: why.to_string(),
        request_id: None,
    });
    result
}

fn fail(mut result: CertResult, e: Error) -> CertResult {
    tracing::error!(error = %e, "certificate failed");
    result.status = CertStatus::Failed;
    result.error = Some(e.report());
    result
}
