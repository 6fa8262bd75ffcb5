//! Thousands of certificates: the timer run splits the selected certificates into groups and
//! hands each group to an asynchronous invocation of the function (FC 3 InvokeFunction with
//! `x-fc-invocation-type: Async`). Each group arrives as a renew event with an explicit
//! `certificates` list and runs like any other; an explicit list never fans out again.
use futures_util::StreamExt;
use serde::Deserialize;

use crate::aliyun::client::RoaRequest;
use crate::aliyun::{AliyunClient, Product};
use crate::error::{Error, Result};
use crate::event::RenewOptions;
use crate::invocation::Invocation;
use crate::result::{FanoutGroup, FanoutStatus, RunResult};

/// `[fanout]`: a timer run handed to asynchronous invocations, one per group of certificates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FanoutConfig {
    pub enabled: bool,
    /// Certificates per asynchronous invocation (at most).
    pub group_size: usize,
    /// FC function to invoke; default: this function (`$FC_FUNCTION_NAME`).
    pub function: Option<String>,
    /// Version or alias invoked; empty = the service default.
    pub qualifier: String,
    /// InvokeFunction calls in flight while dispatching.
    pub max_concurrent_calls: usize,
}

fn default_group_size() -> usize {
    20
}
fn default_qualifier() -> String {
    "LATEST".into()
}
fn default_fanout_calls() -> usize {
    5
}

impl Default for FanoutConfig {
    fn default() -> Self {
        FanoutConfig {
            enabled: false,
            group_size: default_group_size(),
            function: None,
            qualifier: default_qualifier(),
            max_concurrent_calls: default_fanout_calls(),
        }
    }
}

impl FanoutConfig {
    /// Errors name the key (`[fanout] …`).
    pub fn validate(&self) -> std::result::Result<(), String> {
        crate::settings::concurrency("[fanout] max_concurrent_calls", self.max_concurrent_calls)?;
        crate::settings::in_range("[fanout] group_size", self.group_size, 1, 1000)
    }
}

/// Splits `names` (config order) into `ceil(n / group_size)` contiguous groups whose sizes differ
/// by at most one, so no straggler group is much smaller than the rest. Deterministic: the same
/// config gives the same groups on every run.
pub fn plan_groups(names: &[String], group_size: usize) -> Vec<Vec<String>> {
    if names.is_empty() {
        return Vec::new();
    }
    let count = names.len().div_ceil(group_size.max(1));
    let (base, extra) = (names.len() / count, names.len() % count);
    let mut groups = Vec::with_capacity(count);
    let mut start = 0;
    for i in 0..count {
        let len = base + usize::from(i < extra);
        groups.push(names[start..start + len].to_vec());
        start += len;
    }
    groups
}

/// The groups this run hands off, or None to run here: fan-out is on, the event selected no
/// certificates itself (a group's own event always does), the run may change things, and there
/// are more certificates than one group holds.
pub fn groups_for(
    f: &FanoutConfig,
    opts: &RenewOptions,
    read_only: bool,
    names: &[String],
) -> Option<Vec<Vec<String>>> {
    (f.enabled && opts.certificates.is_empty() && !read_only && names.len() > f.group_size)
        .then(|| plan_groups(names, f.group_size))
}

/// The function the groups go to: `[fanout] function`, else this function.
fn function_name(config: &FanoutConfig, source: &str) -> Result<String> {
    config
        .function
        .clone()
        .filter(|f| !f.is_empty())
        .or_else(|| {
            std::env::var("FC_FUNCTION_NAME")
                .ok()
                .filter(|f| !f.is_empty())
        })
        .ok_or_else(|| {
            Error::Config(format!(
                "{source}: [fanout] function is not set and FC_FUNCTION_NAME is not in the environment \
                 (set [fanout] function to the FC function that renews the groups)"
            ))
        })
}

