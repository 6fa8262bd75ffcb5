//! dns-persist-01 (draft-ietf-acme-dns-persist): the TXT record at `_validation-persist.<name>`
//! that authorises one CA (its issuer domain name) and one ACME account to issue for `<name>`
//! for as long as the record stays, so renewals need no DNS write. Pure logic here: the value
//! alicert writes, the parser (the rules of upstream Pebble's validator, `va/va.go`
//! `validateDNSPersist01`: RFC 8659 issue-value syntax, `accounturi` mandatory, `policy` and
//! `persistUntil` optional), what to do with the records already at the name, and which of
//! alicert's records belong to a certificate no longer configured.
//!
//! alicert marks its records with the remark every record it creates gets (`sweep.rs`); the
//! crash sweep only ever looks at `_acme-challenge` names, so it never touches these.
use super::sweep;

/// The record name's first label.
pub const LABEL: &str = "_validation-persist";

/// `_validation-persist.<name>` for an identifier (`*.` dropped: a wildcard and its base share
/// the record, which then carries `policy=wildcard`).
pub fn record_name(identifier: &str) -> String {
    format!("{LABEL}.{}", identifier.trim_start_matches("*."))
}

/// Whether a record named `rr` (relative to its zone) is a dns-persist-01 record.
pub fn is_persist_rr(rr: &str) -> bool {
    rr == LABEL || rr.starts_with(&format!("{LABEL}."))
}

/// What the record must say for one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted<'a> {
    /// The issuer domain names the CA offered in the challenge (any one will do).
    pub issuers: &'a [String],
    pub account_url: &'a str,
    /// A wildcard identifier of the name is in the order: `policy=wildcard` is needed.
    pub wildcard: bool,
}

impl Wanted<'_> {
    /// The value alicert writes: `<issuer>; accounturi=<url>[; policy=wildcard]`, with the
    /// first issuer domain name the CA offered.
    pub fn value(&self) -> String {
        let issuer = self.issuers.first().map(String::as_str).unwrap_or_default();
        let mut v = format!("{issuer}; accounturi={}", self.account_url);
        if self.wildcard {
            v.push_str("; policy=wildcard");
        }
        v
    }

    /// Whether the record value `text` lets this CA and account validate the name now.
    pub fn authorised_by(&self, text: &str, unix_now: i64) -> bool {
        let Some(v) = Value::parse(text) else {
            return false;
        };
        self.issuers.contains(&v.issuer)
            && v.account_uri.as_deref() == Some(self.account_url)
            && (!self.wildcard || v.wildcard)
            && v.persist_until.is_none_or(|t| unix_now <= t)
    }

    /// Whether `text` is meant for this CA (names one of its issuer domain names).
    pub fn addresses(&self, text: &str) -> bool {
        self.issuers.iter().any(|i| *i == issuer_of(text))
    }
}

/// A parsed record value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub issuer: String,
    pub account_uri: Option<String>,
    /// `policy=wildcard` (case-insensitive; any other policy value counts as none).
    pub wildcard: bool,
    pub persist_until: Option<i64>,
}

/// RFC 8659 whitespace (space, tab).
fn trim_wsp(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// The issuer domain name: what precedes the first `;`.
fn issuer_of(text: &str) -> &str {
    trim_wsp(text.split(';').next().unwrap_or_default())
}

impl Value {
    /// None when the value is malformed for a CA that follows the draft (empty or duplicate
    /// parameter, a value with whitespace or non-ASCII, a bad `persistUntil`) or names no issuer.
    pub fn parse(text: &str) -> Option<Value> {
        let mut parts = text.split(';');
        let issuer = trim_wsp(parts.next()?);
        if issuer.is_empty() {
            return None;
        }
        let mut v = Value {
            issuer: issuer.to_string(),
            account_uri: None,
            wildcard: false,
            persist_until: None,
        };
        let mut seen: Vec<String> = Vec::new();
        for param in parts {
            let (tag, value) = trim_wsp(param).split_once('=')?;
            let (tag, value) = (trim_wsp(tag).to_ascii_lowercase(), trim_wsp(value));
            let value_ok = value
                .bytes()
                .all(|b| (0x21..=0x3a).contains(&b) || (0x3c..=0x7e).contains(&b));
            if tag.is_empty() || seen.contains(&tag) || !value_ok {
                return None;
            }
            match tag.as_str() {
                "accounturi" if value.is_empty() => return None,
                "accounturi" => v.account_uri = Some(value.to_string()),
                "policy" => v.wildcard = value.eq_ignore_ascii_case("wildcard"),
                "persistuntil" => v.persist_until = Some(value.parse().ok()?),
                _ => {}
            }
            seen.push(tag);
        }
        Some(v)
    }
}

/// A TXT record at a `_validation-persist` name, as the provider lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    pub id: String,
    pub value: String,
    /// Its remark is alicert's for this certificate.
    pub ours: bool,
    /// Its remark is alicert's (any certificate).
    pub alicert: bool,
}

