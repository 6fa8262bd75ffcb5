//! One ACME order per certificate, proven with DNS-01 (or dns-persist-01, `persist.rs`), in
//! named steps: create the order (`create.rs`: with `replaces` under ARI, `profile` when
//! asked), find the pending challenges (`authz.rs`), publish every TXT record (`dns01.rs`),
//! keep the lasting `_validation-persist` records (`persist.rs`), wait for propagation once,
//! answer every challenge, wait for validation, finalize with a fresh key unless
//! one is reused and download the chain (`finalize.rs`), pick a preferred alternate chain
//! (`../chain.rs`). The `_acme-challenge` records created here are deleted when the order
//! ends, whatever the outcome; `_validation-persist` records stay for the next renewals.
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use instant_acme::{Account, CertificateIdentifier, Order};

use super::Acme;

use crate::acme::KeyType;
use crate::cert::CertInfo;
use crate::dns::{DnsProvider, TxtRecord};
use crate::error::{Error, Result};
use crate::secret::Secret;

mod authz;
mod caa;
mod create;
mod dns01;
mod finalize;
mod persist;

pub use persist::{remove_orphans, Challenge};

/// What an order produced.
pub struct Issued {
    /// Leaf first, then the intermediates, PEM.
    pub fullchain: String,
    pub private_key: Secret,
    pub info: CertInfo,
    /// What the caller should know (a CA that ignored `replaces`, an unmet chain preference).
    pub notes: Vec<String>,
    /// The order's TXT records, left for the caller to delete while it uploads the certificate.
    pub cleanup: Cleanup,
}

/// TXT records a successful order leaves for its caller to delete (a failed order deletes its
/// own), so that the deletes overlap the next step. [`Cleanup::run`] it exactly once.
#[derive(Default)]
pub struct Cleanup {
    job: Option<(Arc<dyn DnsProvider>, Vec<TxtRecord>)>,
}

impl Cleanup {
    /// Nothing to delete (a certificate that was not ordered in this run).
    pub fn none() -> Cleanup {
        Cleanup::default()
    }

