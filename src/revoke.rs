//! Revocation (`alicert revoke --certificate NAME [--reason N]`, `{"action":"revoke"}`): the
//! certificate(s) the targets of NAME serve now are revoked at the CA, signed by the account
//! key (RFC 8555 §7.6). The next renewal run sees them as revoked (see `crl.rs`, `plan.rs`).
use instant_acme::RevocationReason;
use rustls_pki_types::CertificateDer;

use crate::acme::Acme;
use crate::aliyun::AliyunClient;
use crate::cert::CertInfo;
use crate::config::Config;
use crate::deploy::{self, Target};
use crate::error::{Error, Result};
use crate::result::{RevocationReport, RevokedCert};

/// RFC 5280 §5.3.1 CRLReason codes (7 is unused).
pub fn reason(code: u8) -> Result<(RevocationReason, &'static str)> {
    Ok(match code {
        0 => (RevocationReason::Unspecified, "unspecified"),
        1 => (RevocationReason::KeyCompromise, "keyCompromise"),
        2 => (RevocationReason::CaCompromise, "cACompromise"),
        3 => (RevocationReason::AffiliationChanged, "affiliationChanged"),
        4 => (RevocationReason::Superseded, "superseded"),
        5 => (RevocationReason::CessationOfOperation, "cessationOfOperation"),
        6 => (RevocationReason::CertificateHold, "certificateHold"),
        8 => (RevocationReason::RemoveFromCrl, "removeFromCRL"),
        9 => (RevocationReason::PrivilegeWithdrawn, "privilegeWithdrawn"),
        10 => (RevocationReason::AaCompromise, "aACompromise"),
        other => {
            return Err(Error::Input(format!(
                "reason {other} is not an RFC 5280 CRLReason code: use 0 unspecified, 1 keyCompromise, \
                 2 cACompromise, 3 affiliationChanged, 4 superseded, 5 cessationOfOperation, \
                 6 certificateHold, 8 removeFromCRL, 9 privilegeWithdrawn, 10 aACompromise"
            )))
        }
    })
}

pub async fn run(
    config: &Config,
    acme: &Acme,
    client: &AliyunClient,
    name: &str,
    code: Option<u8>,
    dry_run: bool,
) -> Result<RevocationReport> {
    let reason = code.map(reason).transpose()?;
    let cert = config.certificate(name).ok_or_else(|| {
        Error::Input(format!(
            "certificate: no certificate named `{name}` in {}",
            config.source
        ))
    })?;
    let targets: Vec<Box<dyn Target>> = cert
        .targets
        .iter()
        .map(|t| deploy::build(t, &cert.name, client))
        .collect::<Result<_>>()?;

    // Each distinct certificate the targets serve, with who serves it.
    let mut deployed: Vec<(CertInfo, Vec<String>)> = Vec::new();
    for target in &targets {
        let Some(info) = target.current().await? else {
            continue;
        };
        let who = format!("{} {}", target.kind(), target.id());
        match deployed.iter_mut().find(|(c, _)| c.serial == info.serial) {
            Some((_, ids)) => ids.push(who),
            None => deployed.push((info, vec![who])),
        }
    }
    if deployed.is_empty() {
        return Err(Error::Input(format!(
            "no target of certificate `{name}` serves a certificate; nothing to revoke"
        )));
    }

    let mut report = RevocationReport {
        certificate: name.to_string(),
        reason: code,
        reason_name: reason.as_ref().map(|(_, n)| n.to_string()),
        revoked: Vec::new(),
    };
    let account = if dry_run {
        None
    } else {
        Some(acme.open(Some(client), false).await?)
    };
    for (info, ids) in deployed {
        let mut entry = RevokedCert {
            serial: info.serial.clone(),
            not_after: info.not_after_rfc3339(),
            status: "would_revoke".into(),
            targets: ids,
            error: None,
        };
        if let Some(opened) = &account {
            let der = CertificateDer::from(info.der.clone());
            let request = instant_acme::RevocationRequest {
                certificate: &der,
                reason: reason.as_ref().map(|(r, _)| r.clone()),
            };
            match opened.account.revoke(&request).await {
                Ok(()) => {
                    tracing::warn!(serial = %info.serial, reason = ?code, "certificate revoked");
                    entry.status = "revoked".into();
                }
                Err(instant_acme::Error::Api(p))
                    if p.r#type.as_deref() == Some("urn:ietf:params:acme:error:alreadyRevoked") =>
                {
                    entry.status = "already_revoked".into();
                }
                Err(e) => {
                    let e = Error::Acme(format!("revoking serial {}: {e}", info.serial));
                    tracing::error!(error = %e, "revocation failed");
                    entry.status = "failed".into();
                    entry.error = Some(e.report());
                }
            }
        }
        report.revoked.push(entry);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_follow_rfc_5280() {
        for code in [0u8, 1, 2, 3, 4, 5, 6, 8, 9, 10] {
            let (r, _) = reason(code).unwrap();
            assert_eq!(r as u8, code);
        }
        for code in [7u8, 11, 255] {
            let e = reason(code).unwrap_err();
            assert!(
                e.is_user_error() && e.to_string().contains("CRLReason"),
                "{e}"
            );
        }
    }
}
