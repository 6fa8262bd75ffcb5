//! The ACME account key at its [`SecretLocation`] (KMS secret, OSS object, file, environment
//! variable): loading, the race-safe first-run creation (the loser of a creation race reloads
//! the winner's key) and the two-step replacement a rollover needs.
use std::io::Write;

use crate::aliyun::client::PutOutcome;
use crate::aliyun::{AliyunClient, Product};
use crate::error::{Error, Result};
use crate::ident::ObjectKey;
use crate::secret::Secret;
use crate::secret_ref::SecretLocation;

/// The name config.rs still uses (`[acme] account_key`); the type is the crate's one
/// secret location.
pub use crate::secret_ref::SecretLocation as KeyLocation;

/// The config key every error here names.
const FIELD: &str = "[acme] account_key";

/// A CreateSecret refusal about the KMS instance or key, as a config error naming both keys
/// and KMS 3.0's rule (alibabacloud-kms20160120 3.3.1, CreateSecretRequest: `DKMSInstanceId`
/// is the KMS instance, and for `EncryptionKeyId` "the key and the secret must belong to the
/// same KMS instance, and the key must be a symmetric key"). Other errors pass unchanged.
fn kms3_hint(e: Error, location: &SecretLocation) -> Error {
    let Error::Aliyun {
        code,
        message,
        http_status,
        ..
    } = &e
    else {
        return e;
    };
    let about_instance = [
        "Instance",
        "EncryptionKey",
        "KeyId",
        "Key.",
        "DKMS",
        "MissingParameter",
    ]
    .iter()
    .any(|w| code.contains(w) || message.contains(w));
    if !(400..500).contains(http_status) || *http_status == 403 || !about_instance {
        return e;
    }
    Error::Config(format!(
        "[acme] account_key {location}: KMS refused CreateSecret ({code}: {message}). On a KMS 3.0 \
         (instance-based) account set both [acme] kms_instance_id (the KMS instance, DKMSInstanceId) \
         and [acme] kms_encryption_key_id (a symmetric key of that same instance, EncryptionKeyId): \
         the key and the secret must belong to the same KMS instance"
    ))
}

/// `<key>.<suffix>`, beside the key.
fn sibling(key: &ObjectKey, suffix: &str) -> Result<ObjectKey> {
    ObjectKey::parse(&format!("{key}.{suffix}"))
        .map_err(|e| Error::Config(format!("[acme] account_key: {e}")))
}

/// The key store for one location.
pub struct KeyStore<'a> {
    pub location: SecretLocation,
    pub client: Option<&'a AliyunClient>,
    /// Extra CreateSecret parameters (DKMSInstanceId, EncryptionKeyId) for `kms:` keys.
    pub kms_create_params: Vec<(&'static str, String)>,
}

