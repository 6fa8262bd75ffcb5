//! `domains = "covered"`: instead of naming one `domain` (for `esa-saas` one `hostname`), a
//! target table asks alicert to list the account's domains of that product at each run and to
//! deploy to every one the certificate's names cover ([`crate::domain::covered`]: the exact
//! name, or a wildcard covering exactly one label). Each covered domain becomes its own target
//! (its own result, the domain as id), built as if the table had named it.
//!
//! A kind offers this with a [`Discovery`] in its `kinds::KINDS` entry: the key the listed
//! domain is put under and the function that lists (every page) — see `cdn::list_domains`.
//!
//! What a run reports: a listing that fails is one failed target, `<kind> domains=covered`,
//! carrying the listing's error (the certificate fails like any failed read; nothing crashes);
//! a listing that covers nothing is a note on the certificate's result (no target, so nothing
//! is due because of it). A domain an explicit target of the same certificate already names is
//! left to that target.
use std::collections::HashSet;

use async_trait::async_trait;
use futures_util::future::BoxFuture;

use super::kinds::{self, Entry};
use super::{tls, Configured, NewCert, Target, TargetConfig, TargetId};
use crate::aliyun::AliyunClient;
use crate::cert::CertInfo;
use crate::error::{Error, Result};

/// The key that asks for discovery, and its one value.
pub const KEY: &str = "domains";
pub const COVERED: &str = "covered";

/// Every domain of a product the table's account (and region, site, ...) has, all pages.
pub type ListDomains =
    for<'a> fn(&'a toml::Table, &'a AliyunClient) -> BoxFuture<'a, Result<Vec<String>>>;

/// How a kind discovers its domains.
#[derive(Clone, Copy)]
pub struct Discovery {
    /// The key each listed domain is put under (`domain`, `hostname`).
    pub key: &'static str,
    pub list: ListDomains,
}

/// A stand-in for the discovered domain while checking the table's other keys at config load.
const PLACEHOLDER: &str = "covered.example.com";

/// Whether the table asks for discovery: `Ok(Some)` with the kind's [`Discovery`] and the
/// table without `domains`; `Ok(None)` for an ordinary table; `Err` with the key at fault.
/// `params` is the table without `kind` (and without `verify_tls`, which is checked here too).
pub(crate) fn requested(
    entry: &Entry,
    params: &toml::Table,
    verify_tls: bool,
) -> std::result::Result<Option<(Discovery, toml::Table)>, String> {
    let Some(value) = params.get(KEY) else {
        return Ok(None);
    };
    if value.as_str() != Some(COVERED) {
        return Err(format!(
            "`{KEY}` must be the string \"{COVERED}\" (every domain of the account the certificate covers); to name one, use the kind's own key instead"
        ));
    }
    let discovery = entry.discovery.ok_or_else(|| {
        format!(
            "`{KEY} = \"{COVERED}\"` is not supported by kind `{}` (kinds that list their domains: {}); name the resource instead",
            entry.kind,
            supporting().join(", ")
        )
    })?;
    if params.contains_key(discovery.key) {
        return Err(format!(
            "set either `{}` or `{KEY} = \"{COVERED}\"`, not both",
            discovery.key
        ));
    }
    if verify_tls {
        return Err(format!(
            "`verify_tls` names one host; it cannot go with `{KEY} = \"{COVERED}\"` (use a target per domain to verify over TLS)"
        ));
    }
    let mut rest = params.clone();
    rest.remove(KEY);
    Ok(Some((discovery, rest)))
}

/// The kinds whose table may say `domains = "covered"`, in table order.
pub fn supporting() -> Vec<&'static str> {
    kinds::KINDS
        .iter()
        .filter(|e| e.discovery.is_some())
        .map(|e| e.kind.as_str())
        .collect()
}

/// The table as the kind checks it at config load: the placeholder under the kind's key.
pub(crate) fn placeholder(discovery: &Discovery, rest: &toml::Table) -> toml::Table {
    with_domain(discovery, rest, PLACEHOLDER)
}

fn with_domain(discovery: &Discovery, rest: &toml::Table, domain: &str) -> toml::Table {
    let mut table = rest.clone();
    table.insert(discovery.key.into(), toml::Value::String(domain.into()));
    table
}

/// `names` (the certificate's) cover `domain`: one of them is it, or a wildcard covering it.
pub fn covered(names: &[String], domain: &str) -> bool {
    names.iter().any(|n| crate::domain::covers(n, domain))
}

/// What expanding a certificate's targets gave: the targets in config order (a discovering
/// table's covered domains in name order where the table stood) and notes for the result.
pub struct Expanded {
    pub targets: Vec<Configured>,
    pub notes: Vec<String>,
}

