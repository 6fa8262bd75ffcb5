//! ACME (RFC 8555) with instant-acme. Here: directory aliases and [`Acme`] (the HTTP client,
//! the directory fetched once, the ARI cache). The account found by its key lives in
//! `account/open.rs`, account operations in `account/`, the account key's storage in
//! `key_store.rs`, certificate keys in `keys.rs`, orders in `order/`, renewal information in
//! `ari.rs`, alternate chains in `chain.rs`, External Account Binding in `eab.rs`.
/// Retry an instant-acme call while the CA rejects its nonce (`badNonce`). instant-acme
/// already retries twice itself; a CA under load (or Pebble's PEBBLE_WFE_NONCEREJECT) can
/// reject more, and a rejected request was not processed, so repeating it is always safe.
macro_rules! retry_bad_nonce {
    ($what:expr, $call:expr) => {{
        let mut attempt = 1u32;
        loop {
            match $call {
                Err(e)
                    if crate::acme::is_bad_nonce(&e)
                        && attempt < crate::acme::BAD_NONCE_ATTEMPTS =>
                {
                    tracing::warn!(what = $what, attempt, "ACME badNonce; retrying");
                    attempt += 1;
                }
                other => break other,
            }
        }
    }};
}

pub mod account;
pub mod ari;
pub mod chain;
pub mod directory;
pub mod eab;
pub mod http;
pub mod key_store;
pub mod keys;
pub mod order;
pub mod settings;

pub use settings::{AcmeConfig, KeyType};

pub use account::open::{generate_account_key, open_account, OpenAccount};
pub use keys::{generate_certificate_key, reuse_certificate_key};

/// How often a call rejected for its nonce is repeated (each time after instant-acme's own 3).
pub const BAD_NONCE_ATTEMPTS: u32 = 8;

