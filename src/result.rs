//! The result JSON (SPEC: Result JSON).
use serde::Serialize;

use crate::cert::CertInfo;
use crate::error::ErrorReport;

#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub ok: bool,
    pub request_id: String,
    pub certificates: Vec<CertResult>,
    /// Set when this run handed its certificates to asynchronous invocations (src/fanout.rs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fanout: Option<Vec<FanoutGroup>>,
}

/// One group of certificates handed to an asynchronous invocation.
#[derive(Debug, Clone, Serialize)]
pub struct FanoutGroup {
    /// 1-based.
    pub group: usize,
    pub certificates: Vec<String>,
    /// `dispatched` or `failed`.
    pub status: String,
    /// FC's request id of the asynchronous invocation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invocation_request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CertStatus {
    Renewed,
    Issued,
    UpToDate,
    WouldRenew,
    Failed,
}

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
