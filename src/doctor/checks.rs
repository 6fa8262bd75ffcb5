//! The checks, one function per area. Each turns what it reads into [`Check`]s and never
//! writes: the reads are the ones a run makes (a target's current certificate, the account
//! key, the lock bucket's versioning, a secret, the CA's directory and account), plus who the
//! caller is and what is attached to it (`aliyun::identity`) and how each zone is delegated
//! (`Alidns::delegation`).
use std::collections::BTreeSet;
use std::time::Duration;

use super::grants::Granted;
use super::{Area, Check, Status};
use crate::acme::order::DnsSettings;
use crate::acme::Acme;
use crate::aliyun::identity::{self, CallerIdentity, Principal};
use crate::aliyun::ram::Scope;
use crate::aliyun::AliyunClient;
use crate::config::Config;
use crate::dns::alidns::Alidns;
use crate::dns::DnsProvider;

/// Who the credentials are.
pub async fn identity(client: &AliyunClient) -> (Option<CallerIdentity>, Vec<Check>) {
    match identity::caller(client).await {
        Ok(id) => {
            let detail = format!("account {} as {}", id.account_id, id.arn);
            let check = Check::ok(Area::Credentials, "credential chain", detail);
            (Some(id), vec![check])
        }
        Err(e) => {
            let c = Check::from_error(Area::Credentials, "credential chain", "[aliyun]", &e);
            (None, vec![c])
        }
    }
}

/// Every statement of `alicert policy` against the policies attached to the caller.
pub async fn permissions(
    config: &Config,
    client: &AliyunClient,
    identity: &CallerIdentity,
    scope: &Scope,
) -> Vec<Check> {
    let policy = match crate::policy::Policy::for_scope(config, scope) {
        Ok(p) => p,
        Err(e) => {
            return vec![Check::from_error(
                Area::Permissions,
                "alicert policy",
                "",
                &e,
            )]
        }
    };
    let Some(principal) = Principal::of(identity) else {
        let detail = format!(
            "cannot tell whose policies apply to {} ({}); the reads below still test what they can",
            identity.arn, identity.identity_type
        );
        return vec![Check {
            status: Status::Failed,
            ..Check::ok(Area::Permissions, "attached policies", detail)
        }];
    };
    let attached = match principal {
        Principal::Account => Ok(Granted::everything()),
        _ => identity::attached(client, &principal)
            .await
            .and_then(|p| Granted::from_policies(&p).map_err(crate::error::Error::Other)),
    };
    let granted = match attached {
        Ok(g) => g,
        Err(e) => {
            let mut c = Check::from_error(Area::Permissions, "attached policies", "", &e);
            c.detail = format!(
                "doctor reads the policies attached to {} to check the write permissions it must \
                 not try: {}",
                identity.arn, c.detail
            );
            return vec![c];
        }
    };
    let mut out = Vec::new();
    for statement in &policy.statements {
        let missing = granted.missing(statement);
        if missing.is_empty() {
            continue;
        }
        let conditional = missing.iter().any(|a| granted.conditional(a));
        let detail = format!(
            "{}{} Grant on {}.",
            statement.purpose,
            if conditional {
                " (granted only under a Condition doctor cannot evaluate)"
            } else {
                ""
            },
            statement.resources.join(", ")
        );
        let actions = missing.iter().map(|a| a.to_string()).collect();
        out.push(Check::missing(
            Area::Permissions,
            statement.id,
            actions,
            detail,
        ));
    }
    if out.is_empty() {
        let detail = format!(
            "all {} statements of `alicert policy` are granted by {}",
            policy.statements.len(),
            granted.policies.join(", ")
        );
        out.push(Check::ok(Area::Permissions, "attached policies", detail));
    }
    out
}