    /// Delete the records (all at once, within the provider's call bound).
    pub async fn run(mut self) {
        if let Some((dns, records)) = self.job.take() {
            dns01::clean_up(&*dns, &records).await;
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some((_, records)) = &self.job {
            // A bug, not a crash: the next run sweeps them (they carry alicert's remark).
            tracing::error!(
                records = records.len(),
                "TXT records were not deleted after the order; the next run sweeps them"
            );
        }
    }
}

/// Find the zones of `domains` ahead of an order (best effort; see dns01.rs).
pub async fn prepare_dns(dns: &dyn DnsProvider, domains: &[String]) {
    dns01::find_zones(dns, domains).await
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
    /// `caa = "manage"`: keep alicert's CAA record for this CA and account.
    pub manage_caa: bool,
    /// `challenge`: dns-01, or dns-persist-01 where the CA offers it.
    pub challenge: Challenge,
    /// Where the `_acme-challenge` CNAMEs point, when they cannot be read (`challenge_alias`).
    pub challenge_alias: Option<&'a str>,
}

/// The CAA check alone, read-only (`alicert doctor`): whether the CAA records in force at
/// each name let this CA and account (`account_url`; empty before the account exists) issue
/// with `challenge`.
pub async fn check_caa(
    acme: &Acme,
    account_url: &str,
    domains: &[String],
    challenge: Challenge,
    dns: &dyn DnsProvider,
    settings: &DnsSettings,
) -> Result<()> {
    caa::preflight(acme, account_url, domains, false, challenge, dns, settings).await
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
    dns: Arc<dyn DnsProvider>,
    settings: &DnsSettings,
    deadline: Option<Instant>,
) -> Result<Issued> {
    let started = Instant::now();
    let key = match options.key.take() {
        Some(k) => k,
        None => crate::acme::generate_certificate_key(options.key_type)?,
    };
    let mut notes = Vec::new();
    // The zones are found while the order is placed: neither waits for the other.
    let (placed, ()) = tokio::join!(
        place(acme, account, domains, &options, &*dns, settings, &mut notes),
        dns01::find_zones(&*dns, domains)
    );
    let (mut order, pending, persists) = placed?;
    let mut created: Vec<TxtRecord> = Vec::new();
    let proofs = Proofs {
        dns01: &pending,
        persist: &persists,
        account_url: account.id(),
    };
    let work = prove_and_finalize(
        &mut order,
        &proofs,
        &mut created,
        domains,
        &key,
        &*dns,
        settings,
    );
    let outcome = before_deadline(work, deadline, started).await;
    let fullchain = match outcome {
        Ok(f) => f,
        Err(e) => {
            // A failed or cut-short order deletes its records before it reports.
            dns01::clean_up(&*dns, &created).await;
            return Err(e);
        }
    };
    let cleanup = Cleanup {
        job: Some((dns, created)),
    };
    let fullchain = match options.preferred_chain {
        Some(preferred) => {
            let chosen = choose_chain(acme, account, &mut order, fullchain, preferred).await;
            notes.extend(chosen.note);
            chosen.fullchain
        }
        None => fullchain,
    };
    let info = match CertInfo::from_pem(&fullchain) {
        Ok(info) => info,
        Err(e) => {
            cleanup.run().await;
            return Err(e);
        }
    };
    let issued = Issued {
        info,
        fullchain,
        private_key: Secret::new(key.serialize_pem()),
        notes,
        cleanup,
    };
    tracing::info!(
        serial = %issued.info.serial,
        not_after = %issued.info.not_after_rfc3339(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "certificate issued"
    );
    Ok(issued)
}

/// Check the profile and CAA, create the order and find its pending challenges.
async fn place(
    acme: &Acme,
    account: &Account,
    domains: &[String],
    options: &OrderOptions<'_>,
    dns: &dyn DnsProvider,
    settings: &DnsSettings,
    notes: &mut Vec<String>,
) -> Result<(Order, Vec<authz::Pending>, Vec<persist::Persist>)> {
    if let Some(profile) = options.profile {
        acme.directory().await?.check_profile(profile, &acme.url)?;
    }
    let manage = options.manage_caa;
    caa::preflight(
        acme,
        account.id(),
        domains,
        manage,
        options.challenge,
        dns,
        settings,
    )
    .await?;
    let mut order = create::new_order(account, domains, options, notes).await?;
    tracing::info!(order = order.url(), domains = ?domains, profile = options.profile.unwrap_or("-"), "ACME order created");
    let tap = acme.http().tap();
    let (mut pending, persists) =
        authz::pending_challenges(&mut order, options.challenge, tap, notes).await?;
    dns01::locate(&mut pending, options.challenge_alias, settings).await?;
    Ok((order, pending, persists))
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

/// The order's pending challenges, by type.
struct Proofs<'a> {
    dns01: &'a [authz::Pending],
    persist: &'a [persist::Persist],
    account_url: &'a str,
}

/// Publish, propagate, answer, validate, finalize, download: the chain (PEM).
async fn prove_and_finalize(
    order: &mut Order,
    proofs: &Proofs<'_>,
    created: &mut Vec<TxtRecord>,
    domains: &[String],
    key: &rcgen::KeyPair,
    dns: &dyn DnsProvider,
    settings: &DnsSettings,
) -> Result<String> {
    let mut name_servers = dns01::publish(dns, proofs.dns01, created, settings).await?;
    // The records are marked while the resolvers and the CA look at them: a mark is for the
    // sweep of a crashed run's leftovers, which nothing in the proof waits for. A failed mark
    // fails the order (and its records are deleted with the others).
    let to_mark = created.clone();
    let marking = async {
        dns01::mark(dns, &to_mark).await?;
        crate::testhook::pause("txt_created").await;
        Ok(())
    };
    let proving = async {
        let (mut expected, persist_ns) =
            persist::ensure(dns, proofs.persist, proofs.account_url).await?;
        for ns in persist_ns {
            if !name_servers.contains(&ns) {
                name_servers.push(ns);
            }
        }
        expected.extend(
            proofs
                .dns01
                .iter()
                .map(|p| (p.record.clone(), p.value.clone())),
        );
        dns01::wait_propagation(&expected, &name_servers, settings).await?;
        let persist_urls: Vec<String> =
            proofs.persist.iter().map(|p| p.authz_url.clone()).collect();
        let count = proofs.dns01.len() + proofs.persist.len();
        authz::answer_challenges(order, &persist_urls, count).await?;
        finalize::wait_valid(order).await?;
        finalize::finalize_and_download(order, domains, key).await
    };
    let ((), fullchain) = tokio::try_join!(marking, proving)?;
    Ok(fullchain)
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
