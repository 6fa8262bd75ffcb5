//! The pipeline's steps with fake targets, a fake CA and the pure due decision: no network.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use time::OffsetDateTime;

use super::*;
use crate::acme::ari::Window;
use crate::acme::order::Issued;
use crate::aliyun::{AliyunClient, Credentials};
use crate::budget::Budget;
use crate::cert::CertInfo;
use crate::config::CertificateConfig;
use crate::deploy::kinds::TargetKind;
use crate::deploy::{Capabilities, Caps, Configured, NewCert, Target, TargetId};
use crate::error::{Error, Result};
use crate::plan::DueReason;
use crate::result::{CertStatus, TargetStatus, NOT_ATTEMPTED};
use crate::secret::Secret;

/// A self-signed 90-day certificate for `domains` with `days` left.
fn certificate(domains: &[&str], days: i64) -> (String, CertInfo) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params =
        rcgen::CertificateParams::new(domains.iter().map(|d| d.to_string()).collect::<Vec<_>>())
            .unwrap();
    let now = OffsetDateTime::now_utc();
    params.not_after = now + time::Duration::days(days);
    params.not_before = params.not_after - time::Duration::days(90);
    let pem = params.self_signed(&key).unwrap().pem();
    let info = CertInfo::from_pem(&pem).unwrap();
    (pem, info)
}

/// A target that serves what was last deployed to it; `fail_deploy` makes deploys fail.
struct FakeTarget {
    id: &'static str,
    serving: Arc<Mutex<Option<CertInfo>>>,
    fail_deploy: bool,
    deploys: Arc<AtomicUsize>,
}

#[async_trait]
impl Target for FakeTarget {
    fn id(&self) -> TargetId {
        TargetId::new(TargetKind::Cdn, self.id)
    }
    async fn current(&self) -> Result<Option<CertInfo>> {
        Ok(self.serving.lock().unwrap().clone())
    }
    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()> {
        self.deploys.fetch_add(1, Ordering::SeqCst);
        if self.fail_deploy {
            return Err(Error::Deploy(format!(
                "{} refused the certificate",
                self.id
            )));
        }
        *self.serving.lock().unwrap() = Some(cert.info.clone());
        Ok(())
    }
}

impl Capabilities for FakeTarget {
    fn capabilities(&self) -> Caps<'_> {
        Caps::NONE
    }
}

/// A CA that signs anything at once and counts its orders.
#[derive(Default)]
struct FakeIssuer {
    orders: AtomicUsize,
}

#[async_trait]
impl Issuer for FakeIssuer {
    async fn issue(&self, cert: &CertificateConfig, _: OrderRequest) -> Result<Issued> {
        self.orders.fetch_add(1, Ordering::SeqCst);
        let domains: Vec<&str> = cert.domains.iter().map(String::as_str).collect();
        let (pem, info) = certificate(&domains, 90);
        Ok(Issued {
            fullchain: pem,
            private_key: Secret::new("unused".to_string()),
            info,
            notes: Vec::new(),
            cleanup: crate::acme::order::Cleanup::none(),
        })
    }

    async fn rehearse(&self, _: &CertificateConfig) -> Result<bool> {
        Ok(false)
    }
}

/// The pure decision (expiry and domains), no CRL or ARI.
struct DaysOnly;

#[async_trait]
impl Inspector for DaysOnly {
    async fn decide(
        &self,
        cert: &CertificateConfig,
        current: Option<&CertInfo>,
        now: OffsetDateTime,
    ) -> (Option<DueReason>, Option<Window>) {
        (
            crate::plan::due_reason(current, &cert.domains, 30, now),
            None,
        )
    }
}

struct Bench {
    client: AliyunClient,
    issuer: FakeIssuer,
    serving: Vec<Arc<Mutex<Option<CertInfo>>>>,
    deploys: Arc<AtomicUsize>,
}