/// What to do at one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// A record there already authorises this CA and account: no write. Its value.
    Keep(String),
    /// Rewrite alicert's own record of this certificate in place (a new account, another CA).
    Update {
        id: String,
    },
    Create,
    /// A record alicert did not create binds this CA to something else: not alicert's to
    /// change, and adding a second binding beside it would widen who may issue for the name.
    Refuse(String),
}

pub fn plan(existing: &[Existing], wanted: &Wanted<'_>, unix_now: i64) -> Plan {
    if let Some(r) = existing
        .iter()
        .find(|r| wanted.authorised_by(&r.value, unix_now))
    {
        return Plan::Keep(r.value.clone());
    }
    if let Some(r) = existing.iter().find(|r| r.ours) {
        return Plan::Update { id: r.id.clone() };
    }
    match existing
        .iter()
        .find(|r| !r.alicert && wanted.addresses(&r.value))
    {
        Some(r) => Plan::Refuse(r.value.clone()),
        None => Plan::Create,
    }
}

/// Whether alicert's record (remark `remark`, value `value`) belongs to a certificate that is
/// not among `configured` and was written for `account_url`: only then is it removed. The
/// account condition keeps a second alicert deployment (its own ACME account) sharing the
/// Alidns account from deleting this one's records.
pub fn is_orphan(
    remark: Option<&str>,
    value: &str,
    configured: &[String],
    account_url: &str,
) -> bool {
    let Some(remark) = remark.filter(|r| sweep::parse_remark(r).is_some()) else {
        return false;
    };
    let account = Value::parse(value).and_then(|v| v.account_uri);
    account.as_deref() == Some(account_url)
        && !configured
            .iter()
            .any(|name| sweep::is_remark_of(name, remark))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "https://ca.example/acct/1";
    const NOW: i64 = 1_800_000_000;

    fn wanted(issuers: &[String], wildcard: bool) -> Wanted<'_> {
        Wanted {
            issuers,
            account_url: ACCOUNT,
            wildcard,
        }
    }

    fn rec(id: &str, value: &str, ours: bool, alicert: bool) -> Existing {
        Existing {
            id: id.into(),
            value: value.into(),
            ours,
            alicert,
        }
    }

    #[test]
    fn values_are_written_as_the_draft_shows() {
        let issuers = vec!["letsencrypt.org".to_string(), "other.org".to_string()];
        assert_eq!(
            wanted(&issuers, false).value(),
            "letsencrypt.org; accounturi=https://ca.example/acct/1"
        );
        assert_eq!(
            wanted(&issuers, true).value(),
            "letsencrypt.org; accounturi=https://ca.example/acct/1; policy=wildcard"
        );
        assert_eq!(
            record_name("*.example.com"),
            "_validation-persist.example.com"
        );
        assert_eq!(
            record_name("a.example.com"),
            "_validation-persist.a.example.com"
        );
        assert!(is_persist_rr("_validation-persist") && is_persist_rr("_validation-persist.www"));
        assert!(!is_persist_rr("_validation-persistx") && !is_persist_rr("_acme-challenge"));
    }

    #[test]
    fn parsing_follows_the_validator() {
        let v = Value::parse(
            " ca.org ;AccountURI=https://x/1 ;\tPolicy=WILDCARD; persistUntil=1900000000",
        )
        .unwrap();
        assert_eq!(v.issuer, "ca.org");
        assert_eq!(v.account_uri.as_deref(), Some("https://x/1"));
        assert!(v.wildcard);
        assert_eq!(v.persist_until, Some(1_900_000_000));
        // Any other policy value is no policy; unknown tags are ignored.
        let v = Value::parse("ca.org; accounturi=https://x/1; policy=other; foo=bar").unwrap();
        assert!(!v.wildcard);
        for bad in [
            "",
            " ; accounturi=https://x/1",
            "ca.org; accounturi=https://x/1;",
            "ca.org; accounturi",
            "ca.org; =x",
            "ca.org; accounturi=",
            "ca.org; accounturi=a; accounturi=b",
            "ca.org; accounturi=a b",
            "ca.org; accounturi=é",
            "ca.org; persistUntil=soon",
        ] {
            assert_eq!(Value::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn authorisation_needs_issuer_account_policy_and_time() {
        let issuers = vec!["ca.org".to_string()];
        let plain = wanted(&issuers, false);
        let wild = wanted(&issuers, true);
        let good = format!("ca.org; accounturi={ACCOUNT}");
        assert!(plain.authorised_by(&good, NOW));
        assert!(
            !wild.authorised_by(&good, NOW),
            "wildcard needs policy=wildcard"
        );
        assert!(wild.authorised_by(&format!("{good}; policy=wildcard"), NOW));
        assert!(plain.authorised_by(&format!("{good}; policy=wildcard"), NOW));
        assert!(!plain.authorised_by(&format!("other.org; accounturi={ACCOUNT}"), NOW));
        assert!(!plain.authorised_by("ca.org; accounturi=https://ca.example/acct/2", NOW));
        assert!(
            !plain.authorised_by("ca.org", NOW),
            "accounturi is mandatory"
        );
        assert!(!plain.authorised_by(&format!("{good}; persistUntil={}", NOW - 1), NOW));
        assert!(plain.authorised_by(&format!("{good}; persistUntil={NOW}"), NOW));
    }

    #[test]
    fn plans() {
        let issuers = vec!["ca.org".to_string()];
        let w = wanted(&issuers, false);
        let good = format!("ca.org; accounturi={ACCOUNT}");
        let stale = "ca.org; accounturi=https://ca.example/acct/0";
        assert_eq!(plan(&[], &w, NOW), Plan::Create);
        // Anyone's record that already authorises: nothing to write.
        assert_eq!(
            plan(&[rec("1", &good, false, false)], &w, NOW),
            Plan::Keep(good.clone())
        );
        // Ours with the old account: in place.
        assert_eq!(
            plan(&[rec("1", stale, true, true)], &w, NOW),
            Plan::Update { id: "1".into() }
        );
        // A foreign binding of this CA to another account: refused, named.
        assert_eq!(
            plan(&[rec("1", stale, false, false)], &w, NOW),
            Plan::Refuse(stale.into())
        );
        // Another CA's record, or another alicert certificate's: ours goes beside it.
        assert_eq!(
            plan(
                &[rec("1", "other.org; accounturi=https://o/1", false, false)],
                &w,
                NOW
            ),
            Plan::Create
        );
        assert_eq!(plan(&[rec("1", stale, false, true)], &w, NOW), Plan::Create);
        // A wildcard needs policy=wildcard: our plain record is rewritten.
        let wild = wanted(&issuers, true);
        assert_eq!(
            plan(&[rec("7", &good, true, true)], &wild, NOW),
            Plan::Update { id: "7".into() }
        );
    }

    #[test]
    fn orphans_are_alicert_records_of_unconfigured_certificates_for_this_account() {
        let configured = vec!["www".to_string()];
        let value = format!("ca.org; accounturi={ACCOUNT}");
        let gone = sweep::remark("old", NOW);
        let kept = sweep::remark("www", NOW);
        assert!(is_orphan(Some(&gone), &value, &configured, ACCOUNT));
        assert!(!is_orphan(Some(&kept), &value, &configured, ACCOUNT));
        assert!(
            !is_orphan(None, &value, &configured, ACCOUNT),
            "unmarked: foreign"
        );
        assert!(!is_orphan(Some("certbot"), &value, &configured, ACCOUNT));
        assert!(
            !is_orphan(
                Some(&gone),
                "ca.org; accounturi=https://other/9",
                &configured,
                ACCOUNT
            ),
            "another deployment's account"
        );
    }
}
