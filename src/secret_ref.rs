//! Where a secret lives, outside the config file: one [`SecretLocation`] type for every such
//! field (SPEC: `[acme] account_key` = `kms:<secret name> | oss://<bucket>/<key> | file:<path> |
//! env:<VAR>`, the EAB HMAC key likewise; `p12_password` and the `[notify]` secrets, which
//! only take `kms:` or `env:`, as a [`SecretRef`]). One parser, one loader; the value only ever
//! lives in a [`Secret`]. Writing (the account key's create-once and rollover) stays with its
//! only user, `acme::key_store`.
use std::fmt;

use serde::{Deserialize, Deserializer};

use crate::aliyun::{AliyunClient, Product};
use crate::error::{Error, Result};
use crate::ident::{OssLocation, RegionId};
use crate::secret::Secret;

/// `kms:<name>[?region=<r>]`, `oss://<bucket>/<key>[?region=<r>]`, `file:<path>`, `env:<VAR>`.
/// The region (default `[aliyun] region`) is where the KMS secret or the bucket lives: the
/// request goes to that region's endpoint (and, for OSS, into the V4 scope). `?` cannot occur
/// in a KMS secret name (KMS allows letters, digits and `_/+=.@-`), so the suffix is unambiguous.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretLocation {
    Kms {
        secret_name: String,
        region: Option<RegionId>,
    },
    Oss(OssLocation),
    File {
        path: String,
    },
    Env {
        var: String,
    },
}

/// The prefixes that make a value a location rather than the secret itself.
pub const PREFIXES: [&str; 4] = ["kms:", "oss://", "file:", "env:"];

impl SecretLocation {
    /// Any of the four forms; the error quotes the value (a location, never a secret).
    pub fn parse(s: &str) -> std::result::Result<SecretLocation, String> {
        let nonempty = |v: &str, what: &str| {
            if v.is_empty() {
                Err(format!("`{s}`: {what} is empty"))
            } else {
                Ok(v.to_string())
            }
        };
        if let Some(rest) = s.strip_prefix("kms:") {
            let (name, region) = match rest.split_once('?') {
                None => (rest, None),
                Some((name, q)) => {
                    let r = q.strip_prefix("region=").ok_or_else(|| {
                        format!("`{s}`: the only option after `?` is region=<region id>")
                    })?;
                    let r = RegionId::parse(r).map_err(|e| format!("`{s}`: {e}"))?;
                    (name, Some(r))
                }
            };
            let secret_name = nonempty(name, "secret name")?;
            return Ok(SecretLocation::Kms {
                secret_name,
                region,
            });
        }
        if s.starts_with("oss://") {
            return OssLocation::parse(s).map(SecretLocation::Oss);
        }
        if let Some(rest) = s.strip_prefix("file:") {
            let path = nonempty(rest, "path")?;
            return Ok(SecretLocation::File { path });
        }
        if let Some(rest) = s.strip_prefix("env:") {
            let var = nonempty(rest, "variable name")?;
            return Ok(SecretLocation::Env { var });
        }
        // Not quoted: without a prefix the value may be the secret itself, pasted here.
        Err("is not a key location; use kms:<secret name> | oss://<bucket>/<key> | file:<path> | env:<VAR> (never the key itself)".into())
    }

    /// A location when `s` has one of the [`PREFIXES`] and parses, else `None` (fields that
    /// take the secret itself or a location, like `eab_hmac_key`).
    pub fn parse_if_reference(s: &str) -> Option<SecretLocation> {
        let s = s.trim();
        PREFIXES
            .iter()
            .any(|p| s.starts_with(p))
            .then(|| SecretLocation::parse(s).ok())
            .flatten()
    }

    /// KMS and OSS need Alibaba Cloud credentials; files and variables do not.
    pub fn needs_aliyun(&self) -> bool {
        matches!(self, SecretLocation::Kms { .. } | SecretLocation::Oss(_))
    }

    /// The region the KMS secret or the bucket lives in, when not `[aliyun] region`.
    pub fn region(&self) -> Option<&RegionId> {
        match self {
            SecretLocation::Kms { region, .. } => region.as_ref(),
            SecretLocation::Oss(l) => l.region.as_ref(),
            _ => None,
        }
    }

