//! The pipeline's two edges to the outside that decide its path: the CA (ordering) and the
//! due decision (expiry, CRL, ARI). Real implementations below; tests bring fakes.
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
}

impl<'a> AcmeIssuer<'a> {
    pub fn new(
        acme: &'a Acme,
        client: &'a AliyunClient,
        dns_config: &'a DnsConfig,
        budget: Budget,
    ) -> Self {
        AcmeIssuer {
            acme,
            client,
            dns: Alidns::new(client.clone(), dns_config.ttl)
                .with_max_concurrent_calls(dns_config.max_concurrent_calls),
            dns_config,
            budget,
            account: OnceCell::new(),
        }
    }

    async fn account(&self) -> Result<&OpenAccount> {
        let open = self.acme.open(Some(self.client), true);
        self.budget
            .within(RESERVE, self.account.get_or_try_init(|| open), || {
                Error::Acme("opening the ACME account ran into the deadline".into())
            })
            .await
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
        let opened = self.account().await?;
        let settings = DnsSettings {
            resolvers: self.dns_config.resolvers().map_err(Error::Config)?,
            propagation_timeout: Duration::from_secs(self.dns_config.propagation_timeout_secs),
            sweep_grace: Duration::from_secs(self.dns_config.sweep_grace_secs),
        };
        let acme_config = &self.acme.config;
        let profile = either(&cert.profile, &acme_config.profile);
        let preferred = either(&cert.preferred_chain, &acme_config.preferred_chain);
        let options = OrderOptions {
            key_type: cert.key_type,
            key: request.key,
            profile: profile.as_deref(),
            replaces: request.replaces,
            preferred_chain: preferred.as_deref(),
        };
        let dns = self.dns.for_certificate(&cert.name);
        order::issue(
            self.acme,
            &opened.account,
            &cert.domains,
            options,
            &dns,
            &settings,
            self.budget.deadline(),
        )
        .await
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
