//! One ACME order per certificate, proven with DNS-01: create every TXT record, wait for
//! propagation once, answer every challenge, finalize with a fresh key, download the chain.
//! The TXT records created here are deleted when the order ends, whatever the outcome.
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use instant_acme::{
    Account, AuthorizationStatus, ChallengeType, Identifier, NewOrder, Order, OrderStatus,
    RetryPolicy,
};

use crate::cert::CertInfo;
use crate::config::KeyType;
use crate::dns::{propagation, DnsProvider, TxtRecord};
use crate::error::{Error, Result};
use crate::secret::Secret;

/// What an order produced.
pub struct Issued {
    /// Leaf first, then the intermediates, PEM.
    pub fullchain: String,
    pub private_key: Secret,
    pub info: CertInfo,
}

pub struct DnsSettings {
    /// Where to check propagation; empty = the zones' authoritative name servers.
    pub resolvers: Vec<SocketAddr>,
    pub propagation_timeout: Duration,
}

/// A challenge to answer: the TXT value at `fqdn` proves `identifier`.
struct Pending {
    identifier: String,
    fqdn: String,
    value: String,
}

pub async fn issue(
    account: &Account,
    domains: &[String],
    key_type: KeyType,
    dns: &dyn DnsProvider,
    settings: &DnsSettings,
) -> Result<Issued> {
    let started = Instant::now();
    let identifiers: Vec<Identifier> = domains.iter().map(|d| Identifier::Dns(d.clone())).collect();
    let mut order = account.new_order(&NewOrder::new(&identifiers)).await?;
    tracing::info!(order = order.url(), domains = ?domains, "ACME order created");

    let pending = pending_challenges(&mut order).await?;
    let mut created: Vec<TxtRecord> = Vec::new();
    let outcome = prove_and_finalize(
        &mut order,
        &pending,
        &mut created,
        domains,
        key_type,
        dns,
        settings,
    )
    .await;

    // Cleanup runs on success and on every failure above; a failed delete is logged loudly
    // (the record is recognisable and the next run can sweep it) but does not hide the outcome.
    for record in &created {
        if let Err(e) = dns.delete_txt(record).await {
            tracing::error!(fqdn = %record.fqdn, record_id = %record.id, error = %e, "could not delete TXT record");
        }
    }
    let issued = outcome?;
    tracing::info!(
        serial = %issued.info.serial,
        not_after = %issued.info.not_after_rfc3339(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "certificate issued"
    );
    Ok(issued)
}

async fn pending_challenges(order: &mut Order) -> Result<Vec<Pending>> {
    let mut out = Vec::new();
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz?;
        match authz.status {
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Valid => continue,
            status => {
                return Err(Error::Acme(format!(
                    "authorization for {} is {status:?}",
                    authz.identifier()
                )))
            }
        }
        let identifier = authz.identifier().to_string();
        let challenge = authz.challenge(ChallengeType::Dns01).ok_or_else(|| {
            Error::Acme(format!(
                "the CA offers no dns-01 challenge for {identifier}"
            ))
        })?;
        out.push(Pending {
            fqdn: crate::domain::challenge_name(&identifier),
            value: challenge.key_authorization().dns_value(),
            identifier,
        });
    }
    Ok(out)
}

async fn prove_and_finalize(
    order: &mut Order,
    pending: &[Pending],
    created: &mut Vec<TxtRecord>,
    domains: &[String],
    key_type: KeyType,
    dns: &dyn DnsProvider,
    settings: &DnsSettings,
) -> Result<Issued> {
    let mut name_servers = Vec::new();
    for p in pending {
        let zone = dns.zone_for(&p.fqdn).await?;
        tracing::debug!(identifier = %p.identifier, fqdn = %p.fqdn, zone = %zone.name, "creating TXT record");
        created.push(dns.add_txt(&zone, &p.fqdn, &p.value).await?);
        for ns in zone.name_servers {
            if !name_servers.contains(&ns) {
                name_servers.push(ns);
            }
        }
    }
    if !pending.is_empty() {
        let resolvers = if settings.resolvers.is_empty() {
            propagation::resolve_name_servers(&name_servers).await?
        } else {
            settings.resolvers.clone()
        };
        let expected: Vec<(String, String)> = pending
            .iter()
            .map(|p| (p.fqdn.clone(), p.value.clone()))
            .collect();
        propagation::wait_for_txt(&resolvers, &expected, settings.propagation_timeout).await?;
    }

    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz?;
        if authz.status != AuthorizationStatus::Pending {
            continue;
        }
        let mut challenge = authz
            .challenge(ChallengeType::Dns01)
            .ok_or_else(|| Error::Acme("dns-01 challenge vanished".into()))?;
        challenge.set_ready().await?;
    }
    tracing::info!(
        challenges = pending.len(),
        "challenges answered; waiting for validation"
    );

    // The first look comes soon (a fast CA has validated within milliseconds), then backs off;
    // a CA that wants fewer polls says so with Retry-After, which instant-acme honours.
    let polling = RetryPolicy::new()
        .initial_delay(Duration::from_millis(50))
        .backoff(1.5)
        .timeout(Duration::from_secs(180));
    let status = match order.poll_ready(&polling).await {
        Ok(status) => status,
        Err(instant_acme::Error::Api(problem)) => {
            return Err(Error::Acme(format!(
                "order failed: {problem}; {}",
                challenge_errors(order).await
            )))
        }
        Err(e) => return Err(e.into()),
    };
    if status != OrderStatus::Ready {
        return Err(Error::Acme(format!(
            "order is {status:?}: {}",
            challenge_errors(order).await
        )));
    }

    let key = crate::acme::generate_certificate_key(key_type)?;
    let mut params = rcgen::CertificateParams::new(domains.to_vec())
        .map_err(|e| Error::Other(format!("CSR: {e}")))?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = params
        .serialize_request(&key)
        .map_err(|e| Error::Other(format!("CSR: {e}")))?;
    order.finalize_csr(csr.der()).await?;
    // A CA that issues during finalize (or right after) needs no wait: look once at once.
    let fullchain = match order.certificate().await? {
        Some(chain) => chain,
        None => order.poll_certificate(&polling).await?,
    };
    let info = CertInfo::from_pem(&fullchain)?;
    Ok(Issued {
        fullchain,
        private_key: Secret::new(key.serialize_pem()),
        info,
    })
}

/// Why validation failed, per identifier, from the CA's challenge errors.
async fn challenge_errors(order: &mut Order) -> String {
    let mut reasons = Vec::new();
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let Ok(mut authz) = authz else { continue };
        let identifier = authz.identifier().to_string();
        if let Ok(state) = authz.refresh().await {
            for ch in &state.challenges {
                if let Some(err) = &ch.error {
                    reasons.push(format!("{identifier}: {err}"));
                }
            }
        }
    }
    if reasons.is_empty() {
        "the CA gave no challenge error".into()
    } else {
        reasons.join("; ")
    }
}
