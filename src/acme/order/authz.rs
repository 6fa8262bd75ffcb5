//! The order's authorizations (RFC 8555 §7.5): which challenges are pending (dns-01, or
//! dns-persist-01 where the certificate asks for it and the CA offers it), telling the CA they
//! are ready, and the CA's reasons when validation failed.
use instant_acme::{AuthorizationStatus, ChallengeType, Identifier, Order};

use super::persist::{self, Challenge, Persist};
use crate::acme::http::Tap;
use crate::error::{Error, Result};

/// A challenge to answer: the TXT value at `fqdn` proves `identifier`.
pub(super) struct Pending {
    pub identifier: String,
    pub fqdn: String,
    pub value: String,
    /// Where the TXT record is written: `fqdn`, or where its CNAME delegates it (`dns01::locate`).
    pub record: String,
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

/// The pending authorizations' challenges: dns-persist-01 where `mode` asks for it and the CA
/// offers it (its fields read from the authorization as the CA sent it, which `tap` kept),
/// dns-01 otherwise (a note says so for each fallback). Valid authorizations need nothing.
pub(super) async fn pending_challenges(
    order: &mut Order,
    mode: Challenge,
    tap: &Tap,
    notes: &mut Vec<String>,
) -> Result<(Vec<Pending>, Vec<Persist>)> {
    fetch_authorizations(order).await?;
    let (mut dns01, mut persists) = (Vec::new(), Vec::new());
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
        if mode == Challenge::DnsPersist01 {
            let Identifier::Dns(name) = authz.identifier().identifier.clone() else {
                return Err(Error::Acme(format!("{identifier} is not a DNS name")));
            };
            let url = authz.url().to_string();
            let raw = match tap.get(&url) {
                Some(c) => Some(c.body),
                None => {
                    // Not kept (evicted or too large): fetch it again, through instant-acme.
                    retry_bad_nonce!("fetch authorization", authz.refresh().await.map(|_| ()))?;
                    tap.get(&url).map(|c| c.body)
                }
            };
            match raw.as_deref().and_then(persist::offered_issuers) {
                Some(issuers) => {
                    tracing::debug!(identifier, ?issuers, "answering with dns-persist-01");
                    persists.push(Persist {
                        name,
                        wildcard: authz.identifier().wildcard,
                        issuers,
                        authz_url: url,
                    });
                    continue;
                }
                None => {
                    let note = format!("the CA offers no dns-persist-01 challenge for {identifier}; validated it with dns-01");
                    tracing::warn!("{note}");
                    notes.push(note);
                }
            }
        }
        let challenge = authz.challenge(ChallengeType::Dns01).ok_or_else(|| {
            Error::Acme(format!(
                "the CA offers no dns-01 challenge for {identifier}"
            ))
        })?;
        let fqdn = crate::domain::challenge_name(&identifier);
        dns01.push(Pending {
            record: fqdn.clone(),
            fqdn,
            value: challenge.key_authorization().dns_value(),
            identifier,
        });
    }
    Ok((dns01, persists))
}

/// Tell the CA every pending challenge is ready to be validated: dns-persist-01 for the
/// authorizations at `persist_urls`, dns-01 for the others.
pub(super) async fn answer_challenges(
    order: &mut Order,
    persist_urls: &[String],
    count: usize,
) -> Result<()> {
    fetch_authorizations(order).await?;
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz?;
        if authz.status != AuthorizationStatus::Pending {
            continue;
        }
        let kind = match persist_urls.iter().any(|u| u == authz.url()) {
            true => ChallengeType::Unknown(persist::CHALLENGE_TYPE.into()),
            false => ChallengeType::Dns01,
        };
        let mut challenge = authz
            .challenge(kind.clone())
            .ok_or_else(|| Error::Acme(format!("{kind:?} challenge vanished")))?;
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
