//! STS for the chain: AssumeRole (signed by the source key) and AssumeRoleWithOIDC (an anonymous
//! call), as alibabacloud-credentials 1.0.12 provider/ram_role_arn.py and oidc.py send them:
//! Version 2015-04-01, `DurationSeconds` (default 3600, at least 900), `RoleArn`,
//! `RoleSessionName`, optional `ExternalId`; OIDC adds `OIDCProviderArn`, `OIDCToken` and no
//! key or signature. Endpoint: `[aliyun.endpoints] sts` if set, else the SDK's rule
//! (`sts.aliyuncs.com`; `sts.<ALIBABA_CLOUD_STS_REGION>.aliyuncs.com`, `sts-vpc.` when
//! `ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED=true`). Answer fields from alibabacloud-sts20150401 1.2.0
//! models/_assume_role_response_body.py: `Credentials{AccessKeyId, AccessKeySecret,
//! SecurityToken, Expiration}`.
use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::cache::Temporary;
use super::{Credentials, Env};
use crate::aliyun::{AliyunClient, AliyunConfig, Product};
use crate::error::{Error, Result};
use crate::https::{Https, Limits};
use crate::secret::Secret;

/// `DurationSeconds` the SDKs ask for by default (RamRoleArn/OIDC `DEFAULT_DURATION_SECONDS`).
pub const DEFAULT_DURATION_SECS: u64 = 3600;

/// A role to assume and the session's settings.
#[derive(Debug, Clone)]
pub struct RoleRequest {
    pub role_arn: String,
    pub session_name: String,
    pub duration_secs: u64,
    pub external_id: Option<String>,
}

impl RoleRequest {
    /// `role_arn` with the session name from `name` (else `alicert-<unix time>`, as the SDK
    /// names its own `credentials-python-<time>`), checked as STS checks it.
    pub fn new(role_arn: &str, name: Option<&str>, what: &str) -> Result<RoleRequest> {
        let session_name = match name.filter(|n| !n.is_empty()) {
            Some(n) => n.to_string(),
            None => format!(
                "alicert-{}",
                time::OffsetDateTime::now_utc().unix_timestamp()
            ),
        };
        check_session_name(&session_name).map_err(|e| Error::Config(format!("{what}: {e}")))?;
        Ok(RoleRequest {
            role_arn: role_arn.to_string(),
            session_name,
            duration_secs: DEFAULT_DURATION_SECS,
            external_id: None,
        })
    }
}

/// RoleSessionName: "2 to 64 characters ... letters, digits, `. @ - _`" (AssumeRoleRequest).
fn check_session_name(name: &str) -> std::result::Result<(), String> {
    let ok = (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b));
    match ok {
        true => Ok(()),
        false => Err(format!(
            "role session name `{name}` must be 2 to 64 characters of letters, digits, . @ - _"
        )),
    }
}

#[derive(Deserialize)]
struct StsAnswer {
    #[serde(rename = "Credentials")]
    credentials: TemporaryKey,
}

/// The key fields every temporary source answers with (STS, ECS metadata, credentials URI).
#[derive(Deserialize)]
pub struct TemporaryKey {
    #[serde(rename = "AccessKeyId")]
    access_key_id: String,
    #[serde(rename = "AccessKeySecret")]
    access_key_secret: String,
    #[serde(rename = "SecurityToken")]
    security_token: String,
    /// `2006-01-02T15:04:05Z`.
    #[serde(rename = "Expiration")]
    expiration: String,
}

impl TemporaryKey {
    pub fn into_temporary(self, source: &str) -> Result<Temporary> {
        let fmt =
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
        let expiration = time::PrimitiveDateTime::parse(&self.expiration, &fmt)
            .map_err(|_| {
                Error::Config(format!(
                    "{source}: Expiration `{}` is not YYYY-MM-DDThh:mm:ssZ",
                    self.expiration
                ))
            })?
            .assume_utc()
            .unix_timestamp();
        if self.access_key_id.is_empty() || self.access_key_secret.is_empty() {
            return Err(Error::Config(format!("{source}: answered an empty key")));
        }
        Ok(Temporary {
            credentials: Credentials {
                access_key_id: self.access_key_id,
                access_key_secret: Secret::new(self.access_key_secret),
                security_token: Some(Secret::new(self.security_token)),
            },
            expiration,
        })
    }
}

/// The STS base URL: the configured override, else the SDK's rule.
pub fn endpoint(env: &Env, config: &AliyunConfig) -> String {
    let region = env.get("ALIBABA_CLOUD_STS_REGION");
    if let Some(url) = config.endpoints.get(Product::Sts.code()) {
        return url
            .replace("{region}", region.unwrap_or(&config.region))
            .trim_end_matches('/')
            .to_string();
    }
    let prefix = match env.is_true("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED") {
        true => "sts-vpc",
        false => "sts",
    };
    match region {
        Some(r) => format!("https://{prefix}.{r}.aliyuncs.com"),
        None => "https://sts.aliyuncs.com".into(),
    }
}

