//! The ECS instance RAM role, from the instance metadata service, as alibabacloud-credentials
//! 1.0.12 provider/ecs_ram_role.py reads it: an IMDSv2 token first (`PUT /latest/api/token`,
//! `X-aliyun-ecs-metadata-token-ttl-seconds: 21600`), then
//! `GET /latest/meta-data/ram/security-credentials/` for the role name unless
//! `ALIBABA_CLOUD_ECS_METADATA` names it, then `…/<role>` with `X-aliyun-ecs-metadata-token`;
//! the answer must say `Code: Success`. Without a token the reads go out without it (IMDSv1),
//! unless `ALIBABA_CLOUD_IMDSV1_DISABLED=true`. 1 s timeouts, like the SDK's. The service's
//! address (`http://100.100.100.200`) can be replaced with `ALICERT_ECS_METADATA_URL` (tests).
use std::time::Duration;

use super::cache::Temporary;
use super::sts::TemporaryKey;
use super::Env;
use crate::error::{Error, Result};
use crate::https::{HttpError, Https, Limits};

pub const DEFAULT_BASE: &str = "http://100.100.100.200";
const TOKEN_TTL_SECS: &str = "21600";
const CREDENTIALS_PATH: &str = "/latest/meta-data/ram/security-credentials/";

fn limits() -> Limits {
    Limits {
        timeout: Duration::from_secs(1),
        max_body: 16 * 1024,
    }
}

pub fn base(env: &Env<'_>) -> String {
    env.get("ALICERT_ECS_METADATA_URL")
        .unwrap_or(DEFAULT_BASE)
        .trim_end_matches('/')
        .to_string()
}

fn failed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Config(format!("ECS instance metadata: {what}: {e}"))
}

/// `role`: the role name (`ALIBABA_CLOUD_ECS_METADATA`, a profile's `ram_role_name`), else
/// the one the service names.
pub async fn fetch(env: &Env<'_>, role: Option<&str>) -> Result<Temporary> {
    let base = base(env);
    let http = Https::new();
    let token = match http
        .send(
            http::Method::PUT,
            &format!("{base}/latest/api/token"),
            &[("X-aliyun-ecs-metadata-token-ttl-seconds", TOKEN_TTL_SECS)],
            bytes::Bytes::new(),
            limits(),
        )
        .await
    {
        Ok(r) if r.status.is_success() => Some(String::from_utf8_lossy(&r.body).trim().to_string()),
        // No metadata service at all (not on ECS): nothing more to ask.
        Err(e @ (HttpError::Timeout | HttpError::Connect(_))) => {
            return Err(failed("no metadata service", e))
        }
        _ if env.is_true("ALIBABA_CLOUD_IMDSV1_DISABLED") => {
            return Err(failed(
                "no IMDSv2 token",
                "and ALIBABA_CLOUD_IMDSV1_DISABLED=true",
            ))
        }
        _ => None,
    };
    let get = |path: String| {
        let http = http.clone();
        let token = token.clone();
        async move {
            let headers: Vec<(&str, &str)> = token
                .as_deref()
                .map(|t| vec![("X-aliyun-ecs-metadata-token", t)])
                .unwrap_or_default();
            let r = http
                .send(
                    http::Method::GET,
                    &path,
                    &headers,
                    bytes::Bytes::new(),
                    limits(),
                )
                .await
                .map_err(|e| failed("request failed", e))?;
            match r.status.is_success() {
                true => Ok(r.body),
                false => Err(failed("answered", format!("HTTP {}", r.status.as_u16()))),
            }
        }
    };
    let role = match role {
        Some(r) => r.to_string(),
        None => {
            let body = get(format!("{base}{CREDENTIALS_PATH}")).await?;
            String::from_utf8_lossy(&body).trim().to_string()
        }
    };
    if role.is_empty() || role.contains(['/', '?', '#']) {
        return Err(failed("role name", "none attached to this instance"));
    }
    let body = get(format!("{base}{CREDENTIALS_PATH}{role}")).await?;
    parse_success(&body, "ECS instance metadata")
}

/// `{Code: "Success", AccessKeyId, AccessKeySecret, SecurityToken, Expiration}` (the ECS
/// metadata and credentials URI answer).
pub fn parse_success(body: &[u8], source: &str) -> Result<Temporary> {
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(rename = "Code")]
        code: Option<String>,
        #[serde(flatten)]
        key: TemporaryKey,
    }
    let a: Answer = serde_json::from_slice(body).map_err(|_| {
        Error::Config(format!(
            "{source}: not a JSON AccessKeyId/AccessKeySecret/SecurityToken/Expiration answer"
        ))
    })?;
    if a.code.as_deref() != Some("Success") {
        return Err(Error::Config(format!("{source}: Code is not Success")));
    }
    a.key.into_temporary(source)
}