    /// `client`, addressing the region this location lives in; `what` (the config key) names
    /// the field when there are no credentials.
    pub fn client(&self, client: Option<&AliyunClient>, what: &str) -> Result<AliyunClient> {
        let client = client.ok_or_else(|| {
            Error::Config(format!("{what} {self} needs Alibaba Cloud credentials"))
        })?;
        Ok(match self.region() {
            Some(r) => client.for_region(r),
            None => client.clone(),
        })
    }

    /// What is stored there, `None` when nothing is: no file, no OSS object, an unset or empty
    /// variable, no KMS secret (or one without `SecretData`).
    pub async fn load(&self, client: Option<&AliyunClient>, what: &str) -> Result<Option<Secret>> {
        match self.read(client, what).await {
            // alibabacloud-kms20160120 GetSecretValue: a secret that does not exist.
            Err(Error::Aliyun { code, .. })
                if code == "Forbidden.ResourceNotFound"
                    && matches!(self, SecretLocation::Kms { .. }) =>
            {
                Ok(None)
            }
            other => other,
        }
    }

    /// Like [`Self::load`], but a KMS secret that does not exist is the service's error
    /// (`Forbidden.ResourceNotFound`, with its request id), not `None`.
    pub async fn read(&self, client: Option<&AliyunClient>, what: &str) -> Result<Option<Secret>> {
        match self {
            SecretLocation::Kms { secret_name, .. } => {
                // alibabacloud-kms20160120, GetSecretValueResponseBody.SecretData.
                let rsp = self
                    .client(client, what)?
                    .rpc(
                        Product::Kms,
                        "GetSecretValue",
                        &[("SecretName", secret_name)],
                    )
                    .await?;
                Ok(rsp["SecretData"].as_str().map(Secret::new))
            }
            SecretLocation::Oss(l) => Ok(self
                .client(client, what)?
                .oss_get(&l.bucket, &l.key)
                .await?
                .map(|b| Secret::new(String::from_utf8_lossy(&b).into_owned()))),
            SecretLocation::File { path } => match std::fs::read_to_string(path) {
                Ok(s) => Ok(Some(Secret::new(s))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Error::Config(format!("{what} file:{path}: {e}"))),
            },
            SecretLocation::Env { var } => Ok(std::env::var(var)
                .ok()
                .filter(|v| !v.is_empty())
                .map(Secret::new)),
        }
    }
}

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &["kms:GetSecretValue", "oss:GetObject"];

impl SecretLocation {
    /// The ARN of a KMS secret or an OSS object (`suffix` appended to the object key), `None`
    /// for files and variables (no permission involved).
    pub fn arn(&self, scope: &crate::aliyun::ram::Scope, suffix: &str) -> Option<String> {
        match self {
            // KMS resource type Secret: `acs:kms:${region}:${account}:secret/${secret-name}`
            // (https://www.alibabacloud.com/help/en/kms/support/use-ram-to-control-access-to-kms-resources).
            SecretLocation::Kms {
                secret_name,
                region,
            } => Some(scope.arn(
                "kms",
                scope.region_or(region.as_ref().map(|r| r.as_str())),
                &format!("secret/{secret_name}"),
            )),
            SecretLocation::Oss(l) => Some(oss_object_arn(
                scope,
                l.bucket.as_str(),
                &format!("{}{suffix}", l.key.as_str()),
            )),
            SecretLocation::File { .. } | SecretLocation::Env { .. } => None,
        }
    }

    /// What reading this location needs: GetSecretValue on the secret or GetObject on the
    /// object (none for files and variables).
    pub fn read_statement(
        &self,
        scope: &crate::aliyun::ram::Scope,
    ) -> Option<crate::aliyun::ram::Statement> {
        use crate::aliyun::ram::{pick, Statement};
        let arn = self.arn(scope, "")?;
        let (id, action) = match self {
            SecretLocation::Kms { .. } => ("ReadKmsSecrets", "kms:GetSecretValue"),
            _ => ("ReadOssSecrets", "oss:GetObject"),
        };
        Some(Statement::new(
            id,
            "Read the secrets the config names by reference (webhook URLs, signing secrets, \
             the EAB key, PKCS#12 passwords); read only.",
            &pick(RAM, &[action]),
            vec![arn],
        ))
    }
}

