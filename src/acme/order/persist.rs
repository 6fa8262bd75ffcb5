//! The order side of dns-persist-01 (`challenge = "dns-persist-01"`, record rules in
//! [`crate::dns::persist`]): read the CA's issuer domain names from the challenge object,
//! keep one `_validation-persist` record per name (read first; written only when missing or
//! bound to another account), and leave it in place when the order ends. Removing the records
//! of certificates that left the configuration is [`remove_orphans`].
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::dns::persist::{self as rules, Plan, Wanted};
use crate::dns::DnsProvider;
use crate::error::{Error, Result};

/// The challenge type's name in ACME (instant-acme 0.8 has it as `ChallengeType::Unknown`).
pub const CHALLENGE_TYPE: &str = "dns-persist-01";

/// A certificate's `challenge` key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Challenge {
    /// A fresh `_acme-challenge` TXT record per order, deleted when it ends.
    #[default]
    #[serde(rename = "dns-01")]
    Dns01,
    /// A lasting `_validation-persist` record; dns-01 where the CA does not offer it.
    #[serde(rename = "dns-persist-01")]
    DnsPersist01,
}

/// A pending authorization answered with dns-persist-01.
pub(super) struct Persist {
    /// The identifier without `*.`.
    pub name: String,
    pub wildcard: bool,
    /// The challenge's `issuer-domain-names`.
    pub issuers: Vec<String>,
    pub authz_url: String,
}

/// The `issuer-domain-names` of the authorization's dns-persist-01 challenge (JSON as the CA
/// sent it), or None when it offers none (or lists no issuer: nothing could be written).
pub(super) fn offered_issuers(authorization: &[u8]) -> Option<Vec<String>> {
    let authz: Value = serde_json::from_slice(authorization).ok()?;
    let challenge = authz["challenges"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == CHALLENGE_TYPE)?;
    let issuers: Vec<String> = challenge["issuer-domain-names"]
        .as_array()?
        .iter()
        .filter_map(|i| i.as_str())
        .filter(|i| !i.is_empty())
        .map(str::to_string)
        .collect();
    (!issuers.is_empty()).then_some(issuers)
}

/// One record per name: a wildcard and its base share it (then with `policy=wildcard`); the
/// issuers are those every authorization of the name offered.
fn by_name(persists: &[Persist]) -> BTreeMap<&str, (bool, Vec<String>)> {
    let mut out: BTreeMap<&str, (bool, Vec<String>)> = BTreeMap::new();
    for p in persists {
        match out.get_mut(p.name.as_str()) {
            Some((wild, issuers)) => {
                *wild |= p.wildcard;
                issuers.retain(|i| p.issuers.contains(i));
            }
            None => {
                out.insert(&p.name, (p.wildcard, p.issuers.clone()));
            }
        }
    }
    out
}

/// Make every name's record authorise this CA and `account_url`. Returns the (name, value)
/// pairs the resolvers must serve and the zones' name servers.
pub(super) async fn ensure(
    dns: &dyn DnsProvider,
    persists: &[Persist],
    account_url: &str,
) -> Result<(Vec<(String, String)>, Vec<String>)> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (mut expected, mut name_servers) = (Vec::new(), Vec::new());
    for (name, (wildcard, issuers)) in by_name(persists) {
        if issuers.is_empty() {
            return Err(Error::Acme(format!(
                "the CA's dns-persist-01 challenges for {name} and *.{name} name no common issuer domain name"
            )));
        }
        let fqdn = rules::record_name(name);
        let zone = dns.zone_for(&fqdn).await?;
        let wanted = Wanted {
            issuers: &issuers,
            account_url,
            wildcard,
        };
        let existing = dns.txt_records_at(&zone, &fqdn).await?;
        let value = match rules::plan(&existing, &wanted, now) {
            Plan::Keep(value) => {
                tracing::info!(fqdn, value, "dns-persist-01 record already in place");
                value
            }
            Plan::Update { id } => {
                dns.update_txt(&zone, &fqdn, &id, &wanted.value()).await?;
                wanted.value()
            }
            Plan::Create => {
                dns.add_txt(&zone, &fqdn, &wanted.value()).await?;
                wanted.value()
            }
            Plan::Refuse(foreign) => {
                return Err(Error::Dns(format!(
                    "the TXT record `{foreign}` at {fqdn} was not created by alicert and binds this CA to another account or policy; alicert does not change it nor add a second binding beside it. Fix: set its value to `{}` (or delete it and let alicert create its own), or use challenge = \"dns-01\" for this certificate",
                    wanted.value()
                )));
            }
        };
        expected.push((fqdn, value));
        for ns in zone.name_servers {
            if !name_servers.contains(&ns) {
                name_servers.push(ns);
            }
        }
    }
    Ok((expected, name_servers))
}

