//! Configuration: a TOML file (`--config`, `$ALICERT_CONFIG`, or `alicert.toml` beside the
//! binary) with environment overrides. Everything is validated here, before any network call,
//! and every error names the key and the file.
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::secret::Secret;

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
    #[serde(default, rename = "certificate")]
    pub certificates: Vec<CertificateConfig>,
    /// Where the config came from, for error messages.
    #[serde(skip)]
    pub source: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcmeConfig {
    #[serde(default = "default_directory")]
    pub directory: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub account_key: String,
    #[serde(default)]
    pub ca_bundle: Option<String>,
    #[serde(default = "default_renew_before_days")]
    pub renew_before_days: u32,
    /// KMS instance (`DKMSInstanceId`) for creating a `kms:` account key secret (KMS 3.0).
    #[serde(default)]
    pub kms_instance_id: Option<String>,
    /// KMS key (`EncryptionKeyId`) that encrypts a `kms:` account key secret alicert creates.
    #[serde(default)]
    pub kms_encryption_key_id: Option<String>,
    /// External Account Binding key id (ZeroSSL, Google Trust Services, ...).
    #[serde(default)]
    pub eab_kid: Option<String>,
    /// EAB HMAC key, base64url; or where it is: kms:<secret> | oss://<bucket>/<key> | file:<path> | env:<VAR>.
    #[serde(default)]
    pub eab_hmac_key: Option<Secret>,
    /// ARI: renew when the CA's suggested window starts within this many hours (the timer period).
    #[serde(default = "default_ari_lookahead_hours")]
    pub ari_lookahead_hours: u32,
    /// ACME profile for new orders (e.g. Let's Encrypt `tlsserver`, `shortlived`).
    #[serde(default)]
    pub profile: Option<String>,
    /// Issuer common name of the chain to prefer among the CA's alternates.
    #[serde(default)]
    pub preferred_chain: Option<String>,
    /// Certificates processed (read, ordered, deployed) at once in one invocation.
    #[serde(default = "default_max_concurrent_orders")]
    pub max_concurrent_orders: usize,
}

fn default_directory() -> String {
    "letsencrypt".into()
}
fn default_renew_before_days() -> u32 {
    30
}
fn default_ari_lookahead_hours() -> u32 {
    24
}
/// 25 orders at once stay well inside Let's Encrypt's per-IP request limits (about 250 requests
/// per second on its /acme/ endpoints; a running order polls a few times a second at most) and
/// bring 50 due certificates through in two waves. Its per-account order limit (300 per 3 hours)
/// counts orders, not how many run at once.
fn default_max_concurrent_orders() -> usize {
    25
}
/// Upper bound of the concurrency settings: beyond it the CA's and Alidns' rate limits, not
/// alicert, set the pace.
pub const MAX_CONCURRENCY: usize = 50;
/// Longest certificate name (it is shortened to fit CAS, SLB and Alidns limits, see naming.rs).
pub const MAX_NAME_LEN: usize = 128;
const DAY_SECS: u64 = 86_400;

