//! ACME (RFC 8555) with instant-acme: directory aliases, the HTTP client and directory
//! ([`Acme`]), the account found by its key (created race-safely, with External Account
//! Binding when configured) and certificate keys. Orders live in `order.rs`, the account
//! key's storage in `key_store.rs`, account operations in `account.rs`, renewal information
//! in `ari.rs`, alternate chains in `chain.rs`, External Account Binding in `eab.rs`.
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
pub mod order;

/// How often a call rejected for its nonce is repeated (each time after instant-acme's own 3).
pub const BAD_NONCE_ATTEMPTS: u32 = 8;

pub fn is_bad_nonce(e: &instant_acme::Error) -> bool {
    matches!(e, instant_acme::Error::Api(p) if p.r#type.as_deref() == Some("urn:ietf:params:acme:error:badNonce"))
}

use instant_acme::{Account, AccountBuilder, Key, LetsEncrypt, NewAccount};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::sync::OnceCell;

use crate::aliyun::AliyunClient;
use crate::config::{AcmeConfig, KeyType};
use crate::error::{Error, Result};
use crate::secret::Secret;
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

    fn contacts(&self) -> Vec<String> {
        self.config
            .email
            .iter()
            .filter(|e| !e.is_empty())
            .map(|e| format!("mailto:{e}"))
            .collect()
    }

    /// The account: key loaded (or created race-safely), account found by key
    /// (onlyReturnExisting) and created only when the CA does not know the key. With
    /// `create = false` neither the key nor the account is created.
    pub async fn open(&self, client: Option<&AliyunClient>, create: bool) -> Result<OpenAccount> {
        let store = self.key_store(client);
        let directory = self.directory().await?;
        let eab_required = directory.meta.external_account_required;
        match store.load().await? {
            Some(pem) => self.find_or_create(&store, client, pem, create).await,
            None if !create => Err(Error::Input(format!(
                "no ACME account key at {} yet; run `alicert account create` or a renewal first",
                store.location
            ))),
            None => match eab::load(&self.config, client).await? {
                None if eab_required => Err(eab::required_error(&self.url)),
                None => {
                    // The key is stored first (create-once), then the account made from it,
                    // so concurrent first runs agree on one key and one account.
                    let (pem, _) = store.load_or_create(generate_account_key).await?;
                    self.find_or_create(&store, client, pem, true).await
                }
                Some(eab) => {
                    // instant-acme binds an account only while creating its key itself, so
                    // here the account comes first and the key is stored create-once after.
                    let (account, pem) = self.create_with_eab(&eab).await?;
                    if store.create(&pem).await? {
                        tracing::info!(
                            account = account.id(),
                            "ACME account created with External Account Binding"
                        );
                        return Ok(self.opened(account, pem, store.location.clone(), true));
                    }
                    tracing::warn!(
                        "another invocation stored an account key first; deactivating the account just created and using the stored one"
                    );
                    if let Err(e) = account.deactivate().await {
                        tracing::warn!(error = %e, "could not deactivate the unused account");
                    }
                    let pem = store.load().await?.ok_or_else(|| {
                        Error::Other(format!("account key at {} vanished", store.location))
                    })?;
                    self.find_or_create(&store, client, pem, false).await
                }
            },
        }
    }

    async fn find_or_create(
        &self,
        store: &KeyStore<'_>,
        client: Option<&AliyunClient>,
        pem: Secret,
        create: bool,
    ) -> Result<OpenAccount> {
        let location = &store.location;
        match retry_bad_nonce!(
            "find account",
            self.builder()
                .from_key(parse_account_key(&pem, location)?, self.url.clone())
                .await
        ) {
            Ok((account, _)) => {
                tracing::info!(account = account.id(), "ACME account found by key");
                Ok(self.opened(account, pem, location.clone(), false))
            }
            Err(instant_acme::Error::Api(p))
                if p.r#type.as_deref()
                    == Some("urn:ietf:params:acme:error:accountDoesNotExist") =>
            {
                if !create {
                    return Err(Error::Input(format!(
                        "the ACME CA at {} has no account for the key at {location}; run `alicert account create`",
                        self.url
                    )));
                }
                let eab = eab::load(&self.config, client).await?;
                if eab.is_none() && self.directory().await?.meta.external_account_required {
                    return Err(eab::required_error(&self.url));
                }
                if let Some(eab) = eab {
                    // A stored key without an account, and a CA that binds only keys
                    // instant-acme generates: replace the stored key (same protocol as a
                    // rollover: checked unchanged and backed up first).
                    store.prepare_replace(&pem).await?;
                    let (account, new_pem) = self.create_with_eab(&eab).await?;
                    store.replace(&new_pem).await?;
                    tracing::info!(account = account.id(), "ACME account created with External Account Binding; its key replaced the unused stored key");
                    return Ok(self.opened(account, new_pem, location.clone(), true));
                }
                let (account, _) = retry_bad_nonce!(
                    "create account",
                    self.builder()
                        .create_from_key(parse_account_key(&pem, location)?, self.url.clone())
                        .await
                )?;
                let contacts = self.contacts();
                if !contacts.is_empty() {
                    let refs: Vec<&str> = contacts.iter().map(String::as_str).collect();
                    retry_bad_nonce!("update contacts", account.update_contacts(&refs).await)?;
                }
                tracing::info!(account = account.id(), "ACME account created");
                Ok(self.opened(account, pem, location.clone(), true))
            }
            Err(instant_acme::Error::Api(p))
                if p.r#type.as_deref() == Some("urn:ietf:params:acme:error:unauthorized")
                    && p.detail
                        .as_deref()
                        .is_some_and(|d| d.contains("deactivated")) =>
            {
                Err(Error::Input(format!(
                    "the ACME account of the key at {location} is deactivated at {} and cannot be \
                     used again: point [acme] account_key at a new location (or remove the stored \
                     key) and run `alicert account create`",
                    self.url
                )))
            }
            Err(e) => Err(Error::Acme(format!(
                "finding the account at {}: {e}",
                self.url
            ))),
        }
    }

    async fn create_with_eab(
        &self,
        eab: &instant_acme::ExternalAccountKey,
    ) -> Result<(Account, Secret)> {
        let contacts = self.contacts();
        let refs: Vec<&str> = contacts.iter().map(String::as_str).collect();
        let (account, credentials) = self
            .builder()
            .create(
                &NewAccount {
                    contact: &refs,
                    terms_of_service_agreed: true,
                    only_return_existing: false,
                },
                self.url.clone(),
                Some(eab),
            )
            .await
            .map_err(|e| {
                Error::Acme(format!(
                    "creating the account with External Account Binding ([acme] eab_kid): {e}"
                ))
            })?;
        let pem = pkcs8_pem(credentials.private_key().secret_pkcs8_der());
        Ok((account, pem))
    }

    fn opened(
        &self,
        account: Account,
        key: Secret,
        location: SecretLocation,
        created: bool,
    ) -> OpenAccount {
        let (status, contacts) = self.account_object(account.id());
        OpenAccount {
            account,
            key,
            location,
            created,
            status,
            contacts,
        }
    }

    /// Status and contacts from the newest account object the CA sent (newAccount's answer or
    /// the account URL's), as captured by the HTTP client; instant-acme does not keep them.
    fn account_object(&self, account_url: &str) -> (Option<String>, Vec<String>) {
        let tap = self.http.tap();
        let new_account = self
            .directory
            .get()
            .map(|d| d.new_account.clone())
            .unwrap_or_default();
        let body = [account_url, new_account.as_str()]
            .iter()
            .filter_map(|u| tap.get(u))
            .filter(|c| c.status < 300)
            .filter_map(|c| {
                serde_json::from_slice::<serde_json::Value>(&c.body)
                    .ok()
                    .map(|v| (c.seq, v))
            })
            .max_by_key(|(seq, _)| *seq)
            .map(|(_, v)| v);
        let Some(v) = body else {
            return (None, Vec::new());
        };
        let status = v["status"].as_str().map(str::to_string);
        let contacts = v["contact"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        (status, contacts)
    }
}

/// The account for `config`, created when missing: a shorthand for [`Acme::open`] (the
/// returned account keeps its own [`Acme`]'s HTTP client).
pub async fn open_account(config: &AcmeConfig, client: Option<&AliyunClient>) -> Result<Account> {
    Ok(Acme::new(config)?.open(client, true).await?.account)
}

/// An account ready to use, with what alicert knows about it.
pub struct OpenAccount {
    pub account: Account,
    /// The PEM stored at `location` (the account key).
    pub key: Secret,
    pub location: SecretLocation,
    pub created: bool,
    /// From the CA's account object, when it sent one.
    pub status: Option<String>,
    pub contacts: Vec<String>,
}

fn pkcs8_pem(der: &[u8]) -> Secret {
    Secret::new(pem::encode(&pem::Pem::new("PRIVATE KEY", der.to_vec())))
}

/// A fresh ACME account key, PKCS#8 PEM.
pub fn generate_account_key() -> Result<Secret> {
    let (_, der) =
        Key::generate_pkcs8().map_err(|e| Error::Acme(format!("key generation: {e}")))?;
    Ok(pkcs8_pem(der.secret_pkcs8_der()))
}

fn parse_account_key(
    pem_text: &Secret,
    location: &SecretLocation,
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

/// The previous certificate key, for `reuse_key = true`: usable only when it is PKCS#8, of
/// the configured `key_type`, and the key of the certificate it was deployed with.
pub fn reuse_certificate_key(
    pem_text: &Secret,
    key_type: KeyType,
    deployed_public_key: &[u8],
) -> std::result::Result<rcgen::KeyPair, String> {
    use rcgen::PublicKeyData as _;
    let block = pem::parse(pem_text.expose().trim())
        .map_err(|_| "the stored private key is not PEM".to_string())?;
    if block.tag() != "PRIVATE KEY" {
        return Err(format!(
            "the stored private key is a `{}` block, not PKCS#8",
            block.tag()
        ));
    }
    let der = PrivatePkcs8KeyDer::from(block.contents().to_vec());
    let (alg, bits) = match key_type {
        KeyType::EcP256 => (&rcgen::PKCS_ECDSA_P256_SHA256, 0),
        KeyType::EcP384 => (&rcgen::PKCS_ECDSA_P384_SHA384, 0),
        KeyType::Rsa2048 => (&rcgen::PKCS_RSA_SHA256, 2048),
        KeyType::Rsa3072 => (&rcgen::PKCS_RSA_SHA256, 3072),
        KeyType::Rsa4096 => (&rcgen::PKCS_RSA_SHA256, 4096),
    };
    let key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, alg).map_err(|_| {
        format!("the stored private key is not an {key_type} key (key_type changed?)")
    })?;
    if bits != 0 {
        use rsa::pkcs8::DecodePrivateKey as _;
        use rsa::traits::PublicKeyParts as _;
        let rsa = rsa::RsaPrivateKey::from_pkcs8_der(block.contents())
            .map_err(|_| "the stored RSA key does not parse".to_string())?;
        if rsa.size() * 8 != bits {
            return Err(format!(
                "the stored key is RSA-{}, key_type asks for RSA-{bits}",
                rsa.size() * 8
            ));
        }
    }
    if key.der_bytes() != deployed_public_key {
        return Err("the stored private key does not belong to the deployed certificate".into());
    }
    Ok(key)
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
        let loc = SecretLocation::Env { var: "X".into() };
        parse_account_key(&pem, &loc).unwrap();
        let Err(e) = parse_account_key(&Secret::new("junk"), &loc) else {
            panic!("junk parsed as a key")
        };
        let e = e.to_string();
        assert!(e.contains("not PEM"), "{e}");
    }

    #[test]
    fn reuses_only_a_matching_key() {
        let key = generate_certificate_key(KeyType::EcP256).unwrap();
        let params = rcgen::CertificateParams::new(vec!["example.com".to_string()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let info = crate::cert::CertInfo::from_pem(&cert.pem()).unwrap();
        let pem = Secret::new(key.serialize_pem());
        let again = reuse_certificate_key(&pem, KeyType::EcP256, &info.public_key()).unwrap();
        assert_eq!(again.serialize_der(), key.serialize_der());
        let e = reuse_certificate_key(&pem, KeyType::EcP384, &info.public_key()).unwrap_err();
        assert!(e.contains("ec-p384"), "{e}");
        let other = generate_certificate_key(KeyType::EcP256).unwrap();
        let e = reuse_certificate_key(
            &Secret::new(other.serialize_pem()),
            KeyType::EcP256,
            &info.public_key(),
        )
        .unwrap_err();
        assert!(e.contains("does not belong"), "{e}");
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
