//! Event → plan → results. Reads what each target serves, decides what is due, orders and
//! deploys only that, and reports per certificate and per target. Keeps no state of its own.
use std::collections::BTreeMap;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::OnceCell;
use tracing::Instrument;

use crate::acme::order::{self, DnsSettings, OrderOptions};
use crate::acme::{ari, Acme, OpenAccount};
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

/// The decision of the first version (days only); the full one is [`crate::plan::due`].
pub use crate::plan::due_reason;

pub async fn handle(config: &Config, event: Event, invocation: &Invocation) -> Result<RunResult> {
    match event {
        Event::Renew(opts) => renew(config, &opts, invocation, false).await,
        Event::Status(opts) => renew(config, &opts, invocation, true).await,
        Event::Issue { .. } => Err(Error::Input(
            "action `issue` (on-demand issuance) is not available in this version yet".into(),
        )),
        Event::Revoke {
            certificate,
            reason,
            dry_run,
        } => {
            let acme = Acme::new(&config.acme)?;
            let client = aliyun_client(config, invocation)?;
            let report =
                crate::revoke::run(config, &acme, &client, &certificate, reason, dry_run).await?;
            Ok(RunResult {
                ok: report.revoked.iter().all(|r| r.status != "failed"),
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
    let run = Run {
        config,
        client,
        acme: Acme::new(&config.acme)?,
        crl: crate::crl::Checker::default(),
        account: OnceCell::new(),
        dry_run: read_only || opts.dry_run,
        force: opts.force,
    };
    let mut certificates = Vec::new();
    for cert in selected {
        let span = tracing::info_span!("certificate", name = %cert.name);
        certificates.push(run.certificate(cert).instrument(span).await);
    }
    let result = RunResult {
        ok: certificates.iter().all(|c| c.status != CertStatus::Failed),
        request_id: invocation.request_id.clone(),
        certificates,
        ..RunResult::default()
    };
    if !run.dry_run {
        crate::notify::send(&config.notify, &result, &run.client).await;
    }
    Ok(result)
}

struct Run<'a> {
    config: &'a Config,
    client: AliyunClient,
    /// The CA: directory, ARI answers (read for deployed certificates on every run).
    acme: Acme,
    crl: crate::crl::Checker,
    /// Opened on the first order only: a run with nothing due creates no key or account.
    account: OnceCell<OpenAccount>,
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
            notes: Vec::new(),
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
        let mut currents: Vec<Option<CertInfo>> = Vec::new();
        let mut windows: Vec<Option<ari::Window>> = Vec::new();
        let mut read_failed = None;
        for (i, target) in targets.iter().enumerate() {
            match target.current().await {
                Ok(current) => {
                    let (reason, window) = match (&current, self.force) {
                        (_, true) => (Some("forced".to_string()), None),
                        (current, false) => {
                            crate::inspect::decide(
                                &self.acme,
                                &self.crl,
                                cert,
                                current.as_ref(),
                                now,
                            )
                            .await
                        }
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
                    currents.push(current);
                    windows.push(window);
                }
                Err(e) => {
                    let mut t =
                        TargetResult::new(target.kind(), target.id(), TargetStatus::Failed, None);
                    t.error = Some(e.report());
                    result.targets.push(t);
                    read_failed.get_or_insert(e);
                    currents.push(None);
                    windows.push(None);
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

        // 2. Order, unless CAS keeps a current certificate from an earlier, partial rollout.
        let first_issue =
            due.len() == targets.len() && result.targets.iter().all(|t| t.serial.is_none());
        let hub = deploy::hub::Hub::new(&self.client, &cert.name, &targets);
        // ARI: name the certificate being replaced (the first due target's, if the CA knows it).
        let replaces = due
            .iter()
            .find(|(i, _)| windows[*i].is_some())
            .and_then(|(i, _)| currents[*i].as_ref())
            .and_then(CertInfo::ari_id);
        let (issued, reused) = match self
            .obtain(cert, &hub, &targets, &currents, replaces, &mut result.notes)
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
                // 4. Every target serves the new serial: drop the copies it superseded.
                let serial = Some(issued.info.serial.as_str());
                if result.targets.iter().all(|t| t.serial.as_deref() == serial) {
                    hub.retire_superseded(&targets, cas.as_ref()).await;
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
        hub: &deploy::hub::Hub<'_>,
        targets: &[Box<dyn Target>],
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
        let opened = self
            .account
            .get_or_try_init(|| self.acme.open(Some(&self.client), true))
            .await?;
        let dns = Alidns::new(self.client.clone(), self.config.dns.ttl);
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
        )
        .await
    }
}

fn fail(mut result: CertResult, e: Error) -> CertResult {
    tracing::error!(error = %e, "certificate failed");
    result.status = CertStatus::Failed;
    result.error = Some(e.report());
    result
}
