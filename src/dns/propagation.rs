//! Wait until TXT values are visible on the resolvers that matter, polling without fixed sleeps
//! beyond a short poll interval, and logging progress for long waits.
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use simple_dns::rdata::RData;
use simple_dns::{Name, TYPE};

use super::caa::Caa;
use super::query;
use crate::error::{Error, Result};

/// Parse `host:port` or `ip` (port 53) into a socket address (numeric hosts only).
pub fn parse_resolver(s: &str) -> std::result::Result<SocketAddr, String> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    if let Ok(ip) = s.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    Err(format!("`{s}` is not an IP address or IP:port"))
}

/// Resolve name server host names (as Alidns reports them) to addresses on port 53.
pub async fn resolve_name_servers(names: &[String]) -> Result<Vec<SocketAddr>> {
    let mut out = Vec::new();
    for n in names {
        if let Ok(a) = parse_resolver(n) {
            out.push(a);
            continue;
        }
        match tokio::net::lookup_host((n.trim_end_matches('.'), 53)).await {
            Ok(addrs) => out.extend(addrs.filter(|a| a.is_ipv4()).take(1)),
            Err(e) => tracing::warn!(name_server = %n, error = %e, "cannot resolve name server"),
        }
    }
    if out.is_empty() {
        return Err(Error::Dns(format!(
            "none of the zone's name servers {names:?} resolve; set [dns] resolvers"
        )));
    }
    Ok(out)
}

/// The CAA records at `fqdn` as `addr` answers now (empty when there are none); `Err` when it
/// gives no answer (timeout, SERVFAIL), so a caller never mistakes silence for "no CAA".
pub async fn caa_records(addr: SocketAddr, fqdn: &str) -> std::result::Result<Vec<Caa>, String> {
    let records = query::lookup(addr, fqdn, TYPE::CAA)
        .await
        .map_err(|e| format!("CAA lookup of {fqdn} at {addr}: {e}"))?;
    Ok(records
        .into_iter()
        .filter_map(|r| match r.rdata {
            RData::CAA(c) => Some(Caa {
                flags: c.flag,
                tag: c.tag.to_string().to_ascii_lowercase(),
                value: String::from_utf8_lossy(&c.value).into_owned(),
            }),
            _ => None,
        })
        .collect())
}

/// The CNAME target of `fqdn` as `addr` answers now (`None` when it has none); `Err` when it
/// gives no answer, so a caller never mistakes silence for "no CNAME".
pub async fn cname_target(
    addr: SocketAddr,
    fqdn: &str,
) -> std::result::Result<Option<String>, String> {
    let records = query::lookup(addr, fqdn, TYPE::CNAME)
        .await
        .map_err(|e| format!("CNAME lookup of {fqdn} at {addr}: {e}"))?;
    // `lookup` accepted `fqdn` as a name. Name equality ignores ASCII case.
    let owner = Name::new(fqdn).map_err(|e| format!("CNAME lookup of {fqdn}: {e}"))?;
    // A server may chase the chain in one answer: take the record for `fqdn` itself.
    Ok(records.into_iter().find_map(|r| match r.rdata {
        RData::CNAME(c) if r.name == owner => {
            Some(c.0.to_string().trim_end_matches('.').to_ascii_lowercase())
        }
        _ => None,
    }))
}

/// The TXT values at `fqdn` as `addr` answers now (empty when none or on error).
pub async fn txt_values(addr: SocketAddr, fqdn: &str) -> BTreeSet<String> {
    match query::lookup(addr, fqdn, TYPE::TXT).await {
        Ok(records) => records
            .into_iter()
            .filter_map(|r| match r.rdata {
                RData::TXT(txt) => Some(query::txt_string(txt)),
                _ => None,
            })
            .collect(),
        Err(_) => BTreeSet::new(),
    }
}

/// Wait until every `(fqdn, value)` is visible on every resolver, or fail after `timeout`.
pub async fn wait_for_txt(
    resolvers: &[SocketAddr],
    expected: &[(String, String)],
    timeout: Duration,
) -> Result<()> {
    let started = Instant::now();
    let mut poll = Duration::from_millis(100);
    let mut last_log = Instant::now();
    loop {
        let names: BTreeSet<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
        let mut missing = Vec::new();
        for addr in resolvers {
            for fqdn in &names {
                let seen = txt_values(*addr, fqdn).await;
                for (_, value) in expected.iter().filter(|(n, _)| n == fqdn) {
                    if !seen.contains(value) {
                        missing.push(format!("{fqdn} @ {addr}"));
                    }
                }
            }
        }
        if missing.is_empty() {
            tracing::info!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                records = expected.len(),
                resolvers = resolvers.len(),
                "TXT records visible"
            );
            return Ok(());
        }
        if started.elapsed() >= timeout {
            return Err(Error::Dns(format!(
                "TXT records not visible after {}s: {} (raise [dns] propagation_timeout_secs or check [dns] resolvers)",
                timeout.as_secs(),
                missing.join(", ")
            )));
        }
        if last_log.elapsed() >= Duration::from_secs(10) {
            tracing::info!(
                waiting_s = started.elapsed().as_secs(),
                missing = missing.len(),
                "waiting for TXT propagation"
            );
            last_log = Instant::now();
        }
        tokio::time::sleep(poll).await;
        poll = (poll * 2).min(Duration::from_secs(5));
    }
}
