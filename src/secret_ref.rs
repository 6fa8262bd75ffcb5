//! A reference to a secret kept outside the config file: `kms:<secret name>[?region=<r>]` (KMS
//! secrets manager, GetSecretValue, in region r or `[aliyun] region`) or `env:<VAR>`. Used for the PKCS#12 password and the DingTalk
//! signing secret; the value only ever lives in a [`Secret`].
use crate::aliyun::{AliyunClient, Product};
use crate::error::{Error, Result};
use crate::ident::RegionId;
use crate::secret::Secret;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// The secret's name, with `?region=<r>` when it lives outside `[aliyun] region`.
    Kms(String),
    Env(String),
}

/// `name?region=r` → (name, Some(r)); `?` cannot occur in a KMS secret name.
fn kms_name_region(s: &str) -> std::result::Result<(&str, Option<RegionId>), String> {
    match s.split_once('?') {
        None => Ok((s, None)),
        Some((name, q)) => {
            let r = q.strip_prefix("region=").ok_or_else(|| {
                format!("`kms:{s}`: the only option after `?` is region=<region id>")
            })?;
            let r = RegionId::parse(r).map_err(|e| format!("`kms:{s}`: {e}"))?;
            Ok((name, Some(r)))
        }
    }
}

impl SecretRef {
    pub fn parse(s: &str) -> std::result::Result<SecretRef, String> {
        let r = if let Some(name) = s.strip_prefix("kms:") {
            SecretRef::Kms(name.to_string())
        } else if let Some(var) = s.strip_prefix("env:") {
            SecretRef::Env(var.to_string())
        } else {
            return Err(
                "must be kms:<secret name> or env:<VARIABLE> (never the secret itself)".into(),
            );
        };
        if let SecretRef::Kms(n) = &r {
            if kms_name_region(n)?.0.is_empty() {
                return Err(format!("`{s}`: the name after the prefix is empty"));
            }
        }
        match &r {
            SecretRef::Env(n) if n.is_empty() => {
                Err(format!("`{s}`: the name after the prefix is empty"))
            }
            _ => Ok(r),
        }
    }

    /// The value; `what` names the config key in errors.
    pub async fn resolve(&self, client: &AliyunClient, what: &str) -> Result<Secret> {
        match self {
            SecretRef::Env(var) => std::env::var(var)
                .ok()
                .filter(|v| !v.is_empty())
                .map(Secret::new)
                .ok_or_else(|| {
                    Error::Config(format!(
                        "{what} = \"env:{var}\": environment variable {var} is not set"
                    ))
                }),
            SecretRef::Kms(reference) => {
                let (name, region) = kms_name_region(reference).map_err(Error::Config)?;
                let client = match &region {
                    Some(r) => client.for_region(r),
                    None => client.clone(),
                };
                let rsp = client
                    .rpc(Product::Kms, "GetSecretValue", &[("SecretName", name)])
                    .await?;
                rsp["SecretData"]
                    .as_str()
                    .filter(|v| !v.is_empty())
                    .map(Secret::new)
                    .ok_or_else(|| {
                        Error::Config(format!("{what} = \"kms:{name}\": the secret is empty"))
                    })
            }
        }
    }
}

impl std::fmt::Display for SecretRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretRef::Kms(n) => write!(f, "kms:{n}"),
            SecretRef::Env(v) => write!(f, "env:{v}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references_only() {
        assert_eq!(
            SecretRef::parse("kms:alicert/p12").unwrap(),
            SecretRef::Kms("alicert/p12".into())
        );
        assert_eq!(
            SecretRef::parse("env:P12_PASSWORD").unwrap(),
            SecretRef::Env("P12_PASSWORD".into())
        );
        assert!(SecretRef::parse("hunter2").unwrap_err().contains("kms:"));
        assert!(SecretRef::parse("env:").is_err());
        assert!(SecretRef::parse("kms:a?region=cn-shanghai").is_ok());
        assert!(SecretRef::parse("kms:?region=cn-shanghai").is_err());
        assert!(SecretRef::parse("kms:a?region=evil.com/x").is_err());
        assert!(SecretRef::parse("kms:a?zone=1").is_err());
    }
}
