//! Where the ACME account key lives (KMS secret, OSS object, file, environment variable), and
//! the race-safe first-run creation: the loser of a creation race reloads the winner's key.
use std::io::Write;

use crate::aliyun::client::PutOutcome;
use crate::aliyun::{AliyunClient, Product};
use crate::error::{Error, Result};
use crate::secret::Secret;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLocation {
    Kms { secret_name: String },
    Oss { bucket: String, key: String },
    File { path: String },
    Env { var: String },
}

impl KeyLocation {
    pub fn parse(s: &str) -> std::result::Result<KeyLocation, String> {
        let nonempty = |v: &str, what: &str| {
            if v.is_empty() {
                Err(format!("`{s}`: {what} is empty"))
            } else {
                Ok(v.to_string())
            }
        };
        if let Some(rest) = s.strip_prefix("kms:") {
            return Ok(KeyLocation::Kms {
                secret_name: nonempty(rest, "secret name")?,
            });
        }
        if let Some(rest) = s.strip_prefix("oss://") {
            let (bucket, key) = rest
                .split_once('/')
                .ok_or_else(|| format!("`{s}`: expected oss://<bucket>/<key>"))?;
            return Ok(KeyLocation::Oss {
                bucket: nonempty(bucket, "bucket")?,
                key: nonempty(key, "object key")?,
            });
        }
        if let Some(rest) = s.strip_prefix("file:") {
            return Ok(KeyLocation::File {
                path: nonempty(rest, "path")?,
            });
        }
        if let Some(rest) = s.strip_prefix("env:") {
            return Ok(KeyLocation::Env {
                var: nonempty(rest, "variable name")?,
            });
        }
        Err(format!(
            "`{s}` is not a key location; use kms:<secret name> | oss://<bucket>/<key> | file:<path> | env:<VAR>"
        ))
    }

    pub fn needs_aliyun(&self) -> bool {
        matches!(self, KeyLocation::Kms { .. } | KeyLocation::Oss { .. })
    }
}

impl std::fmt::Display for KeyLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyLocation::Kms { secret_name } => write!(f, "kms:{secret_name}"),
            KeyLocation::Oss { bucket, key } => write!(f, "oss://{bucket}/{key}"),
            KeyLocation::File { path } => write!(f, "file:{path}"),
            KeyLocation::Env { var } => write!(f, "env:{var}"),
        }
    }
}

/// The key store for one location.
pub struct KeyStore<'a> {
    pub location: KeyLocation,
    pub client: Option<&'a AliyunClient>,
    /// Extra CreateSecret parameters (DKMSInstanceId, EncryptionKeyId) for `kms:` keys.
    pub kms_create_params: Vec<(&'static str, String)>,
}

