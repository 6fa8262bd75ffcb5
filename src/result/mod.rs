//! The result JSON (SPEC: Result JSON).
pub mod doctor;
pub mod scan;
use serde::Serialize;

use crate::cert::CertInfo;
use crate::error::ErrorReport;

#[derive(Debug, Clone, Serialize, Default)]
pub struct RunResult {
    pub ok: bool,
    pub request_id: String,
    pub certificates: Vec<CertResult>,
    /// `{"action":"account"}` / `alicert account …`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountReport>,
    /// `{"action":"revoke"}` / `alicert revoke`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation: Option<RevocationReport>,
    /// Set when this run handed its certificates to asynchronous invocations (src/fanout.rs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fanout: Option<Vec<FanoutGroup>>,
    /// `{"action":"doctor"}` / `alicert doctor`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doctor: Option<doctor::DoctorReport>,
    /// `{"action":"scan"}` / `alicert scan`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan: Option<scan::ScanReport>,
}

/// The ACME account as the CA reports it (owned by `acme::account`, whose op vocabulary it
/// carries).
pub use crate::acme::account::AccountReport;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RevocationReport {
    pub certificate: String,
    /// RFC 5280 CRLReason code sent (absent: none sent, which means unspecified).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_name: Option<String>,
    /// Each distinct certificate found on the targets.
    pub revoked: Vec<RevokedCert>,
    /// "Replace, then revoke" (the default): the certificate ordered and rolled out to every
    /// target before any old one was revoked. Absent with `--no-replace` / `"replace": false`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement: Option<Replacement>,
}

/// The new certificate of a revocation: ordered, deployed and verified on every target.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Replacement {
    /// `deployed` (every target serves it) | `would_deploy` (dry run) | `failed` (nothing
    /// was revoked).
    pub status: ReplacementStatus,
    /// The new certificate's serial (absent when no certificate was obtained).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    /// What each target serves after the rollout (`kind id` → serial), as the renew pipeline
    /// verified it.
    pub targets: Vec<TargetResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RevokedCert {
    pub serial: String,
    pub not_after: String,
    /// `revoked | already_revoked | would_revoke | failed | not_revoked` (the replacement did
    /// not roll out, so the certificate was left valid and deployed; `error` says why).
    pub status: RevokedStatus,
    /// `kind id` of the targets serving it.
    pub targets: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
}

/// One group of certificates handed to an asynchronous invocation.
#[derive(Debug, Clone, Serialize)]
pub struct FanoutGroup {
    /// 1-based.
    pub group: usize,
    pub certificates: Vec<String>,
    pub status: FanoutStatus,
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
    /// Due, but another run holds this certificate's lock and is renewing it now: not this
    /// run's failure (the `reason` names the lock's owner and expiry).
    Skipped,
    /// Due, but inside its failure backoff (or a CA rate limit): no order before
    /// `next_attempt`; the `reason` says what failed.
    BackingOff,
}

impl CertStatus {
    /// Still due and not renewed: `failed`, or `backing_off` after an earlier failure. The
    /// run is not ok and the certificate's "last run ok" is false.
    pub fn is_failing(self) -> bool {
        matches!(self, CertStatus::Failed | CertStatus::BackingOff)
    }
}

/// Error code of a certificate that was due but not started because the invocation's
/// deadline was too near (status `failed`: the work is not done, the next run does it).
/// The error code of a certificate reported `failed` because the run did not start it (the
/// invocation's deadline was near): SPEC keeps the status vocabulary closed, so "not attempted"
/// is a failure with this code.
pub const NOT_ATTEMPTED: &str = "NotAttempted";

/// What happened to one certificate `revoke` was asked to revoke.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RevokedStatus {
    Revoked,
    AlreadyRevoked,
    WouldRevoke,
    /// The replacement failed, so the old certificate stays valid.
    NotRevoked,
    Failed,
}

/// The replacement rolled out before a revocation.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReplacementStatus {
    Deployed,
    WouldDeploy,
    Failed,
}

/// One fan-out group's asynchronous invocation.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FanoutStatus {
    Dispatched,
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
    /// `backing_off`: when the next order may be placed (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt: Option<String>,
    /// Issuer (distinguished name) of the certificate reported by `serial`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// When that certificate is next expected to renew, and why (src/report).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_renewal: Option<NextRenewal>,
    pub targets: Vec<TargetResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
    /// Things worth knowing that are not failures (a key not reusable, a chain not offered).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The ARI window's start, or the `renew_before_days` date (see `plan::next_renewal`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NextRenewal {
    /// RFC 3339 UTC.
    pub at: String,
    pub why: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
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
    /// What the deploy did besides installing that the user should know (e.g. ESA: a
    /// superseded alicert certificate removed first to make room in the site's quota).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Present when the target served a certificate alicert did not deploy there (src/drift.rs
    /// says how that is told): what it was, why it is not alicert's, what the run did about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<Drift>,
}

/// A certificate found on a target that alicert did not deploy there (README "Drift").
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Drift {
    /// The found certificate's serial (lowercase hex), issuer DN, expiry (RFC 3339) and names.
    pub serial: String,
    pub issuer: String,
    pub not_after: String,
    pub names: Vec<String>,
    /// The name the service keeps it under, when it reports one (CAS name, CDN `CertName`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployed_as: Option<String>,
    /// Why it is not alicert's.
    pub reason: String,
    pub action: DriftAction,
}

/// What the run did about a drifted target.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DriftAction {
    /// Left in place: the certificate it serves is not due (`force` replaces it).
    Skipped,
    /// Due (or forced): a renew run deploys over it; a status or dry run would.
    WouldReplace,
    /// Replaced by alicert's certificate in this run.
    Replaced,
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
            notes: Vec::new(),
            drift: None,
        }
    }
}