/// Build every target of a certificate, listing the domains of each `domains = "covered"`
/// table. A config error fails the whole (as [`super::build`] does); a listing error is a
/// failed target.
pub async fn build_all(
    configs: &[TargetConfig],
    cert_name: &str,
    names: &[String],
    client: &AliyunClient,
) -> Result<Expanded> {
    // Explicit targets first, so a discovered domain they already name is left to them.
    let mut slots: Vec<Option<Vec<Configured>>> = Vec::with_capacity(configs.len());
    let mut seen = HashSet::new();
    for config in configs {
        if discovering(config)?.is_some() {
            slots.push(None);
            continue;
        }
        let built = explicit(config, cert_name, client).await?;
        seen.extend(built.iter().map(|t| t.target_id().to_string()));
        slots.push(Some(built));
    }
    let mut out = Expanded {
        targets: Vec::new(),
        notes: Vec::new(),
    };
    for (config, slot) in configs.iter().zip(slots) {
        if let Some(targets) = slot {
            out.targets.extend(targets);
            continue;
        }
        let (entry, discovery, rest) = discovering(config)?.expect("a discovering table");
        let foreign = config.role_arn.is_some();
        let client = &match super::through::client_for(config, cert_name, client).await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(kind = %entry.kind, error = %e, "assuming the target's role failed");
                out.targets
                    .push(Configured::new(Box::new(Unlisted::new(entry, e)), None));
                continue;
            }
        };
        let listed = (discovery.list)(&rest, client).await;
        let mut domains = match listed {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(kind = %entry.kind, error = %e, "listing the domains for domains = \"covered\" failed");
                out.targets
                    .push(Configured::new(Box::new(Unlisted::new(entry, e)), None));
                continue;
            }
        };
        let total = domains.len();
        domains.retain(|d| covered(names, d));
        domains.sort();
        domains.dedup();
        tracing::info!(kind = %entry.kind, listed = total, covered = domains.len(), "domains = \"covered\"");
        let mut added = 0;
        for domain in &domains {
            let table = with_domain(&discovery, &rest, domain);
            let target = (entry.build)(&table, cert_name, client).map_err(|e| {
                Error::Config(format!(
                    "target kind = \"{}\" {KEY} = \"{COVERED}\": listed domain `{domain}`: {e}",
                    entry.kind
                ))
            })?;
            if seen.insert(target.id().to_string()) {
                out.targets
                    .push(Configured::new(target, None).in_other_account(foreign));
                added += 1;
            }
        }
        if added == 0 {
            out.notes.push(format!(
                "{} {KEY}={COVERED}: none of the {total} {} domains listed is covered by the certificate's names{}",
                entry.kind,
                entry.kind,
                if domains.is_empty() { "" } else { " that another target does not already name" }
            ));
        }
    }
    Ok(out)
}

/// The targets an explicit table names (one, or one per element of its `each` list), with its
/// role's client when it has `role_arn`.
async fn explicit(
    config: &TargetConfig,
    cert_name: &str,
    client: &AliyunClient,
) -> Result<Vec<Configured>> {
    let reach = super::through::client_for(config, cert_name, client).await;
    split(config)?
        .iter()
        .map(|one| match &reach {
            Ok(c) => {
                Ok(super::build(one, cert_name, c)?.in_other_account(config.role_arn.is_some()))
            }
            Err(e) => unreachable(one, cert_name, client, e),
        })
        .collect()
}

/// The target `one` names, failing with `error` (its role could not be assumed): built with
/// `client` only for its id, it makes no call.
fn unreachable(
    one: &TargetConfig,
    cert_name: &str,
    client: &AliyunClient,
    error: &Error,
) -> Result<Configured> {
    let id = super::build(one, cert_name, client)?.target_id().clone();
    tracing::error!(target = %id, error = %error, "assuming the target's role failed");
    let failing = super::through::Unreachable::new(id, error.again());
    Ok(Configured::new(Box::new(failing), None))
}

/// `config` as one table per element of its kind's `each` list (itself for other kinds).
fn split(config: &TargetConfig) -> Result<Vec<TargetConfig>> {
    let key = kinds::find(&config.kind)
        .ok()
        .and_then(|e| e.each)
        .filter(|k| config.params.contains_key(*k));
    let Some(key) = key else {
        return Ok(vec![config.clone()]);
    };
    let Some(list) = config.params[key].as_array() else {
        // Not a list: the kind's own parse says what is wrong.
        return Ok(vec![config.clone()]);
    };
    Ok(list
        .iter()
        .map(|one| {
            let mut c = config.clone();
            c.params
                .insert(key.into(), toml::Value::Array(vec![one.clone()]));
            c
        })
        .collect())
}

