//! The Alibaba Cloud CLI's profile file, `~/.aliyun/config.json` (`$HOME/.aliyun/config.json`),
//! as alibabacloud-credentials 1.0.12 provider/cli_profile.py reads it: the profile named by
//! `ALIBABA_CLOUD_PROFILE`, else the file's `current`; skipped when
//! `ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true`. Modes and their keys: `AK` (access_key_id,
//! access_key_secret), `StsToken` (+ sts_token), `RamRoleArn` (the AK + ram_role_arn,
//! ram_session_name, expired_seconds, external_id), `EcsRamRole` (ram_role_name), `OIDC`
//! (ram_role_arn, oidc_provider_arn, oidc_token_file, role_session_name, expired_seconds).
use serde::Deserialize;

use super::sts::{RoleRequest, DEFAULT_DURATION_SECS};
use super::{Credentials, Env};
use crate::error::{Error, Result};
use crate::secret::Secret;

#[derive(Deserialize, Default)]
#[serde(default)]
struct File {
    current: String,
    profiles: Vec<Profile>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Profile {
    name: String,
    mode: String,
    access_key_id: String,
    access_key_secret: String,
    sts_token: String,
    ram_role_arn: String,
    ram_session_name: String,
    role_session_name: String,
    expired_seconds: Option<u64>,
    external_id: String,
    ram_role_name: String,
    oidc_provider_arn: String,
    oidc_token_file: String,
}

/// What a profile says to do.
#[derive(Debug)]
pub enum ProfileSource {
    Static(Credentials),
    RoleArn(Credentials, RoleRequest),
    EcsRamRole(Option<String>),
    Oidc {
        role: RoleRequest,
        provider_arn: String,
        token_file: String,
    },
}

pub fn path(env: &Env<'_>) -> Option<String> {
    env.get("HOME")
        .map(|h| format!("{}/.aliyun/config.json", h.trim_end_matches('/')))
}

/// The selected profile of the file at `path`; `Ok(None)` when the file does not exist.
pub fn load(path: &str, env: &Env) -> Result<Option<(String, ProfileSource)>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::Config(format!("{path}: cannot read ({e})"))),
    };
    let file: File = serde_json::from_str(&text)
        .map_err(|e| Error::Config(format!("{path}: not a CLI config file ({e})")))?;
    let name = env
        .get("ALIBABA_CLOUD_PROFILE")
        .map(str::to_string)
        .unwrap_or(file.current.clone());
    let p = file
        .profiles
        .into_iter()
        .find(|p| !name.is_empty() && p.name == name)
        .ok_or_else(|| {
            Error::Config(format!(
                "{path}: no profile `{name}` (set ALIBABA_CLOUD_PROFILE or the file's `current`)"
            ))
        })?;
    let what = format!("{path} profile `{name}`");
    Ok(Some((name, source(p, &what)?)))
}

fn source(p: Profile, what: &str) -> Result<ProfileSource> {
    let need = |v: &str, key: &str| match v.is_empty() {
        true => Err(Error::Config(format!(
            "{what}: mode {} needs `{key}`",
            p.mode
        ))),
        false => Ok(v.to_string()),
    };
    let ak = || -> Result<Credentials> {
        Ok(Credentials {
            access_key_id: need(&p.access_key_id, "access_key_id")?,
            access_key_secret: Secret::new(need(&p.access_key_secret, "access_key_secret")?),
            security_token: None,
        })
    };
    let role = |session: &str| -> Result<RoleRequest> {
        let mut r = RoleRequest::new(&need(&p.ram_role_arn, "ram_role_arn")?, Some(session), what)?;
        r.duration_secs = p.expired_seconds.unwrap_or(DEFAULT_DURATION_SECS);
        if r.duration_secs < 900 {
            return Err(Error::Config(format!(
                "{what}: expired_seconds must be at least 900"
            )));
        }
        r.external_id = Some(p.external_id.clone()).filter(|e| !e.is_empty());
        Ok(r)
    };
    Ok(match p.mode.as_str() {
        "AK" => ProfileSource::Static(ak()?),
        "StsToken" => {
            let mut c = ak()?;
            c.security_token = Some(Secret::new(need(&p.sts_token, "sts_token")?));
            ProfileSource::Static(c)
        }
        "RamRoleArn" => ProfileSource::RoleArn(ak()?, role(&p.ram_session_name)?),
        "EcsRamRole" => {
            ProfileSource::EcsRamRole(Some(p.ram_role_name.clone()).filter(|r| !r.is_empty()))
        }
        "OIDC" => ProfileSource::Oidc {
            role: role(&p.role_session_name)?,
            provider_arn: need(&p.oidc_provider_arn, "oidc_provider_arn")?,
            token_file: need(&p.oidc_token_file, "oidc_token_file")?,
        },
        other => {
            return Err(Error::Config(format!(
            "{what}: mode `{other}` is not supported (AK, StsToken, RamRoleArn, EcsRamRole, OIDC)"
        )))
        }
    })
}
