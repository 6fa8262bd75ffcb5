//! The SDKs' own credentials file, as alibabacloud-credentials 1.0.12 provider/profile.py reads
//! it: `ALIBABA_CLOUD_CREDENTIALS_FILE`, else `$HOME/.alibabacloud/credentials.ini`; the section
//! `ALIBABA_CLOUD_PROFILE` names, else `default`; a value ends at `#`. `type` and its keys:
//! `access_key` (access_key_id, access_key_secret), `ram_role_arn` (+ role_arn,
//! role_session_name), `oidc_role_arn` (role_arn, oidc_provider_arn, oidc_token_file_path,
//! role_session_name), `ecs_ram_role` (role_name).
use std::collections::BTreeMap;

use super::cli_profile::ProfileSource;
use super::sts::RoleRequest;
use super::{Credentials, Env};
use crate::error::{Error, Result};
use crate::secret::Secret;

pub fn path(env: &Env) -> Option<String> {
    env.get("ALIBABA_CLOUD_CREDENTIALS_FILE")
        .map(str::to_string)
        .or_else(|| {
            env.get("HOME")
                .map(|h| format!("{}/.alibabacloud/credentials.ini", h.trim_end_matches('/')))
        })
}

/// `[section]` → key → value.
fn parse(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut section = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(name.trim().to_string());
            continue;
        }
        if let (Some(s), Some((k, v))) = (&section, line.split_once(['=', ':'])) {
            let v = v.split('#').next().unwrap_or("").trim();
            out.entry(s.clone())
                .or_default()
                .insert(k.trim().to_ascii_lowercase(), v.to_string());
        }
    }
    out
}

/// The selected section of the file at `path`; `Ok(None)` when the file does not exist.
pub fn load(path: &str, env: &Env) -> Result<Option<ProfileSource>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::Config(format!("{path}: cannot read ({e})"))),
    };
    let name = env.get("ALIBABA_CLOUD_PROFILE").unwrap_or("default");
    let sections = parse(&text);
    let s = sections
        .get(name)
        .ok_or_else(|| Error::Config(format!("{path}: no section [{name}]")))?;
    let what = format!("{path} [{name}]");
    let need = |key: &str| {
        s.get(key)
            .filter(|v| !v.is_empty())
            .cloned()
            .ok_or_else(|| Error::Config(format!("{what}: needs `{key}`")))
    };
    let ak = || -> Result<Credentials> {
        Ok(Credentials {
            access_key_id: need("access_key_id")?,
            access_key_secret: Secret::new(need("access_key_secret")?),
            security_token: None,
        })
    };
    let role = || {
        RoleRequest::new(
            &need("role_arn")?,
            s.get("role_session_name").map(String::as_str),
            &what,
        )
    };
    Ok(Some(match s.get("type").map(String::as_str) {
        Some("access_key") => ProfileSource::Static(ak()?),
        Some("ram_role_arn") => ProfileSource::RoleArn(ak()?, role()?),
        Some("oidc_role_arn") => ProfileSource::Oidc {
            role: role()?,
            provider_arn: need("oidc_provider_arn")?,
            token_file: need("oidc_token_file_path")?,
        },
        Some("ecs_ram_role") => {
            ProfileSource::EcsRamRole(s.get("role_name").filter(|r| !r.is_empty()).cloned())
        }
        other => {
            return Err(Error::Config(format!(
                "{what}: type `{}` is not supported (access_key, ram_role_arn, oidc_role_arn, ecs_ram_role)",
                other.unwrap_or("")
            )))
        }
    }))
}