impl KeyStore<'_> {
    /// The client, addressing the region the secret or bucket lives in.
    fn client(&self) -> Result<AliyunClient> {
        self.location.client(self.client, FIELD)
    }

    /// The stored PEM, if there is one (a KMS secret that does not exist yet is none).
    pub async fn load(&self) -> Result<Option<Secret>> {
        self.location.load(self.client, FIELD).await
    }

    /// Store `pem` only if nothing is stored yet. Returns false when another writer won.
    pub async fn create(&self, pem: &Secret) -> Result<bool> {
        match &self.location {
            SecretLocation::Kms { secret_name, .. } => {
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
                    Err(e) => Err(kms3_hint(e, &self.location)),
                }
            }
            SecretLocation::Oss(l) => Ok(self
                .client()?
                .oss_put(&l.bucket, &l.key, pem.expose().as_bytes().to_vec(), true)
                .await?
                == PutOutcome::Created),
            SecretLocation::File { path } => {
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
            SecretLocation::Env { var } => Err(Error::Config(format!(
                "[acme] account_key env:{var}: the variable is empty and alicert cannot create it; \
                 put a PKCS#8 P-256 PEM key in {var} or use kms:/oss:/file: so alicert can create one"
            ))),
        }
    }

    /// Refuse unless the stored key is still `expected` (the one this invocation loaded).
    pub async fn ensure_unchanged(&self, expected: &Secret) -> Result<()> {
        match self.load().await? {
            Some(stored) if stored.expose().trim() == expected.expose().trim() => Ok(()),
            Some(_) => Err(Error::Other(format!(
                "the account key at {} changed since alicert loaded it (another invocation or \
                 an operator replaced it); nothing was changed, run the command again",
                self.location
            ))),
            None => Err(Error::Other(format!(
                "the account key at {} disappeared since alicert loaded it; nothing was changed",
                self.location
            ))),
        }
    }

    /// First half of a key replacement (account key rollover), done *before* the CA is told
    /// about a new key: checks the stored key is still `current`, keeps a copy of it (OSS
    /// `<key>.previous`, file `<path>.previous`; KMS keeps every version anyway) and so proves
    /// that alicert may write here. See [`crate::acme::account::rollover`] for the whole order.
    pub async fn prepare_replace(&self, current: &Secret) -> Result<()> {
        self.ensure_unchanged(current).await?;
        match &self.location {
            // Writing the same key again as a new current version: readers see no change,
            // and a missing kms:PutSecretValue permission shows up now, not after the switch.
            SecretLocation::Kms { secret_name, .. } => {
                self.kms_put(secret_name, current, None).await?
            }
            SecretLocation::Oss(l) => {
                self.client()?
                    .oss_put(
                        &l.bucket,
                        &sibling(&l.key, "previous")?,
                        current.expose().as_bytes().to_vec(),
                        false,
                    )
                    .await?;
            }
            SecretLocation::File { path } => write_atomic(&format!("{path}.previous"), current)?,
            SecretLocation::Env { var } => {
                return Err(Error::Config(format!(
                    "[acme] account_key env:{var}: alicert cannot rewrite an environment variable; \
                     move the key to kms:, oss:// or file: before a rollover"
                )))
            }
        }
        // Nobody replaced it while the copy was written.
        self.ensure_unchanged(current).await
    }

    /// Second half: make `new` the stored key, atomically (one KMS version, one OSS object
    /// PUT, one rename), then read it back.
    pub async fn replace(&self, new: &Secret) -> Result<()> {
        match &self.location {
            SecretLocation::Kms { secret_name, .. } => self.kms_put(secret_name, new, None).await?,
            SecretLocation::Oss(l) => {
                self.client()?
                    .oss_put(&l.bucket, &l.key, new.expose().as_bytes().to_vec(), false)
                    .await?;
            }
            SecretLocation::File { path } => write_atomic(path, new)?,
            SecretLocation::Env { var } => {
                return Err(Error::Config(format!(
                    "[acme] account_key env:{var}: alicert cannot rewrite an environment variable"
                )))
            }
        }
        match self.load().await? {
            Some(stored) if stored.expose().trim() == new.expose().trim() => Ok(()),
            _ => Err(Error::Other(format!(
                "the new account key was written to {} but does not read back",
                self.location
            ))),
        }
    }

    /// Keep `value` beside the stored key without replacing it: OSS `<key>.next`, file
    /// `<path>.next`, KMS a version staged `alicert-next` (not current). Returns where.
    pub async fn stash(&self, value: &Secret) -> Result<String> {
        match &self.location {
            SecretLocation::Kms { secret_name, .. } => {
                self.kms_put(secret_name, value, Some(r#"["alicert-next"]"#))
                    .await?;
                Ok(format!("{} (version stage alicert-next)", self.location))
            }
            SecretLocation::Oss(l) => {
                let next = sibling(&l.key, "next")?;
                self.client()?
                    .oss_put(&l.bucket, &next, value.expose().as_bytes().to_vec(), false)
                    .await?;
                Ok(format!("oss://{}/{next}", l.bucket))
            }
            SecretLocation::File { path } => {
                write_atomic(&format!("{path}.next"), value)?;
                Ok(format!("file:{path}.next"))
            }
            SecretLocation::Env { var } => Err(Error::Config(format!(
                "[acme] account_key env:{var}: alicert cannot write there"
            ))),
        }
    }

    /// A new version of a KMS secret: current unless `stages` (a JSON list) says otherwise;
    /// the previous current one stays, as ACSPrevious.
    async fn kms_put(&self, secret_name: &str, value: &Secret, stages: Option<&str>) -> Result<()> {
        let version = format!(
            "alicert-{}-{}",
            time::OffsetDateTime::now_utc().unix_timestamp(),
            hex::encode(rand::random::<[u8; 4]>())
        );
        let mut params = vec![
            ("SecretName", secret_name),
            ("VersionId", version.as_str()),
            ("SecretDataType", "text"),
        ];
        if let Some(stages) = stages {
            params.push(("VersionStages", stages));
        }
        self.client()?
            .rpc_with_form(
                Product::Kms,
                "PutSecretValue",
                &params,
                &[("SecretData", value.expose())],
            )
            .await?;
        Ok(())
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

/// Write `path` so that a reader sees the old or the new content, never a part: a private
/// (0600) temporary file in the same directory, flushed to disk, renamed over `path`.
fn write_atomic(path: &str, value: &Secret) -> Result<()> {
    let fail = |e: std::io::Error| Error::Config(format!("[acme] account_key file:{path}: {e}"));
    let target = std::path::Path::new(path);
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        hex::encode(rand::random::<[u8; 6]>())
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let written = opts.open(&tmp).and_then(|mut f| {
        f.write_all(value.expose().as_bytes())?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, target)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e));
    }
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The actions this file calls beyond reading (secret_ref.rs reads): creating the key on the
/// first run and writing it on `account rollover`.
pub(crate) const RAM: &[&str] = &[
    "kms:CreateSecret",
    "kms:PutSecretValue",
    "oss:PutObject",
    "oss:PutObjectAcl",
];

/// What the account key at `location` needs: read it, create it once, and (rollover) write
/// the new key, plus `.previous` / `.next` beside an OSS key.
pub(crate) fn ram_statements(
    location: &SecretLocation,
    scope: &crate::aliyun::ram::Scope,
) -> Vec<crate::aliyun::ram::Statement> {
    use crate::aliyun::ram::{pick, Statement};
    let purpose = "The ACME account key: read it, create it on the first run (create-only), \
                   and write the new key on `alicert account rollover`; this one location only.";
    let read = crate::secret_ref::RAM;
    match location {
        SecretLocation::Kms { .. } => {
            let mut actions = pick(read, &["kms:GetSecretValue"]);
            actions.extend(pick(RAM, &["kms:CreateSecret", "kms:PutSecretValue"]));
            let arn = location.arn(scope, "").into_iter().collect();
            vec![Statement::new("AccountKey", purpose, &actions, arn)]
        }
        SecretLocation::Oss(_) => {
            let mut actions = pick(read, &["oss:GetObject"]);
            // Every put sets x-oss-object-acl: private, which needs PutObjectAcl (OSS "Object ACLs").
            actions.extend(pick(RAM, &["oss:PutObject", "oss:PutObjectAcl"]));
            let arns = ["", ".previous", ".next"]
                .iter()
                .filter_map(|s| location.arn(scope, s))
                .collect();
            vec![Statement::new("AccountKey", purpose, &actions, arns)]
        }
        SecretLocation::File { .. } | SecretLocation::Env { .. } => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn file_store_is_create_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem").display().to_string();
        let store = KeyStore {
            location: SecretLocation::File { path: path.clone() },
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

        // Replacement: refused when the stored key is not the one loaded; else backup + swap.
        let stale = store.prepare_replace(&Secret::new("B")).await.unwrap_err();
        assert!(stale.to_string().contains("changed since"), "{stale}");
        store.prepare_replace(&Secret::new("A")).await.unwrap();
        store.replace(&Secret::new("N")).await.unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "N");
        assert_eq!(
            std::fs::read_to_string(format!("{path}.previous")).unwrap(),
            "A"
        );
        assert_eq!(
            store.stash(&Secret::new("S")).await.unwrap(),
            format!("file:{path}.next")
        );
        assert_eq!(
            std::fs::read_to_string(format!("{path}.next")).unwrap(),
            "S"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "N");
        std::fs::remove_file(format!("{path}.next")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary file left behind.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}
