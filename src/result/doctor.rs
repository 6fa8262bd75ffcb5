//! `alicert doctor`'s report: one [`Check`] per item, each ok, missing a permission (naming
//! the RAM actions), misconfigured (naming the key and the fix) or failed.
use std::collections::BTreeSet;

use serde::Serialize;

use crate::aliyun::identity::CallerIdentity;
use crate::error::Error;

/// What a check is about.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    Credentials,
    Permissions,
    Zone,
    Target,
    AccountKey,
    Lock,
    Secret,
    Acme,
    Caa,
}

impl Area {
    pub fn as_str(self) -> &'static str {
        match self {
            Area::Credentials => "credentials",
            Area::Permissions => "permissions",
            Area::Zone => "zone",
            Area::Target => "target",
            Area::AccountKey => "account_key",
            Area::Lock => "lock",
            Area::Secret => "secret",
            Area::Acme => "acme",
            Area::Caa => "caa",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    MissingPermission,
    Misconfigured,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::MissingPermission => "missing_permission",
            Status::Misconfigured => "misconfigured",
            Status::Failed => "failed",
        }
    }
}

/// One item of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub area: Area,
    /// What was checked: a name, a target, a location, a statement id.
    pub subject: String,
    pub status: Status,
    pub detail: String,
    /// `missing_permission`: the RAM actions (`ram-code:Action`) to grant.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    /// `misconfigured`: the config key to change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl Check {
    pub fn ok(area: Area, subject: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            area,
            subject: subject.into(),
            status: Status::Ok,
            detail: detail.into(),
            actions: vec![],
            key: None,
        }
    }

    pub fn misconfigured(
        area: Area,
        subject: impl Into<String>,
        key: impl Into<String>,
        detail: impl Into<String>,
    ) -> Check {
        Check {
            key: Some(key.into()),
            status: Status::Misconfigured,
            ..Check::ok(area, subject, detail)
        }
    }

    pub fn missing(
        area: Area,
        subject: impl Into<String>,
        actions: Vec<String>,
        detail: impl Into<String>,
    ) -> Check {
        Check {
            actions,
            status: Status::MissingPermission,
            ..Check::ok(area, subject, detail)
        }
    }

    /// What an error means for a check: a RAM denial names its action, a config error its key.
    pub fn from_error(area: Area, subject: impl Into<String>, key: &str, e: &Error) -> Check {
        let subject = subject.into();
        match (e.denied_action(), e) {
            (Some(action), _) => Check::missing(area, subject, vec![action], e.to_string()),
            (None, Error::Config(m)) => Check::misconfigured(area, subject, key, m.clone()),
            (None, other) => Check {
                status: Status::Failed,
                key: Some(key.to_string()).filter(|k| !k.is_empty()),
                ..Check::ok(area, subject, other.to_string())
            },
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    /// Every check is ok.
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<CallerIdentity>,
    pub checks: Vec<Check>,
}

impl DoctorReport {
    pub fn new(identity: Option<CallerIdentity>, checks: Vec<Check>) -> DoctorReport {
        DoctorReport {
            ok: checks.iter().all(|c| c.status == Status::Ok),
            identity,
            checks,
        }
    }

    /// Every RAM action some check found missing.
    pub fn missing_actions(&self) -> BTreeSet<String> {
        self.checks
            .iter()
            .flat_map(|c| c.actions.iter().cloned())
            .collect()
    }
}