impl Bench {
    /// Targets serving certificates valid for `days[i]` days (None: nothing).
    fn new(days: &[Option<i64>]) -> Bench {
        let credentials = Credentials {
            access_key_id: "unused".into(),
            access_key_secret: Secret::new("unused".to_string()),
            security_token: None,
        };
        // Nothing here talks to Alibaba Cloud (fake targets, no CAS, no locks): an endpoint
        // that refuses connections makes any call that slipped through fail loudly.
        let endpoints: BTreeMap<String, String> = crate::aliyun::Product::codes()
            .iter()
            .map(|c| (c.to_string(), "http://127.0.0.1:9".to_string()))
            .collect();
        let serving = days
            .iter()
            .map(|d| {
                Arc::new(Mutex::new(
                    d.map(|d| certificate(&["www.example.com"], d).1),
                ))
            })
            .collect();
        Bench {
            client: AliyunClient::new(credentials, "cn-hangzhou", &endpoints).unwrap(),
            issuer: FakeIssuer::default(),
            serving,
            deploys: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn targets(&self, failing: &[usize]) -> Vec<Configured> {
        const IDS: [&str; 3] = ["a.example.com", "b.example.com", "c.example.com"];
        self.serving
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let fake = FakeTarget {
                    id: IDS[i],
                    serving: s.clone(),
                    fail_deploy: failing.contains(&i),
                    deploys: self.deploys.clone(),
                };
                Configured::new(Box::new(fake), None)
            })
            .collect()
    }

    async fn run(
        &self,
        settings: RunSettings,
        budget: Budget,
        failing: &[usize],
    ) -> crate::result::CertResult {
        let run = Run::new(settings, &self.client, &self.issuer, &DaysOnly, budget);
        let cert = CertificateConfig {
            name: "www".into(),
            domains: vec!["www.example.com".into()],
            ..CertificateConfig::default()
        };
        super::certificate::CertificateRun::new(&run, &cert)
            .run(Ok(self.targets(failing)))
            .await
    }

    fn orders(&self) -> usize {
        self.issuer.orders.load(Ordering::SeqCst)
    }
}

fn renew() -> RunSettings {
    RunSettings {
        dry_run: false,
        force: false,
        renew_before_days: 30,
        lock_ttl: Duration::from_secs(600),
    }
}

#[tokio::test]
async fn nothing_due_orders_nothing_and_reports_the_served_serial() {
    let bench = Bench::new(&[Some(80), Some(80)]);
    let r = bench.run(renew(), Budget::unlimited(), &[]).await;
    assert_eq!(r.status, CertStatus::UpToDate);
    assert_eq!(bench.orders(), 0);
    assert_eq!(r.serial, r.targets[0].serial);
    assert!(r.reason.is_none(), "{:?}", r.reason);
}

#[tokio::test]
async fn only_due_targets_get_the_new_certificate_and_each_is_verified() {
    let bench = Bench::new(&[Some(80), Some(10), None]);
    let r = bench.run(renew(), Budget::unlimited(), &[]).await;
    assert_eq!(r.status, CertStatus::Renewed, "{:?}", r.error);
    assert_eq!(bench.orders(), 1);
    assert_eq!(bench.deploys.load(Ordering::SeqCst), 2);
    let statuses: Vec<TargetStatus> = r.targets.iter().map(|t| t.status).collect();
    assert_eq!(
        statuses,
        [
            TargetStatus::UpToDate,
            TargetStatus::Deployed,
            TargetStatus::Deployed
        ]
    );
    assert_eq!(r.targets[1].serial, r.serial);
    assert_eq!(r.targets[2].serial, r.serial);
    assert_ne!(
        r.targets[0].serial, r.serial,
        "the up-to-date target keeps its own"
    );
    let reason = r.reason.unwrap();
    assert!(reason.contains("cdn b.example.com: expires in"), "{reason}");
    assert!(
        reason.contains("cdn c.example.com: missing on target"),
        "{reason}"
    );
    assert!(!reason.contains("a.example.com"), "{reason}");
}

#[tokio::test]
async fn a_first_issue_is_issued_not_renewed() {
    let bench = Bench::new(&[None, None]);
    let r = bench.run(renew(), Budget::unlimited(), &[]).await;
    assert_eq!(r.status, CertStatus::Issued);
}

