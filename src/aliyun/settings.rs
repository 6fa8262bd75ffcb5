//! `[aliyun]`: the default region, endpoint overrides, the last link of the credential chain
//! and the retry policy of every Alibaba Cloud call. Parsed and checked here.
use std::collections::BTreeMap;

use serde::Deserialize;

use crate::secret::Secret;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AliyunConfig {
    pub region: String,
    /// Per-product base URL overrides, keyed by product code (alidns, cas, cdn, ...).
    pub endpoints: BTreeMap<String, String>,
    /// Last link of the credential chain (after FC headers and environment variables).
    pub access_key_id: Option<String>,
    pub access_key_secret: Option<Secret>,
    /// How Alibaba Cloud calls are retried on throttling and transient failures.
    pub retry: RetryConfig,
    /// The account's id (digits), used only in the ARNs `alicert policy` prints; without it
    /// they say `*` (the id is unknown offline).
    pub account_id: Option<String>,
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
            account_id: None,
        }
    }
}

impl AliyunConfig {
    /// What `alicert policy`'s ARNs name: the account (`*` unless `account_id` is set) and
    /// the default region.
    pub fn ram_scope(&self) -> super::ram::Scope {
        super::ram::Scope {
            account: self.account_id.clone().unwrap_or_else(|| "*".into()),
            region: self.region.clone(),
        }
    }

    /// Everything checkable before a network call; errors name the key (`[aliyun…] …`).
    pub fn validate(&self) -> Result<(), String> {
        crate::ident::RegionId::parse(&self.region).map_err(|e| format!("[aliyun] region: {e}"))?;
        if let Some(id) = &self.account_id {
            if id.is_empty() || id.len() > 20 || !id.chars().all(|c| c.is_ascii_digit()) {
                return Err(format!(
                    "[aliyun] account_id = \"{id}\": the account id is digits only (the console's \
                     account center shows it); leave it out to get `*` in the policy's ARNs"
                ));
            }
        }
        for (product, url) in &self.endpoints {
            super::Product::from_code(product).ok_or_else(|| {
                format!(
                    "[aliyun.endpoints] unknown product `{product}` (known: {})",
                    super::Product::codes().join(" ")
                )
            })?;
            check_endpoint(url)
                .map_err(|e| format!("[aliyun.endpoints] {product} = \"{url}\": {e}"))?;
        }
        self.retry.validate()
    }
}

impl RetryConfig {
    fn validate(&self) -> Result<(), String> {
        use crate::settings::{at_most, DAY_SECS};
        if self.max_attempts == 0
            || self.max_attempts > 50
            || self.max_delay_ms < self.base_delay_ms
        {
            return Err(
                "[aliyun.retry] needs 1 <= max_attempts <= 50 and max_delay_ms >= base_delay_ms"
                    .into(),
            );
        }
        // Upper bounds: no value may turn into a near-permanent sleep.
        at_most("[aliyun.retry] max_delay_ms", self.max_delay_ms, 300_000)?;
        at_most(
            "[aliyun.retry] max_elapsed_secs",
            self.max_elapsed_secs,
            DAY_SECS,
        )?;
        at_most(
            "[aliyun.retry] request_timeout_secs",
            self.request_timeout_secs,
            600,
        )
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
}
