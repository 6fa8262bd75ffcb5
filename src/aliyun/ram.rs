//! The RAM statement model every module that calls Alibaba Cloud uses to say what it needs:
//! each such file declares `pub(crate) const RAM: &[&str]` (the `ram-code:Action`s it calls,
//! checked against its calls by tests/policy.rs) and a function giving its [`Statement`]s for
//! a configuration; `crate::policy` assembles them into `alicert policy`'s document.
//!
//! Policy grammar (RAM, "Policy structure and syntax",
//! https://www.alibabacloud.com/help/en/ram/policy-structure-and-syntax): a statement is Effect,
//! Action, Resource and an optional Condition; the grammar names no `Sid`, so the purpose of a
//! statement is kept beside the document ([`Statement::purpose`]), never inside it.
use serde_json::{json, Value};

/// Who the ARNs name: the account id (`*` when the config names none; it is unknown offline)
/// and the default region of regional resources.
#[derive(Debug, Clone)]
pub struct Scope {
    pub account: String,
    pub region: String,
}

impl Scope {
    /// `acs:<service>:<region>:<account>:<relative id>` (RAM "Policy elements", Resource:
    /// https://www.alibabacloud.com/help/doc-detail/93738.htm).
    pub fn arn(&self, service: &str, region: &str, relative: &str) -> String {
        format!("acs:{service}:{region}:{}:{relative}", self.account)
    }

    /// A region given by a resource, else the default one.
    pub fn region_or<'a>(&'a self, region: Option<&'a str>) -> &'a str {
        region.unwrap_or(&self.region)
    }
}

/// One purpose of alicert's: the actions it needs on the resources it needs them on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// A stable identifier (letters and digits), e.g. `Dns01Records`: equal ids merge.
    pub id: &'static str,
    /// What the statement is for, in a sentence (README, template.yml comments, stderr).
    pub purpose: String,
    pub actions: Vec<&'static str>,
    /// ARNs, or `*` where the product has no resource-level permission for these actions.
    pub resources: Vec<String>,
}

impl Statement {
    pub fn new(
        id: &'static str,
        purpose: impl Into<String>,
        actions: &[&'static str],
        resources: Vec<String>,
    ) -> Statement {
        let mut s = Statement {
            id,
            purpose: purpose.into(),
            actions: vec![],
            resources: vec![],
        };
        // Through absorb: duplicates (two names in one zone) go, `*` stays alone.
        s.absorb(Statement {
            id,
            purpose: String::new(),
            actions: actions.to_vec(),
            resources,
        });
        s
    }

    /// Actions without resource-level permission: `Resource: "*"`.
    pub fn any(
        id: &'static str,
        purpose: impl Into<String>,
        actions: &[&'static str],
    ) -> Statement {
        Statement::new(id, purpose, actions, vec!["*".into()])
    }

    /// Folds `other` (same id) into this one: the union of actions and resources, in order.
    pub fn absorb(&mut self, other: Statement) {
        for a in other.actions {
            if !self.actions.contains(&a) {
                self.actions.push(a);
            }
        }
        for r in other.resources {
            if !self.resources.contains(&r) {
                self.resources.push(r);
            }
        }
        // `*` covers every ARN: keep it alone.
        if self.resources.iter().any(|r| r == "*") {
            self.resources = vec!["*".into()];
        }
    }

    /// The RAM JSON of this statement (Effect, Action, Resource: the grammar's elements only).
    pub fn to_json(&self) -> Value {
        json!({
            "Effect": "Allow",
            "Action": self.actions,
            "Resource": self.resources,
        })
    }
}

/// `actions` (each `ram-code:Action`) picked from a file's `RAM` table, so a statement can only
/// name actions its file declares; panics in tests when one is missing (a typo).
pub fn pick(table: &[&'static str], actions: &[&str]) -> Vec<&'static str> {
    actions
        .iter()
        .map(|a| {
            *table
                .iter()
                .find(|t| *t == a)
                .unwrap_or_else(|| panic!("{a} is not in this file's RAM table"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absorbing_merges_and_star_wins() {
        let mut a = Statement::new("X", "x", &["a:B"], vec!["acs:a:*:*:r/1".into()]);
        a.absorb(Statement::new(
            "X",
            "x",
            &["a:B", "a:C"],
            vec!["acs:a:*:*:r/2".into()],
        ));
        assert_eq!(a.actions, ["a:B", "a:C"]);
        assert_eq!(a.resources, ["acs:a:*:*:r/1", "acs:a:*:*:r/2"]);
        a.absorb(Statement::any("X", "x", &["a:D"]));
        assert_eq!(a.resources, ["*"]);
    }

    #[test]
    fn arns_name_the_account_and_region() {
        let s = Scope {
            account: "*".into(),
            region: "cn-hangzhou".into(),
        };
        assert_eq!(
            s.arn("kms", s.region_or(None), "secret/a"),
            "acs:kms:cn-hangzhou:*:secret/a"
        );
        assert_eq!(s.region_or(Some("cn-shanghai")), "cn-shanghai");
    }
}
