//! The result JSON (SPEC: Result JSON).
use serde::Serialize;

use crate::cert::CertInfo;
use crate::error::ErrorReport;

#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub ok: bool,
    pub request_id: String,
    pub certificates: Vec<CertResult>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CertStatus {
    Renewed,
    Issued,
    UpToDate,
    WouldRenew,
    Failed,
    /// Due, but another run holds this certificate's lock and is renewing it now: not this
    /// run's failure (the `reason` names the lock's owner and expiry).
    Skipped,
}

/// Error code of a certificate that was due but not started because the invocation's
/// deadline was too near (status `failed`: the work is not done, the next run does it).
pub const NOT_ATTEMPTED: &str = "NotAttempted";

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TargetStatus {
    Deployed,
    UpToDate,
    WouldDeploy,
    Failed,
}

#[derive(Debug, Clone, Serialize)]
pub struct CertResult {
    pub name: String,
    pub status: CertStatus,
    pub domains: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub targets: Vec<TargetResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetResult {
    pub kind: String,
    pub id: String,
    pub status: TargetStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
}

impl TargetResult {
    pub fn new(kind: &str, id: String, status: TargetStatus, cert: Option<&CertInfo>) -> Self {
        TargetResult {
            kind: kind.to_string(),
            id,
            status,
            serial: cert.map(|c| c.serial.clone()),
            not_after: cert.map(CertInfo::not_after_rfc3339),
            error: None,
        }
    }
}