/// Statements to read every value that is a `kms:`/`oss://` reference (URLs, literal values,
/// files and variables need none).
pub fn read_statements<'a>(
    values: impl IntoIterator<Item = &'a str>,
    scope: &crate::aliyun::ram::Scope,
) -> Vec<crate::aliyun::ram::Statement> {
    values
        .into_iter()
        .filter_map(SecretLocation::parse_if_reference)
        .filter_map(|l| l.read_statement(scope))
        .collect()
}

/// An OSS object or prefix (`key` may end in `*`): `acs:oss:*:<account>:<bucket>/<key>`
/// (OSS "RAM policy", Resource: `acs:oss:{region}:{bucket_owner}:{bucket_name}/{object_name}`,
/// https://www.alibabacloud.com/help/en/oss/user-guide/ram-policy-overview).
pub fn oss_object_arn(scope: &crate::aliyun::ram::Scope, bucket: &str, key: &str) -> String {
    scope.arn("oss", "*", &format!("{bucket}/{key}"))
}

/// An OSS bucket itself (bucket-level operations): `acs:oss:*:<account>:<bucket>`.
pub fn oss_bucket_arn(scope: &crate::aliyun::ram::Scope, bucket: &str) -> String {
    scope.arn("oss", "*", bucket)
}

impl std::str::FromStr for SecretLocation {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        SecretLocation::parse(s)
    }
}

/// From a TOML/JSON string, so a settings struct can hold the parsed location (serde's error
/// path then names the field).
impl<'de> Deserialize<'de> for SecretLocation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SecretLocation::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for SecretLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretLocation::Kms {
                secret_name,
                region,
            } => {
                write!(f, "kms:{secret_name}")?;
                match region {
                    Some(r) => write!(f, "?region={r}"),
                    None => Ok(()),
                }
            }
            SecretLocation::Oss(l) => write!(f, "{l}"),
            SecretLocation::File { path } => write!(f, "file:{path}"),
            SecretLocation::Env { var } => write!(f, "env:{var}"),
        }
    }
}

/// A [`SecretLocation`] of the two kinds a read-only secret may use, `kms:<secret
/// name>[?region=<r>]` (KMS secrets manager, in region r or `[aliyun] region`) or `env:<VAR>`:
/// the PKCS#12 password and the `[notify]` webhook and DingTalk signing secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef(SecretLocation);

impl SecretRef {
    pub fn parse(s: &str) -> std::result::Result<SecretRef, String> {
        if !(s.starts_with("kms:") || s.starts_with("env:")) {
            return Err(
                "must be kms:<secret name> or env:<VARIABLE> (never the secret itself)".into(),
            );
        }
        SecretLocation::parse(s).map(SecretRef)
    }

    pub fn location(&self) -> &SecretLocation {
        &self.0
    }

    /// The value; `what` names the config key in errors. Unlike the account key, a missing
    /// or empty value is an error here: nothing creates these secrets.
    pub async fn resolve(&self, client: &AliyunClient, what: &str) -> Result<Secret> {
        let value = self.0.read(Some(client), what).await?;
        value.filter(|v| !v.is_empty()).ok_or_else(|| {
            Error::Config(match &self.0 {
                SecretLocation::Env { var } => {
                    format!("{what} = \"env:{var}\": environment variable {var} is not set")
                }
                SecretLocation::Kms { secret_name, .. } => {
                    format!("{what} = \"kms:{secret_name}\": the secret is empty")
                }
                other => format!("{what} = \"{other}\": nothing is stored there"),
            })
        })
    }
}

