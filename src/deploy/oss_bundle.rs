//! `oss-bundle`: the certificate as files in OSS for ECS, containers and Windows IIS, under
//! `oss://<bucket>/<prefix>/<name>/`: fullchain.pem, cert.pem, chain.pem, privkey.pem,
//! certificate.p12 (PKCS#12, when `p12_password` is set) and meta.json (serial, not_after,
//! domains). Every object is written with server-side encryption requested; meta.json goes
//! last and is what `current()` trusts, so a half-written bundle reads as not deployed.
use async_trait::async_trait;
use serde::{Deserialize, Deserializer, Serialize};

use super::kinds::{parsed, Kind};
use super::{NewCert, Target, TargetId, TargetKind};
use crate::aliyun::AliyunClient;
use crate::cert::{rfc3339, split_chain, CertInfo};
use crate::error::{Error, Result};
use crate::ident::{BucketName, ObjectKey, RegionId};
use crate::secret::Secret;
use crate::secret_ref::SecretRef;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum P12Encryption {
    /// PBES2 AES-256-CBC + HMAC-SHA256 MAC: OpenSSL 3, Windows Server 2019+/Windows 10 1709+.
    #[default]
    #[serde(rename = "aes256")]
    Aes256,
    /// PBE-SHA1-3DES + HMAC-SHA1 MAC: older Windows and Java.
    #[serde(rename = "3des")]
    TripleDes,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub bucket: BucketName,
    /// The bucket's region; default `[aliyun] region`.
    pub region: Option<RegionId>,
    /// Folder inside the bucket, without leading/trailing `/` (may be empty; otherwise a valid
    /// object key: no `..`, no `\\`, no control characters).
    #[serde(default, deserialize_with = "prefix")]
    pub prefix: String,
    #[serde(default, deserialize_with = "p12_password")]
    pub p12_password: Option<SecretRef>,
    /// Default aes256; only with `p12_password`.
    pub p12_encryption: Option<P12Encryption>,
}

fn prefix<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    let trimmed = |s: &str| {
        let prefix = s.trim_matches('/').to_string();
        match prefix.is_empty() {
            true => Ok(prefix),
            false => ObjectKey::parse(&prefix).map(|_| prefix),
        }
    };
    parsed(d, trimmed, "")
}

fn p12_password<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<SecretRef>, D::Error> {
    parsed(d, SecretRef::parse, "").map(Some)
}

/// The actions this file calls (tests/policy.rs checks them against the calls).
pub(crate) const RAM: &[&str] = &["oss:GetObject", "oss:PutObject", "oss:PutObjectAcl"];

impl Kind for Params {
    const KIND: TargetKind = TargetKind::OssBundle;

    fn ram(
        &self,
        ctx: &crate::deploy::kinds::RamContext<'_>,
    ) -> Vec<crate::aliyun::ram::Statement> {
        use crate::aliyun::ram::{pick, Statement};
        let prefix = self.prefix.trim_end_matches('/');
        let key = if prefix.is_empty() {
            "*".to_string()
        } else {
            format!("{prefix}/*")
        };
        let mut out = vec![Statement::new(
            "DeployOssBundle",
            "target kind oss-bundle: read meta.json and write the PEM files, certificate.p12 and meta.json (private) under the configured prefix only.",
            &pick(RAM, &["oss:GetObject", "oss:PutObject", "oss:PutObjectAcl"]),
            vec![crate::secret_ref::oss_object_arn(ctx.scope, self.bucket.as_str(), &key)],
        )];
        if let Some(p) = &self.p12_password {
            out.extend(p.location().read_statement(ctx.scope));
        }
        out
    }

    fn check(&self) -> std::result::Result<(), String> {
        if self.p12_encryption.is_some() && self.p12_password.is_none() {
            return Err("`p12_encryption` needs `p12_password` (kms:<secret> | env:<VAR>)".into());
        }
        Ok(())
    }

    fn build(self, cert_name: &str, client: &AliyunClient) -> Box<dyn Target> {
        Box::new(OssBundle {
            client: super::regional(client, self.region.as_ref()),
            params: self,
            name: cert_name.to_string(),
        })
    }
}

/// meta.json.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    pub name: String,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    pub domains: Vec<String>,
    pub issuer: String,
    pub fingerprint_sha256: String,
    pub files: Vec<String>,
}

pub struct OssBundle {
    params: Params,
    name: String,
    client: AliyunClient,
}

capabilities!(OssBundle: none);

impl OssBundle {
    fn folder(&self) -> String {
        if self.params.prefix.is_empty() {
            format!("{}/", self.name)
        } else {
            format!("{}/{}/", self.params.prefix, self.name)
        }
    }

