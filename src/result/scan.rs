//! `alicert scan`'s report: every certificate-bearing endpoint found, sorted by days left
//! (expired and soon-expiring first), what could not be listed or read (each naming the RAM
//! action when permission was missing), and the kinds scan does not list at all.
use serde::Serialize;

use super::doctor::Check;

/// How close an endpoint's certificate is to its end, against `[acme] renew_before_days`.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Expired,
    /// Within `renew_before_days` of its end: a run of alicert would renew it.
    Expiring,
    Valid,
    /// HTTPS is off or no certificate is bound.
    None,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Expired => "expired",
            Health::Expiring => "expiring",
            Health::Valid => "valid",
            Health::None => "none",
        }
    }
}

/// Where the served certificate came from, as far as the account tells: the products report
/// the certificate, not how it got there, so scan looks the certificate up among CAS's
/// uploads (ListUserCertificateOrder, by SHA-256 fingerprint).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Among CAS's uploaded certificates (`cas_id` names it).
    Cas,
    /// Not among CAS's uploads: a PEM given to the product directly, or a certificate bought
    /// in CAS (scan does not list bought ones).
    NotInCas,
    /// CAS's uploads could not be listed (see the report's `problems`).
    Unknown,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Cas => "cas",
            Source::NotInCas => "not_in_cas",
            Source::Unknown => "unknown",
        }
    }
}

/// One endpoint: a target alicert could deploy to, and what it serves now.
#[derive(Debug, Clone, Serialize)]
pub struct Endpoint {
    /// The target kind (`cdn`, `fc`, ...) and resource, as a config's target names them.
    pub kind: String,
    pub resource: String,
    /// The region listed, for regional kinds (fc, fc2, apig); absent for global ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub health: Health,
    /// The certificate's DNS names (empty when it serves none).
    pub names: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    /// Whole days until `not_after`, negative once expired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_left: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cas_id: Option<String>,
    /// The CAS copy is one of alicert's uploads (its name says so).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub uploaded_by_alicert: bool,
    /// The current config has a target for it.
    pub managed: bool,
    /// The configured certificate whose target it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// SHA-256 of the certificate, to find it among CAS's uploads (not reported).
    #[serde(skip)]
    pub fingerprint: Option<String>,
    /// The target table (without `kind`) the endpoint was listed and read as: what
    /// `alicert init` writes for it (not reported).
    #[serde(skip)]
    pub target: toml::Table,
}

/// A kind scan does not list, and why.
#[derive(Debug, Clone, Serialize)]
pub struct NotScanned {
    pub kind: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    /// Every kind listed and every endpoint read (problems are listing or reading errors).
    pub complete: bool,
    /// The regions the regional kinds were listed in.
    pub regions: Vec<String>,
    /// `[acme] renew_before_days`: the `expiring` threshold.
    pub expiring_within_days: u32,
    pub endpoints: Vec<Endpoint>,
    /// What could not be listed or read: a missing permission names its RAM action.
    pub problems: Vec<Check>,
    pub not_scanned: Vec<NotScanned>,
}

impl ScanReport {
    /// Sorts the endpoints: expired, then by days left (soonest first), then those serving
    /// nothing; ties by kind, resource and region, so the order is deterministic.
    pub fn sort(&mut self) {
        self.endpoints.sort_by(|a, b| {
            let key = |e: &Endpoint| (e.days_left.is_none(), e.days_left.unwrap_or(0));
            key(a)
                .cmp(&key(b))
                .then_with(|| a.kind.cmp(&b.kind))
                .then_with(|| a.resource.cmp(&b.resource))
                .then_with(|| a.region.cmp(&b.region))
        });
    }
}
