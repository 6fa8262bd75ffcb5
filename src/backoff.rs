//! Failure memory between runs. alicert keeps no state of its own, so without this a failing
//! certificate is ordered again at every timer tick and burns the CA's failed-validation and
//! order limits. With a lock bucket, a small object per certificate records its consecutive
//! failed orders (the CA refused, the DNS-01 proof or validation failed, a rate limit); the
//! next order waits 1 h, doubling to 32 h (cert-manager's schedule), or until the CA's
//! `Retry-After` when it answered `rateLimited`. A failed deploy is not counted: the next run
//! finishes it from the CAS copy without ordering.
//!
//! The wait is skipped when the certificate's config changed since the failure (a fix is
//! retried at once), when a target serves a certificate within 1/20 of its lifetime of expiry
//! (certmagic's emergency rule: better a refused order than a lapsed certificate), and by
//! `force`. A success deletes the object. Config errors are not counted: they place no order
//! and their fix (often outside the config, like `alicert account create`) must take effect
//! at the next run.
//!
//! The object lives beside the locks: `<lock prefix with "locks/" → "state/"><name>.json`
//! (`alicert/state/www.json` by default), private, SSE; its format is [`CertState`].
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::Digest;
use time::OffsetDateTime;

use crate::aliyun::AliyunClient;
use crate::cert::CertInfo;
use crate::error::{Error, ErrorReport, Result};
use crate::ident::{BucketName, ObjectKey};
use crate::lock::LockLocation;

/// The first wait after a failure.
pub const FIRST_DELAY: Duration = Duration::from_secs(3600);
/// The longest wait (cert-manager's cap).
pub const MAX_DELAY: Duration = Duration::from_secs(32 * 3600);
/// The state object's format version.
pub const SCHEMA: u32 = 1;

/// What one certificate's state object holds (JSON).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CertState {
    pub schema: u32,
    pub certificate: String,
    /// [`fingerprint`] of the certificate's config when it last failed.
    pub config: String,
    /// Consecutive failed attempts (≥ 1).
    pub failures: u32,
    /// Unix seconds of the last failure.
    pub last_failure: i64,
    pub last_error: ErrorReport,
    /// Unix seconds before which no order is placed.
    pub next_attempt: i64,
    /// Unix seconds the CA asked to wait until (`rateLimited`, 503 + Retry-After).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limited_until: Option<i64>,
}

/// Whether a due certificate may be ordered now.
#[derive(Debug, Clone, PartialEq)]
pub enum Gate {
    Go,
    /// Inside its backoff: no order before `until`; `why` says what failed.
    Wait {
        until: OffsetDateTime,
        why: String,
    },
}

/// The wait after `failures` consecutive failures: 1 h, 2 h, 4 h, … 32 h.
pub fn delay(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    FIRST_DELAY.saturating_mul(1u32 << doublings).min(MAX_DELAY)
}

/// A digest of everything that shapes a certificate's orders and deploys: its config as
/// loaded. A changed fingerprint resets the backoff (the user fixed something). The Debug
/// form of the parsed config is deterministic within one build; a new build may reset it,
/// which only means one early retry.
pub fn fingerprint(config: &impl std::fmt::Debug) -> String {
    let digest = sha2::Sha256::digest(format!("{config:?}").as_bytes());
    hex::encode(&digest[..12])
}

/// Certmagic's emergency rule: `info` has less than 1/20 of its lifetime left at `now`.
pub fn near_expiry(info: &CertInfo, now: OffsetDateTime) -> bool {
    let lifetime = info.not_after - info.not_before;
    info.not_after - now < lifetime / 20
}

