//! Deploy targets: one small interface, one file per Alibaba Cloud product. Nothing
//! product-specific lives outside its file; every CAS call lives in [`cas`].
//!
//! A [`Target`] has three methods (who it is, what it serves, install) and declares its optional
//! capabilities through [`Capabilities`] — a required trait, so every implementation (and any
//! wrapper one might write) has to say what it offers instead of inheriting a silent default.
//! What a target's table adds on top (`verify_tls`) is applied by [`Configured`], which holds
//! the target rather than wrapping it.
/// A target's [`Capabilities`] in one line: `capabilities!(Cdn: cas)` (the target is its own
/// [`CasConsumer`]) or `capabilities!(Fc: none)`. Still stated per target, never defaulted.
macro_rules! capabilities {
    ($target:ty: none) => {
        impl $crate::deploy::Capabilities for $target {
            fn capabilities(&self) -> $crate::deploy::Caps<'_> {
                $crate::deploy::Caps::NONE
            }
        }
    };
    ($target:ty: cas) => {
        impl $crate::deploy::Capabilities for $target {
            fn capabilities(&self) -> $crate::deploy::Caps<'_> {
                $crate::deploy::Caps::cas(self)
            }
        }
    };
}

pub mod alb;
pub mod apig;
pub mod apigateway;
pub mod cas;
pub mod cas_deploy;
pub mod cdn;
mod configured;
pub mod dcdn;
pub mod ddos;
pub mod discovery;
pub mod esa;
pub mod esa_saas;
pub mod fc;
pub mod fc2;
pub mod ga;
pub mod kinds;
mod listener_job;
pub mod live;
pub mod nlb;
pub mod oss;
pub mod oss_bundle;
mod settings;
pub mod slb;
pub mod through;
pub mod tls;
pub mod vod;
pub mod waf;

pub use settings::TargetConfig;

use async_trait::async_trait;

use crate::aliyun::AliyunClient;
use crate::cert::CertInfo;
use crate::error::{Error, Result};
use crate::secret::Secret;

pub use cas::CasCopy;
pub use configured::{deploy_and_verify, Configured};
pub use discovery::{build_all, Expanded};
pub use kinds::TargetKind;

/// Which target this is: its kind and what it is of that kind (a domain, a group/domain
/// pair, ...), as results and logs show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetId {
    pub kind: TargetKind,
    pub resource: String,
}

impl TargetId {
    pub fn new(kind: TargetKind, resource: impl Into<String>) -> TargetId {
        TargetId {
            kind,
            resource: resource.into(),
        }
    }
}

impl std::fmt::Display for TargetId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.resource)
    }
}

/// A certificate ready to install.
pub struct NewCert<'a> {
    /// The configured certificate name (stable id).
    pub name: &'a str,
    /// Leaf first, then intermediates.
    pub fullchain: &'a str,
    pub private_key: &'a Secret,
    pub info: &'a CertInfo,
    /// The copy in CAS (uploaded once by the hub), for targets that take a CAS certificate id.
    pub cas: Option<&'a CasCopy>,
}

impl NewCert<'_> {
    /// A name unique per certificate and issuance, recognisable as alicert's by exact name
    /// (see [`crate::naming::upload_name`]; CAS names are unique per account, ≤ 63 characters).
    pub fn upload_name(&self) -> String {
        crate::naming::upload_name(self.name, &self.info.serial)
    }
}

#[async_trait]
pub trait Target: Capabilities + Send + Sync {
    fn id(&self) -> TargetId;
    /// The certificate the service reports serving now, if any.
    async fn current(&self) -> Result<Option<CertInfo>>;
    /// Install `cert`.
    async fn deploy(&self, cert: &NewCert<'_>) -> Result<()>;
}

/// What a target offers beyond the three [`Target`] methods. No default on purpose: each
/// implementation states its answer.
pub trait Capabilities {
    fn capabilities(&self) -> Caps<'_>;
}

/// A target's optional capabilities.
#[derive(Clone, Copy)]
pub struct Caps<'a> {
    /// Some when the target takes a CAS certificate id (then the hub uploads to CAS first).
    pub cas: Option<&'a dyn CasConsumer>,
    /// Some when the service gives back the private key it serves (`reuse_key`).
    pub keys: Option<&'a dyn KeySource>,
    /// Some when a deploy can have done something the result must say (ESA removing a
    /// superseded certificate to make room in its quota).
    pub notes: Option<&'a dyn TargetNotes>,
}

