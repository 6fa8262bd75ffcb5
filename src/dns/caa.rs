//! CAA (RFC 8659) with the account and method bindings of RFC 8657, which every public CA must
//! honour from 2027-03-15 (CA/Browser Forum ballot SC-098). Pure logic: parsing a record,
//! the record alicert keeps for a certificate (`caa = "manage"`), and whether a relevant
//! record set lets this CA and account issue — checked before ordering, because a CA that
//! refuses on CAA does so only after the order and its DNS-01 proof, as a failed validation.
use std::fmt;

use serde::Deserialize;

/// A certificate's `caa` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaaMode {
    /// Keep alicert's `issue`/`issuewild` record for this CA and account at the name.
    Manage,
}

/// One CAA record: `flags tag "value"` (Alidns writes it that way: "0 issue \"ca.com\"").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caa {
    pub flags: u8,
    pub tag: String,
    pub value: String,
}

impl fmt::Display for Caa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} \"{}\"", self.flags, self.tag, self.value)
    }
}

impl Caa {
    /// `0 issue "letsencrypt.org; accounturi=…"` (quotes optional around the value).
    pub fn parse(text: &str) -> Option<Caa> {
        let mut parts = text.trim().splitn(3, char::is_whitespace);
        let flags = parts.next()?.parse().ok()?;
        let tag = parts.next()?.to_ascii_lowercase();
        let rest = parts.next().unwrap_or_default().trim();
        let value = rest
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(rest);
        if tag.is_empty() || !tag.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        Some(Caa {
            flags,
            tag,
            value: value.to_string(),
        })
    }

    /// RFC 8659 §4.1: the issuer critical flag.
    fn critical(&self) -> bool {
        self.flags & 0x80 != 0
    }
}

/// The CA and account an order would come from.
#[derive(Debug, Clone, Copy)]
pub struct Requester<'a> {
    /// The directory's `meta.caaIdentities` (RFC 8555 §7.1.1).
    pub identities: &'a [String],
    pub account_url: &'a str,
    /// The ACME validation methods the order may use, comma-separated: `dns-01`, or
    /// `dns-persist-01,dns-01` (dns-persist-01 with its dns-01 fallback).
    pub method: &'a str,
}

/// The `issue`/`issuewild` value alicert keeps for `requester`.
pub fn managed_value(requester: &Requester<'_>) -> String {
    format!(
        "{}; accounturi={}; validationmethods={}",
        requester
            .identities
            .first()
            .map(String::as_str)
            .unwrap_or_default(),
        requester.account_url,
        requester.method
    )
}

/// The record alicert keeps: `issue` for names, `issuewild` for wildcards.
pub fn managed_record(requester: &Requester<'_>, wildcard: bool) -> Caa {
    Caa {
        flags: 0,
        tag: if wildcard { "issuewild" } else { "issue" }.into(),
        value: managed_value(requester),
    }
}

