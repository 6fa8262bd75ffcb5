//! Who needs what: the DNS and target statements of a config, grouped by the identity that
//! makes the calls — the function itself (`None`) or the role a `[[zone]]` mapping or a
//! target's `role_arn` names (`Some`), with ARNs in that role's account.
use std::collections::BTreeMap;

use crate::aliyun::ram::{Scope, Statement};
use crate::aliyun::RoleArn;
use crate::config::Config;
use crate::error::{Error, Result};

pub type Grouped = BTreeMap<Option<RoleArn>, Vec<Statement>>;

/// The DNS-01 and target statements, by caller; the function's own ARNs name `own`'s account.
pub fn reached(config: &Config, own: &Scope) -> Result<Grouped> {
    let own = own.clone();
    let scope = |role: &Option<RoleArn>| match role {
        Some(r) => Scope {
            account: r.account().to_string(),
            region: own.region.clone(),
        },
        None => own.clone(),
    };
    let mut out = Grouped::new();
    // The function lists its own account's zones on every order (dns/alidns.rs).
    out.insert(None, Vec::new());
    let mut groups = dns_groups(config)?;
    if !groups.iter().any(|(r, _)| r.is_none()) {
        groups.insert(0, (None, Vec::new()));
    }
    for (role, needs) in groups {
        let dns: Vec<crate::dns::DnsNeeds> = needs.iter().map(Need::as_needs).collect();
        let statements = crate::dns::ram_statements(&dns, &scope(&role));
        out.entry(role).or_default().extend(statements);
    }
    let hub: Vec<&str> = crate::deploy::cas::hub_statements()
        .iter()
        .map(|s| s.id)
        .collect();
    for cert in &config.certificates {
        for t in &cert.targets {
            let fail = |e: String| Error::Config(format!("certificate {}: {e}", cert.name));
            let role = t.role().map_err(fail)?;
            let mut st =
                crate::deploy::ram_statements(t, &cert.domains, &scope(&role)).map_err(fail)?;
            // In another account a target never takes the hub's copy (deploy/through.rs).
            if role.is_some() {
                st.retain(|s| !hub.contains(&s.id));
            }
            out.entry(role).or_default().extend(st);
        }
    }
    Ok(out)
}

/// One certificate's DNS needs for one caller.
struct Need<'a> {
    names: Vec<String>,
    manage_caa: bool,
    persist: bool,
    alias: Option<&'a str>,
}

impl Need<'_> {
    fn as_needs(&self) -> crate::dns::DnsNeeds<'_> {
        crate::dns::DnsNeeds {
            names: &self.names,
            manage_caa: self.manage_caa,
            persist: self.persist,
            alias: self.alias,
        }
    }
}

/// Each certificate's names split by who reaches their zone: the role of the `[[zone]]` that
/// holds the name (longest match), else the function. A `challenge_alias` goes with the
/// caller of its own zone; when that is another caller than the names', it is a need of its
/// own there and the names' group keeps their zones for the records (a superset, never
/// another account's resource).
fn dns_groups(config: &Config) -> Result<Vec<(Option<RoleArn>, Vec<Need<'_>>)>> {
    let mapped: Vec<(String, Option<RoleArn>)> = config
        .zones
        .iter()
        .map(|z| {
            Ok((
                z.name.to_ascii_lowercase(),
                z.role().map_err(Error::Config)?,
            ))
        })
        .collect::<Result<_>>()?;
    let role_of = |name: &str| -> Option<RoleArn> {
        let name = name.trim_start_matches("*.").to_ascii_lowercase();
        let zone = crate::dns::longest_suffix(&name, mapped.iter().map(|(z, _)| z.as_str()))?;
        mapped.iter().find(|(z, _)| z == zone)?.1.clone()
    };
    let mut groups: BTreeMap<Option<RoleArn>, Vec<Need>> = BTreeMap::new();
    for cert in &config.certificates {
        let persist = cert.challenge == crate::acme::order::Challenge::DnsPersist01;
        let mut by_role: BTreeMap<Option<RoleArn>, Vec<String>> = BTreeMap::new();
        for d in &cert.domains {
            by_role.entry(role_of(d)).or_default().push(d.clone());
        }
        let alias_role = cert.challenge_alias.as_deref().map(|a| (a, role_of(a)));
        let mut alias_placed = false;
        for (role, names) in by_role {
            let alias = alias_role
                .as_ref()
                .filter(|(_, r)| *r == role)
                .map(|(a, _)| *a);
            alias_placed |= alias.is_some();
            groups.entry(role).or_default().push(Need {
                names,
                manage_caa: cert.caa.is_some(),
                persist,
                alias,
            });
        }
        if let Some((a, role)) = alias_role {
            if !alias_placed {
                groups.entry(role).or_default().push(Need {
                    names: Vec::new(),
                    manage_caa: false,
                    persist: false,
                    alias: Some(a),
                });
            }
        }
    }
    Ok(groups.into_iter().collect())
}
