//! `[dns]`: how TXT records are published and checked, and when leftovers are swept.
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsConfig {
    /// host:port of resolvers to check TXT propagation on; empty = the zone's name servers.
    pub resolvers: Vec<String>,
    pub propagation_timeout_secs: u64,
    /// TTL of the TXT records (Alidns free edition's minimum is 600).
    pub ttl: u32,
    /// `_acme-challenge` TXT records carrying alicert's remark and older than this are
    /// leftovers of a crashed run; they are deleted at the start of the next order in the zone.
    pub sweep_grace_secs: u64,
    /// Alidns API calls in flight at once (all orders of an invocation together).
    pub max_concurrent_calls: usize,
}

fn default_sweep_grace() -> u64 {
    3600
}

fn default_propagation_timeout() -> u64 {
    300
}
fn default_ttl() -> u32 {
    600
}
/// Alidns' documented quotas (src/aliyun/quota.rs) bound the rate; this bounds the calls in
/// flight: 25 lets the 25 orders of `[acme] max_concurrent_orders` add, mark and delete their
/// TXT records without waiting for one another.
fn default_max_concurrent_calls() -> usize {
    25
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            resolvers: Vec::new(),
            propagation_timeout_secs: default_propagation_timeout(),
            ttl: default_ttl(),
            sweep_grace_secs: default_sweep_grace(),
            max_concurrent_calls: default_max_concurrent_calls(),
        }
    }
}

impl DnsConfig {
    /// Everything checkable before a network call; errors name the key (`[dns] …`).
    pub fn validate(&self) -> Result<(), String> {
        use crate::settings::{at_most, concurrency, DAY_SECS};
        concurrency("[dns] max_concurrent_calls", self.max_concurrent_calls)?;
        self.resolvers()?;
        if self.sweep_grace_secs == 0 {
            return Err("[dns] sweep_grace_secs must be at least 1 (default 3600; keep it longer than any order takes)".into());
        }
        at_most(
            "[dns] propagation_timeout_secs",
            self.propagation_timeout_secs,
            DAY_SECS,
        )?;
        at_most(
            "[dns] sweep_grace_secs",
            self.sweep_grace_secs,
            30 * DAY_SECS,
        )
    }

    /// The resolvers as socket addresses (validated at load, so this fails only on a config
    /// built in code).
    pub fn resolvers(&self) -> Result<Vec<std::net::SocketAddr>, String> {
        self.resolvers
            .iter()
            .map(|r| {
                super::propagation::parse_resolver(r).map_err(|e| format!("[dns] resolvers: {e}"))
            })
            .collect()
    }
}

/// A `[[zone]]` mapping: the Alidns zone `name` is in another account, reached through
/// `role_arn` (aliyun/role.rs). Zones without a mapping are found in the function's account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneConfig {
    pub name: String,
    #[serde(default)]
    pub role_arn: Option<String>,
}

impl ZoneConfig {
    /// `role_arn`, checked; the error names the key.
    pub fn role(&self) -> Result<Option<crate::aliyun::RoleArn>, String> {
        self.role_arn
            .as_deref()
            .map(|s| crate::aliyun::RoleArn::parse(s).map_err(|e| format!("role_arn: {e}")))
            .transpose()
    }
}

/// Every `[[zone]]`: a DNS name, at most once, with a well-formed `role_arn`.
pub fn validate_zones(zones: &[ZoneConfig]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for (i, z) in zones.iter().enumerate() {
        let at = format!("[[zone]] #{} (name = \"{}\")", i + 1, z.name);
        let name = z.name.to_ascii_lowercase();
        if name.starts_with("*.") {
            return Err(format!("{at}: name is a zone, not a wildcard"));
        }
        crate::domain::validate(&name).map_err(|e| format!("{at}: name: {e}"))?;
        if !seen.insert(name) {
            return Err(format!(
                "{at}: the zone is mapped twice; keep one [[zone]] per zone"
            ));
        }
        z.role().map_err(|e| format!("{at}: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str, role: Option<&str>) -> ZoneConfig {
        ZoneConfig {
            name: name.into(),
            role_arn: role.map(str::to_string),
        }
    }

    #[test]
    fn zone_mappings_are_checked_and_errors_name_the_key() {
        let role = Some("acs:ram::2222222222222222:role/alicert-dns");
        validate_zones(&[zone("example.com", role), zone("other.org", None)]).unwrap();
        for (zones, says) in [
            (
                vec![zone("example.com", Some("acs:ram::2:role/a_b"))],
                "role_arn",
            ),
            (vec![zone("*.example.com", role)], "name"),
            (
                vec![zone("example.com", role), zone("Example.com", None)],
                "twice",
            ),
        ] {
            let e = validate_zones(&zones).unwrap_err();
            assert!(e.starts_with("[[zone]] #") && e.contains(says), "{e}");
        }
    }
}