/// Delete alicert's `_validation-persist` records whose certificate is not among `configured`
/// and that bind `account_url` ([`rules::is_orphan`]), in the zones that hold one of the
/// configured `domains`: the zones the least-privilege policy grants (a removed certificate
/// whose zone no configured name shares keeps its record; README says so). Returns how many
/// were deleted.
pub async fn remove_orphans(
    dns: &dyn DnsProvider,
    configured: &[String],
    domains: &[String],
    account_url: &str,
) -> Result<usize> {
    let mut zones: Vec<crate::dns::Zone> = Vec::new();
    for d in domains {
        if let Some(zone) = dns.hosted_zone(d.trim_start_matches("*.")).await? {
            if !zones.contains(&zone) {
                zones.push(zone);
            }
        }
    }
    let mut deleted = 0;
    for zone in zones {
        for (record, remark) in dns.persist_records(&zone).await? {
            if !rules::is_orphan(remark.as_deref(), &record.value, configured, account_url) {
                continue;
            }
            tracing::info!(fqdn = %record.fqdn, record_id = %record.id, remark = remark.as_deref().unwrap_or_default(), "deleting the dns-persist-01 record of a certificate no longer configured");
            dns.delete_txt(&record).await?;
            deleted += 1;
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_key_takes_two_names() {
        #[derive(Deserialize)]
        struct Cert {
            #[serde(default)]
            challenge: Challenge,
        }
        let parse = |t: &str| toml::from_str::<Cert>(t).map(|c| c.challenge);
        assert_eq!(parse("").unwrap(), Challenge::Dns01);
        assert_eq!(parse("challenge = \"dns-01\"").unwrap(), Challenge::Dns01);
        assert_eq!(
            parse("challenge = \"dns-persist-01\"").unwrap(),
            Challenge::DnsPersist01
        );
        let e = parse("challenge = \"http-01\"").unwrap_err().to_string();
        assert!(e.contains("dns-persist-01") && e.contains("http-01"), "{e}");
    }

    #[test]
    fn issuers_come_from_the_persist_challenge() {
        let authz = br#"{"identifier":{"type":"dns","value":"example.com"},"status":"pending",
            "challenges":[{"type":"dns-01","url":"u1","token":"t","status":"pending"},
            {"type":"dns-persist-01","url":"u2","status":"pending","accounturi":"https://a/1",
             "issuer-domain-names":["ca.org","ca.net"]}]}"#;
        assert_eq!(
            offered_issuers(authz),
            Some(vec!["ca.org".to_string(), "ca.net".to_string()])
        );
        let plain =
            br#"{"challenges":[{"type":"dns-01","url":"u1","token":"t","status":"pending"}]}"#;
        assert_eq!(offered_issuers(plain), None);
        let empty =
            br#"{"challenges":[{"type":"dns-persist-01","url":"u","issuer-domain-names":[]}]}"#;
        assert_eq!(offered_issuers(empty), None);
        assert_eq!(offered_issuers(b"not json"), None);
    }

    #[test]
    fn a_name_and_its_wildcard_share_one_record() {
        let p = |id: &str, wildcard: bool, issuers: &[&str]| Persist {
            name: id.trim_start_matches("*.").into(),
            wildcard,
            issuers: issuers.iter().map(|s| s.to_string()).collect(),
            authz_url: String::new(),
        };
        let persists = [
            p("example.com", false, &["ca.org", "ca.net"]),
            p("*.example.com", true, &["ca.org"]),
            p("a.example.com", false, &["ca.org"]),
        ];
        let names = by_name(&persists);
        assert_eq!(names.len(), 2);
        assert_eq!(names["example.com"], (true, vec!["ca.org".to_string()]));
        assert_eq!(names["a.example.com"], (false, vec!["ca.org".to_string()]));
    }
}
