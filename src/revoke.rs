//! Revocation (`alicert revoke --certificate NAME [--reason N] [--no-replace]`,
//! `{"action":"revoke"}`), signed by the account key (RFC 8555 §7.6).
//!
//! By default it is "replace, then revoke": the certificate(s) the targets of NAME serve now
//! are noted, a new certificate is ordered and rolled out by the renew pipeline itself
//! ([`crate::handler::run_certificates`], forced: the same order, CAS hub, deploy-and-verify
//! and cleanup as any renewal), and only once every target serves the new serial are the old
//! ones revoked. If the rollout fails, nothing is revoked: revoking first would leave clients
//! facing a revoked certificate until the next run (with a CA that publishes no CRL, forever).
//! `--no-replace` revokes only. Test hook point `revoking` (src/testhook.rs): just before the
//! first revocation request.
use instant_acme::RevocationReason;
use rustls_pki_types::CertificateDer;

use crate::acme::Acme;
use crate::aliyun::AliyunClient;
use crate::cert::CertInfo;
use crate::config::{CertificateConfig, Config};
use crate::deploy::{self, Configured};
use crate::error::{Error, Result};
use crate::event::RenewOptions;
use crate::handler::Invocation;
use crate::result::{CertStatus, Replacement, RevocationReport, RevokedCert, TargetStatus};

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

/// How to revoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Order and roll out a new certificate first (default true).
    pub replace: bool,
    pub dry_run: bool,
}

pub async fn run(
    config: &Config,
    acme: &Acme,
    client: &AliyunClient,
    name: &str,
    code: Option<u8>,
    options: Options,
    invocation: &Invocation,
) -> Result<RevocationReport> {
    let reason = code.map(reason).transpose()?;
    let cert = config.certificate(name).ok_or_else(|| {
        Error::Input(format!(
            "certificate: no certificate named `{name}` in {}",
            config.source
        ))
    })?;
    let targets: Vec<Configured> = cert
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
        revoked: deployed
            .iter()
            .map(|(info, ids)| RevokedCert {
                serial: info.serial.clone(),
                not_after: info.not_after_rfc3339(),
                status: "would_revoke".into(),
                targets: ids.clone(),
                error: None,
            })
            .collect(),
        replacement: None,
    };

    if options.replace {
        let replacement = replace(config, cert, &deployed, options.dry_run, invocation).await?;
        let failed = replacement.status == "failed";
        if failed {
            let why = replacement
                .error
                .as_ref()
                .map(|e| e.message.clone())
                .unwrap_or_default();
            for entry in &mut report.revoked {
                entry.status = "not_revoked".into();
                entry.error = Some(crate::error::ErrorReport {
                    code: "ReplacementFailed".into(),
                    message: format!(
                        "not revoked: the replacement certificate did not roll out to every \
                         target, so serial {} stays valid and deployed ({why})",
                        entry.serial
                    ),
                    request_id: None,
                });
            }
        }
        report.replacement = Some(replacement);
        if failed {
            return Ok(report);
        }
    }
    if options.dry_run {
        return Ok(report);
    }

    let opened = acme.open(Some(client), false).await?;
    crate::testhook::pause("revoking").await;
    for ((info, _), entry) in deployed.iter().zip(report.revoked.iter_mut()) {
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
    Ok(report)
}

/// Order a new certificate for `cert` and roll it out to every target through the renew
/// pipeline (forced), then check that every target reports the new serial and none an old one.
async fn replace(
    config: &Config,
    cert: &CertificateConfig,
    old: &[(CertInfo, Vec<String>)],
    dry_run: bool,
    invocation: &Invocation,
) -> Result<Replacement> {
    let opts = RenewOptions {
        certificates: vec![cert.name.clone()],
        force: true,
        dry_run,
    };
    let run = crate::handler::run_certificates(config, &[cert], &opts, invocation, false).await?;
    let result = run
        .certificates
        .into_iter()
        .next()
        .ok_or_else(|| Error::Other("the renew pipeline returned no result".into()))?;
    let mut replacement = Replacement {
        status: "failed".into(),
        serial: result.serial.clone(),
        not_after: result.not_after.clone(),
        targets: result.targets.clone(),
        error: result.error.clone(),
    };
    match result.status {
        CertStatus::WouldRenew if dry_run => {
            replacement.status = "would_deploy".into();
            replacement.serial = None;
            replacement.not_after = None;
        }
        CertStatus::Renewed | CertStatus::Issued => {
            let new = result.serial.as_deref().unwrap_or_default();
            let lagging: Vec<String> = result
                .targets
                .iter()
                .filter(|t| t.serial.as_deref() != Some(new) || t.status != TargetStatus::Deployed)
                .map(|t| format!("{} {}", t.kind, t.id))
                .collect();
            if new.is_empty() || old.iter().any(|(c, _)| c.serial == new) {
                replacement.error = Some(mismatch(format!(
                    "the rollout reports serial `{new}`, not a new certificate"
                )));
            } else if !lagging.is_empty() {
                replacement.error = Some(mismatch(format!(
                    "not every target serves the new serial {new}: {}",
                    lagging.join(", ")
                )));
            } else {
                replacement.status = "deployed".into();
            }
        }
        other => {
            if replacement.error.is_none() {
                replacement.error = Some(mismatch(format!(
                    "the renewal ended `{}`{}",
                    serde_json::to_value(other)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    result
                        .reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                )));
            }
        }
    }
    if replacement.status == "failed" {
        tracing::error!(
            error = replacement
                .error
                .as_ref()
                .map(|e| e.message.as_str())
                .unwrap_or(""),
            "the replacement did not roll out; nothing revoked"
        );
    }
    Ok(replacement)
}

fn mismatch(message: String) -> crate::error::ErrorReport {
    crate::error::ErrorReport {
        code: "ReplacementFailed".into(),
        message,
        request_id: None,
    }
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
