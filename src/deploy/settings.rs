//! A `[[certificate]] targets` entry: `kind` selects the module under `deploy/`, which parses
//! and checks the other keys itself.
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct TargetConfig {
    pub kind: String,
    #[serde(flatten)]
    pub params: toml::Table,
}
