//! Revocation (`alicert revoke --certificate NAME [--reason N] [--no-replace]`,
//! `{"action":"revoke"}`), signed by the account key (RFC 8555 §7.6).
//!
//! By default it is "replace, then revoke": the certificate(s) the targets of NAME serve now
//! are noted, a new certificate is ordered and rolled out by the renew pipeline itself
//! ([`crate::pipeline::run_certificates`], forced: the same order, CAS hub, deploy-and-verify
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
use crate::event::{RenewOptions, RevokeReason};
use crate::invocation::Invocation;
use crate::result::{
    CertStatus, Replacement, ReplacementStatus, RevocationReport, RevokedCert, RevokedStatus,
    TargetStatus,
};

/// The ACME form of a reason (RFC 8555 §7.6 carries the RFC 5280 code).
fn acme_reason(reason: RevokeReason) -> RevocationReason {
    match reason {
        RevokeReason::Unspecified => RevocationReason::Unspecified,
        RevokeReason::KeyCompromise => RevocationReason::KeyCompromise,
        RevokeReason::CaCompromise => RevocationReason::CaCompromise,
        RevokeReason::AffiliationChanged => RevocationReason::AffiliationChanged,
        RevokeReason::Superseded => RevocationReason::Superseded,
        RevokeReason::CessationOfOperation => RevocationReason::CessationOfOperation,
        RevokeReason::CertificateHold => RevocationReason::CertificateHold,
        RevokeReason::RemoveFromCrl => RevocationReason::RemoveFromCrl,
        RevokeReason::PrivilegeWithdrawn => RevocationReason::PrivilegeWithdrawn,
        RevokeReason::AaCompromise => RevocationReason::AaCompromise,
    }
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
    reason: Option<RevokeReason>,
    options: Options,
    invocation: &Invocation,
) -> Result<RevocationReport> {
    let cert = config.certificate(name).ok_or_else(|| {
        Error::Input(format!(
            "certificate: no certificate named `{name}` in {}",
            config.source
        ))
    })?;
    let targets: Vec<Configured> =
        deploy::build_all(&cert.targets, &cert.name, &cert.domains, client)
            .await?
            .targets;

    let deployed = served(&targets).await?;
    if deployed.is_empty() {
        return Err(Error::Input(format!(
            "no target of certificate `{name}` serves a certificate; nothing to revoke"
        )));
    }
    let mut report = RevocationReport {
        certificate: name.to_string(),
        reason: reason.map(RevokeReason::code),
        reason_name: reason.map(|r| r.name().to_string()),
        revoked: deployed
            .iter()
            .map(|(info, ids)| RevokedCert {
                serial: info.serial.clone(),
                not_after: info.not_after_rfc3339(),
                status: RevokedStatus::WouldRevoke,
                targets: ids.clone(),
                error: None,
            })
            .collect(),
        replacement: None,
    };
    if options.replace {
        let replacement = replace(config, cert, &deployed, options.dry_run, invocation).await?;
        let failed = replacement.status == ReplacementStatus::Failed;
        if failed {
            hold_back(&mut report, &replacement);
        }
        report.replacement = Some(replacement);
        if failed {
            return Ok(report);
        }
    }
    if !options.dry_run {
        let opened = acme.open(Some(client), false).await?;
        crate::testhook::pause("revoking").await;
        for ((info, _), entry) in deployed.iter().zip(report.revoked.iter_mut()) {
            revoke_one(&opened.account, info, reason, entry).await;
        }
    }
    Ok(report)
}

/// Each distinct certificate the targets serve, with who serves it.
async fn served(targets: &[Configured]) -> Result<Vec<(CertInfo, Vec<String>)>> {
    let mut deployed: Vec<(CertInfo, Vec<String>)> = Vec::new();
    for target in targets {
        let Some(info) = target.current().await? else {
            continue;
        };
        let who = format!("{} {}", target.kind(), target.id());
        match deployed.iter_mut().find(|(c, _)| c.serial == info.serial) {
            Some((_, ids)) => ids.push(who),
            None => deployed.push((info, vec![who])),
        }
    }
    Ok(deployed)
}