    fn key(&self, file: &str) -> Result<ObjectKey> {
        ObjectKey::parse(&format!("{}{file}", self.folder()))
            .map_err(|e| Error::Config(format!("oss-bundle `prefix` / certificate name: {e}")))
    }
}

#[async_trait]
impl Target for OssBundle {
    fn id(&self) -> TargetId {
        TargetId::new(
            TargetKind::OssBundle,
            format!("oss://{}/{}", self.params.bucket, self.folder()),
        )
    }

    async fn current(&self) -> Result<Option<CertInfo>> {
        let Some(meta) = self
            .client
            .oss_get(&self.params.bucket, &self.key("meta.json")?)
            .await?
        else {
            return Ok(None);
        };
        let meta: Meta = match serde_json::from_slice(&meta) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(id = %self.id().resource, error = %e, "meta.json does not parse; treating as missing");
                return Ok(None);
            }
        };
        let Some(pem) = self
            .client
            .oss_get(&self.params.bucket, &self.key("cert.pem")?)
            .await?
        else {
            return Ok(None);
        };
        let info = super::parse_deployed(
            "oss-bundle",
            &self.id().resource,
            Some(&String::from_utf8_lossy(&pem)),
        );
        // cert.pem from another run than meta.json: an interrupted write.
        Ok(info.filter(|i| i.serial == meta.serial))
    }

    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()> {
        let (leaf, chain) = split_chain(cert.fullchain)?;
        let mut files: Vec<(&str, Vec<u8>)> = vec![
            ("fullchain.pem", cert.fullchain.as_bytes().to_vec()),
            ("cert.pem", leaf.into_bytes()),
            ("chain.pem", chain.into_bytes()),
            ("privkey.pem", cert.private_key.expose().as_bytes().to_vec()),
        ];
        if let Some(reference) = &self.params.p12_password {
            let password = reference
                .resolve(&self.client, "oss-bundle p12_password")
                .await?;
            files.push((
                "certificate.p12",
                pkcs12(
                    cert,
                    &password,
                    self.params.p12_encryption.unwrap_or_default(),
                )?,
            ));
        }
        let meta = Meta {
            name: self.name.clone(),
            serial: cert.info.serial.clone(),
            not_before: rfc3339(cert.info.not_before),
            not_after: cert.info.not_after_rfc3339(),
            domains: cert.info.names.clone(),
            issuer: cert.info.issuer.clone(),
            fingerprint_sha256: cert.info.fingerprint_sha256.clone(),
            files: files.iter().map(|(f, _)| f.to_string()).collect(),
        };
        let meta = serde_json::to_vec_pretty(&meta).expect("meta serializes");
        for (file, body) in files.into_iter().chain([("meta.json", meta)]) {
            self.client
                .oss_put(&self.params.bucket, &self.key(file)?, body, false)
                .await?;
        }
        Ok(())
    }
}

/// A PKCS#12 file holding the key and the full chain, friendly name = certificate name.
pub fn pkcs12(cert: &NewCert<'_>, password: &Secret, enc: P12Encryption) -> Result<Vec<u8>> {
    use p12_keystore::{
        Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKeyChain,
    };
    use sha1::Digest;
    let fail = |e: String| Error::Deploy(format!("oss-bundle: building certificate.p12: {e}"));
    let blocks = pem::parse_many(cert.fullchain).map_err(|e| fail(e.to_string()))?;
    let certs = blocks
        .iter()
        .filter(|b| b.tag() == "CERTIFICATE")
        .map(|b| Certificate::from_der(b.contents()).map_err(|e| fail(e.to_string())))
        .collect::<Result<Vec<_>>>()?;
    let leaf = certs.first().ok_or_else(|| fail("no certificate".into()))?;
    let key = pem::parse(cert.private_key.expose()).map_err(|e| fail(e.to_string()))?;
    if key.tag() != "PRIVATE KEY" {
        return Err(fail(format!(
            "the key is `{}`, PKCS#8 `PRIVATE KEY` expected",
            key.tag()
        )));
    }
    let key_id = sha1::Sha1::digest(leaf.as_der()).to_vec();
    let mut store = KeyStore::new();
    store.add_entry(
        cert.name,
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(key.contents(), key_id, certs)),
    );
    let (alg, mac) = match enc {
        P12Encryption::Aes256 => (
            EncryptionAlgorithm::PbeWithHmacSha256AndAes256,
            MacAlgorithm::HmacSha256,
        ),
        P12Encryption::TripleDes => (
            EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc,
            MacAlgorithm::HmacSha1,
        ),
    };
    store
        .writer(password.expose())
        .encryption_algorithm(alg)
        .mac_algorithm(mac)
        .write()
        .map_err(|e| fail(e.to_string()))
}
