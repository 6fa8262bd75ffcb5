//! Configuration: a TOML file (`--config`, `$ALICERT_CONFIG`, or `alicert.toml` beside the
//! binary) with environment overrides. Each section's type lives with the module it configures
//! and checks itself (`acme::AcmeConfig`, `aliyun::AliyunConfig`, `dns::DnsConfig`, …); this
//! module only assembles them, applies the environment and checks the certificates. Everything
//! is validated before any network call, and every error names the key and the file.
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use crate::acme::{AcmeConfig, KeyType};
pub use crate::aliyun::{AliyunConfig, RetryConfig};
pub use crate::deploy::TargetConfig;
pub use crate::dns::DnsConfig;
use crate::error::{Error, Result};
pub use crate::fanout::FanoutConfig;
pub use crate::http_access::HttpConfig;
use crate::secret::Secret;

/// The config as the runtime holds it: loaded once per instance; a load error is kept and
/// reported on every invocation instead of exiting (FC would only see a crash loop).
pub type SharedConfig = std::sync::Arc<Result<Config>>;

/// Longest certificate name (it is shortened to fit CAS, SLB and Alidns limits, see naming.rs).
pub const MAX_NAME_LEN: usize = 128;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub acme: AcmeConfig,
    #[serde(default)]
    pub aliyun: AliyunConfig,
    #[serde(default)]
    pub dns: DnsConfig,
    #[serde(default)]
    pub http: HttpConfig,
    #[serde(default)]
    pub notify: crate::notify::NotifyConfig,
    #[serde(default)]
    pub lock: crate::lock::LockConfig,
    #[serde(default)]
    pub fanout: FanoutConfig,
    #[serde(default)]
    pub report: crate::report::ReportConfig,
    /// `[metrics]`: CloudMonitor custom metrics, on when present.
    #[serde(default)]
    pub metrics: Option<crate::metrics::MetricsConfig>,
    #[serde(default, rename = "certificate")]
    pub certificates: Vec<CertificateConfig>,
    /// `[[zone]]`: Alidns zones in other accounts, each with the role that reaches it.
    #[serde(default, rename = "zone")]
    pub zones: Vec<crate::dns::ZoneConfig>,
    /// Where the config came from, for error messages.
    #[serde(skip)]
    pub source: String,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CertificateConfig {
    pub name: String,
    pub domains: Vec<String>,
    #[serde(default)]
    pub key_type: KeyType,
    #[serde(default)]
    pub targets: Vec<TargetConfig>,
    /// Overrides [acme] profile.
    #[serde(default)]
    pub profile: Option<String>,
    /// Overrides [acme] preferred_chain.
    #[serde(default)]
    pub preferred_chain: Option<String>,
    /// Keep the previous private key when a target can give it back (cas); else a new one.
    #[serde(default)]
    pub reuse_key: bool,
    /// `caa = "manage"`: alicert keeps a CAA record binding the name to this CA and account.
    #[serde(default)]
    pub caa: Option<crate::dns::caa::CaaMode>,
    /// `challenge = "dns-01"` (default) | `"dns-persist-01"` (a lasting record; dns-01 where
    /// the CA does not offer it).
    #[serde(default)]
    pub challenge: crate::acme::order::Challenge,
    /// The name the `_acme-challenge` CNAMEs of every domain point to, for setups where they
    /// cannot be read; without it alicert follows the CNAMEs it finds.
    #[serde(default)]
    pub challenge_alias: Option<String>,
}