pub fn is_bad_nonce(e: &instant_acme::Error) -> bool {
    matches!(e, instant_acme::Error::Api(p) if p.r#type.as_deref() == Some("urn:ietf:params:acme:error:badNonce"))
}

use instant_acme::{Account, AccountBuilder, LetsEncrypt};
use tokio::sync::OnceCell;

use crate::aliyun::AliyunClient;
use crate::error::{Error, Result};
use crate::secret_ref::SecretLocation;
use directory::Directory;
use http::AcmeHttp;
use key_store::KeyStore;

/// Resolve a directory alias or URL.
pub fn directory_url(directory: &str) -> std::result::Result<String, String> {
    match directory {
        "letsencrypt" | "" => Ok(LetsEncrypt::Production.url().to_string()),
        "letsencrypt-staging" => Ok(LetsEncrypt::Staging.url().to_string()),
        "zerossl" => Ok("https://acme.zerossl.com/v2/DV90".to_string()),
        "google" => Ok("https://dv.acme-v02.api.pki.goog/directory".to_string()),
        "google-staging" => Ok("https://dv.acme-v02.test-api.pki.goog/directory".to_string()),
        url if url.starts_with("https://") || url.starts_with("http://") => Ok(url.to_string()),
        other => Err(format!(
            "`{other}` is neither an alias (letsencrypt, letsencrypt-staging, zerossl, google, google-staging) nor an http(s) URL"
        )),
    }
}

/// Whether the account key or the EAB key lives in KMS or OSS (needs Alibaba credentials).
pub fn needs_aliyun(config: &AcmeConfig) -> bool {
    SecretLocation::parse(&config.account_key).is_ok_and(|l| l.needs_aliyun())
        || eab::needs_aliyun(config)
}

/// The ACME side of one invocation: the configured CA, the HTTP client every account and
/// order uses, and the directory (fetched once, on first use).
pub struct Acme {
    pub config: AcmeConfig,
    /// The directory URL (aliases resolved).
    pub url: String,
    /// `[acme] account_key`, parsed.
    pub key_location: SecretLocation,
    http: AcmeHttp,
    directory: OnceCell<Directory>,
    ari: ari::Cache,
}

impl Acme {
    /// No network: reads `ca_bundle` and builds the client.
    pub fn new(config: &AcmeConfig) -> Result<Acme> {
        let url = directory_url(&config.directory).map_err(Error::Config)?;
        let key_location = SecretLocation::parse(&config.account_key)
            .map_err(|e| Error::Config(format!("[acme] account_key: {e}")))?;
        let bundle = config.ca_bundle.as_deref().filter(|s| !s.is_empty());
        Ok(Acme {
            config: config.clone(),
            url,
            key_location,
            http: AcmeHttp::new(bundle)?,
            directory: OnceCell::new(),
            ari: ari::Cache::default(),
        })
    }

    pub fn http(&self) -> &AcmeHttp {
        &self.http
    }

    /// `e`, as a [`Error::RateLimited`] with the time to retry when the CA refused for its
    /// limits since `mark` (a `rateLimited` problem, or 429/503 with `Retry-After`): the
    /// failure memory ([`crate::backoff`]) then waits that long.
    pub fn rate_limited(&self, e: Error, mark: u64) -> Error {
        let refused = self.http.tap().refused_since(mark);
        let retry_at = refused.as_ref().and_then(|c| {
            let value = c.headers.get(::http::header::RETRY_AFTER)?.to_str().ok()?;
            let wait =
                crate::aliyun::client::parse_retry_after(value, std::time::SystemTime::now())?;
            let wait = i64::try_from(wait.as_secs()).ok()?;
            Some(
                time::OffsetDateTime::now_utc()
                    .unix_timestamp()
                    .saturating_add(wait),
            )
        });
        match e {
            Error::RateLimited { message, .. } => Error::RateLimited { message, retry_at },
            Error::Acme(message) if retry_at.is_some() => Error::RateLimited { message, retry_at },
            other => other,
        }
    }

    pub async fn directory(&self) -> Result<&Directory> {
        self.directory
            .get_or_try_init(|| Directory::fetch(&self.http, &self.url))
            .await
    }

    fn builder(&self) -> AccountBuilder {
        Account::builder_with_http(Box::new(self.http.clone()))
    }

    /// The key store of `[acme] account_key`, with the KMS 3.0 instance and key for
    /// CreateSecret (`DKMSInstanceId`, `EncryptionKeyId`) when configured.
    pub fn key_store<'a>(&self, client: Option<&'a AliyunClient>) -> KeyStore<'a> {
        let kms_create_params = [
            ("DKMSInstanceId", &self.config.kms_instance_id),
            ("EncryptionKeyId", &self.config.kms_encryption_key_id),
        ]
        .into_iter()
        .filter_map(|(param, v)| Some((param, v.clone().filter(|s| !s.is_empty())?)))
        .collect();
        KeyStore {
            location: self.key_location.clone(),
            client,
            kms_create_params,
        }
    }
}

/// The RAM statements `[acme]` needs: the account key location, and reading an EAB HMAC key
/// stored by reference.
pub fn ram_statements(
    config: &AcmeConfig,
    scope: &crate::aliyun::ram::Scope,
) -> Vec<crate::aliyun::ram::Statement> {
    let mut out = match crate::secret_ref::SecretLocation::parse(&config.account_key) {
        Ok(location) => key_store::ram_statements(&location, scope),
        Err(_) => vec![],
    };
    if let Some(eab) = &config.eab_hmac_key {
        out.extend(crate::secret_ref::read_statements([eab.expose()], scope));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_aliases() {
        assert!(directory_url("letsencrypt")
            .unwrap()
            .contains("acme-v02.api.letsencrypt.org"));
        assert!(directory_url("letsencrypt-staging")
            .unwrap()
            .contains("staging"));
        assert_eq!(
            directory_url("https://127.0.0.1:14000/dir").unwrap(),
            "https://127.0.0.1:14000/dir"
        );
        assert!(directory_url("lets-encrypt").is_err());
    }
}