/// The replacement did not roll out: every old certificate stays valid, each entry says why.
fn hold_back(report: &mut RevocationReport, replacement: &Replacement) {
    let why = replacement
        .error
        .as_ref()
        .map(|e| e.message.clone())
        .unwrap_or_default();
    for entry in &mut report.revoked {
        entry.status = RevokedStatus::NotRevoked;
        entry.error = Some(mismatch(format!(
            "not revoked: the replacement certificate did not roll out to every \
             target, so serial {} stays valid and deployed ({why})",
            entry.serial
        )));
    }
}

async fn revoke_one(
    account: &instant_acme::Account,
    info: &CertInfo,
    reason: Option<RevokeReason>,
    entry: &mut RevokedCert,
) {
    let der = CertificateDer::from(info.der.clone());
    let request = instant_acme::RevocationRequest {
        certificate: &der,
        reason: reason.map(acme_reason),
    };
    match account.revoke(&request).await {
        Ok(()) => {
            tracing::warn!(serial = %info.serial, reason = ?reason, "certificate revoked");
            entry.status = RevokedStatus::Revoked;
        }
        Err(instant_acme::Error::Api(p))
            if p.r#type.as_deref() == Some("urn:ietf:params:acme:error:alreadyRevoked") =>
        {
            entry.status = RevokedStatus::AlreadyRevoked;
        }
        Err(e) => {
            let e = Error::Acme(format!("revoking serial {}: {e}", info.serial));
            tracing::error!(error = %e, "revocation failed");
            entry.status = RevokedStatus::Failed;
            entry.error = Some(e.report());
        }
    }
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
        on_demand: false,
    };
    let run = crate::pipeline::run_certificates(config, &[cert], &opts, invocation, false).await?;
    let result = run
        .certificates
        .into_iter()
        .next()
        .ok_or_else(|| Error::Other("the renew pipeline returned no result".into()))?;
    let mut replacement = Replacement {
        status: ReplacementStatus::Failed,
        serial: result.serial.clone(),
        not_after: result.not_after.clone(),
        targets: result.targets.clone(),
        error: result.error.clone(),
    };
    match result.status {
        CertStatus::WouldRenew if dry_run => {
            replacement.status = ReplacementStatus::WouldDeploy;
            replacement.serial = None;
            replacement.not_after = None;
        }
        CertStatus::Renewed | CertStatus::Issued => match rolled_out(&result, old) {
            Ok(()) => replacement.status = ReplacementStatus::Deployed,
            Err(e) => replacement.error = Some(e),
        },
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
    if replacement.status == ReplacementStatus::Failed {
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

/// Every target serves the new serial, and it is not one of the old ones.
fn rolled_out(
    result: &crate::result::CertResult,
    old: &[(CertInfo, Vec<String>)],
) -> std::result::Result<(), crate::error::ErrorReport> {
    let new = result.serial.as_deref().unwrap_or_default();
    let lagging: Vec<String> = result
        .targets
        .iter()
        .filter(|t| t.serial.as_deref() != Some(new) || t.status != TargetStatus::Deployed)
        .map(|t| format!("{} {}", t.kind, t.id))
        .collect();
    if new.is_empty() || old.iter().any(|(c, _)| c.serial == new) {
        return Err(mismatch(format!(
            "the rollout reports serial `{new}`, not a new certificate"
        )));
    }
    if !lagging.is_empty() {
        return Err(mismatch(format!(
            "not every target serves the new serial {new}: {}",
            lagging.join(", ")
        )));
    }
    Ok(())
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
            let reason = RevokeReason::from_code(code).unwrap();
            assert_eq!(reason.code(), code);
            assert_eq!(
                acme_reason(reason) as u8,
                code,
                "the ACME code is the RFC 5280 one"
            );
        }
        for code in [7u8, 11, 255] {
            let e = RevokeReason::from_code(code).unwrap_err();
            assert!(
                e.contains("CRLReason") && e.contains("10 aACompromise"),
                "{e}"
            );
        }
    }
}
