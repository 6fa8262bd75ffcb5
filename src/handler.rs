//! The use cases, one per event: renew and status (the pipeline, or a fan-out), issue, revoke,
//! account. Keeps no state of its own.
use crate::acme::Acme;
use crate::config::{CertificateConfig, Config};
use crate::error::{Error, Result};
use crate::event::{Event, RenewOptions};
use crate::pipeline::run_certificates;
use crate::result::{RevokedStatus, RunResult};

pub use crate::invocation::Invocation;

pub async fn handle(config: &Config, event: Event, invocation: &Invocation) -> Result<RunResult> {
    match event {
        Event::Renew(opts) => renew(config, &opts, invocation, false).await,
        Event::Status(opts) => renew(config, &opts, invocation, true).await,
        Event::Report(opts) => report(config, &opts, invocation).await,
        Event::Doctor => Ok(doctor(config, invocation).await),
        Event::Scan { regions } => Ok(scan(config, invocation, regions).await),
        Event::TestNotify => test_notify(config, invocation).await,
        Event::Issue {
            domains,
            targets,
            dry_run,
        } => {
            let cert = crate::issue::certificate(config, &domains, &targets)?;
            // A dry run reads the set's targets and reports would_renew / would_deploy.
            let opts = RenewOptions {
                dry_run,
                on_demand: true,
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
            let client = invocation.aliyun_client(&config.aliyun).await?;
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
                ok: report.revoked.iter().all(|r| {
                    !matches!(r.status, RevokedStatus::Failed | RevokedStatus::NotRevoked)
                }),
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
            let op = crate::acme::account::Op::new(op, email.as_deref(), confirm)?;
            let acme = Acme::new(&config.acme)?;
            // Only kms:/oss:// keys need Alibaba Cloud credentials.
            let client = if crate::acme::needs_aliyun(&config.acme) {
                Some(invocation.aliyun_client(&config.aliyun).await?)
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
    if let Some(groups) = crate::fanout::groups_for(&config.fanout, opts, read_only, &names) {
        let client = invocation.aliyun_client(&config.aliyun).await?;
        return crate::fanout::dispatch(
            &config.fanout,
            &config.source,
            &client,
            opts,
            groups,
            invocation,
        )
        .await;
    }
    run_certificates(config, &selected, opts, invocation, read_only).await
}

/// `{"action":"report"}`: read every selected target (like `status`), then write
/// `report.html` and `status.json` to `[report] bucket` (a dry run only builds them).
async fn report(
    config: &Config,
    opts: &RenewOptions,
    invocation: &Invocation,
) -> Result<RunResult> {
    let started = (time::OffsetDateTime::now_utc(), std::time::Instant::now());
    let result = renew(config, opts, invocation, true).await?;
    let client = invocation.aliyun_client(&config.aliyun).await?;
    let facts = crate::report::RunFacts {
        action: "report",
        started: started.0,
        duration: started.1.elapsed(),
        known: config.certificates.iter().map(|c| c.name.clone()).collect(),
    };
    if opts.dry_run {
        crate::report::document(&config.report, &client, &result, &facts).await?;
    } else {
        crate::report::publish(&config.report, &client, &result, &facts).await?;
    }
    Ok(result)
}

async fn test_notify(config: &Config, invocation: &Invocation) -> Result<RunResult> {
    let client = invocation.aliyun_client(&config.aliyun).await?;
    crate::notify::send_test(&config.notify, &config.report, &client).await?;
    Ok(RunResult {
        ok: true,
        request_id: invocation.request_id.clone(),
        ..RunResult::default()
    })
}

async fn doctor(config: &Config, invocation: &Invocation) -> RunResult {
    let report = crate::doctor::run(config, invocation).await;
    RunResult {
        ok: report.ok,
        request_id: invocation.request_id.clone(),
        doctor: Some(report),
        ..RunResult::default()
    }
}

async fn scan(
    config: &Config,
    invocation: &Invocation,
    regions: Vec<crate::ident::RegionId>,
) -> RunResult {
    let options = crate::scan::Options { regions };
    // Boxed as Send here: the scan's listings are closures over borrowed jobs, and the
    // server's handler future must be Send for every lifetime.
    let work: futures_util::future::BoxFuture<'_, crate::scan::ScanReport> =
        Box::pin(crate::scan::run(config, invocation, &options));
    let report = work.await;
    RunResult {
        // A scan that could not read everything still returned what it read.
        ok: report.complete,
        request_id: invocation.request_id.clone(),
        scan: Some(report),
        ..RunResult::default()
    }
}
