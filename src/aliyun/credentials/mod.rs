//! The credential chain, in the official SDKs' order (alibabacloud-credentials 1.0.12
//! provider/default.py: environment → OIDC → CLI profile → credentials file → ECS instance role →
//! credentials URI),
//! with alicert's own links in front: FC's per-invocation headers, then the environment's key,
//! then `[aliyun] access_key_*`; any of those three is the source `ALIBABA_CLOUD_ROLE_ARN`
//! (without `ALIBABA_CLOUD_OIDC_PROVIDER_ARN`) assumes a role with. One file per source;
//! temporary credentials are cached and refreshed before they expire (cache.rs).
use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::secret::Secret;

pub mod cache;
mod cli_profile;
mod ecs;
mod profile_ini;
pub mod sts;
mod uri;

pub use cache::Temporary;
#[derive(Debug, Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub access_key_secret: Secret,
    pub security_token: Option<Secret>,
}

impl Credentials {
    /// From FC's `x-fc-access-key-id` / `-secret` / `x-fc-security-token` headers (already
    /// lower-cased names). Empty strings mean "none" (FC sends them when no role is set).
    pub fn from_fc_headers(headers: &BTreeMap<String, String>) -> Option<Credentials> {
        Credentials::from_map(
            headers,
            [
                "x-fc-access-key-id",
                "x-fc-access-key-secret",
                "x-fc-security-token",
            ],
        )
    }

    pub fn from_env(env: &BTreeMap<String, String>) -> Option<Credentials> {
        Credentials::from_map(
            env,
            [
                "ALIBABA_CLOUD_ACCESS_KEY_ID",
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
                "ALIBABA_CLOUD_SECURITY_TOKEN",
            ],
        )
    }

    /// The id, secret and (optional) token under `[id, secret, token]` in `map`; an empty
    /// value is no value.
    fn from_map(map: &BTreeMap<String, String>, [id, secret, token]: [&str; 3]) -> Option<Self> {
        let get = |k: &str| map.get(k).filter(|v| !v.is_empty()).cloned();
        Some(Credentials {
            access_key_id: get(id)?,
            access_key_secret: Secret::new(get(secret)?),
            security_token: get(token).map(Secret::new),
        })
    }
}

/// The environment as the chain reads it: an empty value is no value.
pub struct Env<'a>(pub &'a BTreeMap<String, String>);

