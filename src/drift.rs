//! Drift: a target that now serves a certificate alicert did not deploy there (a console edit,
//! another tool). alicert keeps no state, so it decides from what the target reports:
//!
//! 1. **By name**, where the service reports the name it keeps the certificate under beside
//!    the PEM ([`CertInfo::deployed_as`]): the CAS certificate name for every kind that binds a
//!    CAS id (slb, alb, nlb, ga, waf, apig, oss, ddos, cas-deploy), `CertName` for cdn, dcdn,
//!    vod and live, `certConfig.certName` for fc and fc2, `CertificateName` for apigateway. alicert names each upload `alicert-<certificate name>-<first 16 hex digits of the
//!    serial>` ([`naming::upload_name`]); any other name, or alicert's name for another
//!    certificate or another serial, is drift.
//! 2. **By names served**, where the service reports no such name (the other kinds): drift
//!    when the certificate's DNS names differ from the configured `domains` as a set. Such a
//!    kind cannot tell a foreign certificate for exactly the configured names from alicert's,
//!    and a change of `domains` in the config shows as drift until the next renewal.
//!
//! A target drifted by name is left as it is until the certificate it serves is due by its own
//! dates (expiry, ARI, revocation; not covering the configured names does not count: someone
//! chose it), then replaced as usual; `force` replaces it at once. A target drifted by names
//! is only reported: it is renewed by the usual rules, since a change of `domains` looks the
//! same.
use std::collections::BTreeSet;

use crate::cert::CertInfo;
use crate::naming;
use crate::result::{Drift, DriftAction};

/// A certificate judged not alicert's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub reason: String,
    pub basis: Basis,
}

/// How a [`Finding`] was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The service's name for it is not alicert's: certain, so it is judged by its own dates.
    Name,
    /// Its DNS names differ from the configured ones: as likely a change of `domains` in the
    /// config, so it is renewed by the usual rules (reported, never held back).
    Names,
}

/// Why `served` (on a target of certificate `cert_name` with `domains`) is not alicert's, or
/// None when it is.
pub fn judge(cert_name: &str, domains: &[String], served: &CertInfo) -> Option<Finding> {
    match &served.deployed_as {
        Some(label) => by_label(cert_name, served, label).map(|reason| Finding {
            reason,
            basis: Basis::Name,
        }),
        None => by_names(domains, served).map(|reason| Finding {
            reason,
            basis: Basis::Names,
        }),
    }
}

fn by_label(cert_name: &str, served: &CertInfo, label: &str) -> Option<String> {
    let ours = naming::upload_name(cert_name, &served.serial);
    if label == ours {
        return None;
    }
    let whose = match naming::upload_owner(label) {
        Some(owner) if naming::is_upload_of(cert_name, label) => {
            format!("alicert's name for another serial of `{owner}`")
        }
        Some(owner) => format!("alicert's name for certificate `{owner}`"),
        None => "a name alicert does not give".to_string(),
    };
    Some(format!(
        "the service keeps it as `{label}` ({whose}); alicert would have named it `{ours}`"
    ))
}

fn by_names(domains: &[String], served: &CertInfo) -> Option<String> {
    let set = |names: &[String]| -> BTreeSet<String> {
        names.iter().map(|n| n.to_ascii_lowercase()).collect()
    };
    let (have, want) = (set(&served.names), set(domains));
    if have == want {
        return None;
    }
    let list = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(", ");
    Some(format!(
        "it names {} but the certificate is configured for {} (this kind reports no certificate name, so the names are compared)",
        list(&have),
        list(&want)
    ))
}

/// The result's `drift` object for `served`, judged drifted because of `reason`.
pub fn report(served: &CertInfo, reason: String, action: DriftAction) -> Drift {
    Drift {
        serial: served.serial.clone(),
        issuer: served.issuer.clone(),
        not_after: served.not_after_rfc3339(),
        names: served.names.clone(),
        deployed_as: served.deployed_as.clone(),
        reason,
        action,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(names: &[&str], serial: &str, label: Option<&str>) -> CertInfo {
        let now = time::OffsetDateTime::now_utc();
        CertInfo {
            serial: serial.into(),
            not_before: now,
            not_after: now + time::Duration::days(60),
            names: names.iter().map(|s| s.to_string()).collect(),
            issuer: "CN=Someone".into(),
            fingerprint_sha256: String::new(),
            der: Vec::new(),
            chain: Vec::new(),
            deployed_as: label.map(String::from),
        }
    }

    fn domains(d: &[&str]) -> Vec<String> {
        d.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_named_certificate_is_ours_only_under_our_exact_name_for_its_serial() {
        let want = domains(&["www.example.com"]);
        let ours = naming::upload_name("www", "abc123");
        assert_eq!(
            judge("www", &want, &served(&["x.other"], "abc123", Some(&ours))),
            None,
            "by name, the names served do not matter"
        );
        let other_serial = naming::upload_name("www", "def456");
        let why = judge(
            "www",
            &want,
            &served(&["www.example.com"], "abc123", Some(&other_serial)),
        )
        .unwrap()
        .reason;
        assert!(why.contains("another serial of `www`"), "{why}");
        let other_cert = naming::upload_name("www-api", "abc123");
        let why = judge(
            "www",
            &want,
            &served(&["www.example.com"], "abc123", Some(&other_cert)),
        )
        .unwrap()
        .reason;
        assert!(why.contains("certificate `www-api`"), "{why}");
        let found = judge(
            "www",
            &want,
            &served(&["www.example.com"], "abc123", Some("manual")),
        )
        .unwrap();
        assert_eq!(found.basis, Basis::Name);
        let why = found.reason;
        assert!(why.contains("`manual`") && why.contains(&ours), "{why}");
    }

    #[test]
    fn an_unnamed_certificate_is_ours_when_it_names_exactly_the_domains() {
        let want = domains(&["example.com", "*.example.com"]);
        let same = served(&["*.example.com", "EXAMPLE.com"], "1", None);
        assert_eq!(judge("www", &want, &same), None);
        let more = served(&["example.com", "*.example.com", "x.org"], "1", None);
        let found = judge("www", &want, &more).unwrap();
        assert_eq!(found.basis, Basis::Names);
        assert!(found.reason.contains("x.org"), "{found:?}");
        let fewer = served(&["example.com"], "1", None);
        assert!(judge("www", &want, &fewer).is_some());
    }
}
