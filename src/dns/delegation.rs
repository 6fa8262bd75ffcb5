//! CNAME-delegated challenges: `_acme-challenge.<name>` may be a CNAME to a name in a zone
//! alicert is allowed to write — the usual "DNS elsewhere, challenge zone in Alidns" setup, and
//! the way to give alicert write access to one small zone only. CAs follow the CNAME when they
//! look the TXT record up (RFC 8555 §8.4 validates "the TXT record"; Let's Encrypt and Pebble
//! resolve through CNAMEs), so the record is written, and its propagation checked, at the end of
//! the chain.
use std::collections::BTreeSet;
use std::net::SocketAddr;

use super::propagation::{cname_target, parse_resolver};
use crate::error::{Error, Result};

/// CNAME hops followed before giving up (lego follows 50; a longer real chain is a mistake).
pub const MAX_HOPS: usize = 8;

/// Where the TXT record proving `fqdn` is written: `fqdn` itself, or the end of its CNAME chain
/// as `resolvers` answer (the first that answers; empty = the system resolvers).
pub async fn follow(fqdn: &str, resolvers: &[SocketAddr]) -> Result<String> {
    let system;
    let resolvers = if resolvers.is_empty() {
        system = system_resolvers();
        &system
    } else {
        resolvers
    };
    let mut name = fqdn.trim_end_matches('.').to_ascii_lowercase();
    let mut seen = BTreeSet::from([name.clone()]);
    for _ in 0..MAX_HOPS {
        let Some(next) = lookup(resolvers, &name).await else {
            return Ok(name);
        };
        tracing::info!(from = %name, to = %next, "challenge name is a CNAME; following it");
        if !seen.insert(next.clone()) {
            return Err(Error::Dns(format!(
                "the CNAME chain from {fqdn} loops at {next}; fix the CNAME records"
            )));
        }
        name = next;
    }
    Err(Error::Dns(format!(
        "the CNAME chain from {fqdn} is longer than {MAX_HOPS} hops; point the CNAME at the final name"
    )))
}

/// The CNAME target at the first resolver that answers. No answer at all (every resolver
/// silent) is taken as "no CNAME", loudly: the record then goes at the name itself, where the
/// provider refuses it if a CNAME is there after all.
async fn lookup(resolvers: &[SocketAddr], name: &str) -> Option<String> {
    for addr in resolvers {
        match cname_target(*addr, name).await {
            Ok(target) => return target,
            Err(e) => tracing::warn!(error = %e, "CNAME lookup failed; trying the next resolver"),
        }
    }
    if !resolvers.is_empty() {
        tracing::warn!(
            name,
            "no resolver answered the CNAME lookup; writing the record at the name itself"
        );
    }
    None
}

/// `challenge_alias`: a record name (underscores allowed), not a wildcard.
pub fn check_alias(alias: &str) -> std::result::Result<(), String> {
    let hint =
        "the name your `_acme-challenge` CNAMEs point to, e.g. \"_acme-challenge.example.net\"";
    if alias.starts_with("*.") {
        return Err(format!("`{alias}` is a wildcard; give {hint}"));
    }
    crate::domain::validate(alias).map_err(|e| format!("{e}; give {hint}"))
}

/// `nameserver` lines of /etc/resolv.conf (the only lines read), as FC, ECS and a laptop set them.
fn system_resolvers() -> Vec<SocketAddr> {
    let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    nameservers(&text)
}

fn nameservers(resolv_conf: &str) -> Vec<SocketAddr> {
    resolv_conf
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|rest| parse_resolver(rest.trim()).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameserver_lines_only() {
        let conf = "# generated\nsearch example.com\nnameserver 100.100.2.136\nnameserver  ::1\noptions ndots:1\nnameserver bogus\n";
        assert_eq!(
            nameservers(conf),
            vec![
                "100.100.2.136:53".parse().unwrap(),
                "[::1]:53".parse().unwrap()
            ]
        );
    }
}