/// Invokes the function asynchronously once per group, at most `[fanout] max_concurrent_calls`
/// calls at a time. How many groups *run* at once is the function's concurrency limit in FC
/// (see README, "Thousands of certificates"); async invocations beyond it wait in FC's queue.
pub async fn dispatch(
    config: &FanoutConfig,
    source: &str,
    client: &AliyunClient,
    opts: &RenewOptions,
    groups: Vec<Vec<String>>,
    invocation: &Invocation,
) -> Result<RunResult> {
    let function = function_name(config, source)?;
    let path = format!(
        "/2023-03-30/functions/{}/invocations",
        crate::aliyun::signer::percent_encode(&function)
    );
    let mut query: Vec<(&str, &str)> = Vec::new();
    if !config.qualifier.is_empty() {
        query.push(("qualifier", config.qualifier.as_str()));
    }
    tracing::info!(
        groups = groups.len(),
        function = %function,
        "fanning out to asynchronous invocations"
    );
    let calls: Vec<_> = groups
        .into_iter()
        .enumerate()
        .map(|(i, certificates)| {
            let event = serde_json::json!({
                "action": "renew",
                "certificates": certificates,
                "force": opts.force,
                "dry_run": opts.dry_run,
            });
            let (path, query) = (path.as_str(), query.as_slice());
            async move {
                let request = RoaRequest {
                    action: "InvokeFunction",
                    method: "POST",
                    path,
                    query,
                    headers: &[("x-fc-invocation-type", "Async")],
                    body: Some((event.to_string().into_bytes(), "application/octet-stream")),
                };
                let sent = client.roa_request(Product::Fc, &request).await;
                let mut group = FanoutGroup {
                    group: i + 1,
                    certificates,
                    status: FanoutStatus::Dispatched,
                    invocation_request_id: None,
                    error: None,
                };
                match sent {
                    Ok(rsp) => {
                        tracing::info!(group = i + 1, certificates = group.certificates.len(), request_id = %rsp.request_id, "group dispatched");
                        group.invocation_request_id = Some(rsp.request_id);
                    }
                    Err(e) => {
                        tracing::error!(group = i + 1, error = %e, "group not dispatched");
                        group.status = FanoutStatus::Failed;
                        group.error = Some(e.report());
                    }
                }
                group
            }
        })
        .collect();
    let fanout: Vec<FanoutGroup> = futures_util::stream::iter(calls)
        .buffered(config.max_concurrent_calls.max(1))
        .collect()
        .await;
    Ok(RunResult {
        ok: fanout.iter().all(|g| g.status == FanoutStatus::Dispatched),
        request_id: invocation.request_id.clone(),
        certificates: Vec::new(),
        fanout: Some(fanout),
        ..RunResult::default()
    })
}

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &["fc:InvokeFunction"];

impl FanoutConfig {
    /// `[fanout] enabled`: asynchronous invocations of this function only. Without
    /// `[fanout] function` the name is FC's at run time, unknown offline: `functions/*`.
    pub fn ram_statements(
        &self,
        scope: &crate::aliyun::ram::Scope,
    ) -> Vec<crate::aliyun::ram::Statement> {
        use crate::aliyun::ram::{pick, Statement};
        if !self.enabled {
            return vec![];
        }
        let name = self.function.as_deref().unwrap_or("*");
        // FC 3.0 RAM authorization, resource type Function:
        // `acs:fc:{#regionId}:{#accountId}:functions/{#functionName}`
        // (https://alibabacloud.com/help/en/functioncompute/fc-3-0/developer-reference/api-fc-2023-03-30-ram).
        let arn = scope.arn("fc", &scope.region, &format!("functions/{name}"));
        vec![Statement::new(
            "FanoutInvoke",
            "[fanout]: invoke this function asynchronously, once per group of certificates.",
            &pick(RAM, &["fc:InvokeFunction"]),
            vec![arn],
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i}")).collect()
    }

    #[test]
    fn groups_are_balanced_contiguous_and_cover_everything_once() {
        for (n, size, want) in [
            (0, 20, vec![]),
            (1, 20, vec![1]),
            (20, 20, vec![20]),
            (21, 20, vec![11, 10]),
            (45, 20, vec![15, 15, 15]),
            (1000, 20, vec![20; 50]),
            (1001, 20, [vec![20; 32], vec![19; 19]].concat()),
            (7, 1, vec![1; 7]),
        ] {
            let all = names(n);
            let groups = plan_groups(&all, size);
            let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
            assert_eq!(sizes, want, "n={n} size={size}");
            assert!(groups.iter().all(|g| g.len() <= size));
            assert_eq!(groups.concat(), all, "config order, each name once");
            assert_eq!(plan_groups(&all, size), groups, "deterministic");
        }
    }

    fn config(enabled: bool, group_size: usize) -> FanoutConfig {
        FanoutConfig {
            enabled,
            group_size,
            ..FanoutConfig::default()
        }
    }

    #[test]
    fn only_an_unselected_changing_run_beyond_one_group_fans_out() {
        let all = names(5);
        let renew = RenewOptions::default();
        assert_eq!(
            groups_for(&config(true, 2), &renew, false, &all).map(|g| g.len()),
            Some(3)
        );
        assert!(groups_for(&config(false, 2), &renew, false, &all).is_none());
        assert!(groups_for(&config(true, 5), &renew, false, &all).is_none());
        assert!(
            groups_for(&config(true, 2), &renew, true, &all).is_none(),
            "status"
        );
        let group_event = RenewOptions {
            certificates: vec!["c0".into(), "c1".into()],
            ..RenewOptions::default()
        };
        assert!(groups_for(&config(true, 1), &group_event, false, &all).is_none());
    }
}