/// Decide from the stored state. `emergency`: some target serves a certificate
/// [`near_expiry`].
pub fn gate(
    state: Option<&CertState>,
    fingerprint: &str,
    now: OffsetDateTime,
    force: bool,
    emergency: bool,
) -> Gate {
    let Some(state) = state else {
        return Gate::Go;
    };
    if force || emergency || state.config != fingerprint {
        return Gate::Go;
    }
    let until = OffsetDateTime::from_unix_timestamp(state.next_attempt).unwrap_or(now);
    if until <= now {
        return Gate::Go;
    }
    let limited = state
        .rate_limited_until
        .is_some_and(|t| t >= state.next_attempt);
    let why = format!(
        "{} consecutive failure{}, last {}: {}{}",
        state.failures,
        if state.failures == 1 { "" } else { "s" },
        state.last_error.code,
        state.last_error.message,
        if limited {
            "; the CA asked to wait (rate limit)"
        } else {
            ""
        }
    );
    Gate::Wait { until, why }
}

/// The state after one more failure with `error` at `now`.
pub fn failed(
    previous: Option<&CertState>,
    certificate: &str,
    fingerprint: &str,
    error: &Error,
    now: OffsetDateTime,
) -> CertState {
    let failures = match previous {
        Some(p) if p.config == fingerprint => p.failures.saturating_add(1),
        _ => 1,
    };
    let now_unix = now.unix_timestamp();
    let backoff = i64::try_from(delay(failures).as_secs()).unwrap_or(i64::MAX);
    let rate_limited_until = error.retry_at();
    let next_attempt = now_unix
        .saturating_add(backoff)
        .max(rate_limited_until.unwrap_or(i64::MIN));
    CertState {
        schema: SCHEMA,
        certificate: certificate.to_string(),
        config: fingerprint.to_string(),
        failures,
        last_failure: now_unix,
        last_error: error.report(),
        next_attempt,
        rate_limited_until,
    }
}

/// The state objects of one lock bucket.
pub struct States {
    client: AliyunClient,
    bucket: BucketName,
    prefix: String,
}

/// `alicert/locks/` → `alicert/state/`; any other prefix gets `state/` appended.
fn state_prefix(lock_prefix: &str) -> String {
    match lock_prefix.strip_suffix("locks/") {
        Some(base) => format!("{base}state/"),
        None => format!("{lock_prefix}state/"),
    }
}

impl States {
    pub fn new(client: AliyunClient, location: &LockLocation) -> States {
        let client = match &location.region {
            Some(r) => client.for_region(r),
            None => client,
        };
        States {
            client,
            bucket: location.bucket.clone(),
            prefix: state_prefix(&location.prefix),
        }
    }

    fn key(&self, certificate: &str) -> Result<ObjectKey> {
        ObjectKey::parse(&format!("{}{certificate}.json", self.prefix))
            .map_err(|e| Error::Config(format!("[lock] prefix: {e}")))
    }

    /// Where the object of `certificate` lives, for messages.
    pub fn url(&self, certificate: &str) -> String {
        format!("oss://{}/{}{certificate}.json", self.bucket, self.prefix)
    }

    /// The stored state; one that does not parse is reported and treated as none (it
    /// only ever delays an order).
    pub async fn load(&self, certificate: &str) -> Result<Option<CertState>> {
        let Some(bytes) = self
            .client
            .oss_get(&self.bucket, &self.key(certificate)?)
            .await?
        else {
            return Ok(None);
        };
        match serde_json::from_slice::<CertState>(&bytes) {
            Ok(s) if s.certificate == certificate => Ok(Some(s)),
            Ok(_) | Err(_) => {
                tracing::warn!(state = %self.url(certificate), "failure state does not parse or names another certificate; ignored");
                Ok(None)
            }
        }
    }

    pub async fn store(&self, state: &CertState) -> Result<()> {
        let body = serde_json::to_vec_pretty(state).map_err(|e| Error::Other(e.to_string()))?;
        self.client
            .oss_put(&self.bucket, &self.key(&state.certificate)?, body, false)
            .await
            .map(drop)
    }

    pub async fn clear(&self, certificate: &str) -> Result<()> {
        self.client
            .oss_delete(&self.bucket, &self.key(certificate)?)
            .await
    }
}

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &[
    "oss:GetObject",
    "oss:PutObject",
    "oss:PutObjectAcl",
    "oss:DeleteObject",
];

