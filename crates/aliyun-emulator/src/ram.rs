//! RAM enforcement: when a policy is set ([`Emulator::set_ram_policy`], `POST
//! /__emulator/ram_policy`, or `Seed::ram_policy`), every authenticated request is checked
//! against its action and resource before its handler runs, as RAM checks a RAM role's calls.
//!
//! * Grammar (RAM "Policy structure and syntax",
//!   https://www.alibabacloud.com/help/en/ram/policy-structure-and-syntax): `Version` "1",
//!   `Statement` of `Effect` Allow|Deny, `Action` and `Resource` (a string or a list). Anything
//!   else in a statement (`Condition`, `NotAction`, `Sid`, …) is refused when the policy is set:
//!   the emulator models only what alicert's policies use, and refuses rather than ignores.
//! * Evaluation (RAM "Policy elements", https://www.alibabacloud.com/help/doc-detail/93738.htm):
//!   a Deny that matches wins over any Allow; no matching Allow is an implicit deny. `*` and `?`
//!   are wildcards in Action and Resource; action names compare case-insensitively ("In most
//!   cases, the value of the Action element is not case-sensitive"), resources exactly.
//! * Resources: `acs:<service>:<region>:<account>:<relative id>` with the account of the
//!   signing key (accounts.rs; [`ACCOUNT_ID`] by default). Alidns record calls name their zone (`DomainName`; the record's zone for
//!   calls that carry only `RecordId`); CDN/DCDN calls their `DomainName`; KMS secret calls
//!   `secret/<SecretName>` in the endpoint's region; OSS `<bucket>` or `<bucket>/<key>`; FC 3
//!   InvokeFunction `functions/<name>`. Every other action is authorised on `*` (products or
//!   actions without resource-level permission: only a statement with `Resource: "*"` grants
//!   them), the strictest reading where the docs list "All Resources".
//! * A denial answers like Alibaba Cloud: RPC HTTP 403 `Forbidden.RAM`, "User not authorized to
//!   operate on the specified resource, or this API doesn't support RAM." with an
//!   `AccessDeniedDetail` object (`AuthAction`, `NoPermissionType` ImplicitDeny|ExplicitDeny,
//!   `PolicyType`, `AuthPrincipal*`, `EncodedDiagnosticMessage`) — the shape of ECS's
//!   "Announcement of changes to the authentication mechanism" and RAM DecodeDiagnosticMessage;
//!   no product-specific code was found for the emulated products, so all use this one. OSS: 403
//!   `AccessDenied` XML with `EC` 0003-00000202 (OSS error center, "0003-00000202": not the
//!   owner and no RAM permission). FC: 403 `AccessDenied` (FC API "Denied requests. Error code
//!   is AccessDenied"). Cloud-native API Gateway: its RPC-shaped `Forbidden.RAM`.
use super::*;

/// One value or a list, as the grammar allows for Action and Resource.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn items(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RamStatement {
    #[serde(rename = "Effect")]
    pub effect: String,
    #[serde(rename = "Action")]
    pub action: OneOrMany,
    #[serde(rename = "Resource")]
    pub resource: OneOrMany,
}

/// A RAM policy document, version 1.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RamPolicy {
    #[serde(rename = "Version")]
    pub version: String,
    #[serde(rename = "Statement")]
    pub statement: Vec<RamStatement>,
}

impl RamPolicy {
    /// Parses and checks a policy document (JSON), naming what is wrong.
    pub fn parse(v: &Value) -> Result<RamPolicy, String> {
        let p: RamPolicy = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
        if p.version != "1" {
            return Err(format!("Version must be \"1\", not {:?}", p.version));
        }
        for s in &p.statement {
            if s.effect != "Allow" && s.effect != "Deny" {
                return Err(format!("Effect must be Allow or Deny, not {:?}", s.effect));
            }
        }
        Ok(p)
    }
}

/// What RAM decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    ImplicitDeny,
    ExplicitDeny,
}

