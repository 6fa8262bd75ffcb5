//! `alicert init`: a commented alicert.toml, from `--domain` flags (one certificate per
//! domain, stored in CAS) and/or a scan (`--from-scan`). A scan's endpoints are grouped into
//! certificates by the domain each serves: domains sharing a parent (two or more of them, or
//! a `*.parent` endpoint) get one certificate for `*.parent` (and the parent itself when an
//! endpoint serves it); every other domain its own. The parent must have two labels or more,
//! so no `*.com` is ever proposed. Endpoints serving no certificate (turning HTTPS on is the
//! user's decision), those that could not be read, and the kinds not scanned are written as
//! comments with the reason. The text is checked to load and validate before it is returned.
use std::collections::{BTreeMap, BTreeSet};

use super::{Endpoint, Health, ScanReport};
use crate::config::Config;
use crate::error::{Error, Result};

/// `alicert init`'s flags (the scan, if any, is run by the caller).
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    /// `--domain`: one certificate each (target: CAS).
    pub domains: Vec<String>,
    /// `--account-key` (default `kms:alicert/account`).
    pub account_key: Option<String>,
    /// `--ca`: an alias or a directory URL (default `letsencrypt`).
    pub ca: Option<String>,
    /// `--email`: the ACME account's contact.
    pub email: Option<String>,
    /// `[aliyun] region`.
    pub region: String,
}

/// A proposed certificate: its name, its names, the targets to deploy to, and commented ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposed {
    pub name: String,
    pub domains: Vec<String>,
    /// Inline TOML tables, each with a comment on what the endpoint serves now.
    pub targets: Vec<(String, String)>,
}

/// The config text: `report` (a scan) proposes certificates, `options.domains` adds more.
pub fn from_scan(report: Option<&ScanReport>, options: &InitOptions) -> Result<String> {
    let mut certificates = report.map(propose).unwrap_or_default();
    for d in &options.domains {
        let domain = d.to_ascii_lowercase();
        crate::domain::validate(&domain).map_err(|e| Error::Input(format!("--domain {d}: {e}")))?;
        if certificates.iter().any(|c| c.domains.contains(&domain)) {
            continue;
        }
        certificates.push(Proposed {
            name: crate::naming::fit(&domain.replace('*', "wildcard"), 128).into_owned(),
            domains: vec![domain],
            targets: vec![(
                "{ kind = \"cas\" }".into(),
                "stored in CAS; add the services that should serve it".into(),
            )],
        });
    }
    if certificates.is_empty() {
        return Err(Error::Input(
            "nothing to write: the scan found no endpoint serving a certificate and no --domain was given"
                .into(),
        ));
    }
    let mut text = header(report, options);
    for c in &certificates {
        text.push_str(&certificate(c));
    }
    if let Some(r) = report {
        text.push_str(&leftovers(r));
    }
    check(&text)?;
    Ok(text)
}

/// The certificates a scan suggests, by name; endpoints serving nothing are left out.
pub fn propose(report: &ScanReport) -> Vec<Proposed> {
    let serving: Vec<&Endpoint> = report
        .endpoints
        .iter()
        .filter(|e| e.health != Health::None)
        .collect();
    let domains: BTreeSet<String> = serving.iter().filter_map(|e| domain_of(e)).collect();
    let wild = wildcard_parents(&domains);
    let mut groups: BTreeMap<String, (BTreeSet<String>, Vec<&Endpoint>)> = BTreeMap::new();
    for e in serving {
        let Some(d) = domain_of(e) else { continue };
        let (name, names) = group(&d, &wild, &domains);
        let slot = groups.entry(name).or_default();
        slot.0.extend(names);
        // A listener names no domain: its certificate keeps every name it serves now.
        if named_domain(e).is_none() {
            slot.0
                .extend(e.names.iter().map(|n| n.to_ascii_lowercase()));
        }
        slot.1.push(e);
    }
    groups
        .into_iter()
        .map(|(name, (names, mut endpoints))| {
            endpoints.sort_by(|a, b| {
                (&a.kind, &a.resource, &a.region).cmp(&(&b.kind, &b.resource, &b.region))
            });
            // The apex first, then the wildcard (the order a CSR lists them in).
            let mut domains: Vec<String> = names.into_iter().collect();
            domains.sort_by_key(|d| d.starts_with("*."));
            Proposed {
                name,
                domains,
                targets: endpoints.iter().map(|e| (table(e), served(e))).collect(),
            }
        })
        .collect()
}