impl KeyStore<'_> {
    fn client(&self) -> Result<&AliyunClient> {
        self.client.ok_or_else(|| {
            Error::Config(format!(
                "[acme] account_key {} needs Alibaba Cloud credentials",
                self.location
            ))
        })
    }

    /// The stored PEM, if there is one.
    pub async fn load(&self) -> Result<Option<Secret>> {
        match &self.location {
            KeyLocation::Kms { secret_name } => {
                match self
                    .client()?
                    .rpc(
                        Product::Kms,
                        "GetSecretValue",
                        &[("SecretName", secret_name)],
                    )
                    .await
                {
                    Ok(rsp) => Ok(rsp["SecretData"].as_str().map(Secret::new)),
                    Err(Error::Aliyun { code, .. }) if code == "Forbidden.ResourceNotFound" => {
                        Ok(None)
                    }
                    Err(e) => Err(e),
                }
            }
            KeyLocation::Oss { bucket, key } => Ok(self
                .client()?
                .oss_get(bucket, key)
                .await?
                .map(|b| Secret::new(String::from_utf8_lossy(&b).into_owned()))),
            KeyLocation::File { path } => match std::fs::read_to_string(path) {
                Ok(s) => Ok(Some(Secret::new(s))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Error::Config(format!(
                    "[acme] account_key file:{path}: {e}"
                ))),
            },
            KeyLocation::Env { var } => Ok(std::env::var(var)
                .ok()
                .filter(|v| !v.is_empty())
                .map(Secret::new)),
        }
    }

    /// Store `pem` only if nothing is stored yet. Returns false when another writer won.
    pub async fn create(&self, pem: &Secret) -> Result<bool> {
        match &self.location {
            KeyLocation::Kms { secret_name } => {
                let mut params = vec![
                    ("SecretName", secret_name.as_str()),
                    ("VersionId", "v1"),
                    ("SecretDataType", "text"),
                    ("Description", "alicert ACME account key"),
                ];
                for (k, v) in &self.kms_create_params {
                    params.push((k, v.as_str()));
                }
                match self
                    .client()?
                    .rpc_with_form(
                        Product::Kms,
                        "CreateSecret",
                        &params,
                        &[("SecretData", pem.expose())],
                    )
                    .await
                {
                    Ok(_) => Ok(true),
                    Err(Error::Aliyun { code, .. }) if code == "Rejected.ResourceExist" => Ok(false),
                    Err(e) => Err(e),
                }
            }
            KeyLocation::Oss { bucket, key } => Ok(self
                .client()?
                .oss_put(bucket, key, pem.expose().as_bytes().to_vec(), true)
                .await?
                == PutOutcome::Created),
            KeyLocation::File { path } => {
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
                match opts.open(path) {
                    Ok(mut f) => {
                        f.write_all(pem.expose().as_bytes()).map_err(|e| {
                            Error::Config(format!("[acme] account_key file:{path}: {e}"))
                        })?;
                        Ok(true)
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
                    Err(e) => Err(Error::Config(format!("[acme] account_key file:{path}: {e}"))),
                }
            }
            KeyLocation::Env { var } => Err(Error::Config(format!(
                "[acme] account_key env:{var}: the variable is empty and alicert cannot create it; \
                 put a PKCS#8 P-256 PEM key in {var} or use kms:/oss:/file: so alicert can create one"
            ))),
        }
    }

    /// The stored key, creating it on first use. Concurrent first runs agree on one key.
    pub async fn load_or_create(
        &self,
        generate: impl Fn() -> Result<Secret>,
    ) -> Result<(Secret, bool)> {
        if let Some(pem) = self.load().await? {
            return Ok((pem, false));
        }
        let pem = generate()?;
        if self.create(&pem).await? {
            tracing::info!(location = %self.location, "created ACME account key");
            return Ok((pem, true));
        }
        tracing::info!(location = %self.location, "account key created concurrently; using the stored one");
        match self.load().await? {
            Some(pem) => Ok((pem, false)),
            None => Err(Error::Other(format!(
                "account key at {} exists but cannot be read back",
                self.location
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locations() {
        assert_eq!(
            KeyLocation::parse("oss://b/a/k.pem").unwrap(),
            KeyLocation::Oss {
                bucket: "b".into(),
                key: "a/k.pem".into()
            }
        );
        assert_eq!(
            KeyLocation::parse("kms:alicert/account").unwrap(),
            KeyLocation::Kms {
                secret_name: "alicert/account".into()
            }
        );
        assert!(KeyLocation::parse("oss://bucket").is_err());
        assert!(KeyLocation::parse("kms:").is_err());
        assert!(KeyLocation::parse("s3://x/y").unwrap_err().contains("kms:"));
    }

    #[tokio::test]
    async fn file_store_is_create_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem").display().to_string();
        let store = KeyStore {
            location: KeyLocation::File { path: path.clone() },
            client: None,
            kms_create_params: Vec::new(),
        };
        let (first, created) = store.load_or_create(|| Ok(Secret::new("A"))).await.unwrap();
        assert!(created);
        assert_eq!(first.expose(), "A");
        let (second, created) = store.load_or_create(|| Ok(Secret::new("B"))).await.unwrap();
        assert!(!created);
        assert_eq!(second.expose(), "A");
        assert!(!store.create(&Secret::new("C")).await.unwrap());
    }
}
