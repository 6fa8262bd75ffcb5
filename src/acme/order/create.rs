//! newOrder (RFC 8555 §7.4), naming the certificate it `replaces` (ARI, RFC 9773 §5) and the
//! `profile` when asked.
use instant_acme::{Account, Identifier, NewOrder, Order};

use super::OrderOptions;
use crate::error::Result;

/// newOrder, with `replaces` and `profile` when asked. A CA may refuse or ignore `replaces`
/// (the certificate was already replaced; a CA without ARI echoes nothing back and instant-acme
/// then rejects the order): RFC 9773 §5 says to order again without it.
pub(super) async fn new_order(
    account: &Account,
    domains: &[String],
    options: &OrderOptions<'_>,
    notes: &mut Vec<String>,
) -> Result<Order> {
    let identifiers: Vec<Identifier> = domains.iter().map(|d| Identifier::Dns(d.clone())).collect();
    let plain = || {
        let o = NewOrder::new(&identifiers);
        match options.profile {
            Some(p) => o.profile(p),
            None => o,
        }
    };
    let Some(replaces) = options.replaces.clone() else {
        return Ok(retry_bad_nonce!(
            "new order",
            account.new_order(&plain()).await
        )?);
    };
    let id = replaces.to_string();
    match retry_bad_nonce!(
        "new order",
        account.new_order(&plain().replaces(replaces.clone())).await
    ) {
        Ok(order) => {
            tracing::info!(replaces = %id, "order replaces the deployed certificate (ARI)");
            Ok(order)
        }
        Err(e) if replaces_refused(&e) => {
            let note = format!("the CA did not accept `replaces` {id} ({e}); ordered without it");
            tracing::warn!("{note}");
            notes.push(note);
            Ok(retry_bad_nonce!(
                "new order",
                account.new_order(&plain()).await
            )?)
        }
        Err(e) => Err(e.into()),
    }
}

fn replaces_refused(e: &instant_acme::Error) -> bool {
    match e {
        instant_acme::Error::Api(p) => {
            p.r#type.as_deref() == Some("urn:ietf:params:acme:error:alreadyReplaced")
                || p.detail.as_deref().is_some_and(|d| d.contains("replaces"))
        }
        instant_acme::Error::Unsupported(_) => true,
        other => other.to_string().contains("replaces"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use instant_acme::CertificateIdentifier;

    #[test]
    fn new_order_names_replaces_and_profile() {
        let ids = [Identifier::Dns("example.com".into())];
        let id = CertificateIdentifier::new(
            rustls_pki_types::Der::from_slice(&[1, 2]),
            rustls_pki_types::Der::from_slice(&[0, 0x87]),
        );
        let v =
            serde_json::to_value(NewOrder::new(&ids).replaces(id).profile("shortlived")).unwrap();
        assert_eq!(v["replaces"], "AQI.AIc");
        assert_eq!(v["profile"], "shortlived");
        assert_eq!(v["identifiers"][0]["value"], "example.com");
        let plain = serde_json::to_value(NewOrder::new(&ids)).unwrap();
        assert!(plain.get("replaces").is_none() && plain.get("profile").is_none());
    }

    #[test]
    fn replaces_refusals_are_recognised() {
        let problem = |t: &str, d: &str| {
            instant_acme::Error::Api(
                serde_json::from_value(serde_json::json!({"type": t, "detail": d})).unwrap(),
            )
        };
        assert!(replaces_refused(&problem(
            "urn:ietf:params:acme:error:alreadyReplaced",
            "x"
        )));
        assert!(replaces_refused(&problem(
            "urn:ietf:params:acme:error:malformed",
            "invalid replaces field"
        )));
        assert!(replaces_refused(&instant_acme::Error::Unsupported("ARI")));
        assert!(!replaces_refused(&problem(
            "urn:ietf:params:acme:error:rateLimited",
            "too many"
        )));
    }
}
