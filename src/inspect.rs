//! Facts about deployed certificates that need the network, gathered for [`crate::plan`]:
//! the issuer's CRL status and the CA's ARI window; and, for `reuse_key`, the private key of
//! the certificate a target serves now (only targets that give keys back can provide it).
use time::OffsetDateTime;

use crate::acme::{ari, Acme};
use crate::cert::CertInfo;
use crate::config::CertificateConfig;
use crate::crl;
use crate::deploy::Configured;
use crate::plan;

/// Why `current` is due (None: up to date), and the CA's ARI window when it gave one.
pub async fn decide(
    acme: &Acme,
    crl: &crl::Checker,
    cert: &CertificateConfig,
    current: Option<&CertInfo>,
    now: OffsetDateTime,
) -> (Option<plan::DueReason>, Option<ari::Window>) {
    let policy = plan::Policy {
        renew_before_days: acme.config.renew_before_days,
        lookahead: time::Duration::hours(acme.config.ari_lookahead_hours.into()),
    };
    let mut facts = plan::Facts {
        current,
        domains: &cert.domains,
        revoked: false,
        ari: None,
    };
    // Missing, changed or expired need no questions to the CA.
    let first = plan::due(&facts, &policy, now);
    let Some(c) = current.filter(|c| c.covers_all(&cert.domains) && c.not_after > now) else {
        return (first, None);
    };
    match crl.check(c).await {
        crl::Status::Revoked { reason } => {
            tracing::warn!(serial = %c.serial, reason = ?reason, "deployed certificate is revoked (CRL)");
            facts.revoked = true;
        }
        crl::Status::Good => {}
        crl::Status::Unknown(why) => {
            tracing::debug!(serial = %c.serial, why = %why, "revocation status unknown");
        }
    }
    let window = match acme.renewal_info(c).await {
        ari::Answer::Window(w) => Some(w),
        ari::Answer::NotOffered | ari::Answer::Unavailable(_) => None,
    };
    facts.ari = window.as_ref();
    let due = plan::due(&facts, &policy, now);
    (due, window)
}

/// `reuse_key`: the key of the certificate a target that gives keys back serves now.
pub async fn previous_key(
    cert: &CertificateConfig,
    targets: &[&Configured],
    currents: &[Option<CertInfo>],
    notes: &mut Vec<String>,
) -> Option<rcgen::KeyPair> {
    let mut tried = false;
    for (target, current) in targets.iter().zip(currents) {
        let (Some(keys), Some(current)) = (target.keys(), current) else {
            continue;
        };
        tried = true;
        let why = match keys.current_key().await {
            Ok(Some(pem)) => {
                match crate::acme::reuse_certificate_key(&pem, cert.key_type, &current.public_key())
                {
                    Ok(key) => {
                        tracing::info!(kind = target.kind(), id = %target.id(), "reusing the previous certificate key");
                        notes.push(format!(
                            "reuse_key: kept the private key of serial {} (read back from {} {})",
                            current.serial,
                            target.kind(),
                            target.id()
                        ));
                        return Some(key);
                    }
                    Err(e) => e,
                }
            }
            Ok(None) => "it returned no private key".to_string(),
            Err(e) => e.to_string(),
        };
        tracing::warn!(kind = target.kind(), id = %target.id(), why = %why, "cannot reuse the previous key");
        notes.push(format!(
            "reuse_key: {} {}: {why}; generated a new key",
            target.kind(),
            target.id()
        ));
    }
    if !tried {
        let kinds: Vec<&str> = targets.iter().map(|t| t.kind()).collect();
        notes.push(format!(
            "reuse_key: no target of this certificate can give its private key back ({}; only cas can), or none serves a certificate yet; generated a new key",
            kinds.join(", ")
        ));
    }
    None
}