#[tokio::test]
async fn one_failed_deploy_fails_the_certificate_and_the_others_still_deploy() {
    let bench = Bench::new(&[None, None]);
    let r = bench.run(renew(), Budget::unlimited(), &[0]).await;
    assert_eq!(r.status, CertStatus::Failed);
    assert_eq!(r.targets[0].status, TargetStatus::Failed);
    assert!(r.targets[0]
        .error
        .as_ref()
        .unwrap()
        .message
        .contains("refused"));
    assert_eq!(r.targets[1].status, TargetStatus::Deployed);
    assert!(
        r.serial.is_some(),
        "the issued serial is reported even on failure"
    );
    assert!(r.error.unwrap().message.contains("a.example.com refused"));
}

#[tokio::test]
async fn a_dry_run_reports_what_would_change_and_changes_nothing() {
    let bench = Bench::new(&[Some(10)]);
    let r = bench
        .run(
            RunSettings {
                dry_run: true,
                ..renew()
            },
            Budget::unlimited(),
            &[],
        )
        .await;
    assert_eq!(r.status, CertStatus::WouldRenew);
    assert_eq!(r.targets[0].status, TargetStatus::WouldDeploy);
    assert_eq!(
        (bench.orders(), bench.deploys.load(Ordering::SeqCst)),
        (0, 0)
    );
}

#[tokio::test]
async fn force_renews_what_is_not_due() {
    let bench = Bench::new(&[Some(80)]);
    let r = bench
        .run(
            RunSettings {
                force: true,
                ..renew()
            },
            Budget::unlimited(),
            &[],
        )
        .await;
    assert_eq!(r.status, CertStatus::Renewed);
    assert!(r.reason.unwrap().contains("forced"));
}

#[tokio::test]
async fn a_near_deadline_starts_nothing_and_says_so() {
    let bench = Bench::new(&[Some(10)]);
    let near = Budget::until(Some(Instant::now() + Duration::from_secs(3)));
    let r = bench.run(renew(), near, &[]).await;
    assert_eq!(r.status, CertStatus::Failed);
    let error = r.error.unwrap();
    assert_eq!(error.code, NOT_ATTEMPTED);
    assert!(error.message.contains("not started"), "{}", error.message);
    assert_eq!(bench.orders(), 0);
    // Enough time to read, not to order (the first order is estimated at 15 s).
    let some = Budget::until(Some(Instant::now() + Duration::from_secs(10)));
    let r = bench.run(renew(), some, &[]).await;
    assert!(r.error.unwrap().message.contains("not ordered"));
    assert_eq!(
        r.targets[0].status,
        TargetStatus::WouldDeploy,
        "the reading is reported"
    );
    assert_eq!(bench.orders(), 0);
}

#[tokio::test]
async fn drift_by_name_waits_for_its_own_dates_and_drift_by_names_renews_as_usual() {
    use crate::result::DriftAction;
    let bench = Bench::new(&[Some(80), Some(80)]);
    // Both serve someone's certificate for other names (so "domains changed" by the usual
    // rule); the first under a name its service reports, the second with none.
    let mut named = certificate(&["legacy.example.com"], 80).1;
    named.deployed_as = Some("console-upload".into());
    *bench.serving[0].lock().unwrap() = Some(named.clone());
    *bench.serving[1].lock().unwrap() = Some(certificate(&["legacy.example.com"], 80).1);
    let r = bench.run(renew(), Budget::unlimited(), &[]).await;
    assert_eq!(r.status, CertStatus::Renewed, "{:?}", r.error);
    let (kept, renewed) = (&r.targets[0], &r.targets[1]);
    assert_eq!(kept.status, TargetStatus::UpToDate);
    assert_eq!(kept.serial.as_deref(), Some(named.serial.as_str()));
    let d = kept.drift.as_ref().expect("drift on the named target");
    assert_eq!(d.action, DriftAction::Skipped);
    assert_eq!(d.deployed_as.as_deref(), Some("console-upload"));
    assert_eq!(renewed.status, TargetStatus::Deployed);
    assert_eq!(
        renewed.drift.as_ref().map(|d| d.action),
        Some(DriftAction::Replaced)
    );
    assert_eq!(bench.deploys.load(Ordering::SeqCst), 1);
    let reason = r.reason.unwrap();
    assert!(
        reason.contains("b.example.com: domains changed") && !reason.contains("a.example.com"),
        "{reason}"
    );
}
