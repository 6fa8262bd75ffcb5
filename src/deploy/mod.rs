//! Deploy targets: one small interface, one file per Alibaba Cloud product. Nothing
//! product-specific lives outside its file.
pub mod alb;
pub mod apigateway;
pub mod cas;
pub mod cdn;
pub mod dcdn;
pub mod fc;
pub mod hub;
pub mod oss;
pub mod oss_bundle;
mod settings;
pub mod slb;
pub mod tls;

pub use settings::TargetConfig;

use std::time::Duration;

use async_trait::async_trait;

use crate::aliyun::AliyunClient;
use crate::cert::CertInfo;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// A certificate ready to install.
pub struct NewCert<'a> {
    /// The configured certificate name (stable id).
    pub name: &'a str,
    /// Leaf first, then intermediates.
    pub fullchain: &'a str,
    pub private_key: &'a Secret,
    pub info: &'a CertInfo,
    /// The copy in CAS (uploaded once by the hub), for targets that take a CAS certificate id.
    pub cas: Option<&'a hub::CasCopy>,
}

impl NewCert<'_> {
    /// A name unique per certificate and issuance, recognisable as alicert's by exact name
    /// (see [`crate::naming::upload_name`]; CAS names are unique per account, ≤ 63 characters).
    pub fn upload_name(&self) -> String {
        crate::naming::upload_name(self.name, &self.info.serial)
    }
}

