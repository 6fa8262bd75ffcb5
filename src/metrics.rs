//! `[metrics]`: after each run, CloudMonitor custom metrics per certificate, so that alarms set
//! in CloudMonitor fire even when alicert itself stops running (days to expiry keeps falling,
//! or the data stops). PutCustomMetric (PyPI alibabacloud-cms20190101 4.0.10: RPC 2019-01-01,
//! `MetricList.N` with MetricName, Dimensions (JSON), GroupId, Type, Values (JSON), Time; 1 to
//! 21 entries a call; dimension values at most 64 characters, longer ones are cut by
//! CloudMonitor). The names are documented in README "Monitoring":
//!
//! * `alicert_days_to_expiry` — whole days until the certificate's not-after (negative when
//!   expired); only for a certificate that has one;
//! * `alicert_last_run_ok` — 1 when the run did not fail the certificate, else 0;
//! * `alicert_targets_drifted` — how many of its targets serve a certificate alicert did not
//!   deploy there (README "Drift");
//!
//! all with the dimension `{"certificate": "<name>"}` (names over 64 characters fitted with
//! `naming::fit`) in group `0` (no application group). Best effort: a failure is logged.
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use crate::aliyun::{AliyunClient, Product};
use crate::error::Result;
use crate::ident::RegionId;
use crate::result::RunResult;

pub const DAYS_TO_EXPIRY: &str = "alicert_days_to_expiry";
pub const LAST_RUN_OK: &str = "alicert_last_run_ok";
pub const TARGETS_DRIFTED: &str = "alicert_targets_drifted";
/// PutCustomMetric takes 1 to 21 entries.
const PER_CALL: usize = 21;
/// CloudMonitor keeps the first 64 characters of a dimension value.
const DIMENSION_MAX: usize = 64;

/// `[metrics]` (its presence turns metrics on).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// CloudMonitor region to report to; default `[aliyun] region`.
    #[serde(default)]
    pub region: Option<String>,
    /// Application group id; default `0` (none).
    #[serde(default)]
    pub group_id: Option<u64>,
}

impl MetricsConfig {
    pub fn validate(&self) -> std::result::Result<(), String> {
        if let Some(r) = &self.region {
            RegionId::parse(r).map_err(|e| format!("[metrics] region: {e}"))?;
        }
        Ok(())
    }
}

/// One data point: (metric name, certificate dimension, value).
pub type Point = (&'static str, String, i64);

/// The points of `result` at `now`.
pub fn points(result: &RunResult, now: OffsetDateTime) -> Vec<Point> {
    let mut out = Vec::new();
    for c in &result.certificates {
        let name = crate::naming::fit(&c.name, DIMENSION_MAX).into_owned();
        if let Some(days) = c
            .not_after
            .as_deref()
            .and_then(|t| crate::report::status::days_left(t, now))
        {
            out.push((DAYS_TO_EXPIRY, name.clone(), days));
        }
        out.push((LAST_RUN_OK, name.clone(), i64::from(!c.status.is_failing())));
        let drifted = c.targets.iter().filter(|t| t.drift.is_some()).count();
        out.push((TARGETS_DRIFTED, name, drifted as i64));
    }
    out
}

/// Report `result`'s points (best effort).
pub async fn send(config: &Option<MetricsConfig>, client: &AliyunClient, result: &RunResult) {
    let Some(config) = config else {
        return;
    };
    if let Err(e) = put(config, client, result).await {
        tracing::warn!(error = %e, "metrics: PutCustomMetric failed");
    }
}

async fn put(config: &MetricsConfig, client: &AliyunClient, result: &RunResult) -> Result<()> {
    let client = match config
        .region
        .as_deref()
        .and_then(|r| RegionId::parse(r).ok())
    {
        Some(r) => client.for_region(&r),
        None => client.clone(),
    };
    let now = OffsetDateTime::now_utc();
    let time = (now.unix_timestamp_nanos() / 1_000_000).to_string();
    let group = config.group_id.unwrap_or(0).to_string();
    for chunk in points(result, now).chunks(PER_CALL) {
        let mut params: Vec<(String, String)> = Vec::new();
        for (i, (metric, cert, value)) in chunk.iter().enumerate() {
            let n = i + 1;
            params.extend([
                (format!("MetricList.{n}.MetricName"), metric.to_string()),
                (
                    format!("MetricList.{n}.Dimensions"),
                    json!({ "certificate": cert }).to_string(),
                ),
                (format!("MetricList.{n}.GroupId"), group.clone()),
                (format!("MetricList.{n}.Type"), "0".to_string()),
                (
                    format!("MetricList.{n}.Values"),
                    json!({ "value": value }).to_string(),
                ),
                (format!("MetricList.{n}.Time"), time.clone()),
            ]);
        }
        let params: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let answer = client.rpc(Product::Cms, "PutCustomMetric", &params).await?;
        // The answer's Code is "200" on success (PutCustomMetricResponseBody).
        if answer["Code"].as_str().is_some_and(|c| c != "200") {
            return Err(crate::error::Error::Other(format!(
                "PutCustomMetric: Code {} {}",
                answer["Code"],
                answer["Message"].as_str().unwrap_or_default()
            )));
        }
    }
    tracing::info!(
        certificates = result.certificates.len(),
        "metrics: sent to CloudMonitor"
    );
    Ok(())
}

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &["cms:PutCustomMetric"];

/// `[metrics]`: CloudMonitor custom metrics (PutCustomMetric has no resource-level permission).
pub fn ram_statements() -> Vec<crate::aliyun::ram::Statement> {
    use crate::aliyun::ram::{pick, Statement};
    vec![Statement::any(
        "Metrics",
        "[metrics]: report days-to-expiry and last-run metrics to CloudMonitor.",
        &pick(RAM, &["cms:PutCustomMetric"]),
    )]
}
