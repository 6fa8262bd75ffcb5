//! One credential chain: FC per-invocation headers → environment → config file.
use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::secret::Secret;

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

    /// The chain: `fc` (invocation headers) wins, then the environment, then the config file.
    pub fn resolve(
        fc: Option<Credentials>,
        env: &BTreeMap<String, String>,
        config: &super::AliyunConfig,
    ) -> Result<Credentials> {
        if let Some(c) = fc {
            return Ok(c);
        }
        if let Some(c) = Credentials::from_env(env) {
            return Ok(c);
        }
        if let (Some(id), Some(secret)) = (&config.access_key_id, &config.access_key_secret) {
            if !id.is_empty() && !secret.is_empty() {
                return Ok(Credentials {
                    access_key_id: id.clone(),
                    access_key_secret: secret.clone(),
                    security_token: None,
                });
            }
        }
        Err(Error::Config(
            "no Alibaba Cloud credentials: give the FC function a role (x-fc-access-key-* headers), \
             or set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET \
             (plus ALIBABA_CLOUD_SECURITY_TOKEN for STS)"
                .into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::aliyun::owned_pairs as map;

    #[test]
    fn fc_headers_win_and_empty_means_none() {
        let env = map(&[
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "envid"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "envsecret"),
        ]);
        let fc = Credentials::from_fc_headers(&map(&[
            ("x-fc-access-key-id", "STS.fc"),
            ("x-fc-access-key-secret", "fcsecret"),
            ("x-fc-security-token", "tok"),
        ]));
        let c = Credentials::resolve(fc, &env, &Default::default()).unwrap();
        assert_eq!(c.access_key_id, "STS.fc");
        assert_eq!(c.security_token.unwrap().expose(), "tok");

        let empty = Credentials::from_fc_headers(&map(&[
            ("x-fc-access-key-id", ""),
            ("x-fc-access-key-secret", ""),
            ("x-fc-security-token", ""),
        ]));
        assert!(empty.is_none());
        let c = Credentials::resolve(empty, &env, &Default::default()).unwrap();
        assert_eq!(c.access_key_id, "envid");
        assert!(c.security_token.is_none());
    }

    #[test]
    fn missing_everywhere_names_both_variables() {
        let e = Credentials::resolve(None, &BTreeMap::new(), &Default::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("ALIBABA_CLOUD_ACCESS_KEY_ID")
                && e.contains("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
        );
    }
}
