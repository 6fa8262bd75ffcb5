//! Account key rollover (RFC 8555 §7.3.5 key change), with the new key stored where the old
//! one was.
use std::time::Duration;

use super::open::{pkcs8_pem, OpenAccount};
use crate::acme::Acme;
use crate::aliyun::AliyunClient;
use crate::error::{Error, Result};
use crate::secret_ref::SecretLocation;

/// Account key rollover, storing the new key where the old one was.
///
/// The order of operations, and why no crash loses the only key the CA accepts:
/// 1. `open` loaded key K0 from the store and found the account with it.
/// 2. `prepare_replace(K0)` checks the store still holds K0 (else refuse: someone else rolled
///    over or replaced it since), writes a copy of K0 (OSS `<key>.previous`, file
///    `<path>.previous`; KMS keeps every version) — which also proves alicert may write there
///    *before* anything irreversible happens — and checks again.
/// 3. `update_key()`: the CA switches the account to K1. instant-acme generates K1 inside this
///    call and cannot be handed one, so K1 cannot be staged in the store before the CA knows
///    it; a failure here leaves CA and store on K0 (nothing changed).
/// 4. `replace(K1)`: one atomic write (KMS PutSecretValue = new current version, K0 kept as
///    ACSPrevious; OSS PutObject over the object; file rename over the file), read back,
///    retried on failure. Just before it the store is read again: if the key there is no
///    longer K0 (an operator replaced it meanwhile), K1 goes to a staged name beside it
///    (`.next`, or KMS stage `alicert-next`) instead, and the command fails saying so. Concurrent invocations meanwhile load K0, get `unauthorized` from the
///    CA and fail without writing (the store only ever creates a missing key).
///
/// The one window nothing can cover is a crash between the CA's answer in 3 and the write in
/// 4 (one request long); step 2 removed the likely cause of a failed write (permissions).
/// Finally the stored key is read back and the account looked up with it: same account URL.
pub(super) async fn rollover(
    acme: &Acme,
    client: Option<&AliyunClient>,
    opened: OpenAccount,
) -> Result<(String, Option<String>)> {
    let store = acme.key_store(client);
    let url = opened.account.id().to_string();
    store.prepare_replace(&opened.key).await?;
    let mut account = opened.account;
    let credentials = account.update_key().await.map_err(|e| {
        Error::Acme(format!(
            "key change refused by the CA (the account still uses the stored key): {e}"
        ))
    })?;
    let new_key = pkcs8_pem(credentials.private_key().secret_pkcs8_der());
    // Someone replaced the stored key while the CA switched: overwriting it would destroy
    // their key, dropping ours would lose the account. Keep ours beside it and stop. (A failed
    // read proves nothing: then the write below goes ahead.)
    if let Ok(Some(stored)) = store.load().await {
        if stored.expose().trim() != opened.key.expose().trim() {
            let at = store.stash(&new_key).await.map_err(|e| {
                Error::Other(format!(
                    "the account key at {} changed during the rollover, and the new key of \
                     account {url} could not be kept beside it: {e}",
                    store.location
                ))
            })?;
            return Err(Error::Other(format!(
                "the account key at {} changed during the rollover (another invocation or an \
                 operator replaced it); the CA already switched account {url} to a new key, kept \
                 at {at}: decide which key {} should hold",
                store.location, store.location
            )));
        }
    }
    let mut last_error = None;
    for attempt in 0..4u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(1 << attempt)).await;
        }
        match store.replace(&new_key).await {
            Ok(()) => {
                last_error = None;
                break;
            }
            Err(e) => {
                tracing::error!(attempt, error = %e, location = %store.location, "storing the new account key failed");
                last_error = Some(e);
            }
        }
    }
    if let Some(e) = last_error {
        return Err(Error::Other(format!(
            "the CA switched account {url} to a new key but it could not be stored at {}: {e}",
            store.location
        )));
    }
    tracing::info!(account = %url, location = %store.location, "account key rolled over and stored");
    // The next invocation will do exactly this: load the stored key, find the account.
    let check = acme.open(client, false).await?;
    if check.account.id() != url {
        return Err(Error::Other(format!(
            "after the rollover the stored key finds account {} instead of {url}",
            check.account.id()
        )));
    }
    let note = match &store.location {
        SecretLocation::Kms { .. } => "previous key kept as the secret's ACSPrevious version",
        _ => "previous key kept beside the new one as <location>.previous",
    };
    Ok((
        check.account.key_thumbprint().to_string(),
        Some(note.to_string()),
    ))
}