/// `file:line:column: key: message`, without the source line toml's `Display` quotes (that line
/// may hold a literal secret: `eab_hmac_key`, a webhook token); only the key before its `=`.
fn parse_error(source: &str, text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim();
    let Some(span) = e.span() else {
        return format!("{source}: {message}");
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.len() - start + 1;
    let source_line = text[start..].lines().next().unwrap_or_default();
    match source_line.split_once('=') {
        Some((key, _)) if !key.trim().is_empty() => {
            format!("{source}:{line}:{column}: `{}`: {message}", key.trim())
        }
        _ => format!("{source}:{line}:{column}: {message}"),
    }
}

impl CertificateConfig {
    /// The certificate's own keys; the caller adds `[[certificate]] #n (name)`.
    fn validate(&self) -> std::result::Result<(), String> {
        // The name becomes part of object keys (`<prefix><name>.lock`, `<prefix>/<name>/`)
        // and upload names: `.`, `..` or any `..` would walk out of a prefix.
        let name = &self.name;
        if name.is_empty()
            || name.len() > MAX_NAME_LEN
            || name.contains("..")
            || name.chars().all(|ch| ch == '.')
            || !name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_' || ch == '.')
        {
            return Err(format!(
                "name must be 1-{MAX_NAME_LEN} of A-Z a-z 0-9 - _ . (not only dots, no ..)"
            ));
        }
        if self.domains.is_empty() {
            return Err("domains must not be empty".into());
        }
        if self.targets.is_empty() {
            return Err("targets must not be empty (e.g. targets = [{ kind = \"cdn\", domain = \"www.example.com\" }])".into());
        }
        crate::domain::validate_list(&self.domains).map_err(|e| format!("domains: {e}"))?;
        if let Some(alias) = &self.challenge_alias {
            crate::dns::delegation::check_alias(alias)
                .map_err(|e| format!("challenge_alias: {e}"))?;
        }
        for (j, t) in self.targets.iter().enumerate() {
            crate::deploy::check(t)
                .and_then(|()| crate::deploy::tls::check_covered(t, &self.domains))
                .map_err(|e| format!("targets[{j}] (kind = \"{}\"): {e}", t.kind))?;
        }
        Ok(())
    }
}

/// Where the config file is: explicit path, else `$ALICERT_CONFIG`, else `alicert.toml`
/// beside the binary.
pub fn locate(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Ok(p) = std::env::var("ALICERT_CONFIG") {
        if !p.is_empty() {
            return Some(PathBuf::from(p));
        }
    }
    let exe = std::env::current_exe().ok()?;
    let beside = exe.parent()?.join("alicert.toml");
    beside.exists().then_some(beside)
}

impl Config {
    /// Load from file (if any), apply environment overrides, validate.
    pub fn load(explicit: Option<&Path>) -> Result<Config> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        let mut config = match locate(explicit) {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    Error::Config(format!(
                        "cannot read config file {}: {e} (set --config or ALICERT_CONFIG)",
                        path.display()
                    ))
                })?;
                Config::parse(&text, &path.display().to_string())?
            }
            None => Config {
                source: "environment (no alicert.toml found)".into(),
                ..Config::default()
            },
        };
        config.apply_env(&env)?;
        config.normalize()?;
        config.validate()?;
        Ok(config)
    }

    pub fn parse(text: &str, source: &str) -> Result<Config> {
        let mut config: Config =
            toml::from_str(text).map_err(|e| Error::Config(parse_error(source, text, &e)))?;
        config.source = source.to_string();
        Ok(config)
    }

    /// Environment variables win over the file (SPEC: Configuration).
    pub fn apply_env(&mut self, env: &BTreeMap<String, String>) -> Result<()> {
        let get = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
        if let Some(v) = get("ALICERT_ACME_DIRECTORY") {
            self.acme.directory = v;
        }
        if let Some(v) = get("ALICERT_ACME_CA_BUNDLE") {
            self.acme.ca_bundle = Some(v);
        }
        if let Some(v) = get("ALICERT_ACME_ACCOUNT_KEY") {
            self.acme.account_key = v;
        }
        if let Some(v) = get("ALICERT_ACME_EMAIL") {
            self.acme.email = Some(v);
        }
        if let Some(v) = get("ALICERT_ACME_EAB_KID") {
            self.acme.eab_kid = Some(v);
        }
        if let Some(v) = get("ALICERT_ACME_EAB_HMAC_KEY") {
            self.acme.eab_hmac_key = Some(Secret::new(v));
        }
        if let Some(v) = get("ALICERT_ALIYUN_REGION") {
            self.aliyun.region = v;
        }
        if let Some(v) = get("ALICERT_DNS_RESOLVERS") {
            self.dns.resolvers = v
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
        }
        for (k, v) in env {
            if let Some(product) = k.strip_prefix("ALICERT_ENDPOINT_") {
                if crate::aliyun::Product::from_code(&product.to_ascii_lowercase()).is_none() {
                    return Err(Error::Config(format!(
                        "environment variable {k}: unknown product `{product}` (known: {})",
                        crate::aliyun::Product::codes()
                            .join(" ")
                            .to_ascii_uppercase()
                    )));
                }
                if !v.is_empty() {
                    self.aliyun
                        .endpoints
                        .insert(product.to_ascii_lowercase(), v.clone());
                }
            }
        }
        Ok(())
    }

    /// Domains to their ACME form: IDNA (Unicode) names to punycode, lower case, no trailing dot.
    pub fn normalize(&mut self) -> Result<()> {
        let src = self.source.clone();
        for (i, c) in self.certificates.iter_mut().enumerate() {
            for d in c.domains.iter_mut() {
                *d = crate::domain::normalize(d).map_err(|e| {
                    Error::Config(format!(
                        "{src}: [[certificate]] #{} ({}): domains: {e}",
                        i + 1,
                        c.name
                    ))
                })?;
            }
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<()> {
        let sections = [
            self.acme.validate(),
            self.aliyun.validate(),
            self.dns.validate(),
            self.fanout.validate(),
            self.notify.validate(),
            self.report.validate(),
            self.metrics.as_ref().map_or(Ok(()), |m| m.validate()),
            self.lock.validate().map_err(|e| format!("[lock] {e}")),
            self.http.validate(),
            crate::dns::settings::validate_zones(&self.zones),
        ];
        for checked in sections {
            checked.map_err(|e| Error::Config(format!("{}: {e}", self.source)))?;
        }
        let mut names = HashSet::new();
        for (i, c) in self.certificates.iter().enumerate() {
            let at = format!("{}: [[certificate]] #{} ({})", self.source, i + 1, c.name);
            if !names.insert(c.name.as_str()) {
                return Err(Error::Config(format!(
                    "{at}: duplicate certificate name `{}`",
                    c.name
                )));
            }
            c.validate()
                .map_err(|e| Error::Config(format!("{at}: {e}")))?;
        }
        Ok(())
    }

    pub fn certificate(&self, name: &str) -> Option<&CertificateConfig> {
        self.certificates.iter().find(|c| c.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
[acme]
directory = "letsencrypt-staging"
email = "ops@example.com"
account_key = "oss://bucket/alicert/account.pem"

[aliyun]
region = "cn-shanghai"
[aliyun.endpoints]
alidns = "http://127.0.0.1:9100"

[dns]
resolvers = ["127.0.0.1:8053"]

[[certificate]]
name = "www"
domains = ["example.com", "*.example.com"]
targets = [
  { kind = "cdn", domain = "www.example.com" },
  { kind = "apigateway", group_id = "g1", domain = "api.example.com" },
]
"#;

    /// Parses each text; each must fail as a config error naming the file and `key`.
    fn refused(cases: Vec<(String, &str)>) {
        for (text, key) in cases {
            let e = Config::parse(&text, "t.toml")
                .and_then(|c| c.validate())
                .unwrap_err();
            let msg = e.to_string();
            assert!(matches!(e, Error::Config(_)), "{msg}");
            assert!(msg.contains("t.toml") && msg.contains(key), "{key}: {msg}");
        }
    }

    fn with(from: &str, to: &str) -> String {
        assert!(SAMPLE.contains(from), "{from}");
        SAMPLE.replace(from, to)
    }

    const CDN: &str = "{ kind = \"cdn\", domain = \"www.example.com\" }";

    /// Every identifier that ends up in a URL is refused at load, naming the key and the file
    /// (issue 11 part 2).
    #[test]
    fn hostile_identifiers_and_regions_are_config_errors() {
        refused(vec![
            (
                with("oss://bucket/alicert", "oss://attacker.example/#/alicert"),
                "account_key",
            ),
            (
                with("account.pem\"", "account.pem?region=evil.com\""),
                "account_key",
            ),
            (
                with(
                    "account_key = \"oss://bucket/alicert/account.pem\"",
                    "account_key = \"kms:a?region=x.y\"",
                ),
                "account_key",
            ),
            (
                with(
                    "region = \"cn-shanghai\"",
                    "region = \"cn-shanghai.evil.com\"",
                ),
                "region",
            ),
            (
                with("\"http://127.0.0.1:9100\"", "\"http://{zone}.x\""),
                "alidns",
            ),
            (
                format!("{SAMPLE}\n[lock]\nregion = \"cn hangzhou\"\n"),
                "[lock] region",
            ),
            (
                format!("{SAMPLE}\n[lock]\nbucket = \"a.b\"\n"),
                "[lock] bucket",
            ),
        ]);
    }

    #[test]
    fn hostile_target_identifiers_are_config_errors_and_regional_keys_parse() {
        let cdn = CDN;
        refused(vec![
            (
                with(
                    cdn,
                    "{ kind = \"oss-bundle\", bucket = \"attacker.example/#\" }",
                ),
                "bucket",
            ),
            (
                with(
                    cdn,
                    "{ kind = \"oss-bundle\", bucket = \"b-1\", prefix = \"a/../b\" }",
                ),
                "prefix",
            ),
            (
                with(
                    cdn,
                    "{ kind = \"oss-bundle\", bucket = \"b-1\", region = \"x/y\" }",
                ),
                "region",
            ),
            (
                with(
                    cdn,
                    "{ kind = \"oss\", bucket = \"B_1\", domain = \"a.example.com\" }",
                ),
                "bucket",
            ),
            (
                with(cdn, "{ kind = \"fc\", domain = \"a.example.com/x\" }"),
                "domain",
            ),
            (
                with(
                    cdn,
                    "{ kind = \"fc\", domain = \"a.example.com\", region = \"-x\" }",
                ),
                "region",
            ),
            (
                with("group_id = \"g1\"", "group_id = \"g1/../x\""),
                "group_id",
            ),
            (
                with(
                    "domain = \"api.example.com\"",
                    "domain = \"api.example.com#\"",
                ),
                "domain",
            ),
        ]);
        let good = with(
            cdn,
            "{ kind = \"oss-bundle\", bucket = \"b-1\", region = \"ap-southeast-1\", prefix = \"certs\" }, \
             { kind = \"fc\", domain = \"a.example.com\", region = \"cn-shanghai\" }, \
             { kind = \"oss\", bucket = \"web-1\", domain = \"img.example.com\", region = \"cn-beijing\" }",
        )
        .replace("account.pem\"", "account.pem?region=cn-beijing\"")
            + "\n[lock]\nregion = \"cn-beijing\"\n";
        Config::parse(&good, "t.toml").unwrap().validate().unwrap();
    }

    #[test]
    fn parses_spec_example_and_env_wins() {
        let mut c = Config::parse(SAMPLE, "t.toml").unwrap();
        assert_eq!(c.aliyun.region, "cn-shanghai");
        assert_eq!(c.certificates[0].key_type, KeyType::EcP256);
        assert_eq!(c.certificates[0].targets[1].kind, "apigateway");
        let env = BTreeMap::from([
            ("ALICERT_ENDPOINT_CDN".to_string(), "http://x:1".to_string()),
            ("ALICERT_ACME_EMAIL".to_string(), "a@b.c".to_string()),
            (
                "ALICERT_DNS_RESOLVERS".to_string(),
                "1.1.1.1:53, 8.8.8.8:53".to_string(),
            ),
        ]);
        c.apply_env(&env).unwrap();
        assert_eq!(c.aliyun.endpoints["cdn"], "http://x:1");
        assert_eq!(c.acme.email.as_deref(), Some("a@b.c"));
        assert_eq!(c.dns.resolvers, vec!["1.1.1.1:53", "8.8.8.8:53"]);
        c.validate().unwrap();
    }

    #[test]
    fn the_example_config_is_valid() {
        let mut c = Config::parse(
            include_str!("../alicert.example.toml"),
            "alicert.example.toml",
        )
        .unwrap();
        c.normalize().unwrap();
        c.validate().unwrap();
        assert_eq!(c.dns.sweep_grace_secs, 3600);
        assert_eq!(c.aliyun.retry.max_attempts, 10);
        assert_eq!(c.lock.ttl_secs, 3600);
    }

    #[test]
    fn a_syntax_error_names_the_place_but_never_quotes_the_line() {
        let text = "[acme]\neab_hmac_key = \"c2VjcmV0LXZhbHVl\" oops\n";
        let e = Config::parse(text, "t.toml").unwrap_err().to_string();
        assert!(
            e.contains("t.toml:2:") && e.contains("`eab_hmac_key`"),
            "{e}"
        );
        assert!(!e.contains("c2VjcmV0LXZhbHVl"), "the secret is quoted: {e}");
    }

    #[test]
    fn errors_name_the_key() {
        let bad = SAMPLE.replace("region = \"cn-shanghai\"", "regoin = \"x\"");
        let e = Config::parse(&bad, "t.toml").unwrap_err().to_string();
        assert!(e.contains("regoin") && e.contains("t.toml"), "{e}");

        let dup =
            format!("{SAMPLE}\n[[certificate]]\nname = \"www\"\ndomains = [\"a.example.com\"]\n");
        let cases = [
            (dup, "duplicate certificate name"),
            (
                SAMPLE.replace("kind = \"cdn\"", "kind = \"cnd\""),
                "targets[0]",
            ),
            (SAMPLE.replace("kind = \"cdn\"", "kind = \"cnd\""), "cnd"),
            (SAMPLE.replace("group_id = \"g1\", ", ""), "group_id"),
            (
                SAMPLE.replace("account_key = \"oss://bucket/alicert/account.pem\"", ""),
                "account_key",
            ),
            (
                SAMPLE.replace("[dns]\n", "[dns]\nmax_concurrent_calls = 0\n"),
                "[dns] max_concurrent_calls = 0",
            ),
        ];
        for (text, names) in cases {
            let e = Config::parse(&text, "t.toml")
                .unwrap()
                .validate()
                .unwrap_err();
            assert!(e.to_string().contains(names), "{names}: {e}");
        }
    }

    #[test]
    fn names_that_would_walk_out_of_a_prefix_and_unbounded_numbers_are_refused() {
        let load = |text: String| {
            let c = Config::parse(&text, "n.toml").unwrap();
            c.validate().map_err(|e| e.to_string())
        };
        for bad in [".", "..", "...", "a..b", &"n".repeat(MAX_NAME_LEN + 1)] {
            let e =
                load(SAMPLE.replace("name = \"www\"", &format!("name = \"{bad}\""))).unwrap_err();
            assert!(
                e.contains("name must be") && e.contains("n.toml"),
                "{bad}: {e}"
            );
        }
        for ok in ["www.example", "a.b-c_d", &"n".repeat(MAX_NAME_LEN)] {
            load(SAMPLE.replace("name = \"www\"", &format!("name = \"{ok}\""))).unwrap();
        }
        for (table, key, value) in [
            ("[lock]", "ttl_secs", "86401"),
            ("[aliyun.retry]", "max_delay_ms", "300001"),
            ("[aliyun.retry]", "max_elapsed_secs", "9223372036854775807"),
            ("[aliyun.retry]", "request_timeout_secs", "601"),
        ] {
            let text = format!("{SAMPLE}\n{table}\n{key} = {value}\n");
            let e = load(text).unwrap_err();
            assert!(e.contains(key) && e.contains("too large"), "{key}: {e}");
        }
        let e = load(SAMPLE.replace(
            "resolvers = [\"127.0.0.1:8053\"]",
            "resolvers = [\"127.0.0.1:8053\"]\npropagation_timeout_secs = 90000",
        ))
        .unwrap_err();
        assert!(e.contains("propagation_timeout_secs"), "{e}");
    }

    #[test]
    fn the_example_config_parses_and_validates() {
        let c = Config::parse(
            include_str!("../alicert.example.toml"),
            "alicert.example.toml",
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.acme.max_concurrent_orders, 25);
        assert!(!c.fanout.enabled);
        assert_eq!(c.fanout.group_size, 20);
    }

    #[test]
    fn concurrency_defaults_and_overrides() {
        let c = Config::parse(SAMPLE, "t.toml").unwrap();
        assert_eq!(c.acme.max_concurrent_orders, 25);
        assert_eq!(c.dns.max_concurrent_calls, 25);
        let text = SAMPLE.replace("[acme]\n", "[acme]\nmax_concurrent_orders = 3\n");
        let c = Config::parse(&text, "t.toml").unwrap();
        c.validate().unwrap();
        assert_eq!(c.acme.max_concurrent_orders, 3);
    }
}
