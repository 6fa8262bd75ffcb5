//! The order's authorizations (RFC 8555 §7.5): which dns-01 challenges are pending, telling
//! the CA they are ready, and the CA's reasons when validation failed.
use instant_acme::{AuthorizationStatus, ChallengeType, Order};

use crate::error::{Error, Result};

/// A challenge to answer: the TXT value at `fqdn` proves `identifier`.
pub(super) struct Pending {
    pub identifier: String,
    pub fqdn: String,
    pub value: String,
}

/// Fetch every authorization (instant-acme caches the ones already fetched, so a retry after
/// a rejected nonce only fetches the rest).
async fn fetch_authorizations(order: &mut Order) -> Result<()> {
    retry_bad_nonce!("fetch authorizations", {
        let mut authorizations = order.authorizations();
        let mut outcome = Ok(());
        while let Some(authz) = authorizations.next().await {
            if let Err(e) = authz {
                outcome = Err(e);
                break;
            }
        }
        outcome
    })?;
    Ok(())
}

/// The dns-01 challenges of the pending authorizations (valid ones need nothing).
pub(super) async fn pending_challenges(order: &mut Order) -> Result<Vec<Pending>> {
    fetch_authorizations(order).await?;
    let mut out = Vec::new();
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz?;
        match authz.status {
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Valid => continue,
            status => {
                return Err(Error::Acme(format!(
                    "authorization for {} is {status:?}",
                    authz.identifier()
                )))
            }
        }
        let identifier = authz.identifier().to_string();
        let challenge = authz.challenge(ChallengeType::Dns01).ok_or_else(|| {
            Error::Acme(format!(
                "the CA offers no dns-01 challenge for {identifier}"
            ))
        })?;
        out.push(Pending {
            fqdn: crate::domain::challenge_name(&identifier),
            value: challenge.key_authorization().dns_value(),
            identifier,
        });
    }
    Ok(out)
}

/// Tell the CA every pending dns-01 challenge is ready to be validated.
pub(super) async fn answer_challenges(order: &mut Order, count: usize) -> Result<()> {
    fetch_authorizations(order).await?;
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz?;
        if authz.status != AuthorizationStatus::Pending {
            continue;
        }
        let mut challenge = authz
            .challenge(ChallengeType::Dns01)
            .ok_or_else(|| Error::Acme("dns-01 challenge vanished".into()))?;
        retry_bad_nonce!("answer challenge", challenge.set_ready().await)?;
    }
    tracing::info!(
        challenges = count,
        "challenges answered; waiting for validation"
    );
    Ok(())
}

/// Why validation failed, per identifier, from the CA's challenge errors.
pub(super) async fn challenge_errors(order: &mut Order) -> String {
    let mut reasons = Vec::new();
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let Ok(mut authz) = authz else { continue };
        let identifier = authz.identifier().to_string();
        if let Ok(state) = authz.refresh().await {
            for ch in &state.challenges {
                if let Some(err) = &ch.error {
                    reasons.push(format!("{identifier}: {err}"));
                }
            }
        }
    }
    if reasons.is_empty() {
        "the CA gave no challenge error".into()
    } else {
        reasons.join("; ")
    }
}
