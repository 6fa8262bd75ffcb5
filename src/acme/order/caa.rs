//! The CAA step before newOrder ([`crate::dns::caa`]): with `caa = "manage"`, keep alicert's
//! `issue`/`issuewild` record (this CA, `accounturi`, `validationmethods=dns-01`) at each
//! certificate name and wait until the resolvers serve it; then, for every identifier, find the
//! relevant CAA set (the closest name up to the zone apex that has one) and refuse to order
//! when it would not let this CA and account issue, naming the record. A CA that refuses on
//! CAA does so only after the order and its DNS-01 proof, as a failed validation.
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::DnsSettings;
use crate::acme::Acme;
use crate::dns::caa::{self, Caa, Requester};
use crate::dns::{propagation, DnsProvider, Zone};
use crate::error::{Error, Result};

const POLL: Duration = Duration::from_secs(1);

/// A certificate name and which of its forms (`x`, `*.x`) the order holds.
struct Base {
    name: String,
    plain: bool,
    wild: bool,
}

fn bases(domains: &[String]) -> Vec<Base> {
    let mut out: Vec<Base> = Vec::new();
    for d in domains {
        let wild = d.starts_with("*.");
        let name = d.trim_start_matches("*.").to_string();
        let i = match out.iter().position(|b| b.name == name) {
            Some(i) => i,
            None => {
                out.push(Base {
                    name,
                    plain: false,
                    wild: false,
                });
                out.len() - 1
            }
        };
        if wild {
            out[i].wild = true;
        } else {
            out[i].plain = true;
        }
    }
    out
}

pub(super) async fn preflight(
    acme: &Acme,
    account_url: &str,
    domains: &[String],
    manage: bool,
    challenge: super::Challenge,
    dns: &dyn DnsProvider,
    settings: &DnsSettings,
) -> Result<()> {
    let identities = acme.directory().await?.meta.caa_identities.clone();
    if identities.is_empty() {
        if manage {
            return Err(Error::Config(format!(
                "caa = \"manage\": the CA's directory ({}) lists no meta.caaIdentities, so alicert cannot tell which issuer domain to authorise; remove `caa` from the certificate",
                acme.url
            )));
        }
        tracing::debug!("the CA names no CAA identities; CAA not checked");
        return Ok(());
    }
    let requester = Requester {
        identities: &identities,
        account_url,
        method: match challenge {
            super::Challenge::Dns01 => "dns-01",
            super::Challenge::DnsPersist01 => "dns-persist-01,dns-01",
        },
    };
    for base in bases(domains) {
        let zone = match (dns.hosted_zone(&base.name).await?, manage) {
            (Some(zone), _) => zone,
            (None, true) => dns.zone_for(&base.name).await?,
            // A delegated challenge: the name's own zone is elsewhere, and so are its CAA
            // records; the CA checks them at issuance.
            (None, false) => {
                tracing::info!(name = %base.name, "zone not in Alidns; CAA left to the CA's check");
                continue;
            }
        };
        let resolvers = match settings.resolvers.is_empty() {
            true => propagation::resolve_name_servers(&zone.name_servers).await?,
            false => settings.resolvers.clone(),
        };
        if manage {
            let wanted = keep_records(dns, &zone, &base, &requester).await?;
            wait_visible(
                &resolvers,
                &base.name,
                &wanted,
                settings.propagation_timeout,
            )
            .await?;
        }
        for (form, wildcard) in [(base.plain, false), (base.wild, true)] {
            if form {
                check_name(&resolvers, &zone, &base.name, wildcard, &requester).await?;
            }
        }
    }
    Ok(())
}

/// alicert's records at the name, created or rewritten (an account that changed); returns
/// what must be served.
async fn keep_records(
    dns: &dyn DnsProvider,
    zone: &Zone,
    base: &Base,
    requester: &Requester<'_>,
) -> Result<Vec<Caa>> {
    let existing = dns.caa_records(zone, &base.name).await?;
    let mut wanted = Vec::new();
    for (needed, wildcard) in [(base.plain, false), (base.wild, true)] {
        if !needed {
            continue;
        }
        let want = caa::managed_record(requester, wildcard);
        let ours = existing.iter().find(|r| r.ours && r.caa.tag == want.tag);
        match ours {
            Some(r) if r.caa == want => {}
            Some(r) => dns.put_caa(zone, &base.name, Some(&r.id), &want).await?,
            None => dns.put_caa(zone, &base.name, None, &want).await?,
        }
        wanted.push(want);
    }
    Ok(wanted)
}

/// The CAA records at `name` from the first resolver that answers.
async fn lookup(resolvers: &[SocketAddr], name: &str) -> Option<Vec<Caa>> {
    for r in resolvers {
        match propagation::caa_records(*r, name).await {
            Ok(set) => return Some(set),
            Err(e) => tracing::debug!(error = %e, "CAA lookup failed"),
        }
    }
    None
}

async fn wait_visible(
    resolvers: &[SocketAddr],
    name: &str,
    wanted: &[Caa],
    timeout: Duration,
) -> Result<()> {
    let started = Instant::now();
    loop {
        let mut seen_everywhere = true;
        for r in resolvers {
            let set = propagation::caa_records(*r, name).await.unwrap_or_default();
            seen_everywhere &= wanted.iter().all(|w| set.contains(w));
        }
        if seen_everywhere {
            return Ok(());
        }
        if started.elapsed() >= timeout {
            return Err(Error::Dns(format!(
                "alicert's CAA record at {name} was not served by {resolvers:?} within {}s ([dns] propagation_timeout_secs)",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// RFC 8659 §3: the closest name with CAA records decides.
async fn check_name(
    resolvers: &[SocketAddr],
    zone: &Zone,
    name: &str,
    wildcard: bool,
    requester: &Requester<'_>,
) -> Result<()> {
    let identifier = if wildcard {
        format!("*.{name}")
    } else {
        name.to_string()
    };
    for at in caa::tree(name, &zone.name) {
        let Some(set) = lookup(resolvers, &at).await else {
            tracing::warn!(name = %at, "no resolver answered the CAA lookup; leaving the CAA check to the CA");
            return Ok(());
        };
        if set.is_empty() {
            continue;
        }
        return caa::check(&set, wildcard, requester).map_err(|why| {
            let tag = if wildcard { "issuewild" } else { "issue" };
            Error::Dns(format!(
                "CAA forbids {identifier}: at {at}, {why}. Not ordered (the CA would refuse after validation). Fix: add `0 {tag} \"{}\"` at {at}, or set caa = \"manage\" on the certificate so alicert keeps its own record at {name}",
                caa::managed_value(requester)
            ))
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_their_wildcards_share_a_base() {
        let d: Vec<String> = ["example.com", "*.example.com", "*.dev.example.com"]
            .map(String::from)
            .to_vec();
        let b = bases(&d);
        assert_eq!(b.len(), 2);
        assert!(b[0].name == "example.com" && b[0].plain && b[0].wild);
        assert!(b[1].name == "dev.example.com" && !b[1].plain && b[1].wild);
    }
}