impl Default for AcmeConfig {
    fn default() -> Self {
        AcmeConfig {
            directory: default_directory(),
            email: None,
            account_key: String::new(),
            ca_bundle: None,
            renew_before_days: default_renew_before_days(),
            kms_instance_id: None,
            kms_encryption_key_id: None,
            eab_kid: None,
            eab_hmac_key: None,
            ari_lookahead_hours: default_ari_lookahead_hours(),
            profile: None,
            preferred_chain: None,
            max_concurrent_orders: default_max_concurrent_orders(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliyunConfig {
    #[serde(default = "default_region")]
    pub region: String,
    /// Per-product base URL overrides, keyed by product code (alidns, cas, cdn, ...).
    #[serde(default)]
    pub endpoints: BTreeMap<String, String>,
    /// Last link of the credential chain (after FC headers and environment variables).
    #[serde(default)]
    pub access_key_id: Option<String>,
    #[serde(default)]
    pub access_key_secret: Option<Secret>,
    /// How Alibaba Cloud calls are retried on throttling and transient failures.
    #[serde(default)]
    pub retry: RetryConfig,
}

/// `[aliyun.retry]`: every transient failure (Throttling*, ServiceUnavailable, 5xx, network)
/// is retried with exponential backoff and full jitter, bounded by all of these and by the
/// invocation's deadline.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    pub max_attempts: u32,
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
    pub max_elapsed_secs: u64,
    pub request_timeout_secs: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 10,
            base_delay_ms: 200,
            max_delay_ms: 5_000,
            max_elapsed_secs: 60,
            request_timeout_secs: 15,
        }
    }
}

fn default_region() -> String {
    "cn-hangzhou".into()
}

impl Default for AliyunConfig {
    fn default() -> Self {
        AliyunConfig {
            region: default_region(),
            endpoints: BTreeMap::new(),
            access_key_id: None,
            access_key_secret: None,
            retry: RetryConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsConfig {
    /// host:port of resolvers to check TXT propagation on; empty = the zone's name servers.
    #[serde(default)]
    pub resolvers: Vec<String>,
    #[serde(default = "default_propagation_timeout")]
    pub propagation_timeout_secs: u64,
    /// TTL of the TXT records (Alidns free edition's minimum is 600).
    #[serde(default = "default_ttl")]
    pub ttl: u32,
    /// `_acme-challenge` TXT records carrying alicert's remark and older than this are
    /// leftovers of a crashed run; they are deleted at the start of the next order in the zone.
    #[serde(default = "default_sweep_grace")]
    pub sweep_grace_secs: u64,
    /// Alidns API calls in flight at once (all orders of an invocation together).
    #[serde(default = "default_max_concurrent_calls")]
    pub max_concurrent_calls: usize,
}

fn default_sweep_grace() -> u64 {
    3600
}

fn default_propagation_timeout() -> u64 {
    300
}
fn default_ttl() -> u32 {
    600
}
fn default_max_concurrent_calls() -> usize {
    5
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            resolvers: Vec::new(),
            propagation_timeout_secs: default_propagation_timeout(),
            ttl: default_ttl(),
            sweep_grace_secs: default_sweep_grace(),
            max_concurrent_calls: default_max_concurrent_calls(),
        }
    }
}

pub use crate::http_trigger::HttpConfig;

/// Fan-out of a timer run to asynchronous invocations, one per group of certificates
/// (src/fanout.rs).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FanoutConfig {
    #[serde(default)]
    pub enabled: bool,
    /// Certificates per asynchronous invocation (at most).
    #[serde(default = "default_group_size")]
    pub group_size: usize,
    /// FC function to invoke; default: this function (`$FC_FUNCTION_NAME`).
    #[serde(default)]
    pub function: Option<String>,
    /// Version or alias invoked; empty = the service default.
    #[serde(default = "default_qualifier")]
    pub qualifier: String,
    /// InvokeFunction calls in flight while dispatching.
    #[serde(default = "default_fanout_calls")]
    pub max_concurrent_calls: usize,
}

fn default_group_size() -> usize {
    20
}
fn default_qualifier() -> String {
    "LATEST".into()
}
fn default_fanout_calls() -> usize {
    5
}

impl Default for FanoutConfig {
    fn default() -> Self {
        FanoutConfig {
            enabled: false,
            group_size: default_group_size(),
            function: None,
            qualifier: default_qualifier(),
            max_concurrent_calls: default_fanout_calls(),
        }
    }
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
}

/// A deploy target: `kind` selects the module under `deploy/`, which parses the other keys.
#[derive(Debug, Clone, Deserialize)]
pub struct TargetConfig {
    pub kind: String,
    #[serde(flatten)]
    pub params: toml::Table,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
pub enum KeyType {
    #[default]
    #[serde(rename = "ec-p256")]
    EcP256,
    #[serde(rename = "ec-p384")]
    EcP384,
    #[serde(rename = "rsa-2048")]
    Rsa2048,
    #[serde(rename = "rsa-3072")]
    Rsa3072,
    #[serde(rename = "rsa-4096")]
    Rsa4096,
}

impl std::fmt::Display for KeyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeyType::EcP256 => "ec-p256",
            KeyType::EcP384 => "ec-p384",
            KeyType::Rsa2048 => "rsa-2048",
            KeyType::Rsa3072 => "rsa-3072",
            KeyType::Rsa4096 => "rsa-4096",
        })
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
        let mut config: Config = toml::from_str(text)
            .map_err(|e| Error::Config(format!("{source}: {}", e.to_string().trim())))?;
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
        let src = &self.source;
        if self.acme.account_key.is_empty() {
            return Err(Error::Config(format!(
                "{src}: [acme] account_key is required (kms:<secret> | oss://<bucket>/<key> | file:<path> | env:<VAR>; or set ALICERT_ACME_ACCOUNT_KEY)"
            )));
        }
        crate::acme::key_store::KeyLocation::parse(&self.acme.account_key)
            .map_err(|e| Error::Config(format!("{src}: [acme] account_key: {e}")))?;
        crate::acme::directory_url(&self.acme.directory)
            .map_err(|e| Error::Config(format!("{src}: [acme] directory: {e}")))?;
        crate::acme::eab::check_config(&self.acme)
            .map_err(|e| Error::Config(format!("{src}: [acme] {e}")))?;
        for (key, n) in [
            (
                "[acme] max_concurrent_orders",
                self.acme.max_concurrent_orders,
            ),
            ("[dns] max_concurrent_calls", self.dns.max_concurrent_calls),
            (
                "[fanout] max_concurrent_calls",
                self.fanout.max_concurrent_calls,
            ),
        ] {
            if !(1..=MAX_CONCURRENCY).contains(&n) {
                return Err(Error::Config(format!(
                    "{src}: {key} = {n} must be between 1 and {MAX_CONCURRENCY}"
                )));
            }
        }
        if !(1..=1000).contains(&self.fanout.group_size) {
            return Err(Error::Config(format!(
                "{src}: [fanout] group_size = {} must be between 1 and 1000",
                self.fanout.group_size
            )));
        }
        crate::ident::RegionId::parse(&self.aliyun.region)
            .map_err(|e| Error::Config(format!("{src}: [aliyun] region: {e}")))?;
        for (key, value) in [
            ("kms_instance_id", &self.acme.kms_instance_id),
            ("kms_encryption_key_id", &self.acme.kms_encryption_key_id),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                crate::ident::ResourceId::parse(v)
                    .map_err(|e| Error::Config(format!("{src}: [acme] {key}: {e}")))?;
            }
        }
        for (product, url) in &self.aliyun.endpoints {
            crate::aliyun::Product::from_code(product).ok_or_else(|| {
                Error::Config(format!(
                    "{src}: [aliyun.endpoints] unknown product `{product}` (known: {})",
                    crate::aliyun::Product::codes().join(" ")
                ))
            })?;
            check_endpoint(url).map_err(|e| {
                Error::Config(format!(
                    "{src}: [aliyun.endpoints] {product} = \"{url}\": {e}"
                ))
            })?;
        }
        for r in &self.dns.resolvers {
            crate::dns::propagation::parse_resolver(r)
                .map_err(|e| Error::Config(format!("{src}: [dns] resolvers: {e}")))?;
        }
        self.notify
            .validate()
            .map_err(|e| Error::Config(format!("{src}: {e}")))?;
        if self.dns.sweep_grace_secs == 0 {
            return Err(Error::Config(format!(
                "{src}: [dns] sweep_grace_secs must be at least 1 (default 3600; keep it longer than any order takes)"
            )));
        }
        let r = &self.aliyun.retry;
        if r.max_attempts == 0 || r.max_attempts > 50 || r.max_delay_ms < r.base_delay_ms {
            return Err(Error::Config(format!(
                "{src}: [aliyun.retry] needs 1 <= max_attempts <= 50 and max_delay_ms >= base_delay_ms"
            )));
        }
        // Upper bounds: no value may turn into a near-permanent sleep, lock or wait. A day is
        // FC's longest invocation (asynchronous invocations, 86400 s).
        for (key, value, max) in [
            ("[aliyun.retry] max_delay_ms", r.max_delay_ms, 300_000),
            (
                "[aliyun.retry] max_elapsed_secs",
                r.max_elapsed_secs,
                DAY_SECS,
            ),
            (
                "[aliyun.retry] request_timeout_secs",
                r.request_timeout_secs,
                600,
            ),
            (
                "[dns] propagation_timeout_secs",
                self.dns.propagation_timeout_secs,
                DAY_SECS,
            ),
            (
                "[dns] sweep_grace_secs",
                self.dns.sweep_grace_secs,
                30 * DAY_SECS,
            ),
            ("[lock] ttl_secs", self.lock.ttl_secs, DAY_SECS),
        ] {
            if value > max {
                return Err(Error::Config(format!(
                    "{src}: {key} = {value} is too large (at most {max})"
                )));
            }
        }
        self.http
            .validate()
            .map_err(|e| Error::Config(format!("{src}: {e}")))?;
        self.lock
            .validate()
            .map_err(|e| Error::Config(format!("{src}: [lock] {e}")))?;
        let mut names = HashSet::new();
        for (i, c) in self.certificates.iter().enumerate() {
            let at = format!("{src}: [[certificate]] #{} ({})", i + 1, c.name);
            // The name becomes part of object keys (`<prefix><name>.lock`, `<prefix>/<name>/`)
            // and upload names: `.`, `..` or any `..` would walk out of a prefix.
            if c.name.is_empty()
                || c.name.len() > MAX_NAME_LEN
                || c.name.contains("..")
                || c.name.chars().all(|ch| ch == '.')
                || !c
                    .name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_' || ch == '.')
            {
                return Err(Error::Config(format!(
                    "{at}: name must be 1-{MAX_NAME_LEN} of A-Z a-z 0-9 - _ . (not only dots, no ..)"
                )));
            }
            if !names.insert(c.name.as_str()) {
                return Err(Error::Config(format!(
                    "{at}: duplicate certificate name `{}`",
                    c.name
                )));
            }
            if c.domains.is_empty() {
                return Err(Error::Config(format!("{at}: domains must not be empty")));
            }
            if c.targets.is_empty() {
                return Err(Error::Config(format!(
                    "{at}: targets must not be empty (e.g. targets = [{{ kind = \"cdn\", domain = \"www.example.com\" }}])"
                )));
            }
            crate::domain::validate_list(&c.domains)
                .map_err(|e| Error::Config(format!("{at}: domains: {e}")))?;
            for (j, t) in c.targets.iter().enumerate() {
                crate::deploy::check(t)
                    .and_then(|()| crate::deploy::tls::check_covered(t, &c.domains))
                    .map_err(|e| {
                        Error::Config(format!("{at}: targets[{j}] (kind = \"{}\"): {e}", t.kind))
                    })?;
            }
        }
        Ok(())
    }

    pub fn certificate(&self, name: &str) -> Option<&CertificateConfig> {
        self.certificates.iter().find(|c| c.name == name)
    }
}