impl<'a> Caps<'a> {
    /// Nothing beyond reading and deploying.
    pub const NONE: Caps<'static> = Caps {
        cas: None,
        keys: None,
        notes: None,
    };

    /// Takes the hub's CAS copy.
    pub fn cas(consumer: &'a dyn CasConsumer) -> Caps<'a> {
        Caps {
            cas: Some(consumer),
            keys: None,
            notes: None,
        }
    }
}

/// A target that installs the hub's CAS copy.
#[async_trait]
pub trait CasConsumer: Send + Sync {
    /// CAS certificate ids (numeric) this target references now; the hub never deletes these.
    async fn cas_references(&self) -> Result<Vec<String>>;
    /// Whether the target holds exactly one certificate, by CAS id: once it reports the hub's
    /// serial it references the hub's copy and nothing else, so the hub need not read it
    /// again after the verifying read-back. False unless a kind says so.
    fn sole_reference(&self) -> bool {
        false
    }
    /// Once every target of the certificate serves `current`: remove the superseded copies
    /// alicert made on this target's side (SLB server certificates, ALB additional certificates).
    async fn retire(&self, current: &CasCopy) -> Result<()>;
}

/// A target whose deploy may leave lines for its result's `notes`.
pub trait TargetNotes: Send + Sync {
    /// The notes of the last deploy, taken (a second call returns none).
    fn take_notes(&self) -> Vec<String>;
}

/// A target whose service returns the private key of the certificate it serves.
#[async_trait]
pub trait KeySource: Send + Sync {
    async fn current_key(&self) -> Result<Option<Secret>>;
}

/// Validate a target's config without building it (config load, before any network call).
pub fn check(config: &TargetConfig) -> std::result::Result<(), String> {
    let (params, verify_tls) = tls::split_verify_tls(&config.params)?;
    let entry = kinds::find(&config.kind)?;
    match discovery::requested(entry, &params, verify_tls.is_some())? {
        Some((d, rest)) => (entry.check)(&discovery::placeholder(&d, &rest)),
        None => (entry.check)(&params),
    }?;
    through::check(config)
}

/// The RAM statements a `[[certificate]] targets` entry needs (its kind's, from the kinds
/// table); `domains` are the certificate's names, for `domains = "covered"` tables.
pub fn ram_statements(
    config: &TargetConfig,
    domains: &[String],
    scope: &crate::aliyun::ram::Scope,
) -> std::result::Result<Vec<crate::aliyun::ram::Statement>, String> {
    let fail = |e: String| format!("target kind = \"{}\": {e}", config.kind);
    let (params, verify_tls) = tls::split_verify_tls(&config.params).map_err(fail)?;
    let entry = kinds::find(&config.kind).map_err(fail)?;
    let ctx = |covered| kinds::RamContext { scope, covered };
    match discovery::requested(entry, &params, verify_tls.is_some()).map_err(fail)? {
        Some((d, rest)) => (entry.ram)(&discovery::placeholder(&d, &rest), &ctx(Some(domains))),
        None => (entry.ram)(&params, &ctx(None)),
    }
    .map_err(fail)
}

/// The target a `[[certificate]] targets` entry names, with its `verify_tls` step (a
/// `domains = "covered"` entry names several: [`build_all`]).
pub fn build(config: &TargetConfig, cert_name: &str, client: &AliyunClient) -> Result<Configured> {
    let fail = |e: String| Error::Config(format!("target kind = \"{}\": {e}", config.kind));
    let (params, verify_tls) = tls::split_verify_tls(&config.params).map_err(fail)?;
    let kind = kinds::find(&config.kind).map_err(fail)?;
    let target = (kind.build)(&params, cert_name, client).map_err(fail)?;
    Ok(Configured::new(target, verify_tls))
}

/// A client in `region` when the target names one, else `client` itself.
pub(crate) fn regional(
    client: &AliyunClient,
    region: Option<&crate::ident::RegionId>,
) -> AliyunClient {
    match region {
        Some(r) => client.for_region(r),
        None => client.clone(),
    }
}

/// An API answer as the typed struct alicert reads from it (field names from the product's SDK
/// models; absent fields default).
pub(crate) fn answer<T: serde::de::DeserializeOwned>(
    action: &str,
    v: serde_json::Value,
) -> Result<T> {
    serde_json::from_value(v).map_err(|e| {
        Error::Deploy(format!(
            "{action} answered a shape alicert cannot read: {e}"
        ))
    })
}

/// `info` with the name the service keeps it under (empty: none), which tells alicert's
/// uploads from others' (src/drift.rs).
pub(crate) fn named(info: Option<CertInfo>, name: Option<&str>) -> Option<CertInfo> {
    info.map(|mut info| {
        info.deployed_as = name.filter(|n| !n.is_empty()).map(String::from);
        info
    })
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
