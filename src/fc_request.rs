//! What FC's request headers say about an invocation: its request id, the role's credentials
//! and the deadline (`x-fc-function-timeout`). Shared by the runtime's `/invoke` and the HTTP
//! trigger; below both.
use std::collections::BTreeMap;

use axum::http::HeaderMap;

use crate::aliyun::Credentials;
use crate::error::Error;
use crate::invocation::Invocation;

/// FC's common request headers (FC 3.0 custom runtime "Context and log format", "Request
/// headers", https://www.alibabacloud.com/help/en/functioncompute/fc/context-and-log-format-1,
/// and FC "Specifications": "Function Compute automatically generates a set of common request
/// headers and sends them to your custom runtime on every invocation"). `x-fc-request-id`
/// comes on every request; the credential headers only with a role.
pub const FC_REQUEST_HEADERS: &[&str] = &[
    "x-fc-request-id",
    "x-fc-access-key-id",
    "x-fc-access-key-secret",
    "x-fc-security-token",
    "x-fc-function-handler",
    "x-fc-function-memory",
    "x-fc-function-initializer",
    "x-fc-initialization-timeout",
    "x-fc-instance-lifecycle-pre-stop-handler",
    "x-fc-instance-lifecycle-pre-freeze-handler",
    "x-fc-region",
    "x-fc-account-id",
    "x-fc-qualifier",
    "x-fc-version-id",
    "x-fc-function-name",
    "x-fc-service-logproject",
    "x-fc-service-logstore",
    "x-fc-control-path",
];
pub const FC_REQUEST_ID: &str = "x-fc-request-id";

pub fn lower_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    headers
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.as_str().to_ascii_lowercase(),
                v.to_str().ok()?.to_string(),
            ))
        })
        .collect()
}

/// FC's request id, or a local one (`local-<hex>`) off FC.
pub fn request_id(headers: &BTreeMap<String, String>) -> String {
    headers
        .get("x-fc-request-id")
        .filter(|s| !s.is_empty())
        .cloned()
        .unwrap_or_else(|| format!("local-{}", hex::encode(rand::random::<[u8; 8]>())))
}

/// FC's longest function timeout: "The maximum execution time of a function is 24 hours"
/// (https://www.alibabacloud.com/help/en/functioncompute/fc/what-can-i-do-if-my-function-exceeds-the-timeout-period-1).
/// A larger `x-fc-function-timeout` or `--timeout` is not from FC, and is refused.
pub const MAX_TIMEOUT_SECS: u64 = 24 * 3600;

/// The deadline `secs` from now, checked: 1 to [`MAX_TIMEOUT_SECS`] seconds.
pub fn deadline_after(secs: u64, what: &str) -> Result<std::time::Instant, Error> {
    if !(1..=MAX_TIMEOUT_SECS).contains(&secs) {
        return Err(Error::Input(format!(
            "{what} = {secs}: must be 1 to {MAX_TIMEOUT_SECS} seconds (FC's longest function timeout is 24 hours)"
        )));
    }
    std::time::Instant::now()
        .checked_add(std::time::Duration::from_secs(secs))
        .ok_or_else(|| Error::Input(format!("{what} = {secs}: too far in the future")))
}

/// The invocation's facts from FC's request headers: request id, the role's credentials, and
/// the deadline from `x-fc-function-timeout` (seconds), counted from now. A timeout that is not
/// a whole number of seconds in FC's range is an input error naming the header.
pub fn invocation_from_headers(headers: &BTreeMap<String, String>) -> Result<Invocation, Error> {
    let deadline = match headers.get("x-fc-function-timeout").map(|s| s.trim()) {
        None | Some("") => None,
        Some(s) => {
            let secs = s.parse::<u64>().map_err(|_| {
                Error::Input(format!(
                    "header x-fc-function-timeout = `{}`: not a whole number of seconds",
                    s.escape_debug()
                ))
            })?;
            Some(deadline_after(secs, "header x-fc-function-timeout")?)
        }
    };
    Ok(Invocation {
        request_id: request_id(headers),
        fc_credentials: Credentials::from_fc_headers(headers),
        deadline,
    })
}
