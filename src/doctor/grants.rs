//! What the caller is granted: the policies attached to the role (or the RAM user and its
//! groups) behind the credentials (read by `aliyun::identity`), evaluated against `alicert
//! policy`'s statements. This is how `doctor` checks write permissions it must not try.
//!
//! Evaluation follows RAM's rules ("Policy structure and syntax" and "Policy elements",
//! https://www.alibabacloud.com/help/en/ram/policy-structure-and-syntax): `Action`/`NotAction`,
//! `Resource`/`NotResource`, a string or a list; `*` and `?` wildcards; actions compare
//! case-insensitively, resources exactly; an explicit Deny wins, no Allow is a deny. A
//! `Condition` cannot be evaluated offline: an Allow under one is not counted as a grant
//! (doctor says so), a Deny under one is counted as a denial — both the cautious reading.
use serde_json::Value;

use crate::aliyun::identity::AttachedPolicy;
use crate::aliyun::ram::Statement;

/// One statement of an attached policy, as evaluation needs it.
#[derive(Debug, Clone)]
struct Rule {
    allow: bool,
    actions: Vec<String>,
    not_action: bool,
    resources: Vec<String>,
    not_resource: bool,
    conditional: bool,
}

/// The attached policies' statements.
#[derive(Debug, Clone, Default)]
pub struct Granted {
    rules: Vec<Rule>,
    /// The policy names read, for the report.
    pub policies: Vec<String>,
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        _ => vec![],
    }
}

impl Granted {
    /// Everything (the root identity).
    pub fn everything() -> Granted {
        let mut g = Granted::default();
        g.add_document(
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        )
        .expect("a valid document");
        g
    }

    /// Adds a policy document's statements; an unreadable document is an error naming it.
    pub fn add_document(&mut self, text: &str) -> std::result::Result<(), String> {
        let doc: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let statements = match &doc["Statement"] {
            Value::Array(a) => a.clone(),
            s @ Value::Object(_) => vec![s.clone()],
            _ => return Err("no Statement".into()),
        };
        for s in statements {
            let (actions, not_action) = match (&s["Action"], &s["NotAction"]) {
                (Value::Null, n) => (strings(n), true),
                (a, _) => (strings(a), false),
            };
            let (resources, not_resource) = match (&s["Resource"], &s["NotResource"]) {
                (Value::Null, n) => (strings(n), true),
                (r, _) => (strings(r), false),
            };
            self.rules.push(Rule {
                allow: s["Effect"].as_str() == Some("Allow"),
                actions: actions.iter().map(|a| a.to_ascii_lowercase()).collect(),
                not_action,
                resources,
                not_resource,
                conditional: !s["Condition"].is_null(),
            });
        }
        Ok(())
    }

    /// Whether `action` on `resource` is allowed (no Deny applies, an unconditional Allow does).
    pub fn allows(&self, action: &str, resource: &str) -> bool {
        let action = action.to_ascii_lowercase();
        let applies = |r: &Rule| {
            let a = r.actions.iter().any(|p| wildcard_match(p, &action)) != r.not_action;
            let res = r.resources.iter().any(|p| wildcard_match(p, resource)) != r.not_resource;
            a && res
        };
        let hits: Vec<&Rule> = self.rules.iter().filter(|r| applies(r)).collect();
        !hits.iter().any(|r| !r.allow) && hits.iter().any(|r| r.allow && !r.conditional)
    }

    /// Whether an Allow that would cover `action` carries a Condition (said in the report).
    pub fn conditional(&self, action: &str) -> bool {
        let action = action.to_ascii_lowercase();
        self.rules.iter().any(|r| {
            r.allow && r.conditional && r.actions.iter().any(|p| wildcard_match(p, &action))
        })
    }

    /// The actions of `statement` not allowed on every one of its resources.
    pub fn missing(&self, statement: &Statement) -> Vec<&'static str> {
        statement
            .actions
            .iter()
            .copied()
            .filter(|a| !statement.resources.iter().all(|r| self.allows(a, r)))
            .collect()
    }
}

