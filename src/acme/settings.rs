//! `[acme]`: the CA, the account and its key, and what new orders ask for. Parsed and checked
//! here; `config` only places the section.
use serde::Deserialize;

use crate::secret::Secret;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AcmeConfig {
    pub directory: String,
    pub email: Option<String>,
    pub account_key: String,
    pub ca_bundle: Option<String>,
    pub renew_before_days: u32,
    /// KMS instance (`DKMSInstanceId`) for creating a `kms:` account key secret (KMS 3.0).
    pub kms_instance_id: Option<String>,
    /// KMS key (`EncryptionKeyId`) that encrypts a `kms:` account key secret alicert creates.
    pub kms_encryption_key_id: Option<String>,
    /// External Account Binding key id (ZeroSSL, Google Trust Services, ...).
    pub eab_kid: Option<String>,
    /// EAB HMAC key, base64url; or where it is: kms:<secret> | oss://<bucket>/<key> | file:<path> | env:<VAR>.
    pub eab_hmac_key: Option<Secret>,
    /// ARI: renew when the CA's suggested window starts within this many hours (the timer period).
    pub ari_lookahead_hours: u32,
    /// ACME profile for new orders (e.g. Let's Encrypt `tlsserver`, `shortlived`).
    pub profile: Option<String>,
    /// Issuer common name of the chain to prefer among the CA's alternates.
    pub preferred_chain: Option<String>,
    /// Certificates processed (read, ordered, deployed) at once in one invocation.
    pub max_concurrent_orders: usize,
    /// After a failed order, the next attempt first orders the same names from the CA's
    /// staging directory (no deploy) and goes to production only when that succeeds
    /// (certmagic's way of sparing production's limits).
    pub rehearse_on_staging: bool,
    /// The staging directory for `rehearse_on_staging`; default: Let's Encrypt's or Google's
    /// staging for those CAs.
    pub staging_directory: Option<String>,
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
            rehearse_on_staging: false,
            staging_directory: None,
        }
    }
}

impl AcmeConfig {
    /// The staging directory URL for rehearsals: `staging_directory`, else the known staging
    /// twin of `directory` (Let's Encrypt, Google Trust Services).
    pub fn staging_url(&self) -> Option<String> {
        if let Some(d) = self.staging_directory.as_deref().filter(|d| !d.is_empty()) {
            return super::directory_url(d).ok();
        }
        let production = super::directory_url(&self.directory).ok()?;
        let twin = [
            ("letsencrypt", "letsencrypt-staging"),
            ("google", "google-staging"),
        ]
        .into_iter()
        .find(|(p, _)| super::directory_url(p).ok().as_deref() == Some(production.as_str()))?;
        super::directory_url(twin.1).ok()
    }

    /// Everything checkable before a network call; errors name the key (`[acme] …`).
    pub fn validate(&self) -> Result<(), String> {
        if self.account_key.is_empty() {
            return Err("[acme] account_key is required (kms:<secret> | oss://<bucket>/<key> | file:<path> | env:<VAR>; or set ALICERT_ACME_ACCOUNT_KEY)".into());
        }
        super::key_store::KeyLocation::parse(&self.account_key)
            .map_err(|e| format!("[acme] account_key: {e}"))?;
        super::directory_url(&self.directory).map_err(|e| format!("[acme] directory: {e}"))?;
        super::eab::check_config(self).map_err(|e| format!("[acme] {e}"))?;
        crate::settings::concurrency("[acme] max_concurrent_orders", self.max_concurrent_orders)?;
        if let Some(d) = self.staging_directory.as_deref().filter(|d| !d.is_empty()) {
            super::directory_url(d).map_err(|e| format!("[acme] staging_directory: {e}"))?;
        }
        if self.rehearse_on_staging && self.staging_url().is_none() {
            return Err(format!(
                "[acme] rehearse_on_staging: no staging directory is known for `{}`; set [acme] staging_directory",
                self.directory
            ));
        }
        for (key, value) in [
            ("kms_instance_id", &self.kms_instance_id),
            ("kms_encryption_key_id", &self.kms_encryption_key_id),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                crate::ident::ResourceId::parse(v).map_err(|e| format!("[acme] {key}: {e}"))?;
            }
        }
        Ok(())
    }
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
