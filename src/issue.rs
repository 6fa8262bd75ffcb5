//! On-demand issuance (`{"action":"issue","domains":[...],"target_set":"web"}`): a transient
//! certificate for the requested domains, deployed only to a target set the configuration
//! names (`[http.target_sets]`), its domains limited to `[http] allowed_domains` (and the set's
//! own `allowed_domains`). A caller never supplies a target: SPEC's `"targets": [...]` list is
//! accepted only when it equals a configured set exactly, and then that set is used.
use serde_json::Value;
use sha2::Digest;

use crate::config::{CertificateConfig, Config, KeyType, TargetConfig};
use crate::error::{Error, Result};
use crate::event::IssueTargets;
use crate::http_access::TargetSet;

/// Why an issue request is refused: the HTTP trigger answers 403 or 400.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// A domain, target set or target list the configuration does not allow (403).
    Forbidden(String),
    /// Malformed (400).
    Invalid(String),
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Error {
        match r {
            Refusal::Forbidden(m) | Refusal::Invalid(m) => Error::Input(m),
        }
    }
}

/// The certificate an `issue` event asks for, or a clear input error naming the field.
pub fn certificate(
    config: &Config,
    domains: &[String],
    targets: &IssueTargets,
) -> Result<CertificateConfig> {
    Ok(resolve(config, domains, targets)?)
}

/// [`certificate`], saying whether a refusal is a 403 or a 400. Nothing here touches the
/// network: every check is against the configuration.
pub fn resolve(
    config: &Config,
    domains: &[String],
    targets: &IssueTargets,
) -> std::result::Result<CertificateConfig, Refusal> {
    let domains = normalize_domains(domains).map_err(|e| Refusal::Invalid(message(e)))?;
    let (set_name, set) = target_set(config, targets)?;
    let src = &config.source;
    if let Some(d) = domains.iter().find(|d| !config.http.allows(d)) {
        return Err(Refusal::Forbidden(format!(
            "issue: domain `{d}` is not in [http] allowed_domains ({src})"
        )));
    }
    if let Some(d) = domains.iter().find(|d| !set.allows(d)) {
        return Err(Refusal::Forbidden(format!(
            "issue: domain `{d}` is not in [http.target_sets] {set_name} allowed_domains ({src})"
        )));
    }
    // A set's `verify_tls` host must be a name this certificate covers (tls.rs).
    for (i, t) in set.targets.iter().enumerate() {
        crate::deploy::tls::check_covered(t, &domains).map_err(|e| {
            Refusal::Invalid(format!(
                "issue: [http.target_sets] {set_name} targets[{i}] (kind = \"{}\"): {e}",
                t.kind
            ))
        })?;
    }
    Ok(CertificateConfig {
        name: name_for(set_name, &domains),
        domains,
        key_type: KeyType::default(),
        targets: set.targets.clone(),
        ..CertificateConfig::default()
    })
}

fn message(e: Error) -> String {
    match e {
        Error::Input(m) | Error::Config(m) => m,
        other => other.to_string(),
    }
}

/// The configured set a request names, or the one its target list equals.
fn target_set<'c>(
    config: &'c Config,
    targets: &IssueTargets,
) -> std::result::Result<(&'c str, &'c TargetSet), Refusal> {
    let sets = &config.http.target_sets;
    let known = || {
        if sets.is_empty() {
            format!(
                "none is configured: add [http.target_sets] to {}",
                config.source
            )
        } else {
            let names: Vec<&str> = sets.keys().map(String::as_str).collect();
            format!("known: {}", names.join(", "))
        }
    };
    match targets {
        IssueTargets::Named(name) => sets
            .get_key_value(name)
            .map(|(k, v)| (k.as_str(), v))
            .ok_or_else(|| {
                Refusal::Forbidden(format!(
                    "issue: no target set named `{}` in [http.target_sets] ({})",
                    name.escape_debug(),
                    known()
                ))
            }),
        IssueTargets::Listed(list) => {
            if list.is_empty() {
                return Err(Refusal::Invalid(
                    "issue: `target_set` must name where to install the certificate (one of [http.target_sets])".into(),
                ));
            }
            let mut wanted = Vec::new();
            for (i, t) in list.iter().enumerate() {
                if !t.is_object() {
                    return Err(Refusal::Invalid(format!(
                        "issue: targets[{i}] must be a table like {{\"kind\":\"cdn\",\"domain\":\"www.example.com\"}}"
                    )));
                }
                wanted.push(canonical_json(t));
            }
            wanted.sort();
            sets.iter()
                .find(|(_, set)| {
                    let mut have: Vec<String> = set.targets.iter().map(canonical).collect();
                    have.sort();
                    have == wanted
                })
                .map(|(k, v)| (k.as_str(), v))
                .ok_or_else(|| {
                    Refusal::Forbidden(format!(
                        "issue: `targets` is not one of [http.target_sets]; name a set with \"target_set\" ({})",
                        known()
                    ))
                })
        }
    }
}

/// A target as compact JSON with sorted keys (serde_json's map is ordered), so a caller's
/// list and a configured set compare exactly, whatever the key order.
fn canonical(t: &TargetConfig) -> String {
    let mut obj = serde_json::to_value(&t.params).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut obj {
        m.insert("kind".into(), Value::String(t.kind.clone()));
    }
    canonical_json(&obj)
}