/// The failure-state objects beside the locks (`<prefix with locks/ → state/>*`).
pub fn ram_statements(
    location: &LockLocation,
    scope: &crate::aliyun::ram::Scope,
) -> Vec<crate::aliyun::ram::Statement> {
    use crate::aliyun::ram::{pick, Statement};
    vec![Statement::new(
        "FailureState",
        "Failure backoff: read, write and delete each certificate's state object beside the \
         locks only (private puts).",
        &pick(
            RAM,
            &[
                "oss:GetObject",
                "oss:PutObject",
                "oss:PutObjectAcl",
                "oss:DeleteObject",
            ],
        ),
        vec![crate::secret_ref::oss_object_arn(
            scope,
            location.bucket.as_str(),
            &format!("{}*", state_prefix(&location.prefix)),
        )],
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(unix).unwrap()
    }

    #[test]
    fn delays_double_from_one_hour_to_thirty_two() {
        let hours: Vec<u64> = (1..=8).map(|n| delay(n).as_secs() / 3600).collect();
        assert_eq!(hours, [1, 2, 4, 8, 16, 32, 32, 32]);
        assert_eq!(delay(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn failures_count_up_and_reset_on_a_config_change() {
        let e = Error::Acme("boom".into());
        let one = failed(None, "www", "f1", &e, at(1_000_000));
        assert_eq!((one.failures, one.next_attempt), (1, 1_000_000 + 3600));
        let two = failed(Some(&one), "www", "f1", &e, at(1_010_000));
        assert_eq!((two.failures, two.next_attempt), (2, 1_010_000 + 7200));
        let changed = failed(Some(&two), "www", "f2", &e, at(1_020_000));
        assert_eq!(changed.failures, 1);
        assert_eq!(changed.last_error.code, "AcmeError");
    }

    #[test]
    fn a_rate_limit_waits_for_the_ca_when_that_is_longer() {
        let e = Error::RateLimited {
            message: "too many".into(),
            retry_at: Some(1_000_000 + 5 * 3600),
        };
        let s = failed(None, "www", "f", &e, at(1_000_000));
        assert_eq!(s.next_attempt, 1_000_000 + 5 * 3600);
        assert_eq!(s.rate_limited_until, Some(1_000_000 + 5 * 3600));
        match gate(Some(&s), "f", at(1_000_000 + 3 * 3600), false, false) {
            Gate::Wait { until, why } => {
                assert_eq!(until, at(1_000_000 + 5 * 3600));
                assert!(
                    why.contains("rate limit") && why.contains("RateLimited"),
                    "{why}"
                );
            }
            g => panic!("{g:?}"),
        }
    }

    #[test]
    fn the_gate_opens_on_time_force_emergency_or_change() {
        let s = failed(None, "www", "f", &Error::Acme("x".into()), at(0));
        assert!(matches!(
            gate(Some(&s), "f", at(60), false, false),
            Gate::Wait { .. }
        ));
        assert_eq!(gate(Some(&s), "f", at(3600), false, false), Gate::Go);
        assert_eq!(gate(Some(&s), "f", at(60), true, false), Gate::Go);
        assert_eq!(gate(Some(&s), "f", at(60), false, true), Gate::Go);
        assert_eq!(gate(Some(&s), "g", at(60), false, false), Gate::Go);
        assert_eq!(gate(None, "f", at(60), false, false), Gate::Go);
    }

    #[test]
    fn the_state_prefix_sits_beside_the_locks() {
        assert_eq!(state_prefix("alicert/locks/"), "alicert/state/");
        assert_eq!(state_prefix("ops/"), "ops/state/");
        assert_eq!(state_prefix(""), "state/");
    }

    #[test]
    fn the_state_format_round_trips() {
        let s = failed(None, "www", "f", &Error::Acme("x".into()), at(10));
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.contains("\"schema\":1") && !text.contains("rate_limited_until"));
        assert_eq!(serde_json::from_str::<CertState>(&text).unwrap(), s);
    }
}