/// From a string, like [`SecretLocation`]'s, for settings that hold a reference.
impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SecretRef::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locations() {
        let oss = SecretLocation::parse("oss://bkt/a/k.pem?region=cn-shanghai").unwrap();
        let SecretLocation::Oss(l) = &oss else {
            panic!("{oss:?}")
        };
        assert_eq!((l.bucket.as_str(), l.key.as_str()), ("bkt", "a/k.pem"));
        assert_eq!(l.region.as_ref().unwrap().as_str(), "cn-shanghai");
        assert_eq!(oss.to_string(), "oss://bkt/a/k.pem?region=cn-shanghai");
        assert_eq!(
            SecretLocation::parse("kms:alicert/account").unwrap(),
            SecretLocation::Kms {
                secret_name: "alicert/account".into(),
                region: None,
            }
        );
        let kms = SecretLocation::parse("kms:alicert/account?region=ap-southeast-1").unwrap();
        assert_eq!(
            kms.region(),
            Some(&RegionId::parse("ap-southeast-1").unwrap())
        );
        assert_eq!(kms.to_string(), "kms:alicert/account?region=ap-southeast-1");
        assert!(kms.needs_aliyun());
        let file = SecretLocation::parse("file:/k.pem").unwrap();
        assert!(!file.needs_aliyun() && file.to_string() == "file:/k.pem");
        for bad in [
            "oss://bucket",
            "oss://attacker.example/#/k",
            "oss://b/k?region=evil.com/x",
            "kms:a?region=cn-hangzhou.evil.com",
            "kms:a?zone=x",
            "kms:",
            "kms:?region=cn-shanghai",
            "file:",
            "env:",
        ] {
            assert!(SecretLocation::parse(bad).is_err(), "{bad}");
        }
        let e = SecretLocation::parse("-----BEGIN PRIVATE KEY-----\nMIGH").unwrap_err();
        assert!(e.contains("kms:") && !e.contains("MIGH"), "{e}");
    }

    #[test]
    fn tells_references_from_literal_secrets() {
        assert_eq!(
            SecretLocation::parse_if_reference(" env:EAB "),
            Some(SecretLocation::Env { var: "EAB".into() })
        );
        assert_eq!(SecretLocation::parse_if_reference("c2VjcmV0"), None);
        assert_eq!(SecretLocation::parse_if_reference("kms:"), None);
    }

    #[test]
    fn deserializes_and_names_the_field() {
        #[derive(Deserialize, Debug)]
        struct S {
            account_key: SecretLocation,
            #[serde(default)]
            p12_password: Option<SecretRef>,
        }
        let ok: S = toml::from_str("account_key = \"env:K\"\np12_password = \"kms:p\"").unwrap();
        assert_eq!(ok.account_key, SecretLocation::Env { var: "K".into() });
        assert_eq!(ok.p12_password.unwrap().to_string(), "kms:p");
        let e = toml::from_str::<S>("account_key = \"s3://x\"").unwrap_err();
        assert!(e.to_string().contains("account_key"), "{e}");
        // The parse error itself never repeats the value (toml's Display adds the source
        // line, so a loader must print `message()` and the position instead).
        let e =
            toml::from_str::<S>("account_key = \"env:K\"\np12_password = \"hunter2\"").unwrap_err();
        assert!(
            e.message().contains("kms:") && !e.message().contains("hunter2"),
            "{e}"
        );
    }

    #[test]
    fn references_take_kms_and_env_only() {
        assert_eq!(
            SecretRef::parse("kms:alicert/p12").unwrap().location(),
            &SecretLocation::Kms {
                secret_name: "alicert/p12".into(),
                region: None
            }
        );
        assert_eq!(
            SecretRef::parse("env:P12_PASSWORD").unwrap().to_string(),
            "env:P12_PASSWORD"
        );
        assert!(SecretRef::parse("hunter2").unwrap_err().contains("kms:"));
        assert!(SecretRef::parse("file:/p").unwrap_err().contains("kms:"));
        assert!(SecretRef::parse("oss://b/k").unwrap_err().contains("kms:"));
        assert!(SecretRef::parse("env:").is_err());
        assert!(SecretRef::parse("kms:a?region=cn-shanghai").is_ok());
        assert!(SecretRef::parse("kms:?region=cn-shanghai").is_err());
        assert!(SecretRef::parse("kms:a?region=evil.com/x").is_err());
        assert!(SecretRef::parse("kms:a?zone=1").is_err());
    }

    #[tokio::test]
    async fn resolve_names_the_field_when_unset() {
        let credentials = crate::aliyun::credentials::Credentials {
            access_key_id: "id".into(),
            access_key_secret: Secret::new("s"),
            security_token: None,
        };
        let client = AliyunClient::new(credentials, "cn-hangzhou", &Default::default()).unwrap();
        let var = "ALICERT_TEST_SECRET_REF_UNSET_VARIABLE";
        let r = SecretRef::parse(&format!("env:{var}")).unwrap();
        let e = r.resolve(&client, "[notify] webhook").await.unwrap_err();
        assert!(
            matches!(&e, Error::Config(m) if m.contains("[notify] webhook") && m.contains(var)),
            "{e}"
        );
    }
}
