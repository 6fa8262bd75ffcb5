//! `[http]`: who may call the HTTP trigger and what `/issue` may ask for (tokens, allowed
//! domains, target sets, body and rate limits). The settings live below `config` and the use
//! cases; the trigger itself (src/http_trigger.rs, part of the FC contract) enforces them.
use std::collections::BTreeMap;

use serde::Deserialize;

use crate::deploy::TargetConfig;

/// `[http]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// `bearer` (default): a bearer token checked against `token_sha256`; `function`: the FC
    /// trigger has authType function, FC verifies callers, alicert checks no token.
    pub auth: HttpAuth,
    /// Hex SHA-256 of the bearer token (`printf %s "$TOKEN" | sha256sum`).
    pub token_sha256: Option<String>,
    /// Suffix patterns `/issue` may request: `example.com` (it and every name under it),
    /// `*.example.com` (only names under it). Empty: `/issue` refuses every domain.
    pub allowed_domains: Vec<String>,
    /// `[http.target_sets]`: the only places `/issue` may deploy to, by name. A caller names
    /// one; it never supplies a target of its own (empty: `/issue` refuses every request).
    pub target_sets: BTreeMap<String, TargetSet>,
    /// Largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// `/issue` (and forced `/renew`) token bucket: this many at once, refilled at
    /// `issue_per_hour`. Per FC instance: each instance counts on its own.
    pub issue_burst: u32,
    pub issue_per_hour: u32,
}

/// One `[http.target_sets]` entry: `web = [ { kind = "cdn", domain = "www.example.com" } ]`,
/// or, to narrow the domains it may carry, `web = { targets = [...], allowed_domains = [...] }`.
#[derive(Debug, Clone, Default)]
pub struct TargetSet {
    pub targets: Vec<TargetConfig>,
    /// Further limits `[http] allowed_domains` for this set (empty: no further limit).
    pub allowed_domains: Vec<String>,
}

impl<'de> Deserialize<'de> for TargetSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Table {
            targets: Vec<TargetConfig>,
            #[serde(default)]
            allowed_domains: Vec<String>,
        }
        use serde::de::Error as _;
        match toml::Value::deserialize(d)? {
            v @ toml::Value::Array(_) => Ok(TargetSet {
                targets: v.try_into().map_err(D::Error::custom)?,
                allowed_domains: Vec::new(),
            }),
            v @ toml::Value::Table(_) => {
                let t: Table = v.try_into().map_err(D::Error::custom)?;
                Ok(TargetSet {
                    targets: t.targets,
                    allowed_domains: t.allowed_domains,
                })
            }
            _ => Err(D::Error::custom(
                "a target set is a list of targets, or a table with `targets` (and optional `allowed_domains`)",
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum HttpAuth {
    #[default]
    Bearer,
    Function,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            auth: HttpAuth::Bearer,
            token_sha256: None,
            allowed_domains: Vec::new(),
            target_sets: BTreeMap::new(),
            max_body_bytes: 16 * 1024,
            issue_burst: 5,
            issue_per_hour: 20,
        }
    }
}

/// Whether `domain` (normalized) matches one of `patterns` (see `allowed_domains`).
fn matches_any(patterns: &[String], domain: &str) -> bool {
    patterns.iter().any(|p| {
        let (under_only, base) = match p.strip_prefix("*.").or_else(|| p.strip_prefix('.')) {
            Some(b) => (true, b),
            None => (false, p.as_str()),
        };
        let Ok(base) = crate::domain::normalize(base) else {
            return false;
        };
        (!under_only && domain == base) || domain.ends_with(&format!(".{base}"))
    })
}

fn check_patterns(key: &str, patterns: &[String]) -> std::result::Result<(), String> {
    for p in patterns {
        let bare = p.trim_start_matches("*.").trim_start_matches('.');
        crate::domain::normalize(bare).map_err(|e| format!("{key}: `{p}`: {e}"))?;
    }
    Ok(())
}

impl HttpConfig {
    /// Every message starts with the key it is about (`[http] ...`, `[http.target_sets] ...`).
    pub fn validate(&self) -> std::result::Result<(), String> {
        if let Some(t) = &self.token_sha256 {
            if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(
                    "[http] token_sha256 must be 64 hex digits: the SHA-256 of the token (printf %s \"$TOKEN\" | sha256sum), not the token".into(),
                );
            }
        }
        check_patterns("[http] allowed_domains", &self.allowed_domains)?;
        if !(64..=1024 * 1024).contains(&self.max_body_bytes) {
            return Err("[http] max_body_bytes must be between 64 and 1048576".into());
        }
        if self.issue_burst == 0 || self.issue_per_hour == 0 {
            return Err("[http] issue_burst and issue_per_hour must be at least 1".into());
        }
        for (name, set) in &self.target_sets {
            let at = format!("[http.target_sets] {name}");
            if name.is_empty()
                || name.len() > 64
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(format!("{at}: a set name is 1 to 64 of A-Z a-z 0-9 - _"));
            }
            if set.targets.is_empty() {
                return Err(format!(
                    "{at}: targets must not be empty (e.g. {name} = [{{ kind = \"cdn\", domain = \"www.example.com\" }}])"
                ));
            }
            for (i, t) in set.targets.iter().enumerate() {
                crate::deploy::check(t)
                    .map_err(|e| format!("{at} targets[{i}] (kind = \"{}\"): {e}", t.kind))?;
            }
            check_patterns(&format!("{at} allowed_domains"), &set.allowed_domains)?;
        }
        Ok(())
    }

    /// Whether `/issue` may request `domain` (already normalized).
    pub fn allows(&self, domain: &str) -> bool {
        matches_any(&self.allowed_domains, domain)
    }
}

impl TargetSet {
    /// Whether this set may carry `domain` (normalized): `[http] allowed_domains` decides
    /// first; a set with its own `allowed_domains` narrows that further.
    pub fn allows(&self, domain: &str) -> bool {
        self.allowed_domains.is_empty() || matches_any(&self.allowed_domains, domain)
    }
}
