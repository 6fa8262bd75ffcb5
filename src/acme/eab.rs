//! External Account Binding (RFC 8555 §7.3.4): CAs such as ZeroSSL and Google Trust Services
//! only create an ACME account that is bound, with an HMAC key they hand out, to an account in
//! their own system. The key id is `[acme] eab_kid`, the base64url HMAC key `[acme] eab_hmac_key`
//! (literally, or kms:/oss:/file:/env: like the account key).
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use instant_acme::ExternalAccountKey;

use super::AcmeConfig;
use crate::aliyun::AliyunClient;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::secret_ref::SecretLocation;

/// Config-time checks (no network): both keys or neither, a literal key must decode.
pub fn check_config(config: &AcmeConfig) -> std::result::Result<(), String> {
    let kid = config.eab_kid.as_deref().filter(|s| !s.is_empty());
    let key = config.eab_hmac_key.as_ref().filter(|s| !s.is_empty());
    match (kid, key) {
        (None, None) => Ok(()),
        (Some(_), None) => {
            Err("eab_kid is set but eab_hmac_key is not; set both (or neither)".into())
        }
        (None, Some(_)) => {
            Err("eab_hmac_key is set but eab_kid is not; set both (or neither)".into())
        }
        // A base64url key has no `:`, so a prefix means a location, which must parse.
        (Some(_), Some(key)) if is_reference(key) => SecretLocation::parse(key.expose().trim())
            .map(|_| ())
            .map_err(|e| format!("eab_hmac_key: {e}")),
        (Some(_), Some(key)) => decode(key).map(|_| ()),
    }
}

/// Whether the HMAC key is in KMS or OSS.
pub fn needs_aliyun(config: &AcmeConfig) -> bool {
    config
        .eab_hmac_key
        .as_ref()
        .and_then(location)
        .is_some_and(|l| l.needs_aliyun())
}

fn is_reference(key: &Secret) -> bool {
    let text = key.expose().trim();
    crate::secret_ref::PREFIXES
        .iter()
        .any(|p| text.starts_with(p))
}

/// Where the HMAC key is stored, when the value is a location (else it is the key itself).
fn location(key: &Secret) -> Option<SecretLocation> {
    SecretLocation::parse_if_reference(key.expose())
}

/// base64url, with or without padding (CAs hand them out both ways).
fn decode(key: &Secret) -> std::result::Result<Vec<u8>, String> {
    let text = key.expose().trim();
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .or_else(|_| URL_SAFE.decode(text))
        .map_err(|_| {
            "eab_hmac_key is not base64url (paste the HMAC key exactly as the CA shows it)"
                .to_string()
        })
        .and_then(|b| {
            if b.is_empty() {
                Err("eab_hmac_key is empty".into())
            } else {
                Ok(b)
            }
        })
}

/// The configured EAB key, loaded from its store when it is a reference.
pub async fn load(
    config: &AcmeConfig,
    client: Option<&AliyunClient>,
) -> Result<Option<ExternalAccountKey>> {
    let (Some(kid), Some(key)) = (
        config.eab_kid.as_deref().filter(|s| !s.is_empty()),
        config.eab_hmac_key.as_ref().filter(|s| !s.is_empty()),
    ) else {
        return Ok(None);
    };
    let value = match location(key) {
        Some(location) => location
            .load(client, "[acme] eab_hmac_key")
            .await?
            .ok_or_else(|| {
                Error::Config(format!(
                    "[acme] eab_hmac_key: nothing stored at {location}; put the CA's HMAC key there"
                ))
            })?,
        None => key.clone(),
    };
    let bytes = decode(&value).map_err(|e| Error::Config(format!("[acme] {e}")))?;
    Ok(Some(ExternalAccountKey::new(kid.to_string(), &bytes)))
}

/// The error when the CA requires EAB and none is configured.
pub fn required_error(directory_url: &str) -> Error {
    Error::Config(format!(
        "the ACME CA at {directory_url} requires External Account Binding (its directory says \
         externalAccountRequired) and none is configured: set [acme] eab_kid and eab_hmac_key \
         (ZeroSSL: dashboard → Developer → EAB credentials; Google Trust Services: \
         `gcloud publicca external-account-keys create`)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(kid: Option<&str>, key: Option<&str>) -> AcmeConfig {
        AcmeConfig {
            eab_kid: kid.map(str::to_string),
            eab_hmac_key: key.map(Secret::new),
            ..AcmeConfig::default()
        }
    }

    #[test]
    fn config_checks() {
        check_config(&cfg(None, None)).unwrap();
        check_config(&cfg(
            Some("kid-1"),
            Some("zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"),
        ))
        .unwrap();
        check_config(&cfg(Some("kid-1"), Some("kms:alicert/eab"))).unwrap();
        check_config(&cfg(Some("kid-1"), Some("env:EAB_KEY"))).unwrap();
        let e = check_config(&cfg(Some("kid-1"), Some("kms:a?zone=1"))).unwrap_err();
        assert!(e.contains("eab_hmac_key") && e.contains("region="), "{e}");
        assert!(check_config(&cfg(Some("k"), None))
            .unwrap_err()
            .contains("eab_hmac_key"));
        assert!(check_config(&cfg(None, Some("abc")))
            .unwrap_err()
            .contains("eab_kid"));
        let e = check_config(&cfg(Some("k"), Some("not base64!"))).unwrap_err();
        assert!(e.contains("base64url") && !e.contains("not base64!"), "{e}");
    }

    #[tokio::test]
    async fn loads_literal_and_env_keys() {
        assert!(load(&cfg(None, None), None).await.unwrap().is_none());
        assert!(load(&cfg(Some("k"), Some("c2VjcmV0")), None)
            .await
            .unwrap()
            .is_some());
        let var = "ALICERT_TEST_EAB_KEY_UNSET_VARIABLE";
        let Err(e) = load(&cfg(Some("k"), Some(&format!("env:{var}"))), None).await else {
            panic!("unset variable accepted")
        };
        assert!(e.to_string().contains(var), "{e}");
    }
}
