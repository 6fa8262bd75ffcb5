//! One ACME order per certificate, proven with DNS-01, in named steps: create the order
//! (`create.rs`: with `replaces` under ARI, `profile` when asked), find the pending
//! challenges (`authz.rs`), publish every TXT record and wait for propagation once
//! (`dns01.rs`), answer every challenge, wait for validation, finalize with a fresh key unless
//! one is reused and download the chain (`finalize.rs`), pick a preferred alternate chain
//! (`../chain.rs`). The TXT records created here are deleted when the order ends, whatever
//! the outcome.
use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use instant_acme::{Account, CertificateIdentifier, Order};

use super::Acme;

use crate::acme::KeyType;
use crate::cert::CertInfo;
use crate::dns::{DnsProvider, TxtRecord};
use crate::error::{Error, Result};
use crate::secret::Secret;

mod authz;
mod create;
mod dns01;
mod finalize;

/// What an order produced.
pub struct Issued {
    /// Leaf first, then the intermediates, PEM.
    pub fullchain: String,
    pub private_key: Secret,
    pub info: CertInfo,
    /// What the caller should know (a CA that ignored `replaces`, an unmet chain preference).
    pub notes: Vec<String>,
}

/// How to order, beyond the names.
pub struct OrderOptions<'a> {
    pub key_type: KeyType,
    /// The key to certify instead of a new one (`reuse_key`).
    pub key: Option<rcgen::KeyPair>,
    pub profile: Option<&'a str>,
    /// ARI: the certificate this order replaces.
    pub replaces: Option<CertificateIdentifier<'static>>,
    /// Issuer common name of the chain to prefer.
    pub preferred_chain: Option<&'a str>,
}

pub struct DnsSettings {
    /// Where to check propagation; empty = the zones' authoritative name servers.
    pub resolvers: Vec<SocketAddr>,
    pub propagation_timeout: Duration,
    /// Marked TXT records older than this are a crashed run's leftovers (swept per zone).
    pub sweep_grace: Duration,
}

/// Time kept back from the deadline for deleting the TXT records after an order is cut short.
const CLEANUP_RESERVE: Duration = Duration::from_secs(3);

/// Place and complete one order. With a `deadline`, the order is abandoned early enough that
/// its TXT records can still be deleted before it.
pub async fn issue(
    acme: &Acme,
    account: &Account,
    domains: &[String],
    mut options: OrderOptions<'_>,
    dns: &dyn DnsProvider,
    settings: &DnsSettings,
    deadline: Option<Instant>,
) -> Result<Issued> {
    let started = Instant::now();
    let key = match options.key.take() {
        Some(k) => k,
        None => crate::acme::generate_certificate_key(options.key_type)?,
    };
    let mut notes = Vec::new();
    if let Some(profile) = options.profile {
        acme.directory().await?.check_profile(profile, &acme.url)?;
    }
    let mut order = create::new_order(account, domains, &options, &mut notes).await?;
    tracing::info!(order = order.url(), domains = ?domains, profile = options.profile.unwrap_or("-"), "ACME order created");

    let pending = authz::pending_challenges(&mut order).await?;
    let mut created: Vec<TxtRecord> = Vec::new();
    let work = prove_and_finalize(
        &mut order,
        &pending,
        &mut created,
        domains,
        &key,
        dns,
        settings,
    );
    let outcome = before_deadline(work, deadline, started).await;
    // Cleanup runs on success and on every failure above, a cut-short order included.
    dns01::clean_up(dns, &created).await;
    let fullchain = outcome?;
    let fullchain = match options.preferred_chain {
        Some(preferred) => {
            let chosen = choose_chain(acme, account, &mut order, fullchain, preferred).await;
            notes.extend(chosen.note);
            chosen.fullchain
        }
        None => fullchain,
    };
    let issued = Issued {
        info: CertInfo::from_pem(&fullchain)?,
        fullchain,
        private_key: Secret::new(key.serialize_pem()),
        notes,
    };
    tracing::info!(
        serial = %issued.info.serial,
        not_after = %issued.info.not_after_rfc3339(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "certificate issued"
    );
    Ok(issued)
}

/// `work`, cut short [`CLEANUP_RESERVE`] before `deadline`.
async fn before_deadline<T>(
    work: impl Future<Output = Result<T>>,
    deadline: Option<Instant>,
    started: Instant,
) -> Result<T> {
    let Some(d) = deadline else {
        return work.await;
    };
    let budget = d
        .saturating_duration_since(Instant::now())
        .saturating_sub(CLEANUP_RESERVE);
    tokio::time::timeout(budget, work)
        .await
        .unwrap_or_else(|_| {
            Err(Error::Acme(format!(
                "order abandoned after {}s: the invocation's deadline is near",
                started.elapsed().as_secs()
            )))
        })
}

/// Publish, propagate, answer, validate, finalize, download: the chain (PEM).
async fn prove_and_finalize(
    order: &mut Order,
    pending: &[authz::Pending],
    created: &mut Vec<TxtRecord>,
    domains: &[String],
    key: &rcgen::KeyPair,
    dns: &dyn DnsProvider,
    settings: &DnsSettings,
) -> Result<String> {
    let name_servers = dns01::publish(dns, pending, created, settings).await?;
    crate::testhook::pause("txt_created").await;
    dns01::wait_propagation(pending, &name_servers, settings).await?;
    authz::answer_challenges(order, pending.len()).await?;
    finalize::wait_valid(order).await?;
    finalize::finalize_and_download(order, domains, key).await
}

/// The alternate chain whose issuer is `preferred`, when the CA offers one.
async fn choose_chain(
    acme: &Acme,
    account: &Account,
    order: &mut Order,
    fullchain: String,
    preferred: &str,
) -> super::chain::Chosen {
    let cert_url = order.state().certificate.clone().unwrap_or_default();
    super::chain::choose(account, acme.http().tap(), &cert_url, fullchain, preferred).await
}
