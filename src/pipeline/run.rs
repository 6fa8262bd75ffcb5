//! What the certificates of one invocation share, and the loop that walks each of them through
//! the pipeline (at most `[acme] max_concurrent_orders` at once, results in config order).
use std::sync::Mutex;
use std::time::Duration;

use futures_util::StreamExt;
use time::OffsetDateTime;
use tracing::Instrument;

use super::services::{AcmeIssuer, CaInspector, Inspector, Issuer};
use crate::acme::Acme;
use crate::aliyun::AliyunClient;
use crate::backoff::States;
use crate::budget::Budget;
use crate::config::{CertificateConfig, Config};
use crate::error::Result;
use crate::event::RenewOptions;
use crate::invocation::Invocation;
use crate::lock::Locks;
use crate::result::{CertResult, RunResult};

/// What an order is assumed to take before one has been timed in this run.
const MIN_ORDER_ESTIMATE: Duration = Duration::from_secs(15);

/// The run's choices.
#[derive(Debug, Clone, Copy)]
pub struct RunSettings {
    /// Read and report only (`status`, `dry_run`).
    pub dry_run: bool,
    /// Every target is due (`force`).
    pub force: bool,
    /// `[acme] renew_before_days`, for the CAS copy of a partial rollout.
    pub renew_before_days: u32,
    /// `[lock] ttl_secs`: a lock's life when the invocation has no deadline.
    pub lock_ttl: Duration,
}

/// Shared by every certificate of one invocation.
pub struct Run<'a> {
    pub settings: RunSettings,
    pub client: &'a AliyunClient,
    pub issuer: &'a dyn Issuer,
    pub inspector: &'a dyn Inspector,
    /// Per-certificate locks in OSS (None: no lock bucket known, or nothing will change).
    pub locks: Option<Locks>,
    /// Failure memory beside the locks (None without a lock bucket: no backoff).
    pub states: Option<States>,
    /// A digest of the run-wide settings an order depends on (`[acme]`, `[dns]`,
    /// `[aliyun]`): changing any of them, like changing the certificate, ends its backoff.
    pub context: String,
    pub budget: Budget,
    /// The CAS uploads listed in this run, shared by its certificates.
    pub(crate) cas_uploads: crate::deploy::cas::Uploads,
    /// The longest order so far in this run: the estimate for the next one.
    slowest_order: Mutex<Duration>,
}

impl<'a> Run<'a> {
    pub fn new(
        settings: RunSettings,
        client: &'a AliyunClient,
        issuer: &'a dyn Issuer,
        inspector: &'a dyn Inspector,
        budget: Budget,
    ) -> Self {
        Run {
            settings,
            client,
            issuer,
            inspector,
            locks: None,
            states: None,
            context: String::new(),
            budget,
            cas_uploads: Default::default(),
            slowest_order: Mutex::new(Duration::ZERO),
        }
    }

    pub fn with_locks(mut self, locks: Option<Locks>) -> Self {
        self.locks = locks;
        self
    }

    pub fn with_states(mut self, states: Option<States>, context: String) -> Self {
        self.states = states;
        self.context = context;
        self
    }

    pub(super) fn order_estimate(&self) -> Duration {
        let slowest = *self.slowest_order.lock().unwrap_or_else(|e| e.into_inner());
        slowest.max(MIN_ORDER_ESTIMATE)
    }

    pub(super) fn order_took(&self, took: Duration) {
        let mut slowest = self.slowest_order.lock().unwrap_or_else(|e| e.into_inner());
        *slowest = (*slowest).max(took);
    }

    /// When this run's lock on a certificate expires, in unix seconds: a minute after the
    /// deadline (the owner is dead by then), else after `[lock] ttl_secs`.
    pub(super) fn lock_expiry(&self) -> i64 {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let life = match self.budget.left() {
            Some(left) => left + Duration::from_secs(60),
            None => self.settings.lock_ttl,
        };
        // Checked: `[lock] ttl_secs` is any u64 the config holds.
        now.saturating_add(i64::try_from(life.as_secs()).unwrap_or(i64::MAX))
    }

    /// One certificate through the pipeline: build its targets (listing the domains of each
    /// `domains = "covered"` table), then the steps.
    pub async fn certificate(&self, cert: &CertificateConfig) -> CertResult {
        let built =
            crate::deploy::build_all(&cert.targets, &cert.name, &cert.domains, self.client).await;
        let (built, notes) = match built {
            Ok(e) => (Ok(e.targets), e.notes),
            Err(e) => (Err(e), Vec::new()),
        };
        super::certificate::CertificateRun::new(self, cert)
            .noting(notes)
            .run(built)
            .await
    }
}