fn canonical_json(v: &Value) -> String {
    v.to_string()
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

/// A stable certificate name for a set of domains deployed to one target set:
/// `issue-<first domain>-<hash>`, so repeated requests share uploads, locks and record
/// remarks, and the same domains on two sets never share (or retire) each other's copies.
fn name_for(set: &str, domains: &[String]) -> String {
    let first: String = domains[0]
        .replace('*', "wildcard")
        .chars()
        .take(24)
        .collect();
    let hash = sha2::Sha256::digest(format!("{set}\n{}", domains.join(",")).as_bytes());
    format!("issue-{first}-{}", hex::encode(&hash[..4]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(allowed: &[&str]) -> Config {
        let text = format!(
            r#"
[acme]
account_key = "file:/k.pem"
[http]
allowed_domains = {allowed:?}
[http.target_sets]
web = [ {{ kind = "cdn", domain = "www.example.com" }}, {{ kind = "cdn", domain = "static.example.com" }} ]
shop = {{ targets = [ {{ kind = "cdn", domain = "shop.example.com" }} ], allowed_domains = ["shop.example.com"] }}
"#
        );
        let c = Config::parse(&text, "t.toml").unwrap();
        c.validate().unwrap();
        c
    }

    fn named(n: &str) -> IssueTargets {
        IssueTargets::Named(n.into())
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn builds_a_validated_certificate_on_a_configured_set() {
        let c = config(&["example.com"]);
        let cert = certificate(
            &c,
            &strings(&["*.Example.com", "www.example.com"]),
            &named("web"),
        )
        .unwrap();
        assert_eq!(cert.domains, ["*.example.com", "www.example.com"]);
        assert_eq!(cert.targets.len(), 2);
        assert_eq!(
            cert.targets[1].params["domain"].as_str(),
            Some("static.example.com")
        );
        assert!(cert.name.starts_with("issue-wildcard.example.com-"));
        assert!(cert
            .name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch)));
        // The same domains on another set get another name.
        let shop = resolve(&c, &strings(&["shop.example.com"]), &named("shop")).unwrap();
        let web = resolve(&c, &strings(&["shop.example.com"]), &named("web")).unwrap();
        assert_ne!(shop.name, web.name);
    }

    #[test]
    fn a_target_list_only_selects_a_set_it_equals() {
        let c = config(&["example.com"]);
        let d = strings(&["www.example.com"]);
        // Same targets, other order and key order: that set.
        let list = IssueTargets::Listed(vec![
            json!({"domain": "static.example.com", "kind": "cdn"}),
            json!({"kind": "cdn", "domain": "www.example.com"}),
        ]);
        let cert = resolve(&c, &d, &list).unwrap();
        assert_eq!(cert.name, resolve(&c, &d, &named("web")).unwrap().name);
        for other in [
            // A subset, a superset, another target, an extra key: not a configured set.
            vec![json!({"kind": "cdn", "domain": "www.example.com"})],
            vec![
                json!({"kind": "cdn", "domain": "www.example.com"}),
                json!({"kind": "cdn", "domain": "static.example.com"}),
                json!({"kind": "cdn", "domain": "evil.example.com"}),
            ],
            vec![json!({"kind": "oss-bundle", "bucket": "attacker", "prefix": "x/"})],
            vec![
                json!({"kind": "cdn", "domain": "www.example.com", "verify_tls": "10.0.0.1:22"}),
                json!({"kind": "cdn", "domain": "static.example.com"}),
            ],
        ] {
            match resolve(&c, &d, &IssueTargets::Listed(other.clone())) {
                Err(Refusal::Forbidden(m)) => assert!(m.contains("known: shop, web"), "{m}"),
                x => panic!("{other:?}: {x:?}"),
            }
        }
    }

    #[test]
    fn refusals_say_403_or_400() {
        let c = config(&["example.com"]);
        for (domains, targets, forbidden, needle) in [
            (vec!["evil.com"], named("web"), true, "allowed_domains"),
            (
                vec!["www.example.com"],
                named("nope"),
                true,
                "no target set named `nope`",
            ),
            (
                vec!["www.example.com"],
                named("shop"),
                true,
                "[http.target_sets] shop allowed_domains",
            ),
            (vec!["10.0.0.1"], named("web"), false, "IP address"),
            (vec!["a.*.example.com"], named("web"), false, "first label"),
            (
                vec!["www.example.com", "WWW.example.com"],
                named("web"),
                false,
                "twice",
            ),
            (vec![], named("web"), false, "no domain names"),
            (
                vec!["www.example.com"],
                IssueTargets::Listed(vec![]),
                false,
                "target_set",
            ),
            (
                vec!["www.example.com"],
                IssueTargets::Listed(vec![json!("cdn")]),
                false,
                "targets[0]",
            ),
        ] {
            let r = resolve(&c, &strings(&domains), &targets).unwrap_err();
            let (is_forbidden, m) = match &r {
                Refusal::Forbidden(m) => (true, m),
                Refusal::Invalid(m) => (false, m),
            };
            assert_eq!(is_forbidden, forbidden, "{m}");
            assert!(m.contains(needle), "{m} lacks {needle}");
            assert!(Error::from(r.clone()).is_user_error());
        }
        // Nothing is allowed when allowed_domains is empty, nor without any target set.
        let e = resolve(&config(&[]), &strings(&["www.example.com"]), &named("web")).unwrap_err();
        assert!(matches!(e, Refusal::Forbidden(_)));
        let bare = Config {
            source: "b.toml".into(),
            ..Config::default()
        };
        match resolve(&bare, &strings(&["www.example.com"]), &named("web")) {
            Err(Refusal::Forbidden(m)) => assert!(m.contains("none is configured"), "{m}"),
            x => panic!("{x:?}"),
        }
    }
}
