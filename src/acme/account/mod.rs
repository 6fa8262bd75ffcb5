//! Account operations (`alicert account …` and `{"action":"account","op":…}`): show, create,
//! update (contacts), rollover (RFC 8555 §7.3.5 key change, `rollover.rs`) and deactivate.
//! The account itself is found (or created) by `open.rs`.
use serde::{Deserialize, Serialize};

use crate::acme::{Acme, OpenAccount};
use crate::aliyun::AliyunClient;
use crate::error::{Error, Result};

pub mod open;
mod rollover;

/// The account operations, as SPEC names them (`"op": "show|create|update|rollover|deactivate"`,
/// and in the report's `op`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpKind {
    #[default]
    Show,
    Create,
    Update,
    Rollover,
    Deactivate,
}

impl OpKind {
    /// The documented name (the serde name: one vocabulary).
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Show => "show",
            OpKind::Create => "create",
            OpKind::Update => "update",
            OpKind::Rollover => "rollover",
            OpKind::Deactivate => "deactivate",
        }
    }
}

impl std::str::FromStr for OpKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<OpKind> {
        use serde::de::IntoDeserializer as _;
        OpKind::deserialize(s.into_deserializer()).map_err(|_: serde::de::value::Error| {
            Error::Input(format!(
                "unknown account op `{s}` (show, create, update, rollover, deactivate)"
            ))
        })
    }
}

impl std::fmt::Display for OpKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An operation with what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Show,
    Create,
    Update { emails: Vec<String> },
    Rollover,
    Deactivate { confirmed: bool },
}

impl Op {
    /// `op` as text (CLI, tests), else as [`Op::new`].
    pub fn parse(op: &str, email: Option<&str>, confirm: bool) -> Result<Op> {
        Op::new(op.parse()?, email, confirm)
    }

    /// `email` (comma separated, `mailto:` optional) is what `update` needs; `confirm` is
    /// what `deactivate` needs (checked when it runs, so a dry run can show what it would do).
    pub fn new(kind: OpKind, email: Option<&str>, confirm: bool) -> Result<Op> {
        Ok(match kind {
            OpKind::Show => Op::Show,
            OpKind::Create => Op::Create,
            OpKind::Update => Op::Update {
                emails: parse_emails(email)?,
            },
            OpKind::Rollover => Op::Rollover,
            OpKind::Deactivate => Op::Deactivate { confirmed: confirm },
        })
    }

    pub fn kind(&self) -> OpKind {
        match self {
            Op::Show => OpKind::Show,
            Op::Create => OpKind::Create,
            Op::Update { .. } => OpKind::Update,
            Op::Rollover => OpKind::Rollover,
            Op::Deactivate { .. } => OpKind::Deactivate,
        }
    }

    fn would(&self) -> Option<&'static str> {
        match self {
            Op::Show => None,
            Op::Create => Some("create the account key and account if missing"),
            Op::Update { .. } => Some("change the account contacts"),
            Op::Rollover => {
                Some("replace the account key (RFC 8555 key change) and store the new one")
            }
            Op::Deactivate { .. } => Some("deactivate the account"),
        }
    }
}

fn parse_emails(email: Option<&str>) -> Result<Vec<String>> {
    let email = email.filter(|e| !e.trim().is_empty()).ok_or_else(|| {
        Error::Input(
            "account op `update` needs `email` (the new contact address; several: comma separated)"
                .into(),
        )
    })?;
    let emails = email
        .split(',')
        .map(|e| e.trim().trim_start_matches("mailto:").to_string())
        .filter(|e| !e.is_empty())
        .collect::<Vec<_>>();
    for e in &emails {
        let ok = e
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
            && !e.contains(char::is_whitespace);
        if !ok {
            return Err(Error::Input(format!("email `{e}` is not an email address")));
        }
    }
    Ok(emails)
}

/// The ACME account as the CA reports it (the result's `account`). Never the key itself.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct AccountReport {
    pub op: OpKind,
    /// The account URL (its id at the CA).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    pub contacts: Vec<String>,
    /// RFC 7638 JWK thumbprint of the account key.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub key_thumbprint: String,
    pub key_location: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_key_thumbprint: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub created: bool,
    /// Dry run: what the operation would do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