/// The domain the endpoint's target names (`domain`, `hostname`), if any.
fn named_domain(e: &Endpoint) -> Option<String> {
    ["domain", "hostname"]
        .iter()
        .find_map(|k| e.target.get(*k).and_then(toml::Value::as_str))
        .map(str::to_ascii_lowercase)
}

/// The name an endpoint is grouped by: the domain its target names, else (a listener) the
/// first name it serves.
fn domain_of(e: &Endpoint) -> Option<String> {
    named_domain(e).or_else(|| e.names.first().map(|n| n.to_ascii_lowercase()))
}

/// Parents to cover with a wildcard: a `*.parent` endpoint, or two domains one label under it.
fn wildcard_parents(domains: &BTreeSet<String>) -> BTreeSet<String> {
    let mut children: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for d in domains {
        if let Some(p) = d.strip_prefix("*.") {
            out.insert(p.to_string());
        } else if let Some(p) = parent(d) {
            *children.entry(p).or_default() += 1;
        }
    }
    out.extend(
        children
            .into_iter()
            .filter(|(_, n)| *n >= 2)
            .map(|(p, _)| p.to_string()),
    );
    out.retain(|p| p.contains('.'));
    out
}

/// The parent of a name one label down, when it has two labels or more.
fn parent(d: &str) -> Option<&str> {
    d.split_once('.')
        .map(|(_, p)| p)
        .filter(|p| p.contains('.'))
}

/// The certificate `d` belongs to (its name) and the names it adds to it.
fn group(d: &str, wild: &BTreeSet<String>, domains: &BTreeSet<String>) -> (String, Vec<String>) {
    let wildcard = |p: &str| {
        let mut names = vec![format!("*.{p}")];
        let name = if domains.contains(p) {
            names.push(p.to_string());
            p.to_string()
        } else {
            format!("wildcard.{p}")
        };
        (crate::naming::fit(&name, 128).into_owned(), names)
    };
    match (d.strip_prefix("*."), parent(d)) {
        (Some(p), _) if wild.contains(p) => wildcard(p),
        (None, Some(p)) if wild.contains(p) => wildcard(p),
        _ if wild.contains(d) => wildcard(d),
        _ => (crate::naming::fit(d, 128).into_owned(), vec![d.to_string()]),
    }
}

