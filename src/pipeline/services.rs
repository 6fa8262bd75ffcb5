//! The pipeline's two edges to the outside that decide its path: the CA (ordering) and the
//! due decision (expiry, CRL, ARI). Real implementations below; tests bring fakes.
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use instant_acme::CertificateIdentifier;
use time::OffsetDateTime;
use tokio::sync::OnceCell;

use crate::acme::ari::Window;
use crate::acme::order::{self, DnsSettings, Issued, OrderOptions};
use crate::acme::{Acme, OpenAccount};
use crate::aliyun::AliyunClient;
use crate::budget::{Budget, RESERVE};
use crate::cert::CertInfo;
use crate::config::CertificateConfig;
use crate::dns::alidns::Alidns;
use crate::dns::DnsConfig;
use crate::error::{Error, Result};
use crate::plan::DueReason;

/// What an order needs beyond the certificate's own settings.
#[derive(Default)]
pub struct OrderRequest {
    /// ARI: the certificate being replaced.
    pub replaces: Option<CertificateIdentifier<'static>>,
    /// `reuse_key`: the key to certify again.
    pub key: Option<rcgen::KeyPair>,
}

/// Orders certificates.
#[async_trait]
pub trait Issuer: Send + Sync {
    async fn issue(&self, cert: &CertificateConfig, request: OrderRequest) -> Result<Issued>;
    /// `[acme] rehearse_on_staging`: the same order from the staging CA, nothing deployed.
    /// `Ok(false)` when rehearsals are off.
    async fn rehearse(&self, cert: &CertificateConfig) -> Result<bool>;
    /// Get ready for an order of `cert` that is likely to follow (find its zones), while the
    /// caller takes the lock. Best effort: `issue` does whatever this did not.
    async fn prepare_dns(&self, _cert: &CertificateConfig) {}
    /// Open the CA account ahead of an order (best effort, as `prepare_dns`).
    async fn prepare_account(&self) {}
}

/// Decides whether what a target serves is due.
#[async_trait]
pub trait Inspector: Send + Sync {
    async fn decide(
        &self,
        cert: &CertificateConfig,
        current: Option<&CertInfo>,
        now: OffsetDateTime,
    ) -> (Option<DueReason>, Option<Window>);
}

/// The CA over ACME, with DNS-01 through Alidns. The account is opened on the first order
/// only: a run with nothing due creates no key or account.
pub struct AcmeIssuer<'a> {
    pub acme: &'a Acme,
    pub client: &'a AliyunClient,
    /// Shared by all orders of the invocation: zones listed once, Alidns calls bounded.
    pub dns: Alidns,
    pub dns_config: &'a DnsConfig,
    pub budget: Budget,
    account: OnceCell<OpenAccount>,
    /// The staging CA and its throwaway account, made on the first rehearsal.
    staging: OnceCell<(Acme, instant_acme::Account)>,
    /// Why opening the account failed, once it did: later orders of the run fail with it
    /// instead of trying again, so a run never makes more than one newAccount attempt (FC's
    /// egress addresses are shared, and Let's Encrypt allows 10 new accounts per IP per 3 h).
    open_failed: std::sync::Mutex<Option<Error>>,
    /// Told once the account is open (the run's cleanup of orphaned dns-persist-01 records
    /// waits for it, beside the orders).
    opened: tokio::sync::Notify,
}

impl<'a> AcmeIssuer<'a> {
    pub fn new(
        acme: &'a Acme,
        client: &'a AliyunClient,
        dns_config: &'a DnsConfig,
        zones: &[crate::dns::ZoneConfig],
        budget: Budget,
    ) -> Self {
        AcmeIssuer {
            acme,
            client,
            dns: Alidns::new(client.clone(), dns_config.ttl)
                .with_max_concurrent_calls(dns_config.max_concurrent_calls)
                .with_sweep_grace(Duration::from_secs(dns_config.sweep_grace_secs))
                .with_zone_roles(zones),
            dns_config,
            budget,
            account: OnceCell::new(),
            staging: OnceCell::new(),
            open_failed: std::sync::Mutex::new(None),
            opened: tokio::sync::Notify::new(),
        }
    }

    /// Resolves once an order of this run has opened the account.
    pub async fn account_opened(&self) {
        if self.account.get().is_none() {
            self.opened.notified().await;
        }
    }

    async fn account(&self) -> Result<&OpenAccount> {
        let failed = || {
            let earlier = self.open_failed.lock().unwrap_or_else(|e| e.into_inner());
            earlier.as_ref().map(Error::again)
        };
        let open = || async {
            if let Some(e) = failed() {
                return Err(e);
            }
            let opened = self
                .budget
                .within(RESERVE, self.acme.open(Some(self.client), true), || {
                    Error::Acme("opening the ACME account ran into the deadline".into())
                })
                .await;
            if let Err(e) = &opened {
                *self.open_failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.again());
            }
            opened
        };
        let opened = self.account.get_or_try_init(open).await;
        if opened.is_ok() {
            self.opened.notify_one();
        }
        opened
    }
}

/// The certificate's setting, else the `[acme]` one; empty counts as unset.
fn either(own: &Option<String>, global: &Option<String>) -> Option<String> {
    let set = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    set(own).or(set(global))
}

