//! ACME (RFC 8555) with instant-acme: directory aliases, the account found by its key, and
//! certificate keys. Orders live in `order.rs`, the account key's storage in `key_store.rs`.
pub mod http;
pub mod key_store;
pub mod order;

use instant_acme::{Account, AccountBuilder, Key, LetsEncrypt};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::aliyun::AliyunClient;
use crate::config::{AcmeConfig, KeyType};
use crate::error::{Error, Result};
use crate::secret::Secret;
use key_store::{KeyLocation, KeyStore};

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

fn builder(config: &AcmeConfig) -> Result<AccountBuilder> {
    let ca_bundle = config.ca_bundle.as_deref().filter(|s| !s.is_empty());
    Ok(Account::builder_with_http(Box::new(http::AcmeHttp::new(
        ca_bundle,
    )?)))
}

/// A fresh ACME account key, PKCS#8 PEM.
pub fn generate_account_key() -> Result<Secret> {
    let (_, der) =
        Key::generate_pkcs8().map_err(|e| Error::Acme(format!("key generation: {e}")))?;
    Ok(Secret::new(pem::encode(&pem::Pem::new(
        "PRIVATE KEY",
        der.secret_pkcs8_der().to_vec(),
    ))))
}

fn parse_account_key(
    pem_text: &Secret,
    location: &KeyLocation,
) -> Result<(Key, PrivateKeyDer<'static>)> {
    let block = pem::parse(pem_text.expose().trim())
        .map_err(|_| Error::Config(format!("account key at {location} is not PEM")))?;
    if block.tag() != "PRIVATE KEY" {
        return Err(Error::Config(format!(
            "account key at {location} is a `{}` PEM block; alicert needs PKCS#8 (`PRIVATE KEY`), \
             convert with `openssl pkcs8 -topk8 -nocrypt`",
            block.tag()
        )));
    }
    let der = PrivatePkcs8KeyDer::from(block.contents().to_vec());
    let key = Key::from_pkcs8_der(der.clone_key()).map_err(|_| {
        Error::Config(format!(
            "account key at {location} is not an ECDSA P-256 key"
        ))
    })?;
    Ok((key, PrivateKeyDer::Pkcs8(der)))
}

/// The ACME account: key loaded (or created race-safely), account found by key
/// (onlyReturnExisting) and created only when the CA does not know the key.
pub async fn open_account(config: &AcmeConfig, client: Option<&AliyunClient>) -> Result<Account> {
    open_account_with(config, client, true).await
}

/// Like [`open_account`]; with `create = false` neither the key nor the account is created.
pub async fn open_account_with(
    config: &AcmeConfig,
    client: Option<&AliyunClient>,
    create: bool,
) -> Result<Account> {
    let location = KeyLocation::parse(&config.account_key).map_err(Error::Config)?;
    let mut kms_create_params = Vec::new();
    if let Some(id) = config.kms_instance_id.clone().filter(|s| !s.is_empty()) {
        kms_create_params.push(("DKMSInstanceId", id));
    }
    if let Some(id) = config
        .kms_encryption_key_id
        .clone()
        .filter(|s| !s.is_empty())
    {
        kms_create_params.push(("EncryptionKeyId", id));
    }
    let store = KeyStore {
        location: location.clone(),
        client,
        kms_create_params,
    };
    let pem_text = if create {
        store.load_or_create(generate_account_key).await?.0
    } else {
        store.load().await?.ok_or_else(|| {
            Error::Input(format!(
                "no ACME account key at {location} yet; run `alicert account create` or a renewal first"
            ))
        })?
    };
    let url = directory_url(&config.directory).map_err(Error::Config)?;

    match builder(config)?
        .from_key(parse_account_key(&pem_text, &location)?, url.clone())
        .await
    {
        Ok((account, _)) => {
            tracing::info!(account = account.id(), "ACME account found by key");
            Ok(account)
        }
        Err(instant_acme::Error::Api(p))
            if create
                && p.r#type.as_deref()
                    == Some("urn:ietf:params:acme:error:accountDoesNotExist") =>
        {
            let (account, _) = builder(config)?
                .create_from_key(parse_account_key(&pem_text, &location)?, url)
                .await?;
            if let Some(email) = config.email.as_deref().filter(|e| !e.is_empty()) {
                let contact = format!("mailto:{email}");
                account.update_contacts(&[contact.as_str()]).await?;
            }
            tracing::info!(account = account.id(), "ACME account created");
            Ok(account)
        }
        Err(e) => Err(Error::Acme(format!("finding the account at {url}: {e}"))),
    }
}

/// A new certificate key of `key_type`.
pub fn generate_certificate_key(key_type: KeyType) -> Result<rcgen::KeyPair> {
    let fail = |e: String| Error::Other(format!("certificate key generation: {e}"));
    match key_type {
        KeyType::EcP256 => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        KeyType::EcP384 => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
        KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => {
            // ring cannot generate RSA keys; the `rsa` crate does, rcgen then signs with it.
            use rsa::pkcs8::EncodePrivateKey;
            let bits = match key_type {
                KeyType::Rsa2048 => 2048,
                KeyType::Rsa3072 => 3072,
                _ => 4096,
            };
            let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), bits)
                .map_err(|e| fail(e.to_string()))?;
            let der = key.to_pkcs8_der().map_err(|e| fail(e.to_string()))?;
            rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
                &PrivatePkcs8KeyDer::from(der.as_bytes().to_vec()),
                &rcgen::PKCS_RSA_SHA256,
            )
        }
    }
    .map_err(|e| fail(e.to_string()))
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

    #[test]
    fn account_key_round_trips() {
        let pem = generate_account_key().unwrap();
        let loc = KeyLocation::Env { var: "X".into() };
        parse_account_key(&pem, &loc).unwrap();
        let Err(e) = parse_account_key(&Secret::new("junk"), &loc) else {
            panic!("junk parsed as a key")
        };
        let e = e.to_string();
        assert!(e.contains("not PEM"), "{e}");
    }

    #[test]
    fn every_key_type_makes_a_csr() {
        for kt in [KeyType::EcP256, KeyType::EcP384, KeyType::Rsa2048] {
            let key = generate_certificate_key(kt).unwrap();
            let params = rcgen::CertificateParams::new(vec!["example.com".to_string()]).unwrap();
            params.serialize_request(&key).unwrap();
            assert!(key.serialize_pem().contains("PRIVATE KEY"));
        }
    }
}
