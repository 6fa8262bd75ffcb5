//! A `[[certificate]] targets` entry: `kind` selects the module under `deploy/`, which parses
//! and checks the other keys itself; `role_arn` (any kind) is read here.
use serde::Deserialize;

use crate::aliyun::RoleArn;

#[derive(Debug, Clone, Deserialize)]
pub struct TargetConfig {
    pub kind: String,
    /// The target is in another account, reached through this role (aliyun/role.rs).
    #[serde(default)]
    pub role_arn: Option<String>,
    #[serde(flatten)]
    pub params: toml::Table,
}

impl TargetConfig {
    /// `role_arn`, checked; the error names the key.
    pub fn role(&self) -> Result<Option<RoleArn>, String> {
        self.role_arn
            .as_deref()
            .map(|s| RoleArn::parse(s).map_err(|e| format!("role_arn: {e}")))
            .transpose()
    }
}
