//! Event → plan → results. Reads what each target serves, decides what is due, orders and
//! deploys only that, and reports per certificate and per target. Keeps no state of its own.
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokio::sync::OnceCell;
use tracing::Instrument;

use crate::acme::order::{self, DnsSettings};
use crate::aliyun::{AliyunClient, Credentials};
use crate::cert::CertInfo;
use crate::config::{CertificateConfig, Config};
use crate::deploy::{self, NewCert, Target};
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

/// Why a target needs a new certificate (None = up to date).
pub fn due_reason(
    current: Option<&CertInfo>,
    domains: &[String],
    renew_before_days: u32,
    now: OffsetDateTime,
) -> Option<String> {
    let Some(cert) = current else {
        return Some("missing on target".into());
    };
    if !cert.covers_all(domains) {
        return Some("domains changed".into());
    }
    let left = cert.not_after - now;
    if left <= time::Duration::days(renew_before_days.into()) {
        let days = left.whole_days();
        return Some(if days < 0 {
            format!("expired {} days ago", -days)
        } else {
            format!("expires in {days} days")
        });
    }
    None
}

pub async fn handle(config: &Config, event: Event, invocation: &Invocation) -> Result<RunResult> {
    match event {
        Event::Renew(opts) => renew(config, &opts, invocation, false).await,
        Event::Status(opts) => renew(config, &opts, invocation, true).await,
        Event::Issue { domains, targets } => {
            let cert = crate::issue::certificate(config, &domains, &targets)?;
            run_certificates(config, &[&cert], &RenewOptions::default(), invocation, false).await
        }
        Event::Revoke { .. } => Err(Error::Input(
            "action `revoke` is not available in this version yet".into(),
        )),
        Event::Account { .. } => Err(Error::Input(
            "action `account` is not available as an event in this version yet; use `alicert account`".into(),
        )),
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
        Some((bucket, prefix)) if !dry_run => {
            let owner = format!(
                "{}/{}",
                invocation.request_id,
                hex::encode(rand::random::<[u8; 4]>())
            );
            Some(Locks::new(client.clone(), bucket, prefix, owner))
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
        client,
        account: OnceCell::new(),
        dry_run,
        force: opts.force,
        deadline: invocation.deadline,
        locks,
        lock_ttl: Duration::from_secs(config.lock.ttl_secs),
        slowest_order: Mutex::new(Duration::ZERO),
    };
    let mut results = Vec::new();
    for cert in certificates {
        let span = tracing::info_span!("certificate", name = %cert.name);
        results.push(run.certificate(cert).instrument(span).await);
    }
    Ok(RunResult {
        ok: results.iter().all(|c| c.status != CertStatus::Failed),
        request_id: invocation.request_id.clone(),
        certificates: results,
    })
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
    /// Opened on the first order only: a run with nothing due talks to no ACME server.
    account: OnceCell<instant_acme::Account>,
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
        now + life.as_secs() as i64
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
        };
        if self.short_of(READ_ESTIMATE) {
            return not_attempted(result, "not started: the invocation's deadline is near");
        }
        let targets: Vec<Box<dyn Target>> = match cert
            .targets
            .iter()
            .map(|t| deploy::build(t, &cert.name, &self.client))
            .collect::<Result<_>>()
        {
            Ok(t) => t,
            Err(e) => return fail(result, e),
        };

        // 1. Read what is deployed, decide what is due.
        let reading = match self.read(cert, &targets).await {
            Ok(r) => r,
            Err((read, e)) => {
                result.targets = read;
                return fail(result, e);
            }
        };
        result.targets = reading.targets;
        let mut due = reading.due;
        if due.is_empty() {
            return up_to_date(result);
        }
        result.reason = Some(due_summary(&targets, &due));
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
                        Ok(again) => {
                            result.targets = again.targets;
                            due = again.due;
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
                    result.status = CertStatus::Skipped;
                    result.reason = Some(format!(
                        "locked: another run ({owner}) is renewing this certificate; its lock expires {}",
                        crate::cert::rfc3339(
                            OffsetDateTime::from_unix_timestamp(expires)
                                .unwrap_or(OffsetDateTime::UNIX_EPOCH)
                        )
                    ));
                    tracing::info!(owner, "certificate locked by another run; skipped");
                    return result;
                }
                Err(e) => return fail(result, e),
            },
        };
        if due.is_empty() {
            if let Some(h) = held {
                self.release(h).await;
            }
            let mut result = up_to_date(result);
            result.reason = Some("renewed meanwhile by the run that held the lock".into());
            return result;
        }
        result.reason = Some(due_summary(&targets, &due));
        let result = self.order_and_deploy(cert, &targets, &due, result).await;
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
        targets: &[Box<dyn Target>],
    ) -> std::result::Result<Reading, (Vec<TargetResult>, Error)> {
        let now = OffsetDateTime::now_utc();
        let mut reading = Reading {
            targets: Vec::new(),
            due: Vec::new(),
        };
        let mut read_failed = None;
        for (i, target) in targets.iter().enumerate() {
            match target.current().await {
                Ok(current) => {
                    let reason = if self.force {
                        Some("forced".to_string())
                    } else {
                        due_reason(
                            current.as_ref(),
                            &cert.domains,
                            self.config.acme.renew_before_days,
                            now,
                        )
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
                }
                Err(e) => {
                    let mut t =
                        TargetResult::new(target.kind(), target.id(), TargetStatus::Failed, None);
                    t.error = Some(e.report());
                    reading.targets.push(t);
                    read_failed.get_or_insert(e);
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
        targets: &[Box<dyn Target>],
        due: &[(usize, String)],
        mut result: CertResult,
    ) -> CertResult {
        let first_issue =
            due.len() == targets.len() && result.targets.iter().all(|t| t.serial.is_none());
        let started = Instant::now();
        let issued = match self.order(cert).await {
            Ok(i) => i,
            Err(e) => return fail(result, e),
        };
        {
            let mut slowest = self.slowest_order.lock().unwrap_or_else(|e| e.into_inner());
            *slowest = (*slowest).max(started.elapsed());
        }
        result.serial = Some(issued.info.serial.clone());
        result.not_after = Some(issued.info.not_after_rfc3339());
        let new_cert = NewCert {
            name: &cert.name,
            fullchain: &issued.fullchain,
            private_key: &issued.private_key,
            info: &issued.info,
        };

        // 3. Deploy to the due targets; each reports on its own, the others proceed.
        let mut first_error = None;
        for (i, _) in due {
            let target = &targets[*i];
            let entry = &mut result.targets[*i];
            let deployed = match self.deadline {
                None => deploy::deploy_and_verify(target.as_ref(), &new_cert).await,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    tokio::time::timeout(
                        left.saturating_sub(DEADLINE_RESERVE / 2),
                        deploy::deploy_and_verify(target.as_ref(), &new_cert),
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
                result.status = if first_issue {
                    CertStatus::Issued
                } else {
                    CertStatus::Renewed
                };
                result
            }
        }
    }

    async fn order(&self, cert: &CertificateConfig) -> Result<order::Issued> {
        let open = crate::acme::open_account(&self.config.acme, Some(&self.client));
        let account = match self.deadline {
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
        let dns = Alidns::new(self.client.clone(), self.config.dns.ttl).for_certificate(&cert.name);
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
        order::issue(
            account,
            &cert.domains,
            cert.key_type,
            &dns,
            &settings,
            self.deadline,
        )
        .await
    }
}

fn due_summary(targets: &[Box<dyn Target>], due: &[(usize, String)]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn info(names: &[&str], days_left: i64, now: OffsetDateTime) -> CertInfo {
        CertInfo {
            serial: "1".into(),
            not_before: now - time::Duration::days(10),
            not_after: now + time::Duration::days(days_left),
            names: names.iter().map(|s| s.to_string()).collect(),
            issuer: String::new(),
            fingerprint_sha256: String::new(),
        }
    }

    #[test]
    fn due_decision() {
        let now = OffsetDateTime::now_utc();
        let domains = vec!["example.com".to_string(), "*.example.com".to_string()];
        assert_eq!(
            due_reason(None, &domains, 30, now).as_deref(),
            Some("missing on target")
        );
        let ok = info(&["example.com", "*.example.com"], 60, now);
        assert_eq!(due_reason(Some(&ok), &domains, 30, now), None);
        let partial = info(&["example.com"], 60, now);
        assert_eq!(
            due_reason(Some(&partial), &domains, 30, now).as_deref(),
            Some("domains changed")
        );
        let soon = info(&["example.com", "*.example.com"], 20, now);
        assert!(due_reason(Some(&soon), &domains, 30, now)
            .unwrap()
            .starts_with("expires in"));
        let expired = info(&["example.com", "*.example.com"], -3, now);
        assert!(due_reason(Some(&expired), &domains, 30, now)
            .unwrap()
            .starts_with("expired"));
    }
}
