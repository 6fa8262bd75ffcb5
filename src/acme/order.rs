//! One ACME order per certificate, proven with DNS-01: create every TXT record, wait for
//! propagation once, answer every challenge, finalize (with a fresh key unless one is reused),
//! download the chain (or a preferred alternate). With ARI the order names the certificate it
//! `replaces`; with profiles it names its `profile`. The TXT records created here are deleted
//! when the order ends, whatever the outcome.
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use instant_acme::{
    Account, AuthorizationStatus, CertificateIdentifier, ChallengeType, Identifier, NewOrder,
    Order, OrderStatus, RetryPolicy,
};

use super::Acme;

use super::KeyType;
// Whether another try may succeed (throttling, unavailability, the network): the client's.
use crate::aliyun::client::is_transient;
use crate::cert::CertInfo;
use crate::dns::{propagation, DnsProvider, TxtRecord};
use crate::error::{Error, Result};
use crate::secret::Secret;

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

/// Rounds of (client-retried) delete calls per TXT record before giving it to the next run's sweep.
const CLEANUP_ROUNDS: u32 = 3;

/// Time kept back from the deadline for deleting the TXT records after an order is cut short.
const CLEANUP_RESERVE: Duration = Duration::from_secs(3);

/// A challenge to answer: the TXT value at `fqdn` proves `identifier`.
struct Pending {
    identifier: String,
    fqdn: String,
    value: String,
}

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
    let identifiers: Vec<Identifier> = domains.iter().map(|d| Identifier::Dns(d.clone())).collect();
    let mut order = new_order(account, &identifiers, &options, &mut notes).await?;
    tracing::info!(order = order.url(), domains = ?domains, profile = options.profile.unwrap_or("-"), "ACME order created");

    let pending = pending_challenges(&mut order).await?;
    let mut created: Vec<TxtRecord> = Vec::new();
    let work = prove_and_finalize(
        &mut order,
        &pending,
        &mut created,
        domains,
        key,
        dns,
        settings,
    );
    let outcome = match deadline {
        None => work.await,
        Some(d) => {
            let budget = d
                .saturating_duration_since(Instant::now())
                .saturating_sub(CLEANUP_RESERVE);
            match tokio::time::timeout(budget, work).await {
                Ok(outcome) => outcome,
                Err(_) => Err(Error::Acme(format!(
                    "order abandoned after {}s: the invocation's deadline is near",
                    started.elapsed().as_secs()
                ))),
            }
        }
    };

    // Cleanup runs on success and on every failure above. A delete that still fails transiently
    // after the client's own retries gets up to two more rounds (each bounded by the retry policy
    // and the deadline): leaving a record behind is worse than a slower cleanup. A delete that
    // fails for good is logged loudly (the record carries alicert's remark, so the next run
    // sweeps it) but does not hide the outcome.
    for record in &created {
        let mut round = 1;
        loop {
            match dns.delete_txt(record).await {
                Ok(()) => break,
                Err(e) if round < CLEANUP_ROUNDS && is_transient(&e) => {
                    tracing::warn!(fqdn = %record.fqdn, record_id = %record.id, round, error = %e, "TXT record delete failed; trying again");
                    round += 1;
                }
                Err(e) => {
                    tracing::error!(fqdn = %record.fqdn, record_id = %record.id, error = %e, "could not delete TXT record");
                    break;
                }
            }
        }
    }
    let (fullchain, private_key) = outcome?;
    let fullchain = match options.preferred_chain {
        Some(preferred) => {
            let cert_url = order.state().certificate.clone().unwrap_or_default();
            let chosen =
                super::chain::choose(account, acme.http().tap(), &cert_url, fullchain, preferred)
                    .await;
            notes.extend(chosen.note);
            chosen.fullchain
        }
        None => fullchain,
    };
    let info = CertInfo::from_pem(&fullchain)?;
    let issued = Issued {
        fullchain,
        private_key,
        info,
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

/// newOrder, with `replaces` and `profile` when asked. A CA may refuse or ignore `replaces`
/// (the certificate was already replaced; a CA without ARI echoes nothing back and instant-acme
/// then rejects the order): RFC 9773 §5 says to order again without it.
async fn new_order(
    account: &Account,
    identifiers: &[Identifier],
    options: &OrderOptions<'_>,
    notes: &mut Vec<String>,
) -> Result<Order> {
    let plain = || {
        let o = NewOrder::new(identifiers);
        match options.profile {
            Some(p) => o.profile(p),
            None => o,
        }
    };
    let Some(replaces) = options.replaces.clone() else {
        return Ok(retry_bad_nonce!(
            "new order",
            account.new_order(&plain()).await
        )?);
    };
    let id = replaces.to_string();
    match retry_bad_nonce!(
        "new order",
        account.new_order(&plain().replaces(replaces.clone())).await
    ) {
        Ok(order) => {
            tracing::info!(replaces = %id, "order replaces the deployed certificate (ARI)");
            Ok(order)
        }
        Err(e) if replaces_refused(&e) => {
            let note = format!("the CA did not accept `replaces` {id} ({e}); ordered without it");
            tracing::warn!("{note}");
            notes.push(note);
            Ok(retry_bad_nonce!(
                "new order",
                account.new_order(&plain()).await
            )?)
        }
        Err(e) => Err(e.into()),
    }
}

fn replaces_refused(e: &instant_acme::Error) -> bool {
    match e {
        instant_acme::Error::Api(p) => {
            p.r#type.as_deref() == Some("urn:ietf:params:acme:error:alreadyReplaced")
                || p.detail.as_deref().is_some_and(|d| d.contains("replaces"))
        }
        instant_acme::Error::Unsupported(_) => true,
        other => other.to_string().contains("replaces"),
    }
}

/// Fetch every authorization (instant-acme caches the ones already fetched, so a retry after
/// a rejected nonce only fetches the rest).
async fn fetch_authorizations(order: &mut Order) -> Result<()> {
    retry_bad_nonce!("fetch authorizations", {
        let mut authorizations = order.authorizations();
        let mut outcome = Ok(());
        while let Some(authz) = authorizations.next().await {
            if let Err(e) = authz {
                outcome = Err(e);
                break;
            }
        }
        outcome
    })?;
    Ok(())
}

async fn pending_challenges(order: &mut Order) -> Result<Vec<Pending>> {
    fetch_authorizations(order).await?;
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
    key: rcgen::KeyPair,
    dns: &dyn DnsProvider,
    settings: &DnsSettings,
) -> Result<(String, Secret)> {
    let mut name_servers = Vec::new();
    let mut swept = Vec::new();
    for p in pending {
        let zone = dns.zone_for(&p.fqdn).await?;
        if !swept.contains(&zone.name) {
            let n = dns.sweep_stale(&zone, settings.sweep_grace).await?;
            if n > 0 {
                tracing::warn!(zone = %zone.name, deleted = n, "swept stale TXT records");
            }
            swept.push(zone.name.clone());
        }
        tracing::debug!(identifier = %p.identifier, fqdn = %p.fqdn, zone = %zone.name, "creating TXT record");
        created.push(dns.add_txt(&zone, &p.fqdn, &p.value).await?);
        for ns in zone.name_servers {
            if !name_servers.contains(&ns) {
                name_servers.push(ns);
            }
        }
    }
    crate::testhook::pause("txt_created").await;
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

    fetch_authorizations(order).await?;
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz?;
        if authz.status != AuthorizationStatus::Pending {
            continue;
        }
        let mut challenge = authz
            .challenge(ChallengeType::Dns01)
            .ok_or_else(|| Error::Acme("dns-01 challenge vanished".into()))?;
        retry_bad_nonce!("answer challenge", challenge.set_ready().await)?;
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
    let status = match retry_bad_nonce!("poll order", order.poll_ready(&polling).await) {
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

    let mut params = rcgen::CertificateParams::new(domains.to_vec())
        .map_err(|e| Error::Other(format!("CSR: {e}")))?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = params
        .serialize_request(&key)
        .map_err(|e| Error::Other(format!("CSR: {e}")))?;
    retry_bad_nonce!("finalize", order.finalize_csr(csr.der()).await)?;
    crate::testhook::pause("finalized").await;
    // A CA that issues during finalize (or right after) needs no wait: look once at once.
    let fullchain = match retry_bad_nonce!("download certificate", order.certificate().await)? {
        Some(chain) => chain,
        None => retry_bad_nonce!(
            "download certificate",
            order.poll_certificate(&polling).await
        )?,
    };
    Ok((fullchain, Secret::new(key.serialize_pem())))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_order_names_replaces_and_profile() {
        let ids = [Identifier::Dns("example.com".into())];
        let id = CertificateIdentifier::new(
            rustls_pki_types::Der::from_slice(&[1, 2]),
            rustls_pki_types::Der::from_slice(&[0, 0x87]),
        );
        let v =
            serde_json::to_value(NewOrder::new(&ids).replaces(id).profile("shortlived")).unwrap();
        assert_eq!(v["replaces"], "AQI.AIc");
        assert_eq!(v["profile"], "shortlived");
        assert_eq!(v["identifiers"][0]["value"], "example.com");
        let plain = serde_json::to_value(NewOrder::new(&ids)).unwrap();
        assert!(plain.get("replaces").is_none() && plain.get("profile").is_none());
    }

    #[test]
    fn replaces_refusals_are_recognised() {
        let problem = |t: &str, d: &str| {
            instant_acme::Error::Api(
                serde_json::from_value(serde_json::json!({"type": t, "detail": d})).unwrap(),
            )
        };
        assert!(replaces_refused(&problem(
            "urn:ietf:params:acme:error:alreadyReplaced",
            "x"
        )));
        assert!(replaces_refused(&problem(
            "urn:ietf:params:acme:error:malformed",
            "invalid replaces field"
        )));
        assert!(replaces_refused(&instant_acme::Error::Unsupported("ARI")));
        assert!(!replaces_refused(&problem(
            "urn:ietf:params:acme:error:rateLimited",
            "too many"
        )));
    }
}
