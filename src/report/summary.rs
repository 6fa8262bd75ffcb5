//! One JSON line per certificate per run on stderr, for SLS (FC ships stderr to the function's
//! Logstore): a standalone JSON object whatever the log format, with the stable field names
//! README "Monitoring" documents (`log` = `alicert.certificate`, schema [`SUMMARY_SCHEMA`]).
use serde::Serialize;
use time::OffsetDateTime;

use crate::cert::rfc3339;
use crate::result::{CertStatus, RunResult, TargetStatus};

/// Bump when a field changes meaning or goes away (adding one does not).
pub const SUMMARY_SCHEMA: u32 = 1;

#[derive(Debug, Serialize, PartialEq)]
pub struct Summary<'a> {
    pub log: &'static str,
    pub schema: u32,
    pub time: String,
    /// The run (FC request id).
    pub run: &'a str,
    pub certificate: &'a str,
    pub status: CertStatus,
    /// `false` only when the certificate failed.
    pub ok: bool,
    pub domains: &'a [String],
    pub serial: Option<&'a str>,
    pub not_after: Option<&'a str>,
    pub days_left: Option<i64>,
    pub next_renewal: Option<&'a str>,
    pub targets: usize,
    pub targets_deployed: usize,
    pub targets_failed: usize,
    /// Targets serving a certificate alicert did not deploy there (README "Drift").
    pub targets_drifted: usize,
    /// The certificate's error, else the first failed target's.
    pub error_code: Option<&'a str>,
    /// Alibaba Cloud RequestId of that error.
    pub error_request_id: Option<&'a str>,
}

/// The summaries of `result` at `now`.
pub fn summaries(result: &RunResult, now: OffsetDateTime) -> Vec<Summary<'_>> {
    result
        .certificates
        .iter()
        .map(|c| {
            let count = |s: TargetStatus| c.targets.iter().filter(|t| t.status == s).count();
            let error = c
                .error
                .as_ref()
                .or_else(|| c.targets.iter().find_map(|t| t.error.as_ref()));
            Summary {
                log: "alicert.certificate",
                schema: SUMMARY_SCHEMA,
                time: rfc3339(now),
                run: &result.request_id,
                certificate: &c.name,
                status: c.status,
                ok: !c.status.is_failing(),
                domains: &c.domains,
                serial: c.serial.as_deref(),
                not_after: c.not_after.as_deref(),
                days_left: c
                    .not_after
                    .as_deref()
                    .and_then(|t| super::status::days_left(t, now)),
                next_renewal: c.next_renewal.as_ref().map(|n| n.at.as_str()),
                targets: c.targets.len(),
                targets_deployed: count(TargetStatus::Deployed),
                targets_failed: count(TargetStatus::Failed),
                targets_drifted: c.targets.iter().filter(|t| t.drift.is_some()).count(),
                error_code: error.map(|e| e.code.as_str()),
                error_request_id: error.and_then(|e| e.request_id.as_deref()),
            }
        })
        .collect()
}

/// Write the summary lines of `result` to stderr.
pub fn log(result: &RunResult) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    for s in summaries(result, OffsetDateTime::now_utc()) {
        if let Ok(line) = serde_json::to_string(&s) {
            let _ = writeln!(err, "{line}");
        }
    }
}