/// The lock owner written into lock objects: the request id and a random suffix.
fn lock_owner(invocation: &Invocation) -> String {
    let suffix = hex::encode(rand::random::<[u8; 4]>());
    format!("{}/{suffix}", invocation.request_id)
}

fn locks_for(
    config: &Config,
    client: &AliyunClient,
    dry_run: bool,
    invocation: &Invocation,
) -> Option<Locks> {
    match config.lock.location(&config.acme.account_key) {
        Some(location) if !dry_run => {
            Some(Locks::new(client.clone(), location, lock_owner(invocation)))
        }
        Some(_) => None,
        None => {
            if !dry_run {
                tracing::info!("no lock bucket ([lock] bucket, or an oss:// account key): concurrent runs are not excluded");
            }
            None
        }
    }
}

/// Each certificate through the pipeline (results in config order) and, when `cleanup`, beside
/// them the removal of orphaned dns-persist-01 records.
async fn orders_and_orphans(
    run: &Run<'_>,
    issuer: &AcmeIssuer<'_>,
    certificates: &[&CertificateConfig],
    config: &Config,
    cleanup: bool,
) -> Vec<CertResult> {
    // Orders spend most of their time waiting on DNS and the CA, so certificates run
    // concurrently; `buffered` keeps the results in config order. (The futures are built
    // first: a closure inside the stream trips rustc's Send inference.)
    let pending: Vec<_> = certificates
        .iter()
        .map(|cert| {
            let span = tracing::info_span!("certificate", name = %cert.name);
            run.certificate(cert).instrument(span)
        })
        .collect();
    let orders_done = tokio::sync::Notify::new();
    let orders = async {
        let results: Vec<CertResult> = futures_util::stream::iter(pending)
            .buffered(config.acme.max_concurrent_orders.max(1))
            .collect()
            .await;
        orders_done.notify_one();
        results
    };
    // The records of certificates no longer configured are independent of the orders: their
    // cleanup starts as soon as the account is known, not after the last deploy.
    let orphans = async {
        if !cleanup {
            return;
        }
        tokio::select! {
            () = issuer.account_opened() => {}
            () = orders_done.notified() => {}
        }
        issuer.remove_persist_orphans(&config.certificates).await;
    };
    let (results, ()) = tokio::join!(orders, orphans);
    results
}

/// Read, decide, order and deploy each of `certificates` (one result each, in order).
pub async fn run_certificates(
    config: &Config,
    certificates: &[&CertificateConfig],
    opts: &RenewOptions,
    invocation: &Invocation,
    read_only: bool,
) -> Result<RunResult> {
    let client = invocation.aliyun_client(&config.aliyun).await?;
    let started = (OffsetDateTime::now_utc(), std::time::Instant::now());
    let settings = RunSettings {
        dry_run: read_only || opts.dry_run,
        force: opts.force,
        renew_before_days: config.acme.renew_before_days,
        lock_ttl: Duration::from_secs(config.lock.ttl_secs),
    };
    let budget = invocation.budget();
    let acme = Acme::new(&config.acme)?;
    let issuer = AcmeIssuer::new(&acme, &client, &config.dns, &config.zones, budget);
    let inspector = CaInspector {
        acme: &acme,
        crl: crate::crl::Checker::default(),
    };
    // Read even by dry runs (they report `backing_off`); written only after an attempt.
    let states = match opts.on_demand {
        true => None,
        false => config
            .lock
            .location(&config.acme.account_key)
            .map(|l| States::new(client.clone(), &l)),
    };
    let run = Run::new(settings, &client, &issuer, &inspector, budget)
        .with_locks(locks_for(config, &client, settings.dry_run, invocation))
        .with_states(
            states,
            crate::backoff::fingerprint(&(&config.acme, &config.dns, &config.aliyun)),
        );
    let cleanup = !settings.dry_run && !opts.on_demand;
    let results = orders_and_orphans(&run, &issuer, certificates, config, cleanup).await;
    let result = RunResult {
        // A certificate backing off is still broken: the run is not ok until it renews.
        ok: results.iter().all(|c| !c.status.is_failing()),
        request_id: invocation.request_id.clone(),
        certificates: results,
        ..RunResult::default()
    };
    crate::report::summary::log(&result);
    if !settings.dry_run {
        let facts = crate::report::RunFacts {
            action: "renew",
            started: started.0,
            duration: started.1.elapsed(),
            known: config.certificates.iter().map(|c| c.name.clone()).collect(),
        };
        // The report first, so that the messages can link to it.
        let written = crate::report::after_run(&config.report, &client, &result, &facts).await;
        let link = written
            .then(|| crate::report::link(&config.report, &client))
            .flatten();
        crate::notify::send(&config.notify, &result, &client, link).await;
        crate::metrics::send(&config.metrics, &client, &result).await;
    }
    Ok(result)
}