#[async_trait]
pub trait Target: Send + Sync {
    /// The `kind` in the config.
    fn kind(&self) -> &'static str;
    /// What this target is in results and logs (a domain, a group/domain pair, ...).
    fn id(&self) -> String;
    /// The certificate the service serves now, if any.
    async fn current(&self) -> Result<Option<CertInfo>>;
    /// Install `cert`.
    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()>;
    /// Whether this target takes a CAS certificate id (then the hub uploads to CAS first).
    fn uses_cas(&self) -> bool {
        false
    }
    /// CAS certificate ids (numeric) this target references now; the hub never deletes these.
    async fn cas_references(&self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
    /// Once every target of the certificate serves `current`: remove the superseded copies
    /// alicert made on this target's side (SLB server certificates, ALB additional certificates).
    async fn retire(&self, _current: &hub::CasCopy) -> Result<()> {
        Ok(())
    }
    /// The private key of the certificate served now, for `reuse_key`. Most services never
    /// give a key back; those that do override this (and [`Target::returns_keys`]).
    async fn current_key(&self) -> Result<Option<Secret>> {
        Ok(None)
    }
    fn returns_keys(&self) -> bool {
        false
    }
}

const KINDS: &[&str] = &[
    "cas",
    "cdn",
    "dcdn",
    "apigateway",
    "slb",
    "alb",
    "oss",
    "fc",
    "oss-bundle",
];

/// Validate a target's config without building it (config load, before any network call).
pub fn check(config: &TargetConfig) -> std::result::Result<(), String> {
    let (params, _) = tls::split_verify_tls(&config.params)?;
    let params = &params;
    match config.kind.as_str() {
        "cas" => cas::Params::parse(params).map(|_| ()),
        "cdn" => cdn::Params::parse(params).map(|_| ()),
        "dcdn" => dcdn::Params::parse(params).map(|_| ()),
        "apigateway" => apigateway::Params::parse(params).map(|_| ()),
        "slb" => slb::Params::parse(params).map(|_| ()),
        "alb" => alb::Params::parse(params).map(|_| ()),
        "oss" => oss::Params::parse(params).map(|_| ()),
        "fc" => fc::Params::parse(params).map(|_| ()),
        "oss-bundle" => oss_bundle::Params::parse(params).map(|_| ()),
        other => Err(format!(
            "unknown target kind `{other}` (known: {})",
            KINDS.join(", ")
        )),
    }
}

pub fn build(
    config: &TargetConfig,
    cert_name: &str,
    client: &AliyunClient,
) -> Result<Box<dyn Target>> {
    let fail = |e: String| Error::Config(format!("target kind = \"{}\": {e}", config.kind));
    let (params, verify_tls) = tls::split_verify_tls(&config.params).map_err(fail)?;
    let params = &params;
    let c = || client.clone();
    let target: Box<dyn Target> = match config.kind.as_str() {
        "cas" => Box::new(cas::Cas::new(
            cas::Params::parse(params).map_err(fail)?,
            cert_name,
            c(),
        )),
        "cdn" => Box::new(cdn::Cdn::new(
            cdn::Params::parse(params).map_err(fail)?,
            c(),
        )),
        "dcdn" => Box::new(dcdn::new(dcdn::Params::parse(params).map_err(fail)?, c())),
        "apigateway" => Box::new(apigateway::ApiGateway::new(
            apigateway::Params::parse(params).map_err(fail)?,
            c(),
        )),
        "slb" => Box::new(slb::Slb::new(
            slb::Params::parse(params).map_err(fail)?,
            cert_name,
            c(),
        )),
        "alb" => Box::new(alb::Alb::new(
            alb::Params::parse(params).map_err(fail)?,
            cert_name,
            c(),
        )),
        "oss" => Box::new(oss::OssCname::new(
            oss::Params::parse(params).map_err(fail)?,
            c(),
        )),
        "fc" => Box::new(fc::Fc::new(fc::Params::parse(params).map_err(fail)?, c())),
        "oss-bundle" => Box::new(oss_bundle::OssBundle::new(
            oss_bundle::Params::parse(params).map_err(fail)?,
            cert_name,
            c(),
        )),
        other => return Err(fail(format!("unknown target kind `{other}`"))),
    };
    Ok(match verify_tls {
        Some(verify) => Box::new(tls::TlsChecked::new(target, verify)),
        None => target,
    })
}

/// Deploy, then read back until the target reports the new serial (bounded wait). A read-back
/// error counts as "not yet" (a service or its TLS edge may lag) until the last attempt.
pub async fn deploy_and_verify(target: &dyn Target, cert: &NewCert<'_>) -> Result<()> {
    target.deploy(cert).await?;
    let mut delay = Duration::from_millis(200);
    let mut seen = Ok(None);
    for _ in 0..8 {
        match target.current().await {
            Ok(Some(info)) if info.serial == cert.info.serial => return Ok(()),
            Ok(other) => seen = Ok(other.map(|i| i.serial)),
            Err(e) => {
                tracing::info!(kind = target.kind(), id = %target.id(), error = %e, "read-back failed; retrying");
                seen = Err(e);
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
    let seen = seen?;
    Err(Error::Deploy(format!(
        "{} {}: after deploying serial {}, the target still reports {}",
        target.kind(),
        target.id(),
        cert.info.serial,
        seen.as_deref().unwrap_or("no certificate")
    )))
}

/// Read the string parameter `key` of a target table; every other key must be in `allowed`.
pub(crate) fn params<'a>(
    table: &'a toml::Table,
    required: &[&str],
    optional: &[&str],
) -> std::result::Result<Vec<Option<&'a str>>, String> {
    for k in table.keys() {
        if !required.contains(&k.as_str()) && !optional.contains(&k.as_str()) {
            let mut known: Vec<&str> = required.iter().chain(optional).copied().collect();
            known.sort();
            return Err(format!("unknown key `{k}` (known: {})", known.join(", ")));
        }
    }
    let mut out = Vec::new();
    for k in required.iter().chain(optional) {
        let v = match table.get(*k) {
            None => None,
            Some(toml::Value::String(s)) if !s.is_empty() => Some(s.as_str()),
            Some(_) => return Err(format!("`{k}` must be a non-empty string")),
        };
        if v.is_none() && required.contains(k) {
            return Err(format!("missing required key `{k}`"));
        }
        out.push(v);
    }
    Ok(out)
}

/// The optional `region` key of a target: where its resource lives when not `[aliyun] region`.
pub(crate) fn region_param(
    value: Option<&str>,
) -> std::result::Result<Option<crate::ident::RegionId>, String> {
    value
        .map(crate::ident::RegionId::parse)
        .transpose()
        .map_err(|e| format!("`region`: {e}"))
}

/// Parse the PEM a service reports; unparsable or empty means "nothing usable deployed".
pub(crate) fn parse_deployed(kind: &str, id: &str, pem: Option<&str>) -> Option<CertInfo> {
    let pem = pem.filter(|p| p.contains("BEGIN CERTIFICATE"))?;
    match CertInfo::from_pem(pem) {
        Ok(info) => Some(info),
        Err(e) => {
            tracing::warn!(kind, id, error = %e, "deployed certificate does not parse; treating as missing");
            None
        }
    }
}