/// `*` (any run, empty included) and `?` (one character) as RAM matches them.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Every `(action, resource)` of one request must be allowed; the first refused one decides.
pub fn evaluate(policy: &RamPolicy, action: &str, resource: &str) -> Decision {
    let matches = |s: &RamStatement| {
        s.action
            .items()
            .iter()
            .any(|a| wildcard_match(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
            && s.resource
                .items()
                .iter()
                .any(|r| wildcard_match(r, resource))
    };
    let hits: Vec<&RamStatement> = policy.statement.iter().filter(|s| matches(s)).collect();
    if hits.iter().any(|s| s.effect == "Deny") {
        Decision::ExplicitDeny
    } else if hits.iter().any(|s| s.effect == "Allow") {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}

/// A refused request: which action on which resource, and how.
#[derive(Debug, Clone)]
pub(crate) struct Denial {
    pub action: String,
    pub resource: String,
    pub decision: Decision,
}

/// A resource as the caller's account names it (accounts.rs: another account's resource is
/// addressed in the caller's namespace, where it does not exist).
fn arn(account: &str, service: &str, region: &str, relative: &str) -> String {
    format!("acs:{service}:{region}:{account}:{relative}")
}

/// The RAM code of an emulated product (its `Call::product` name).
fn ram_code(product: &str) -> &str {
    match product {
        "cas" => "yundun-cert",
        "waf-openapi" => "yundun-waf",
        "ddoscoo" => "yundun-ddoscoo",
        "fc2" => "fc",
        other => other,
    }
}

impl Inner {
    pub(crate) fn set_ram_policy(&mut self, policy: Option<RamPolicy>) {
        self.ram_policy = policy;
    }

    /// The first of `checks` (action without RAM code, resource) the policy refuses, if a
    /// policy is set.
    pub(crate) fn ram_check(&self, product: &str, checks: &[(&str, String)]) -> Option<Denial> {
        check_with(self.ram_policy.as_ref(), product, checks)
    }

    /// As [`Inner::ram_check`] for a call signed by `ak`: a role session is checked against
    /// its role's policy when one is seeded (accounts.rs).
    pub(crate) fn ram_check_as(
        &self,
        ak: &str,
        product: &str,
        checks: &[(&str, String)],
    ) -> Option<Denial> {
        check_with(self.policy_for(ak), product, checks)
    }

    /// The resource an RPC request is authorised on (see the module comment).
    pub(crate) fn rpc_resource(
        &self,
        product: &str,
        action: &str,
        p: &Params,
        region: &str,
        account: &str,
    ) -> String {
        match product {
            "alidns" => {
                let zone = match p.get("DomainName") {
                    Some(d) => Some(d.to_string()),
                    None => p
                        .get("RecordId")
                        .and_then(|id| self.state.records.iter().find(|r| r.record_id == id))
                        .map(|r| r.domain_name.clone())
                        .or_else(|| {
                            let sub = p.get("SubDomain")?;
                            self.state
                                .zones
                                .iter()
                                .map(|z| z.name.clone())
                                .filter(|z| sub == z || sub.ends_with(&format!(".{z}")))
                                .max_by_key(|z| z.len())
                        }),
                };
                match (action, zone) {
                    ("DescribeDomains", _) | (_, None) => "*".into(),
                    (_, Some(z)) => arn(account, "alidns", "*", &format!("domain/{z}")),
                }
            }
            "cdn" | "dcdn" => match p.get("DomainName") {
                Some(d) if !action.contains("UserDomains") => {
                    arn(account, product, "*", &format!("domain/{d}"))
                }
                _ => "*".into(),
            },
            // sts:AssumeRole on the role's ARN `acs:ram::{#accountId}:role/{#RoleName}` (STS
            // RAM authorization, https://help.aliyun.com/document_detail/371860.html).
            "sts" if action == "AssumeRole" => p.get("RoleArn").unwrap_or("*").to_string(),
            "kms" => match p.get("SecretName") {
                Some(n) => arn(account, "kms", region, &format!("secret/{n}")),
                None => "*".into(),
            },
            _ => "*".into(),
        }
    }
}

/// The first of `checks` `policy` refuses (none without a policy).
fn check_with(
    policy: Option<&RamPolicy>,
    product: &str,
    checks: &[(&str, String)],
) -> Option<Denial> {
    let policy = policy?;
    checks.iter().find_map(|(action, resource)| {
        let action = format!("{}:{action}", ram_code(product));
        match evaluate(policy, &action, resource) {
            Decision::Allow => None,
            decision => Some(Denial {
                action,
                resource: resource.clone(),
                decision,
            }),
        }
    })
}

/// The RPC denial body: Forbidden.RAM with AccessDeniedDetail.
pub(crate) fn rpc_denied(d: &Denial, request_id: &str, host: &str, ak: &str) -> Response {
    let body = json!({
        "RequestId": request_id,
        "HostId": host,
        "Code": "Forbidden.RAM",
        "Message": "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
        "Recommend": format!("https://api.aliyun.com/troubleshoot?q=Forbidden.RAM&product={host}"),
        "AccessDeniedDetail": detail(d, ak),
    });
    json_response(403, request_id, body)
}

fn detail(d: &Denial, ak: &str) -> Value {
    json!({
        "PolicyType": "AccountLevelIdentityBasedPolicy",
        "AuthPrincipalOwnerId": ACCOUNT_ID,
        "AuthPrincipalType": if ak.starts_with("STS.") { "AssumedRoleUser" } else { "SubUser" },
        "AuthPrincipalDisplayName": ak,
        "NoPermissionType": match d.decision {
            Decision::ExplicitDeny => "ExplicitDeny",
            _ => "ImplicitDeny",
        },
        "AuthAction": d.action,
        "EncodedDiagnosticMessage": base64::engine::general_purpose::STANDARD
            .encode(format!("{}|{}", d.action, d.resource)),
    })
}

/// The ApiError of a denied ROA request (FC: AccessDenied; API Gateway: Forbidden.RAM); the
/// message names the action, the diagnostic RAM adds to ROA answers is modelled in it.
pub(crate) fn roa_denied(d: &Denial, product: &str) -> ApiError {
    let code = if product == "apig" {
        "Forbidden.RAM"
    } else {
        "AccessDenied"
    };
    err(
        403,
        code,
        format!(
            "You are not authorized to do {} on resource {} (RAM {:?}).",
            d.action, d.resource, d.decision
        ),
    )
}

/// OSS: 403 AccessDenied, EC 0003-00000202.
pub(crate) fn oss_denied(d: &Denial) -> OssError {
    let mut e = oss_err(
        403,
        "AccessDenied",
        "You are not authorized to do this action. You should be authorized by RAM.",
    );
    e.extra.push(("EC", "0003-00000202".into()));
    e.extra.push(("AuthAction", d.action.clone()));
    e
}

/// `POST /__emulator/ram_policy`: a policy document sets it, `null` clears it.
pub(crate) async fn ram_policy_handler(
    State(shared): State<Arc<Shared>>,
    body: axum::body::Bytes,
) -> Response {
    let parsed = serde_json::from_slice::<Value>(&body)
        .map_err(|e| e.to_string())
        .and_then(|v| match v {
            Value::Null => Ok(None),
            v => RamPolicy::parse(&v).map(Some),
        });
    match parsed {
        Ok(p) => {
            shared.lock().set_ram_policy(p);
            (StatusCode::OK, Json(json!({"ok": true}))).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"ok": false, "error": e})),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(v: Value) -> RamPolicy {
        RamPolicy::parse(&v).unwrap()
    }

    #[test]
    fn wildcards_match_like_ram() {
        assert!(wildcard_match(
            "acs:oss:*:*:b/alicert/*",
            "acs:oss:*:1:b/alicert/locks/x"
        ));
        assert!(wildcard_match("cdn:Describe*", "cdn:DescribeUserDomains"));
        assert!(wildcard_match("a?c", "abc"));
        assert!(!wildcard_match("a?c", "ac"));
        assert!(!wildcard_match(
            "acs:cdn:*:*:domain/a.com",
            "acs:cdn:*:1:domain/b.com"
        ));
        assert!(wildcard_match("*", "*"));
        assert!(!wildcard_match("acs:alidns:*:*:domain/*", "*"));
    }

    #[test]
    fn deny_wins_and_nothing_matching_is_implicit_deny() {
        let p = policy(json!({"Version": "1", "Statement": [
            {"Effect": "Allow", "Action": "cdn:*", "Resource": "*"},
            {"Effect": "Deny", "Action": ["cdn:SetCdnDomainSSLCertificate"], "Resource": "acs:cdn:*:*:domain/x.com"},
        ]}));
        assert_eq!(
            evaluate(&p, "cdn:DescribeUserDomains", "*"),
            Decision::Allow
        );
        assert_eq!(
            evaluate(
                &p,
                "cdn:setcdndomainsslcertificate",
                "acs:cdn:*:1:domain/x.com"
            ),
            Decision::ExplicitDeny
        );
        assert_eq!(
            evaluate(&p, "alidns:AddDomainRecord", "*"),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn unknown_elements_and_versions_are_refused() {
        let with_condition = json!({"Version": "1", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {}}]});
        assert!(RamPolicy::parse(&with_condition).is_err());
        let v2 = json!({"Version": "2", "Statement": []});
        assert!(RamPolicy::parse(&v2).is_err());
    }
}