#[async_trait]
impl Issuer for AcmeIssuer<'_> {
    async fn issue(&self, cert: &CertificateConfig, request: OrderRequest) -> Result<Issued> {
        let mark = self.acme.http().tap().mark();
        let opened = self
            .account()
            .await
            .map_err(|e| self.acme.rate_limited(e, mark))?;
        let settings = self.dns_settings()?;
        let acme_config = &self.acme.config;
        let profile = either(&cert.profile, &acme_config.profile);
        let preferred = either(&cert.preferred_chain, &acme_config.preferred_chain);
        let options = OrderOptions {
            key_type: cert.key_type,
            key: request.key,
            profile: profile.as_deref(),
            replaces: request.replaces,
            preferred_chain: preferred.as_deref(),
            manage_caa: cert.caa == Some(crate::dns::caa::CaaMode::Manage),
            challenge: cert.challenge,
            challenge_alias: cert.challenge_alias.as_deref(),
        };
        let dns = Arc::new(self.dns.for_certificate(&cert.name));
        order::issue(
            self.acme,
            &opened.account,
            &cert.domains,
            options,
            dns,
            &settings,
            self.budget.deadline(),
        )
        .await
        .map_err(|e| self.acme.rate_limited(e, mark))
    }

    async fn prepare_dns(&self, cert: &CertificateConfig) {
        let dns = self.dns.for_certificate(&cert.name);
        order::prepare_dns(&dns, &cert.domains).await;
    }

    async fn prepare_account(&self) {
        if let Err(e) = self.account().await {
            tracing::debug!(error = %e, "opening the account ahead of the order failed");
        }
    }

    async fn rehearse(&self, cert: &CertificateConfig) -> Result<bool> {
        if !self.acme.config.rehearse_on_staging {
            return Ok(false);
        }
        let (staging, account) = self
            .staging
            .get_or_try_init(|| async {
                let staging = self.acme.staging()?;
                let account = staging.throwaway_account().await?;
                Ok::<_, Error>((staging, account))
            })
            .await?;
        tracing::info!(staging = %staging.url, "rehearsing the order on the staging CA after the last failure");
        let settings = self.dns_settings()?;
        let profile = either(&cert.profile, &self.acme.config.profile);
        let options = OrderOptions {
            key_type: cert.key_type,
            key: None,
            profile: profile.as_deref(),
            replaces: None,
            preferred_chain: None,
            manage_caa: false,
            // The staging account differs: a persist record bound to it would be rewritten
            // back and forth; the rehearsal proves with fresh dns-01 records instead.
            challenge: order::Challenge::Dns01,
            challenge_alias: cert.challenge_alias.as_deref(),
        };
        let dns = Arc::new(self.dns.for_certificate(&cert.name));
        let issued = order::issue(
            staging,
            account,
            &cert.domains,
            options,
            dns,
            &settings,
            self.budget.deadline(),
        )
        .await?;
        issued.cleanup.run().await;
        tracing::info!("rehearsal on staging succeeded; ordering from production");
        Ok(true)
    }
}

impl AcmeIssuer<'_> {
    /// Once the run opened the account (beside its orders): delete alicert's dns-persist-01 records of certificates no longer
    /// in `configured` that bind this run's account. Only when the run opened the account
    /// (it ordered something): the account URL is what tells this deployment's records from
    /// another's, and a run with nothing due makes no ACME call to learn it.
    pub async fn remove_persist_orphans(&self, certificates: &[CertificateConfig]) {
        let Some(opened) = self.account.get() else {
            return;
        };
        let configured: Vec<String> = certificates.iter().map(|c| c.name.clone()).collect();
        let domains: Vec<String> = certificates
            .iter()
            .flat_map(|c| c.domains.iter().cloned())
            .collect();
        let work = order::remove_orphans(&self.dns, &configured, &domains, opened.account.id());
        let outcome = self
            .budget
            .within(RESERVE, work, || {
                Error::Dns("the deadline came first; the next run goes on".into())
            })
            .await;
        match outcome {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                deleted = n,
                "removed dns-persist-01 records of certificates no longer configured"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "could not remove the dns-persist-01 records of certificates no longer configured")
            }
        }
    }

    fn dns_settings(&self) -> Result<DnsSettings> {
        Ok(DnsSettings {
            resolvers: self.dns_config.resolvers().map_err(Error::Config)?,
            propagation_timeout: Duration::from_secs(self.dns_config.propagation_timeout_secs),
            sweep_grace: Duration::from_secs(self.dns_config.sweep_grace_secs),
        })
    }
}

/// Expiry and domains (no I/O), then the issuer's CRL and the CA's ARI window.
pub struct CaInspector<'a> {
    pub acme: &'a Acme,
    pub crl: crate::crl::Checker,
}

#[async_trait]
impl Inspector for CaInspector<'_> {
    async fn decide(
        &self,
        cert: &CertificateConfig,
        current: Option<&CertInfo>,
        now: OffsetDateTime,
    ) -> (Option<DueReason>, Option<Window>) {
        crate::inspect::decide(self.acme, &self.crl, cert, current, now).await
    }
}