/// The endpoint as a target table: the table it was listed and read as.
fn table(e: &Endpoint) -> String {
    let mut out = format!("{{ kind = {}", quote(&e.kind));
    for (k, v) in &e.target {
        out.push_str(&format!(", {k} = {v}"));
    }
    out.push_str(" }");
    out
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// What the endpoint serves now, for the comment beside its target.
fn served(e: &Endpoint) -> String {
    let mut out = format!(
        "serves {} ({}), not after {}: {} days left ({})",
        e.names.join(", "),
        e.issuer.as_deref().unwrap_or("?"),
        e.not_after.as_deref().unwrap_or("?"),
        e.days_left.unwrap_or_default(),
        e.health.as_str()
    );
    if let Some(c) = &e.certificate {
        out.push_str(&format!(
            "; the current config's certificate `{c}` manages it"
        ));
    }
    out
}

fn header(report: Option<&ScanReport>, o: &InitOptions) -> String {
    let from = match report {
        Some(r) => format!(
            "a scan of {} ({} endpoints)",
            r.regions.join(", "),
            r.endpoints.len()
        ),
        None => "--domain flags".into(),
    };
    let email = match &o.email {
        Some(e) => format!("email = {}\n", quote(e)),
        None => "# email = \"ops@example.com\"\n".into(),
    };
    format!(
        "# alicert.toml written by `alicert init` from {from}.\n\
         # Review it, then: `alicert policy` (the RAM policy it needs), `alicert doctor`, and a\n\
         # first `alicert invoke --dry-run`. Every key: alicert.example.toml.\n\n\
         [acme]\n\
         # The CA: letsencrypt | letsencrypt-staging | zerossl | google | google-staging | a URL.\n\
         directory = {ca}\n\
         # The ACME account's contact (optional).\n\
         {email}\
         # Where the ACME account key lives (kms:<secret> | oss://<bucket>/<key> | file:<path>);\n\
         # the first run creates it.\n\
         account_key = {key}\n\
         # Renew when a served certificate expires within this many days.\n\
         renew_before_days = 30\n\n\
         [aliyun]\n\
         # The region of regional resources that name none.\n\
         region = {region}\n\n\
         # Each certificate's names are validated with DNS-01: they must be in an Alidns zone of\n\
         # this account (or set `challenge_alias`). Each target is an endpoint that serves it.\n",
        ca = quote(o.ca.as_deref().unwrap_or("letsencrypt")),
        key = quote(o.account_key.as_deref().unwrap_or("kms:alicert/account")),
        region = quote(&o.region),
    )
}

fn certificate(c: &Proposed) -> String {
    let domains: Vec<String> = c.domains.iter().map(|d| quote(d)).collect();
    let mut out = format!(
        "\n[[certificate]]\nname = {}\ndomains = [{}]\ntargets = [\n",
        quote(&c.name),
        domains.join(", ")
    );
    for (table, note) in &c.targets {
        out.push_str(&format!("  # {note}\n  {table},\n"));
    }
    out.push_str("]\n");
    out
}

/// Endpoints left out, as comments: serving nothing, not read, kinds not scanned.
fn leftovers(r: &ScanReport) -> String {
    let mut out = String::new();
    let idle: Vec<&Endpoint> = r
        .endpoints
        .iter()
        .filter(|e| e.health == Health::None)
        .collect();
    if !idle.is_empty() {
        out.push_str("\n# Serving no certificate now (HTTPS off or none bound); deploying one turns\n# HTTPS on, so add these to a certificate's targets only if you want that:\n");
        for e in idle {
            out.push_str(&format!("#   {}\n", table(e)));
        }
    }
    if !r.problems.is_empty() {
        out.push_str("\n# Not read (fix, then run `alicert init --from-scan` again):\n");
        for p in &r.problems {
            let grant = match p.actions.is_empty() {
                true => String::new(),
                false => format!("grant {}: ", p.actions.join(", ")),
            };
            out.push_str(&format!(
                "#   {}: {grant}{}\n",
                p.subject,
                one_line(&p.detail)
            ));
        }
    }
    out.push_str("\n# Not scanned (name them in a target by hand):\n");
    for n in &r.not_scanned {
        out.push_str(&format!("#   {}: {}\n", n.kind, n.reason));
    }
    out
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text loads and validates as a config (a failure here is alicert's bug, reported).
fn check(text: &str) -> Result<()> {
    let mut config = Config::parse(text, "the generated alicert.toml")?;
    config.normalize()?;
    config.validate()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn siblings_share_a_wildcard_and_loners_keep_their_name() {
        let domains = set(&[
            "a.example.com",
            "b.example.com",
            "example.com",
            "www.example.org",
            "*.img.example.net",
            "x.example.io",
            "y.com",
            "z.com",
        ]);
        let wild = wildcard_parents(&domains);
        assert_eq!(wild, set(&["example.com", "img.example.net"]));
        let g = |d: &str| group(d, &wild, &domains);
        assert_eq!(g("a.example.com").0, "example.com");
        assert_eq!(g("example.com").1, vec!["*.example.com", "example.com"]);
        assert_eq!(g("*.img.example.net").0, "wildcard.img.example.net");
        assert_eq!(
            g("www.example.org"),
            ("www.example.org".into(), vec!["www.example.org".into()])
        );
        // Two names under a public suffix never become `*.com`.
        assert_eq!(g("y.com").1, vec!["y.com"]);
    }
}