/// `*` (any run, empty included) and `?` (one character), as RAM matches them. A `*` in the
/// text (an ARN alicert needs for any account) is matched only by a `*` run of the pattern.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] != '*' && (p[pi] == t[ti] || (p[pi] == '?' && t[ti] != '*')) {
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

impl Granted {
    /// The attached policies' statements; an unreadable document is an error naming it.
    pub fn from_policies(policies: &[AttachedPolicy]) -> Result<Granted, String> {
        let mut granted = Granted::default();
        for p in policies {
            granted.add_document(&p.document).map_err(|e| {
                format!(
                    "the {} policy {}'s document is unreadable: {e}",
                    p.kind, p.name
                )
            })?;
            granted.policies.push(format!("{} ({})", p.name, p.kind));
        }
        Ok(granted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn granted(doc: &str) -> Granted {
        let mut g = Granted::default();
        g.add_document(doc).unwrap();
        g
    }

    #[test]
    fn allow_deny_wildcards_and_case() {
        let g = granted(
            r#"{"Version":"1","Statement":[
              {"Effect":"Allow","Action":["alidns:*"],"Resource":"acs:alidns:*:*:domain/example.com"},
              {"Effect":"Deny","Action":"alidns:DeleteDomainRecord","Resource":"*"},
              {"Effect":"Allow","Action":"CDN:Describe*","Resource":"*"}]}"#,
        );
        assert!(g.allows(
            "alidns:AddDomainRecord",
            "acs:alidns:*:*:domain/example.com"
        ));
        assert!(!g.allows("alidns:AddDomainRecord", "acs:alidns:*:*:domain/other.com"));
        assert!(!g.allows(
            "alidns:DeleteDomainRecord",
            "acs:alidns:*:*:domain/example.com"
        ));
        assert!(g.allows("cdn:DescribeDomainCertificateInfo", "acs:cdn:*:*:domain/x"));
        assert!(!g.allows("cdn:SetCdnDomainSSLCertificate", "*"));
    }

    #[test]
    fn a_needed_star_is_covered_only_by_a_star() {
        let g = granted(
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:GetObject","Resource":"acs:oss:*:123:b/k"}]}"#,
        );
        assert!(g.allows("oss:GetObject", "acs:oss:*:123:b/k"));
        assert!(!g.allows("oss:GetObject", "acs:oss:*:*:b/k"));
        assert!(!g.allows("oss:GetObject", "*"));
        assert!(Granted::everything().allows("oss:GetObject", "*"));
    }

    #[test]
    fn not_action_not_resource_and_conditions() {
        let g = granted(
            r#"{"Version":"1","Statement":[
              {"Effect":"Allow","NotAction":"ram:*","Resource":"*"},
              {"Effect":"Allow","Action":"ram:GetPolicy","NotResource":"acs:ram:*:*:policy/secret","Condition":{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}}]}"#,
        );
        assert!(g.allows("cdn:SetCdnDomainSSLCertificate", "*"));
        assert!(!g.allows("ram:GetPolicy", "acs:ram:*:*:policy/x"));
        assert!(g.conditional("ram:GetPolicy"));
    }

    #[test]
    fn missing_names_the_actions_not_granted_on_every_resource() {
        let g = granted(
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"alidns:Describe*","Resource":"*"},{"Effect":"Allow","Action":"alidns:AddDomainRecord","Resource":"acs:alidns:*:*:domain/a.com"}]}"#,
        );
        let s = Statement::new(
            "Dns01Records",
            "x",
            &["alidns:AddDomainRecord", "alidns:DescribeDomainRecords"],
            vec![
                "acs:alidns:*:*:domain/a.com".into(),
                "acs:alidns:*:*:domain/b.com".into(),
            ],
        );
        assert_eq!(g.missing(&s), ["alidns:AddDomainRecord"]);
    }
}