/// An endpoint override: an http(s) base URL (scheme, host, port, optional path), where
/// `{region}` (the only placeholder) stands for the region of the resource addressed.
fn check_endpoint(url: &str) -> std::result::Result<(), String> {
    let sample = url.replace("{region}", "cn-hangzhou");
    if sample.contains(['{', '}']) {
        return Err("the only placeholder is {region}".into());
    }
    let parsed = url::Url::parse(&sample)
        .map_err(|e| format!("not a URL ({e}); use a base URL like https://host[:port]"))?;
    if !matches!(parsed.scheme(), "http" | "https")
        || parsed.host_str().is_none()
        || parsed.query().is_some()
        || parsed.fragment().is_some()
        || !parsed.username().is_empty()
        || parsed.password().is_some()
    {
        return Err(
            "must be a base URL like https://host[:port] (no query, fragment or user)".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_overrides_are_base_urls_with_an_optional_region_placeholder() {
        for ok in [
            "https://kms-vpc.{region}.aliyuncs.com",
            "http://127.0.0.1:9100",
            "http://127.0.0.1:9100/__region/{region}",
        ] {
            assert!(check_endpoint(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ftp://x",
            "kms.aliyuncs.com",
            "https://{zone}.example.com",
            "https://h/?a=1",
            "https://u:p@h",
            "https://h/#x",
        ] {
            assert!(check_endpoint(bad).is_err(), "{bad}");
        }
    }

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

    /// Every identifier that ends up in a URL is refused at load, naming the key and the file
    /// (issue 11 part 2), and the regional keys parse.
    #[test]
    fn hostile_identifiers_and_regions_are_config_errors() {
        let with = |from: &str, to: &str| {
            assert!(SAMPLE.contains(from), "{from}");
            SAMPLE.replace(from, to)
        };
        let cdn = "{ kind = \"cdn\", domain = \"www.example.com\" }";
        let cases = [
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
            (
                format!("{SAMPLE}\n[lock]\nregion = \"cn hangzhou\"\n"),
                "[lock] region",
            ),
            (
                format!("{SAMPLE}\n[lock]\nbucket = \"a.b\"\n"),
                "[lock] bucket",
            ),
        ];
        for (text, key) in cases {
            let e = Config::parse(&text, "t.toml")
                .and_then(|c| c.validate())
                .unwrap_err();
            let msg = e.to_string();
            assert!(matches!(e, Error::Config(_)), "{msg}");
            assert!(msg.contains("t.toml") && msg.contains(key), "{key}: {msg}");
        }
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
    fn errors_name_the_key() {
        let bad = SAMPLE.replace("region = \"cn-shanghai\"", "regoin = \"x\"");
        let e = Config::parse(&bad, "t.toml").unwrap_err().to_string();
        assert!(e.contains("regoin") && e.contains("t.toml"), "{e}");

        let dup =
            format!("{SAMPLE}\n[[certificate]]\nname = \"www\"\ndomains = [\"a.example.com\"]\n");
        let e = Config::parse(&dup, "t.toml")
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("duplicate certificate name"), "{e}");

        let unknown = SAMPLE.replace("kind = \"cdn\"", "kind = \"cnd\"");
        let e = Config::parse(&unknown, "t.toml")
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("targets[0]") && e.contains("cnd"), "{e}");

        let missing = SAMPLE.replace("group_id = \"g1\", ", "");
        let e = Config::parse(&missing, "t.toml")
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("group_id"), "{e}");

        let nokey = SAMPLE.replace("account_key = \"oss://bucket/alicert/account.pem\"", "");
        let e = Config::parse(&nokey, "t.toml")
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("account_key"), "{e}");

        let zero = SAMPLE.replace("[dns]\n", "[dns]\nmax_concurrent_calls = 0\n");
        let e = Config::parse(&zero, "t.toml")
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("[dns] max_concurrent_calls = 0"), "{e}");
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
        assert_eq!(c.dns.max_concurrent_calls, 5);
        let text = SAMPLE.replace("[acme]\n", "[acme]\nmax_concurrent_orders = 3\n");
        let c = Config::parse(&text, "t.toml").unwrap();
        c.validate().unwrap();
        assert_eq!(c.acme.max_concurrent_orders, 3);
    }
}