/// `issuer-domain-name *(";" key "=" value)` (RFC 8659 §4.2); None for a value that does not
/// parse (which permits nobody).
fn parse_issue_value(value: &str) -> Option<(String, Vec<(String, String)>)> {
    let mut parts = value.split(';');
    let domain = parts.next()?.trim().to_ascii_lowercase();
    let mut params = Vec::new();
    for p in parts {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        let (k, v) = p.split_once('=')?;
        params.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    Some((domain, params))
}

/// Whether one `issue`/`issuewild` property lets `requester` issue.
fn permits(property: &Caa, requester: &Requester<'_>) -> bool {
    let Some((domain, params)) = parse_issue_value(&property.value) else {
        return false;
    };
    if domain.is_empty()
        || !requester
            .identities
            .iter()
            .any(|i| i.eq_ignore_ascii_case(&domain))
    {
        return false;
    }
    params.iter().all(|(k, v)| match k.as_str() {
        // RFC 8657 §3: exactly this account.
        "accounturi" => v == requester.account_url,
        // RFC 8657 §4: a comma-separated list of ACME method names.
        // Allowed when it names any method the order may use: which one it uses is known only
        // once the CA's challenges are seen.
        "validationmethods" => v
            .split(',')
            .any(|m| requester.method.split(',').any(|want| m.trim() == want)),
        // Parameters this client does not know are the CA's business (RFC 8659 §4.2).
        _ => true,
    })
}

/// RFC 8659 §4: may `requester` issue for a name (`wildcard`: `*.` name) whose relevant
/// record set is `set` (empty: no CAA anywhere up the tree)? `Err` names the record that
/// forbids it.
pub fn check(set: &[Caa], wildcard: bool, requester: &Requester<'_>) -> Result<(), String> {
    if let Some(c) = set
        .iter()
        .find(|c| c.critical() && !matches!(c.tag.as_str(), "issue" | "issuewild" | "iodef"))
    {
        return Err(format!(
            "`{c}` has the critical flag on a property CAs may not understand"
        ));
    }
    let issue: Vec<&Caa> = set.iter().filter(|c| c.tag == "issue").collect();
    let wild: Vec<&Caa> = set.iter().filter(|c| c.tag == "issuewild").collect();
    // §4.3: for a wildcard, issuewild properties take precedence when present.
    let relevant = if wildcard && !wild.is_empty() {
        wild
    } else {
        issue
    };
    if relevant.is_empty() || relevant.iter().any(|c| permits(c, requester)) {
        return Ok(());
    }
    let shown: Vec<String> = relevant.iter().map(|c| format!("`{c}`")).collect();
    Err(format!(
        "{} {} not let {} (account {}) issue by {}",
        shown.join(", "),
        if shown.len() == 1 { "does" } else { "do" },
        requester.identities.join("/"),
        requester.account_url,
        requester.method
    ))
}

/// The names whose CAA sets are searched for `fqdn`, closest first, down to `apex` (RFC 8659
/// §3 climbs to the root; above the zone apex alicert cannot change anything and public
/// suffixes carry no CAA, so it stops there).
pub fn tree(fqdn: &str, apex: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut name = fqdn
        .trim_start_matches("*.")
        .trim_end_matches('.')
        .to_string();
    loop {
        names.push(name.clone());
        if name == apex || !name.ends_with(&format!(".{apex}")) {
            break;
        }
        match name.split_once('.') {
            Some((_, parent)) => name = parent.to_string(),
            None => break,
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://ca.example/acme/acct/7";

    fn req<'a>(ids: &'a [String]) -> Requester<'a> {
        Requester {
            identities: ids,
            account_url: URL,
            method: "dns-01",
        }
    }

    fn set(lines: &[&str]) -> Vec<Caa> {
        lines.iter().map(|l| Caa::parse(l).unwrap()).collect()
    }

    #[test]
    fn parses_what_alidns_stores() {
        let c = Caa::parse("0 issue \"letsencrypt.org; accounturi=https://a/1\"").unwrap();
        assert_eq!((c.flags, c.tag.as_str()), (0, "issue"));
        assert_eq!(c.value, "letsencrypt.org; accounturi=https://a/1");
        assert_eq!(
            c.to_string(),
            "0 issue \"letsencrypt.org; accounturi=https://a/1\""
        );
        assert_eq!(Caa::parse("128 ISSUEWILD ;").unwrap().tag, "issuewild");
        assert!(Caa::parse("x issue \"a\"").is_none());
        assert!(Caa::parse("0").is_none());
    }

    #[test]
    fn rfc_8659_and_8657_decide() {
        let ids = vec!["letsencrypt.org".to_string()];
        let r = req(&ids);
        assert!(check(&[], false, &r).is_ok(), "no CAA: anyone");
        assert!(check(&set(&["0 iodef \"mailto:a@b\""]), false, &r).is_ok());
        assert!(check(&set(&["0 issue \"LetsEncrypt.org\""]), false, &r).is_ok());
        let e = check(&set(&["0 issue \"digicert.com\""]), false, &r).unwrap_err();
        assert!(
            e.contains("`0 issue \"digicert.com\"` does not let letsencrypt.org"),
            "{e}"
        );
        assert!(
            check(&set(&["0 issue \";\""]), false, &r).is_err(),
            "nobody"
        );
        let other_account = format!("0 issue \"letsencrypt.org; accounturi={URL}9\"");
        assert!(check(&set(&[&other_account]), false, &r).is_err());
        let http_only = "0 issue \"letsencrypt.org; validationmethods=http-01\"";
        assert!(check(&set(&[http_only]), false, &r).is_err());
        let ours = managed_record(&r, false).to_string();
        assert!(check(&set(&[&ours, "0 issue \"digicert.com\""]), false, &r).is_ok());
        // Wildcards: issuewild first, issue when there is none.
        assert!(check(&set(&["0 issuewild \";\"", &ours]), true, &r).is_err());
        assert!(check(&set(&["0 issuewild \";\"", &ours]), false, &r).is_ok());
        assert!(check(&set(&[&ours]), true, &r).is_ok());
        let e = check(&set(&["128 tbs \"x\""]), false, &r).unwrap_err();
        assert!(e.contains("critical"), "{e}");
    }

    #[test]
    fn a_persist_order_names_both_methods() {
        let ids = vec!["letsencrypt.org".to_string()];
        let r = Requester {
            method: "dns-persist-01,dns-01",
            ..req(&ids)
        };
        let ours = managed_record(&r, false);
        assert_eq!(
            ours.value,
            format!("letsencrypt.org; accounturi={URL}; validationmethods=dns-persist-01,dns-01")
        );
        assert!(check(&[ours], false, &r).is_ok());
        let persist_only = "0 issue \"letsencrypt.org; validationmethods=dns-persist-01\"";
        assert!(check(&set(&[persist_only]), false, &r).is_ok());
        assert!(check(&set(&[persist_only]), false, &req(&ids)).is_err());
    }

    #[test]
    fn the_tree_climbs_to_the_zone_apex() {
        assert_eq!(
            tree("*.a.b.example.com", "example.com"),
            ["a.b.example.com", "b.example.com", "example.com"]
        );
        assert_eq!(tree("example.com", "example.com"), ["example.com"]);
    }
}