/// The Alidns zone of each certificate name, and whether it is delegated to Alidns.
pub async fn zones(config: &Config, client: &AliyunClient) -> Vec<Check> {
    let dns = Alidns::new(client.clone(), config.dns.ttl);
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for cert in &config.certificates {
        // A `challenge_alias` moves the records: that zone is the one that must be in Alidns.
        let names: Vec<String> = match &cert.challenge_alias {
            Some(alias) => vec![alias.clone()],
            None => cert
                .domains
                .iter()
                .map(|d| d.trim_start_matches("*.").to_string())
                .collect(),
        };
        for name in names {
            let key = format!("certificate {} domains", cert.name);
            let (name, held) = match challenge_name(config, &dns, &name).await {
                Ok(found) => found,
                Err(e) => {
                    out.push(Check::from_error(Area::Zone, name, &key, &e));
                    continue;
                }
            };
            match dns.zone_for(&name).await {
                Ok(zone) if seen.insert(zone.name.clone()) => {
                    out.push(delegation(&dns, &zone.name, &held).await)
                }
                Ok(_) => {}
                Err(e) => out.push(Check::from_error(Area::Zone, name, &key, &e)),
            }
        }
    }
    out
}

/// Where `name`'s TXT records go, as a run finds it: the name itself when Alidns hosts its
/// zone, else the end of the `_acme-challenge.<name>` CNAME chain (dns/delegation.rs); and
/// what the zone check says it holds.
async fn challenge_name(
    config: &Config,
    dns: &Alidns,
    name: &str,
) -> crate::error::Result<(String, String)> {
    if dns.hosted_zone(name).await?.is_some() {
        return Ok((name.to_string(), name.to_string()));
    }
    let resolvers = config
        .dns
        .resolvers()
        .map_err(crate::error::Error::Config)?;
    let fqdn = format!("_acme-challenge.{name}");
    let end = crate::dns::delegation::follow(&fqdn, &resolvers).await?;
    match end == fqdn {
        true => Ok((name.to_string(), name.to_string())),
        false => Ok((
            end.clone(),
            format!("{name}'s delegated challenge ({fqdn} → {end})"),
        )),
    }
}

async fn delegation(dns: &Alidns, zone: &str, name: &str) -> Check {
    let d = match dns.delegation(zone).await {
        Ok(d) => d,
        Err(e) => return Check::from_error(Area::Zone, zone, "", &e),
    };
    if d.all_alidns {
        let detail = format!(
            "holds {name}; delegated to Alidns ({})",
            d.serving.join(", ")
        );
        return Check::ok(Area::Zone, zone, detail);
    }
    let serving = match d.serving.is_empty() {
        true => "unknown name servers".to_string(),
        false => d.serving.join(", "),
    };
    Check::misconfigured(
        Area::Zone,
        zone,
        "the domain's name servers, at its registrar",
        format!(
            "holds {name}, but the zone is served by {serving} instead of Alidns's {}: TXT \
             records alicert writes would not be seen; set the name servers at the registrar",
            d.expected.join(", ")
        ),
    )
}

/// Each target exists and its current certificate can be read.
pub async fn targets(config: &Config, client: &AliyunClient) -> Vec<Check> {
    let mut out = Vec::new();
    for cert in &config.certificates {
        let key = format!("certificate {} targets", cert.name);
        let expanded = match crate::deploy::build_all(
            &cert.targets,
            &cert.name,
            &cert.domains,
            client,
        )
        .await
        {
            Ok(x) => x,
            Err(e) => {
                out.push(Check::from_error(Area::Target, &cert.name, &key, &e));
                continue;
            }
        };
        for target in &expanded.targets {
            let id = target.target_id().to_string();
            out.push(match target.current().await {
                Ok(Some(info)) => Check::ok(
                    Area::Target,
                    id,
                    format!("serves serial {} until {}", info.serial, info.not_after),
                ),
                Ok(None) => Check::ok(Area::Target, id, "readable; serves no certificate yet"),
                Err(e) => Check::from_error(Area::Target, id, &key, &e),
            });
        }
    }
    out
}

/// The account key's location and the lock bucket (reachable, in its region, unversioned).
pub async fn storage(config: &Config, client: &AliyunClient) -> Vec<Check> {
    let mut out = Vec::new();
    let key = &config.acme.account_key;
    match Acme::new(&config.acme) {
        Ok(acme) => out.push(match acme.key_store(Some(client)).load().await {
            Ok(Some(_)) => Check::ok(Area::AccountKey, key, "readable"),
            Ok(None) => Check::ok(
                Area::AccountKey,
                key,
                "not there yet: the first run creates it",
            ),
            Err(e) => Check::from_error(Area::AccountKey, key, "[acme] account_key", &e),
        }),
        Err(e) => out.push(Check::from_error(Area::AccountKey, key, "[acme]", &e)),
    }
    if let Some(location) = config.lock.location(key) {
        let subject = format!("oss://{}/{}", location.bucket.as_str(), location.prefix);
        let locks = crate::lock::Locks::new(client.clone(), location, "doctor".into());
        out.push(match locks.check_versioning().await {
            Ok(()) => Check::ok(Area::Lock, subject, "reachable, versioning off"),
            Err(e) => Check::from_error(Area::Lock, subject, "[lock] bucket", &e),
        });
    }
    out
}