pub async fn run(
    acme: &Acme,
    client: Option<&AliyunClient>,
    op: Op,
    dry_run: bool,
) -> Result<AccountReport> {
    if let Op::Deactivate { confirmed: false } = op {
        return Err(Error::Input(
            "deactivating an ACME account is irreversible: confirm with `--yes` (CLI) or `\"confirm\": true` (event)".into(),
        ));
    }
    if dry_run {
        if let Some(would) = op.would() {
            return Ok(AccountReport {
                op: op.kind(),
                key_location: acme.key_location.to_string(),
                would: Some(would.into()),
                ..AccountReport::default()
            });
        }
    }
    let opened = acme.open(client, op == Op::Create).await?;
    let mut report = report(op.kind(), &opened);
    match op {
        Op::Show | Op::Create => {}
        Op::Update { emails } => {
            let contacts: Vec<String> = emails.iter().map(|e| format!("mailto:{e}")).collect();
            let refs: Vec<&str> = contacts.iter().map(String::as_str).collect();
            opened.account.update_contacts(&refs).await?;
            let (status, now) = acme.account_object(opened.account.id());
            report.status = status.or(report.status);
            report.contacts = if now.is_empty() { contacts } else { now };
            tracing::info!(account = opened.account.id(), contacts = ?report.contacts, "account contacts updated");
        }
        Op::Rollover => {
            let (new_thumbprint, note) = rollover::rollover(acme, client, opened).await?;
            report.previous_key_thumbprint = Some(report.key_thumbprint.clone());
            report.key_thumbprint = new_thumbprint;
            report.note = note;
        }
        Op::Deactivate { .. } => {
            let url = opened.account.id().to_string();
            opened.account.deactivate().await?;
            let (status, _) = acme.account_object(&url);
            report.status = Some(status.unwrap_or_else(|| "deactivated".into()));
            tracing::warn!(account = %url, "ACME account deactivated");
        }
    }
    Ok(report)
}

fn report(op: OpKind, opened: &OpenAccount) -> AccountReport {
    AccountReport {
        op,
        url: opened.account.id().to_string(),
        status: opened.status.clone(),
        contacts: opened.contacts.clone(),
        key_thumbprint: opened.account.key_thumbprint().to_string(),
        key_location: opened.location.to_string(),
        created: opened.created,
        ..AccountReport::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_names_are_the_documented_strings() {
        for (kind, name) in [
            (OpKind::Show, "show"),
            (OpKind::Create, "create"),
            (OpKind::Update, "update"),
            (OpKind::Rollover, "rollover"),
            (OpKind::Deactivate, "deactivate"),
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), name);
            assert_eq!(kind.as_str(), name);
            assert_eq!(name.parse::<OpKind>().unwrap(), kind);
        }
        let e = "Show".parse::<OpKind>().unwrap_err();
        assert!(
            e.is_user_error() && e.to_string().contains("unknown account op"),
            "{e}"
        );
        let report = AccountReport {
            op: OpKind::Rollover,
            ..AccountReport::default()
        };
        assert_eq!(serde_json::to_value(report).unwrap()["op"], "rollover");
    }

    #[test]
    fn parses_ops() {
        assert_eq!(Op::parse("show", None, false).unwrap(), Op::Show);
        assert_eq!(
            Op::parse("update", Some("a@example.com, mailto:b@example.org"), false).unwrap(),
            Op::Update {
                emails: vec!["a@example.com".into(), "b@example.org".into()]
            }
        );
        for (op, email, needle) in [
            ("update", None, "needs `email`"),
            ("update", Some("nobody"), "not an email"),
            ("delete", None, "unknown account op"),
        ] {
            let e = Op::parse(op, email, false).unwrap_err();
            assert!(e.is_user_error() && e.to_string().contains(needle), "{e}");
        }
        assert_eq!(
            Op::parse("deactivate", None, true).unwrap(),
            Op::Deactivate { confirmed: true }
        );
    }
}
