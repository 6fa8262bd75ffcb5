//! `status.json`: the report's data, machine-readable. Schema (version [`SCHEMA`]) documented
//! in README "Monitoring"; fields are only ever added.
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cert::rfc3339;
use crate::error::ErrorReport;
use crate::result::{CertResult, CertStatus, Drift, RunResult, TargetResult, TargetStatus};

/// Bump when a field changes meaning or goes away (adding one does not).
pub const SCHEMA: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StatusDoc {
    pub schema: u32,
    /// RFC 3339 UTC; `days_left` counts from here.
    pub generated_at: String,
    pub run: RunInfo,
    pub certificates: Vec<CertEntry>,
}

/// The run the document was made after.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunInfo {
    pub request_id: String,
    /// What ran: `renew`, `status`, `report`, `issue`.
    pub action: String,
    pub started_at: String,
    pub duration_ms: u64,
    /// `ok` (nothing failed) | `failed`.
    pub outcome: String,
    /// Something was renewed, issued or deployed.
    pub changed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CertEntry {
    pub name: String,
    pub domains: Vec<String>,
    /// The result JSON's certificate status (`up_to_date`, `renewed`, `failed`, ...).
    pub status: String,
    pub serial: Option<String>,
    pub issuer: Option<String>,
    pub not_after: Option<String>,
    /// Whole days from `generated_at` to `not_after` (negative: expired).
    pub days_left: Option<i64>,
    pub next_renewal: Option<Renewal>,
    /// Why it was due, or another note from the run.
    pub reason: Option<String>,
    pub error: Option<ErrorEntry>,
    pub targets: Vec<TargetEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Renewal {
    pub at: String,
    pub why: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TargetEntry {
    pub kind: String,
    pub id: String,
    /// What this run found or left: `up_to_date`, `would_deploy`, `deployed`, `failed`.
    pub state: String,
    /// Serial the target serves now (None: nothing, or it could not be read).
    pub serving: Option<String>,
    pub not_after: Option<String>,
    /// The last deployment or failure: this run's when it deployed or failed here, else the
    /// one the previous `status.json` recorded.
    pub last_result: Option<LastResult>,
    /// This run found a certificate alicert did not deploy here (the result's `drift`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<DriftEntry>,
}

/// The result's `drift` object, as `status.json` keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DriftEntry {
    pub serial: String,
    pub issuer: String,
    pub not_after: String,
    pub names: Vec<String>,
    #[serde(default)]
    pub deployed_as: Option<String>,
    pub reason: String,
    /// `skipped` | `would_replace` | `replaced`.
    pub action: String,
}

impl From<&Drift> for DriftEntry {
    fn from(d: &Drift) -> Self {
        DriftEntry {
            serial: d.serial.clone(),
            issuer: d.issuer.clone(),
            not_after: d.not_after.clone(),
            names: d.names.clone(),
            deployed_as: d.deployed_as.clone(),
            reason: d.reason.clone(),
            action: word(d.action),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LastResult {
    /// `deployed` | `failed`.
    pub status: String,
    pub at: String,
    /// The alicert run (FC request id) it happened in.
    pub run: String,
    pub error: Option<ErrorEntry>,
}

/// An error with the Alibaba Cloud code and RequestId when a service gave them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorEntry {
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
}

impl From<&ErrorReport> for ErrorEntry {
    fn from(e: &ErrorReport) -> Self {
        ErrorEntry {
            code: e.code.clone(),
            message: safe_message(&e.message),
            request_id: e.request_id.clone(),
        }
    }
}

/// Error messages come from services; keep them short and cut anything that looks like PEM.
pub fn safe_message(m: &str) -> String {
    let cut = m.find("-----BEGIN").unwrap_or(m.len());
    let mut s: String = m[..cut].chars().take(300).collect();
    if s.len() < m.len() {
        s.push('…');
    }
    s
}

/// Facts about the run that the result JSON does not carry.
#[derive(Debug, Clone)]
pub struct RunFacts {
    pub action: &'static str,
    pub started: OffsetDateTime,
    pub duration: std::time::Duration,
    /// The configured certificate names: entries of the previous document that the run did
    /// not select are kept only for these (a certificate removed from the config leaves the
    /// report).
    pub known: Vec<String>,
}

fn word<T: Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// Whether a run is worth a new report: something changed or failed, or a target drifted.
pub fn notable(result: &RunResult) -> bool {
    result.certificates.iter().any(|c| {
        matches!(
            c.status,
            CertStatus::Renewed | CertStatus::Issued | CertStatus::Failed
        ) || c.targets.iter().any(|t| {
            matches!(t.status, TargetStatus::Deployed | TargetStatus::Failed) || t.drift.is_some()
        })
    })
}

/// The document for `result`, keeping the previous document's last results of targets this
/// run did not touch, and the previous entries of configured certificates this run did not
/// select.
pub fn build(
    result: &RunResult,
    facts: &RunFacts,
    previous: Option<&StatusDoc>,
    now: OffsetDateTime,
) -> StatusDoc {
    let mut certificates: Vec<CertEntry> = result
        .certificates
        .iter()
        .map(|c| cert_entry(c, &result.request_id, previous, now))
        .collect();
    // A run for some certificates (`"certificates": [...]`) leaves the others as they were.
    if let Some(p) = previous {
        for old in &p.certificates {
            let selected = certificates.iter().any(|c| c.name == old.name);
            if !selected && facts.known.contains(&old.name) {
                let mut kept = old.clone();
                kept.days_left = kept.not_after.as_deref().and_then(|t| days_left(t, now));
                certificates.push(kept);
            }
        }
    }
    let changed = result.certificates.iter().any(|c| {
        matches!(c.status, CertStatus::Renewed | CertStatus::Issued)
            || c.targets.iter().any(|t| t.status == TargetStatus::Deployed)
    });
    StatusDoc {
        schema: SCHEMA,
        generated_at: rfc3339(now),
        run: RunInfo {
            request_id: result.request_id.clone(),
            action: facts.action.to_string(),
            started_at: rfc3339(facts.started),
            duration_ms: u64::try_from(facts.duration.as_millis()).unwrap_or(u64::MAX),
            outcome: if result.ok { "ok" } else { "failed" }.into(),
            changed,
        },
        certificates,
    }
}

pub fn days_left(not_after: &str, now: OffsetDateTime) -> Option<i64> {
    let t =
        OffsetDateTime::parse(not_after, &time::format_description::well_known::Rfc3339).ok()?;
    let secs = (t - now).whole_seconds();
    Some(secs.div_euclid(86_400))
}

fn cert_entry(
    c: &CertResult,
    run: &str,
    previous: Option<&StatusDoc>,
    now: OffsetDateTime,
) -> CertEntry {
    let before = previous.and_then(|p| p.certificates.iter().find(|o| o.name == c.name));
    CertEntry {
        name: c.name.clone(),
        domains: c.domains.clone(),
        status: word(c.status),
        serial: c.serial.clone(),
        issuer: c.issuer.clone(),
        not_after: c.not_after.clone(),
        days_left: c.not_after.as_deref().and_then(|t| days_left(t, now)),
        next_renewal: c.next_renewal.as_ref().map(|n| Renewal {
            at: n.at.clone(),
            why: n.why.clone(),
        }),
        reason: c.reason.clone(),
        error: c.error.as_ref().map(ErrorEntry::from),
        targets: c
            .targets
            .iter()
            .map(|t| target_entry(t, run, before, now))
            .collect(),
    }
}

fn target_entry(
    t: &TargetResult,
    run: &str,
    before: Option<&CertEntry>,
    now: OffsetDateTime,
) -> TargetEntry {
    let last_result = match t.status {
        TargetStatus::Deployed | TargetStatus::Failed => Some(LastResult {
            status: word(t.status),
            at: rfc3339(now),
            run: run.to_string(),
            error: t.error.as_ref().map(ErrorEntry::from),
        }),
        TargetStatus::UpToDate | TargetStatus::WouldDeploy => before
            .and_then(|b| b.targets.iter().find(|o| o.kind == t.kind && o.id == t.id))
            .and_then(|o| o.last_result.clone()),
    };
    TargetEntry {
        kind: t.kind.clone(),
        id: t.id.clone(),
        state: word(t.status),
        serving: t.serial.clone(),
        not_after: t.not_after.clone(),
        last_result,
        drift: t.drift.as_ref().map(DriftEntry::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::TargetResult;

    fn result(name: &str, target: TargetStatus) -> RunResult {
        RunResult {
            ok: true,
            request_id: "run-2".into(),
            certificates: vec![CertResult {
                name: name.into(),
                status: CertStatus::UpToDate,
                domains: vec!["a.example".into()],
                serial: Some("ab".into()),
                not_after: Some("2027-01-11T00:00:00Z".into()),
                reason: None,
                next_attempt: None,
                issuer: None,
                next_renewal: None,
                targets: vec![TargetResult::new("cdn", "a.example".into(), target, None)],
                error: None,
                notes: vec![],
            }],
            ..RunResult::default()
        }
    }

    #[test]
    fn carries_last_results_and_configured_certificates_over() {
        let now = OffsetDateTime::parse(
            "2027-01-01T12:00:00Z",
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let facts = |known: &[&str]| RunFacts {
            action: "renew",
            started: now,
            duration: std::time::Duration::from_millis(5),
            known: known.iter().map(|s| s.to_string()).collect(),
        };
        let mut first = build(
            &result("www", TargetStatus::Deployed),
            &facts(&["www"]),
            None,
            now,
        );
        assert_eq!(first.certificates[0].days_left, Some(9));
        let deployed = first.certificates[0].targets[0]
            .last_result
            .clone()
            .unwrap();
        assert_eq!(
            (deployed.status.as_str(), deployed.run.as_str()),
            ("deployed", "run-2")
        );
        let mut gone = first.certificates[0].clone();
        gone.name = "gone".into();
        let mut other = first.certificates[0].clone();
        other.name = "other".into();
        first.certificates.extend([gone, other]);
        // Up to date now: the last result is the previous one; `other` (configured, not in this
        // run) is kept, `gone` (no longer configured) is dropped.
        let second = build(
            &result("www", TargetStatus::UpToDate),
            &facts(&["www", "other"]),
            Some(&first),
            now,
        );
        let names: Vec<&str> = second
            .certificates
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["www", "other"]);
        assert_eq!(
            second.certificates[0].targets[0].last_result.as_ref(),
            Some(&deployed)
        );
        assert_eq!(second.certificates[0].targets[0].state, "up_to_date");
        assert!(!second.run.changed);
    }
}
