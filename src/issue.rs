//! On-demand issuance (`{"action":"issue","domains":[...],"targets":[...]}`): a transient
//! certificate built from the event and validated exactly like one from the config file,
//! with its domains limited to `[http] allowed_domains`.
use serde_json::Value;
use sha2::Digest;

use crate::config::{CertificateConfig, Config, KeyType, TargetConfig};
use crate::error::{Error, Result};

/// The certificate an `issue` event asks for, or a clear input error naming the field.
pub fn certificate(
    config: &Config,
    domains: &[String],
    targets: &[Value],
) -> Result<CertificateConfig> {
    let domains = normalize_domains(domains)?;
    if let Some(d) = domains.iter().find(|d| !config.http.allows(d)) {
        return Err(Error::Input(format!(
            "issue: domain `{d}` is not allowed ([http] allowed_domains in {})",
            config.source
        )));
    }
    if targets.is_empty() {
        return Err(Error::Input(
            "issue: `targets` must list where to install the certificate, e.g. [{\"kind\":\"cdn\",\"domain\":\"www.example.com\"}]".into(),
        ));
    }
    let mut parsed = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let target: TargetConfig = serde_json::from_value(t.clone())
            .map_err(|e| Error::Input(format!("issue: targets[{i}]: {e}")))?;
        crate::deploy::check(&target)
            .and_then(|()| crate::deploy::tls::check_covered(&target, &domains))
            .map_err(|e| {
                Error::Input(format!(
                    "issue: targets[{i}] (kind = \"{}\"): {e}",
                    target.kind
                ))
            })?;
        parsed.push(target);
    }
    Ok(CertificateConfig {
        name: name_for(&domains),
        domains,
        key_type: KeyType::default(),
        targets: parsed,
        ..CertificateConfig::default()
    })
}

/// Domains of an issue request to ACME form (IDNA → punycode), validated as a list.
pub fn normalize_domains(domains: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (i, d) in domains.iter().enumerate() {
        out.push(
            crate::domain::normalize(d)
                .map_err(|e| Error::Input(format!("issue: domains[{i}]: {e}")))?,
        );
    }
    crate::domain::validate_list(&out).map_err(|e| Error::Input(format!("issue: domains: {e}")))?;
    Ok(out)
}

/// A stable certificate name for a set of domains: `issue-<first domain>-<hash>`, so repeated
/// requests for the same names share uploads, locks and record remarks.
fn name_for(domains: &[String]) -> String {
    let first: String = domains[0]
        .replace('*', "wildcard")
        .chars()
        .take(24)
        .collect();
    let hash = sha2::Sha256::digest(domains.join(",").as_bytes());
    format!("issue-{first}-{}", hex::encode(&hash[..4]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(allowed: &[&str]) -> Config {
        let mut c = Config {
            source: "t.toml".into(),
            ..Config::default()
        };
        c.http.allowed_domains = allowed.iter().map(|s| s.to_string()).collect();
        c
    }

    #[test]
    fn builds_a_validated_certificate() {
        let c = config(&["example.com"]);
        let cert = certificate(
            &c,
            &["*.Example.com".into(), "www.example.com".into()],
            &[json!({"kind": "cdn", "domain": "www.example.com"})],
        )
        .unwrap();
        assert_eq!(cert.domains, ["*.example.com", "www.example.com"]);
        assert!(cert.name.starts_with("issue-wildcard.example.com-"));
        assert!(cert
            .name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch)));
    }

    #[test]
    fn rejects_what_config_would_reject() {
        let c = config(&["example.com"]);
        let cdn = [json!({"kind": "cdn", "domain": "www.example.com"})];
        for (domains, targets, needle) in [
            (vec!["evil.com"], &cdn[..], "not allowed"),
            (vec!["10.0.0.1"], &cdn[..], "IP address"),
            (vec!["a.*.example.com"], &cdn[..], "first label"),
            (
                vec!["www.example.com", "WWW.example.com"],
                &cdn[..],
                "twice",
            ),
            (vec![], &cdn[..], "no domain names"),
            (vec!["www.example.com"], &[][..], "targets"),
            (
                vec!["www.example.com"],
                &[json!({"kind": "cnd"})][..],
                "unknown target kind",
            ),
            (
                vec!["www.example.com"],
                &[json!({"kind": "cdn"})][..],
                "domain",
            ),
            (
                vec!["www.example.com"],
                &[json!({"kind": "cdn", "domain": 5})][..],
                "domain",
            ),
            (vec!["www.example.com"], &[json!("cdn")][..], "targets[0]"),
        ] {
            let domains: Vec<String> = domains.iter().map(|s| s.to_string()).collect();
            let e = certificate(&c, &domains, targets).unwrap_err();
            assert!(e.is_user_error());
            assert!(e.to_string().contains(needle), "{e} lacks {needle}");
        }
        // Nothing is allowed when allowed_domains is empty.
        let e = certificate(&config(&[]), &["www.example.com".into()], &cdn).unwrap_err();
        assert!(e.to_string().contains("not allowed"));
    }
}