type Discovering = (&'static Entry, Discovery, toml::Table);

/// The kind entry, its discovery and the table without `domains`, when `config` asks for it.
fn discovering(config: &TargetConfig) -> Result<Option<Discovering>> {
    let fail = |e: String| Error::Config(format!("target kind = \"{}\": {e}", config.kind));
    let (params, verify_tls) = tls::split_verify_tls(&config.params).map_err(fail)?;
    let entry = kinds::find(&config.kind).map_err(fail)?;
    Ok(requested(entry, &params, verify_tls.is_some())
        .map_err(fail)?
        .map(|(d, rest)| (entry, d, rest)))
}

/// The target a failed listing stands as: `<kind> domains=covered`, whose read reports the
/// listing's error, so the certificate's result shows it where the domains would be.
struct Unlisted {
    id: TargetId,
    error: Error,
}

impl Unlisted {
    fn new(entry: &Entry, error: Error) -> Unlisted {
        Unlisted {
            id: TargetId::new(entry.kind, format!("{KEY}={COVERED}")),
            error,
        }
    }

    fn error(&self) -> Error {
        let context = format!("listing the domains for {KEY} = \"{COVERED}\"");
        match &self.error {
            Error::Aliyun {
                action,
                code,
                message,
                request_id,
                http_status,
            } => Error::Aliyun {
                action: action.clone(),
                code: code.clone(),
                message: message.clone(),
                request_id: request_id.clone(),
                http_status: *http_status,
            },
            Error::Transport { action, message } => Error::Transport {
                action: action.clone(),
                message: message.clone(),
            },
            Error::Config(m) => Error::Config(format!("{context}: {m}")),
            other => Error::Deploy(format!("{context}: {other}")),
        }
    }
}

#[async_trait]
impl Target for Unlisted {
    fn id(&self) -> TargetId {
        self.id.clone()
    }

    async fn current(&self) -> Result<Option<CertInfo>> {
        Err(self.error())
    }

    async fn deploy(&self, _cert: &NewCert<'_>) -> Result<()> {
        Err(self.error())
    }
}

capabilities!(Unlisted: none);

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["example.com".into(), "*.example.com".into()]
    }

    #[test]
    fn a_wildcard_covers_exactly_one_label() {
        let names = names();
        for yes in [
            "example.com",
            "a.example.com",
            "WWW.Example.com",
            "*.example.com",
        ] {
            assert!(covered(&names, yes), "{yes}");
        }
        for no in [
            "a.b.example.com",
            "*.a.example.com",
            "example.org",
            "badexample.com",
            "a.example.com.evil.com",
        ] {
            assert!(!covered(&names, no), "{no}");
        }
        assert!(!covered(&["a.example.com".to_string()], "example.com"));
        assert!(!covered(&["*.example.com".to_string()], "example.com"));
    }

    fn check(text: &str) -> std::result::Result<(), String> {
        super::super::check(&toml::from_str::<TargetConfig>(text).unwrap())
    }

    #[test]
    fn config_errors_name_the_key_and_the_fix() {
        check("kind = \"cdn\"\ndomains = \"covered\"").unwrap();
        check("kind = \"dcdn\"\ndomains = \"covered\"").unwrap();
        let cases = [
            ("kind = \"cdn\"\ndomains = \"all\"", "`domains` must be the string \"covered\""),
            ("kind = \"cdn\"\ndomains = [\"a.example.com\"]", "`domains` must be the string"),
            (
                "kind = \"cdn\"\ndomains = \"covered\"\ndomain = \"a.example.com\"",
                "set either `domain` or `domains = \"covered\"`, not both",
            ),
            (
                "kind = \"slb\"\ndomains = \"covered\"\nload_balancer_id = \"lb-1\"\nlistener_port = 443",
                "not supported by kind `slb` (kinds that list their domains: cdn, dcdn",
            ),
            (
                "kind = \"cdn\"\ndomains = \"covered\"\nverify_tls = \"a.example.com:443\"",
                "`verify_tls` names one host",
            ),
            ("kind = \"cdn\"\ndomains = \"covered\"\nextra = 1", "unknown key `extra`"),
        ];
        for (text, want) in cases {
            let e = check(text).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[tokio::test]
    async fn a_resource_list_is_one_target_per_resource() {
        let creds = crate::aliyun::Credentials {
            access_key_id: "id".into(),
            access_key_secret: crate::secret::Secret::new("s"),
            security_token: None,
        };
        let client = AliyunClient::new(creds, "cn-hangzhou", &Default::default()).unwrap();
        let configs: Vec<TargetConfig> = [
            "kind = \"cas-deploy\"\nresource_ids = [3, 1, 2]",
            "kind = \"cdn\"\ndomain = \"www.example.com\"",
        ]
        .iter()
        .map(|t| toml::from_str(t).unwrap())
        .collect();
        let built = build_all(&configs, "c", &names(), &client).await.unwrap();
        let ids: Vec<String> = built
            .targets
            .iter()
            .map(|t| t.target_id().to_string())
            .collect();
        assert_eq!(
            ids,
            [
                "cas-deploy 3",
                "cas-deploy 1",
                "cas-deploy 2",
                "cdn www.example.com"
            ]
        );
        assert!(built.notes.is_empty());
    }

    #[test]
    fn a_listing_error_keeps_its_code() {
        let e = Error::Aliyun {
            action: "DescribeUserDomains".into(),
            code: "Forbidden.RAM".into(),
            message: "denied".into(),
            request_id: "r-1".into(),
            http_status: 403,
        };
        let entry = kinds::find("cdn").unwrap();
        let u = Unlisted::new(entry, e);
        assert_eq!(u.id.to_string(), "cdn domains=covered");
        match u.error() {
            Error::Aliyun { code, .. } => assert_eq!(code, "Forbidden.RAM"),
            other => panic!("{other}"),
        }
    }
}
