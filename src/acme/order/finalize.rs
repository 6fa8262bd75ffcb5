//! After the challenges are answered: wait for the CA to validate (the order `ready`), send
//! the CSR (finalize, RFC 8555 §7.4) and download the certificate chain.
use std::time::Duration;

use instant_acme::{Order, OrderStatus, RetryPolicy};

use super::authz::challenge_errors;
use crate::error::{Error, Result};

/// The first look comes soon (a fast CA has validated within milliseconds), then backs off
/// ×1.5: 20, 50, 95, 163 ms ... (two polls more than from 50 ms over a two-second validation);
/// a CA that wants fewer polls says so with Retry-After, which instant-acme honours.
fn polling() -> RetryPolicy {
    RetryPolicy::new()
        .initial_delay(Duration::from_millis(20))
        .backoff(1.5)
        .timeout(Duration::from_secs(180))
}

/// Poll until the order is `ready`; else fail with the CA's challenge errors.
pub(super) async fn wait_valid(order: &mut Order) -> Result<()> {
    let status = match retry_bad_nonce!("poll order", order.poll_ready(&polling()).await) {
        Ok(status) => status,
        Err(instant_acme::Error::Api(problem)) => {
            return Err(Error::Acme(format!(
                "order failed: {problem}; {}",
                challenge_errors(order).await
            )))
        }
        Err(e) => return Err(e.into()),
    };
    if status != OrderStatus::Ready {
        return Err(Error::Acme(format!(
            "order is {status:?}: {}",
            challenge_errors(order).await
        )));
    }
    Ok(())
}

/// Finalize with a CSR for `domains` signed by `key`, then download the chain (PEM, leaf
/// first).
pub(super) async fn finalize_and_download(
    order: &mut Order,
    domains: &[String],
    key: &rcgen::KeyPair,
) -> Result<String> {
    let mut params = rcgen::CertificateParams::new(domains.to_vec())
        .map_err(|e| Error::Other(format!("CSR: {e}")))?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = params
        .serialize_request(key)
        .map_err(|e| Error::Other(format!("CSR: {e}")))?;
    retry_bad_nonce!("finalize", order.finalize_csr(csr.der()).await)?;
    crate::testhook::pause("finalized").await;
    // A CA that issues during finalize (or right after) needs no wait: look once at once.
    Ok(
        match retry_bad_nonce!("download certificate", order.certificate().await)? {
            Some(chain) => chain,
            None => retry_bad_nonce!(
                "download certificate",
                order.poll_certificate(&polling()).await
            )?,
        },
    )
}