/// Every secret the config names by `kms:`/`oss://` reference can be read.
pub async fn secrets(config: &Config, client: &AliyunClient) -> Vec<Check> {
    let mut values = config.notify.secret_values();
    if let Some(eab) = &config.acme.eab_hmac_key {
        values.push(("[acme] eab_hmac_key", eab.expose()));
    }
    let mut out = Vec::new();
    for (key, value) in values {
        let Some(location) = crate::secret_ref::SecretLocation::parse_if_reference(value) else {
            continue;
        };
        if !location.needs_aliyun() {
            continue;
        }
        let subject = location.to_string();
        out.push(match location.read(Some(client), key).await {
            Ok(Some(_)) => Check::ok(Area::Secret, subject, format!("{key}: readable")),
            Ok(None) => {
                Check::misconfigured(Area::Secret, subject, key, "the secret holds no value")
            }
            Err(e) => Check::from_error(Area::Secret, subject, key, &e),
        });
    }
    out
}

/// The CA's directory and the account (when its key exists), then CAA at every name.
pub async fn acme_and_caa(config: &Config, client: &AliyunClient) -> Vec<Check> {
    let acme = match Acme::new(&config.acme) {
        Ok(a) => a,
        Err(e) => {
            return vec![Check::from_error(
                Area::Acme,
                "directory",
                "[acme] directory",
                &e,
            )]
        }
    };
    if let Err(e) = acme.directory().await {
        return vec![Check::from_error(
            Area::Acme,
            &acme.url,
            "[acme] directory",
            &e,
        )];
    }
    let mut out = vec![Check::ok(Area::Acme, &acme.url, "directory reachable")];
    let account_url = match acme.key_store(Some(client)).load().await {
        Ok(Some(_)) => match acme.open(Some(client), false).await {
            Ok(opened) => {
                let status = opened.status.clone().unwrap_or_else(|| "valid".into());
                out.push(Check::ok(
                    Area::Acme,
                    opened.account.id(),
                    format!("account {status}"),
                ));
                opened.account.id().to_string()
            }
            Err(e) => {
                out.push(Check::from_error(
                    Area::Acme,
                    "account",
                    "[acme] account_key",
                    &e,
                ));
                return out;
            }
        },
        // The key check above already reported why; CAA is checked for a new account.
        _ => String::new(),
    };
    out.extend(caa(config, client, &acme, &account_url).await);
    out
}

/// CAA at every certificate name lets this CA (and the account, once it exists) issue.
async fn caa(config: &Config, client: &AliyunClient, acme: &Acme, account_url: &str) -> Vec<Check> {
    let settings = match config.dns.resolvers() {
        Ok(resolvers) => DnsSettings {
            resolvers,
            propagation_timeout: Duration::from_secs(config.dns.propagation_timeout_secs),
            sweep_grace: Duration::from_secs(config.dns.sweep_grace_secs),
        },
        Err(m) => {
            return vec![Check::misconfigured(
                Area::Caa,
                "resolvers",
                "[dns] resolvers",
                m,
            )]
        }
    };
    let dns = Alidns::new(client.clone(), config.dns.ttl);
    let dns: &dyn DnsProvider = &dns;
    let mut out = Vec::new();
    for cert in &config.certificates {
        let subject = cert.domains.join(", ");
        let checked = crate::acme::order::check_caa(
            acme,
            account_url,
            &cert.domains,
            cert.challenge,
            dns,
            &settings,
        )
        .await;
        out.push(match checked {
            Ok(()) => Check::ok(Area::Caa, subject, "CAA lets this CA issue"),
            Err(e) => Check::from_error(
                Area::Caa,
                subject,
                &format!("certificate {} domains", cert.name),
                &e,
            ),
        });
    }
    out
}
