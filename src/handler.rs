//! Event → plan → results. Reads what each target serves, decides what is due, orders and
//! deploys only that, and reports per certificate and per target. Keeps no state of its own.
use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
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
use crate::result::{CertResult, CertStatus, RunResult, TargetResult, TargetStatus};

/// Per-invocation facts from the runtime (FC headers) or the command line.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    pub request_id: String,
    /// The function role's credentials from FC's request headers, if any.
    pub fc_credentials: Option<Credentials>,
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
        Event::Issue { .. } => Err(Error::Input(
            "action `issue` (on-demand issuance) is not available in this version yet".into(),
        )),
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
    AliyunClient::new(credentials, &config.aliyun.region, &config.aliyun.endpoints)
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
    let client = aliyun_client(config, invocation)?;
    let names: Vec<String> = selected.iter().map(|c| c.name.clone()).collect();
    if let Some(groups) = crate::fanout::groups_for(config, opts, read_only, &names) {
        return crate::fanout::dispatch(config, &client, opts, groups, invocation).await;
    }
    let run = Run {
        config,
        dns: Alidns::new(client.clone(), config.dns.ttl)
            .with_max_concurrent_calls(config.dns.max_concurrent_calls),
        client,
        account: OnceCell::new(),
        dry_run: read_only || opts.dry_run,
        force: opts.force,
    };
    // Certificates run concurrently, at most `max_concurrent_orders` at once (orders spend most
    // of their time waiting on DNS and the CA); `buffered` keeps the results in config order.
    // (The futures are built first: a closure inside the stream trips rustc's Send inference.)
    let pending: Vec<_> = selected
        .into_iter()
        .map(|cert| {
            let span = tracing::info_span!("certificate", name = %cert.name);
            run.certificate(cert).instrument(span)
        })
        .collect();
    let certificates: Vec<CertResult> = futures_util::stream::iter(pending)
        .buffered(config.acme.max_concurrent_orders.max(1))
        .collect()
        .await;
    Ok(RunResult {
        ok: certificates.iter().all(|c| c.status != CertStatus::Failed),
        request_id: invocation.request_id.clone(),
        certificates,
        fanout: None,
    })
}

struct Run<'a> {
    config: &'a Config,
    client: AliyunClient,
    /// Shared by all orders of the invocation: zones listed once, Alidns calls bounded.
    dns: Alidns,
    /// Opened on the first order only: a run with nothing due talks to no ACME server.
    account: OnceCell<instant_acme::Account>,
    dry_run: bool,
    force: bool,
}

impl Run<'_> {
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
        let now = OffsetDateTime::now_utc();
        let mut due: Vec<(usize, String)> = Vec::new();
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
                    result.targets.push(TargetResult::new(
                        target.kind(),
                        target.id(),
                        status,
                        current.as_ref(),
                    ));
                    if let Some(r) = reason {
                        due.push((i, r));
                    }
                }
                Err(e) => {
                    let mut t =
                        TargetResult::new(target.kind(), target.id(), TargetStatus::Failed, None);
                    t.error = Some(e.report());
                    result.targets.push(t);
                    read_failed.get_or_insert(e);
                }
            }
        }
        if let Some(e) = read_failed {
            return fail(result, e);
        }
        if due.is_empty() {
            // Report the serial the targets agree on (the first target's).
            result.serial = result.targets.first().and_then(|t| t.serial.clone());
            result.not_after = result.targets.first().and_then(|t| t.not_after.clone());
            return result;
        }
        let reasons: Vec<String> = due
            .iter()
            .map(|(i, r)| format!("{} {}: {r}", targets[*i].kind(), targets[*i].id()))
            .collect();
        result.reason = Some(format!("due: {}", reasons.join("; ")));
        if self.dry_run {
            result.status = CertStatus::WouldRenew;
            return result;
        }

        // 2. Order.
        let first_issue =
            due.len() == targets.len() && result.targets.iter().all(|t| t.serial.is_none());
        let issued = match self.order(cert).await {
            Ok(i) => i,
            Err(e) => return fail(result, e),
        };
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
        for (i, _) in &due {
            let target = &targets[*i];
            let entry = &mut result.targets[*i];
            match deploy::deploy_and_verify(target.as_ref(), &new_cert).await {
                Ok(()) => {
                    tracing::info!(kind = target.kind(), id = %target.id(), serial = %issued.info.serial, "deployed and verified");
                    *entry = TargetResult::new(
                        target.kind(),
                        target.id(),
                        TargetStatus::Deployed,
                        Some(&issued.info),
                    );
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
        let account = self
            .account
            .get_or_try_init(|| crate::acme::open_account(&self.config.acme, Some(&self.client)))
            .await?;
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
        };
        order::issue(account, &cert.domains, cert.key_type, &self.dns, &settings).await
    }
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
