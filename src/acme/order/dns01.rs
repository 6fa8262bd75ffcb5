//! The DNS side of dns-01: publish one TXT record per pending challenge (sweeping a crashed
//! run's leftovers in each zone first), wait until the resolvers see them all, and delete the
//! records this order created, whatever its outcome.
// Whether another try may succeed (throttling, unavailability, the network): the client's.
use crate::aliyun::client::is_transient;
use crate::dns::{propagation, DnsProvider, TxtRecord};
use crate::error::Result;

use super::authz::Pending;
use super::DnsSettings;

/// Rounds of (client-retried) delete calls per TXT record before giving it to the next run's sweep.
const CLEANUP_ROUNDS: u32 = 3;

/// Create the TXT records (each pushed to `created` as soon as it exists, so a failure later
/// still deletes it). Returns the zones' name servers, for the propagation check.
pub(super) async fn publish(
    dns: &dyn DnsProvider,
    pending: &[Pending],
    created: &mut Vec<TxtRecord>,
    settings: &DnsSettings,
) -> Result<Vec<String>> {
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
    Ok(name_servers)
}

/// Wait once for every record: at `[dns] resolvers`, else at the zones' name servers.
pub(super) async fn wait_propagation(
    pending: &[Pending],
    name_servers: &[String],
    settings: &DnsSettings,
) -> Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let resolvers = if settings.resolvers.is_empty() {
        propagation::resolve_name_servers(name_servers).await?
    } else {
        settings.resolvers.clone()
    };
    let expected: Vec<(String, String)> = pending
        .iter()
        .map(|p| (p.fqdn.clone(), p.value.clone()))
        .collect();
    propagation::wait_for_txt(&resolvers, &expected, settings.propagation_timeout).await
}

/// Delete every record this order created. A delete that still fails transiently after the
/// client's own retries gets up to two more rounds (each bounded by the retry policy and the
/// deadline): leaving a record behind is worse than a slower cleanup. A delete that fails for
/// good is logged loudly (the record carries alicert's remark, so the next run sweeps it) but
/// does not hide the order's outcome.
pub(super) async fn clean_up(dns: &dyn DnsProvider, created: &[TxtRecord]) {
    for record in created {
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
}