/// AssumeRole signed with `source`.
pub async fn assume_role(
    source: &Credentials,
    role: &RoleRequest,
    env: &Env<'_>,
    config: &AliyunConfig,
) -> Result<Temporary> {
    let overrides = BTreeMap::from([(Product::Sts.code().to_string(), endpoint(env, config))]);
    let client = AliyunClient::new(source.clone(), &config.region, &overrides)?
        .with_retry((&config.retry).into());
    assume_role_with(&client, role).await
}

/// AssumeRole signed by `client`'s credentials, at its STS endpoint (`role_arn`, role.rs).
pub async fn assume_role_with(client: &AliyunClient, role: &RoleRequest) -> Result<Temporary> {
    let duration = role.duration_secs.to_string();
    let mut params = vec![
        ("RoleArn", role.role_arn.as_str()),
        ("RoleSessionName", role.session_name.as_str()),
        ("DurationSeconds", duration.as_str()),
    ];
    if let Some(id) = &role.external_id {
        params.push(("ExternalId", id));
    }
    let answer = client.rpc(Product::Sts, "AssumeRole", &params).await?;
    let parsed: StsAnswer = serde_json::from_value(answer).map_err(|e| {
        Error::Config(format!(
            "AssumeRole {}: unexpected answer ({e})",
            role.role_arn
        ))
    })?;
    parsed.credentials.into_temporary("AssumeRole")
}

/// AssumeRoleWithOIDC: anonymous (client.py `auth_type = 'Anonymous'`), a GET with the
/// parameters in the query like the credentials SDK's oidc.py. The token is read anew each time
/// (ACK rotates the projected token file).
pub async fn assume_role_with_oidc(
    role: &RoleRequest,
    provider_arn: &str,
    token_file: &str,
    env: &Env<'_>,
    config: &AliyunConfig,
) -> Result<Temporary> {
    let token = std::fs::read_to_string(token_file).map_err(|e| {
        Error::Config(format!(
            "ALIBABA_CLOUD_OIDC_TOKEN_FILE {token_file}: cannot read ({e})"
        ))
    })?;
    let duration = role.duration_secs.to_string();
    let now = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    let timestamp = now.format(&fmt).unwrap_or_default();
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("Action", "AssumeRoleWithOIDC"),
            ("Format", "JSON"),
            ("Version", Product::Sts.version()),
            ("DurationSeconds", duration.as_str()),
            ("RoleArn", role.role_arn.as_str()),
            ("OIDCProviderArn", provider_arn),
            ("OIDCToken", token.trim()),
            ("RoleSessionName", role.session_name.as_str()),
            ("Timestamp", timestamp.as_str()),
        ])
        .finish();
    let url = format!("{}/?{query}", endpoint(env, config));
    let limits = Limits {
        timeout: Duration::from_secs(10),
        max_body: 64 * 1024,
    };
    let rsp = Https::new()
        .send(http::Method::GET, &url, &[], bytes::Bytes::new(), limits)
        .await
        .map_err(|e| Error::Transport {
            action: "AssumeRoleWithOIDC".into(),
            message: e.to_string(),
        })?;
    let body: serde_json::Value = serde_json::from_slice(&rsp.body).unwrap_or_default();
    if !rsp.status.is_success() {
        let field = |k: &str| {
            body.get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        return Err(Error::Aliyun {
            action: "AssumeRoleWithOIDC".into(),
            code: field("Code"),
            message: field("Message"),
            request_id: field("RequestId"),
            http_status: rsp.status.as_u16(),
        });
    }
    let parsed: StsAnswer = serde_json::from_value(body).map_err(|e| {
        Error::Config(format!(
            "AssumeRoleWithOIDC {}: unexpected answer ({e})",
            role.role_arn
        ))
    })?;
    parsed.credentials.into_temporary("AssumeRoleWithOIDC")
}

/// The actions this file calls. For `ALIBABA_CLOUD_ROLE_ARN` with the credentials *before*
/// the role (the chain's source identity: `alicert policy` does not list that); for a
/// `role_arn` (aliyun/role.rs) with the function's own, and `alicert policy` grants it there.
pub const RAM: &[&str] = &["sts:AssumeRole"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_follow_sts_rules() {
        assert!(RoleRequest::new("acs:ram::1:role/r", None, "x").is_ok());
        assert!(RoleRequest::new("acs:ram::1:role/r", Some("ok.name@x-1_"), "x").is_ok());
        for bad in ["a", "has space", &"x".repeat(65)] {
            let e = RoleRequest::new(
                "acs:ram::1:role/r",
                Some(bad),
                "ALIBABA_CLOUD_ROLE_SESSION_NAME",
            )
            .unwrap_err()
            .to_string();
            assert!(e.contains("ALIBABA_CLOUD_ROLE_SESSION_NAME"), "{e}");
        }
    }
}
