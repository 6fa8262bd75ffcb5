//! Who the credentials are and what is attached to them: STS GetCallerIdentity
//! (alibabacloud-sts20150401 1.2.0: AccountId, Arn, IdentityType) and the RAM 2015-05-01 reads
//! (alibabacloud-ram20150501 1.3.0, client.py: RPC POST) ListPoliciesForRole,
//! ListPoliciesForUser, ListGroupsForUser, ListPoliciesForGroup (`Policies.Policy[]` of
//! PolicyName + PolicyType, `Groups.Group[]` of GroupName) and GetPolicy
//! (`DefaultPolicyVersion.PolicyDocument`, the document as a JSON string). `alicert doctor`
//! evaluates those documents; nothing here writes.
use serde::Serialize;
use serde_json::Value;

use super::ram::{pick, Scope, Statement};
use super::{AliyunClient, Product};
use crate::error::{Error, Result};

pub(crate) const RAM: &[&str] = &[
    "sts:GetCallerIdentity",
    "ram:ListPoliciesForRole",
    "ram:ListPoliciesForUser",
    "ram:ListGroupsForUser",
    "ram:ListPoliciesForGroup",
    "ram:GetPolicy",
];

/// The caller, as STS GetCallerIdentity answers.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CallerIdentity {
    pub account_id: String,
    pub arn: String,
    pub identity_type: String,
}

pub async fn caller(client: &AliyunClient) -> Result<CallerIdentity> {
    let rsp = client.rpc(Product::Sts, "GetCallerIdentity", &[]).await?;
    let field = |k: &str| rsp[k].as_str().unwrap_or_default().to_string();
    Ok(CallerIdentity {
        account_id: field("AccountId"),
        arn: field("Arn"),
        identity_type: field("IdentityType"),
    })
}

/// Whose policies apply to a caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The account's root identity: everything is allowed.
    Account,
    /// A RAM user (long-term access key).
    User(String),
    /// A RAM role's session (FC, ECS, AssumeRole, OIDC).
    Role(String),
}

impl Principal {
    /// From `IdentityType` and `Arn` (`acs:ram::<id>:user/<name>`,
    /// `acs:ram::<id>:assumed-role/<role>/<session>`, `acs:ram::<id>:root`).
    pub fn of(identity: &CallerIdentity) -> Option<Principal> {
        let rest = identity.arn.splitn(5, ':').nth(4)?;
        match identity.identity_type.as_str() {
            "Account" => Some(Principal::Account),
            "RAMUser" => rest
                .strip_prefix("user/")
                .map(|u| Principal::User(u.into())),
            "AssumedRoleUser" => rest
                .strip_prefix("assumed-role/")
                .and_then(|r| r.split('/').next())
                .map(|r| Principal::Role(r.into())),
            _ => None,
        }
    }
}

/// One attached policy: its name, type (System | Custom) and document (JSON text).
pub struct AttachedPolicy {
    pub name: String,
    pub kind: String,
    pub document: String,
}

/// `(PolicyName, PolicyType)` of a `Policies.Policy[]` answer.
fn listed(rsp: &Value) -> Vec<(String, String)> {
    let policies = rsp["Policies"]["Policy"].as_array();
    policies
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let name = p["PolicyName"].as_str()?.to_string();
            Some((name, p["PolicyType"].as_str()?.to_string()))
        })
        .collect()
}

/// The policies attached to a role, or to a user and its groups (not for the root identity).
pub async fn attached(client: &AliyunClient, principal: &Principal) -> Result<Vec<AttachedPolicy>> {
    let mut names = Vec::new();
    match principal {
        Principal::Account => return Ok(vec![]),
        Principal::Role(role) => {
            let p = [("RoleName", role.as_str())];
            names.extend(listed(
                &client.rpc(Product::Ram, "ListPoliciesForRole", &p).await?,
            ));
        }
        Principal::User(user) => {
            let p = [("UserName", user.as_str())];
            names.extend(listed(
                &client.rpc(Product::Ram, "ListPoliciesForUser", &p).await?,
            ));
            let groups = client.rpc(Product::Ram, "ListGroupsForUser", &p).await?;
            let groups = groups["Groups"]["Group"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for group in groups.iter().filter_map(|g| g["GroupName"].as_str()) {
                let g = [("GroupName", group)];
                names.extend(listed(
                    &client.rpc(Product::Ram, "ListPoliciesForGroup", &g).await?,
                ));
            }
        }
    }
    let mut out = Vec::new();
    for (name, kind) in names {
        let p = [("PolicyName", name.as_str()), ("PolicyType", kind.as_str())];
        let rsp = client.rpc(Product::Ram, "GetPolicy", &p).await?;
        let Some(document) = rsp["DefaultPolicyVersion"]["PolicyDocument"].as_str() else {
            return Err(Error::Other(format!("GetPolicy {name}: no PolicyDocument")));
        };
        out.push(AttachedPolicy {
            document: document.to_string(),
            name,
            kind,
        });
    }
    Ok(out)
}

/// `alicert doctor`'s statements here: who the caller is, and reading what is attached.
pub fn ram_statements(_scope: &Scope) -> Vec<Statement> {
    vec![
        Statement::any(
            "CallerIdentity",
            "Who the credentials are (STS GetCallerIdentity): alicert doctor's first check, and \
             the account id in FC 2.0's endpoint.",
            &pick(RAM, &["sts:GetCallerIdentity"]),
        ),
        // RAM's own resources (role/, user/, group/, policy/) are named by the role or user,
        // only known online: `*`.
        Statement::any(
            "DoctorPolicies",
            "alicert doctor only: read the policies attached to these credentials' role or user \
             (and its groups), to check the write permissions doctor must not try; read only.",
            &pick(
                RAM,
                &[
                    "ram:ListPoliciesForRole",
                    "ram:ListPoliciesForUser",
                    "ram:ListGroupsForUser",
                    "ram:ListPoliciesForGroup",
                    "ram:GetPolicy",
                ],
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(kind: &str, arn: &str) -> CallerIdentity {
        CallerIdentity {
            account_id: "123".into(),
            arn: arn.into(),
            identity_type: kind.into(),
        }
    }

    #[test]
    fn principals_come_from_the_caller_identity() {
        let role = id("AssumedRoleUser", "acs:ram::123:assumed-role/alicert-fc/s1");
        assert_eq!(
            Principal::of(&role),
            Some(Principal::Role("alicert-fc".into()))
        );
        let user = id("RAMUser", "acs:ram::123:user/ops");
        assert_eq!(Principal::of(&user), Some(Principal::User("ops".into())));
        assert_eq!(
            Principal::of(&id("Account", "acs:ram::123:root")),
            Some(Principal::Account)
        );
        assert_eq!(Principal::of(&id("Other", "acs:ram::123:x")), None);
    }
}