impl Env<'_> {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(|v| v.as_str()).filter(|v| !v.is_empty())
    }
    /// `true` (any case), the SDKs' spelling of an enabled switch.
    pub fn is_true(&self, k: &str) -> bool {
        self.get(k).is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

/// Resolve the chain now: the first source that gives a key wins; when none does, the error
/// names every source tried and why it gave nothing (never a value).
pub async fn resolve(
    fc: Option<Credentials>,
    env: &BTreeMap<String, String>,
    config: &super::AliyunConfig,
) -> Result<Credentials> {
    let env = Env(env);
    if let Some((base, name)) = base_key(fc, &env, config) {
        return match role_arn(&env) {
            Some(arn) => assume_with(&base, &arn, name, &env, config).await,
            None => Ok(base),
        };
    }
    let mut tried = vec![
        "FC request headers (x-fc-access-key-*): none".to_string(),
        "ALIBABA_CLOUD_ACCESS_KEY_ID/ALIBABA_CLOUD_ACCESS_KEY_SECRET: not set".to_string(),
        "[aliyun] access_key_id/access_key_secret: not set".to_string(),
    ];
    match oidc(&env, config).await {
        Ok(Some(c)) => return Ok(c),
        Ok(None) => tried.push(
            "OIDC (ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN, \
             ALIBABA_CLOUD_OIDC_TOKEN_FILE): not all set"
                .into(),
        ),
        Err(e) => tried.push(format!("OIDC: {e}")),
    }
    match cli_profile(&env, config).await {
        Ok(Some(c)) => return Ok(c),
        Ok(None) => tried.push("CLI profile ~/.aliyun/config.json: none (or disabled)".into()),
        Err(e) => tried.push(format!("CLI profile: {e}")),
    }
    match credentials_file(&env, config).await {
        Ok(Some(c)) => return Ok(c),
        Ok(None) => tried.push("credentials file ~/.alibabacloud/credentials.ini: none".into()),
        Err(e) => tried.push(format!("credentials file: {e}")),
    }
    if env.is_true("ALIBABA_CLOUD_ECS_METADATA_DISABLED") {
        tried.push("ECS instance role: ALIBABA_CLOUD_ECS_METADATA_DISABLED=true".into());
    } else {
        match ecs_role(&env, env.get("ALIBABA_CLOUD_ECS_METADATA")).await {
            Ok(c) => return Ok(c),
            Err(e) => tried.push(format!("ECS instance role: {e}")),
        }
    }
    match env.get("ALIBABA_CLOUD_CREDENTIALS_URI") {
        Some(u) => match cache::get_or_fetch(&format!("uri|{u}"), || uri::fetch(u)).await {
            Ok(c) => return Ok(c),
            Err(e) => tried.push(format!("credentials URI: {e}")),
        },
        None => tried.push("ALIBABA_CLOUD_CREDENTIALS_URI: not set".into()),
    }
    Err(Error::Config(format!(
        "no Alibaba Cloud credentials: give the FC function a role, or set \
         ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (see README \
         \"Credentials\" for every source). Tried, in order: {}",
        tried.join("; ")
    )))
}

/// The first static key: FC's headers, the environment's, `[aliyun]`'s; with its name.
fn base_key(
    fc: Option<Credentials>,
    env: &Env<'_>,
    config: &super::AliyunConfig,
) -> Option<(Credentials, &'static str)> {
    if let Some(c) = fc {
        return Some((c, "the FC function's role"));
    }
    if let Some(c) = Credentials::from_env(env.0) {
        return Some((c, "ALIBABA_CLOUD_ACCESS_KEY_ID"));
    }
    match (&config.access_key_id, &config.access_key_secret) {
        (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => Some((
            Credentials {
                access_key_id: id.clone(),
                access_key_secret: secret.clone(),
                security_token: None,
            },
            "[aliyun] access_key_id",
        )),
        _ => None,
    }
}

/// `ALIBABA_CLOUD_ROLE_ARN` meant for AssumeRole: set, and not the OIDC role (that one comes
/// with `ALIBABA_CLOUD_OIDC_PROVIDER_ARN`).
fn role_arn(env: &Env<'_>) -> Option<String> {
    match env.get("ALIBABA_CLOUD_OIDC_PROVIDER_ARN") {
        Some(_) => None,
        None => env.get("ALIBABA_CLOUD_ROLE_ARN").map(str::to_string),
    }
}

/// AssumeRole with `base`; a failure is the answer (never the base key without the role).
async fn assume_with(
    base: &Credentials,
    arn: &str,
    base_name: &str,
    env: &Env<'_>,
    config: &super::AliyunConfig,
) -> Result<Credentials> {
    let role = sts::RoleRequest::new(
        arn,
        env.get("ALIBABA_CLOUD_ROLE_SESSION_NAME"),
        "ALIBABA_CLOUD_ROLE_SESSION_NAME",
    )?;
    assume_cached(base, role, env, config).await.map_err(|e| {
        Error::Config(format!(
            "ALIBABA_CLOUD_ROLE_ARN {arn}: AssumeRole with {base_name}'s key failed: {e}"
        ))
    })
}

async fn assume_cached(
    base: &Credentials,
    role: sts::RoleRequest,
    env: &Env<'_>,
    config: &super::AliyunConfig,
) -> Result<Credentials> {
    let key = format!(
        "role|{}|{}|{}",
        role.role_arn, role.session_name, base.access_key_id
    );
    cache::get_or_fetch(&key, || sts::assume_role(base, &role, env, config)).await
}

async fn oidc(env: &Env<'_>, config: &super::AliyunConfig) -> Result<Option<Credentials>> {
    let (Some(arn), Some(provider), Some(file)) = (
        env.get("ALIBABA_CLOUD_ROLE_ARN"),
        env.get("ALIBABA_CLOUD_OIDC_PROVIDER_ARN"),
        env.get("ALIBABA_CLOUD_OIDC_TOKEN_FILE"),
    ) else {
        return Ok(None);
    };
    let role = sts::RoleRequest::new(
        arn,
        env.get("ALIBABA_CLOUD_ROLE_SESSION_NAME"),
        "ALIBABA_CLOUD_ROLE_SESSION_NAME",
    )?;
    oidc_cached(role, provider, file, env, config)
        .await
        .map(Some)
}

async fn oidc_cached(
    role: sts::RoleRequest,
    provider: &str,
    file: &str,
    env: &Env<'_>,
    config: &super::AliyunConfig,
) -> Result<Credentials> {
    let key = format!(
        "oidc|{}|{}|{provider}|{file}",
        role.role_arn, role.session_name
    );
    cache::get_or_fetch(&key, || {
        sts::assume_role_with_oidc(&role, provider, file, env, config)
    })
    .await
}

async fn ecs_role(env: &Env<'_>, role: Option<&str>) -> Result<Credentials> {
    let key = format!("ecs|{}|{}", ecs::base(env), role.unwrap_or(""));
    cache::get_or_fetch(&key, || ecs::fetch(env, role)).await
}

async fn cli_profile(env: &Env<'_>, config: &super::AliyunConfig) -> Result<Option<Credentials>> {
    if env.is_true("ALIBABA_CLOUD_CLI_PROFILE_DISABLED") {
        return Ok(None);
    }
    let Some(path) = cli_profile::path(env) else {
        return Ok(None);
    };
    let Some((_, source)) = cli_profile::load(&path, env)? else {
        return Ok(None);
    };
    from_profile(source, env, config).await.map(Some)
}

async fn credentials_file(
    env: &Env<'_>,
    config: &super::AliyunConfig,
) -> Result<Option<Credentials>> {
    let Some(path) = profile_ini::path(env) else {
        return Ok(None);
    };
    match profile_ini::load(&path, env)? {
        Some(source) => from_profile(source, env, config).await.map(Some),
        None => Ok(None),
    }
}

/// What a profile (CLI or credentials file) resolves to.
async fn from_profile(
    source: cli_profile::ProfileSource,
    env: &Env<'_>,
    config: &super::AliyunConfig,
) -> Result<Credentials> {
    use cli_profile::ProfileSource as P;
    Ok(match source {
        P::Static(c) => c,
        P::RoleArn(base, role) => assume_cached(&base, role, env, config).await?,
        P::EcsRamRole(role) => ecs_role(env, role.as_deref()).await?,
        P::Oidc {
            role,
            provider_arn,
            token_file,
        } => oidc_cached(role, &provider_arn, &token_file, env, config).await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::aliyun::owned_pairs as map;

    /// No metadata service (a closed port answers at once) and no HOME: only what `env` says.
    fn quiet(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut env: BTreeMap<String, String> =
            map(&[("ALICERT_ECS_METADATA_URL", "http://127.0.0.1:1")]);
        env.extend(map::<BTreeMap<String, String>>(extra));
        env
    }

    #[tokio::test]
    async fn fc_headers_win_and_empty_means_none() {
        let env = quiet(&[
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "envid"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "envsecret"),
        ]);
        let fc = Credentials::from_fc_headers(&map(&[
            ("x-fc-access-key-id", "STS.fc"),
            ("x-fc-access-key-secret", "fcsecret"),
            ("x-fc-security-token", "tok"),
        ]));
        let c = resolve(fc, &env, &Default::default()).await.unwrap();
        assert_eq!(c.access_key_id, "STS.fc");
        assert_eq!(c.security_token.unwrap().expose(), "tok");

        let empty = Credentials::from_fc_headers(&map(&[
            ("x-fc-access-key-id", ""),
            ("x-fc-access-key-secret", ""),
            ("x-fc-security-token", ""),
        ]));
        assert!(empty.is_none());
        let c = resolve(empty, &env, &Default::default()).await.unwrap();
        assert_eq!(c.access_key_id, "envid");
        assert!(c.security_token.is_none());
    }

    #[tokio::test]
    async fn missing_everywhere_names_every_source_and_no_value() {
        let env = quiet(&[("ALIBABA_CLOUD_ROLE_SESSION_NAME", "not-a-secret")]);
        let e = resolve(None, &env, &Default::default())
            .await
            .unwrap_err()
            .to_string();
        for source in [
            "FC request headers",
            "ALIBABA_CLOUD_ACCESS_KEY_ID",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            "[aliyun] access_key_id",
            "OIDC",
            "CLI profile",
            "credentials file",
            "ECS instance role",
            "ALIBABA_CLOUD_CREDENTIALS_URI",
        ] {
            assert!(e.contains(source), "{source} missing from: {e}");
        }
    }
}
