//! A small signed client for Alibaba Cloud: RPC-style actions (rpc.rs), ROA actions signed
//! with V3 (roa.rs) and the few OSS calls alicert needs (oss.rs), over the crate's one HTTP
//! stack (transport.rs). Retries transient failures with bounded exponential backoff and
//! jitter (retry.rs).
use std::collections::{BTreeMap, HashMap};

use super::signer;
use super::{Credentials, Product};
use crate::error::{Error, Result};
use crate::https::Https;

mod oss;
mod retry;
mod roa;
mod rpc;
mod transport;

pub use oss::{xml_children, BucketVersioning, OssRequest, PutOutcome};
pub use retry::{is_retryable, is_retryable_with, is_transient, parse_retry_after, RetryPolicy};
pub use roa::{RoaRequest, RoaResponse};
pub use transport::scrub_message;

#[derive(Clone)]
pub struct AliyunClient {
    http: Https,
    pub(in crate::aliyun) credentials: Credentials,
    region: String,
    endpoints: HashMap<Product, String>,
    retry: RetryPolicy,
    /// The account id for endpoints that carry it (FC 2.0), once known.
    account: Option<String>,
    /// The invocation's role sessions (`role_arn`, role.rs), shared by every clone.
    pub(in crate::aliyun) roles: std::sync::Arc<super::role::Sessions>,
    /// The documented per-second quotas, kept by every clone together (quota.rs).
    quotas: std::sync::Arc<super::quota::Quotas>,
}

impl AliyunClient {
    pub fn new(
        credentials: Credentials,
        region: &str,
        overrides: &BTreeMap<String, String>,
    ) -> Result<AliyunClient> {
        let mut endpoints = HashMap::new();
        for (code, url) in overrides {
            let product = Product::from_code(code).ok_or_else(|| {
                Error::Config(format!("[aliyun.endpoints] unknown product `{code}`"))
            })?;
            endpoints.insert(product, url.trim_end_matches('/').to_string());
        }
        Ok(AliyunClient {
            // Never follows a redirect: a signed request (SecurityToken in its query) is not
            // replayed to another host.
            http: Https::new(),
            credentials,
            region: region.to_string(),
            endpoints,
            retry: RetryPolicy::default(),
            account: None,
            roles: Default::default(),
            quotas: Default::default(),
        })
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = RetryPolicy {
            deadline: self.retry.deadline,
            ..retry
        };
        self
    }

    /// Bound every call (and its retries) by the invocation's deadline.
    pub fn with_deadline(mut self, deadline: Option<std::time::Instant>) -> Self {
        self.retry.deadline = deadline;
        self
    }

    /// `text` with any credential value that a server echoed back (Alibaba's
    /// SignatureDoesNotMatch message quotes the string to sign, SecurityToken included)
    /// replaced by `***`.
    fn scrub(&self, text: String) -> String {
        let mut out = text;
        let mut values = vec![self.credentials.access_key_secret.expose().to_string()];
        if let Some(t) = &self.credentials.security_token {
            let once = signer::percent_encode(t.expose());
            values.push(signer::percent_encode(&once));
            values.push(once);
            values.push(t.expose().to_string());
        }
        for v in values.iter().filter(|v| v.len() >= 4) {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), "***");
            }
        }
        out
    }

    /// The same client signing with `credentials` (role.rs; the role cache stays shared).
    pub(crate) fn with_credentials(&self, credentials: Credentials) -> AliyunClient {
        AliyunClient {
            credentials,
            ..self.clone()
        }
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// The same client addressing resources in `region` (a bucket, listener, gateway group,
    /// ... that lives outside `[aliyun] region`): regional endpoints and scopes follow it.
    pub fn for_region(&self, region: &crate::ident::RegionId) -> AliyunClient {
        AliyunClient {
            region: region.as_str().to_string(),
            ..self.clone()
        }
    }

    /// The same client for an account's own endpoints (FC 2.0's
    /// `<account_id>.<region>.fc.aliyuncs.com`); `account_id` is digits only.
    pub fn for_account(&self, account_id: &str) -> AliyunClient {
        AliyunClient {
            account: Some(account_id.to_string()),
            ..self.clone()
        }
    }

    /// Base URL of `product`: the override if configured (`{region}` in it replaced by the
    /// region addressed, e.g. `https://kms-vpc.{region}.aliyuncs.com`, and `{account_id}` by
    /// the account's), else the SDK's endpoint for the region (see endpoints.rs; FC 2.0's
    /// `account-id` label becomes the account id).
    pub fn endpoint(&self, product: Product) -> String {
        let account = self
            .account
            .as_deref()
            .unwrap_or(super::endpoints::ACCOUNT_LABEL);
        match self.endpoints.get(&product) {
            Some(template) => template
                .replace("{region}", &self.region)
                .replace("{account_id}", account),
            None if product == Product::Fc2 => {
                let host = super::endpoints::host(product, &self.region);
                let rest = host
                    .strip_prefix(super::endpoints::ACCOUNT_LABEL)
                    .unwrap_or(&host);
                format!("https://{account}{rest}")
            }
            None => product.default_endpoint(&self.region),
        }
    }
}

/// A refusal's message, with the RAM action that was denied when the answer names it
/// (`AccessDeniedDetail.AuthAction`, RAM's diagnostic on Forbidden.RAM / NoPermission).
pub(crate) fn ram_hint(message: String, body: &serde_json::Value) -> String {
    match body["AccessDeniedDetail"]["AuthAction"].as_str() {
        Some(a) if !a.is_empty() => format!(
            "{message} {}{a}: grant it to these credentials; `alicert policy` prints \
             what the config needs)",
            crate::error::DENIED_MARK
        ),
        _ => message,
    }
}

#[cfg(test)]
fn test_client(security_token: Option<&str>) -> AliyunClient {
    let creds = Credentials {
        access_key_id: "id".into(),
        access_key_secret: crate::secret::Secret::new("the-secret"),
        security_token: security_token.map(crate::secret::Secret::new),
    };
    AliyunClient::new(creds, "cn-hangzhou", &BTreeMap::new()).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_credentials_are_scrubbed() {
        let c = test_client(Some("tok/en+="));
        let once = signer::percent_encode("tok/en+=");
        let twice = signer::percent_encode(&once);
        let msg =
            format!("string to sign: SecurityToken%3D{twice} raw tok/en+= once {once} the-secret");
        let out = c.scrub(msg);
        assert!(!out.contains("tok") && !out.contains("the-secret"), "{out}");
    }
}
