//! The account found by its key: the key loaded from `[acme] account_key` (or created
//! race-safely on first use), the account looked up with it (onlyReturnExisting) and created
//! only when the CA does not know the key, with External Account Binding when configured.
use instant_acme::{Account, Key, NewAccount};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::acme::key_store::KeyStore;
use crate::acme::AcmeConfig;
use crate::acme::{eab, Acme};
use crate::aliyun::AliyunClient;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::secret_ref::SecretLocation;

impl Acme {
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
                self.create_for_key(store, client, pem).await
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

    /// newAccount for a stored key the CA does not know (with EAB: a new key replaces it).
    async fn create_for_key(
        &self,
        store: &KeyStore<'_>,
        client: Option<&AliyunClient>,
        pem: Secret,
    ) -> Result<OpenAccount> {
        let location = &store.location;
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
    pub(in crate::acme) fn account_object(
        &self,
        account_url: &str,
    ) -> (Option<String>, Vec<String>) {
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

pub(in crate::acme) fn pkcs8_pem(der: &[u8]) -> Secret {
    Secret::new(pem::encode(&pem::Pem::new("PRIVATE KEY", der.to_vec())))
}

/// A fresh ACME account key, PKCS#8 PEM.
impl Acme {
    /// A new account under a fresh key that is never stored: for staging rehearsals, whose
    /// accounts nothing else needs.
    pub async fn throwaway_account(&self) -> Result<Account> {
        let pem = generate_account_key()?;
        let (account, _) = retry_bad_nonce!(
            "create rehearsal account",
            self.builder()
                .create_from_key(
                    parse_account_key(&pem, &self.key_location)?,
                    self.url.clone()
                )
                .await
        )?;
        Ok(account)
    }

    /// The same CA settings against the staging directory.
    pub fn staging(&self) -> Result<Acme> {
        let url = self.config.staging_url().ok_or_else(|| {
            Error::Config(
                "[acme] rehearse_on_staging: no staging directory; set [acme] staging_directory"
                    .into(),
            )
        })?;
        let mut config = self.config.clone();
        config.directory = url;
        config.eab_kid = None;
        config.eab_hmac_key = None;
        Acme::new(&config)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
