//! RAM 2015-05-01 (RPC), the read calls `alicert doctor` makes to learn what the caller is
//! granted: ListPoliciesForRole, ListPoliciesForUser, ListGroupsForUser, ListPoliciesForGroup
//! and GetPolicy. Source: PyPI alibabacloud-ram20150501 1.3.0, client.py (RPC, POST, version
//! '2015-05-01'; RoleName / UserName / GroupName, PolicyName + PolicyType in the query) and
//! models/_list_policies_for_role_response_body.py (`Policies.Policy[]` of PolicyName,
//! PolicyType, DefaultVersion, Description, AttachDate), _list_groups_for_user_response_body.py
//! (`Groups.Group[]`), _get_policy_response_body.py (`Policy{...}`, `DefaultPolicyVersion{
//! VersionId, IsDefaultVersion, PolicyDocument}` — the document as a JSON string).
//!
//! What is attached: the emulator has one enforced policy (ram.rs). While one is set, every
//! caller has exactly it attached, as the custom policy [`POLICY_NAME`]; while none is, every
//! caller is unrestricted, which is modelled as the system policy `AdministratorAccess`
//! (`Action` and `Resource` `*`). No caller is in a group. A role must be one STS was seeded
//! with; an unknown role, user name or policy is `EntityNotExist.Role` / `.User` / `.Policy`
//! with HTTP 404 (the API reference lists these codes per action; where it is silent the
//! emulator answers the same, the strictest plausible reading).
use super::*;

/// The name of the emulator's one custom policy.
pub const POLICY_NAME: &str = "alicert-emulated";

fn attached(inner: &Inner) -> Value {
    let (name, kind, description) = match inner.ram_policy {
        Some(_) => (POLICY_NAME, "Custom", "the emulator's enforced policy"),
        None => (
            "AdministratorAccess",
            "System",
            "Provides full access to Alibaba Cloud services and resources.",
        ),
    };
    json!({"Policy": [{
        "PolicyName": name,
        "PolicyType": kind,
        "DefaultVersion": "v1",
        "Description": description,
        "AttachDate": "2026-01-01T00:00:00Z",
    }]})
}

fn not_exist(what: &str, name: &str) -> ApiError {
    err(
        404,
        format!("EntityNotExist.{what}"),
        format!("The {} does not exist: {name}.", what.to_ascii_lowercase()),
    )
}

/// Users are the emulator's access keys (GetCallerIdentity names the key as the user).
fn known_user(inner: &Inner, name: &str) -> bool {
    inner.keys.contains_key(name)
}

pub(crate) fn ram(inner: &Inner, action: &str, p: &Params) -> Result<Value, ApiError> {
    match action {
        "ListPoliciesForRole" => {
            let role = p.req("RoleName")?;
            let exists = inner
                .state
                .sts
                .roles
                .iter()
                .any(|arn| arn.rsplit('/').next() == Some(role));
            if !exists {
                return Err(not_exist("Role", role));
            }
            Ok(json!({"Policies": attached(inner)}))
        }
        "ListPoliciesForUser" => {
            let user = p.req("UserName")?;
            if !known_user(inner, user) {
                return Err(not_exist("User", user));
            }
            Ok(json!({"Policies": attached(inner)}))
        }
        "ListGroupsForUser" => {
            let user = p.req("UserName")?;
            if !known_user(inner, user) {
                return Err(not_exist("User", user));
            }
            Ok(json!({"Groups": {"Group": []}}))
        }
        "ListPoliciesForGroup" => Err(not_exist("Group", p.req("GroupName")?)),
        "GetPolicy" => get_policy(inner, p.req("PolicyName")?, p.req("PolicyType")?),
        _ => Err(unknown_action()),
    }
}

fn get_policy(inner: &Inner, name: &str, kind: &str) -> Result<Value, ApiError> {
    if kind != "System" && kind != "Custom" {
        return Err(err(
            400,
            "InvalidParameter.PolicyType",
            format!("PolicyType must be System or Custom, not {kind}."),
        ));
    }
    let document = match (&inner.ram_policy, name, kind) {
        (Some(policy), POLICY_NAME, "Custom") => serde_json::to_string(policy).unwrap_or_default(),
        (None, "AdministratorAccess", "System") => {
            json!({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
                .to_string()
        }
        _ => return Err(not_exist("Policy", name)),
    };
    Ok(json!({
        "Policy": {"PolicyName": name, "PolicyType": kind, "DefaultVersion": "v1"},
        "DefaultPolicyVersion": {"VersionId": "v1", "IsDefaultVersion": true, "PolicyDocument": document},
    }))
}
