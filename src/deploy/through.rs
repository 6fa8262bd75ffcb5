//! Targets reached through `role_arn`: their calls use the role's credentials (one AssumeRole
//! per role and certificate per invocation, aliyun/role.rs), and they never take the CAS hub's
//! copy, which lives in the function's account: CDN and DCDN then send the PEM with the domain
//! (CertType=upload), and a kind that can only install a CAS id is refused at load.
use async_trait::async_trait;

use super::kinds::{self, TargetKind};
use super::{NewCert, Target, TargetConfig, TargetId};
use crate::aliyun::AliyunClient;
use crate::cert::CertInfo;
use crate::error::{Error, Result};

/// Load-time rules for `role_arn` (see the module comment).
pub fn check(config: &TargetConfig) -> std::result::Result<(), String> {
    if config.role()?.is_none() {
        return Ok(());
    }
    let kind = kinds::find(&config.kind)?.kind;
    if matches!(kind, TargetKind::Cdn | TargetKind::Dcdn) {
        return Ok(());
    }
    let scope = crate::aliyun::ram::Scope {
        account: "*".into(),
        region: "cn-hangzhou".into(),
    };
    let hub = super::cas::hub_statements();
    let uses_hub = super::ram_statements(config, &[], &scope)?
        .iter()
        .any(|s| hub.iter().any(|h| h.id == s.id));
    match uses_hub {
        false => Ok(()),
        true => Err(format!(
            "role_arn: kind = \"{kind}\" installs the certificate from CAS, and alicert's CAS \
             copy is in the function's account, which a resource in another account cannot \
             use; role_arn works with cdn, dcdn and the kinds that take the certificate itself \
             (give this target to a function in its own account otherwise)"
        )),
    }
}

/// The client for `config`'s calls: its role's when it names one, else `client`.
pub async fn client_for(
    config: &TargetConfig,
    cert_name: &str,
    client: &AliyunClient,
) -> Result<AliyunClient> {
    match config.role().map_err(Error::Config)? {
        Some(role) => client.assuming(&role, cert_name).await,
        None => Ok(client.clone()),
    }
}

/// A target whose role could not be assumed: it reads and deploys nothing and fails with
/// why, under the target's own id.
pub struct Unreachable {
    id: TargetId,
    error: Error,
}

impl Unreachable {
    pub fn new(id: TargetId, error: Error) -> Unreachable {
        Unreachable { id, error }
    }
}

#[async_trait]
impl Target for Unreachable {
    fn id(&self) -> TargetId {
        self.id.clone()
    }

    async fn current(&self) -> Result<Option<CertInfo>> {
        Err(self.error.again())
    }

    async fn deploy(&self, _cert: &NewCert<'_>) -> Result<()> {
        Err(self.error.again())
    }
}

capabilities!(Unreachable: none);

#[cfg(test)]
mod tests {
    use super::*;

    fn target(toml: &str) -> TargetConfig {
        toml::from_str(toml).unwrap()
    }

    #[test]
    fn role_arn_is_checked_at_load_and_names_the_key() {
        let ok = "acs:ram::2222222222222222:role/alicert-cdn";
        for kind in [
            format!("kind = \"cdn\"\ndomain = \"www.example.com\"\nrole_arn = \"{ok}\""),
            format!("kind = \"fc\"\ndomain = \"www.example.com\"\nrole_arn = \"{ok}\""),
        ] {
            crate::deploy::check(&target(&kind)).unwrap();
        }
        let bad = target(
            "kind = \"cdn\"\ndomain = \"www.example.com\"\nrole_arn = \"acs:ram::2:user/x\"",
        );
        let e = crate::deploy::check(&bad).unwrap_err();
        assert!(e.starts_with("role_arn: "), "{e}");
        // A kind that installs only a CAS id cannot take the function's CAS copy elsewhere.
        let alb = target(&format!(
            "kind = \"alb\"\nlistener_id = \"lsn-1\"\nrole_arn = \"{ok}\""
        ));
        let e = crate::deploy::check(&alb).unwrap_err();
        assert!(e.contains("role_arn") && e.contains("alb"), "{e}");
    }
}
