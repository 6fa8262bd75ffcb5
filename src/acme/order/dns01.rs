//! The DNS side of dns-01: publish one TXT record per pending challenge (sweeping a crashed
//! run's leftovers in each zone beside), wait until the resolvers see them all, and delete the
//! records this order created, whatever its outcome.
// Whether another try may succeed (throttling, unavailability, the network): the client's.
use crate::aliyun::client::is_transient;
use futures_util::future::join_all;

use crate::dns::{delegation, propagation, DnsProvider, TxtRecord, Zone};
use crate::error::Result;

use super::authz::Pending;
use super::DnsSettings;

/// Rounds of (client-retried) delete calls per TXT record before giving it to the next run's sweep.
const CLEANUP_ROUNDS: u32 = 3;

/// Where each record goes: at `challenge_alias` when the certificate names one (its
/// `_acme-challenge` CNAMEs point there), else at the end of the challenge name's CNAME chain.
pub(super) async fn locate(
    pending: &mut [Pending],
    alias: Option<&str>,
    settings: &DnsSettings,
) -> Result<()> {
    for p in pending {
        p.record = match alias {
            Some(alias) => alias.to_string(),
            None => delegation::follow(&p.fqdn, &settings.resolvers).await?,
        };
        if p.record != p.fqdn {
            tracing::info!(fqdn = %p.fqdn, record = %p.record, "challenge delegated");
        }
    }
    Ok(())
}

/// Ahead of the order (while the lock is taken, the account opened and the order created):
/// find the zones of `domains` (the provider lists them once per run). Best effort:
/// [`publish`] looks the zones up again (answered from the provider's cache) and reports any
/// failure with the name the CA asked for. The zones are swept beside the TXT adds, not here:
/// nothing before them waits for a sweep.
pub(crate) async fn find_zones(dns: &dyn DnsProvider, domains: &[String]) {
    for d in domains {
        let fqdn = format!("_acme-challenge.{}", d.trim_start_matches("*."));
        if let Err(e) = dns.zone_for(&fqdn).await {
            tracing::debug!(fqdn, error = %e, "zone lookup ahead of the order failed");
        }
    }
}

async fn sweep(dns: &dyn DnsProvider, zone: &Zone, settings: &DnsSettings) -> Result<()> {
    let n = dns.sweep_stale(zone, settings.sweep_grace).await?;
    if n > 0 {
        tracing::warn!(zone = %zone.name, deleted = n, "swept stale TXT records");
    }
    Ok(())
}

/// Create the TXT records, all at once (the provider bounds the calls in flight), not yet
/// marked: [`mark`] them next. Every record that was created is pushed to `created`, even when
/// a sibling failed, so that the cleanup deletes it; the first failure is returned after all
/// creations ended. Returns the zones' name servers, for the propagation check.
pub(super) async fn publish(
    dns: &dyn DnsProvider,
    pending: &[Pending],
    created: &mut Vec<TxtRecord>,
    settings: &DnsSettings,
) -> Result<Vec<String>> {
    let mut zones = Vec::new();
    for p in pending {
        zones.push(dns.zone_for(&p.record).await?);
    }
    let mut distinct: Vec<&Zone> = Vec::new();
    for zone in &zones {
        if !distinct.contains(&zone) {
            distinct.push(zone);
        }
    }
    // The sweep (once per run per zone in the provider) runs beside the adds: it deletes only marked records older than the grace, and a new record
    // is neither. (A leftover with this order's very value makes the add a duplicate; the
    // provider then lets the sweep finish before it adopts or re-adds the record.)
    let sweeps = async {
        for zone in &distinct {
            sweep(dns, zone, settings).await?;
        }
        sweep_delegated(dns, pending, &zones, settings).await
    };
    let adds = pending.iter().zip(&zones).map(|(p, zone)| {
        tracing::debug!(identifier = %p.identifier, fqdn = %p.record, zone = %zone.name, "creating TXT record");
        dns.create_txt(zone, &p.record, &p.value)
    });
    let (swept, added) = tokio::join!(sweeps, join_all(adds));
    let mut first_error = swept.err();
    for added in added {
        match added {
            Ok(record) => created.push(record),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    let mut name_servers = Vec::new();
    for ns in distinct.iter().flat_map(|z| &z.name_servers) {
        if !name_servers.contains(ns) {
            name_servers.push(ns.clone());
        }
    }
    Ok(name_servers)
}

/// A delegated name need not start with `_acme-challenge`: its leftovers are swept by exact
/// name.
async fn sweep_delegated(
    dns: &dyn DnsProvider,
    pending: &[Pending],
    zones: &[Zone],
    settings: &DnsSettings,
) -> Result<()> {
    let mut delegated: Vec<&str> = Vec::new();
    for (p, zone) in pending.iter().zip(zones) {
        if p.record != p.fqdn && !delegated.contains(&p.record.as_str()) {
            let n = dns
                .sweep_stale_at(zone, &p.record, settings.sweep_grace)
                .await?;
            if n > 0 {
                tracing::warn!(fqdn = %p.record, deleted = n, "swept stale delegated TXT records");
            }
            delegated.push(&p.record);
        }
    }
    Ok(())
}

/// Mark every record as alicert's, all at once; the first failure after all of them ended.
/// (The caller deletes the records whatever happens, marked or not.)
pub(super) async fn mark(dns: &dyn DnsProvider, created: &[TxtRecord]) -> Result<()> {
    let marks = join_all(created.iter().map(|r| dns.mark_txt(r))).await;
    marks.into_iter().collect::<Result<Vec<()>>>().map(|_| ())
}

/// Wait once for every (name, value) record — at a delegated challenge's final name — at
/// `[dns] resolvers`, else at the zones' name servers.
pub(super) async fn wait_propagation(
    expected: &[(String, String)],
    name_servers: &[String],
    settings: &DnsSettings,
) -> Result<()> {
    if expected.is_empty() {
        return Ok(());
    }
    let resolvers = if settings.resolvers.is_empty() {
        propagation::resolve_name_servers(name_servers).await?
    } else {
        settings.resolvers.clone()
    };
    propagation::wait_for_txt(&resolvers, expected, settings.propagation_timeout).await
}

/// Delete every record this order created, all at once (within the provider's bound). A delete that still fails transiently after the
/// client's own retries gets up to two more rounds (each bounded by the retry policy and the
/// deadline): leaving a record behind is worse than a slower cleanup. A delete that fails for
/// good is logged loudly (the record carries alicert's remark, so the next run sweeps it) but
/// does not hide the order's outcome.
pub(crate) async fn clean_up(dns: &dyn DnsProvider, created: &[TxtRecord]) {
    join_all(created.iter().map(|record| delete(dns, record))).await;
}

async fn delete(dns: &dyn DnsProvider, record: &TxtRecord) {
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
