//! `[[zone]]` mappings: zones in other accounts, found and called through their role.
use std::sync::Arc;

use serde_json::Value;

use super::{Alidns, DOMAINS};
use crate::aliyun::{AliyunClient, RoleArn};
use crate::dns::Zone;
use crate::dns::{longest_suffix, ZoneConfig};
use crate::error::{Error, Result};

impl Alidns {
    /// The zones `[[zone]]` maps to a role (others stay in the function's account).
    pub fn with_zone_roles(mut self, zones: &[ZoneConfig]) -> Alidns {
        let roles = zones
            .iter()
            .filter_map(|z| Some((z.name.to_ascii_lowercase(), z.role().ok()??)))
            .collect();
        self.roles = Arc::new(roles);
        self
    }

    pub(super) fn role_of(&self, zone: &str) -> Option<&RoleArn> {
        self.roles.iter().find(|(z, _)| z == zone).map(|(_, r)| r)
    }

    /// The client for calls on `zone`: its role's when `[[zone]]` maps it to one.
    pub(super) async fn client_for(&self, zone: &str) -> Result<AliyunClient> {
        match self.role_of(zone) {
            Some(role) => self
                .client
                .assuming(role, &self.owner)
                .await
                .map_err(|e| Error::Dns(format!("[[zone]] name = \"{zone}\": {e}"))),
            None => Ok(self.client.clone()),
        }
    }

    /// The function's account's zones, with each `[[zone]]` mapped to a role found in its
    /// role's account instead (DescribeDomains `KeyWord` with `SearchMode` EXACT there, both
    /// in the SDK 4.6.1 request model, models/_describe_domains_request.py).
    pub(super) async fn list_zones(&self) -> Result<Vec<Zone>> {
        let mut zones: Vec<Zone> = parse_zones(&self.list_all("", &DOMAINS, &[]).await?)
            .into_iter()
            .filter(|z| self.role_of(&z.name).is_none())
            .collect();
        for (name, role) in self.roles.iter() {
            let exact = [("KeyWord", name.as_str()), ("SearchMode", "EXACT")];
            let found = self.list_all(name, &DOMAINS, &exact).await.and_then(|d| {
                let zone = parse_zones(&d).into_iter().find(|z| &z.name == name);
                zone.ok_or_else(|| {
                    Error::Dns(format!(
                        "[[zone]] name = \"{name}\": role_arn {role} reaches account {}, which \
                         hosts no Alidns zone {name}",
                        role.account()
                    ))
                })
            });
            match found {
                Ok(zone) => zones.push(zone),
                Err(e) => {
                    tracing::error!(zone = %name, error = %e, "a mapped zone cannot be reached");
                    let mut unreachable =
                        self.unreachable.lock().unwrap_or_else(|e| e.into_inner());
                    unreachable.push((name.clone(), e.to_string()));
                }
            }
        }
        Ok(zones)
    }

    /// Why the mapped zone holding `fqdn` could not be reached, if it could not.
    pub(super) fn unreachable_for(&self, fqdn: &str) -> Option<Error> {
        let unreachable = self.unreachable.lock().unwrap_or_else(|e| e.into_inner());
        let zone = longest_suffix(fqdn, self.roles.iter().map(|(z, _)| z.as_str()))?;
        let (_, why) = unreachable.iter().find(|(z, _)| z == zone)?;
        Some(Error::Dns(why.clone()))
    }
}

/// DescribeDomains items as zones.
fn parse_zones(domains: &[Value]) -> Vec<Zone> {
    domains
        .iter()
        .map(|d| {
            // PunyCode is the ASCII form for IDN zones; DomainName may be Unicode.
            let name = d["PunyCode"]
                .as_str()
                .filter(|s| !s.is_empty())
                .or(d["DomainName"].as_str())
                .unwrap_or_default()
                .trim_end_matches('.')
                .to_ascii_lowercase();
            let name_servers = d["DnsServers"]["DnsServer"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            Zone { name, name_servers }
        })
        .collect()
}
